"""Which of many regular expressions occur in a text, in one native pass.

Scrubbing and classification both ask the same question of every event: does
any of these dozens of patterns occur anywhere in this text? Hyperscan answers
it for all of them together in one linear scan (a quarter of a microsecond for
a 100-byte line, whatever the number of patterns); RE2's set matcher is the
second choice (one to two microseconds), Python's ``re`` the last.

Hyperscan lacks look-arounds and back-references. A pattern it refuses joins
the database as a *prefilter* (a looser pattern that matches whenever the real
one could), and a hit on it is confirmed with that one pattern alone on the
exact engine: RE2 when RE2 takes it, else ``re``. Every engine here runs in
linear time except ``re`` on those few confirmed patterns, which is where they
ran before.

Hyperscan ignores case for ASCII letters only, where RE2 and ``re`` also fold
other letters (``ſ`` is an ``s``, the Kelvin sign a ``k``): text that is not
pure ASCII goes to the RE2 set instead, so the answer is always the same set
of pattern indices, whichever engine gave it
(``tests/unit/filters/test_patternset_properties.py``). ``LOGPIPE_PATTERN_ENGINE``
(``hyperscan``, ``re2`` or ``re``) picks the engine for a whole process.

A set built with ``ends=True`` can also report *where* each pattern matched
(:attr:`PatternSet.scan_ends`: the end of every match, in one call over many
texts joined into one). Only Hyperscan gives that, and only when every pattern
is native to it; otherwise ``scan_ends`` is None and callers scan text by text
as before. (Hyperscan can also report where a match starts, but on the scrub
check's patterns that tracking made the scan twice as slow.)

:meth:`PatternSet.match_many` answers :attr:`PatternSet.match` for many texts at
once. Over a set with ``scan_ends`` it joins the ASCII texts with newlines, scans
them in one call and maps every match end back to its text; the few texts with a
match end are then asked again alone, so a match that crossed a newline into the
next text is no answer. A text alone sees a newline (or nothing) around it where
the joined scan sees the separator, and ``^``, ``$``, ``\\b`` and ``\\B`` read
both alike; a set with a pattern that tells them apart (``\\A``, ``\\Z``,
``\\z``) is scanned text by text. The answers are exactly those of ``match``.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from bisect import bisect_right
from itertools import accumulate
from pathlib import Path
from typing import Any, Callable, Iterable

hyperscan: Any
try:
    import hyperscan
except ImportError:  # hyperscan ships wheels for x86-64 Linux and macOS only
    hyperscan = None

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    re2 = None

#: (pattern, ignore case). Patterns are ``re``/RE2 syntax, searched with ``^``/``$``
#: at line ends (multi-line), ``.`` not matching a newline.
Spec = tuple[str, bool]
ENGINES = ("hyperscan", "re2", "re")


def available_engines() -> tuple[str, ...]:
    """The engines this process can use, best first (``LOGPIPE_PATTERN_ENGINE`` first)."""
    found = tuple(e for e in ENGINES if (e != "hyperscan" or hyperscan is not None)
                  and (e != "re2" or re2 is not None))
    preferred = os.environ.get("LOGPIPE_PATTERN_ENGINE", "")
    if preferred in found:
        return (preferred, *(e for e in found if e != preferred))
    return found


def _encode(text: str) -> bytes:
    # Lone surrogates (from undecodable input) cannot be UTF-8; they become "?".
    return text.encode("utf-8", "replace")


def _exact(pattern: str, ignore_case: bool, allow_re2: bool) -> Callable[[str], bool]:
    """One pattern alone, searched with RE2 when it takes the pattern, else ``re``."""
    flags = "(?im)" if ignore_case else "(?m)"
    if allow_re2 and re2 is not None:
        try:
            compiled = re2.compile(flags + pattern)
        except Exception:  # noqa: BLE001 - RE2 reports syntax it lacks as plain errors
            compiled = None
        if compiled is not None:
            def search_re2(text: str) -> bool:
                try:
                    return compiled.search(text) is not None
                except UnicodeEncodeError:
                    return compiled.search(_encode(text)) is not None
            return search_re2
    regex = re.compile(pattern, re.MULTILINE | (re.IGNORECASE if ignore_case else 0))
    return lambda text: regex.search(text) is not None


class PatternSet:
    """The indices of the patterns found in a text (in the order they were given)."""

    def __init__(self, specs: Iterable[Spec], engine: str | None = None, *, ends: bool = False) -> None:
        self.specs: list[Spec] = list(specs)
        #: Every match as (pattern index, end offset) in bytes, with Hyperscan's
        #: ASCII-only case folding, for many texts joined into one; None where this
        #: set cannot tell positions.
        self.scan_ends: Callable[[bytes], list[tuple[int, int]]] | None = None
        wanted = engine or available_engines()[0]
        if wanted not in available_engines():
            raise ValueError(f"pattern engine {wanted!r} is not available here")
        self.engine = wanted
        #: A ``scan_ends`` that :meth:`match_many` may use (see the module's docstring).
        self._joined_ends: Callable[[bytes], list[tuple[int, int]]] | None = None
        #: Indices of the patterns found in a text.
        self.match: Callable[[str], list[int]]
        #: The same for UTF-8 bytes (the scrub check scans an event's JSON).
        self.match_bytes: Callable[[bytes], list[int]]
        if not self.specs:
            self.match = _nothing
            self.match_bytes = _nothing
        elif wanted == "hyperscan":
            if re2 is not None:
                self._build_re2()
            else:
                self._build_re()
            self._build_hyperscan(self.match, self.match_bytes)
            if ends and self.native == len(self.specs):
                self._build_ends()
                if not any(_WHOLE_TEXT_ANCHOR.search(pattern) for pattern, _ in self.specs):
                    self._joined_ends = self.scan_ends
        elif wanted == "re2":
            self._build_re2()
        else:
            self._build_re()

    def match_many(self, texts: list[str]) -> dict[int, list[int]]:
        """``{i: self.match(texts[i])}`` for the texts where some pattern matched, in one
        scan where the set allows it (see the module's docstring)."""
        scan = self._joined_ends
        match = self.match
        out: dict[int, list[int]] = {}
        if scan is None or len(texts) < 2:
            for i, text in enumerate(texts):
                found = match(text)
                if found:
                    out[i] = found
            return out
        whole = "\n".join(texts)
        if whole.isascii() and all(texts):  # the usual case: every text joins the scan
            joined: list[int] | range = range(len(texts))
            parts = texts
        else:
            joined, parts, whole = [], [], ""
            for i, text in enumerate(texts):
                if text and text.isascii():
                    joined.append(i)
                    parts.append(text)
                else:
                    found = match(text)
                    if found:
                        out[i] = found
            if not parts:
                return out
            whole = "\n".join(parts)
        # after[k]: where the part after part k starts (part k ends one before, on
        # the separator).
        after = list(accumulate(map((1).__add__, map(len, parts))))
        for k in self._parts_with_ends(scan, whole.encode("ascii"), after):
            i = joined[k]
            found = match(texts[i])
            if found:
                out[i] = found
        return out

    @property
    def joinable(self) -> bool:
        """Whether :meth:`match_joined` may be used (else it is a ValueError)."""
        return self._joined_ends is not None

    def match_joined(self, joined: bytes, after: list[int], taken: list[int],
                     text: Callable[[int], str]) -> dict[int, list[int]]:
        """:meth:`match_many` for ASCII texts the caller joined with newlines already:
        ``after[k]`` is where the part after part ``k`` starts, ``taken[k]`` the
        index the answer for part ``k`` goes under, and ``text(taken[k])`` gives
        part ``k`` again, to be asked alone when a match ends in it."""
        scan = self._joined_ends
        if scan is None:
            raise ValueError("this pattern set cannot scan joined texts")
        out: dict[int, list[int]] = {}
        if not joined:
            return out
        match = self.match
        for k in self._parts_with_ends(scan, joined, after):
            i = taken[k]
            found = match(text(i))
            if found:
                out[i] = found
        return out

    @staticmethod
    def _parts_with_ends(scan: Callable[[bytes], list[tuple[int, int]]], joined: bytes,
                         after: list[int]) -> list[int]:
        """The parts of ``joined`` (bounded as ``after`` says) in which some match
        ends, in order."""
        seen: set[int] = set()
        for _pattern, end in scan(joined):
            k = bisect_right(after, end)
            # A match ending on the separator belongs to no part (nor would an empty
            # match at a part's first offset); every other end lies inside part k,
            # which starts where part k-1's ``after`` says.
            if k < len(after) and k not in seen and end > (after[k - 1] if k else 0):
                seen.add(k)
        return sorted(seen)

    # --- hyperscan ---------------------------------------------------------------------
    def _build_hyperscan(self, exact: Callable[[str], list[int]],
                         exact_bytes: Callable[[bytes], list[int]]) -> None:
        # Only ASCII text reaches the database (see the module's docstring).
        base = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        exprs = [pattern.encode("utf-8") for pattern, _ in self.specs]
        flags = [base | (hyperscan.HS_FLAG_CASELESS if ignore_case else 0) for _, ignore_case in self.specs]
        ids = list(range(len(self.specs)))
        confirm: dict[int, Callable[[str], bool]] = {}
        always: list[tuple[int, Callable[[str], bool]]] = []
        db: Any = _hs_database(exprs, ids, flags)
        if db is None:
            # Some pattern is beyond Hyperscan: find which, one by one (start-up only).
            keep = []
            for i in ids:
                pattern, ignore_case = self.specs[i]
                if _hs_database([exprs[i]], [0], [flags[i]]) is not None:
                    keep.append(i)
                elif _hs_database([exprs[i]], [0], [flags[i] | hyperscan.HS_FLAG_PREFILTER]) is not None:
                    flags[i] |= hyperscan.HS_FLAG_PREFILTER
                    keep.append(i)
                    confirm[i] = _exact(pattern, ignore_case, allow_re2=True)
                else:
                    always.append((i, _exact(pattern, ignore_case, allow_re2=True)))
            exprs, flags, ids = [exprs[i] for i in keep], [flags[i] for i in keep], keep
            db = _hs_database(exprs, ids, flags) if keep else None
        self.native = len(exprs) - len(confirm)
        scan = _scanner(db) if db is not None else None

        def match(text: str) -> list[int]:
            if not text.isascii():
                return exact(text)
            found: list[int] = []
            if scan is not None:
                scan(text.encode("ascii"), _collect, 0, found)  # positional: keywords cost 0.3 µs
                if confirm and found:
                    found = [i for i in found if i not in confirm or confirm[i](text)]
            for i, search in always:
                if search(text):
                    found.append(i)
            return found

        def match_bytes(data: bytes) -> list[int]:
            if not data.isascii():
                return exact_bytes(data)
            if confirm or always or scan is None:
                return match(data.decode("ascii"))
            found: list[int] = []
            scan(data, _collect, 0, found)
            return found
        self.match = match
        self.match_bytes = match_bytes

    def _build_ends(self) -> None:
        """A second database that reports every match's end.

        Without single-match every occurrence calls back, and the caller can scan
        many texts joined into one and tell them apart by offset. A set whose
        patterns do not compile that way (or one that can match the empty text,
        which would report at every offset) simply has no ``scan_ends``."""
        flags = [hyperscan.HS_FLAG_MULTILINE | (hyperscan.HS_FLAG_CASELESS if ignore_case else 0)
                 for _, ignore_case in self.specs]
        exprs = [pattern.encode("utf-8") for pattern, _ in self.specs]
        db = _hs_database(exprs, list(range(len(exprs))), flags)
        if db is None:
            return
        scan = _scanner(db)

        def scan_ends(data: bytes) -> list[tuple[int, int]]:
            found: list[tuple[int, int]] = []
            scan(data, _collect_end, 0, found)
            return found
        self.scan_ends = scan_ends

    # --- RE2 set, then re ----------------------------------------------------------------
    def _build_re2(self) -> None:
        rset = re2.Set.SearchSet(re2.Options())
        in_set: list[int] = []
        rest: list[tuple[int, Callable[[str], bool]]] = []
        for i, (pattern, ignore_case) in enumerate(self.specs):
            try:
                rset.Add(("(?im)" if ignore_case else "(?m)") + pattern)
            except Exception:  # noqa: BLE001 - RE2 reports syntax it lacks as plain errors
                rest.append((i, _exact(pattern, ignore_case, allow_re2=False)))
                continue
            in_set.append(i)
        if in_set:
            rset.Compile()
        set_match = rset.Match if in_set else None
        self.native = len(in_set)

        def match(text: str) -> list[int]:
            found: list[int] = []
            if set_match is not None:
                try:
                    hits = set_match(text)
                except UnicodeEncodeError:
                    hits = set_match(_encode(text))
                if hits:
                    found = [in_set[h] for h in hits]
            if rest:
                plain = text.decode("utf-8", "replace") if type(text) is bytes else text
                for i, search in rest:
                    if search(plain):
                        found.append(i)
            return found
        self.match = self.match_bytes = match  # type: ignore[assignment]

    def _build_re(self) -> None:
        each = [(i, _exact(p, ic, allow_re2=False)) for i, (p, ic) in enumerate(self.specs)]
        self.native = 0
        self.match = lambda text: [i for i, search in each if search(text)]
        self.match_bytes = lambda data: self.match(data.decode("utf-8", "replace"))


#: Anchors at the very start or end of a text: in a joined scan they would see the
#: whole joined text instead. (An escaped backslash before an A, Z or z is refused
#: too, which only costs speed.)
_WHOLE_TEXT_ANCHOR = re.compile(r"\\[AZz]")


def _nothing(_text: str | bytes) -> list[int]:
    return []


def _collect(pattern_id: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
    found.append(pattern_id)


def _collect_end(pattern_id: int, _start: int, end: int, _flags: int,
                 found: list[tuple[int, int]]) -> None:
    found.append((pattern_id, end))


def _scanner(db: Any) -> Callable[[bytes, Callable[..., None], int, Any], None]:
    """``db.scan`` that also works while another thread scans with ``db``.

    A database's own scratch space serves one scan at a time, and the scan lets
    other threads run meanwhile: a second thread scanning the same database (a
    pattern set shared by a filter and the scrub step of an output, say) gets
    ScratchInUseError. That thread then scans with scratch of its own, made once
    per thread; the usual, lone scan pays nothing for this."""
    scan = db.scan
    local = threading.local()

    def scan_safely(data: bytes, callback: Callable[..., None], flags: int, context: Any) -> None:
        try:
            scan(data, callback, flags, context)  # positional: keywords cost 0.3 µs
            return
        except hyperscan.ScratchInUseError:
            pass
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = hyperscan.Scratch(db)
        scan(data, callback, flags, context, scratch)
    return scan_safely


def _hs_database(exprs: list[bytes], ids: list[int], flags: list[int]) -> Any:
    """A block-mode database of the expressions, or None when Hyperscan refuses one.

    Compiling the signature lists takes a few tenths of a second, in every worker at
    every start; a compiled database is kept in ``~/.cache/logpipe/hyperscan`` (or
    ``$LOGPIPE_CACHE_DIR/hyperscan``) under a digest of what went into it, and loaded
    from there in microseconds next time. An unusable cache is simply not used.
    """
    key = hashlib.sha256(repr((_HS_VERSION, exprs, ids, flags)).encode()).hexdigest()[:32]
    path = _cache_dir() / f"{key}.hsdb"
    try:
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        return db
    except (OSError, hyperscan.error, TypeError, ValueError):
        pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
    except hyperscan.error:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(hyperscan.dumpb(db))
        os.replace(tmp, path)
    except OSError:
        pass
    return db


_HS_VERSION = getattr(hyperscan, "__version__", "") if hyperscan is not None else ""


def _cache_dir() -> Path:
    base = os.environ.get("LOGPIPE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "logpipe")
    return Path(base) / "hyperscan"
