"""The scanning expression of the kv filter, built as Logstash builds it.

One expression finds every pair: a key, the value separator (with optional
spaces around it unless ``whitespace`` is strict), an optional value, then a
field separator or the end of a line. A key is a run of characters that are
neither separator; a value is a quoted string (``"..."``, ``'...'``), a
bracketed one (``(...)``, ``[...]``, ``<...>`` when ``include_brackets``) or a
run up to the next field separator. A backslash escapes the next character
anywhere (``cruel\\ world`` is one value) and stays in the text. When either
split is given as a pattern, keys and plain values end where a separator
pattern matches instead.

The expression runs in the ``regex`` module, which takes a time budget per
call: the split patterns are arbitrary user regexes.
"""
from __future__ import annotations

import regex

from logpipe.errors import ConfigError
from logpipe.filters.kv.config import KvConfig

_ESCAPED = r"\\."          # a backslash and the character it escapes


def char_class(chars: str) -> str:
    """The body of ``[...]`` for a setting listing characters.

    Logstash puts the setting inside a character class as it is; here every
    character stands for itself (so ``[]`` or ``^`` cannot break the class)
    while a backslash escape (``\\t``, ``\\s``, ``\\|``) keeps its regex meaning.
    """
    out: list[str] = []
    i = 0
    while i < len(chars):
        if chars[i] == "\\" and i + 1 < len(chars):
            out.append(chars[i:i + 2])
            i += 2
        else:
            out.append(regex.escape(chars[i], special_only=False))
            i += 1
    return "".join(out)


def _compile(text: str, what: str) -> regex.Pattern[str]:
    try:
        return regex.compile(text, regex.V0 | regex.MULTILINE)
    except regex.error as exc:
        raise ConfigError(f"kv: bad {what}: {exc}") from None


class Scanner:
    """The compiled expressions of one filter."""

    __slots__ = ("pairs", "splitter")

    def __init__(self, cfg: KvConfig) -> None:
        if cfg.field_split_pattern is not None:
            _compile(cfg.field_split_pattern, "field_split_pattern")
            fs = f"(?:{cfg.field_split_pattern})"
        else:
            fs = f"[{char_class(cfg.field_split)}]"
        if cfg.value_split_pattern is not None:
            _compile(cfg.value_split_pattern, "value_split_pattern")
            vs = f"(?:{cfg.value_split_pattern})"
        else:
            vs = f"[{char_class(cfg.value_split)}]"
        if cfg.whitespace == "lenient":
            vs = f"(?: *{vs} *)"
        if cfg.field_split_pattern is not None or cfg.value_split_pattern is not None:
            key = f"((?:(?!{vs}|{fs})(?:{_ESCAPED}|.))+)"
        else:
            key = f"((?:{_ESCAPED}|[^{char_class(cfg.value_split)}{char_class(cfg.field_split)}])+)"
        quotes = [('"', '"'), ("'", "'")]
        if cfg.include_brackets:
            quotes += [("(", ")"), ("[", "]"), ("<", ">")]
        values = [f"{regex.escape(o)}((?:{_ESCAPED}|[^{regex.escape(c)}])+)?{regex.escape(c)}"
                  for o, c in quotes]
        if cfg.field_split_pattern is not None:
            values.append(f"((?:(?!{fs})(?:{_ESCAPED}|.))+)")
        else:
            values.append(f"((?:{_ESCAPED}|[^{char_class(cfg.field_split)}])+)")
        self.pairs = _compile(f"{key}{vs}(?:{'|'.join(values)})?(?:{fs}|$)", "split setting")
        self.splitter = _compile(vs, "value split")
