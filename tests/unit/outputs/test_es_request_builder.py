"""Bulk bodies: action lines, documents, request cutting, gzip."""
from __future__ import annotations

import gzip
from datetime import datetime, timezone

import orjson

from logpipe.core.event import Event
from logpipe.outputs.elasticsearch.ids import id_factory
from logpipe.outputs.elasticsearch.request_builder import RequestBuilder, body, compress

TS = datetime(2024, 5, 17, 10, 30, 0, 123000, tzinfo=timezone.utc)


def _event(n: int, **fields: object) -> Event:
    return Event({"@timestamp": TS, "n": n, "event": {"dataset": "access"}, **fields},
                 {"kafka": {"topic": "t", "partition": 0, "offset": n}})


def _builder(**kw: object) -> RequestBuilder:
    opts: dict = {"index": "logs-%{[event][dataset]}-%{+yyyy.MM.dd}", "action": "create",
                  "ids": id_factory("coordinates")}
    opts.update(kw)
    return RequestBuilder(**opts)


def _lines(data: bytes) -> list[dict]:
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]]


def test_body_pairs_action_lines_with_documents() -> None:
    chunks = list(_builder().chunks([_event(1), _event(2, message="héllo")]))
    assert len(chunks) == 1
    lines = _lines(body(chunks[0]))
    assert lines[0] == {"create": {"_index": "logs-access-2024.05.17", "_id": "t:0:1"}}
    assert lines[1] == {"@timestamp": "2024-05-17T10:30:00.123000Z", "n": 1,
                        "event": {"dataset": "access"}}
    assert lines[3]["message"] == "héllo"
    assert len(lines) == 4


def test_metadata_is_never_written() -> None:
    event = _event(1)
    event.set("[@metadata][secret]", "x")
    (chunk,) = _builder().chunks([event])
    assert b"secret" not in body(chunk) and b"kafka" not in body(chunk)


def test_ingest_pipeline_and_index_action() -> None:
    builder = _builder(action="index", pipeline="%{[event][dataset]}-pipeline",
                       ids=id_factory("none"))
    (chunk,) = builder.chunks([_event(1), Event({"@timestamp": TS})])
    lines = _lines(body(chunk))
    assert lines[0] == {"index": {"_index": "logs-access-2024.05.17", "pipeline": "access-pipeline"}}
    # a missing field means: no pipeline, not a pipeline named "%{...}"
    assert "pipeline" not in lines[2]["index"]
    assert chunk[0].pipeline == "access-pipeline" and chunk[1].pipeline is None


def test_requests_are_cut_by_count() -> None:
    chunks = list(_builder(batch_size=3).chunks([_event(i) for i in range(8)]))
    assert [len(c) for c in chunks] == [3, 3, 2]
    assert [item.pos for c in chunks for item in c] == list(range(8))


def test_requests_are_cut_by_bytes_and_a_huge_document_travels_alone() -> None:
    small = [_event(i, message="x" * 100) for i in range(6)]
    huge = _event(99, message="y" * 5000)
    builder = _builder(batch_bytes=1024)
    chunks = list(builder.chunks(small[:3] + [huge] + small[3:]))
    assert all(sum(i.size for i in c) <= 1024 or len(c) == 1 for c in chunks)
    assert [huge.data["n"]] in [[orjson.loads(i.doc)["n"] for i in c] for c in chunks]
    assert sum(len(c) for c in chunks) == 7


def test_item_size_matches_its_share_of_the_body() -> None:
    (chunk,) = _builder().chunks([_event(i) for i in range(5)])
    assert sum(i.size for i in chunk) == len(body(chunk))


def test_ids_stay_deterministic_across_chunk_boundaries() -> None:
    events = [Event({"@timestamp": TS, "n": i}, {"kafka": {"topic": "t", "partition": 0, "offset": 1}})
              for i in range(4)]
    chunks = list(_builder(batch_size=2, index="x").chunks(events))
    assert [i.doc_id for c in chunks for i in c] == ["t:0:1", "t:0:1:1", "t:0:1:2", "t:0:1:3"]


def test_gzip_round_trips() -> None:
    (chunk,) = _builder().chunks([_event(i) for i in range(50)])
    raw = body(chunk)
    packed = compress(raw, 1)
    assert gzip.decompress(packed) == raw
    assert len(packed) < len(raw) / 3


def test_values_json_cannot_express_are_written_as_text() -> None:
    (chunk,) = _builder().chunks([_event(1, tags={"a"}, blob=b"\xff", obj=object())])
    doc = orjson.loads(chunk[0].doc)
    assert doc["tags"] == ["a"]
    assert doc["blob"] == "\ufffd"
    assert doc["obj"].startswith("<object")


def test_ids_that_need_escaping_are_escaped() -> None:
    builder = _builder(ids=id_factory("none", "%{[rid]}"))
    for rid in ['plain-id:1', 'quo"te', 'back\\slash', 'tab\there', 'ünï', "nl\n"]:
        (chunk,) = builder.chunks([Event({"@timestamp": TS, "rid": rid, "event": {"dataset": "a"}})])
        assert orjson.loads(chunk[0].action)["create"]["_id"] == rid
