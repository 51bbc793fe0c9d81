"""Reading a Redis list, plainly or reliably.

Producers ``RPUSH``; we take from the left, so the list is a FIFO queue, as
with Logstash's redis input and output.

Plain mode pops (``LPOP key count``, or ``BLPOP`` when the list is empty).
Items are gone from Redis once popped: what is in flight when the process
dies is lost, and failed batches are retried only while the process lives.

Reliable mode moves items instead of popping them: a Lua script moves up to
``batch_count`` items at once to ``<key>:processing:<consumer_id>`` (atomically,
so an item is always in exactly one of the two lists), or ``BLMOVE`` waits for
one when the list is empty. Items leave the processing list only when their
batch is delivered (in order, see :mod:`acks`). On start, and after a
connection error, the processing list is read back and re-submitted before
anything new is taken: items a crash (or a lost reply) left there arrive again.
Needs Redis 6.2 or later.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import redis.asyncio as aioredis

from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.core.plugin import InputContext
from logpipe.inputs.redis.acks import AckWindow, Entry
from logpipe.inputs.redis.config import RedisInputConfig
from logpipe.inputs.redis.connection import CONNECTION_ERRORS, Backoff, pause, where
from logpipe.inputs.redis.decode import decoder

#: Move up to ARGV[1] items from the head of KEYS[1] to the tail of KEYS[2]; returns them.
MOVE_SCRIPT = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return items
"""

#: Remove one copy of each ARGV item from KEYS[1], searching from the head.
ACK_SCRIPT = """
local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[i])
end
return removed
"""

ACK_CHUNK = 1000
RESUBMIT_BACKOFF = 0.5
MAX_RESUBMIT_BACKOFF = 30.0


