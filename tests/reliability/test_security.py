"""Security that fails closed.

- A canary password, given to logpipe only through the environment (as the
  Elasticsearch basic-auth password and in a Kafka security field that the
  plaintext DLQ connection never uses), sent by clients as a wrong bearer
  token and carried by events in ``password`` fields, must not appear in our
  logs (at debug level, with errors being logged), /metrics, /stats, the
  dead-letter topic or Elasticsearch.
- TLS on the HTTP input refuses clients whose certificate another CA signed,
  and plaintext clients. (The Beats input's refusals are tested in
  tests/integration/test_beats_input.py; not repeated here.)
- Outbound TLS verifies the server: the Elasticsearch output, the DLQ's Kafka
  producer and the Redis input do not finish a handshake with a server whose
  certificate they cannot verify.
- Index names built from event fields are checked: an event that would write
  to ``_all``, a wildcard, a hidden index or any invalid name goes to the
  dead-letter queue with ``invalid_index_name``.
"""
from __future__ import annotations

import asyncio
import ssl
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from logpipe.config import load_text
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import PluginContext
from logpipe.errors import DeliveryError
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from tests.integration.netinput_support import Certs
from tests.reliability.clients import HttpSender, as_document
from tests.reliability.conftest import _es_request
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.ledger import Ledger, read_topic, scan_index
from tests.reliability.procs import Logpipe, free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


# --- the canary ------------------------------------------------------------------------------
def test_a_canary_password_never_leaves_the_process(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        logpipes: Any, record_ledger: Any, tmp_path: Path) -> None:
    canary = f"cAnArY{uuid.uuid4().hex}"
    token = f"tok{uuid.uuid4().hex}"
    dlq_topic = make_topic(1, "dlq")
    host, _, es_port = es_url.removeprefix("http://").partition(":")
    port = free_port()
    metrics_port = free_port()

    async def scenario() -> None:
        status, body = await _es_request(es_url, "PUT", f"/{es_index}/_mapping",
                                         {"properties": {"db": {"type": "keyword"}}})
        assert status == 200, body
        async with FaultProxy(host, int(es_port or 9200)) as proxy:
            proxy.arm_reset(2, match=b"POST /_bulk")  # so retries and errors get logged too
            proc: Logpipe = logpipes(f"""
settings: {{batch_size: 200, batch_delay_ms: 10}}
inputs:
  - {{type: http, id: web, port: {port}, auth_token: "${{LOGPIPE_TEST_HTTP_TOKEN}}"}}
filters:
  - {{type: scrub, id: scrub, allow_random_key: true}}
outputs:
  - type: elasticsearch
    id: es
    hosts: ["{proxy.url}"]
    index: {es_index}
    user: logpipe
    password: "${{LOGPIPE_CANARY}}"
    retry_initial_interval: 0.1
    retry_max_interval: 0.5
    dead_letter_queue:
      bootstrap_servers: "{kafka_bootstrap}"
      topic: {dlq_topic}
      security_protocol: PLAINTEXT
      sasl_plain_username: logpipe
      sasl_plain_password: "${{LOGPIPE_CANARY}}"
      spill_path: "{tmp_path / 'spill.jsonl'}"
""", workers=1, metrics_port=metrics_port, log_level="debug",
                env={"LOGPIPE_CANARY": canary, "LOGPIPE_TEST_HTTP_TOKEN": token})
            proc.start()
            await proc.wait_message("listening for HTTP", timeout=60)
            url = f"http://127.0.0.1:{port}/"
            import aiohttp

            async with aiohttp.ClientSession() as s:  # the canary offered as a credential
                async with s.post(url, data=b'{"a": 1}', headers={"Authorization": f"Bearer {canary}"}) as resp:
                    assert resp.status == 401
            async with HttpSender(url, token=token) as sender:
                for _ in range(10):
                    batch = ledger.records(100)
                    for r in batch:
                        if r.doc is not None:
                            r.doc["password"] = canary
                            r.doc.setdefault("user", {})["password"] = canary
                        else:
                            r.doc = {"message": r.line, "http": {"request": {"password": canary}}}
                            r.line = None
                    await sender.send(batch)
                    ledger.mark_sent(r.seq for r in batch)
            metrics = await proc.status("/metrics")
            stats = orjson.dumps(await proc.status("/stats")).decode()
            assert proc.terminate() == 0
        dead = await read_topic(kafka_bootstrap, dlq_topic, ledger)
        balance = await ledger.check(es_url, es_index, dlq=(kafka_bootstrap, dlq_topic))
        balance.assert_balanced()
        assert balance.dead_lettered > 0  # the DLQ path was exercised
        assert proxy.stats.resets_after_forward == 2
        docs, _ = await scan_index(es_url, es_index, fields=["*"])
        places = {
            "our logs": proc.log_text(),
            "/metrics": metrics,
            "/stats": stats,
            "the dead-letter topic": b"".join(orjson.dumps(r.record) for r in dead).decode(),
            "Elasticsearch": b"".join(d.raw for d in docs).decode(),
        }
        # Debug logging ran, and so did the error paths (the resets were logged and retried).
        assert '"level":"debug"' in places["our logs"] and "retrying in" in places["our logs"]
        leaks = [where for where, text in places.items() if canary in text]
        assert not leaks, f"the canary leaked into {leaks}"
        assert token not in places["our logs"]
        record_ledger(balance, peak_rss=proc.peak_rss, canary_leaks=0)

    asyncio.run(scenario())


