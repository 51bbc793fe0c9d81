"""Waiting for a state with a deadline (never a sleep standing in for one)."""
from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Awaitable, Callable


async def until(predicate: Callable[[], Any], *, timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll ``predicate`` (plain or async) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(step)


async def at_least(value: Awaitable[int], target: int) -> bool:
    """Whether a count read afresh has reached ``target``: ``until(lambda: at_least(...))``
    reads it again at every poll."""
    return (await value) >= target


async def es_count(es_url: str, index: str) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        await s.post(f"{es_url}/{index}/_refresh")
        async with s.post(f"{es_url}/{index}/_count") as r:
            body = await r.json()
            return int(body.get("count", -1)) if r.status == 200 else -1
