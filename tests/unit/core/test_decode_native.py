"""The native loop of ``events_from_json`` (``logpipe_native.EventDecoder``) against
the Python loop: the same events, key for key and in the same order, from the
same records, and the records it leaves to the Python path tagged there."""
from __future__ import annotations

import gc
import os
from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core import codec
from logpipe.core.event import Event, now

native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))

RAWS: list[Any] = [
    b'{"message": "plain"}', b'{"@timestamp": "2025-06-15T11:59:30.709Z", "a": 1}',
    b'{"@timestamp": "2025-06-15T11:59:30+02:00"}', b'{"@timestamp": "2025-06-15T11:59:30"}',
    b'{"@timestamp": "not a time", "x": 1}', b'{"x": 0, "@timestamp": "nope", "y": 2}',
    b'{"@timestamp": null}', b'{"@timestamp": 17}', b'{"@timestamp": ["2025-06-15"]}',
    b'{"@metadata": {"route": "r"}, "y": 2}', b'{"@metadata": "not an object"}', b'{"@metadata": null}',
    b'{"a": 1, "@metadata": {"k": [1]}, "@timestamp": "2025-01-01T00:00:00Z", "b": 2}',
    b"not json", b"[1, 2]", b'"text"', b"17", b"null", b"", b"{\"bad\xff utf8\": 1}",
    "{\"str\": 1}", bytearray(b'{"ba": 1}'), memoryview(b'{"mv": 1}'),
]


def decoded(raws: list[Any], ts: datetime, native_on: bool) -> list[Event]:
    """``events_from_json`` with the native module on or off, the batch's arrival
    time fixed to ``ts`` so that both sides can be compared."""
    with pytest.MonkeyPatch.context() as switch:
        switch.setattr(codec, "now", lambda: ts)
        if native_on:
            switch.delenv("LOGPIPE_NATIVE", raising=False)
            assert codec._native_decoder() is not None
        else:
            switch.setenv("LOGPIPE_NATIVE", "off")
            assert codec._native_decoder() is None
        return codec.events_from_json(raws)


def same(a: Event, b: Event) -> None:
    assert type(a) is type(b) is Event
    da, db = dict(a.data), dict(b.data)
    for d in (da, db):  # a record that is no object gets its own arrival time in both
        if isinstance(d.get("@timestamp"), datetime) and "message" in d and "tags" in d:
            del d["@timestamp"]
    assert list(da) == list(db)
    assert da == db
    assert {k: type(v) for k, v in da.items()} == {k: type(v) for k, v in db.items()}
    assert a.metadata == b.metadata and type(a.metadata) is dict


def test_every_kind_of_record_decodes_as_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    ts = now()
    fast, slow = decoded(RAWS, ts, True), decoded(RAWS, ts, False)
    assert len(fast) == len(slow) == len(RAWS)
    for a, b in zip(fast, slow):
        same(a, b)
    assert fast[0].data["@timestamp"] is ts
    assert fast[1].data["@timestamp"] == datetime(2025, 6, 15, 11, 59, 30, 709000, tzinfo=timezone.utc)
    assert fast[4].data["_timestamp_original"] == "not a time" and list(fast[5].data) == [
        "x", "y", "_timestamp_original", "@timestamp"]
    assert fast[9].metadata == {"route": "r"} and "@metadata" not in fast[9].data
    assert fast[10].metadata == {} and "@metadata" not in fast[10].data
    for i in range(13, 20):
        assert fast[i].has_tag("_jsonparsefailure")


def test_events_made_natively_are_whole_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    events = codec.events_from_json(iter([b'{"message": "m"}', b'{"a": {"b": 1}}']))
    assert all(type(e) is Event and gc.is_tracked(e) for e in events)
    events[0].add_tag("t")
    events[1].metadata["k"] = "v"
    assert events[0].data["tags"] == ["t"] and events[1].get_path(("@metadata", "k")) == "v"
    assert events[1].get_path(("a", "b")) == 1
    del events
    gc.collect()


