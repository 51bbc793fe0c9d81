"""The http input with real clients (curl, httpx): every body format, every refusal,
answers sent only after delivery, backpressure as 429, shutdown as 503."""
from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import ssl
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from .netinput_support import CaptureOutput, Certs, GateOutput, register_test_outputs, run, running, until


@pytest.fixture(autouse=True)
def _outputs() -> None:
    register_test_outputs()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


def http_yaml(outputs: str, settings: str = "", extra: str = "", **options: Any) -> str:
    opts = "".join(f", {k}: {v}" for k, v in options.items()) + (f", {extra}" if extra else "")
    return f"""
settings: {{batch_delay_ms: 2{", " + settings if settings else ""}}}
inputs: [{{type: http, id: web, port: 0{opts}}}]
outputs: [{outputs}]
"""


async def curl(*args: str) -> tuple[int, dict[str, str], Any]:
    """Run curl; return status, lower-cased headers and the JSON body."""
    proc = await asyncio.create_subprocess_exec("curl", "-s", "-i", "--max-time", "20", *args,
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    head, _, body = out.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- body formats ----------------------------------------------------------------------
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_every_body_format_with_curl(loop: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    gz = tmp_path / "body.ndjson.gz"
    gz.write_bytes(gzip.compress(b'{"fmt": "gzip", "i": 0}\n{"fmt": "gzip", "i": 1}\n'))

    async def scenario() -> None:
        async with running(http_yaml(f"{{type: file, path: '{out}'}}")) as p:
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/ingest"
            cases = [
                (["-H", "Content-Type: application/json", "-d", '{"fmt": "object", "i": 0}'], 1),
                (["-H", "Content-Type: application/json", "-d",
                  '[{"fmt": "array", "i": 0}, {"fmt": "array", "i": 1}]'], 2),
                (["-H", "Content-Type: application/x-ndjson", "--data-binary",
                  '{"fmt": "ndjson", "i": 0}\n\n{"fmt": "ndjson", "i": 1}\r\n'], 2),
                (["-H", "Content-Type: application/jsonlines", "--data-binary", '{"fmt": "jsonlines", "i": 0}\n'], 1),
                # NDJSON sent as application/json, as many shippers do.
                (["-H", "Content-Type: application/json", "--data-binary",
                  '{"fmt": "ndjson-as-json", "i": 0}\n{"fmt": "ndjson-as-json", "i": 1}\n'], 2),
                (["-H", "Content-Type: text/plain", "--data-binary", "first line\nsecond line\n"], 2),
                (["-H", "Content-Type: application/x-ndjson", "-H", "Content-Encoding: gzip",
                  "--data-binary", f"@{gz}"], 2),
                # curl -d defaults to a form content type: the body is sniffed.
                (["-d", '{"fmt": "sniffed", "i": 0}'], 1),
            ]
            for args, accepted in cases:
                status, _, body = await curl(url, *args)
                assert (status, body) == (200, {"accepted": accepted}), args

    run(scenario(), loop)
    rows = read_jsonl(out)
    by_fmt: dict[str, list[int]] = {}
    for r in rows:
        by_fmt.setdefault(r.get("fmt", "lines"), []).append(r.get("i", -1))
    assert by_fmt == {"object": [0], "array": [0, 1], "ndjson": [0, 1], "jsonlines": [0],
                      "ndjson-as-json": [0, 1], "lines": [-1, -1], "gzip": [0, 1], "sniffed": [0]}
    assert [r["message"] for r in rows if "message" in r] == ["first line", "second line"]
    assert all(r["@timestamp"].endswith("Z") for r in rows)


def test_httpx_compression_codecs_and_request_metadata() -> None:
    async def scenario() -> None:
        yaml = http_yaml("{type: capture}", metadata_headers="[X-Request-Id, User-Agent, Authorization]",
                         auth_token="s3cret")
        async with running(yaml) as p:
            base = f"http://127.0.0.1:{p.inputs[0].bound_port}"
            auth = {"Authorization": "Bearer s3cret"}
            ndjson = b'{"n": 1}\n{"n": 2}\n'
            async with httpx.AsyncClient(base_url=base, headers=auth) as client:
                r = await client.post("/a", content=zlib.compress(ndjson), headers={
                    "Content-Type": "application/x-ndjson", "Content-Encoding": "deflate", "X-Request-Id": "r-1"})
                assert r.json() == {"accepted": 2}
                raw = zlib.compressobj(wbits=-15)
                r = await client.post("/b", content=raw.compress(ndjson) + raw.flush(), headers={
                    "Content-Type": "application/x-ndjson", "Content-Encoding": "deflate"})
                assert r.json() == {"accepted": 2}
                # Two gzip members back to back are one body.
                r = await client.post("/c", content=gzip.compress(b'{"n": 1}\n') + gzip.compress(b'{"n": 2}\n'),
                                      headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
                assert r.json() == {"accepted": 2}
                r = await client.put("/d", json={"n": 5, "@timestamp": "2024-01-02T03:04:05Z",
                                                  "@metadata": {"route": "x"}})
                assert r.status_code == 200
                r = await client.post("/e", content=b"x", headers={"Content-Encoding": "br"})
                assert r.status_code == 415
            events = CaptureOutput.instances[0].events
            assert [e.get("n") for e in events] == [1, 2, 1, 2, 1, 2, 5]
            first = events[0].get("[@metadata][http]")
            assert first["remote_address"] == "127.0.0.1"
            assert (first["method"], first["path"]) == ("POST", "/a")
            assert first["headers"]["x-request-id"] == "r-1"
            assert first["headers"]["user-agent"].startswith("python-httpx")
            assert "authorization" not in first["headers"]  # never copied, even when listed
            last = events[-1]
            assert last.get("[@metadata][http][method]") == "PUT"
            assert last.get("[@metadata][route]") == "x"
            assert last.get("[@metadata][input][type]") == "http"
            assert last.data["@timestamp"].isoformat() == "2024-01-02T03:04:05+00:00"

    run(scenario())


def test_forced_codec_overrides_content_type() -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: capture}", codec="lines")) as p:
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            async with httpx.AsyncClient() as client:
                r = await client.post(url, content=b'{"a": 1}\nplain \xff line\n',
                                      headers={"Content-Type": "application/json"})
            assert r.json() == {"accepted": 2}
            first, second = CaptureOutput.instances[0].events
            assert first.get("message") == '{"a": 1}'
            assert second.get("message") == "plain \ufffd line" and second.has_tag("_utf8error")

    run(scenario())


def test_ten_thousand_ndjson_lines_in_one_request(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    body = tmp_path / "bulk.ndjson"
    body.write_text("".join(f'{{"n": {i}, "message": "line {i}"}}\n' for i in range(10_000)))

    async def scenario() -> None:
        async with running(http_yaml(f"{{type: file, path: '{out}'}}")) as p:
            status, _, reply = await curl(f"http://127.0.0.1:{p.inputs[0].bound_port}/bulk",
                                          "-H", "Content-Type: application/x-ndjson", "--data-binary", f"@{body}")
            assert (status, reply) == (200, {"accepted": 10_000})

    run(scenario())
    assert sorted(r["n"] for r in read_jsonl(out)) == list(range(10_000))


# --- refusals ----------------------------------------------------------------------------
def test_malformed_json_gets_400_saying_what_and_where() -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: capture}")) as p:
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            status, _, body = await curl(url, "-H", "Content-Type: application/json", "-d", '{"a": 1,, "b": 2}')
            assert status == 400
            (detail,) = body["details"]
            assert detail["line"] == 1 and detail["column"] == 9 and "unexpected character" in detail["error"]
            status, _, body = await curl(url, "-H", "Content-Type: application/x-ndjson", "--data-binary",
                                         '{"ok": 1}\n{"broken": \n[1, 2]\n{"ok": 2}\n')
            assert status == 400 and body["failed"] == 2
            assert [(d["line"], d["error"]) for d in body["details"]] == [
                (2, "unexpected end of data"), (3, "expected a JSON object, got an array")]
            status, _, body = await curl(url, "-H", "Content-Type: application/json", "-d", '[{"a": 1}, "x"]')
            assert status == 400 and body["details"] == [{"index": 1, "error": "expected a JSON object, got a string"}]
            assert CaptureOutput.instances[0].events == []  # nothing of a refused body goes through

    run(scenario())


def test_ndjson_partial_lets_good_lines_through() -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: capture}", ndjson_partial="true")) as p:
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            status, _, body = await curl(url, "-H", "Content-Type: application/x-ndjson", "--data-binary",
                                         '{"n": 1}\nnot json\n{"n": 2}\n')
            assert status == 200
            assert body["accepted"] == 2 and body["failed"] == 1 and body["details"][0]["line"] == 2
            assert [e.get("n") for e in CaptureOutput.instances[0].events] == [1, 2]
            status, _, body = await curl(url, "-H", "Content-Type: application/x-ndjson", "--data-binary", "nope\n")
            assert status == 400  # nothing good at all

    run(scenario())


def test_authentication(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with running(http_yaml("{type: capture}", auth_token="tok-123", user="ship",
                                     password="'pa:ss'")) as p:
            base = f"http://127.0.0.1:{p.inputs[0].bound_port}"
            basic = "Basic " + base64.b64encode(b"ship:pa:ss").decode()
            async with httpx.AsyncClient(base_url=base) as client:
                for headers, expected in [({}, 401), ({"Authorization": "Bearer nope"}, 401),
                                          ({"Authorization": "Bearer tok-123"}, 200),
                                          ({"Authorization": "Basic " + base64.b64encode(b"ship:x").decode()}, 401),
                                          ({"Authorization": "Basic !!!"}, 401),
                                          ({"Authorization": basic}, 200)]:
                    r = await client.post("/", json={"a": 1}, headers=headers)
                    assert r.status_code == expected, headers
                    if expected == 401:
                        assert r.headers["WWW-Authenticate"].startswith("Basic")
                assert (await client.get("/health")).status_code == 200  # probes need no credentials
            status, _, _ = await curl(base, "-u", "ship:pa:ss", "-d", '{"a": 2}')
            assert status == 200
            assert len(CaptureOutput.instances[0].events) == 3

    run(scenario())
    assert "tok-123" not in caplog.text and "pa:ss" not in caplog.text


def test_body_limits_give_413() -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: capture}", max_body_bytes=2000, max_decompressed_bytes=5000)) as p:
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            async with httpx.AsyncClient() as client:
                r = await client.post(url, content=b'{"a": "' + b"x" * 3000 + b'"}')
                assert r.status_code == 413 and "max_body_bytes" in r.json()["error"]

                async def chunked() -> Any:  # no Content-Length: the limit applies while reading
                    for _ in range(20):
                        yield b"x" * 200

                r = await client.post(url, content=chunked())
                assert r.status_code == 413
                bomb = gzip.compress(b"\n" * 1_000_000)
                assert len(bomb) < 2000
                r = await client.post(url, content=bomb, headers={"Content-Encoding": "gzip"})
                assert r.status_code == 413 and "max_decompressed_bytes" in r.json()["error"]
                r = await client.post(url, content=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"})
                assert r.status_code == 400
                r = await client.post(url, json={"small": True})
                assert r.status_code == 200
            assert len(CaptureOutput.instances[0].events) == 1

    run(scenario())


def test_paths_methods_and_unknown_routes() -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: capture}", paths="[/logs, /v1/logs]", health_path="/ready")) as p:
            base = f"http://127.0.0.1:{p.inputs[0].bound_port}"
            async with httpx.AsyncClient(base_url=base) as client:
                assert (await client.post("/logs", json={"a": 1})).status_code == 200
                assert (await client.post("/v1/logs", json={"a": 1})).status_code == 200
                assert (await client.post("/other", json={"a": 1})).status_code == 404
                r = await client.get("/logs")
                assert r.status_code == 405 and r.headers["Allow"] == "POST, PUT"
                assert (await client.get("/ready")).json() == {"status": "ok"}
                assert (await client.get("/health")).status_code == 405

    run(scenario())


# --- acknowledgement and backpressure -------------------------------------------------
def test_answer_waits_for_delivery_and_failure_is_503() -> None:
    async def scenario(fail: bool) -> None:
        async with running(http_yaml(f"{{type: gate, fail: {str(fail).lower()}}}")) as p:
            gate = GateOutput.instances[-1]
            async with httpx.AsyncClient(timeout=20) as client:
                request = asyncio.create_task(client.post(f"http://127.0.0.1:{p.inputs[0].bound_port}/",
                                                          json=[{"n": 1}, {"n": 2}]))
                await until(lambda: gate.waiting == 1, what="batch in the output")
                assert not request.done()  # no answer while the output holds the events
                gate.release()
                r = await request
            if fail:
                assert r.status_code == 503 and "not delivered" in r.json()["error"]
                assert "Retry-After" in r.headers
            else:
                assert r.status_code == 200 and r.json() == {"accepted": 2}
                assert [e.get("n") for e in gate.events] == [1, 2]

    run(scenario(False))
    run(scenario(True))


@pytest.mark.parametrize("full_status", [429, 503])
def test_full_queue_is_answered_at_once_with_retry_after(full_status: int) -> None:
    async def scenario() -> None:
        yaml = http_yaml("{type: gate}", "queue_max_events: 1, pipeline_workers: 1",
                         response_on="accept", full_status=full_status, retry_after=7, full_wait=0)
        async with running(yaml) as p:
            gate = GateOutput.instances[0]
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            async with httpx.AsyncClient() as client:
                first = await client.post(url, json={"n": 1})
                assert first.status_code == 202 and first.json() == {"accepted": 1}
                await until(lambda: gate.waiting == 1, what="first batch in the output")
                second = await client.post(url, json={"n": 2})  # waits in the queue
                assert second.status_code == 202
                third = await client.post(url, json={"n": 3})
                assert third.status_code == full_status
                assert third.headers["Retry-After"] == "7"
                status, headers, _ = await curl(url, "-d", '{"n": 4}')
                assert status == full_status and headers["retry-after"] == "7"
                gate.release()
                await until(lambda: len(gate.events) == 2, what="queued events delivered")
                assert (await client.post(url, json={"n": 5})).status_code == 202
                await until(lambda: len(gate.events) == 3, what="last event delivered")
            assert [e.get("n") for e in gate.events] == [1, 2, 5]

    run(scenario())


def test_full_queue_holds_requests_until_room_or_full_wait() -> None:
    """With full_wait, a request finding the queue full waits for room instead of being
    refused; one that gets none in time, or one over max_pending_requests, gets 429."""
    async def scenario() -> None:
        yaml = http_yaml("{type: gate}", "queue_max_events: 1, pipeline_workers: 1",
                         response_on="accept", full_wait=30, max_pending_requests=1)
        async with running(yaml) as p:
            gate = GateOutput.instances[0]
            server = p.inputs[0].server
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            async with httpx.AsyncClient(timeout=60) as client:
                assert (await client.post(url, json={"n": 1})).status_code == 202
                await until(lambda: gate.waiting == 1, what="first batch in the output")
                assert (await client.post(url, json={"n": 2})).status_code == 202  # fills the queue
                held = asyncio.ensure_future(client.post(url, json={"n": 3}))
                await until(lambda: server.waiting == 1, what="the third request to wait for room")
                over = await client.post(url, json={"n": 4})  # a second waiter is one too many
                assert over.status_code == 429 and over.headers["Retry-After"] == "1"
                assert not held.done()
                gate.release()
                assert (await held).status_code == 202  # admitted once room freed, not refused
                await until(lambda: len(gate.events) == 3, what="held request delivered")
            assert [e.get("n") for e in gate.events] == [1, 2, 3]

        yaml = http_yaml("{type: gate}", "queue_max_events: 1, pipeline_workers: 1",
                         response_on="accept", full_wait=0.05)
        async with running(yaml) as p:
            gate = GateOutput.instances[-1]
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            async with httpx.AsyncClient(timeout=60) as client:
                assert (await client.post(url, json={"n": 1})).status_code == 202
                await until(lambda: gate.waiting == 1, what="first batch in the output")
                assert (await client.post(url, json={"n": 2})).status_code == 202
                late = await client.post(url, json={"n": 3})  # no room comes: refused after the wait
                assert late.status_code == 429
                assert p.queue.waiting == 0 and p.queue.events == 1
                gate.release()
                await until(lambda: len(gate.events) == 2, what="queued events delivered")

        # max_pending_bytes: a body larger than the bound still waits alone; a second waiter
        # whose body would take the waiting bytes over the bound is refused at once.
        yaml = http_yaml("{type: gate}", "queue_max_events: 1, pipeline_workers: 1",
                         response_on="accept", full_wait=30, max_pending_bytes=64)
        async with running(yaml) as p:
            gate = GateOutput.instances[-1]
            server = p.inputs[0].server
            url = f"http://127.0.0.1:{p.inputs[0].bound_port}/"
            big = {"n": 3, "pad": "x" * 100}
            async with httpx.AsyncClient(timeout=60) as client:
                assert (await client.post(url, json={"n": 1})).status_code == 202
                await until(lambda: gate.waiting == 1, what="first batch in the output")
                assert (await client.post(url, json={"n": 2})).status_code == 202
                held = asyncio.ensure_future(client.post(url, json=big))
                await until(lambda: server.waiting == 1, what="the large request to wait alone")
                assert server.waiting_bytes > 64
                over = await client.post(url, json={"n": 4})  # tiny, but the bytes are spent
                assert over.status_code == 429 and not held.done()
                gate.release()
                assert (await held).status_code == 202
                await until(lambda: len(gate.events) == 3, what="held request delivered")
            assert [e.get("n") for e in gate.events] == [1, 2, 3]
            assert server.waiting_bytes == 0

    run(scenario())


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_shutdown_answers_in_flight_requests_and_refuses_new_ones(loop: str) -> None:
    async def scenario() -> None:
        async with running(http_yaml("{type: gate}")) as p:
            gate = GateOutput.instances[0]
            base = f"http://127.0.0.1:{p.inputs[0].bound_port}"
            async with httpx.AsyncClient(base_url=base, timeout=20) as client:
                assert (await client.get("/health")).status_code == 200
                pending = asyncio.create_task(client.post("/", json={"n": 1}))
                await until(lambda: gate.waiting == 1, what="batch in the output")
                shutdown = asyncio.create_task(p.shutdown(10))
                await until(lambda: p.inputs[0].server.stopping, what="input stopping")
                async with httpx.AsyncClient(base_url=base) as other:
                    health = await other.get("/health")
                    assert health.status_code == 503 and health.json() == {"status": "stopping"}
                    refused = await other.post("/", json={"n": 2})
                    assert refused.status_code == 503 and "Retry-After" in refused.headers
                gate.release()
                r = await pending
                assert r.status_code == 200 and r.json() == {"accepted": 1}
                assert await shutdown is True
            assert [e.get("n") for e in gate.events] == [1]

    run(scenario(), loop)


# --- TLS ---------------------------------------------------------------------------------
def test_tls_with_required_client_certificate(certs: Certs) -> None:
    async def scenario() -> None:
        yaml = http_yaml("{type: capture}", extra=certs.server_options("required"))
        async with running(yaml) as p:
            url = f"https://localhost:{p.inputs[0].bound_port}/"
            with_cert = ssl.create_default_context(cafile=str(certs.ca))
            with_cert.load_cert_chain(str(certs.client_cert), str(certs.client_key))
            async with httpx.AsyncClient(verify=with_cert) as client:
                r = await client.post(url, json={"n": 1})
                assert r.status_code == 200
            without = ssl.create_default_context(cafile=str(certs.ca))
            async with httpx.AsyncClient(verify=without) as client:
                with pytest.raises(httpx.HTTPError):
                    await client.post(url, json={"n": 2})
            status, _, _ = await curl(url, "--cacert", str(certs.ca), "--cert", str(certs.client_cert),
                                      "--key", str(certs.client_key), "-d", '{"n": 3}')
            assert status == 200
            assert [e.get("n") for e in CaptureOutput.instances[0].events] == [1, 3]

    run(scenario())
