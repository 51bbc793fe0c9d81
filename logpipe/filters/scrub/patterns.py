"""What sensitive data looks like inside free text, and how it is masked.

Each kind is one alternative of a combined regular expression, so a string is
scanned once. Which alternatives take part is decided per string by cheap
substring checks (no ``@``: no e-mail alternative; no ``eyJ``: no JWT; ...),
and the combined expression for each such selection is compiled once and kept.
Most log text fails every check and is never scanned at all.

Masks have one shape, ``[REDACTED:<kind>]``; e-mail addresses become the hex
HMAC-SHA256 of the lower-cased address instead, so they still join.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from logpipe.core.native import native_module

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    re2 = None

EMAIL, CARD, JWT, BEARER, AWS_KEY, SECRET = "email", "card", "jwt", "bearer", "aws_key", "secret"


def mask(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def luhn_valid(digits: str) -> bool:
    total = 0
    parity = len(digits) % 2
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _param_names(names: Iterable[str]) -> str:
    """``access_token`` also matches ``access-token`` and ``accesstoken``."""
    alts = []
    for name in sorted(set(n.lower() for n in names), key=len, reverse=True):
        parts = [re.escape(p) for p in re.split(r"[-_]", name) if p]
        alts.append("[-_]?".join(parts))
    return "|".join(alts)


# Each alternative's last named group tells the kind (``Match.lastgroup``).
_EMAIL = (r"(?P<email>[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
          r"\.[A-Za-z]{2,})")
_CARD = r"(?<![0-9])(?P<card>[0-9](?:[ \-]?[0-9]){12,18})(?![0-9])"
_JWT = r"(?P<jwt>eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*)"
_BEARER = r"(?P<bearer_p>\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+)(?P<bearer>[A-Za-z0-9._~+/\-]+=*)"
_AWS_KEY = r"(?P<aws_key>\b(?:AKIA|ASIA)[A-Z0-9]{16}\b)"
_SECRET = (r"(?P<secret_p>(?<![A-Za-z0-9])(?i:{names})[\"']?[ \t]*[=:][ \t]*)"
           r"(?P<secret>\"[^\"\n]*\"|'[^'\n]*'|"
           r"(?i:(?:bearer|basic|token|digest)[ \t]+)?[^\s&#\"',;]+)")


class TextMasker:
    """Masks one string; counts what it did into a caller's dict."""

    def __init__(self, kinds: Iterable[str], secret_params: Iterable[str],
                 hash_email: Callable[[str], str]) -> None:
        self.kinds = frozenset(kinds)
        names = _param_names(secret_params)
        self._alternatives: dict[str, str] = {
            SECRET: _SECRET.replace("{names}", names) if names else "",
            BEARER: _BEARER, JWT: _JWT, AWS_KEY: _AWS_KEY, EMAIL: _EMAIL, CARD: _CARD,
        }
        self._hint = (fast_search(f"(?i:{names})") if names and SECRET in self.kinds else None)
        #: What an e-mail address (as written in the text) becomes: its keyed hash.
        self._email_out: Callable[[str], str] = lambda address: hash_email(unquote(address).lower())
        self._compiled: dict[int, re.Pattern[str] | None] = {}
        self._finders: dict[int, Any] = {}
        #: Whether ASCII texts are searched natively (see :meth:`_finder`).
        self._native = native_module() is not None and self._alternatives[SECRET].isascii()
        self._order = [k for k in (SECRET, BEARER, JWT, AWS_KEY, EMAIL, CARD)
                       if k in self.kinds and self._alternatives[k]]
        self._bits = {kind: 1 << i for i, kind in enumerate(self._order)}

    def _selection(self, text: str, kinds: frozenset[str], loose: bool = False) -> int:
        """Which alternatives can possibly match, from substring checks alone;
        ``loose``: without the two searches (secret names, a run of digits), for a
        text the native search takes (dropping an alternative that cannot match
        changes no match; with PCRE2 keeping one costs less than the searches)."""
        bits, sel = self._bits, 0
        if EMAIL in kinds and ("@" in text or "%40" in text):
            sel |= bits[EMAIL]
        if JWT in kinds and "eyJ" in text:
            sel |= bits[JWT]
        if BEARER in kinds and ("earer" in text or "EARER" in text):
            sel |= bits[BEARER]
        if AWS_KEY in kinds and ("AKIA" in text or "ASIA" in text):
            sel |= bits[AWS_KEY]
        if (SECRET in kinds and self._hint is not None and ("=" in text or ":" in text)
                and (loose or self._hint(text))):
            sel |= bits[SECRET]
        if CARD in kinds and len(text) >= 13 and (loose or _digit_run(text)):
            sel |= bits[CARD]
        return sel

    def _regex(self, sel: int) -> re.Pattern[str] | None:
        regex = self._compiled.get(sel, False)
        if regex is False:
            parts = [self._alternatives[k] for k in self._order if sel & self._bits[k]]
            regex = re.compile("|".join(parts)) if parts else None
            self._compiled[sel] = regex
        return regex  # type: ignore[return-value]

    def _finder(self, sel: int) -> Any:
        """The native search for a selection (see native/src/mask.rs), or None: no
        native module, or a pattern outside ASCII (whose caseless letters may match
        ASCII ones in Python's ``re``, as the Kelvin sign matches ``k``)."""
        finder = self._finders.get(sel, False)
        if finder is False:
            finder = None
            native = native_module()
            regex = self._regex(sel)
            if native is not None and regex is not None and regex.pattern.isascii():
                kinds = [k for k in self._order if sel & self._bits[k]]
                finder = (native_finder(native, regex, kinds), kinds)
            self._finders[sel] = finder
        return finder

    def _spans(self, text: str, sel: int) -> list[tuple[str, int, int, int, int]]:
        """Every match in ``text`` of the selection's expression: (kind, start, end,
        kind start, kind end), as ``re.finditer`` finds them; natively for ASCII text."""
        if text.isascii():
            finder = self._finder(sel)
            if finder is not None:
                search, kinds = finder
                try:
                    return [(kinds[i], start, end, ks, ke) for i, start, end, ks, ke in search.spans(text)]
                except ValueError:  # PCRE2's match limit: re decides
                    pass
        regex = self._regex(sel)
        assert regex is not None
        return re_spans(regex, text)

    def __call__(self, text: str, counts: dict[str, int], kinds: frozenset[str] | None = None) -> str:
        """``text`` with its sensitive parts replaced; ``kinds`` narrows what to look for
        (to what an :class:`EventPrefilter` saw in the whole event)."""
        native_ascii = self._native and text.isascii()
        sel = self._selection(text, self.kinds if kinds is None else kinds, native_ascii)
        if not sel:
            return text
        spans: list[tuple[str, int, int, int, int]] | None = None
        if native_ascii:
            finder = self._finder(sel)
            if finder is not None:
                # The whole mask natively: the same matches, replacements and counts as
                # the loop below (tests/unit/filters/test_scrub_mask_native.py).
                try:
                    return finder[0].mask(text, self._email_out, counts)
                except ValueError:  # PCRE2's match limit: re decides, without a second try
                    regex = self._regex(sel)
                    assert regex is not None
                    spans = re_spans(regex, text)
        edits: list[tuple[int, int, str]] = []
        for kind, start, end, ks, ke in self._spans(text, sel) if spans is None else spans:
            if kind == EMAIL:
                out = self._email_out(text[ks:ke])
            elif kind == CARD:
                raw = text[ks:ke]
                digits = raw.replace(" ", "").replace("-", "")
                if not luhn_valid(digits) or (len(raw) == len(digits) and _looks_like_time(digits)):
                    continue
                out = mask(CARD)
            elif kind == SECRET:
                # The name and separator before the value (``secret_p``) stay.
                quote = text[ks] if text[ks] in "\"'" else ""
                out = text[start:ks] + quote + mask(SECRET) + quote
            elif kind == BEARER:
                out = text[start:ks] + mask(BEARER)
            else:
                out = mask(kind)
            counts[kind] = counts.get(kind, 0) + 1
            edits.append((start, end, out))
        return splice(text, edits)


