"""Month, day and AM/PM names of a ``locale``, from Babel's CLDR data.

Logstash reads names through Java's locale data; CLDR is the same source, so
``dd MMMM yyyy`` reads ``14 juillet 1789`` under ``fr`` as it does there. A
locale is written as BCP 47 (``fr-FR``) or POSIX (``fr_FR``); no locale means
English, as Logstash falls back to English when the machine's locale is not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import get_day_names, get_month_names, get_period_names

from logpipe.errors import ConfigError

_WIDTHS: tuple[Literal["wide", "abbreviated"], ...] = ("wide", "abbreviated")
_CONTEXTS: tuple[Literal["format", "stand-alone"], ...] = ("format", "stand-alone")


@dataclass(frozen=True)
class Names:
    """Lower-cased name -> number (months 1-12, days 1-7 from Monday, 0 AM / 12 PM)."""

    months: dict[str, int]
    days: dict[str, int]
    periods: dict[str, int]

    def month(self, text: str) -> int | None:
        key = text.lower()
        return self.months.get(key) or self.months.get(key.rstrip("."))


def _add(table: dict[str, int], name: str, number: int) -> None:
    key = name.lower()
    table.setdefault(key, number)
    table.setdefault(key.rstrip("."), number)


def parse_locale(text: str | None) -> Locale:
    """``fr``, ``fr-FR``, ``fr_FR``; raises ConfigError for a locale Babel does not know."""
    if not text:
        return Locale("en")
    try:
        return Locale.parse(text.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(f"unknown locale {text!r}") from None


@lru_cache(maxsize=64)
def names_for(text: str | None) -> Names:
    locale = parse_locale(text)
    months: dict[str, int] = {}
    days: dict[str, int] = {}
    for width in _WIDTHS:
        for context in _CONTEXTS:
            for number, name in get_month_names(width, context, locale).items():
                _add(months, name, number)
            for index, name in get_day_names(width, context, locale).items():
                _add(days, name, index + 1)
    periods = {}
    for key, name in get_period_names(locale=locale).items():
        if key in ("am", "pm"):
            periods[name.lower()] = 0 if key == "am" else 12
    if locale.language == "en":
        months.setdefault("sept", 9)
    for name, hours in (("am", 0), ("pm", 12), ("a.m.", 0), ("p.m.", 12)):
        periods.setdefault(name, hours)
    return Names(months, days, periods)


def alternation(names: dict[str, int]) -> str:
    """A regex alternation of the names, longest first (``mars`` before ``mar``)."""
    return "|".join(re.escape(n) + r"\.?" if not n.endswith(".") else re.escape(n)
                    for n in sorted(names, key=len, reverse=True))
