"""Whether an enrichment filter may put its remembered objects into events as they are.

geoip, useragent and perfclass answer the same object for every event with the
same input. Giving every such event that one object, rather than a copy each,
saves a copy per event, and is safe exactly when nothing that can run after the
filter changes the object in place: a change would show in every event holding
it and in the filter's memo. Outputs count, as they see the same events.

The pipeline answers that once, when it is built, from what each later plugin
declares it may write (:mod:`logpipe.core.writes`; a plugin that declares
nothing may write anywhere, so a third-party filter or output after the
enrichment keeps its copies). Later means anything after the filter in the
file: every branch of every conditional, whichever the event takes, then every
output. Aliases are followed: a rename of the object (or of a part of it) to a
field that something later writes under counts as a write under the object.

The answer is a flag on the filter, :attr:`SharesMemo.share_memo`, off until
the pipeline turns it on: a filter built on its own (tests, tools) copies.

A filter that shares lists each object it shares, once, in the pipeline's
registry of frozen objects (:mod:`logpipe.core.frozen`): those made in advance
(:meth:`SharesMemo.made_in_advance`) are listed here, those it remembers as
events come by the filter itself when it makes them.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from logpipe.core.fieldref import Path, render
from logpipe.core.frozen import FrozenObjects
from logpipe.core.writes import Writes

log = logging.getLogger("logpipe.sharing")


class SharesMemo:
    """A filter that can put its remembered objects into events without copying them."""

    #: Whether ``process`` may put remembered objects into events as they are (set by
    #: the pipeline before start; off for a filter built on its own).
    share_memo: bool = False

    def shared_paths(self) -> tuple[Path, ...]:
        """Where the filter would put shared objects."""
        raise NotImplementedError

    def writes_after_sharing(self) -> Writes:
        """What the filter itself writes into an event after putting a shared object
        there (its ``add_field`` and the like)."""
        return Writes.nothing()

    def made_in_advance(self) -> Iterable[object]:
        """The objects the filter made before any event came and would put into
        events as they are (listed as frozen when the filter shares)."""
        return ()


def declared_writes(plugin: object) -> Writes:
    """What a plugin declares it may write; anything, anywhere, when it declares nothing."""
    writes = getattr(plugin, "writes", None)
    declared = writes() if callable(writes) else None
    return declared if isinstance(declared, Writes) else Writes.anywhere()


def unaltered(paths: Iterable[Path], later: Iterable[Writes]) -> bool:
    """Whether objects put at ``paths`` stay unaltered through ``later``, in order
    (each one's aliases are followed before its writes are checked)."""
    places = set(paths)
    for writes in later:
        places = writes.carry(places)
        if writes.reaches(places):
            return False
    return True


def plan_sharing(filters: Sequence[object], outputs: Sequence[object],
                 frozen: FrozenObjects | None = None) -> dict[str, bool]:
    """Set ``share_memo`` on every :class:`SharesMemo` among ``filters`` (all of a
    pipeline's filters in file order, branches included) and answer it per filter id.
    The objects a sharing filter made in advance are listed in ``frozen``."""
    verdicts: dict[str, bool] = {}
    output_writes = [declared_writes(o) for o in outputs]
    for i, plugin in enumerate(filters):
        if not isinstance(plugin, SharesMemo):
            continue
        later = [plugin.writes_after_sharing(), *(declared_writes(f) for f in filters[i + 1:]),
                 *output_writes]
        paths = plugin.shared_paths()
        plugin.share_memo = verdict = bool(paths) and unaltered(paths, later)
        verdicts[str(getattr(plugin, "id", i))] = verdict
        if verdict and frozen is not None:
            for obj in plugin.made_in_advance():
                frozen.vouch(obj)
        log.debug("filter %s %s its objects at %s", getattr(plugin, "id", i),
                  "shares" if verdict else "copies", ", ".join(render(p) for p in paths))
    return verdicts
