"""Packed line batches: events kept as the bytes they came in as, until needed.

A pipeline that only parses lines and forwards them (a line input, one grok
filter, one JSON-lines output, no conditions) spends most of each event on
Python objects that exist only to be serialized again. When such a pipeline
starts, :func:`line_route` builds its native transform (``logpipe_native``); a
line input then submits a block of lines as one :class:`PackedLines`, and the
worker turns it into the output's bytes in one native call (no Python object
per line) that writes what the event path would have written, byte for byte.

Everything else sees a packed batch as the events it holds: ``len`` is its
event count and reading it builds the events (once) exactly as the input's
event path does, so acknowledgement, the queue's accounting and every other
route keep working. The route is chosen once per pipeline; ``logpipe run``
logs which one it took and why.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Protocol, Sequence, overload

import orjson

from logpipe.core.event import TIMESTAMP, Event, adopt
from logpipe.core.native import native_module

#: None in the pure-Python build (or with LOGPIPE_NATIVE=off): every pipeline takes the event path.
_native = native_module()


def text_events(text: str, stamp: datetime) -> list[Event]:
    """The events of a block of lines (decoded, without its last newline): one per
    non-empty line, a trailing ``\\r`` removed, all stamped ``stamp``."""
    lines = text.split("\n")
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return [adopt({TIMESTAMP: stamp, "message": ln}, {}) for ln in lines if ln]


def count_lines(block: bytes) -> int:
    """How many events a block of lines holds; -1 when it is not valid UTF-8 (or
    there is no native module)."""
    if _native is None:
        return -1
    return int(_native.count_lines(block))


class PackedLines(Sequence[Event]):
    """A block of lines (valid UTF-8, complete lines, no final newline) and the time
    it arrived, standing for the events it holds."""

    __slots__ = ("block", "stamp", "lines", "_events")

    def __init__(self, block: bytes, stamp: datetime, count: int) -> None:
        self.block = block
        self.stamp = stamp
        self.lines = count
        self._events: list[Event] | None = None

    @property
    def unpacked(self) -> bool:
        return self._events is not None

    def events(self) -> list[Event]:
        """The events, built on first use and the same objects ever after."""
        if self._events is None:
            self._events = text_events(self.block.decode("utf-8"), self.stamp)
        return self._events

    def __len__(self) -> int:
        return self.lines

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: Any) -> Any:
        return self.events()[index]


class LineTransform(Protocol):
    """What a filter hands the packed route: ``docs(block, stamp_json)`` gives the
    JSON lines of the block's events after the filter, and counts of lines that
    matched and did not (see ``logpipe_native.LineGrok``)."""

    def docs(self, block: bytes, stamp: bytes) -> tuple[bytes, int, int] | None: ...


class LineRoute:
    """The native route of one pipeline: a filter's transform (or none) and the output."""

    __slots__ = ("transform", "filter_stage", "output_stage")

    def __init__(self, transform: LineTransform, filter_stage: Any, output_stage: Any) -> None:
        self.transform = transform
        self.filter_stage = filter_stage
        self.output_stage = output_stage

    def run(self, packs: Sequence[PackedLines]) -> tuple[list[bytes], int, int] | None:
        """The output bytes of each pack with the total matched and failed; None when
        a pack cannot go this way (then the caller takes the event path)."""
        bodies: list[bytes] = []
        matched = failed = 0
        for pack in packs:
            stamp = orjson.dumps(pack.stamp, option=orjson.OPT_UTC_Z)
            got = self.transform.docs(pack.block, stamp)
            if got is None:
                return None
            body, hit, missed = got
            bodies.append(body)
            matched += hit
            failed += missed
        return bodies, matched, failed


def line_route(filter_stages: Sequence[Any], output_stages: Sequence[Any]) -> tuple[LineRoute | None, str]:
    """The pipeline's native route, or None and why it has none.

    It needs: the native module; no more than one filter, unconditional, that
    offers a transform (``packed_lines``); exactly one output, unconditional,
    that writes JSON lines as they come (``send_packed``).
    """
    from logpipe.core.stages import FilterStage

    if _native is None:
        return None, "the native module (logpipe_native) is not installed"
    if len(output_stages) != 1:
        return None, "it has more than one output"
    out = output_stages[0]
    if out.predicate is not None or not getattr(out.plugin, "packs_json_lines", False):
        return None, f"output {out.plugin.id} does not take packed lines"
    if len(filter_stages) > 1:
        return None, "it has more than one filter"
    stage = None
    transform: Any = _native.LineGrok([], [])   # no filter: each line as it came
    if filter_stages:
        stage = filter_stages[0]
        if not isinstance(stage, FilterStage) or stage.predicate is not None:
            return None, "its filter is conditional"
        offer = getattr(stage.plugin, "packed_lines", None)
        reason = f"filter {stage.plugin.id} has no native form"
        made = offer() if offer is not None else (None, reason)
        transform, why = made
        if transform is None:
            return None, why or reason
    return LineRoute(transform, stage, out), ""
