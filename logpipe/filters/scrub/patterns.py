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
from typing import Callable, Iterable
from urllib.parse import unquote

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
        self._hash_email = hash_email
        self._compiled: dict[int, re.Pattern[str] | None] = {}
        self._order = [k for k in (SECRET, BEARER, JWT, AWS_KEY, EMAIL, CARD)
                       if k in self.kinds and self._alternatives[k]]
        self._bits = {kind: 1 << i for i, kind in enumerate(self._order)}

    def _selection(self, text: str, kinds: frozenset[str]) -> int:
        """Which alternatives can possibly match, from substring checks alone."""
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
                and self._hint(text)):
            sel |= bits[SECRET]
        if CARD in kinds and len(text) >= 13 and _digit_run(text):
            sel |= bits[CARD]
        return sel

    def _regex(self, sel: int) -> re.Pattern[str] | None:
        regex = self._compiled.get(sel, False)
        if regex is False:
            parts = [self._alternatives[k] for k in self._order if sel & self._bits[k]]
            regex = re.compile("|".join(parts)) if parts else None
            self._compiled[sel] = regex
        return regex  # type: ignore[return-value]

    def __call__(self, text: str, counts: dict[str, int], kinds: frozenset[str] | None = None) -> str:
        """``text`` with its sensitive parts replaced; ``kinds`` narrows what to look for
        (to what an :class:`EventPrefilter` saw in the whole event)."""
        sel = self._selection(text, self.kinds if kinds is None else kinds)
        if not sel:
            return text
        regex = self._regex(sel)
        assert regex is not None
        hash_email = self._hash_email

        def replace(m: re.Match[str]) -> str:
            kind = m.lastgroup or ""
            if kind == EMAIL:
                out = hash_email(unquote(m.group(EMAIL)).lower())
            elif kind == CARD:
                raw = m.group(CARD)
                digits = raw.replace(" ", "").replace("-", "")
                if not luhn_valid(digits) or (len(raw) == len(digits) and _looks_like_time(digits)):
                    return m.group(0)
                out = mask(CARD)
            elif kind == SECRET:
                value = m.group(SECRET)
                quote = value[0] if value[0] in "\"'" else ""
                out = m.group("secret_p") + quote + mask(SECRET) + quote
            elif kind == BEARER:
                out = m.group("bearer_p") + mask(BEARER)
            else:
                out = mask(kind)
            counts[kind] = counts.get(kind, 0) + 1
            return out

        return regex.sub(replace, text)


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
