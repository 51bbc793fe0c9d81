"""The file input's bookkeeping: which offset may be saved after each read."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from logpipe.codecs import build
from logpipe.core.batch import Batch
from logpipe.inputs.file.config import FileInputConfig
from logpipe.inputs.file.sincedb import Sincedb
from logpipe.inputs.file.tracked import TrackedFile


def tracked(codec: str | dict[str, object] = "plain", max_line_bytes: int = 1 << 20) -> TrackedFile:
    c = build(codec) if isinstance(codec, str) else build(str(codec.pop("type")), codec)
    return TrackedFile((1, 2), "/x.log", 0, c, b"\n", max_line_bytes)


def test_the_commit_point_is_the_end_of_the_last_complete_line() -> None:
    t = tracked()
    events = t.consume(b"one\ntwo\nthr")
    assert [e.data["message"] for e in events] == ["one", "two"]
    assert (t.read_pos, t.commit) == (11, 8)
    assert [e.data["message"] for e in t.consume(b"ee\n")] == ["three"]
    assert t.commit == 14


def test_multiline_holds_the_commit_point_before_lines_it_still_gathers() -> None:
    t = tracked({"type": "multiline", "pattern": r"^\s", "what": "previous"})
    assert t.consume(b"a\n b\n") == []
    assert t.commit == 0                       # "a\n b" is not an event yet
    (e,) = t.consume(b"c\n")
    assert e.data["message"] == "a\n b" and t.commit == 5
    assert [x.data["message"] for x in t.idle(time.monotonic() + 10)] == []   # no auto flush
    assert [x.data["message"] for x in t.finish()] == ["c"] and t.commit == 7


def test_an_over_long_line_is_cut_once_and_its_rest_skipped() -> None:
    t = tracked(max_line_bytes=8)
    events = t.consume(b"ok\n" + b"y" * 20)
    assert [(e.data["message"], e.tags) for e in events] == [("ok", []), ("y" * 8, ["_line_too_long"])]
    events = t.consume(b"yyyy\nnext\n")
    assert [e.data["message"] for e in events] == ["next"]
    assert t.commit == t.read_pos == 3 + 24 + 1 + 5


def test_acknowledgements_release_in_order_and_a_truncation_ignores_old_ones() -> None:
    t = tracked()
    first, second = Batch([], token=4), Batch([], token=8)
    t.track(first)
    t.track(second)
    second.complete(True)
    assert not t.released() and t.acked == 0
    first.complete(True)
    assert t.released() and t.acked == 8
    late = Batch([], token=100)
    t.track(late)
    t.truncated()
    late.complete(True)
    assert not t.released() and t.acked == 0


def test_sincedb_round_trip_and_forgetting_old_entries(tmp_path: Path) -> None:
    db = Sincedb(str(tmp_path / "sdb"), clean_after=3600)
    db.set((2049, 77), 123, "/var/log/a b.log")
    db.entries[(2049, 78)] = type(db.entries[(2049, 77)])(5, time.time() - 7200, "/old")
    db.save()
    again = Sincedb(str(tmp_path / "sdb"), clean_after=3600)
    again.load()
    assert {k: (e.position, e.path) for k, e in again.entries.items()} == {(2049, 77): (123, "/var/log/a b.log")}


def test_config_checks_and_logstash_shapes() -> None:
    cfg = FileInputConfig(path="/var/log/*.log", stat_interval="2 seconds", sincedb_clean_after="2 weeks",
                          file_chunk_size="64 KiB")
    assert cfg.path == ["/var/log/*.log"] and cfg.stat_interval == 2 and cfg.file_chunk_size == 65536
    assert cfg.sincedb_clean_after == 14 * 86400
    assert FileInputConfig(path=["/a"], sincedb_path="/dev/null").sincedb_file() is None
    assert ".sincedb_" in (FileInputConfig(path=["/a"]).sincedb_file() or "")
    with pytest.raises(ValueError, match="absolute"):
        FileInputConfig(path=["relative/*.log"])
    with pytest.raises(ValueError, match="file_completed_log_path"):
        FileInputConfig(path=["/a"], mode="read", file_completed_action="log")
    assert FileInputConfig.logstash_defaults == {"file_completed_action": "delete"}
