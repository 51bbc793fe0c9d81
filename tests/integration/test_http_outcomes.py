"""The http input answers by outcome: 2xx when every event was delivered or dead-lettered,
503 + Retry-After for transient trouble, 422 with the reasons when events were rejected
and no dead-letter queue took them (before: 503 for a document that would never be
accepted, so the client retried it forever)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from logpipe import Delivery, DeliveryError, Event, Output, PluginConfig
from logpipe.core import registry

from .netinput_support import run, running


class VerdictConfig(PluginConfig):
    verdict: str = "reject_bad"


class VerdictOutput(Output):
    """Rejects events with ``bad: true``; or raises a transient DeliveryError."""

    Config = VerdictConfig

    async def send(self, events: list[Event]) -> Delivery | None:
        if self.config.verdict == "transient":  # type: ignore[attr-defined]
            raise DeliveryError("cluster unreachable", retriable=True)
        delivery = Delivery()
        for i, e in enumerate(events):
            if e.data.get("bad"):
                delivery.reject(i, "mapper_parsing_exception: field [n] is not a number")
        return delivery


@pytest.fixture(autouse=True)
def _plugins() -> None:
    registry.register("output", "verdict", VerdictOutput)


def pipeline(tmp_path: Path, verdict: str, dlq: str = "") -> str:
    extra = f", dead_letter_queue: {dlq}" if dlq else ""
    return f"""
settings: {{batch_delay_ms: 2, "path.data": "{tmp_path}"{extra}}}
inputs: [{{type: http, id: web, port: 0}}]
outputs: [{{type: verdict, verdict: {verdict}}}]
"""


async def post(port: int, body: object) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"http://127.0.0.1:{port}/", json=body, timeout=20)


def test_rejected_events_with_a_dead_letter_queue_are_answered_200(tmp_path: Path) -> None:
    async def scenario() -> httpx.Response:
        async with running(pipeline(tmp_path, "reject_bad")) as p:
            return await post(p.inputs[0].bound_port, [{"n": 1}, {"n": "x", "bad": True}])

    answer = run(scenario())
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 2, "dead_lettered": 1}
    assert list((tmp_path / "dead_letter_queue" / "main").glob("*.log"))


def test_rejected_events_without_a_dead_letter_queue_are_answered_422_with_reasons(
        tmp_path: Path) -> None:
    async def scenario() -> httpx.Response:
        async with running(pipeline(tmp_path, "reject_bad", "{type: none}")) as p:
            return await post(p.inputs[0].bound_port, [{"n": 1}, {"n": "x", "bad": True}])

    answer = run(scenario())
    assert answer.status_code == 422
    [reason] = answer.json()["rejected"]
    assert "mapper_parsing_exception" in reason and "Retry-After" not in answer.headers


def test_transient_trouble_is_answered_503_with_retry_after(tmp_path: Path) -> None:
    async def scenario() -> httpx.Response:
        async with running(pipeline(tmp_path, "transient")) as p:
            return await post(p.inputs[0].bound_port, [{"n": 1}])

    answer = run(scenario())
    assert answer.status_code == 503
    assert "Retry-After" in answer.headers
    assert "cluster unreachable" in answer.json()["error"]