# --- TLS on the HTTP input -------------------------------------------------------------------
def test_http_tls_refuses_other_cas_and_plaintext(certs: Certs) -> None:
    from tests.integration.netinput_support import CaptureOutput, register_test_outputs

    register_test_outputs()

    async def scenario() -> None:
        import aiohttp

        spec = load_text(f"""
inputs: [{{type: http, id: web, port: 0, {certs.server_options("required")}}}]
outputs: [{{type: capture}}]
""")
        pipeline = Pipeline(spec)
        await pipeline.start()
        try:
            port = pipeline.inputs[0].bound_port  # type: ignore[attr-defined]
            url = f"https://localhost:{port}/"

            def client_ctx(cert: Path | None, key: Path | None) -> ssl.SSLContext:
                ctx = ssl.create_default_context(cafile=str(certs.ca))
                if cert is not None:
                    ctx.load_cert_chain(str(cert), str(key))
                return ctx

            results: dict[str, Any] = {}
            for name, ctx in [("good", client_ctx(certs.client_cert, certs.client_key)),
                              ("rogue", client_ctx(certs.rogue_cert, certs.rogue_key)),
                              ("none", client_ctx(None, None))]:
                try:
                    async with aiohttp.ClientSession() as s:
                        async with s.post(url, json={"who": name}, ssl=ctx) as r:
                            results[name] = r.status
                except (aiohttp.ClientError, ssl.SSLError, OSError) as exc:
                    results[name] = type(exc).__name__
            # Plaintext HTTP to the TLS port: no HTTP answer, nothing accepted.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n{\"who\": \"plain\"}\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(1024), 10)
            writer.close()
            assert not answer.startswith(b"HTTP/1.1 2"), answer
            assert results["good"] == 200
            assert results["rogue"] != 200 and results["none"] != 200, results
            assert [e.get("who") for e in CaptureOutput.instances[0].events] == ["good"]
        finally:
            await pipeline.shutdown(10)

    asyncio.run(scenario())


# --- outbound TLS ---------------------------------------------------------------------------
class TlsServer:
    """Counts connections whose TLS handshake completed; answers like a tiny Elasticsearch."""

    def __init__(self, certs: Certs) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.handshakes = 0
        self.port = 0

    async def __aenter__(self) -> TlsServer:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.handshakes += 1
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                items = [{"create": {"status": 201}} for line in body.splitlines()[::2] if line]
                payload = orjson.dumps({"errors": False, "items": items})
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"X-Elastic-Product: Elasticsearch\r\nContent-Length: "
                             + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                await writer.drain()
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def test_outbound_tls_does_not_talk_to_servers_it_cannot_verify(certs: Certs, tmp_path: Path) -> None:
    async def es_delivers(server: TlsServer, **tls: Any) -> bool:
        cfg = ElasticsearchOutput.Config.model_validate({
            "hosts": [f"https://localhost:{server.port}"], "index": "x", "max_retries": 0,
            "retry_initial_interval": 0.05, "retry_max_interval": 0.05, **tls})
        out = ElasticsearchOutput(cfg, id=f"es-{uuid.uuid4().hex[:6]}", context=PluginContext())
        await out.start()
        try:
            await out.send([Event({"message": "hello"})])
            return True
        except DeliveryError:
            return False
        finally:
            await out.stop()

    async def kafka_handshakes(server: TlsServer, cafile: Path) -> None:
        from logpipe.dlq import DeadLetterQueueConfig, DeadLetterWriter

        cfg = DeadLetterQueueConfig.model_validate({
            "bootstrap_servers": f"localhost:{server.port}", "topic": "dlq", "security_protocol": "SSL",
            "ssl_cafile": str(cafile), "send_timeout": 3,
            "spill_path": str(tmp_path / f"spill-{uuid.uuid4().hex[:6]}.jsonl")})
        writer = DeadLetterWriter(cfg, owner_id="tls-check")
        await writer.start()  # not reaching Kafka is not an error for the writer: it spills
        await writer.stop()

    async def redis_handshakes(server: TlsServer, ca: Path) -> None:
        from logpipe.inputs.redis.config import RedisInputConfig
        from logpipe.inputs.redis.connection import make_client

        cfg = RedisInputConfig.model_validate({
            "host": "localhost", "port": server.port, "key": "k", "data_type": "list", "ssl": True,
            "ssl_ca_certs": str(ca), "connect_timeout": 3})
        client = make_client(cfg)
        try:
            await asyncio.wait_for(client.ping(), 5)
        except Exception:  # noqa: BLE001 - whatever the protocol says after the handshake
            pass
        finally:
            await client.aclose()

    async def scenario() -> dict[str, tuple[bool | int, bool | int]]:
        out: dict[str, tuple[bool | int, bool | int]] = {}
        async with TlsServer(certs) as server:
            # Elasticsearch: no CA given (system store) and another CA: refused; the right CA: delivered.
            wrong = (await es_delivers(server), await es_delivers(
                server, ssl_certificate_authorities=[str(certs.other_ca)]))
            refused_handshakes = server.handshakes
            right = await es_delivers(server, ssl_certificate_authorities=[str(certs.ca)])
            out["elasticsearch"] = (wrong == (False, False) and refused_handshakes == 0, right)
        for name, attempt in (("kafka", kafka_handshakes), ("redis", redis_handshakes)):
            async with TlsServer(certs) as server:
                await attempt(server, certs.other_ca)
                refused = server.handshakes
                await attempt(server, certs.ca)
                out[name] = (refused == 0, server.handshakes > 0)
        return out

    results = asyncio.run(scenario())
    for name, (refused_wrong_ca, accepted_right_ca) in results.items():
        assert refused_wrong_ca, f"{name} completed a TLS handshake with an unverified server"
        assert accepted_right_ca, f"{name} did not connect with the right CA (the check proves nothing)"


