"""``statsd`` output: counters, timers, gauges and sets from events, over UDP.

Settings follow Logstash's statsd output: ``increment``/``decrement`` name
counters bumped by one per event, ``count``, ``timing``, ``gauge`` and ``set``
map a metric name to the value to send. Names are ``%{field}`` templates; a
value is a number, a ``%{field}`` template, or a field reference (``[a][b]``
or ``a.b``). The full name is ``namespace.sender.metric`` (empty parts left out).

StatsD timers are milliseconds. A duration kept in another unit (ECS
``event.duration`` is in nanoseconds) is given as ``{field: ..., unit: ns}``
and converted before it is sent.

Within a batch, counters with the same name are added up and gauges keep their
last value before anything is sent, so a busy pipeline sends a few lines per
metric per batch rather than one per event; timings are sent one by one.
Lines are packed newline-separated into datagrams of at most
``max_packet_size`` bytes.

Metrics are best effort by nature: sending never waits and never fails a batch.
A send the kernel refuses, or a host that cannot be resolved, is counted in
``logpipe_statsd_errors_total`` and logged at most once a minute.
"""
from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any, Callable

from pydantic import Field, field_validator

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Output, PluginConfig
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import Writes

_RESERVED = re.compile(r"[:|@\s]")
Getter = Callable[[Event], Any]


class StatsdConfig(PluginConfig):
    host: str = Field("localhost", description="StatsD server address.")
    port: int = Field(8125, ge=1, le=65535, description="StatsD server UDP port.")
    namespace: str = Field("logpipe", alias="prefix",
                           description="First part of every metric name (`prefix` is accepted too).")
    sender: str | None = Field(
        None, description="Second part of every metric name, e.g. `%{[host][name]}`; its dots become "
                          "underscores so it stays one part. Unset: no sender part.")
    increment: list[str] = Field(default_factory=list, description="Counters bumped by 1 per event.")
    decrement: list[str] = Field(default_factory=list, description="Counters lowered by 1 per event.")
    count: dict[str, Any] = Field(default_factory=dict, description="Counter name -> amount to add.")
    timing: dict[str, Any] = Field(default_factory=dict, description=(
        "Timer name -> milliseconds. For a duration in another unit give "
        "`{field: \"[event][duration]\", unit: ns}` (units: ns, us, ms, s); it is converted to ms."))
    gauge: dict[str, Any] = Field(default_factory=dict, description="Gauge name -> value.")
    set: dict[str, Any] = Field(default_factory=dict, description="Set name -> member (unique values).")
    sample_rate: float = Field(1.0, gt=0, le=1, description="Fraction of events that send counters and timings.")
    max_packet_size: int = Field(1400, ge=64, le=65000,
                                 description="Largest datagram; keep it under the path MTU.")

    @field_validator("increment", "decrement")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name:
                raise ValueError("metric names must not be empty")
        return value

    @field_validator("timing")
    @classmethod
    def _timings(cls, value: dict[str, Any]) -> dict[str, Any]:
        for spec in value.values():
            if isinstance(spec, dict):
                timing_getter(spec)  # raises ValueError with the reason
        return value


def sanitize(name: str) -> str:
    """Characters that would break the line protocol become ``_``."""
    return _RESERVED.sub("_", name)


def value_getter(spec: Any) -> Getter:
    """A number stays a constant; ``%{..}`` is a template; other text is a field reference."""
    if isinstance(spec, bool):
        raise ValueError("a metric value must be a number, a template or a field reference")
    if isinstance(spec, (int, float)):
        const = spec
        return lambda _e: const
    text = str(spec)
    if is_template(text):
        return compile_template(text)
    path = parse(text)
    return lambda e: e.get_path(path)


#: Milliseconds per unit, as (multiplier, divisor) so that whole values stay exact.
_TO_MS: dict[str, tuple[int, int]] = {"ns": (1, 1_000_000), "us": (1, 1000), "ms": (1, 1), "s": (1000, 1)}


def timing_getter(spec: Any) -> Getter:
    """A timer value in milliseconds: what :func:`value_getter` takes, or
    ``{"field": ref, "unit": "ns" | "us" | "ms" | "s"}`` for a duration in another unit."""
    if not isinstance(spec, dict):
        return value_getter(spec)
    if set(spec) - {"field", "unit"} or "field" not in spec:
        raise ValueError("a timing is a value, or {field: ..., unit: ns|us|ms|s}")
    unit = spec.get("unit", "ms")
    if unit not in _TO_MS:
        raise ValueError(f"unknown duration unit {unit!r} (ns, us, ms or s)")
    getter = value_getter(spec["field"])
    mul, div = _TO_MS[unit]
    if mul == div:
        return getter

    def in_ms(event: Event) -> float | None:
        value = _number(getter(event))
        return None if value is None else value * mul / div

    return in_ms


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def pack(lines: list[bytes], limit: int) -> list[bytes]:
    """Newline-joined datagrams of at most ``limit`` bytes (a longer line goes alone)."""
    packets: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            packets.append(b"\n".join(current))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        packets.append(b"\n".join(current))
    return packets


