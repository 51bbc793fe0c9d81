"""A connection's two clocks: keepalive ACKs while busy, and the inactivity close.

Beats clients wait for an ACK with a timeout (Filebeat: 30 s) and resend the
window on another connection when it runs out, which duplicates events. So
while a window is in the pipeline, the server writes an ACK of sequence 0
whenever it has written nothing for ``interval``: go-lumber's and pylogbeat's
clients read it, see it acknowledges nothing, and keep waiting with a fresh
read deadline. Logstash and go-lumber's own server send the same frame.

A connection that neither sent nor was sent anything for ``idle_timeout``, and
has no window in flight, is closed: that frees the slots of Beats that went
away without a FIN and of clients that stall in the middle of a frame.

Both use one ``call_later`` handle each, re-armed from timestamps, so receiving
data costs one clock read and no timer churn.
"""
from __future__ import annotations

import asyncio
from typing import Callable


class ConnectionClock:
    __slots__ = ("_loop", "interval", "idle_timeout", "_busy", "_send", "_on_idle",
                 "last_rx", "last_tx", "_ka", "_idle")

    def __init__(self, loop: asyncio.AbstractEventLoop, *, interval: float, idle_timeout: float,
                 busy: Callable[[], bool], send_keepalive: Callable[[], None],
                 on_idle: Callable[[float], None]) -> None:
        self._loop = loop
        self.interval = interval
        self.idle_timeout = idle_timeout
        self._busy = busy
        self._send = send_keepalive
        self._on_idle = on_idle
        now = loop.time()
        self.last_rx = now
        self.last_tx = now
        self._ka: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = loop.call_later(idle_timeout, self._idle_tick)

    def received(self) -> None:
        self.last_rx = self._loop.time()

    def sent(self) -> None:
        self.last_tx = self._loop.time()

    def busy_now(self) -> None:
        """A window went in flight: make sure keepalives are scheduled."""
        if self._ka is None and self._idle is not None:
            self._ka = self._loop.call_at(self.last_tx + self.interval, self._keepalive_tick)

    def cancel(self) -> None:
        for handle in (self._ka, self._idle):
            if handle is not None:
                handle.cancel()
        self._ka = None
        self._idle = None

    def _keepalive_tick(self) -> None:
        self._ka = None
        if not self._busy():
            return
        now = self._loop.time()
        due = self.last_tx + self.interval
        if now >= due - 1e-3:
            self._send()
            self.last_tx = now
            due = now + self.interval
        self._ka = self._loop.call_at(due, self._keepalive_tick)

    def _idle_tick(self) -> None:
        self._idle = None
        now = self._loop.time()
        if self._busy():
            self._idle = self._loop.call_at(now + self.idle_timeout, self._idle_tick)
            return
        quiet_since = max(self.last_rx, self.last_tx)
        if now - quiet_since >= self.idle_timeout - 1e-3:
            self._on_idle(now - quiet_since)
            return
        self._idle = self._loop.call_at(quiet_since + self.idle_timeout, self._idle_tick)
