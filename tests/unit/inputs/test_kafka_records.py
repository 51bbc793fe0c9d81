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


def test_a_fetch_decodes_as_its_records_one_by_one() -> None:
    """The json codec decodes a partition's records in one call; each event is what
    the record alone gives, with its own coordinates (only records without
    ``@timestamp`` share one arrival time)."""
    from logpipe.codecs import spec
    from logpipe.codecs.messages import message_decoder

    values = [b'{"a": 1, "@timestamp": "2025-06-15T11:59:30Z"}', b'{"@metadata": {"x": 1}, "b": 2}',
              b"[1]", b'{"@timestamp": "bad"}', None]
    records = [Record("logs", 1, 10 + i, None, v, 5, ()) for i, v in enumerate(values)]
    events, size = to_events(records, decoder("json"))
    one = message_decoder(spec("json"))
    alone = [e for r in records for e in one(r.value if r.value is not None else b"", {"kafka": {
        "topic": "logs", "partition": 1, "offset": r.offset, "key": None, "timestamp": 5, "headers": {}}})]
    assert size == sum(len(v) for v in values if v is not None)
    assert len(events) == len(alone) == 5
    for a, b in zip(events, alone):
        assert a.metadata == b.metadata
        assert [k for k in a.data] == [k for k in b.data]
        assert {k: v for k, v in a.data.items() if k != "@timestamp" or a.data is events[0].data} == {
            k: v for k, v in b.data.items() if k != "@timestamp" or b.data is alone[0].data}
    assert events[0].data["@timestamp"] == alone[0].data["@timestamp"]
    assert events[3].data["_timestamp_original"] == "bad"
    assert [e.has_tag("_jsonparsefailure") for e in events] == [False, False, True, False, True]
