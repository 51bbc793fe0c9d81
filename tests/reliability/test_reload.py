"""Scenario 10: the pipeline file changes and the cluster reloads on SIGHUP at full rate.

``logpipe run --workers 2`` receives HTTP traffic from several clients sending
as fast as they are answered. The file is rewritten (a filter adds
``config_version: 2``) and the supervisor gets SIGHUP: it starts the new
worker next to the old one on the shared port (SO_REUSEPORT), then drains the
old one. Clients never see a refused connection; requests that reach a
draining worker are answered 503 with Retry-After and sent again; every event
answered 2xx is in Elasticsearch once, stamped by whichever configuration
processed it, and events from after the reload carry the new stamp.
"""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from tests.reliability.clients import HttpSender
from tests.reliability.ledger import Ledger, scan_index
from tests.reliability.procs import Logpipe, RssSampler, free_port
from tests.reliability.waits import at_least, es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CLIENTS = 6


def cluster_pipeline(port: int, es_url: str, index: str, version: int) -> str:
    return f"""
settings: {{batch_size: 500, batch_delay_ms: 10, pipeline_workers: 2, shutdown_timeout: 20}}
inputs:
  - {{type: http, id: web, port: {port}}}
filters:
  - {{type: mutate, id: stamp, add_field: {{config_version: "{version}"}}}}
outputs:
  - {{type: elasticsearch, id: es, hosts: ["{es_url}"], index: {index}, timeout: 10,
     retry_initial_interval: 0.2, retry_max_interval: 1}}
"""


def test_reload_on_sighup_at_full_rate_loses_and_refuses_nothing(
        es_url: str, es_index: str, ledger: Ledger, logpipes: Any, record_ledger: Any) -> None:
    port = free_port()
    cluster: Logpipe = logpipes(cluster_pipeline(port, es_url, es_index, 1), workers=2,
                                metrics_port=free_port())

    async def scenario() -> None:
        import signal

        cluster.start()
        await until(lambda: _ready(cluster), timeout=90, what="both workers running")
        url = f"http://127.0.0.1:{port}/"
        stop = asyncio.Event()
        after_reload: set[int] = set()
        reloaded = asyncio.Event()

        async def client(sender: HttpSender) -> None:
            while not stop.is_set():
                batch = ledger.records(100)
                await sender.send(batch)
                ledger.mark_sent(r.seq for r in batch)
                if reloaded.is_set():
                    after_reload.update(r.seq for r in batch)

        with RssSampler(cluster) as rss:
            senders = [HttpSender(url) for _ in range(CLIENTS)]
            for s in senders:
                await s.__aenter__()
            try:
                tasks = [asyncio.create_task(client(s)) for s in senders]
                await until(lambda: at_least(es_count(es_url, es_index), 3000), timeout=90,
                            what="traffic at full rate")
                cluster.pipeline_file.write_text(cluster_pipeline(port, es_url, es_index, 2))
                cluster.signal(signal.SIGHUP)
                await until(lambda: _reloaded(cluster), timeout=120, what="reload complete")
                # Everything sent from here on was sent after both workers were replaced.
                reloaded.set()
                marks = len(ledger.sent)
                await until(lambda: len(ledger.sent) >= marks + 2000, timeout=90,
                            what="traffic after the reload")
                stop.set()
                await asyncio.wait_for(asyncio.gather(*tasks), 120)
            finally:
                for s in senders:
                    await s.__aexit__(None, None, None)
            stats = await cluster.status()
            assert cluster.terminate() == 0
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert stats["reloads"] == {"success": 1, "failure": 0}
        refused = sum(s.refused_connections for s in senders)
        dropped = sum(s.dropped_connections for s in senders)
        assert refused == 0, f"{refused} connections refused during the reload"
        # Events sent after the reload went through the new configuration only.
        stamped = await _versions(es_url, es_index, ledger, after_reload)
        assert stamped == {"2"}, stamped
        record_ledger(balance, peak_rss=rss.peak, refused_connections=refused,
                      dropped_connections=dropped,
                      answered_503=sum(s.statuses[503] for s in senders), workers=2)

    asyncio.run(scenario())


async def _ready(cluster: Logpipe) -> bool:
    try:
        stats = await cluster.status()
    except Exception:  # noqa: BLE001 - not listening yet
        return False
    return stats["workers_running"] == 2


async def _reloaded(cluster: Logpipe) -> bool:
    stats = await cluster.status()
    return (stats["reloads"]["success"] == 1 and not stats["draining"]
            and all(w["generation"] == 2 and w["state"] == "running" for w in stats["workers"]))


async def _versions(es_url: str, index: str, ledger: Ledger, keys: set[int]) -> set[str]:
    """The config_version values of the documents of ``keys``."""
    docs, _ = await scan_index(es_url, index, fields=["config_version"])
    return {str(orjson.loads(d.raw).get("config_version")) for d in docs if ledger.keys(d.raw) & keys}
