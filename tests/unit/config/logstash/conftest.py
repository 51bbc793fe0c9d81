"""Helpers: a ``.conf`` text through its filters, in process, on plain dicts."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from logpipe.config.loader import PipelineSpec
from logpipe.config.logstash import load_logstash_text
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline

Through = Callable[..., list[dict[str, Any]]]


def through_spec(spec: PipelineSpec, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pipeline = Pipeline(spec)

    async def go() -> list[Event]:
        for plugin in pipeline.filters:
            await plugin.start()
        batch = [Event(dict(e)) for e in events]
        for stage in pipeline.filter_stages:
            batch = stage.run(batch)
        for plugin in pipeline.filters:
            await plugin.stop()
        return batch

    out = asyncio.run(go())
    return [{k: v for k, v in e.data.items() if k != "@timestamp"} for e in out]


@pytest.fixture
def through() -> Through:
    def run(conf: str, events: list[dict[str, Any]], env: dict[str, str] | None = None,
            **settings: Any) -> list[dict[str, Any]]:
        spec = load_logstash_text(conf, source="t.conf", env=env or {},
                                  settings=settings or None)
        return through_spec(spec, events)
    return run
