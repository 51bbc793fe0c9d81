"""The whole-event check that lets most events skip the scrubbing walk."""
from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Any, Iterable, Union

import orjson

from logpipe.filters.patternset import PatternSet, available_engines
from logpipe.filters.scrub.patterns import AWS_KEY, BEARER, CARD, EMAIL, JWT, SECRET


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def _letters_pattern(name: str) -> str:
    """``access_token`` as a pattern that ignores any ``-``/``_`` between letters.

    The masks use ``re``, which under IGNORECASE also takes ``İ`` and ``ı`` for an
    ``i``; RE2 (the engine for text outside ASCII) folds the Kelvin sign and ``ſ``
    as ``re`` does, but not those two, so they are spelled out."""
    letters = [_I_LETTERS if ch == "i" else re.escape(ch) for ch in name.lower() if ch not in "-_"]
    return "[-_]*".join(letters)


#: The characters themselves: neither RE2 nor Hyperscan reads ``\u`` escapes.
_I_LETTERS = "(?:i|\u0130|\u0131)"


class EventPrefilter:
    """What could need scrubbing in this event? Decided on its JSON form at once.

    Serializing an event with orjson takes about a microsecond, and one
    native pass over the bytes (:class:`~logpipe.filters.patternset.PatternSet`:
    Hyperscan, else an RE2 set) looks for every trigger together: ``x@y``/``x%40y``
    (e-mail), ``eyJ`` (JWT), ``bearer``, ``AKIA``/``ASIA``, 13 digits close
    together (card), and any secret field or parameter name (its letters in
    order, ``-``/``_`` between them ignored, any case) followed by ``=`` or ``:``
    (what both a ``name=value`` pair in text and a JSON key ``"name":`` need; a
    quote or spaces may come between, as JSON writes them: ``\"``, `` ``, ``\t``).
    Every string value and
    every key appears in the JSON with those characters in the same order, so a
    kind that does not trigger cannot be in the event: an event that triggers
    nothing is not walked at all, and the walk of one that does looks only for
    the kinds that triggered. Whatever the check cannot handle (an event orjson
    refuses, non-ASCII names, neither native engine) answers "all kinds".
    """

    def __init__(self, kinds: Iterable[str], names: Iterable[str], engine: str | None = None) -> None:
        self.kinds = frozenset(kinds)
        names = sorted({n for n in names if n})
        self._set: Any = None
        self._set_kinds: list[str] = []
        self._patterns: list[str] = []
        self._ends: Any = None
        self._secret_id = -1
        engine = engine or available_engines()[0]
        if engine == "re" or not all(n.isascii() for n in names):
            return
        patterns: list[tuple[str, str]] = []
        if names:
            # A secret is a name followed by = or : (a pair in text, or a key: "name":),
            # seen through JSON's escaping: an optional (escaped) quote, spaces or
            # escaped tabs. "/etc/passwd" or "SELECT password FROM" is neither.
            # A key may also end in a newline: is_secret_name's "name$" takes
            # "password\n" ("password\\n": in the JSON).
            letters = "|".join(_letters_pattern(n) for n in names)
            patterns.append((SECRET, f"(?i:{letters})[-_]*(?:\\\\n[-_]*)?(?:\\\\?[\"'])?(?: |\\\\t)*[=:]"))
        if EMAIL in self.kinds:
            # a character of an address on each side: "@timestamp" is no e-mail
            patterns.append((EMAIL, r"(?i:[a-z0-9._%+\-](?:@|%40)[a-z0-9\-])"))
        if BEARER in self.kinds:
            patterns.append((BEARER, "(?i:bearer)"))
        if JWT in self.kinds:
            patterns.append((JWT, "eyJ"))
        if AWS_KEY in self.kinds:
            patterns.append((AWS_KEY, "AKIA|ASIA"))
        if CARD in self.kinds:
            patterns.append((CARD, r"[0-9](?:[ \-]?[0-9]){12}"))
        self._set_kinds = [kind for kind, _ in patterns]
        self._patterns = [pattern for _, pattern in patterns]
        self._secret_id = self._set_kinds.index(SECRET) if SECRET in self._set_kinds else -1
        pset = PatternSet([(p, False) for _, p in patterns], engine=engine, ends=True) if patterns else None
        self._set = pset.match_bytes if pset is not None else False
        # Placing a match by its last character needs names that cannot hold a quote,
        # a backslash or an escape (see scan_batch).
        if pset is not None and all(_PLAIN_NAME.fullmatch(n) for n in names):
            self._ends = pset.scan_ends

    def scan(self, data: dict[str, Any]) -> frozenset[str]:
        """The kinds that may be present (empty: the event can be left alone)."""
        rset = self._set
        if rset is None:
            return self.kinds | _FIELDS
        if rset is False:
            return _NOTHING
        try:
            raw = orjson.dumps(data, default=_opaque)
        except (TypeError, ValueError):
            return self.kinds | _FIELDS
        hits = rset(raw)
        if not hits:
            return _NOTHING
        kinds = self._set_kinds
        return frozenset([kinds[i] for i in hits])


    # --- a batch at once ----------------------------------------------------------------
    def scan_batch(self, datas: list[dict[str, Any]]) -> list[Plan]:
        """What each event of a batch needs, from one native scan of the whole batch.

        Each event is serialized as :meth:`scan` does, the batch joined by newlines
        and scanned once for every trigger, each match reporting where it ends.
        An event in which nothing ends is left alone. Otherwise the last character
        of each match names the string (a key or a value) the trigger lies in:
        the string around it, or, for a secret name followed by ``":`` (a key), the
        string that closes just before it. No trigger reaches across any other
        quote, nor across the newline between events (one that did would only
        name one string too many, which costs a look and changes nothing). The
        event's plan is the strings holding a trigger, with their kinds
        (:data:`Hits`); the walk then masks only those and looks only at those
        keys. A string whose JSON holds no trigger has nothing to mask (each
        trigger lies inside what its mask matches, see the class docstring), and a
        trigger found only in numbers (a float's long run of digits reads as a
        card) makes no walk at all. Whatever this cannot place exactly (text
        outside ASCII, an event orjson refuses, no positions from the engine,
        secret names with characters other than letters, digits, ``-`` and ``_``)
        gets :meth:`scan`'s answer for that event."""
        ends = self._ends
        if ends is None or len(datas) < 2:
            return [self.scan(d) for d in datas]
        raws: list[bytes] = []
        plans: list[Plan] = [_NOTHING] * len(datas)
        exact: list[int] = []
        for i, data in enumerate(datas):
            try:
                raws.append(orjson.dumps(data, default=_opaque))
            except (TypeError, ValueError):
                raws.append(b"")
                exact.append(i)
        buf = b"\n".join(raws)
        if not buf.isascii():
            exact.extend(i for i, raw in enumerate(raws) if not raw.isascii())
        found = ends(buf)
        if found:
            # where each event's JSON begins in buf
            bounds = list(accumulate((len(raw) + 1 for raw in raws), initial=0))
            per_event: dict[int, list[tuple[int, int]]] = {}
            for pattern_id, end in found:
                i = bisect_right(bounds, end - 1) - 1
                at = per_event.get(i)
                if at is None:
                    per_event[i] = [(pattern_id, end - 1 - bounds[i])]
                else:
                    at.append((pattern_id, end - 1 - bounds[i]))
            for i in exact:
                per_event.pop(i, None)
            kinds, secret = self._set_kinds, self._secret_id
            for i, at in per_event.items():
                plans[i] = _place(raws[i], at, kinds, secret)
        for i in exact:
            plans[i] = self.scan(datas[i])
        return plans


