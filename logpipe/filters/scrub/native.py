"""The scrub filter's event check in the native module (``ScrubCheck``, native/src/scrub.rs).

The Python check (:meth:`.EventPrefilter.scan_batch`) serializes every event to
JSON, scans the joined batch and maps each trigger back to the string it lies
in. The native check walks each event's dicts and lists instead and searches
every string value on its own with the same triggers, written here for raw text
rather than JSON text; the answer is the same kind of plan (:data:`.Plan`), so
:meth:`.Scrubber._dict_hits` walks and masks exactly as before.

What makes a plan correct is a superset argument, kind by kind: each kind's
trigger matches somewhere in every text in which that kind's mask
(:mod:`.patterns`) matches, so a string the plan leaves out (or a kind it leaves
out for a string) is one the mask would leave unchanged, and naming more than
needed only costs a look. Case is where the engines differ: the masks use
``re`` on ``str`` with IGNORECASE for the secret names, which matches four
letters outside ASCII to ASCII ones (``İ``/``ı`` to ``i``, ``ſ`` to ``s``, the
Kelvin sign to ``k``). The triggers spell every letter as an explicit class
holding those too (:data:`FOLDS`, checked against ``re`` over every code point
by the tests), so text outside ASCII needs no detour. Keys are checked as
:meth:`.Scrubber.is_secret_name` normalizes them; a key outside ASCII is always
named (``str.lower`` turns the Kelvin sign into ``k``), for that method to decide.
"""
from __future__ import annotations

from typing import Any, Iterable

from logpipe.core.native import native_module
from logpipe.filters.scrub.patterns import AWS_KEY, BEARER, CARD, EMAIL, JWT, SECRET

#: Each kind's bit in the native answers.
KIND_BITS: dict[str, int] = {SECRET: 1, EMAIL: 2, BEARER: 4, JWT: 8, AWS_KEY: 16, CARD: 32}
#: Characters outside ASCII that ``re`` (IGNORECASE, str patterns) takes for an ASCII one.
FOLDS: dict[str, str] = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}

_TRIGGERS: dict[str, str] = {
    # a character of an address on each side: "@timestamp" is no e-mail
    EMAIL: r"[A-Za-z0-9._%+\-](?:@|%40)[A-Za-z0-9\-]",
    BEARER: "[Bb][Ee][Aa][Rr][Ee][Rr]",
    JWT: "eyJ",
    AWS_KEY: "AKIA|ASIA",
    CARD: r"[0-9](?:[ \-]?[0-9]){12}",
}


def _char(ch: str) -> str:
    """One character for the ``regex`` crate: letters and digits as they are, the
    rest as a hex escape (valid in and out of classes)."""
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):X}}}"


def letter_class(ch: str) -> str:
    """``ch`` in any case ``re`` would match it in under IGNORECASE."""
    variants = {ch, ch.lower(), ch.upper(), *FOLDS.get(ch.lower(), "")}
    if len(variants) == 1:
        return _char(ch)
    return "[" + "".join(_char(c) for c in sorted(variants)) + "]"


def secret_trigger(names: Iterable[str]) -> str:
    """A secret pair's trigger: a name's letters in order, any ``-``/``_`` between
    them, then an optional quote, spaces or tabs and ``=`` or ``:``. The mask
    (``_SECRET`` in :mod:`.patterns`) allows at most one ``-``/``_`` between the
    name's parts and the same characters after it."""
    alternatives = sorted({"[-_]*".join(letter_class(ch) for ch in name.lower() if ch not in "-_")
                           for name in names})
    return f"(?:{'|'.join(alternatives)})[-_]*[\"']?[ \\t]*[=:]"


def triggers(kinds: Iterable[str], secret_params: Iterable[str]) -> list[tuple[str, int]]:
    """(pattern, kind bit) for each kind a mask could act on."""
    kinds = frozenset(kinds)
    params = [n for n in secret_params if n]
    found: list[tuple[str, int]] = []
    if SECRET in kinds and params:
        found.append((secret_trigger(params), KIND_BITS[SECRET]))
    for kind, pattern in _TRIGGERS.items():
        if kind in kinds:
            found.append((pattern, KIND_BITS[kind]))
    return found


#: The plan for each combination of kind bits (index 0: nothing to do).
PLANS: tuple[frozenset[str], ...] = tuple(
    frozenset(kind for kind, bit in KIND_BITS.items() if bits & bit) for bits in range(64))


def native_check(kinds: Iterable[str], secret_params: Iterable[str], exact: Iterable[str],
                 suffixes: Iterable[str], shortest: int) -> Any:
    """The native module's ``ScrubCheck`` for these settings, or None when the
    module is absent (or turned off) or the settings are ones it does not take:
    secret parameter names outside ASCII, whose case folding only ``re`` knows.

    ``exact`` and ``suffixes`` are the normalized secret field names (suffixes
    empty unless a key ending in one is a secret too); ``shortest``: strings
    shorter than this hold nothing to mask."""
    module = native_module()
    if module is None or not hasattr(module, "ScrubCheck"):
        return None
    params = list(secret_params)
    if not all(n.isascii() for n in params):
        return None
    return module.ScrubCheck(triggers(kinds, params), sorted(set(exact)), sorted(set(suffixes)),
                             KIND_BITS[SECRET], shortest, list(PLANS))