class _Sender(asyncio.DatagramProtocol):
    def __init__(self, on_error: Callable[[Exception], None]) -> None:
        self._on_error = on_error

    def error_received(self, exc: Exception) -> None:
        self._on_error(exc)


class StatsdOutput(Output):
    Config = StatsdConfig
    config: StatsdConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        cfg = self.config
        self._names = {
            "increment": [compile_template(n) for n in cfg.increment],
            "decrement": [compile_template(n) for n in cfg.decrement],
        }
        self._values: dict[str, list[tuple[Callable[[Any], str], Getter]]] = {
            kind: [(compile_template(n), (timing_getter if kind == "timing" else value_getter)(v))
                   for n, v in getattr(cfg, kind).items()]
            for kind in ("count", "timing", "gauge", "set")
        }
        self._sender = compile_template(cfg.sender) if cfg.sender else None
        self._prefix = sanitize(cfg.namespace) + "." if cfg.namespace else ""
        self._suffix = f"|@{cfg.sample_rate:g}".encode() if cfg.sample_rate < 1 else b""
        self._random = random.random
        m = self.context.metrics
        labels = {"id": self.id}
        self._sent = m.counter("statsd_packets_total", labels, help="Datagrams sent to StatsD.")
        self._errors = m.counter("statsd_errors_total", labels, help="StatsD sends that failed.")
        self._skipped = m.counter("statsd_skipped_total", labels,
                                  help="Metrics left out: no value, not a number or unresolved name.")
        self._transport: asyncio.DatagramTransport | None = None
        self._next_connect = 0.0
        self._last_warning = 0.0
        await self._connect()

    async def _connect(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            return
        now = time.monotonic()
        if now < self._next_connect:
            return
        try:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Sender(self._failed), remote_addr=(self.config.host, self.config.port))
        except OSError as exc:
            self._transport = None
            self._next_connect = now + 5.0
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self._errors.inc()
        now = time.monotonic()
        if now - self._last_warning >= 60:
            self._last_warning = now
            self.log.warning("statsd %s:%d: %s", self.config.host, self.config.port, exc)

    def _name(self, template: Callable[[Any], str], event: Event) -> str | None:
        metric = template(event)
        if "%{" in metric or not metric:
            return None
        parts = self._prefix
        if self._sender is not None:
            sender = self._sender(event)
            if sender and "%{" not in sender:
                parts += sanitize(sender).replace(".", "_") + "."
        return parts + sanitize(metric)

    def lines(self, events: list[Event]) -> list[bytes]:
        """Turn a batch into StatsD lines (counters summed, gauges last, sets de-duplicated)."""
        counters: dict[str, float] = {}
        gauges: dict[str, float] = {}
        sets: dict[str, set[str]] = {}
        timings: list[bytes] = []
        skipped = 0
        sampled = self.config.sample_rate < 1
        rnd = self._random
        rate = self.config.sample_rate
        for event in events:
            take = not sampled or rnd() < rate
            if take:
                for sign, kind in ((1, "increment"), (-1, "decrement")):
                    for template in self._names[kind]:
                        name = self._name(template, event)
                        if name is None:
                            skipped += 1
                            continue
                        counters[name] = counters.get(name, 0) + sign
                for template, getter in self._values["count"]:
                    name, value = self._name(template, event), _number(getter(event))
                    if name is None or value is None:
                        skipped += 1
                        continue
                    counters[name] = counters.get(name, 0) + value
                for template, getter in self._values["timing"]:
                    name, value = self._name(template, event), _number(getter(event))
                    if name is None or value is None:
                        skipped += 1
                        continue
                    timings.append(f"{name}:{_fmt(value)}|ms".encode() + self._suffix)
            for template, getter in self._values["gauge"]:
                name, value = self._name(template, event), _number(getter(event))
                if name is None or value is None:
                    skipped += 1
                    continue
                gauges[name] = value
            for template, getter in self._values["set"]:
                name, member = self._name(template, event), getter(event)
                if name is None or member is None or member == "":
                    skipped += 1
                    continue
                sets.setdefault(name, set()).add(sanitize(str(member)))
        if skipped:
            self._skipped.inc(skipped)
        out = [f"{n}:{_fmt(v)}|c".encode() + self._suffix for n, v in counters.items()]
        out.extend(timings)
        out.extend(f"{n}:{_fmt(v)}|g".encode() for n, v in gauges.items())
        for n, members in sets.items():
            out.extend(f"{n}:{m}|s".encode() for m in sorted(members))
        return out

    async def send(self, events: list[Event]) -> None:
        lines = self.lines(events)
        if not lines:
            return
        await self._connect()
        transport = self._transport
        if transport is None:
            return
        for packet in pack(lines, self.config.max_packet_size):
            try:
                transport.sendto(packet)
            except OSError as exc:
                self._failed(exc)
                continue
            self._sent.inc()

    async def stop(self) -> None:
        transport = getattr(self, "_transport", None)
        if transport is not None:
            transport.close()
            self._transport = None
