"""Where the files logpipe ships live: pipelines/, ilm/ and index_templates/.

An installed wheel carries them as package data under ``logpipe/_shipped/``
(setup.py copies them in at build time), found through ``importlib.resources``;
a source checkout (an editable install, the tests) has them at its top level.
Callers look in the working directory and ``--config-dir`` first, then here.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

NAMES = ("pipelines", "ilm", "index_templates")


def shipped(name: str) -> Path | None:
    """The shipped directory ``name`` (one of :data:`NAMES`), or None when absent."""
    packaged = files("logpipe").joinpath("_shipped", name)
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    return checkout if checkout.is_dir() else None


def shipped_root() -> Path | None:
    """The directory that holds the shipped ilm/ and index_templates/."""
    found = shipped("index_templates") or shipped("ilm")
    return found.parent if found is not None else None
