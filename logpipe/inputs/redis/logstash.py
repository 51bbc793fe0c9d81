"""Logstash's redis input options as logpipe's (see docs/logstash-plugins.md)."""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import Options, input_common, one_of

DEFAULTS: dict[str, Any] = {}


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("redis input", options)
    input_common(opts)
    opts.rename("timeout", "connect_timeout", float)
    opts.rename("ssl_enabled", "ssl")
    opts.rename("ssl_certificate", "ssl_certfile")
    opts.rename("ssl_key", "ssl_keyfile")
    opts.rename("ssl_certificate_authorities", "ssl_ca_certs", one_of)
    opts.rename("ssl_verification_mode", "ssl_verify", _verify)
    path = opts.take("path", None)
    if path is not None:
        db = opts.get("db", 0)
        opts.set("url", f"unix://{path}?db={int(db)}")
    opts.ignore("threads")
    opts.refuse("command_map", "renamed Redis commands are not supported")
    return opts.result()


def _verify(value: Any) -> bool:
    text = str(value).lower()
    if text not in ("full", "none"):
        raise ValueError(f"{value!r}: expected full or none")
    return text == "full"
