"""Document id strategies: same event, same id, on every delivery."""
from __future__ import annotations

from logpipe.core.codec import dumps
from logpipe.core.event import Event
from logpipe.outputs.elasticsearch.ids import content_hash, deterministic, id_factory


def _kafka(offset: int, partition: int = 0, topic: str = "graphmemory-logs") -> dict:
    return {"kafka": {"topic": topic, "partition": partition, "offset": offset}}


def _ids(events: list[Event], strategy: str, document_id: str | None = None) -> list[str | None]:
    assign = id_factory(strategy, document_id)()
    return [assign(e, dumps(e.data)) for e in events]


def test_coordinates_come_from_kafka_metadata() -> None:
    events = [Event({"message": "a"}, _kafka(7, 2)), Event({"message": "b"}, _kafka(8, 2))]
    assert _ids(events, "coordinates") == ["graphmemory-logs:2:7", "graphmemory-logs:2:8"]


def test_events_split_from_one_record_get_ordinals_in_batch_order() -> None:
    events = [Event({"n": i}, _kafka(5)) for i in range(3)] + [Event({"n": 9}, _kafka(6))]
    first = _ids(events, "coordinates")
    assert first == ["graphmemory-logs:0:5", "graphmemory-logs:0:5:1", "graphmemory-logs:0:5:2",
                     "graphmemory-logs:0:6"]
    assert _ids(events, "coordinates") == first  # a redelivery starts counting afresh


def test_events_without_coordinates_fall_back_to_the_content_hash() -> None:
    ts = Event({"message": "x"}).data["@timestamp"]
    beats = Event({"message": "x", "@timestamp": ts}, {"beats": {"host": "n1"}})
    assert _ids([beats], "coordinates") == [content_hash(dumps(beats.data))]


def test_content_hash_is_stable_and_sensitive_to_content() -> None:
    ts = Event().data["@timestamp"]
    a1 = Event({"message": "a", "@timestamp": ts})
    a2 = Event({"message": "a", "@timestamp": ts})
    b = Event({"message": "b", "@timestamp": ts})
    ids = _ids([a1, a2, b], "content_hash")
    assert ids[0] == ids[1] != ids[2]
    assert len(ids[0]) == 27 and "=" not in ids[0] and "/" not in ids[0] and "+" not in ids[0]


def test_document_id_template_wins_and_missing_fields_fall_back_to_hash() -> None:
    with_id = Event({"req": {"id": "r-1"}})
    without = Event({"message": "m"})
    ids = _ids([with_id, without], "none", "%{[req][id]}")
    assert ids[0] == "r-1"
    assert ids[1] == content_hash(dumps(without.data))


def test_none_strategy_lets_elasticsearch_choose() -> None:
    assert _ids([Event({"a": 1}, _kafka(1))], "none") == [None]
    assert not deterministic("none")
    assert deterministic("none", "%{id}")
    assert deterministic("coordinates") and deterministic("content_hash")
