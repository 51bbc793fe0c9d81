"""Helpers for ``PluginConfig.from_logstash``: Logstash options to logpipe settings.

A plugin's ``from_logstash`` walks the options as written in a ``.conf`` file with an
:class:`Options` and says, per Logstash option, what becomes of it:

- ``rename``: same meaning, another name or value shape here;
- ``ignore``: accepted without effect on the documents (tuning of a JVM thread pool,
  metrics switches); listed in docs/logstash-plugins.md;
- ``refuse``: logpipe cannot honour it; the pipeline fails at load with a pydantic
  error that names the option and says why and what to do instead.

Options nobody mentions pass through unchanged, so the model's ``extra="forbid"``
still names any option that neither Logstash nor logpipe knows.
"""
from __future__ import annotations

import base64
from typing import Any, Callable

from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

_MISSING: Any = object()


def refusal(title: str, items: list[tuple[str, Any, str]]) -> ValidationError:
    """A pydantic error naming each ``(option, value, reason)``."""
    details = [InitErrorDetails(
        type=PydanticCustomError("logstash_option_unsupported", "{reason}", {"reason": reason}),
        loc=(name,), input=value) for name, value, reason in items]
    return ValidationError.from_exception_data(title, details)


class Options:
    """The options of one plugin, consumed option by option."""

    def __init__(self, title: str, options: dict[str, Any]) -> None:
        self.title = title
        self.src = dict(options)
        self.out: dict[str, Any] = {}
        self.refused: list[tuple[str, Any, str]] = []

    def has(self, name: str) -> bool:
        return name in self.src

    def get(self, name: str, default: Any = None) -> Any:
        return self.src.get(name, default)

    def take(self, name: str, default: Any = _MISSING) -> Any:
        return self.src.pop(name, default)

    def rename(self, old: str, new: str, convert: Callable[[Any], Any] | None = None) -> None:
        """``old`` is spelled ``new`` here (``convert`` reshapes the value)."""
        if old not in self.src:
            return
        value = self.src.pop(old)
        if convert is not None:
            try:
                value = convert(value)
            except (TypeError, ValueError) as exc:
                self.refused.append((old, value, f"cannot be read: {exc}"))
                return
        if new in self.out or (new != old and new in self.src):
            self.refused.append((old, value, f"set either `{old}` or `{new}`, not both"))
            return
        self.out[new] = value

    def set(self, name: str, value: Any) -> None:
        self.out[name] = value

    def ignore(self, *names: str) -> None:
        """Options with no effect on what logpipe writes."""
        for name in names:
            self.src.pop(name, None)

    def refuse(self, name: str, reason: str, *, allowed: Callable[[Any], bool] | None = None) -> None:
        """Refuse ``name`` when present (and, with ``allowed``, when its value is not)."""
        if name not in self.src:
            return
        value = self.src.pop(name)
        if allowed is not None and allowed(value):
            return
        self.refused.append((name, value, reason))

    def result(self) -> dict[str, Any]:
        if self.refused:
            raise refusal(self.title, self.refused)
        return {**self.src, **self.out}


# --- value shapes -----------------------------------------------------------------------
def as_int(value: Any) -> int:
    """Logstash's Kafka options are strings of digits ("500")."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return int(value)


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def one_of(value: Any) -> Any:
    """A single value from a one-element list (Logstash allows both)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueError(f"exactly one value expected, got {len(value)}")
        return value[0]
    return value


def ms_to_seconds(value: Any) -> float:
    return float(value) / 1000.0


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def api_key_header(value: Any) -> str:
    """Logstash's ``api_key`` is ``id:key``; logpipe sends the base64 form."""
    text = str(value)
    if ":" in text:
        return base64.b64encode(text.encode()).decode()
    return text


def ssl_client_authentication(verify_mode: Any) -> str:
    """Older ``ssl_verify_mode`` (none, peer, force_peer) as ``ssl_client_authentication``."""
    mapping = {"none": "none", "peer": "optional", "force_peer": "required"}
    try:
        return mapping[str(verify_mode).lower()]
    except KeyError:
        raise ValueError(f"{verify_mode!r} is not one of none, peer, force_peer") from None


#: Options every Logstash input has that only an engine can honour.
INPUT_COMMON_REASON = (
    "per-input `{name}` is not supported here; add the value with a filter instead, e.g. "
    "`mutate {{ add_field => ... }}` or `mutate {{ add_tag => ... }}` (behind a condition "
    "on a field the input sets when several inputs must be told apart)")


def input_common(opts: Options) -> None:
    """``enable_metric`` ignored; ``type``, ``tags`` and ``add_field`` refused with help."""
    opts.ignore("enable_metric")
    for name in ("type", "tags", "add_field"):
        opts.refuse(name, INPUT_COMMON_REASON.format(name=name))


def output_common(opts: Options) -> None:
    opts.ignore("enable_metric", "workers")


def ssl_options(opts: Options) -> None:
    """The TLS settings of Logstash's server inputs (beats, http), with their older names."""
    opts.rename("ssl", "ssl_enabled")
    opts.rename("ssl_verify_mode", "ssl_client_authentication", ssl_client_authentication)
    opts.rename("ssl_handshake_timeout", "ssl_handshake_timeout", ms_to_seconds)
    opts.rename("tls_min_version", "ssl_supported_protocols", _tls_versions)
    opts.rename("cipher_suites", "ssl_cipher_suites", openssl_ciphers)
    opts.rename("ssl_cipher_suites", "ssl_cipher_suites", openssl_ciphers)
    opts.rename("ssl_certificate_authorities", "ssl_certificate_authorities", as_list)


def openssl_ciphers(value: Any) -> str:
    """Cipher suites as an OpenSSL cipher list; Java's IANA names are refused with help."""
    names = [str(v) for v in as_list(value)]
    java = [n for n in names if n.startswith("TLS_")]
    if java:
        raise ValueError(f"{', '.join(java)}: Java (IANA) cipher names are not understood; "
                         "write OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256")
    return ":".join(names)


def _tls_versions(value: Any) -> list[str]:
    low = float(value)
    if low > 1.3:
        raise ValueError("TLS above 1.3 does not exist")
    return ["TLSv1.2", "TLSv1.3"] if low <= 1.2 else ["TLSv1.3"]
