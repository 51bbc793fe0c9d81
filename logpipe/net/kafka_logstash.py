"""The Logstash Kafka plugins' security options, as logpipe's Kafka settings.

Shared by the Kafka input and output. Logstash takes Java client settings:
``sasl_jaas_config`` holds the user and password, trust and key stores may be
JKS or PEM. PEM stores map onto logpipe's files; JKS and PKCS12 stores, Kerberos
(GSSAPI) and OAUTHBEARER are refused with what to do instead.
"""
from __future__ import annotations

import re
from typing import Any

from logpipe.core.logstash import Options, as_int

_JAAS_VALUE = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')
_JAAS_MODULES = {"PlainLoginModule": ("PLAIN",),
                 "ScramLoginModule": ("SCRAM-SHA-256", "SCRAM-SHA-512")}
STORE_REASON = ("Java key and trust stores cannot be read here; convert the store to PEM "
                "files and set `{name}_type => \"PEM\"`")


def jaas_credentials(text: str) -> tuple[str, str, str]:
    """(login module, username, password) from a ``sasl_jaas_config`` line."""
    module = next((m for m in _JAAS_MODULES if m in text), None)
    if module is None:
        raise ValueError("only PlainLoginModule and ScramLoginModule are supported")
    values = {k: v.replace('\\"', '"') for k, v in _JAAS_VALUE.findall(text)}
    if "username" not in values or "password" not in values:
        raise ValueError("username=\"...\" and password=\"...\" are required")
    return module, values["username"], values["password"]


def kafka_security(opts: Options) -> None:
    """Map security options in place (see the module documentation)."""
    protocol = str(opts.get("security_protocol", "PLAINTEXT")).upper()
    sasl = protocol.startswith("SASL_")
    mechanism = opts.take("sasl_mechanism", None)
    if sasl:
        mechanism = str(mechanism or "GSSAPI").upper()
        if mechanism in ("GSSAPI", "OAUTHBEARER"):
            opts.refused.append(("sasl_mechanism", mechanism,
                                 f"SASL {mechanism} (Kerberos/OAuth) is not supported; use "
                                 "PLAIN or SCRAM-SHA-256/512"))
        else:
            opts.set("sasl_mechanism", mechanism)
    jaas = opts.take("sasl_jaas_config", None)
    if jaas is not None:
        try:
            module, user, password = jaas_credentials(str(jaas))
        except ValueError as exc:
            opts.refused.append(("sasl_jaas_config", "<hidden>", str(exc)))
        else:
            opts.set("sasl_plain_username", user)
            opts.set("sasl_plain_password", password)
            if sasl and mechanism and mechanism not in _JAAS_MODULES[module] \
                    and mechanism not in ("GSSAPI", "OAUTHBEARER"):
                opts.refused.append(("sasl_jaas_config", "<hidden>",
                                     f"{module} does not go with sasl_mechanism {mechanism}"))
    opts.rename("sasl_username", "sasl_plain_username")
    opts.rename("sasl_password", "sasl_plain_password")
    opts.refuse("jaas_path", "JAAS files are not read; put the credentials in "
                "`sasl_jaas_config` or `sasl_plain_username`/`sasl_plain_password`")
    opts.refuse("kerberos_config", "Kerberos (GSSAPI) is not supported")
    opts.refuse("sasl_kerberos_service_name", "Kerberos (GSSAPI) is not supported")
    opts.refuse("sasl_client_callback_handler_class", "Java callback handlers cannot run here")
    opts.refuse("sasl_oauthbearer_token_endpoint_url", "SASL OAUTHBEARER is not supported")
    opts.refuse("sasl_login_callback_handler_class", "Java callback handlers cannot run here")
    opts.refuse("sasl_iam_jar_paths", "AWS IAM authentication (Java jars) is not supported; use "
                "SCRAM or PLAIN credentials")
    for store, target in (("ssl_truststore", "ssl_cafile"), ("ssl_keystore", "ssl_certfile")):
        kind = str(opts.take(f"{store}_type", "JKS")).upper()
        if opts.has(f"{store}_location"):
            if kind == "PEM":
                opts.rename(f"{store}_location", target)
            else:
                opts.refuse(f"{store}_location", STORE_REASON.format(name=store))
        opts.refuse(f"{store}_password", "store passwords apply to Java stores only; a PEM "
                    "key's password is `ssl_key_password`")
    opts.rename("ssl_key_password", "ssl_key_password")
    endpoint = opts.take("ssl_endpoint_identification_algorithm", None)
    if endpoint is not None:
        opts.set("ssl_check_hostname", str(endpoint).lower() == "https")


def kafka_numbers(opts: Options, *names: str) -> None:
    """Logstash spells numeric Kafka settings as strings."""
    for name in names:
        opts.rename(name, name, as_int)


#: Client options with no effect on what is read or written (connection and buffer tuning).
KAFKA_TUNING = ("connections_max_idle_ms", "metadata_max_age_ms", "receive_buffer_bytes",
                "send_buffer_bytes", "reconnect_backoff_ms", "reconnect_backoff_max_ms",
                "retry_backoff_ms", "client_dns_lookup", "check_crcs", "client_rack",
                "sasl_login_connect_timeout_ms", "sasl_login_read_timeout_ms",
                "sasl_login_retry_backoff_ms", "sasl_login_retry_backoff_max_ms",
                "sasl_oauthbearer_scope_claim_name")

#: Options of Logstash's Avro schema-registry support, all refused.
SCHEMA_REGISTRY = ("schema_registry_url", "schema_registry_key", "schema_registry_secret",
                   "schema_registry_proxy", "schema_registry_validation",
                   "schema_registry_ssl_keystore_location", "schema_registry_ssl_keystore_password",
                   "schema_registry_ssl_keystore_type", "schema_registry_ssl_truststore_location",
                   "schema_registry_ssl_truststore_password",
                   "schema_registry_ssl_truststore_type")


def no_java_classes(opts: Options, *names: str, default: Any) -> None:
    """Serializer and deserializer classes: only the default (strings) is possible."""
    for name in names:
        opts.refuse(name, "Java (de)serializer classes cannot run here; only the default "
                    f"`{default}` is supported", allowed=lambda v: str(v) == default)
