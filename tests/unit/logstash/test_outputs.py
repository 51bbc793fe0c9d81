"""Logstash's output options through the outputs' hooks."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.logstash._helpers import settle


def refused(name: str, **options: Any) -> str:
    with pytest.raises(ValidationError) as info:
        settle("output", name, **options)
    return str(info.value)


def test_elasticsearch_defaults_are_logstash_8s_data_stream() -> None:
    c: Any = settle("output", "elasticsearch")
    assert (c.index, c.action, c.hosts) == ("logs-generic-default", "create",
                                            ["http://127.0.0.1:9200"])
    assert c.retry_initial_interval == 2 and c.http_compression is True


def test_elasticsearch_index_means_no_data_stream() -> None:
    c: Any = settle("output", "elasticsearch", hosts=["es1", "//es2:9201", "https://es3/"],
                    index="web-%{+YYYY.MM.dd}", document_id="%{[@metadata][fp]}",
                    user="elastic", password="pw", cacert="/ca.pem",
                    ssl_certificate_verification=False, manage_template=False,
                    ilm_enabled=False, pool_max=50, compression_level=0)
    assert c.hosts == ["http://es1:9200", "http://es2:9201", "https://es3:9200"]
    assert (c.index, c.action, c.document_id) == ("web-%{+YYYY.MM.dd}", "index",
                                                  "%{[@metadata][fp]}")
    assert c.ssl_certificate_authorities == ["/ca.pem"] and c.ssl_verification_mode == "none"
    assert c.http_compression is False


def test_elasticsearch_legacy_index_and_data_stream_names() -> None:
    c: Any = settle("output", "elasticsearch", data_stream="false")
    assert (c.index, c.action) == ("logstash-%{+yyyy.MM.dd}", "index")
    c = settle("output", "elasticsearch", data_stream=True, data_stream_type="metrics",
               data_stream_dataset="nginx", data_stream_namespace="prod")
    assert c.index == "metrics-nginx-prod"


def test_elasticsearch_api_key_and_tls_host_scheme() -> None:
    c: Any = settle("output", "elasticsearch", api_key="abc:def", ssl_enabled=True,
                    hosts="es1", index="x")
    assert base64.b64decode(c.api_key.get_secret_value()) == b"abc:def"
    assert c.hosts == ["https://es1:9200"]


def test_elasticsearch_refusals() -> None:
    text = refused("elasticsearch", index="x", action="update", doc_as_upsert=True,
                   template="/t.json", ilm_rollover_alias="logs", document_type="doc",
                   cloud_id="x:y", sniffing=True,
                   drop_error_types=["version_conflict_engine_exception"])
    for name in ("action", "doc_as_upsert", "template", "ilm_rollover_alias", "document_type",
                 "cloud_id", "sniffing", "drop_error_types"):
        assert name in text
    assert "data_stream_auto_routing" in refused("elasticsearch", data_stream_auto_routing=True)


def test_kafka_output() -> None:
    c: Any = settle("output", "kafka", topic_id="logs-%{[app]}", bootstrap_servers="k:9092",
                    acks="1", linger_ms="20", batch_size="32768", compression_type="lz4",
                    message_key="%{host}", partitioner="round_robin")
    assert (c.topic_id, c.acks, c.enable_idempotence, c.linger_ms, c.batch_size) == (
        "logs-%{[app]}", "1", False, 20, 32768)
    assert settle("output", "kafka", topic_id="t").acks == "all"  # type: ignore[attr-defined]
    text = refused("kafka", topic_id="t", message_headers={"h": "v"},
                   value_serializer="x.AvroSerializer")
    assert "message_headers" in text and "value_serializer" in text


def test_stdout_file_tcp() -> None:
    assert settle("output", "stdout", enable_metric=False) is not None
    c: Any = settle("output", "file", path="/tmp/out-%{+yyyy}.log", flush_interval=0,
                    create_if_deleted=True, gzip=False, file_mode=-1)
    assert c.path == "/tmp/out-%{+yyyy}.log"
    text = refused("file", path="/x", gzip=True, write_behavior="overwrite", dir_mode=0o750)
    assert "gzip" in text and "write_behavior" in text and "dir_mode" in text
    c = settle("output", "tcp", host="collector", port=5000, mode="client")
    assert (c.host, c.port, c.reconnect_interval) == ("collector", 5000, 10)
    text = refused("tcp", host="h", port=1, mode="server", ssl_enable=True)
    assert "mode" in text and "ssl_enable" in text
