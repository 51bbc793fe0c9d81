"""What a plugin may write into events: the vocabulary of write-path declarations.

An enrichment filter that remembers its answer per input (an address, a
User-Agent, a route) can put the remembered object itself into every event
with that input instead of a copy, but only while nothing that runs later
changes that object in place: a change would show in every event holding it,
and in the memo. Plugins say what they may write in these terms, and
:mod:`logpipe.core.sharing` works out from them whether a filter's objects may
be shared.

Two kinds of write, by what they do to the containers already in the event:

- ``set`` at a path puts, replaces or removes the value *at* the path. The
  value that was there is not changed (it is let go), but the container at
  every strict prefix of the path gains or loses a key, so a set at
  ``[source][geo][city]`` changes the object at ``[source][geo]``, and a set at
  ``[source]`` changes nothing below it.
- ``change`` at a path may change anything at or under it in place (append to
  a list, update a dict, rewrite strings inside it), and the containers on the
  way as a set does.

An *alias* says that the value at a path (or any part of it) may afterwards
also be found at another path in the same event, without a copy: a rename
moves an object, so a write at the new place reaches the object too.

A path segment ``*`` stands for any one key (``[user_agent][*]``: any key of
that object, not what is inside them). The empty path stands for the whole
event, ``@metadata`` included: a change there may touch anything, which is
what a plugin that declares nothing is taken to do.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from logpipe.core.fieldref import Path, parse
from logpipe.core.sprintf import is_template

#: A path segment that stands for any one key.
ANY_KEY = "*"
#: The whole event.
EVERYTHING: Path = ()


def _matches(a: str, b: str) -> bool:
    return a == b or a == ANY_KEY or b == ANY_KEY


def covers(prefix: Path, path: Path) -> bool:
    """Whether ``prefix`` may name ``path`` or a container above it (segments match
    when equal or when either is ``*``)."""
    if len(prefix) > len(path):
        return False
    return all(_matches(a, b) for a, b in zip(prefix, path))


@dataclass(frozen=True)
class Write:
    """One declared write: ``change`` True for a change in place at or under ``path``,
    False for a set at ``path`` (see the module's docstring)."""

    path: Path
    change: bool

    def reaches(self, location: Path) -> bool:
        """Whether this write may alter, in place, an object held at ``location`` or
        anything inside that object."""
        if self.change:
            return covers(location, self.path) or covers(self.path, location)
        # A set changes the containers strictly above its path only.
        return len(location) < len(self.path) and covers(location, self.path)


@dataclass(frozen=True)
class Alias:
    """The value at ``source`` (or a part of it) may afterwards also be at ``target``."""

    source: Path
    target: Path

    def carry(self, location: Path) -> Path | None:
        """Where an object held at ``location`` (or a part of it) may be after this
        alias, or None when the alias does not take it along."""
        if not self.source or not self.target:
            # An unknown source or target (a template): whatever moves may land
            # anywhere under the target, which then holds shared objects.
            return self.target
        if covers(self.source, location):
            return self.target + location[len(self.source):]
        if covers(location, self.source):
            return self.target   # a part of the object moves: what lands there is shared
        return None


@dataclass(frozen=True)
class Writes:
    """Everything a plugin may write: its writes and its aliases."""

    writes: tuple[Write, ...] = ()
    aliases: tuple[Alias, ...] = ()

    @classmethod
    def nothing(cls) -> Writes:
        """For a plugin that never changes events (most outputs)."""
        return cls()

    @classmethod
    def anywhere(cls) -> Writes:
        """For a plugin that may change anything, and alias anything to anywhere."""
        return cls((Write(EVERYTHING, True),), (Alias(EVERYTHING, EVERYTHING),))

    def __add__(self, other: Writes) -> Writes:
        return Writes(self.writes + other.writes, self.aliases + other.aliases)

    def reaches(self, locations: Iterable[Path]) -> bool:
        """Whether any write may alter an object held at one of ``locations``."""
        places = tuple(locations)
        return any(w.reaches(place) for w in self.writes for place in places)

    def carry(self, locations: Iterable[Path]) -> set[Path]:
        """``locations`` and every place the aliases may take their objects to."""
        out = set(locations)
        for alias in self.aliases:
            for place in list(out):
                moved = alias.carry(place)
                if moved is not None:
                    out.add(moved)
        return out


def path_or_anything(ref: str) -> Path:
    """A field reference as a declared path: a ``%{...}`` template may name any
    field, so it declares the whole event."""
    return EVERYTHING if is_template(ref) else parse(ref)


def sets(*refs: str) -> Writes:
    """A set at each field reference (templates: anywhere)."""
    return Writes(tuple(_write(r, False) for r in refs))


def changes(*refs: str) -> Writes:
    """A change at or under each field reference (templates: anywhere)."""
    return Writes(tuple(_write(r, True) for r in refs))


def _write(ref: str, change: bool) -> Write:
    path = path_or_anything(ref)
    return Write(path, True if not path else change)


def set_paths(*paths: Path) -> Writes:
    return Writes(tuple(Write(p, False) for p in paths))


def change_paths(*paths: Path) -> Writes:
    return Writes(tuple(Write(p, True) for p in paths))


def moves(source: str, target: str) -> Writes:
    """A move or alias of ``source`` to ``target``: the alias, the removal at the
    source and the set at the target."""
    src, dst = path_or_anything(source), path_or_anything(target)
    return Writes((_write(source, False), _write(target, False)), (Alias(src, dst),))


#: The tags list, which ``add_tag`` and ``remove_tag`` change in place.
TAGS_CHANGE = change_paths(("tags",))
