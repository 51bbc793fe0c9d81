"""Run a translated grok expression with a bounded cost on any input.

Three ways to run an expression, chosen once when it is compiled:

``gated`` (the expression fits RE2 and all its repeated groups come from the
    audited bundled library, with no user-written choices inside them)
    RE2, with capturing turned off, first decides whether the line matches and
    where the match starts. RE2 is linear-time, so a hostile line that does not
    match costs one linear scan. Only a matching line reaches the stdlib ``re``
    program, which then extracts the groups with ``match`` at the known start.
    User-written alternations and optional groups outside any repetition are
    allowed here: on a line known to match they cost a constant factor.
``gated-timeout`` (fits RE2, but the user wrote a repeated group, or choices
    inside a repetition)
    The same RE2 gate; extraction uses the ``regex`` module with a timeout,
    because ambiguous repetition may backtrack badly even on a line that matches.
``timeout`` (lookaround, atomic groups, possessive quantifiers, backreferences)
    The ``regex`` module with ``timeout=`` on every call.

Why not RE2 alone: its Python binding pays for capture extraction with its
slowest (NFA) engine on large programs; on COMBINEDAPACHELOG lines it ran at
about a fifth of stdlib ``re``, while the capture-free RE2 scan costs about
as much as one ``re`` match. The measurements are in benchmarks/bench_parsing.py
and in logpipe/filters/grok/README.md.

Every engine runs with "dot matches newline" (grok compiles with Ruby's
MULTILINE flag, so a Java stack trace captures whole). ``\\w``, ``\\d``, ``\\s``
and ``\\b`` are ASCII in every engine, as in Onigmo's Ruby syntax; POSIX letter
classes are Unicode (see the compiler), so a line gets the same answer whichever
engine runs it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Sequence

import regex
import re2
from re2 import _re2

from logpipe.filters.grok.compiler import GrokSyntaxError, Translation
from logpipe.filters.grok.native import native_matcher
from logpipe.filters.grok.rewrite import compile_extraction

Groups = Sequence["str | None"]

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_AT_START = _re2.RE2.Anchor.ANCHOR_START
#: Bounds of the score that decides whether the gate tries position 0 first.
_LEAD_MAX, _LEAD_MIN = 64, -64


class GrokTimeout(Exception):
    """A match ran past its time budget."""


def _re2_gate(text: str) -> _re2.RE2 | None:
    # The text has no capturing groups; RE2's never_capture option would do the
    # same but measured about six times slower on COMBINEDAPACHELOG.
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    compiled = _re2.RE2(text.encode("utf-8"), options)
    return compiled if compiled.ok() else None


def _re2_at_start(text: str) -> Callable[[bytes], list[int]] | None:
    """Whether the gate matches at position 0, as a one-pattern RE2 set anchored there.

    The set answers the same question as ``Match(ANCHOR_START, ...)`` about
    position 0 but returns no span: about 0.2 us less per line (0.8 against
    1.0 on COMBINEDAPACHELOG lines, 0.47 against 0.61 on URL paths), most of
    it the binding's work converting arguments and results.
    """
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    at_start = _re2.Set(_AT_START, options)
    if at_start.Add(text.encode("utf-8")) != 0 or not at_start.Compile():
        return None
    return at_start.Match


def _group_order(groupindex: dict[str, int], names: Sequence[str]) -> tuple[int, ...] | None:
    """Group numbers for the captures, or None when ``groups()`` is already in that order."""
    numbers = tuple(groupindex[name] for name in names)
    if numbers == tuple(range(1, len(names) + 1)):
        return None
    return numbers


class Program:
    """One compiled grok expression; ``search`` returns capture texts or None."""

    __slots__ = ("translation", "engine", "_gate", "_gate1", "_at0", "_at0_1", "_rx", "_timeout_rx",
                 "_order", "_empty", "_lead", "_native")

    def __init__(self, translation: Translation, *, native: bool = True) -> None:
        self.translation = translation
        names = [c.group for c in translation.captures]
        self._gate = _re2_gate("(?s)" + translation.gate) if translation.gate is not None else None
        # Lines without a newline (nearly all) use plain anchors: with (?m:^) RE2 has to
        # search for where the match starts; with ^ it knows.
        single = translation.gate_single_line
        self._gate1 = self._gate
        if single is not None and self._gate is not None:
            self._gate1 = _re2_gate("(?s)" + single) or self._gate
        # The same two programs as sets anchored at 0, for the first try of _gate_start.
        self._at0 = self._at0_1 = None
        if self._gate is not None and translation.gate is not None:
            self._at0 = self._at0_1 = _re2_at_start("(?s)" + translation.gate)
            if self._gate1 is not self._gate and single is not None:
                self._at0_1 = _re2_at_start("(?s)" + single)
        self._rx: re.Pattern[str] | None = None
        self._timeout_rx: regex.Pattern[str] | None = None
        self._empty: Groups = ()
        #: Recent evidence that matches start at position 0 (> 0: try there first).
        self._lead = 0
        if self._gate is not None and translation.audited:
            try:
                self._rx = compile_extraction(translation.regex, re.ASCII | re.DOTALL)
            except re.error:
                pass          # RE2-only syntax such as \p{L}: extract with ``regex``
        try:
            if self._rx is not None:
                self.engine = "gated"
                groupindex = dict(self._rx.groupindex)
            else:
                self._timeout_rx = regex.compile(translation.regex, regex.ASCII | regex.V0 | regex.DOTALL)
                self.engine = "gated-timeout" if self._gate is not None else "timeout"
                groupindex = dict(self._timeout_rx.groupindex)
        except regex.error as exc:
            raise GrokSyntaxError(f"invalid grok expression {translation.expression!r}: "
                                  f"{exc}") from None
        self._order = _group_order(groupindex, names)
        #: The gated engine's gate and extraction in one native call, when the
        #: native module is installed and the expression has an exact PCRE2 form
        #: (logpipe/filters/grok/native.py); None: RE2 and ``re`` as above.
        self._native = (native_matcher(translation.regex, names)
                        if native and self.engine == "gated" else None)

    @property
    def native(self) -> bool:
        """Whether ``search`` runs the native matcher first."""
        return self._native is not None

    def _gate_start(self, gate: _re2.RE2, at0: Callable[[bytes], list[int]] | None, data: bytes) -> int:
        """Where RE2's leftmost match starts (-1: no match anywhere).

        Most lines match from their first character. When recent lines did, RE2
        first tries a match anchored there: if one exists it is the leftmost (0 is
        the smallest start) and RE2 needs no reverse pass to find where it begins,
        about 40% of the gate's cost. The score keeps this from costing lines of a
        pattern that mostly match elsewhere, or not at all.
        """
        lead = self._lead
        if lead >= 0:
            if (at0(data) if at0 is not None else gate.Match(_AT_START, data, 0, len(data))[0][0] == 0):
                if lead < _LEAD_MAX:
                    self._lead = lead + 1
                return 0
            start: int = gate.Match(_UNANCHORED, data, 0, len(data))[0][0]
            self._lead = lead - 1
            return start
        start = gate.Match(_UNANCHORED, data, 0, len(data))[0][0]
        if start == 0:
            self._lead = lead + 1
        elif lead > _LEAD_MIN:
            self._lead = lead - 1
        return start

    def search(self, text: str, timeout: float | None) -> Groups | None:
        """Capture texts in the order of ``translation.captures`` (None for unset groups).

        ``timeout`` is in seconds (None: unbounded); it only applies to the
        backtracking ``regex`` engine. Raises GrokTimeout.
        """
        native = self._native
        if native is not None:
            try:
                return native.search(text)
            except ValueError:      # PCRE2 gave up, or a lone surrogate: ask re below
                pass
        start = 0
        gate = self._gate1
        if gate is not None:
            at0 = self._at0_1
            if "\n" in text and self._gate is not None:
                gate, at0 = self._gate, self._at0
            if text.isascii():
                data = text.encode("ascii")
                start = self._gate_start(gate, at0, data)
                if start < 0:
                    return None
            else:
                data = text.encode("utf-8", "surrogatepass")
                span = gate.Match(_UNANCHORED, data, 0, len(data))[0]
                if span[0] < 0:
                    return None
                try:
                    start = len(data[:span[0]].decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:    # a start inside a broken sequence
                    start = -1
        rx = self._rx
        if rx is not None:
            m = rx.match(text, start) if start >= 0 else rx.search(text)
        else:
            try:
                if gate is not None and start >= 0:
                    m = self._timeout_rx.match(text, start, timeout=timeout)  # type: ignore[union-attr]
                else:
                    m = self._timeout_rx.search(text, timeout=timeout)  # type: ignore[union-attr]
            except TimeoutError:
                raise GrokTimeout(self.translation.expression) from None
        if m is None:
            return None
        order = self._order
        if order is None:
            return m.groups()
        if len(order) == 1:
            return (m.group(order[0]),)
        return m.group(*order)


@lru_cache(maxsize=1024)
def _compile_cached(translation: Translation) -> Program:
    return Program(translation)


def compile_program(translation: Translation) -> Program:
    """A compiled program, shared by every filter instance with the same translation."""
    return _compile_cached(translation)
