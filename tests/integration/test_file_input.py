"""The file input on real files: appends, rename and copytruncate rotation, start
positions, multiline, read mode, garbage and over-long lines, and a SIGKILLed
``logpipe run`` that resumes without losing or re-reading acknowledged lines."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.integration.netinput_support import CaptureOutput, register_test_outputs, run, running, until


def pipeline(directory: Path, pattern: str = "*.log", **options: object) -> str:
    opts = {"path": [str(directory / pattern)], "sincedb_path": str(directory / "sincedb"),
            "stat_interval": 0.05, "discover_interval": 1, "start_position": "beginning", **options}
    return f"inputs: [{orjson.dumps({'type': 'file', **opts}).decode()}]\noutputs: [{{type: capture}}]\n"


def messages(out: CaptureOutput) -> list[str]:
    return [e.data["message"] for e in out.events]


def sincedb_positions(path: Path) -> list[int]:
    return [int(line.split()[3]) for line in path.read_text().splitlines()]


def append(path: Path, text: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


def test_appended_lines_arrive_with_path_and_host_and_the_position_is_saved(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("first\nsecond\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 2, what="the existing lines")
            append(log, "third\r\nfourth without newline yet")
            await until(lambda: len(out.events) == 3, what="the appended line")
            append(log, "\n")
            await until(lambda: len(out.events) == 4, what="the completed line")
            assert messages(out) == ["first", "second", "third", "fourth without newline yet"]
            assert out.events[0].get("[log][file][path]") == str(log)
            assert out.events[0].get("[host][name]") == os.uname().nodename
            await until(lambda: sincedb_positions(tmp_path / "sincedb") == [log.stat().st_size],
                        what="the acknowledged position saved")
    run(scenario())


def test_start_position_end_skips_what_was_there_but_reads_later_files_whole(tmp_path: Path) -> None:
    (tmp_path / "old.log").write_text("old line\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, start_position="end")) as p:
            out = CaptureOutput.instances[0]
            await until(lambda: bool(p.inputs[0].files), what="first discovery")  # type: ignore[attr-defined]
            append(tmp_path / "old.log", "new in old\n")
            (tmp_path / "later.log").write_text("later 1\nlater 2\n")
            await until(lambda: len(out.events) == 3, what="new lines")
            assert sorted(messages(out)) == ["later 1", "later 2", "new in old"]
    run(scenario())


def test_rename_rotation_finishes_the_old_file_and_reads_the_new_one_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a1\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, pattern="app.log")):
            out = CaptureOutput.instances[0]
            await until(lambda: messages(out) == ["a1"])
            with open(log, "a") as held:             # a writer that keeps the old file open
                os.rename(log, tmp_path / "app.log.1")
                held.write("a2 written after the rename\n")
            log.write_text("b1\nb2\n")
            await until(lambda: len(out.events) == 4, what="old tail and new file")
            assert messages(out)[0] == "a1"
            assert set(messages(out)[1:]) == {"a2 written after the rename", "b1", "b2"}
    run(scenario())


def test_copytruncate_rotation_reads_the_file_again_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("before 1\nbefore 2\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 2)
            shutil.copy(log, tmp_path / "app.log.1.bak")
            with open(log, "r+") as f:
                f.truncate(0)
            await until(lambda: sincedb_positions(tmp_path / "sincedb") == [0], what="truncation noticed")
            append(log, "after 1\n")
            await until(lambda: len(out.events) == 3)
            assert messages(out)[2] == "after 1"
            await until(lambda: sincedb_positions(tmp_path / "sincedb") == [len("after 1\n")])
    run(scenario())


def test_multiline_codec_joins_per_file_and_only_commits_whole_events(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("A start\n  A more\n")
    b.write_text("B start\n  B more\n")
    register_test_outputs()
    codec = {"type": "multiline", "pattern": r"^\s", "what": "previous"}

    async def scenario() -> None:
        async with running(pipeline(tmp_path, codec=codec)):
            out = CaptureOutput.instances[0]
            append(a, "A next\n")
            append(b, "B next\n")
            await until(lambda: len(out.events) == 2, what="one joined event per file")
            assert sorted(messages(out)) == ["A start\n  A more", "B start\n  B more"]
            assert all(e.tags == ["multiline"] for e in out.events)
            # "A next" is still gathered: the saved position is before it, not after.
            await until(lambda: sorted(sincedb_positions(tmp_path / "sincedb")) ==
                        [len("A start\n  A more\n")] * 2, what="positions before the held lines")
    run(scenario())


def test_garbage_and_over_long_lines_are_tagged_and_good_lines_around_them_arrive(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"good 1\n\xff\xfe not utf8\n" + b"x" * 5000 + b"\ngood 2\n{not json\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, max_line_bytes=1024)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 5)
            assert messages(out)[0] == "good 1" and messages(out)[3] == "good 2"
            assert out.events[1].tags == ["_utf8error"]
            assert out.events[2].tags == ["_line_too_long"] and len(out.events[2].data["message"]) == 1024
            append(log, "good 3\n")
            await until(lambda: len(out.events) == 6)
    run(scenario())


def test_json_codec_tags_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "j.log").write_text('{"n": 1}\nnot json\n{"n": 2}\n')
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, codec="json")):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 3)
            assert [e.data.get("n") for e in out.events] == [1, None, 2]
            assert out.events[1].tags == ["_jsonparsefailure"]
    run(scenario())


def test_read_mode_reads_to_the_end_then_logs_and_deletes(tmp_path: Path) -> None:
    (tmp_path / "batch.log").write_text("r1\nr2\nlast without newline")
    done = tmp_path / "completed.txt"
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, mode="read", file_completed_action="log_and_delete",
                                    file_completed_log_path=str(done))):
            out = CaptureOutput.instances[0]
            await until(lambda: not (tmp_path / "batch.log").exists(), what="the file deleted")
            assert messages(out) == ["r1", "r2", "last without newline"]
            assert done.read_text() == f"{tmp_path / 'batch.log'}\n"
    run(scenario())


def test_a_restart_resumes_at_the_saved_position(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\ntwo\n")
    register_test_outputs()

    async def first() -> None:
        async with running(pipeline(tmp_path)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 2)
            await until(lambda: sincedb_positions(tmp_path / "sincedb") == [8])
    run(first())
    append(log, "three\n")
    register_test_outputs()

    async def second() -> None:
        async with running(pipeline(tmp_path)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 1)
            assert messages(out) == ["three"]
    run(second())


# --- SIGKILL with a real logpipe process ------------------------------------------------
def _logpipe(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(config)],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=config.parent,
                            start_new_session=True)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.05)


def _lines(path: Path) -> list[str]:
    """Messages written so far. A line cut short (read while a batch is being written, or
    torn by the SIGKILL) is not a delivered event: it is left out, and the test's final
    'nothing lost' check still needs each of its events in a whole line."""
    if not path.exists():
        return []
    out = []
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            out.append(orjson.loads(raw)["message"])
        except orjson.JSONDecodeError:
            continue
    return out


def test_sigkill_neither_loses_nor_re_reads_acknowledged_lines(tmp_path: Path) -> None:
    src, out, sdb = tmp_path / "in.log", tmp_path / "out.jsonl", tmp_path / "sincedb"
    config = tmp_path / "p.yaml"
    config.write_text(f"""