def _place(raw: bytes, found: list[tuple[int, int]], kinds: list[str], secret: int) -> Plan:
    """The strings of one event's JSON holding the triggers that end at the given
    characters, with their kinds."""
    texts: dict[int, str | None] = {}
    hits: dict[str, set[str]] = {}
    opens: dict[int, bool] = {}
    escapes = b"\\" in raw
    for pattern_id, last in found:
        opening = _quote_before(raw, last)
        if opening < 0:
            continue
        inside = opens.get(opening)
        if inside is None:
            # An even number of unescaped quotes before it: the quote opens a string.
            inside = opens[opening] = (_opens(raw, opening) if escapes
                                       else raw.count(b'"', 0, opening) % 2 == 0)
        if not inside:
            # Outside every string: a secret name ends a key ("name":), anything
            # else lies in a number.
            if pattern_id != secret:
                continue
            opening = _quote_before(raw, opening)
            if opening < 0:
                continue
        text = texts.get(opening, _UNSEEN)
        if text is _UNSEEN:
            closing = _quote_after(raw, opening + 1)
            text = None
            if closing >= 0:
                try:
                    text = orjson.loads(raw[opening:closing + 1])
                except orjson.JSONDecodeError:
                    return frozenset(kinds[p] for p, _ in found)
            texts[opening] = text
        if type(text) is str:
            seen = hits.get(text)
            if seen is None:
                hits[text] = {kinds[pattern_id]}
            else:
                seen.add(kinds[pattern_id])
    if not hits:
        return _NOTHING
    return {text: frozenset(seen) for text, seen in hits.items()}


#: The strings of an event that hold a trigger, each with the kinds found in it.
Hits = dict[str, frozenset[str]]
#: What to do with an event: walk all of it for these kinds (empty: nothing), or
#: visit only the strings named in the hits.
Plan = Union[frozenset[str], Hits]
_UNSEEN: Any = object()


def _escaped(buf: bytes, quote: int) -> bool:
    """Whether the quote at ``quote`` is preceded by an odd run of backslashes."""
    run = 0
    while buf[quote - 1 - run] == 92:
        run += 1
    return run % 2 == 1


def _quote_before(buf: bytes, pos: int) -> int:
    """The last unescaped quote before ``pos``, or -1. Inside a string that is its
    opening quote: no unescaped quote lies between it and any of its characters."""
    q = buf.rfind(b'"', 0, pos)
    while q >= 0 and _escaped(buf, q):
        q = buf.rfind(b'"', 0, q)
    return q


def _opens(raw: bytes, quote: int) -> bool:
    """Whether the unescaped quote at ``quote`` opens a string: an even number of
    unescaped quotes before it. Backslashes occur in orjson's output only inside
    strings, as escapes read left to right, so dropping the escaped backslashes
    leaves every remaining ``\\"`` an escaped quote."""
    head = raw[:quote].replace(b"\\\\", b"")
    return (head.count(b'"') - head.count(b'\\"')) % 2 == 0


def _quote_after(buf: bytes, pos: int) -> int:
    """The first unescaped quote from ``pos`` on, or -1 (inside a string: its closing quote)."""
    q = buf.find(b'"', pos)
    while q >= 0 and _escaped(buf, q):
        q = buf.find(b'"', q + 1)
    return q


_NOTHING: frozenset[str] = frozenset()
#: Secret field names: whether the walk is needed for them rides on SECRET.
_FIELDS = frozenset({SECRET})


def _opaque(value: Any) -> None:
    """Values orjson cannot write are not strings, dicts or lists: the walk skips them too."""
    return None
