"""Checking a changed pipeline file and freezing accepted versions."""
from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from logpipe.config.loader import load_file
from logpipe.errors import ConfigError
from logpipe.runtime.reload import ConfigStore, run_reloadable

GOOD = "inputs: [{type: generator, count: 3}]\noutputs: [{type: file, path: '%s'}]\n"


def test_generations_freeze_the_text_and_keep_the_name(tmp_path: Path) -> None:
    source = tmp_path / "graphmemory.yaml"
    source.write_text(GOOD % (tmp_path / "a"))
    store = ConfigStore(source, count=2, rundir=tmp_path / "run")
    first = store.load()
    source.write_text(GOOD % (tmp_path / "b"))
    second = store.load()
    assert (first.number, second.number) == (1, 2)
    assert first.path.name == "graphmemory.yaml" and first.path != second.path
    assert load_file(first.path).name == "graphmemory"
    assert str(tmp_path / "a") in first.path.read_text()
    assert store.current is second


def test_a_broken_file_is_refused_and_the_current_generation_stays(tmp_path: Path) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(GOOD % (tmp_path / "a"))
    store = ConfigStore(source, count=1, rundir=tmp_path / "run")
    current = store.load()
    source.write_text("inputs: [{type: nosuchinput}]\n")
    with pytest.raises(ConfigError) as err:
        store.load()
    assert "nosuchinput" in str(err.value) and "p.yaml:1" in str(err.value)
    assert store.current is current and store.generation == 1


def test_worker_variables_are_defined_when_checking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_WORKER_INDEX", raising=False)
    source = tmp_path / "p.yaml"
    source.write_text(GOOD % (tmp_path / "out-${LOGPIPE_WORKER_INDEX}"))
    _, spec = ConfigStore(source, count=4, rundir=tmp_path / "run").check()
    assert spec.outputs[0].config.path.endswith("out-0")  # type: ignore[attr-defined]


def test_cleanup_removes_only_its_own_directory(tmp_path: Path) -> None:
    source = tmp_path / "p.yaml"
    source.write_text(GOOD % (tmp_path / "a"))
    own = ConfigStore(source, count=1)
    own.load()
    own.cleanup()
    assert not own.rundir.exists()
    given = ConfigStore(source, count=1, rundir=tmp_path / "keep")
    given.load()
    given.cleanup()
    assert (tmp_path / "keep").exists()


@pytest.mark.usefixtures("restore_signals")
def test_single_process_sighup_swaps_in_the_new_pipeline(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """One process: SIGHUP with a broken file is ignored, with a good one the new pipeline runs."""
    source = tmp_path / "p.yaml"
    endless = "inputs: [{type: generator, count: 0, rate: 0.001, batch: 5}]\noutputs: [{type: file, path: '%s'}]\n"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    source.write_text(endless % first)

    async def scenario() -> bool:
        task = asyncio.create_task(run_reloadable(source, load_file(source)))
        await until(lambda: first.exists() and len(first.read_text().splitlines()) == 5)
        source.write_text("inputs: [")
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: "reload refused" in caplog.text)
        assert not task.done()
        source.write_text(GOOD % second)
        os.kill(os.getpid(), signal.SIGHUP)
        return await asyncio.wait_for(task, 20)

    assert asyncio.run(scenario()) is True
    assert len(first.read_text().splitlines()) == 5
    assert len(second.read_text().splitlines()) == 3


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