def test_errors_other_than_decoding_are_raised() -> None:
    def loads(raw: Any) -> Any:
        raise RuntimeError("boom")

    decoder = native.EventDecoder(Event, loads, orjson.JSONDecodeError, codec.parse_iso)
    with pytest.raises(RuntimeError, match="boom"):
        decoder.decode([b"{}"], now())

    class NoSlots:
        pass

    with pytest.raises(TypeError):
        native.EventDecoder(NoSlots, orjson.loads, orjson.JSONDecodeError, codec.parse_iso)


def test_without_the_native_module_the_python_loop_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert codec._native_decoder() is None
    events = codec.events_from_json([b'{"a": 1}', b"nope"])
    assert events[0].data["a"] == 1 and events[1].has_tag("_jsonparsefailure")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)
stamps = st.one_of(st.none(), st.integers(-10**9, 10**9), st.sampled_from(
    ["2025-06-15T11:59:30Z", "2025-06-15T11:59:30.5+05:30", "2025-06-15", "garbage", ""]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.dictionaries(st.sampled_from(["a", "b", "@timestamp", "@metadata", "message"]),
                    json_values, max_size=5).map(orjson.dumps),
    st.builds(lambda stamp, meta: orjson.dumps({"@timestamp": stamp, "@metadata": meta}), stamps, json_values),
    st.binary(max_size=12)), max_size=12))
def test_generated_records_decode_as_in_python(raws: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
        ts = now()
        for a, b in zip(decoded(raws, ts, True), decoded(raws, ts, False), strict=True):
            same(a, b)


def test_given_metadata_replaces_the_records_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``event_from_json(raw, metadata)``: the input's metadata, the record's
    ``@metadata`` dropped; None for a record: its own, as without metadata."""
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
    raws = [b'{"@metadata": {"own": 1}, "a": 1}', b'{"b": 2}', b"nope", b'{"@metadata": {"own": 3}}', b"[1]"]
    metas: list[Any] = [{"kafka": {"offset": i}} for i in range(len(raws))]
    metas[3] = None
    for native_on in (True, False):
        if not native_on:
            monkeypatch.setenv("LOGPIPE_NATIVE", "off")
        events = codec.events_from_json(raws, metas)
        assert [e.metadata for e in events] == [{"kafka": {"offset": 0}}, {"kafka": {"offset": 1}},
                                                {"kafka": {"offset": 2}}, {"own": 3}, {"kafka": {"offset": 4}}]
        assert events[0].metadata is metas[0] and "@metadata" not in events[0].data
        assert events[2].has_tag("_jsonparsefailure") and events[4].has_tag("_jsonparsefailure")
    with pytest.raises(ValueError):
        native.EventDecoder(Event, orjson.loads, orjson.JSONDecodeError, codec.parse_iso).decode([b"{}"], now(), [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(
    st.dictionaries(st.sampled_from(["a", "@timestamp", "@metadata"]), json_values, max_size=3).map(orjson.dumps),
    st.binary(max_size=8)), st.one_of(st.none(), st.dictionaries(st.text(max_size=3), json_values, max_size=2))),
    max_size=10))
def test_generated_records_with_metadata_decode_as_one_by_one(pairs: list[tuple[bytes, Any]]) -> None:
    raws = [raw for raw, _ in pairs]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)
        batch = codec.events_from_json(raws, [meta for _, meta in pairs])
    one_by_one = [codec.event_from_json(raw, None if meta is None else dict(meta)) for raw, meta in pairs]
    for a, b in zip(batch, one_by_one, strict=True):
        # Arrival times differ (one per batch against one per record): the rest may not.
        assert list(a.data) == list(b.data)
        assert ({k: v for k, v in a.data.items() if k != "@timestamp"}
                == {k: v for k, v in b.data.items() if k != "@timestamp"})
        assert a.metadata == b.metadata
