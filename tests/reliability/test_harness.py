"""The tools of the suite, tested first: a ledger that cannot see a loss proves nothing,
and neither does a fault proxy whose faults do not happen."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from tests.reliability.faultproxy import FaultProxy
from tests.reliability.ledger import Ledger, scan_index

pytestmark = pytest.mark.timeout(120)


# --- the fault proxy ------------------------------------------------------------------------
class Upstream:
    """A line server: answers each line with ``ok <line>`` and remembers what it got."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.port = 0

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                self.received.append(line.strip())
                writer.write(b"ok " + line)
                await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()


async def _roundtrip(port: int, line: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(line + b"\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()


def test_fault_proxy_modes_switch_while_running() -> None:
    async def scenario() -> None:
        up = Upstream()
        await up.start()
        async with FaultProxy("127.0.0.1", up.port) as proxy:
            assert await _roundtrip(proxy.port, b"a") == b"ok a\n"

            proxy.set("refuse")
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError, OSError)):
                answer = await _roundtrip(proxy.port, b"b")
                assert answer == b""  # an empty read is a reset seen late
                raise ConnectionResetError
            assert proxy.stats.refused == 1

            proxy.set("blackhole")
            with pytest.raises(TimeoutError):
                await _roundtrip(proxy.port, b"c", timeout=0.5)
            assert b"c" not in up.received and proxy.stats.blackholed_bytes > 0

            proxy.arm_reset(1, match=b"d")
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError, OSError)):
                answer = await _roundtrip(proxy.port, b"d")
                assert answer == b""
                raise ConnectionResetError
            assert b"d" in up.received  # the server did the work; the client never heard
            assert proxy.stats.resets_after_forward == 1
            assert proxy.mode == "pass"
            assert await _roundtrip(proxy.port, b"e") == b"ok e\n"

            proxy.set("pass", delay=0.05, bandwidth=50_000)
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            payload = b"x" * 20_000
            loop = asyncio.get_running_loop()
            started = loop.time()
            writer.write(payload + b"\n")
            assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"ok xxx")
            # 20 kB up and back at 50 kB/s cannot take less than 0.8 s (a lower bound, not a speed test)
            assert loop.time() - started >= 0.8
            writer.close()
        await up.stop()

    asyncio.run(scenario())


# --- the ledger ------------------------------------------------------------------------------
async def _bulk(es_url: str, index: str, docs: list[tuple[str, dict[str, Any]]]) -> None:
    import aiohttp

    body = b"".join(orjson.dumps({"index": {"_index": index, "_id": i}}) + b"\n" + orjson.dumps(d) + b"\n"
                    for i, d in docs)
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{es_url}/_bulk?refresh=true", data=body,
                          headers={"content-type": "application/x-ndjson"}) as r:
            result = await r.json()
            assert r.status == 200 and not result["errors"], result


def test_the_ledger_sees_losses_duplicates_and_misplaced_events(es_url: str, kafka_bootstrap: str,
                                                               es_index: str, make_topic: Any,
                                                               ledger: Ledger) -> None:
    topic = make_topic(1, "dlq")

    async def scenario() -> None:
        from aiokafka import AIOKafkaProducer

        records = ledger.records(40)
        ledger.mark_sent(r.seq for r in records)
        seqs = [r.seq for r in records]
        # In Elasticsearch: all but 3..5 (lost) and 30..39 (dead-lettered); 7 twice; 9 under a wrong id.
        docs = [(f"id-{r.seq}", r.as_object()) for r in records if r.seq not in (3, 4, 5) and r.seq < 30]
        docs.append(("id-7-again", records[7].as_object()))
        ledger.expected_ids = {s: f"id-{s}" for s in seqs}
        docs = [(("elsewhere" if i == "id-9" else i), d) for i, d in docs]
        await _bulk(es_url, es_index, docs)
        # In the DLQ: 30..39, and 12 (which is also indexed).
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for r in records[30:] + [records[12]]:
                await producer.send_and_wait(topic, orjson.dumps({"event": r.as_object(), "error": {
                    "type": "mapper_parsing_exception", "reason": "bad", "status": 400}}))
        finally:
            await producer.stop()
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, topic))
        assert balance.lost == [3, 4, 5]
        assert balance.duplicates == [7]
        assert any("9 indexed as elsewhere" in m for m in balance.misplaced)
        assert any("12 both indexed and dead-lettered" in m for m in balance.misplaced)
        assert balance.dead_lettered == 10 and balance.reasons == {"mapper_parsing_exception": 11}
        assert balance.es_documents == balance.es_count == 28  # 27 distinct, 7 twice
        with pytest.raises(AssertionError, match="3 lost"):
            balance.assert_balanced()

        # A document nobody sent, and one with no key at all, are misplaced too.
        await _bulk(es_url, es_index, [("stranger", {"message": f"x {ledger.run_id}-999999"}),
                                       ("keyless", {"message": "no key here"})])
        balance = await ledger.check(es_url, es_index)
        assert any("999999 was never sent" in m for m in balance.misplaced)
        assert any("keyless" in m for m in balance.misplaced)

    asyncio.run(scenario())


def test_the_scan_pages_through_more_documents_than_one_page(es_url: str, es_index: str,
                                                             ledger: Ledger) -> None:
    async def scenario() -> None:
        records = ledger.records(1200)
        ledger.mark_sent(r.seq for r in records)
        await _bulk(es_url, es_index, [(str(r.seq), r.as_object()) for r in records])
        docs, count = await scan_index(es_url, es_index, page=500)
        assert count == len(docs) == 1200
        balance = ledger.balance(docs, count, [])
        balance.assert_balanced()
        assert balance.indexed == 1200

    asyncio.run(scenario())
