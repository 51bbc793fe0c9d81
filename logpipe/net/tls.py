"""TLS settings for every network input, and the ``ssl.SSLContext`` built from them.

The setting names are Logstash's (``ssl_enabled``, ``ssl_certificate``,
``ssl_key``, ``ssl_certificate_authorities``, ``ssl_client_authentication``), so
a migrated beats or http input block keeps working. A plugin's ``Config``
inherits :class:`TlsServerOptions`; the server calls :func:`server_context`
once at start-up, so a missing or unreadable file fails start-up with a clear
message instead of failing every handshake later.
"""
from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import Field, model_validator

from logpipe.core.plugin import PluginConfig
from logpipe.errors import ConfigError

ClientAuth = Literal["none", "optional", "required"]
TlsVersion = Literal["TLSv1.2", "TLSv1.3"]

_PROTOCOLS = {
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


class TlsServerOptions(PluginConfig):
    """Server-side TLS: a certificate for the server, optionally verified client certificates."""

    ssl_enabled: bool = Field(False, description="Accept TLS connections only.")
    ssl_certificate: str | None = Field(
        None, description="PEM file with the server certificate (and any intermediates after it).")
    ssl_key: str | None = Field(None, description="PEM file with the server's private key.")
    ssl_key_passphrase: str | None = Field(None, description="Passphrase of an encrypted ssl_key.")
    ssl_certificate_authorities: list[str] = Field(
        default_factory=list,
        description="PEM files of the CAs that client certificates must chain to.")
    ssl_client_authentication: ClientAuth = Field(
        "none",
        description="none: no client certificate asked; optional: verified when a client sends "
                    "one; required: clients without a valid certificate are refused.")
    ssl_supported_protocols: list[TlsVersion] = Field(
        default_factory=lambda: list[TlsVersion](["TLSv1.2", "TLSv1.3"]),
        description="TLS versions offered.")
    ssl_cipher_suites: str | None = Field(
        None, description="OpenSSL cipher list for TLS 1.2; unset keeps Python's secure default.")
    ssl_handshake_timeout: float = Field(
        10.0, gt=0, description="Seconds a client has to finish the TLS handshake.")

    @model_validator(mode="after")
    def _check_tls(self) -> TlsServerOptions:
        if not self.ssl_enabled:
            return self
        if not self.ssl_certificate or not self.ssl_key:
            raise ValueError("ssl_enabled needs ssl_certificate and ssl_key")
        if self.ssl_client_authentication != "none" and not self.ssl_certificate_authorities:
            raise ValueError(
                f"ssl_client_authentication: {self.ssl_client_authentication} needs "
                "ssl_certificate_authorities to verify client certificates against")
        if not self.ssl_supported_protocols:
            raise ValueError("ssl_supported_protocols must name at least one version")
        return self


def server_context(opts: TlsServerOptions) -> ssl.SSLContext | None:
    """The context for ``create_server(ssl=...)``, or None when TLS is off."""
    if not opts.ssl_enabled:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = sorted(_PROTOCOLS[p] for p in opts.ssl_supported_protocols)
    ctx.minimum_version = versions[0]
    ctx.maximum_version = versions[-1]
    try:
        ctx.load_cert_chain(opts.ssl_certificate or "", opts.ssl_key, password=opts.ssl_key_passphrase)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load ssl_certificate/ssl_key: {_reason(exc)}") from None
    for path in opts.ssl_certificate_authorities:
        try:
            ctx.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load ssl_certificate_authorities {path}: {_reason(exc)}") from None
    ctx.verify_mode = {
        "none": ssl.CERT_NONE,
        "optional": ssl.CERT_OPTIONAL,
        "required": ssl.CERT_REQUIRED,
    }[opts.ssl_client_authentication]
    if opts.ssl_cipher_suites:
        try:
            ctx.set_ciphers(opts.ssl_cipher_suites)
        except ssl.SSLError as exc:
            raise ConfigError(f"invalid ssl_cipher_suites: {_reason(exc)}") from None
    return ctx


def peer_common_name(peercert: dict[str, Any] | None) -> str | None:
    """The subject CN of a verified client certificate (``getpeercert()`` form)."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    return str(exc)
