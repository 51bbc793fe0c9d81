"""Beats documents become events: fields kept, protocol details in @metadata."""
from __future__ import annotations

from datetime import datetime, timezone

from logpipe.inputs.beats.events import window_events
from logpipe.inputs.beats.protocol import Window

CONN = {"remote_address": "10.1.2.3:5555", "tls_peer_cn": "node-1"}


def filebeat_doc(n: int) -> dict[str, object]:
    return {
        "@timestamp": "2024-05-20T12:00:00.123456789Z",
        "@metadata": {"beat": "filebeat", "type": "_doc", "version": "8.14.0"},
        "message": f"GET /api/{n} 200",
        "log": {"file": {"path": "/var/log/nginx/access.log"}, "offset": n},
        "input": {"type": "filestream"},
        "agent": {"type": "filebeat", "version": "8.14.0"},
        "host": {"name": "node-1"},
        "fields": {"service": "nginx"},
    }


def window(docs: list[object], seqs: list[int] | None = None) -> Window:
    seqs = seqs or list(range(1, len(docs) + 1))
    return Window(0x32, len(docs), seqs, docs, 100, max(seqs))


def test_document_fields_are_kept_and_timestamp_parsed() -> None:
    (event,) = window_events(window([filebeat_doc(1)]), CONN)
    assert event.get("[log][file][path]") == "/var/log/nginx/access.log"
    assert event.get("[input][type]") == "filestream"
    assert event.get("[fields][service]") == "nginx"
    assert event.get("message") == "GET /api/1 200"
    assert event.data["@timestamp"] == datetime(2024, 5, 20, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert "@metadata" not in event.to_dict()


def test_metadata_carries_beat_and_connection_details() -> None:
    (event,) = window_events(window([filebeat_doc(1)], [41]), CONN)
    assert event.get("[@metadata][beat]") == "filebeat"  # as Logstash exposes it
    assert event.get("[@metadata][version]") == "8.14.0"
    assert event.get("[@metadata][input][type]") == "beats"
    assert event.get("[@metadata][beats]") == {
        "remote_address": "10.1.2.3:5555", "tls_peer_cn": "node-1", "seq": 41,
        "beat": "filebeat", "beat_type": "_doc", "beat_version": "8.14.0"}


def test_each_event_owns_its_metadata() -> None:
    a, b = window_events(window([filebeat_doc(1), filebeat_doc(2)]), CONN)
    a.set("[@metadata][beats][remote_address]", "changed")
    a.set("[@metadata][input][type]", "changed")
    assert b.get("[@metadata][beats][remote_address]") == "10.1.2.3:5555"
    assert b.get("[@metadata][input][type]") == "beats"
    assert CONN["remote_address"] == "10.1.2.3:5555"


def test_bad_timestamp_is_kept_and_tagged() -> None:
    (event,) = window_events(window([{"@timestamp": "yesterday", "message": "x"}]), CONN)
    assert event.get("_timestamp_original") == "yesterday"
    assert isinstance(event.data["@timestamp"], datetime)
    assert event.has_tag("_timestampparsefailure")


def test_missing_timestamp_gets_arrival_time() -> None:
    (event,) = window_events(window([{"message": "x"}]), CONN)
    assert isinstance(event.data["@timestamp"], datetime)
    assert not event.tags


def test_payload_that_is_not_an_object_becomes_a_tagged_message() -> None:
    (event,) = window_events(window([b"{broken \xff"]), CONN)
    assert event.get("message") == "{broken \ufffd"
    assert event.has_tag("_jsonparsefailure")
    assert event.get("[@metadata][beats][seq]") == 1


def test_shared_timestamps_are_parsed_once_and_non_strings_are_refused() -> None:
    docs: list[object] = [{"@timestamp": "2024-05-20T12:00:00Z", "n": 1},
                          {"@timestamp": "2024-05-20T12:00:00Z", "n": 2},
                          {"@timestamp": None, "n": 3}, {"@timestamp": 1716206400, "n": 4}]
    a, b, c, d = window_events(window(docs), CONN)
    assert a.data["@timestamp"] == b.data["@timestamp"] == datetime(2024, 5, 20, 12, tzinfo=timezone.utc)
    assert not a.tags and not b.tags
    assert c.has_tag("_timestampparsefailure") and c.get("_timestamp_original") is None
    assert d.has_tag("_timestampparsefailure") and d.get("_timestamp_original") == 1716206400
    assert isinstance(c.data["@timestamp"], datetime) and isinstance(d.data["@timestamp"], datetime)