class ListReader:
    def __init__(self, client: aioredis.Redis, cfg: RedisInputConfig, consumer_id: str,
                 log: logging.Logger) -> None:
        self.client = client
        self.cfg = cfg
        self.log = log
        self.key = cfg.key
        self.reliable = cfg.reliable
        self.processing = f"{cfg.key}:processing:{consumer_id}"
        self.window = AckWindow()
        self._make = decoder(cfg.codec, "list", cfg.key)
        self._move = client.register_script(MOVE_SCRIPT)
        self._ack = client.register_script(ACK_SCRIPT)
        self._to_remove: list[bytes] = []
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._flush_lock = asyncio.Lock()
        self._recovering = False
        self._needs_recovery = cfg.reliable
        self._ctx: InputContext | None = None
        self._ack_task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._ack_task = asyncio.create_task(self._ack_loop(), name=f"redis-ack-{self.key}")

    async def stop(self) -> None:
        """Acknowledge what is delivered; say what stays behind."""
        async with self._flush_lock:
            task, self._ack_task = self._ack_task, None
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            try:
                await self._flush_locked()
            except CONNECTION_ERRORS as exc:
                self.log.warning("could not acknowledge delivered items on shutdown (%s); they will be "
                                 "delivered again", exc)
        left = self.window.events + len(self._to_remove)
        if left and self.reliable:
            self.log.warning("%d items stay in %s and will be delivered again on the next start",
                             left, self.processing)
        elif left:
            self.log.error("%d popped items were not delivered and are lost (use reliable: true for "
                           "at-least-once)", self.window.events)

    # --- reading -------------------------------------------------------------------------
    async def run(self, ctx: InputContext) -> None:
        self._ctx = ctx
        cfg = self.cfg
        backoff = Backoff(cfg.reconnect_backoff_ms / 1000, cfg.reconnect_backoff_max_ms / 1000)
        while not ctx.stopping.is_set():
            try:
                if self._needs_recovery and not await self._recover(ctx):
                    return
                items = await self._take()
            except CONNECTION_ERRORS as exc:
                if self.reliable:
                    self._needs_recovery = True  # a lost reply may have left moved items behind
                delay = backoff.next()
                self.log.warning("redis %s: %s; reconnecting in %.2fs", where(cfg),
                                 str(exc) or type(exc).__name__, delay)
                if await pause(ctx.stopping, delay):
                    return
                continue
            backoff.reset()
            if items:
                await self._submit(ctx, items)

    async def _take(self) -> list[bytes]:
        """Up to batch_count items; waits at most block_timeout when the list is empty."""
        n = self.cfg.batch_count
        items = await self._take_now(n)
        if items:
            return items
        first = await self._wait_one()
        if first is None:
            return []
        items = [first]
        if n > 1:
            try:
                items.extend(await self._take_now(n - 1))
            except CONNECTION_ERRORS as exc:
                # Keep the item we hold; the next command reports the outage.
                self._needs_recovery = self.reliable
                self.log.debug("follow-up read failed: %s", exc)
        return items

    async def _take_now(self, n: int) -> list[bytes]:
        """Up to ``n`` items without waiting (moved in reliable mode, popped otherwise)."""
        if self.reliable:
            return cast(list[bytes], await self._move(keys=[self.key, self.processing], args=[n]))
        return cast(list[bytes], await self.client.lpop(self.key, n) or [])

    async def _wait_one(self) -> bytes | None:
        """One item, waiting up to block_timeout for it."""
        # Redis takes fractional timeouts; the client's type hints say int.
        timeout: Any = self.cfg.block_timeout
        if self.reliable:
            moved = await self.client.blmove(self.key, self.processing, timeout, "LEFT", "RIGHT")
            return cast(bytes | None, moved)
        got = await self.client.blpop([self.key], timeout=timeout)
        return cast(bytes, got[1]) if got else None

    def _events(self, items: list[bytes]) -> tuple[list[Event], int]:
        return self._make(items), sum(len(raw) for raw in items)

    async def _submit(self, ctx: InputContext, items: list[bytes]) -> None:
        events, size = self._events(items)
        batch = await ctx.submit(events, size=size, on_done=self._on_done)
        self.window.add(batch, items)
        self._drained.clear()

    def _on_done(self, batch: Batch) -> None:
        self._wake.set()

    async def _recover(self, ctx: InputContext) -> bool:
        """Re-submit what is in the processing list; False when stopping first."""
        # Everything we submitted must be settled and removed first, so what the list
        # holds is exactly what nobody is working on.
        self._wake.set()
        stop_wait = asyncio.ensure_future(ctx.stopping.wait())
        drained = asyncio.ensure_future(self._drained.wait())
        try:
            await asyncio.wait([stop_wait, drained], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            drained.cancel()
        if ctx.stopping.is_set():
            return False
        n = self.cfg.batch_count
        total = 0
        self._recovering = True  # acks wait, so list indexes stay put while we read
        try:
            while not ctx.stopping.is_set():
                items = cast(list[bytes], await self.client.lrange(self.processing, total, total + n - 1))
                if not items:
                    break
                await self._submit(ctx, items)
                total += len(items)
        finally:
            self._recovering = False
            self._wake.set()
        if total:
            self.log.warning("re-submitted %d items left in %s by an earlier run or a lost reply",
                             total, self.processing)
        if ctx.stopping.is_set():
            return False
        self._needs_recovery = False
        return True

    # --- acknowledging -------------------------------------------------------------------
    async def _ack_loop(self) -> None:
        cfg = self.cfg
        backoff = Backoff(cfg.reconnect_backoff_ms / 1000, cfg.reconnect_backoff_max_ms / 1000)
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                async with self._flush_lock:
                    await self._flush_locked()
                backoff.reset()
            except CONNECTION_ERRORS as exc:
                delay = backoff.next()
                self.log.warning("could not acknowledge %d delivered items (%s); retrying in %.2fs",
                                 len(self._to_remove), str(exc) or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                self._wake.set()
                continue
            failed = self.window.failed()
            if failed:
                await self._resubmit(failed)
            if not self.window and not self._to_remove:
                self._drained.set()

    async def _flush_locked(self) -> None:
        if self._recovering:
            return
        released = self.window.release()
        if not self.reliable:
            return
        self._to_remove.extend(released)
        while self._to_remove:
            chunk = self._to_remove[:ACK_CHUNK]
            await self._ack(keys=[self.processing], args=chunk)
            del self._to_remove[:len(chunk)]

    async def _resubmit(self, failed: list[Entry]) -> None:
        """Submit failed batches' items again, after a pause that grows with repeated failures."""
        ctx = self._ctx
        if ctx is None or ctx.stopping.is_set():
            return
        attempts = max(e.attempts for e in failed)
        delay = min(MAX_RESUBMIT_BACKOFF, RESUBMIT_BACKOFF * 2 ** attempts)
        self.log.warning("%d items from %s were not delivered (%s); submitting them again in %.1fs",
                         sum(len(e.items) for e in failed), self.key, failed[0].batch.reason, delay)
        if await pause(ctx.stopping, delay):
            return
        for entry in failed:
            events, size = self._events(entry.items)
            try:
                batch = await ctx.submit(events, size=size, on_done=self._on_done)
            except Exception as exc:  # the queue closed under us: shutting down
                self.log.debug("re-submission abandoned: %s", exc)
                return
            self.window.replace(entry, batch)

    @property
    def held_events(self) -> int:
        return self.window.events

    def describe(self) -> dict[str, Any]:
        return {"key": self.key, "reliable": self.reliable, "processing": self.processing}
