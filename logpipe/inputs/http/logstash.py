"""Logstash's http input options as logpipe's (see docs/logstash-plugins.md).

``host`` keeps logpipe's loopback default; binding to another address needs
``user``/``password`` (or client certificates), as everywhere in logpipe.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import (Options, input_common, ssl_client_authentication,
                                   ssl_options)

#: Logstash accepts bodies up to 100 MiB.
DEFAULTS: dict[str, Any] = {"max_content_length": 104857600}

_REQUEST_FIELDS = ("request details are kept in [@metadata][http] (see `metadata_headers`), "
                   "not written into the event")


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("http input", options)
    input_common(opts)
    opts.rename("verify_mode", "ssl_client_authentication", ssl_client_authentication)
    ssl_options(opts)
    size = opts.take("max_content_length", None)
    if size is not None:
        opts.set("max_body_bytes", int(size))
        if not opts.has("max_decompressed_bytes"):
            opts.set("max_decompressed_bytes", int(size))
    opts.ignore("threads", "ecs_compatibility")
    opts.refuse("response_code", "the answer is 200 once the events are delivered (or 202 "
                "with `response_on => \"accept\"`); other codes are not supported",
                allowed=lambda v: int(v) == 200)
    opts.refuse("response_headers", "custom response headers are not supported")
    opts.refuse("remote_host_target_field", _REQUEST_FIELDS)
    opts.refuse("request_headers_target_field", _REQUEST_FIELDS)
    for name in ("keystore", "keystore_password", "ssl_keystore_path", "ssl_keystore_password",
                 "ssl_keystore_type", "ssl_truststore_path", "ssl_truststore_password",
                 "ssl_truststore_type"):
        opts.refuse(name, "Java keystores cannot be read; use PEM files in `ssl_certificate`, "
                    "`ssl_key` and `ssl_certificate_authorities`")
    return opts.result()
