"""``convert_datatype``: text to ``int`` or ``float`` the way Logstash's dissect does it.

Logstash reads the value as a decimal number (Java's ``BigDecimal`` grammar: a
sign, digits with an optional point, an optional exponent; no spaces, no
``NaN``) and keeps it exactly: ``int`` truncates towards zero and has no size
limit, ``float`` keeps every digit.

Here a number becomes the Python type every other filter expects (``int``,
``float``) whenever that type holds it exactly and every serializer can write
it. Otherwise it becomes a :class:`decimal.Decimal`, which keeps the digits and
which :mod:`logpipe.core.codec` writes as a JSON number: an integer beyond the
64-bit range (orjson refuses those) or a float whose digits a double would
round. An integer with more than :data:`MAX_DIGITS` digits is refused (the
event is tagged), so a line such as ``1e999999999`` cannot make the filter
build a number the size of the memory.
"""
from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

#: Java ``BigDecimal(String)`` accepts exactly this (ASCII digits).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What orjson (and so every output) can write as an integer.
_INT_MIN, _INT_MAX = -(2 ** 63), 2 ** 64 - 1
MAX_DIGITS = 1000

TYPES = ("int", "float")


class Uncoercible(ValueError):
    """The value is no number (or too large a one to build)."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise Uncoercible(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Uncoercible(value)
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Uncoercible(value)
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise Uncoercible(value) from None
    raise Uncoercible(value)


def to_int(value: Any) -> int | Decimal:
    """Truncate towards zero; an int when it fits 64 bits, else an exact Decimal."""
    number = _decimal(value)
    if number.adjusted() >= MAX_DIGITS:
        raise Uncoercible(value)
    whole = int(number.to_integral_value(rounding=ROUND_DOWN))
    if _INT_MIN <= whole <= _INT_MAX:
        return whole
    return Decimal(whole)


def to_float(value: Any) -> float | Decimal:
    """A float when a double holds the number exactly as written, else a Decimal."""
    number = _decimal(value)
    as_float = float(number)
    if as_float not in (float("inf"), float("-inf")) and Decimal(repr(as_float)) == number:
        return as_float
    return number


CONVERTERS = {"int": to_int, "float": to_float}
