"""How logpipe authenticates to Kafka and encrypts the connection.

The same settings are used by every Kafka client logpipe opens (the ``kafka``
input, the ``kafka`` output, the Elasticsearch output's dead-letter producer),
so they live here once: a pydantic model to inherit from (or to nest) and
:func:`client_kwargs`, which turns it into the keyword arguments that
``AIOKafkaConsumer``, ``AIOKafkaProducer`` and ``AIOKafkaAdminClient`` share.

Passwords are ``SecretStr``: they print as ``**********`` in reprs, config
dumps and validation errors, and only :func:`client_kwargs` reads them. Never
log the dict it returns; log :func:`describe` instead.
"""
from __future__ import annotations

import os
import ssl
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from logpipe.core.plugin import PluginConfig

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSecurityConfig(PluginConfig):
    """Transport security settings, named as in Kafka's own client configuration."""

    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT (SASL without TLS) "
        "or SASL_SSL (SASL over TLS).")
    sasl_mechanism: SaslMechanism = Field(
        "PLAIN", description="SASL mechanism when security_protocol is SASL_*: PLAIN, "
        "SCRAM-SHA-256 or SCRAM-SHA-512.")
    sasl_plain_username: str | None = Field(
        None, description="SASL user name (used by PLAIN and SCRAM).")
    sasl_plain_password: SecretStr | None = Field(
        None, description="SASL password; never logged. Use ${VAR} to read it from the environment.")
    ssl_cafile: str | None = Field(
        None, description="PEM file of certificate authorities to trust; the system store when unset.")
    ssl_certfile: str | None = Field(
        None, description="PEM client certificate, for brokers that require TLS client authentication.")
    ssl_keyfile: str | None = Field(None, description="PEM private key of ssl_certfile.")
    ssl_key_password: SecretStr | None = Field(None, description="Password of ssl_keyfile, if encrypted.")
    ssl_check_hostname: bool = Field(
        True, description="Check that the broker's certificate names the host connected to.")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurityConfig:
        if self.uses_sasl and (not self.sasl_plain_username or self.sasl_plain_password is None):
            raise ValueError(f"security_protocol {self.security_protocol} needs "
                             "sasl_plain_username and sasl_plain_password")
        tls_files = [n for n in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
                     if getattr(self, n) is not None]
        if tls_files and not self.uses_tls:
            # Almost always a mistake: the user believes the connection is encrypted.
            raise ValueError(f"{', '.join(tls_files)} set but security_protocol is "
                             f"{self.security_protocol} (use SSL or SASL_SSL)")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("ssl_keyfile needs ssl_certfile")
        for name in tls_files:
            path = getattr(self, name)
            if not os.path.isfile(path):
                raise ValueError(f"{name}: no such file: {path}")
        return self


def ssl_context(cfg: KafkaSecurityConfig) -> ssl.SSLContext:
    """A client TLS context: verification on, CA file or the system store, optional client cert."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cfg.ssl_cafile)
    ctx.check_hostname = cfg.ssl_check_hostname
    if cfg.ssl_certfile:
        password = cfg.ssl_key_password.get_secret_value() if cfg.ssl_key_password else None
        ctx.load_cert_chain(cfg.ssl_certfile, cfg.ssl_keyfile, password=password)
    return ctx


def client_kwargs(cfg: KafkaSecurityConfig) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client. Contains the password: do not log it."""
    kwargs: dict[str, Any] = {"security_protocol": cfg.security_protocol}
    if cfg.uses_tls:
        kwargs["ssl_context"] = ssl_context(cfg)
    if cfg.uses_sasl:
        kwargs["sasl_mechanism"] = cfg.sasl_mechanism
        kwargs["sasl_plain_username"] = cfg.sasl_plain_username
        kwargs["sasl_plain_password"] = (cfg.sasl_plain_password.get_secret_value()
                                         if cfg.sasl_plain_password else None)
    return kwargs


def describe(cfg: KafkaSecurityConfig) -> str:
    """A log-safe summary, e.g. ``SASL_SSL (SCRAM-SHA-512 as logpipe)``."""
    if cfg.uses_sasl:
        return f"{cfg.security_protocol} ({cfg.sasl_mechanism} as {cfg.sasl_plain_username})"
    return cfg.security_protocol
