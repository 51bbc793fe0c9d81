"""A pipeline hop keeps the end-to-end acknowledgement: Kafka -> pipeline A -> pipeline B ->
Elasticsearch, run by ``logpipe run`` from a pipelines.yml in its working directory.

Pipeline ``intake`` reads a fresh topic and sends everything to the address ``indexer``;
pipeline ``indexer`` writes to a fresh index through the fault proxy. While the proxy
black-holes Elasticsearch, ``indexer`` has received events from ``intake`` (Logstash
would have acknowledged them there), yet the group's committed offsets stay where they
were: nothing is committed past an event that ``indexer`` has not delivered. Released,
every record arrives exactly once and the offsets catch up.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.streaming_support import committed_offsets, end_offsets, offsets_caught_up
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.kafka_tools import coordinates_ids, produce
from tests.reliability.ledger import Ledger
from tests.reliability.procs import Logpipe, free_port
from tests.reliability.waits import es_count, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PARTITIONS = 2
FIRST = 200
SECOND = 400


class PipelinesYmlLogpipe(Logpipe):
    """``logpipe run`` naming no pipeline: it reads pipelines.yml from its working directory."""

    def start(self) -> None:
        cmd = [sys.executable, "-m", "logpipe", "run", "--workers", str(self.workers),
               "--log-format", "json", "--log-level", self.log_level,
               "--metrics-port", str(self.metrics_port)]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)
        self.starts += 1


def write_pipelines(proc: Logpipe, *, bootstrap: str, topic: str, group: str, es: str,
                    index: str) -> None:
    (proc.dir / "pipelines.yml").write_text(f"""
- pipeline.id: intake
  path.config: intake.yaml
  pipeline.workers: 2
  pipeline.batch.size: 100
  pipeline.batch.delay: 10
- pipeline.id: indexer
  path.config: indexer.conf
  pipeline.workers: 1
  pipeline.batch.size: 100
  pipeline.batch.delay: 10
  queue.type: memory
  dead_letter_queue.enable: true
""")
    (proc.dir / "intake.yaml").write_text(f"""
inputs:
  - {{type: kafka, bootstrap_servers: "{bootstrap}", topics: ["{topic}"], group_id: "{group}",
     auto_offset_reset: earliest, codec: json, commit_interval_ms: 200}}
outputs:
  - {{type: pipeline, send_to: [indexer]}}
""")
    (proc.dir / "indexer.conf").write_text(f"""
input {{ pipeline {{ address => "indexer" }} }}
output {{
  elasticsearch {{ id => "es" hosts => ["{es}"] index => "{index}" timeout => 5
                  retry_initial_interval => 0.5 retry_max_interval => 2 }}
}}
""")


def plugin(stats: dict[str, Any], pipeline: str, plugin_id: str) -> dict[str, Any]:
    return next(p for p in stats["totals"]["plugins"]
                if p.get("pipeline") == pipeline and p["id"] == plugin_id)


def test_offsets_wait_for_the_downstream_pipeline_to_deliver(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        tmp_path: Path) -> None:
    topic = make_topic(PARTITIONS)
    group = f"{ledger.run_id}-group"
    host, _, es_port = es_url.removeprefix("http://").partition(":")

    async def scenario() -> None:
        async with FaultProxy(host, int(es_port or 9200)) as proxy:
            proc = PipelinesYmlLogpipe(tmp_path / "hop", "", name="hop", metrics_port=free_port())
            write_pipelines(proc, bootstrap=kafka_bootstrap, topic=topic, group=group,
                            es=proxy.url, index=es_index)
            proc.start()
            try:
                await proc.wait_message("partitions assigned", timeout=60)
                first = await produce(kafka_bootstrap, topic, ledger.records(FIRST),
                                      partitions=PARTITIONS)
                ends_first = await end_offsets(kafka_bootstrap, topic, PARTITIONS)
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends_first),
                            timeout=90, what="the first records delivered and committed")
                assert await es_count(es_url, es_index) == FIRST

                proxy.set("blackhole")
                second = await produce(kafka_bootstrap, topic, ledger.records(SECOND),
                                       partitions=PARTITIONS)
                # indexer has taken events of the second lot from intake: Logstash's hop would
                # have acknowledged them (and Kafka committed them) by now.
                await until(lambda: _indexer_took(proc, FIRST + 100), timeout=60,
                            what="indexer receiving the second lot")
                stats = await proc.status()
                assert plugin(stats, "intake", "pipeline_out_1")["events_out"] <= FIRST
                # Watch the group for 20 commit intervals: it never commits past the first lot.
                for _ in range(20):
                    assert await committed_offsets(kafka_bootstrap, group) == ends_first
                    await asyncio.sleep(0.2)
                assert await es_count(es_url, es_index) == FIRST

                proxy.set("pass")
                ends = await end_offsets(kafka_bootstrap, topic, PARTITIONS)
                await until(lambda: offsets_caught_up(kafka_bootstrap, group, ends), timeout=120,
                            what="every record delivered and committed")
                assert proc.terminate() == 0
            finally:
                proc.cleanup()
        assert proxy.stats.blackholed_bytes > 0
        where = {**first, **second}
        ledger.mark_sent(where.keys())
        ledger.expected_ids = coordinates_ids(topic, where)
        balance = await ledger.check(es_url, es_index)
        balance.assert_balanced()
        assert balance.summary()["indexed"] == FIRST + SECOND
        assert balance.summary()["duplicates"] == 0

    asyncio.run(scenario())


async def _indexer_took(proc: Logpipe, count: int) -> bool:
    try:
        stats = await proc.status()
        return bool(plugin(stats, "indexer", "pipeline_in_1")["events_out"] >= count)
    except (StopIteration, KeyError, OSError):
        return False
