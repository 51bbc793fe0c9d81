"""Which files the ``path`` globs name now, minus ``exclude``, by identity (device, inode)."""
from __future__ import annotations

import fnmatch
import glob
import os

from logpipe.inputs.file.sincedb import Key


def discover(patterns: list[str], exclude: list[str]) -> dict[Key, str]:
    found: dict[Key, str] = {}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, recursive=True)):
            name = os.path.basename(path)
            if any(fnmatch.fnmatch(name, ex) for ex in exclude):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not os.path.isfile(path):
                continue
            found.setdefault((st.st_dev, st.st_ino), path)
    return found


def identity(path: str) -> Key | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
