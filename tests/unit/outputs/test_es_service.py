"""Delivering bulk requests against a scripted client: partial retries, splits, limits."""
from __future__ import annotations

import asyncio
import gzip
from typing import Any, Callable

import orjson
import pytest
from elastic_transport import ApiResponseMeta, ConnectionError as TransportConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from logpipe.core.event import Event
from logpipe.errors import DeliveryError
from logpipe.outputs.elasticsearch.ids import id_factory
from logpipe.outputs.elasticsearch.request_builder import RequestBuilder
from logpipe.outputs.elasticsearch.retry import RetryPolicy
from logpipe.outputs.elasticsearch.service import BulkService

Script = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Any]


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "localhost", 9200))


class _Response:
    def __init__(self, status: int, body: Any) -> None:
        self.meta = _meta(status)
        self.body = body


class FakeClient:
    """Parses each bulk body and asks ``script(actions, docs)`` for the answer.

    The script returns a list of item statuses, a (status, body) pair, or an
    exception to raise.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[list[dict[str, Any]]] = []
        self.in_flight = 0
        self.peak = 0
        self.headers: list[dict[str, str]] = []

    async def perform_request(self, method: str, path: str, *, params: Any = None, headers: Any = None,
                              body: bytes = b"", endpoint_id: str | None = None) -> _Response:
        assert (method, path) == ("POST", "/_bulk")
        self.headers.append(dict(headers))
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        lines = [orjson.loads(x) for x in body.split(b"\n")[:-1]]
        actions, docs = lines[0::2], lines[1::2]
        self.calls.append(docs)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            answer = self.script(actions, docs)
        finally:
            self.in_flight -= 1
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, tuple):
            status, payload = answer
            if status >= 300:
                raise ApiError(str(payload), meta=_meta(status), body=payload)
            return _Response(status, payload)
        items = []
        for status in answer:
            item: dict[str, Any] = {"status": status}
            if status >= 300:
                kind = {400: "document_parsing_exception", 409: "version_conflict_engine_exception",
                        429: "es_rejected_execution_exception"}.get(status, "error")
                item["error"] = {"type": kind, "reason": f"status {status}"}
            items.append({"create": item})
        return _Response(200, {"errors": any(s >= 300 for s in answer), "items": items})


def _events(n: int) -> list[Event]:
    return [Event({"n": i}, {"kafka": {"topic": "t", "partition": 0, "offset": i}}) for i in range(n)]


def _service(client: FakeClient, *, max_in_flight: int = 4, max_retries: int | None = None,
             compression: int | None = None) -> BulkService:
    policy = RetryPolicy(initial_interval=0.001, max_interval=0.004, max_retries=max_retries)
    return BulkService(client, policy, action="create", max_in_flight=max_in_flight,  # type: ignore[arg-type]
                       compression_level=compression)


def _chunks(events: list[Event], batch_size: int = 1000) -> Any:
    return RequestBuilder(index="idx", action="create", ids=id_factory("coordinates"),
                          batch_size=batch_size).chunks(events)


def test_only_retriable_items_are_sent_again() -> None:
    seen: dict[int, int] = {}

    def script(actions: list, docs: list) -> list[int]:
        out = []
        for doc in docs:
            n = doc["n"]
            seen[n] = seen.get(n, 0) + 1
            if n % 3 == 0 and seen[n] == 1:
                out.append(429)
            elif n == 4:
                out.append(400)
            else:
                out.append(201)
        return out

    client = FakeClient(script)
    service = _service(client)
    failed = asyncio.run(service.deliver_all(_chunks(_events(10))))
    assert [f.item.pos for f in failed] == [4]
    assert failed[0].rejection.error_type == "document_parsing_exception"
    assert [d["n"] for d in client.calls[1]] == [0, 3, 6, 9]
    assert len(client.calls) == 2
    assert service.counters.delivered == 9 and service.counters.rejected == 1


def test_whole_request_failures_are_retried_until_they_pass() -> None:
    answers: list[Any] = [TransportConnectionError("refused"), (503, {"error": "unavailable"}),
                          (429, {"error": "too many"})]

    def script(actions: list, docs: list) -> Any:
        return answers.pop(0) if answers else [201] * len(docs)

    client = FakeClient(script)
    failed = asyncio.run(_service(client).deliver_all(_chunks(_events(5))))
    assert failed == []
    assert len(client.calls) == 4


def test_conflicts_on_create_count_as_written() -> None:
    client = FakeClient(lambda a, docs: [409] * len(docs))
    service = _service(client)
    assert asyncio.run(service.deliver_all(_chunks(_events(3)))) == []
    assert service.counters.already_written == 3
    assert len(client.calls) == 1


def test_request_level_400_rejects_every_item_of_the_request() -> None:
    client = FakeClient(lambda a, docs: (400, {"error": {"type": "illegal_argument_exception",
                                                         "reason": "bad body"}}))
    failed = asyncio.run(_service(client).deliver_all(_chunks(_events(3))))
    assert [f.rejection.error_type for f in failed] == ["illegal_argument_exception"] * 3


def test_too_large_requests_are_halved_and_a_single_huge_document_is_rejected() -> None:
    def script(actions: list, docs: list) -> Any:
        if len(docs) > 2 or any(d["n"] == 5 for d in docs):
            return (413, {"error": "too large"})
        return [201] * len(docs)

    client = FakeClient(script)
    failed = asyncio.run(_service(client).deliver_all(_chunks(_events(8))))
    assert [f.item.pos for f in failed] == [5]
    assert failed[0].rejection.status == 413
    delivered = sorted(d["n"] for call in client.calls for d in call if len(call) <= 2 and
                       not any(x["n"] == 5 for x in call))
    assert delivered == [0, 1, 2, 3, 4, 6, 7]


def test_giving_up_after_max_retries_raises_a_retriable_error() -> None:
    client = FakeClient(lambda a, docs: (503, {"error": "down"}))
    with pytest.raises(DeliveryError) as err:
        asyncio.run(_service(client, max_retries=2).deliver_all(_chunks(_events(2))))
    assert err.value.retriable
    assert len(client.calls) == 3


class GatedClient(FakeClient):
    """Answers no request until ``limit`` are in flight (or every expected one has come):
    how many the service sends at once is then seen whatever the machine's speed.

    A service that never reaches the limit leaves the requests waiting; the wait is
    bounded so that such a fault fails the test instead of hanging it."""

    def __init__(self, script: Script, *, limit: int, total: int) -> None:
        super().__init__(script)
        self.limit, self.total, self.started, self.waiting = limit, total, 0, 0
        self._full = asyncio.Event()

    async def perform_request(self, method: str, path: str, **kwargs: Any) -> _Response:
        self.started += 1
        self.waiting += 1
        if self.waiting >= self.limit or self.started == self.total:
            self._full.set()
        try:
            await asyncio.wait_for(self._full.wait(), timeout=10)
        finally:
            self.waiting -= 1
        if self.waiting == 0:
            self._full.clear()
        return await super().perform_request(method, path, **kwargs)


def test_large_batches_are_split_and_sent_concurrently_within_the_limit() -> None:
    client = GatedClient(lambda a, docs: [201] * len(docs), limit=3, total=20)
    service = _service(client, max_in_flight=3)
    failed = asyncio.run(service.deliver_all(_chunks(_events(5000), batch_size=250)))
    assert failed == []
    assert len(client.calls) == 20
    assert client.peak == 3
    assert sorted(d["n"] for call in client.calls for d in call) == list(range(5000))


def test_gzip_bodies_carry_the_content_encoding() -> None:
    client = FakeClient(lambda a, docs: [201] * len(docs))
    asyncio.run(_service(client, compression=1).deliver_all(_chunks(_events(3))))
    assert client.headers[0]["content-encoding"] == "gzip"
    assert client.calls[0] == [{"n": i, "@timestamp": client.calls[0][i]["@timestamp"]} for i in range(3)]
