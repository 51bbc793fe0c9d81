"""Signature lists: data files shipped with the filter, extended by users.

Each list is a text file named ``<list>.txt`` holding one regular expression
per line (``#`` starts a comment line). The built-in files sit next to this
module; a ``signatures_dir`` may hold files of the same names whose lines are
added, and ``extra_signatures`` adds lines from the pipeline file. Every line is
compiled alone first, so a bad one is reported with its file and line; then
the lists go to a :class:`~.matcher.MultiMatcher` that runs them in one pass.

Patterns are Python ``re`` syntax. They must not use back-references (group
numbers change when lines are joined) nor global inline flags such as ``(?i)``
(use the scoped ``(?i:...)``); look-arounds work but move their list off the
fast RE2 engine.
"""
from __future__ import annotations

import re
from pathlib import Path

from logpipe.errors import ConfigError

BUILTIN_DIR = Path(__file__).resolve().parent

#: List name -> whether it ignores case. Security lists ignore case (attackers vary
#: it); error lists match exception class names as written.
LISTS: dict[str, bool] = {
    "sqli": True,
    "xss": True,
    "path_traversal": True,
    "scanner": True,
    "login_failure": True,
    "error_timeout": False,
    "error_dependency": False,
    "error_validation": False,
}

Source = tuple[str, int | None]  # (file or setting, line)


def _read(path: Path) -> list[tuple[str, Source]]:
    lines: list[tuple[str, Source]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append((line, (str(path), number)))
    return lines


def _check(pattern: str, flags: int, where: Source) -> None:
    file, line = where
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(f"classify: bad signature {pattern!r}: {exc}", file=file, line=line) from exc
    if re.search(r"\\[1-9]|\(\?P=", pattern):
        raise ConfigError(f"classify: signature {pattern!r} uses a back-reference", file=file, line=line)
    if re.match(r"\(\?[aiLmsux]+\)", pattern):
        raise ConfigError(f"classify: signature {pattern!r} starts with a global flag; "
                          "use the scoped form (?i:...)", file=file, line=line)
    del compiled


Lists = dict[str, list[str]]


def load(signatures_dir: str | None = None, extra: dict[str, list[str]] | None = None) -> Lists:
    """Every list's patterns (built-in, then the directory's, then the extra ones), each
    checked to compile on its own."""
    extra = extra or {}
    unknown = sorted(set(extra) - set(LISTS))
    if unknown:
        raise ConfigError(f"classify: unknown signature list(s) {unknown}; known: {sorted(LISTS)}",
                          path="extra_signatures")
    user_dir = Path(signatures_dir) if signatures_dir else None
    if user_dir is not None and not user_dir.is_dir():
        raise ConfigError(f"classify: signatures_dir {signatures_dir!r} is not a directory",
                          path="signatures_dir")
    lists: Lists = {}
    for name, ignore_case in LISTS.items():
        flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
        entries = _read(BUILTIN_DIR / f"{name}.txt")
        if user_dir is not None and (user_dir / f"{name}.txt").is_file():
            entries += _read(user_dir / f"{name}.txt")
        entries += [(p, (f"extra_signatures.{name}", None)) for p in extra.get(name, [])]
        for pattern, where in entries:
            _check(pattern, flags, where)
        lists[name] = [pattern for pattern, _ in entries]
    return lists


def entries(lists: Lists, names: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    """(kind, pattern, ignore case) for the named lists, for a :class:`MultiMatcher`."""
    return [(name, pattern, LISTS[name]) for name in names for pattern in lists.get(name, [])]
