"""The whole-event check that lets most events skip the scrubbing walk."""
from __future__ import annotations

import re
from typing import Any, Iterable

import orjson

from logpipe.filters.patternset import PatternSet, available_engines
from logpipe.filters.scrub.patterns import AWS_KEY, BEARER, CARD, EMAIL, JWT, SECRET


def _letters_pattern(name: str) -> str:
    """``access_token`` as a pattern that ignores any ``-``/``_`` between letters."""
    letters = [re.escape(ch) for ch in name.lower() if ch not in "-_"]
    return "[-_]*".join(letters)


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
        engine = engine or available_engines()[0]
        if engine == "re" or not all(n.isascii() for n in names):
            return
        patterns: list[tuple[str, str]] = []
        if names:
            # A secret is a name followed by = or : (a pair in text, or a key: "name":),
            # seen through JSON's escaping: an optional (escaped) quote, spaces or
            # escaped tabs. "/etc/passwd" or "SELECT password FROM" is neither.
            letters = "|".join(_letters_pattern(n) for n in names)
            patterns.append((SECRET, f"(?i:{letters})[-_]*(?:\\\\?[\"'])?(?: |\\\\t)*[=:]"))
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
        self._set = PatternSet([(p, False) for _, p in patterns], engine=engine).match_bytes \
            if patterns else False

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


_NOTHING: frozenset[str] = frozenset()
#: Secret field names: whether the walk is needed for them rides on SECRET.
_FIELDS = frozenset({SECRET})


def _opaque(value: Any) -> None:
    """Values orjson cannot write are not strings, dicts or lists: the walk skips them too."""
    return None
