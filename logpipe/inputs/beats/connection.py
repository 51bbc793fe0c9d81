"""One Beats client connection: bytes in, windows to the pipeline, ACKs back in order.

Each complete window is submitted as one batch. When the queue has room that
happens inside ``data_received`` (no task, no copy); otherwise the window waits
in a small backlog drained by a task in arrival order, and once
``max_pending_windows`` wait the socket stops being read, so a slow pipeline
slows the Beat down through TCP instead of filling memory.

ACKs are written when batches settle, strictly in the order the windows
arrived (Filebeat pipelines windows and matches ACKs to them in order). A
window the pipeline could not deliver is never acknowledged: the connection is
closed so the Beat resends it, as go-lumber's server and Logstash do.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from logpipe.core.batch import Batch, InOrder
from logpipe.core.event import Event
from logpipe.core.queue import QueueClosed
from logpipe.inputs.beats.events import window_events
from logpipe.inputs.beats.keepalive import ConnectionClock
from logpipe.inputs.beats.protocol import Decoder, ProtocolError, Window, encode_ack
from logpipe.net.tls import peer_common_name

if TYPE_CHECKING:
    from logpipe.inputs.beats.server import BeatsServer

_KEEPALIVE = encode_ack(0)


def format_peer(peer: Any) -> str:
    if not peer:
        return "unknown"
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class BeatsConnection(asyncio.Protocol):
    def __init__(self, server: BeatsServer) -> None:
        self.server = server
        self.log = server.log
        self.decoder = Decoder(server.limits)
        self.transport: asyncio.Transport | None = None
        self.peer = "unknown"
        self.meta: dict[str, Any] = {}
        #: Windows decoded but not yet in the queue: (events, bytes, version, ack seq).
        self.backlog: deque[tuple[list[Event], int, int, int]] = deque()
        #: Windows in the pipeline, released in arrival order as (version, ack seq).
        self.inflight: InOrder[tuple[int, int]] = InOrder()
        self.pump: asyncio.Task[None] | None = None
        self.clock: ConnectionClock | None = None
        self.closed = False
        self.paused = False
        self.half_closed = False
        self.windows = 0
        self.events = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    # --- asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A read/write transport, though under uvloop not an asyncio.Transport subclass.
        self.transport = cast(asyncio.Transport, transport)
        self.peer = format_peer(transport.get_extra_info("peername"))
        self.meta = {"remote_address": self.peer}
        cn = peer_common_name(transport.get_extra_info("peercert"))
        if cn is not None:
            self.meta["tls_peer_cn"] = cn
        if not self.server.admit(self):
            self.closed = True
            self.transport.abort()
            return
        cfg = self.server.config
        self.clock = ConnectionClock(asyncio.get_running_loop(), interval=cfg.keepalive_interval,
                                     idle_timeout=cfg.client_inactivity_timeout, busy=self.busy,
                                     send_keepalive=self._keepalive, on_idle=self._idle)
        if self.server.draining:
            self.close("the input is shutting down")

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        assert self.clock is not None
        self.clock.received()
        try:
            windows = self.decoder.feed(data)
        except ProtocolError as exc:
            self.abort(f"protocol error: {exc}")
            return
        for window in windows:
            self._accept(window)
            if self.closed:
                return

    def eof_received(self) -> bool:
        if not self.decoder.idle:
            self.log.info("beats client %s closed its side in the middle of %s (%d bytes of an "
                          "unfinished frame); that window is dropped and will not be acknowledged",
                          self.peer, "a window" if self.decoder.window_open else "a frame",
                          self.decoder.buffered)
        if self.busy() and self.transport is not None \
                and self.transport.get_extra_info("sslcontext") is None:
            # Keep the socket open for writing: the ACKs of what it sent are still due.
            # (TLS has no half-close; there the connection ends here.)
            self.half_closed = True
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        was_open = not self.closed
        self.closed = True
        if self.clock is not None:
            self.clock.cancel()
        if self.pump is not None:
            self.pump.cancel()
        pending = len(self.backlog) + len(self.inflight)
        if was_open and pending:
            self.log.info("beats client %s disconnected with %d window(s) not yet acknowledged; "
                          "it will resend them", self.peer, pending)
        self.backlog.clear()
        self.server.forget(self)
        self._quiet.set()

    # --- windows -------------------------------------------------------------------
    def busy(self) -> bool:
        """A window of this connection is waiting for the pipeline."""
        return bool(self.backlog) or len(self.inflight) > 0

    def _accept(self, window: Window) -> None:
        if window.partial:
            self.log.warning("beats client %s started a new window before finishing one (%d of %d "
                             "events); submitting the events that arrived", self.peer,
                             len(window.seqs), window.size)
        events = window_events(window, self.meta)
        self.windows += 1
        self.events += len(events)
        self._quiet.clear()
        ctx = self.server.ctx
        if not self.backlog and self.pump is None and ctx is not None:
            try:
                batch = ctx.try_submit(events, size=window.nbytes, on_done=self._settled)
            except QueueClosed:
                self.abort("the pipeline is no longer taking events")
                return
            if batch is not None:
                self._track(batch, window.version, window.highest_seq)
                return
        self.backlog.append((events, window.nbytes, window.version, window.highest_seq))
        assert self.clock is not None
        self.clock.busy_now()
        if self.pump is None:
            self.pump = asyncio.get_running_loop().create_task(self._drain_backlog())
        if len(self.backlog) >= self.server.config.max_pending_windows and not self.paused:
            self._pause()

    def _track(self, batch: Batch, version: int, seq: int) -> None:
        self.inflight.add(batch, (version, seq))
        if self.clock is not None:
            self.clock.busy_now()

    async def _drain_backlog(self) -> None:
        try:
            ctx = await self.server.context()
            limit = self.server.config.max_pending_windows
            while self.backlog and not self.closed:
                events, size, version, seq = self.backlog[0]
                batch = await ctx.submit(events, size=size, on_done=self._settled)
                self.backlog.popleft()
                self._track(batch, version, seq)
                if self.paused and len(self.backlog) < limit and not self.server.draining:
                    self._resume()
        except QueueClosed:
            self.abort("the pipeline is no longer taking events")
        except asyncio.CancelledError:
            pass
        finally:
            self.pump = None
            self._check_quiet()

    def _settled(self, batch: Batch) -> None:
        """on_done of every submitted window: write the ACKs that are now due, in order.

        This runs inside a pipeline worker, so it must never raise.
        """
        released = self.inflight.release()
        if not self.closed and self.transport is not None:
            if released:
                try:
                    write = self.transport.write
                    for version, seq in released:
                        write(encode_ack(seq, version))
                except Exception as exc:  # a transport closing under us
                    self.abort(f"cannot write ACK: {exc}")
                    return
                if self.clock is not None:
                    self.clock.sent()
            if self.inflight.failed():
                head = self.inflight.clear()[0][0]
                self.abort(f"a window was not delivered ({head.reason or 'output failed'}); closing "
                           "without acknowledging it so the client resends")
                return
        self._check_quiet()

    def _check_quiet(self) -> None:
        if self.closed or not self.busy():
            self._quiet.set()
            if self.half_closed and not self.closed:
                self.close("client finished")

    # --- flow and shutdown ---------------------------------------------------------
    def _pause(self) -> None:
        if self.transport is not None and not self.paused and not self.closed:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.transport is not None and self.paused and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def stop_reading(self) -> None:
        """Shutdown: take no new windows; what is in flight still gets its ACK."""
        self._pause()

    async def quiet(self) -> None:
        """Return once no window of this connection is waiting (or it is closed)."""
        await self._quiet.wait()

    def _keepalive(self) -> None:
        if self.transport is not None and not self.closed:
            try:
                self.transport.write(_KEEPALIVE)
            except Exception as exc:  # a transport closing under us
                self.abort(f"cannot write keepalive: {exc}")

    def _idle(self, quiet_for: float) -> None:
        extra = ""
        if not self.decoder.idle:
            extra = f", {self.decoder.buffered} bytes of an unfinished frame dropped"
        self.log.info("closing beats connection from %s: nothing received for %.1fs%s",
                      self.peer, quiet_for, extra)
        self.close(None)

    def close(self, reason: str | None) -> None:
        if self.closed or self.transport is None:
            return
        if reason:
            self.log.info("closing beats connection from %s: %s", self.peer, reason)
        self.closed = True
        if self.clock is not None:
            self.clock.cancel()
        self.transport.close()
        self._quiet.set()

    def abort(self, reason: str) -> None:
        """Close at once (no flush) after a protocol error or a failed window."""
        if self.closed or self.transport is None:
            return
        self.log.warning("closing beats connection from %s: %s", self.peer, reason)
        self.closed = True
        if self.clock is not None:
            self.clock.cancel()
        self.transport.abort()
        self._quiet.set()
