"""The ``http`` output against servers we did not write: Elasticsearch's document and bulk
endpoints, and Python's http.server for retries, authentication and body formats."""
from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from logpipe.core.event import Event
from logpipe.errors import DeliveryError
from logpipe.outputs.http import HttpOutput
from tests.integration.streaming_support import free_port, sync

pytestmark = pytest.mark.timeout(120)


def output(url: str, **options: Any) -> HttpOutput:
    return HttpOutput(HttpOutput.Config(url=url, **options), id="http_out")


def events(n: int) -> list[Event]:
    return [Event({"n": i, "kind": "ab"[i % 2], "message": f"line {i}"}, {"secret": "never sent"})
            for i in range(n)]


async def deliver(out: HttpOutput, evs: list[Event]) -> None:
    await out.start()
    try:
        await out.send(evs)
    finally:
        await out.stop()


def count(es_url: str, index: str, query: str = "") -> int:
    httpx.post(f"{es_url}/{index}/_refresh")
    r = httpx.get(f"{es_url}/{index}/_count" + (f"?q={query}" if query else ""))
    r.raise_for_status()
    return int(r.json()["count"])


# --- Elasticsearch -----------------------------------------------------------------------
@sync
async def test_one_document_per_event_to_templated_es_indices(es_url: str, unique_index: str) -> None:
    await deliver(output(f"{es_url}/{unique_index}-%{{kind}}/_doc", http_method="post"), events(20))
    assert count(es_url, f"{unique_index}-a") == 10
    assert count(es_url, f"{unique_index}-b") == 10
    r = httpx.get(f"{es_url}/{unique_index}-a/_search", params={"q": "n:4"}).json()
    doc = r["hits"]["hits"][0]["_source"]
    assert doc["message"] == "line 4" and "secret" not in json.dumps(doc) and "@timestamp" in doc


@sync
async def test_bulk_endpoint_with_a_message_template(es_url: str, unique_index: str) -> None:
    out = output(f"{es_url}/{unique_index}/_bulk", http_method="post", format="message",
                 content_type="application/x-ndjson",
                 message='{"index":{}}\n{"n":%{n},"text":"%{message}"}\n')
    await deliver(out, events(5))
    assert count(es_url, unique_index) == 5
    assert count(es_url, unique_index, "text:%22line 3%22") == 1


@sync
async def test_elasticsearch_refusing_a_document_fails_the_batch(es_url: str, unique_index: str) -> None:
    httpx.put(f"{es_url}/{unique_index}", json={"mappings": {"properties": {"n": {"type": "integer"}}}})
    bad = Event({"n": "not a number"})
    with pytest.raises(DeliveryError) as err:
        await deliver(output(f"{es_url}/{unique_index}/_doc", mapping={"n": "%{n}"}), [bad])
    assert err.value.retriable is False and "HTTP 400" in str(err.value)


# --- http.server -------------------------------------------------------------------------
class Recorder(BaseHTTPRequestHandler):
    script: list[int] = []            # statuses to answer, then 200
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            Recorder.seen.append({"method": self.command, "path": self.path, "body": body,
                                  "headers": dict(self.headers)})
            status = Recorder.script.pop(0) if Recorder.script else 200
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.script = []
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@sync
async def test_429_and_503_are_retried_until_delivered(server: str) -> None:
    Recorder.script = [503, 429]
    await deliver(output(server + "/in", retry_initial_interval=0.01), events(1))
    assert len(Recorder.seen) == 3
    assert all(json.loads(s["body"])["n"] == 0 for s in Recorder.seen)


@sync
async def test_only_failed_requests_are_sent_again(server: str) -> None:
    Recorder.script = [200, 503, 200]
    await deliver(output(server + "/in", retry_initial_interval=0.01), events(3))
    sent = [json.loads(s["body"])["n"] for s in Recorder.seen]
    assert sorted(set(sent)) == [0, 1, 2] and len(sent) == 4     # one request went twice


@sync
async def test_a_final_status_fails_at_once_and_retries_can_be_switched_off(server: str) -> None:
    Recorder.script = [400]
    with pytest.raises(DeliveryError, match="HTTP 400"):
        await deliver(output(server + "/in"), events(1))
    assert len(Recorder.seen) == 1
    Recorder.script = [503]
    with pytest.raises(DeliveryError, match="HTTP 503"):
        await deliver(output(server + "/in", retry_failed=False), events(1))
    Recorder.script = [404]
    await deliver(output(server + "/in", ignorable_codes=[404]), events(1))


@sync
async def test_retries_stop_after_retry_max_elapsed(server: str) -> None:
    Recorder.script = [503] * 100
    with pytest.raises(DeliveryError) as err:
        await deliver(output(server + "/in", retry_initial_interval=0.05, retry_max_elapsed=0.5), events(1))
    assert err.value.retriable is True and 2 <= len(Recorder.seen) < 20


@sync
async def test_connection_refused_is_retried_then_fails_retriable() -> None:
    out = output(f"http://127.0.0.1:{free_port()}/x", automatic_retries=2, retry_max_elapsed=0.3,
                 retry_initial_interval=0.05)
    with pytest.raises(DeliveryError) as err:
        await deliver(out, events(1))
    assert err.value.retriable is True


@sync
async def test_json_batch_form_headers_method_and_basic_auth(server: str) -> None:
    await deliver(output(server + "/batch/%{kind}", format="json_batch", http_method="put",
                         headers={"X-Kind": "%{kind}"}, user="u", password="p w"), events(4))
    by_path = {s["path"]: s for s in Recorder.seen}
    assert set(by_path) == {"/batch/a", "/batch/b"}
    a = by_path["/batch/a"]
    assert a["method"] == "PUT" and [d["n"] for d in json.loads(a["body"])] == [0, 2]
    assert a["headers"]["X-Kind"] == "a" and a["headers"]["Content-Type"] == "application/json"
    assert a["headers"]["Authorization"] == "Basic " + base64.b64encode(b"u:p w").decode()
    Recorder.seen = []
    await deliver(output(server + "/form", format="form", mapping={"who": "%{kind}", "n": "%{n}"}), events(1))
    form = parse_qs(Recorder.seen[0]["body"].decode())
    assert form == {"who": ["a"], "n": ["0"]}
    assert Recorder.seen[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


@sync
async def test_tls_with_the_server_s_ca_and_refused_without_it(tmp_path: Any) -> None:
    import ssl

    from tests.integration.netinput_support import Certs
    certs = Certs(tmp_path)
    Recorder.script = []
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/secure"
    try:
        await deliver(output(url, ssl_certificate_authorities=[str(certs.ca)]), events(1))
        assert Recorder.seen[0]["path"] == "/secure"
        with pytest.raises(DeliveryError) as err:
            await deliver(output(url, automatic_retries=0, retry_max_elapsed=0.2), events(1))
        assert "certificate" in str(err.value).lower() or "ssl" in str(err.value).lower()
        assert len(Recorder.seen) == 1
    finally:
        httpd.shutdown()
        httpd.server_close()
