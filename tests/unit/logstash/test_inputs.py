"""Logstash's input options through the inputs' hooks: names, shapes, defaults, refusals."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.logstash._helpers import settle


def refused(kind: str, name: str, **options: Any) -> str:
    with pytest.raises(ValidationError) as info:
        settle(kind, name, **options)
    return str(info.value)


# --- beats -------------------------------------------------------------------------------
def test_beats_older_tls_names(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / n for n in ("c.pem", "k.pem", "ca.pem"))
    c: Any = settle("input", "beats", port=5044, ssl=True, ssl_certificate=str(cert),
                    ssl_key=str(key), ssl_verify_mode="force_peer",
                    ssl_certificate_authorities=str(ca), ssl_handshake_timeout=5000,
                    cipher_suites=["ECDHE-RSA-AES128-GCM-SHA256"], tls_min_version=1.2,
                    client_inactivity_timeout=30, executor_threads=4, include_codec_tag=false_())
    assert (c.ssl_enabled, c.ssl_client_authentication, c.ssl_certificate_authorities) == (
        True, "required", [str(ca)])
    assert c.ssl_handshake_timeout == 5.0 and c.client_inactivity_timeout == 30
    assert c.ssl_cipher_suites == "ECDHE-RSA-AES128-GCM-SHA256"
    assert c.host == "127.0.0.1"     # loopback unless asked: a deliberate difference


def false_() -> bool:
    return False


def test_beats_refusals_name_the_option() -> None:
    text = refused("input", "beats", port=5044, add_hostname=True, type="syslog",
                   ssl_keystore_path="/ks.jks", include_codec_tag=True)
    for name in ("add_hostname", "type", "ssl_keystore_path", "include_codec_tag"):
        assert name in text
    assert "mutate" in text    # says what to use instead
    text = refused("input", "beats", ssl_cipher_suites=["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    assert "OpenSSL names" in text


# --- http --------------------------------------------------------------------------------
def test_http_defaults_and_names() -> None:
    c: Any = settle("input", "http", port=8080, user="u", password="p", threads=4,
                    response_code=200)
    assert c.max_body_bytes == c.max_decompressed_bytes == 104857600   # Logstash's 100 MiB
    assert c.user == "u" and c.password.get_secret_value() == "p"
    assert settle("input", "http", max_content_length=1024).max_body_bytes == 1024  # type: ignore[attr-defined]
    c = settle("input", "http", verify_mode="peer", ssl_certificate_authorities="/ca.pem")
    assert c.ssl_client_authentication == "optional"


def test_http_refusals() -> None:
    text = refused("input", "http", response_code=204, response_headers={"X": "y"},
                   remote_host_target_field="[src]")
    assert "response_code" in text and "response_headers" in text
    assert "remote_host_target_field" in text
    # binding to the network without credentials is refused as for YAML pipelines
    assert "allow_unauthenticated" in refused("input", "http", host="0.0.0.0")


# --- kafka -------------------------------------------------------------------------------
JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
        'username="svc" password="s3cr\\"et";')


def test_kafka_logstash_defaults() -> None:
    c: Any = settle("input", "kafka")
    assert (c.topics, c.group_id, c.client_id) == (["logstash"], "logstash", "logstash")
    assert c.bootstrap_servers == "localhost:9092"


def test_kafka_strings_lists_and_sasl() -> None:
    c: Any = settle("input", "kafka", bootstrap_servers="k1:9092,k2:9092", topics="app",
                    group_id="g", max_poll_records="250", session_timeout_ms="30000",
                    auto_commit_interval_ms="2000", auto_offset_reset="earliest",
                    consumer_threads=4, decorate_events="extended",
                    security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                    sasl_jaas_config=JAAS, ssl_endpoint_identification_algorithm="")
    assert c.topics == ["app"] and c.max_poll_records == 250 and c.session_timeout_ms == 30000
    assert c.commit_interval_ms == 2000 and c.auto_offset_reset == "earliest"
    assert (c.sasl_mechanism, c.sasl_plain_username) == ("SCRAM-SHA-512", "svc")
    assert c.sasl_plain_password.get_secret_value() == 's3cr"et'
    assert c.ssl_check_hostname is False


def test_kafka_pattern_replaces_default_topics() -> None:
    c: Any = settle("input", "kafka", topics_pattern="logs-.*")
    assert c.topics is None and c.topics_pattern == "logs-.*"


def test_kafka_pem_truststore_and_refusals(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    c: Any = settle("input", "kafka", security_protocol="SSL", ssl_truststore_type="PEM",
                    ssl_truststore_location=str(ca))
    assert c.ssl_cafile == str(ca)
    text = refused("input", "kafka", security_protocol="SSL",
                   ssl_truststore_location="/t.jks", ssl_truststore_password="x",
                   isolation_level="read_committed", schema_registry_url="http://sr",
                   value_deserializer_class="io.confluent.KafkaAvroDeserializer")
    for name in ("ssl_truststore_location", "ssl_truststore_password", "isolation_level",
                 "schema_registry_url", "value_deserializer_class"):
        assert name in text
    assert "GSSAPI" in refused("input", "kafka", security_protocol="SASL_SSL")
    assert "<hidden>" in refused("input", "kafka", security_protocol="SASL_PLAINTEXT",
                                 sasl_mechanism="PLAIN",
                                 sasl_jaas_config='com.sun.Krb5LoginModule required;')


# --- redis, tcp, stdin, generator ----------------------------------------------------------
def test_redis_names() -> None:
    c: Any = settle("input", "redis", host="r1", port=6380, db=2, password="pw", key="logs",
                    data_type="list", batch_count=50, threads=3, timeout=2)
    assert (c.host, c.port, c.db, c.key, c.data_type, c.batch_count) == (
        "r1", 6380, 2, "logs", "list", 50)
    assert c.connect_timeout == 2.0 and c.password.get_secret_value() == "pw"
    c = settle("input", "redis", key="k", data_type="channel", path="/run/redis.sock", db=1)
    assert c.url == "unix:///run/redis.sock?db=1"  # type: ignore[attr-defined]
    assert "command_map" in refused("input", "redis", key="k", data_type="list",
                                    command_map={"blpop": "x"})


def test_tcp_server_mode_without_tls_only() -> None:
    c: Any = settle("input", "tcp", port=5140, mode="server", tcp_keep_alive=True,
                    dns_reverse_lookup_enabled=False, ssl_enable=False)
    assert c.port == 5140 and c.host == "127.0.0.1"
    text = refused("input", "tcp", port=1, mode="client", ssl_enable=True, proxy_protocol=True)
    assert "mode" in text and "ssl_enable" in text and "proxy_protocol" in text


def test_stdin_and_generator() -> None:
    assert settle("input", "stdin", enable_metric=False) is not None
    c: Any = settle("input", "generator", lines="one line", count=3, threads=2)
    assert c.lines == ["one line"] and c.count == 3
    assert "tags" in refused("input", "stdin", tags=["x"])