settings: {{batch_size: 50, pipeline_workers: 1}}
inputs:
  - {{type: file, path: ["{src}"], sincedb_path: "{sdb}", start_position: beginning,
      stat_interval: 0.02, file_chunk_size: 2048}}
outputs:
  - {{type: file, path: "{out}"}}
""")
    total = 20000
    offsets: dict[str, int] = {}
    with open(src, "wb") as f:
        for i in range(total // 2):
            line = f"line {i:06d} " + "p" * 40 + "\n"
            offsets[line[:-1]] = f.tell()
            f.write(line.encode())
    proc = _logpipe(config, tmp_path / "logpipe.log")
    try:
        _wait(lambda: len(_lines(out)) > 500, 60, "the first lines delivered")
        with open(src, "ab") as f:                  # more arrives while it runs
            for i in range(total // 2, total):
                line = f"line {i:06d} " + "p" * 40 + "\n"
                offsets[line[:-1]] = f.tell()
                f.write(line.encode())
                if i % 500 == 0:
                    f.flush()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    saved = sincedb_positions(sdb)[0]
    before = _lines(out)
    assert 0 < saved < src.stat().st_size        # killed in the middle, with lines still to read
    # Everything below the saved position was delivered before the kill.
    assert {m for m, off in offsets.items() if off < saved} <= set(before)

    proc = _logpipe(config, tmp_path / "logpipe.log")
    try:
        _wait(lambda: len(set(_lines(out))) == total, 60, "every line after the restart")
        _wait(lambda: sincedb_positions(sdb)[0] == src.stat().st_size, 30, "the final position")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    after = _lines(out)
    assert set(after) == set(offsets)                       # nothing lost
    repeated = [m for m in set(after) if after.count(m) > 1]
    # Only lines beyond the acknowledged position can come twice (the unacknowledged window).
    assert all(offsets[m] >= saved for m in repeated), repeated[:5]


def test_a_closed_idle_file_rotated_away_is_not_confused_with_its_successor(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old content line\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, pattern="app.log", close_older=0.1)) as p:
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 1)
            files = p.inputs[0].files  # type: ignore[attr-defined]
            await until(lambda: all(t.handle is None for t in files.values()), what="the idle file closed")
            os.rename(log, tmp_path / "app.log.1")
            log.write_text("new 1\nnew 2 is longer than the old file's offset\n")
            await until(lambda: len(out.events) == 3, what="the new file from its start")
            assert messages(out) == ["old content line", "new 1", "new 2 is longer than the old file's offset"]
    run(scenario())


def test_multiline_auto_flush_sends_a_quiet_file_s_last_event_and_saves_its_end(tmp_path: Path) -> None:
    log = tmp_path / "trace.log"
    log.write_text("2024-01-01 ERROR boom\n  at frame 1\n  at frame 2\n")
    register_test_outputs()
    codec = {"type": "multiline", "pattern": "^%{TIMESTAMP_ISO8601} ", "negate": True, "what": "previous",
             "auto_flush_interval": 0.3}

    async def scenario() -> None:
        async with running(pipeline(tmp_path, codec=codec)):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 1, what="the flush after a quiet file")
            assert out.events[0].data["message"] == "2024-01-01 ERROR boom\n  at frame 1\n  at frame 2"
            await until(lambda: sincedb_positions(tmp_path / "sincedb") == [log.stat().st_size])
    run(scenario())


def test_globs_reach_subdirectories_and_exclude_leaves_files_out(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "deep.log").write_text("deep\n")
    (tmp_path / "top.log").write_text("top\n")
    (tmp_path / "old.log.gz").write_bytes(b"\x1f\x8b not text\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, pattern="**/*.log*", exclude=["*.gz"])):
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 2)
            assert sorted(messages(out)) == ["deep", "top"]
            (tmp_path / "a" / "later.log").write_text("later\n")
            await until(lambda: len(out.events) == 3, what="a file created later in a subdirectory")
    run(scenario())


def test_a_deleted_file_is_finished_and_forgotten(tmp_path: Path) -> None:
    log = tmp_path / "gone.log"
    log.write_text("before delete\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path)) as p:
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 1)
            with open(log, "a") as f:
                log.unlink()
                f.write("written to the open, deleted file\n")
            await until(lambda: not p.inputs[0].files, what="the deleted file forgotten")  # type: ignore[attr-defined]
            assert messages(out) == ["before delete", "written to the open, deleted file"]
    run(scenario())


def test_ignore_older_leaves_stale_files_and_max_open_files_reads_in_turns(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "stale.log", tmp_path / "fresh.log"
    stale.write_text("stale\n")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    for i in range(3):
        (tmp_path / f"f{i}.log").write_text(f"f{i}\n")
    fresh.write_text("fresh\n")
    register_test_outputs()

    async def scenario() -> None:
        async with running(pipeline(tmp_path, ignore_older="1 hour", max_open_files=1, close_older=0.05)) as p:
            out = CaptureOutput.instances[0]
            await until(lambda: len(out.events) == 4, what="the fresh files, one handle at a time")
            assert sorted(messages(out)) == ["f0", "f1", "f2", "fresh"]
            assert sum(t.handle is not None for t in p.inputs[0].files.values()) <= 1  # type: ignore[attr-defined]
    run(scenario())