def native_finder(native: Any, regex: re.Pattern[str], kinds: list[str]) -> Any:
    """``logpipe_native.MaskFinder`` for a combined mask expression compiled for
    ``re``, whose matches report the position in ``kinds`` of their kind's group.
    ``\\s`` is widened to U+001C-U+001F, which Python counts as space and PCRE2
    does not; the rest of the expression means the same to both on ASCII text."""
    pattern = regex.pattern.replace("[^\\s", "[^\\s\\x1c-\\x1f")
    return native.MaskFinder(pattern, [regex.groupindex[k] for k in kinds], kinds)


def re_spans(regex: re.Pattern[str], text: str) -> list[tuple[str, int, int, int, int]]:
    """Every match of a combined mask expression in ``text``, with ``re``: (kind,
    start, end, kind start, kind end), the kind being the last group that matched."""
    out = []
    for m in regex.finditer(text):
        kind = m.lastgroup or ""
        out.append((kind, m.start(), m.end(), *m.span(kind)))
    return out


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) span replaced by its text; the spans in order
    and apart. ``text`` itself when there is none."""
    if not edits:
        return text
    pieces: list[str] = []
    last = 0
    for start, end, out in edits:
        pieces.append(text[last:start])
        pieces.append(out)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _looks_like_time(digits: str) -> bool:
    """An unseparated 13, 16 or 19 digit run starting with 1 is a Unix time in ms, us
    or ns (until 2033); a 14 digit run that reads as yyyyMMddHHmmss (1900 to 2099) is a
    compact date-time, common in request and build ids. No card network issues numbers
    of either shape (14 digit cards start with 30, 36, 38 or 39)."""
    if digits[0] == "1" and len(digits) in (13, 16, 19):
        return True
    if len(digits) != 14 or digits[:2] not in ("19", "20"):
        return False
    month, day, hour, minute, second = (int(digits[i:i + 2]) for i in range(4, 14, 2))
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


def fast_search(pattern: str) -> Callable[[str], bool]:
    """``pattern`` found anywhere in a text? RE2 when available: one linear pass, where
    ``re`` retries every alternative at every position."""
    if re2 is None:  # pragma: no cover - google-re2 is a dependency
        regex = re.compile(pattern)
        return lambda text: regex.search(text) is not None
    compiled = re2.compile(pattern)

    def search(text: str) -> bool:
        try:
            return compiled.search(text) is not None
        except UnicodeEncodeError:  # lone surrogates: let the exact scan decide
            return True
    return search


#: A card needs 13 digits close together; most text has no such run.
_digit_run = fast_search(r"[0-9](?:[ \-]?[0-9]){12}")
