"""``logpipe run`` with a pipelines.yml: worker processes each run every pipeline, the
metrics say which pipeline a plugin belongs to, and SIGHUP reloads the whole set (a bad
edit is refused and the running set stays).

No server is needed: a generator feeds ``intake``, which hands everything to ``store``
over a pipeline address; ``store`` stamps a version and writes one file per worker.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.procs import free_port
from tests.reliability.waits import until

pytestmark = pytest.mark.timeout(180)

STORE = """
input {{ pipeline {{ address => "store" }} }}
filter {{ mutate {{ add_field => {{ "config_version" => "{version}" }} }} }}
output {{ file {{ path => "{out}/store-${{LOGPIPE_WORKER_INDEX}}.jsonl" }} }}
"""


def lines(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("store-*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return out


async def stats(port: int) -> dict[str, Any]:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/stats", timeout=aiohttp.ClientTimeout(total=5)) as r:
            result: dict[str, Any] = await r.json()
            return result


async def metrics(port: int) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
            return await r.text()


def test_two_workers_run_every_pipeline_and_sighup_reloads_them_all(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "pipelines.yml").write_text("""
- pipeline.id: intake
  config.string: |
    input { generator { id => "gen" count => 0 rate => 200 } }
    output { pipeline { id => "hop" send_to => ["store"] } }
  pipeline.workers: 1
  pipeline.batch.size: 20
- pipeline.id: store
  path.config: store.conf
  pipeline.batch.size: 20
""")
    (tmp_path / "store.conf").write_text(STORE.format(version=1, out=out))
    port = free_port()
    log = (tmp_path / "logpipe.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--workers", "2",
                             "--metrics-port", str(port), "--log-format", "json"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)

    async def generation(n: int) -> bool:
        try:
            doc = await stats(port)
        except OSError:
            return False
        return bool(doc["generation"] == n and doc["workers_running"] == 2
                    and all(w["generation"] == n for w in doc["workers"]))

    async def scenario() -> None:
        await until(lambda: generation(1), timeout=60, what="two workers running")
        await until(lambda: len({p.name for p in out.glob("store-*.jsonl")}) == 2
                    and len(lines(out)) >= 100, timeout=60, what="both workers writing")
        text = await metrics(port)
        assert 'logpipe_events_out_total{id="gen",kind="input",pipeline="intake",type="generator"}' in text
        assert 'logpipe_events_out_total{id="pipeline_in_1",kind="input",pipeline="store",type="pipeline"}' in text
        await until(lambda: _hop_sent(port), timeout=30, what="intake's pipeline output counted")

        # A broken edit is refused; the running set stays.
        (tmp_path / "store.conf").write_text("input { pipeline { address => 'store' } ")
        proc.send_signal(signal.SIGHUP)
        await until(lambda: _reloads(port, "failure", 1), timeout=30, what="the bad reload refused")
        assert await generation(1)

        (tmp_path / "store.conf").write_text(STORE.format(version=2, out=out))
        proc.send_signal(signal.SIGHUP)
        await until(lambda: generation(2), timeout=60, what="both workers on generation 2")
        before = len(lines(out))
        await until(lambda: len(lines(out)) > before + 50, timeout=30, what="events after the reload")
        versions = [d["config_version"] for d in lines(out)]
        assert set(versions) == {"1", "2"}
        assert versions.count("2") > 0

    try:
        asyncio.run(scenario())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


async def _reloads(port: int, result: str, count: int) -> bool:
    try:
        return bool((await stats(port))["reloads"][result] >= count)
    except OSError:
        return False


async def _hop_sent(port: int) -> bool:
    """intake's `hop` output has completed sends: store settled what it was given."""
    doc = await stats(port)
    hop = next(p for p in doc["totals"]["plugins"] if p.get("pipeline") == "intake"
               and p["id"] == "hop")
    return bool(hop["events_out"] > 0)
