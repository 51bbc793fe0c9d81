"""Logstash's beats input options as logpipe's (see docs/logstash-plugins.md).

``host`` keeps logpipe's loopback default (bind to every interface with
``host => "0.0.0.0"``): a pipeline never opens a port to the network unasked.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.logstash import Options, input_common, is_false, ssl_options

DEFAULTS: dict[str, Any] = {}


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("beats input", options)
    input_common(opts)
    ssl_options(opts)
    # What these change lives in @metadata (never written out) or in thread pools.
    opts.ignore("enrich", "ecs_compatibility", "executor_threads", "event_loop_threads",
                "ssl_peer_metadata")
    opts.refuse("include_codec_tag", "the `beats_input_codec_*_applied` tag is never added; "
                "remove the option (or set it to false)", allowed=is_false)
    opts.refuse("add_hostname", "adding `host` from the Beat's name is not supported (the Beat "
                "already sends `host.name`)", allowed=is_false)
    opts.refuse("tls_max_version", "TLS versions below 1.3 as the highest are not offered",
                allowed=lambda v: float(v) >= 1.3)
    for name in ("ssl_keystore_path", "ssl_keystore_password", "ssl_keystore_type"):
        opts.refuse(name, "Java keystores cannot be read; use PEM files in `ssl_certificate` "
                    "and `ssl_key`")
    return opts.result()
