"""Named grok patterns: the bundled library plus the user's own files and definitions.

The bundled patterns live as plain text files in ``patterns/`` next to this
module so users can read and copy them. A file named ``<family>`` applies in
every mode; ``<family>.legacy`` and ``<family>.ecs-v8`` apply only when
``ecs_compatibility`` selects that mode. Later definitions win, so a user's
``patterns_dir`` files and ``pattern_definitions`` can redefine anything.
"""
from __future__ import annotations

import glob
import os
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Mapping

from logpipe.errors import ConfigError

BUNDLED_DIR = Path(__file__).with_name("patterns")

#: Accepted spellings of ``ecs_compatibility`` and the file suffix each selects.
MODES = {"disabled": "legacy", "legacy": "legacy", "v1": "ecs-v8", "v8": "ecs-v8"}


def mode_suffix(ecs_compatibility: str) -> str:
    try:
        return MODES[ecs_compatibility]
    except KeyError:
        raise ConfigError(f"ecs_compatibility must be one of disabled, v1, v8; "
                          f"got {ecs_compatibility!r}") from None


def parse_pattern_text(text: str, origin: str) -> dict[str, str]:
    """Read ``NAME body`` lines; '#' starts a comment line."""
    patterns: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, body = line.partition(" ")
        if not sep:
            name, sep, body = line.partition("\t")
        body = body.strip()
        if not sep or not body or not _valid_name(name):
            raise ConfigError(f"{origin}:{lineno}: expected 'NAME pattern', got {raw.strip()!r}")
        patterns[name] = body
    return patterns


def _valid_name(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c == "_" for c in name) and name.isascii()


def read_pattern_file(path: str | os.PathLike[str]) -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read grok pattern file {os.fspath(path)}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"grok pattern file {os.fspath(path)} is not UTF-8") from None
    return parse_pattern_text(text, os.fspath(path))


@lru_cache(maxsize=4)
def bundled(ecs_compatibility: str) -> Mapping[str, str]:
    """The bundled library for one mode (cached: it is read once per process)."""
    suffix = mode_suffix(ecs_compatibility)
    shared: dict[str, str] = {}
    specific: dict[str, str] = {}
    for path in sorted(BUNDLED_DIR.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        stem, dot, ext = path.name.partition(".")
        if not dot:
            shared.update(read_pattern_file(path))
        elif ext == suffix:
            specific.update(read_pattern_file(path))
    shared.update(specific)
    return MappingProxyType(shared)


def user_pattern_files(dirs: Iterable[str], files_glob: str = "*") -> list[str]:
    """Files named by ``patterns_dir`` entries: a directory means its files matching the glob."""
    found: list[str] = []
    for entry in dirs:
        if os.path.isdir(entry):
            matches = sorted(glob.glob(os.path.join(entry, files_glob)))
            found.extend(m for m in matches if os.path.isfile(m))
        elif os.path.isfile(entry):
            found.append(entry)
        else:
            matches = sorted(m for m in glob.glob(entry) if os.path.isfile(m))
            if not matches:
                raise ConfigError(f"grok patterns_dir entry {entry!r} does not exist")
            found.extend(matches)
    return found


def build_library(ecs_compatibility: str = "v8", patterns_dir: Iterable[str] = (),
                  files_glob: str = "*",
                  definitions: Mapping[str, str] | None = None) -> dict[str, str]:
    """Bundled patterns, then the user's files in order, then inline definitions."""
    library = dict(bundled(ecs_compatibility))
    for path in user_pattern_files(patterns_dir, files_glob):
        library.update(read_pattern_file(path))
    for name, body in (definitions or {}).items():
        if not _valid_name(name):
            raise ConfigError(f"grok pattern name {name!r} may hold only letters, digits and '_'")
        library[name] = body
    return library
