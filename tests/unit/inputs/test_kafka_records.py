"""Kafka records become events with their coordinates in [@metadata][kafka]."""
from __future__ import annotations

from collections import namedtuple

import pytest
from pydantic import ValidationError

from logpipe.inputs.kafka.config import KafkaInputConfig
from logpipe.inputs.kafka.records import decoder, to_events

Record = namedtuple("Record", "topic partition offset key value timestamp headers")


def test_json_values_with_metadata_and_size() -> None:
    records = [Record("logs", 2, 41, b"k1", b'{"a": 1}', 1714557600000, [("trace", b"t-1")]),
               Record("logs", 2, 42, None, b'{"a": 2}', 1714557600001, ())]
    events, size = to_events(records, decoder("json"))
    assert size == 16
    assert [e.get("a") for e in events] == [1, 2]
    assert events[0].metadata["kafka"] == {"topic": "logs", "partition": 2, "offset": 41, "key": "k1",
                                           "timestamp": 1714557600000, "headers": {"trace": "t-1"}}
    assert events[1].get("[@metadata][kafka][key]") is None
    assert events[0].metadata is not events[1].metadata


def test_invalid_json_and_tombstones_are_kept_and_tagged() -> None:
    records = [Record("logs", 0, 1, None, b"not json", 0, ()), Record("logs", 0, 2, b"gone", None, 0, ())]
    events, _ = to_events(records, decoder("json"))
    assert [e.get("message") for e in events] == ["not json", ""]
    assert all(e.has_tag("_jsonparsefailure") for e in events)


def test_plain_codec_keeps_the_line_and_flags_bad_utf8() -> None:
    events, _ = to_events([Record("logs", 0, 1, None, b"caf\xe9 open", 0, ())], decoder("plain"))
    assert events[0].get("message") == "caf\ufffd open"
    assert events[0].has_tag("_utf8error")


def test_config_wants_exactly_one_subscription() -> None:
    with pytest.raises(ValidationError, match="exactly one of topics or topics_pattern"):
        KafkaInputConfig()
    with pytest.raises(ValidationError, match="exactly one of topics or topics_pattern"):
        KafkaInputConfig(topics=["a"], topics_pattern="a.*")
    assert KafkaInputConfig(topics_pattern="graphmemory-.*").group_id == "logpipe"
