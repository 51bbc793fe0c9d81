"""The codec setting of every input and output that has one, as YAML and as Logstash writes it."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from logpipe.core import registry
from logpipe.errors import ConfigError

REQUIRED = {
    ("input", "kafka"): {"topics": ["t"]},
    ("input", "redis"): {"key": "k", "data_type": "list"},
    ("input", "udp"): {"port": 0},
    ("input", "file"): {"path": ["/tmp/x.log"]},
    ("output", "kafka"): {"topic_id": "t"},
    ("output", "redis"): {"key": "k", "data_type": "list"},
    ("output", "file"): {"path": "/tmp/out"},
    ("output", "tcp"): {"port": 9},
}


def config(kind: str, name: str, **options: object) -> object:
    cls = registry.get(kind, name).Config
    return cls.model_validate({**REQUIRED.get((kind, name), {}), **options})


def logstash(kind: str, name: str, **options: object) -> object:
    cls = registry.get(kind, name).Config
    settings = cls.from_logstash({**cls.logstash_defaults, **REQUIRED.get((kind, name), {}), **options})
    return cls.model_validate(settings)


@pytest.mark.parametrize("kind, name, literal", [
    ("input", "stdin", "lines"), ("input", "stdin", "json_lines"), ("input", "tcp", "lines"),
    ("input", "tcp", "json_lines"), ("input", "http", "auto"), ("input", "http", "ndjson"),
    ("input", "kafka", "json"), ("input", "redis", "plain"), ("output", "stdout", "pretty"),
    ("output", "tcp", "lines"), ("output", "kafka", "plain"),
])
def test_todays_yaml_codec_names_keep_working(kind: str, name: str, literal: str) -> None:
    assert config(kind, name, codec=literal).codec == literal   # type: ignore[attr-defined]


@pytest.mark.parametrize("kind, name", [("input", "stdin"), ("input", "tcp"), ("input", "udp"),
                                        ("input", "file"), ("input", "kafka"), ("input", "redis"),
                                        ("output", "stdout"), ("output", "file"), ("output", "tcp"),
                                        ("output", "redis"), ("output", "kafka")])
def test_codec_plugins_take_logstash_mappings(kind: str, name: str) -> None:
    c = logstash(kind, name, codec={"type": "json_lines", "delimiter": "\\r\\n"}).codec  # type: ignore[attr-defined]
    assert c.name == "json_lines" and c.options == {"delimiter": "\\r\\n"}
    with pytest.raises(ValidationError, match="nosuch"):
        logstash(kind, name, codec="nosuch")


def test_multiline_on_the_streaming_inputs() -> None:
    ml = {"type": "multiline", "pattern": "^\\s", "negate": False, "what": "previous"}
    for name in ("stdin", "tcp", "file"):
        assert logstash("input", name, codec=ml).codec.name == "multiline"  # type: ignore[attr-defined]


@pytest.mark.parametrize("given, expected", [
    ("json", "json"), ("json_lines", "ndjson"), ({"type": "json"}, "json"), ("plain", "lines"), ("line", "lines"),
])
def test_the_http_input_maps_logstash_codec_names_onto_its_body_modes(given: object, expected: str) -> None:
    assert logstash("input", "http", codec=given).codec == expected  # type: ignore[attr-defined]


def test_the_http_input_refuses_other_codecs_clearly() -> None:
    with pytest.raises(ConfigError, match="codec 'cef' is not supported here"):
        logstash("input", "http", codec="cef")
    with pytest.raises(ConfigError, match="takes no options"):
        logstash("input", "http", codec={"type": "json", "target": "doc"})


def test_kafka_output_plain_in_a_conf_writes_logstash_s_text() -> None:
    from datetime import datetime, timezone
    from logpipe.core.event import Event
    c = logstash("output", "kafka").codec  # type: ignore[attr-defined]
    e = Event({"@timestamp": datetime(2024, 1, 2, tzinfo=timezone.utc), "host": "h", "message": "m"})
    assert c.build().encode(e) == b"2024-01-02T00:00:00Z h m"
    assert config("output", "kafka", codec="plain").codec == "plain"  # type: ignore[attr-defined]


def test_logstash_defaults_where_logstash_differs() -> None:
    assert logstash("output", "stdout").codec == "rubydebug"  # type: ignore[attr-defined]
    assert logstash("output", "kafka").codec.name == "plain"  # type: ignore[attr-defined]
    assert logstash("output", "tcp").codec == "json"  # type: ignore[attr-defined]
    assert config("output", "tcp").codec == "json_lines"  # type: ignore[attr-defined]


def test_encoders_and_decoders_are_checked_where_they_are_used() -> None:
    from logpipe.inputs.udp import UdpInput
    with pytest.raises(ConfigError, match="cannot decode"):
        import asyncio
        asyncio.run(UdpInput(UdpInput.Config(port=0, codec="rubydebug"), id="u").start())