# --- index names from event fields -----------------------------------------------------------
def bad_tenants(run_id: str) -> list[str]:
    """Names an event must not choose; the hidden one is per run so it can be cleaned up."""
    return ["_all", "*", f".hidden-{run_id}", "Acme", "a,b", "x" * 300, "..", "-x", "a b", "a#b"]


def _index_name_pipeline(es_url: str, kafka_bootstrap: str, dlq_topic: str, spill: Path, output: str) -> str:
    return f"""
settings: {{batch_size: 100, batch_delay_ms: 5}}
inputs: [{{type: http, id: web, port: 0}}]
outputs:
  - type: {output}
    id: es
    hosts: ["{es_url}"]
    index: "%{{[tenant]}}"
    dead_letter_queue: {{bootstrap_servers: "{kafka_bootstrap}", topic: {dlq_topic}, spill_path: "{spill}"}}
"""


async def _index_name_run(es_url: str, kafka_bootstrap: str, dlq_topic: str, spill: Path, output: str,
                          ledger: Ledger, good_index: str) -> Any:
    pipeline = Pipeline(load_text(_index_name_pipeline(es_url, kafka_bootstrap, dlq_topic, spill, output)))
    await pipeline.start()
    try:
        url = f"http://127.0.0.1:{pipeline.inputs[0].bound_port}/"  # type: ignore[attr-defined]
        records = ledger.records(60)
        bad = bad_tenants(ledger.run_id)
        body = b""
        for n, r in enumerate(records):
            doc = as_document(r)
            doc["tenant"] = good_index if n % 2 == 0 else bad[(n // 2) % len(bad)]
            body += orjson.dumps(doc) + b"\n"
        import aiohttp

        async with aiohttp.ClientSession() as s:
            async with s.post(url, data=body, headers={"Content-Type": "application/x-ndjson"}) as resp:
                assert resp.status == 200, await resp.text()
        ledger.mark_sent(r.seq for r in records)
    finally:
        await pipeline.shutdown(10)
        await _es_request(es_url, "DELETE", f"/.hidden-{ledger.run_id}?ignore_unavailable=true")
    return await ledger.check(es_url, good_index, dlq=(kafka_bootstrap, dlq_topic),
                              dlq_reasons={"invalid_index_name"})


def test_index_names_from_event_fields_are_checked_before_writing(
        es_url: str, kafka_bootstrap: str, es_index: str, make_topic: Any, ledger: Ledger,
        record_ledger: Any, tmp_path: Path) -> None:
    """30 good events indexed, 30 dead-lettered with ``invalid_index_name`` (none of them
    written anywhere: the hidden index is not created)."""
    dlq_topic = make_topic(1, "dlq")
    balance = asyncio.run(_index_name_run(es_url, kafka_bootstrap, dlq_topic, tmp_path / "spill.jsonl",
                                          "elasticsearch", ledger, es_index))
    balance.assert_balanced()
    assert (balance.indexed, balance.dead_lettered) == (30, 30)
    assert balance.reasons == {"invalid_index_name": 30}
    assert not balance.misplaced
    record_ledger(balance, hook="the elasticsearch output")
