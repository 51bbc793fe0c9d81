"""Logstash's elasticsearch output options as logpipe's (see docs/logstash-plugins.md).

Where events go follows Logstash 8: with ``data_stream => "auto"`` (the default)
and no ``index`` (nor another setting that rules data streams out) events go to
the data stream ``logs-generic-default`` (``data_stream_type``-``dataset``-
``namespace``) with ``create``; otherwise to ``index``, by default
``logstash-%{+yyyy.MM.dd}``, with ``index`` as the action. Index templates and
ILM policies are installed by ``logpipe setup``, not by the output, so the
options that manage them are refused.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from logpipe.core.logstash import (
    Options,
    api_key_header,
    as_list,
    is_false,
    is_true,
    output_common,
)

#: Logstash's defaults where logpipe's differ. ``index`` and ``action`` depend on
#: ``data_stream`` and are settled in :func:`from_logstash`.
DEFAULTS: dict[str, Any] = {"retry_initial_interval": 2, "compression_level": 1}

LEGACY_INDEX = "logstash-%{+yyyy.MM.dd}"
_TEMPLATES = ("index templates are installed with `logpipe setup` (or your own tooling), "
              "not by the output")
_ILM = "ILM policies and rollover aliases are set up with `logpipe setup`, not by the output"
_UPDATES = "only the bulk actions `index` and `create` are supported"
#: Settings that make Logstash's ``data_stream => auto`` fall back to indices.
_NOT_DATA_STREAM = ("index", "document_type", "ilm_enabled", "ilm_rollover_alias",
                    "ilm_pattern", "ilm_policy", "template", "template_name",
                    "template_overwrite", "manage_template", "pipeline_template")


def host_url(host: str, tls: bool) -> str:
    """Logstash's host forms (``es1``, ``es1:9201``, ``//es1``, ``https://es1/``) as URLs."""
    text = host.strip()
    if text.startswith("//"):
        text = ("https:" if tls else "http:") + text
    elif "://" not in text:
        text = ("https://" if tls else "http://") + text
    parts = urlsplit(text)
    port = parts.port or 9200
    path = parts.path.rstrip("/")
    auth = ""
    if parts.username:
        raise ValueError("credentials in host URLs are not supported; use user/password")
    return f"{parts.scheme}://{auth}{parts.hostname}:{port}{path}"


def _data_stream(opts: Options) -> bool:
    setting = str(opts.take("data_stream", "auto")).lower()
    if setting == "auto":
        return not any(opts.has(name) for name in _NOT_DATA_STREAM)
    return setting == "true"


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("elasticsearch output", options)
    output_common(opts)
    opts.rename("ssl", "ssl_enabled")
    tls = is_true(opts.get("ssl_enabled", False)) or is_true(opts.out.get("ssl_enabled", False))
    opts.rename("hosts", "hosts", lambda v: [host_url(str(h), tls) for h in as_list(v)])
    opts.rename("api_key", "api_key", api_key_header)
    opts.rename("cacert", "ssl_certificate_authorities", as_list)
    opts.rename("ssl_certificate_authorities", "ssl_certificate_authorities", as_list)
    opts.rename("ssl_certificate_verification", "ssl_verification_mode",
                lambda v: "none" if is_false(v) else "full")
    level = opts.take("compression_level", None)
    if level is not None:
        if int(level) == 0:
            opts.set("http_compression", False)
        else:
            opts.set("http_compression", True)
            opts.set("compression_level", int(level))

    if _data_stream(opts):
        kind = opts.take("data_stream_type", "logs")
        dataset = opts.take("data_stream_dataset", "generic")
        namespace = opts.take("data_stream_namespace", "default")
        opts.set("index", f"{kind}-{dataset}-{namespace}")
        opts.refuse("action", "data streams only take `create`", allowed=lambda v: v == "create")
        opts.set("action", "create")
        opts.refuse("data_stream_auto_routing", "routing each event by its [data_stream] "
                    "fields is not supported; set it to false (events go to the configured "
                    "data stream)", allowed=is_false)
        opts.ignore("data_stream_sync_fields")
    else:
        for name in ("data_stream_type", "data_stream_dataset", "data_stream_namespace",
                     "data_stream_auto_routing", "data_stream_sync_fields"):
            opts.refuse(name, "only applies with `data_stream => true`")
        if not opts.has("index"):
            opts.set("index", LEGACY_INDEX)
        action = opts.take("action", "index")
        if action in ("index", "create"):
            opts.set("action", action)
        else:
            opts.refused.append(("action", action, _UPDATES))

    opts.refuse("manage_template", _TEMPLATES, allowed=is_false)
    for name in ("template", "template_name", "template_overwrite", "template_api"):
        opts.refuse(name, _TEMPLATES)
    opts.refuse("ilm_enabled", _ILM, allowed=lambda v: is_false(v) or str(v) == "auto")
    for name in ("ilm_rollover_alias", "ilm_pattern", "ilm_policy"):
        opts.refuse(name, _ILM)
    for name in ("doc_as_upsert", "upsert", "script", "script_lang", "script_type",
                 "script_var_name", "scripted_upsert", "version", "version_type", "routing",
                 "parent", "join_field"):
        opts.refuse(name, _UPDATES + " (no upserts, scripts, versions or routing)")
    opts.refuse("document_type", "mapping types no longer exist in Elasticsearch")
    opts.refuse("drop_error_types", "rejected documents go to the dead-letter queue or fail "
                "the batch (`on_rejected`); dropping them by error type is not supported",
                allowed=lambda v: v in ([], "", None))
    for name in ("cloud_id", "cloud_auth"):
        opts.refuse(name, "Elastic Cloud ids are not read; put the deployment's URL in "
                    "`hosts` and use `user`/`password` or `api_key`")
    for name in ("ssl_certificate", "ssl_key", "ssl_keystore_path", "ssl_keystore_password",
                 "ssl_keystore_type", "ssl_truststore_path", "ssl_truststore_password",
                 "ssl_truststore_type", "keystore", "keystore_password", "truststore",
                 "truststore_password"):
        opts.refuse(name, "client certificates and Java stores are not supported; trust the "
                    "cluster with PEM files in `ssl_certificate_authorities`")
    opts.refuse("ssl_supported_protocols", "only TLS 1.2 and 1.3 are offered",
                allowed=lambda v: set(as_list(v)) <= {"TLSv1.2", "TLSv1.3"})
    opts.refuse("ssl_cipher_suites", "cipher suites are Python's secure defaults")
    opts.refuse("sniffing", "node sniffing is not supported; list the nodes in `hosts`",
                allowed=is_false)
    for name in ("custom_headers", "proxy", "path", "bulk_path", "parameters"):
        opts.refuse(name, "not supported by this output", allowed=lambda v: v in ("", {}, None))
    # Connection-pool, logging and health-check tuning: no effect on the documents.
    opts.ignore("pool_max", "pool_max_per_route", "resurrect_delay", "validate_after_inactivity",
                "healthcheck_path", "sniffing_delay", "sniffing_path", "silence_errors_in_log",
                "failure_type_logging_whitelist", "ecs_compatibility",
                "dlq_on_failed_indexname_interpolation", "retry_on_conflict")
    return opts.result()
