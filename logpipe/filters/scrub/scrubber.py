"""The scrubbing itself, usable without the filter.

Outputs that write events somewhere a person can read them (the dead-letter
queue, the debug output, stdout) call :func:`scrub_event` or their own
:class:`Scrubber` just before writing, so nothing sensitive escapes even when
an event never passed the ``scrub`` filter.

Most events hold nothing sensitive; one check over the event's JSON form finds
those and leaves them alone (see :class:`.prefilter.EventPrefilter`; a batch is
checked by the native module when it is installed, see :mod:`.native`).
Otherwise one walk over the event does everything: fields with secret names are
removed, every string is masked (see :mod:`.patterns`), and the counts of
what was done go to ``[event][scrubbed]``. Only the event's own top-level dict
is changed in place: a nested object that needs a change is replaced by a
changed copy, as other events may hold the same object (logpipe.core.sharing).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from functools import lru_cache
from ipaddress import ip_address, ip_network
from typing import Any

from logpipe.core.services import Scrubbing
from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.frozen import FrozenObjects
from logpipe.errors import ConfigError
from logpipe.filters.scrub.config import ScrubConfig
from logpipe.filters.scrub.patterns import SECRET, TextMasker
from logpipe.filters.scrub.native import native_check
from logpipe.filters.scrub.prefilter import EventPrefilter, Hits, Plan

log = logging.getLogger("logpipe.scrub")

FIELD, IP = "field", "ip"
_ABSENT: Any = object()
_KEY_MEMO_LIMIT = 20_000
#: Masked strings remembered (the text, its kinds) -> (result, counts): an
#: authorization header or a user's address comes back in event after event.
_MASK_MEMO_LIMIT = 10_000
#: The fewest characters a match of each kind takes ("a@b.cc", "eyJab.cd.", "Bearer x").
_SHORTEST = {"email": 6, "card": 13, "jwt": 9, "bearer": 8, "aws_key": 20}


def shortest_match(kinds: list[str], secret_params: list[str]) -> int:
    """Strings shorter than this hold nothing to mask (a secret pair is at least its
    name's letters, ``=`` and one character)."""
    lengths = [_SHORTEST[k] for k in kinds if k in _SHORTEST]
    if SECRET in kinds:
        lengths += [len(n.replace("-", "").replace("_", "")) + 2 for n in secret_params if n]
    return min(lengths, default=1 << 30)


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def resolve_key(config: ScrubConfig) -> bytes:
    """The HMAC key from the environment; a ConfigError when it is missing, unless
    a random per-process key is allowed."""
    value = os.environ.get(config.key_env, "")
    if value:
        return value.encode("utf-8")
    if not config.allow_random_key:
        raise ConfigError(f"scrub: the environment variable {config.key_env} holding the e-mail "
                          "hash key is not set (or set allow_random_key: true)", path="key_env")
    log.warning("scrub: %s is not set; using a random key: e-mail hashes will differ between "
                "processes and restarts and will not join", config.key_env)
    return secrets.token_bytes(32)


def _changed_dict(obj: dict[str, Any], changed: list[tuple[str, Any]] | None, doomed: list[str] | None,
                  counts: dict[str, int], own: bool, done: dict[int, Any]) -> dict[str, Any]:
    """What a walk of ``obj`` makes of it: ``obj`` itself when the event owns it (its
    top-level dict), else a copy, with the ``changed`` values put in and the
    ``doomed`` keys removed (counted as fields); a copy is remembered in ``done`` for
    another place of the event that holds the same dict."""
    out = obj if own else obj.copy()
    if changed is not None:
        for key, new in changed:
            out[key] = new
    if doomed:
        for key in doomed:
            del out[key]
        counts[FIELD] = counts.get(FIELD, 0) + len(doomed)
    if not own:
        done[id(obj)] = out
    return out


class Scrubber:
    """Scrubs events according to a :class:`ScrubConfig`: an event's own top-level
    dict in place, what is nested in it copy-on-write (the containers on the way to
    a change are replaced by copies; nothing nested is changed in place)."""

    def __init__(self, config: ScrubConfig | None = None, *, key: bytes | None = None,
                 frozen: FrozenObjects | None = None) -> None:
        config = config or ScrubConfig.model_validate({})
        self.config = config
        self._key = key if key is not None else resolve_key(config)
        self.hash_email = lru_cache(maxsize=10_000)(self._hmac)
        self._mask = TextMasker(config.kinds, config.secret_params, self.hash_email)
        self._shortest = shortest_match(list(config.kinds), list(config.secret_params))
        self._prefilter = EventPrefilter(config.kinds, [*config.secret_fields, *config.secret_params])
        self._secret_exact = frozenset(_normal(n) for n in config.secret_fields)
        suffixes = "|".join(re.escape(_normal(n)) for n in config.secret_fields)
        self._secret_suffix = (re.compile(f"(?:{suffixes})$")
                               if config.secret_field_match == "suffix" and suffixes else None)
        #: The event check of the batch path in the native module, when it is there.
        self._native = native_check(
            config.kinds, config.secret_params, self._secret_exact,
            [_normal(n) for n in config.secret_fields] if self._secret_suffix is not None else [],
            self._shortest)
        #: The pipeline's shared objects that never change (logpipe.core.frozen): the
        #: native check walks each once and skips the clean ones in events. What was
        #: read of it so far: ``_frozen_seen``.
        self._frozen = frozen if self._native is not None else None
        self._frozen_seen = 0
        self._key_memo: dict[str, bool] = {}
        self._mask_memo: dict[tuple[str, frozenset[str]], tuple[str, tuple[tuple[str, int], ...]]] = {}
        self._fields: list[Path] | None = ([parse(f) for f in config.fields]
                                           if config.fields is not None else None)
        self._report: Path | None = parse(config.report_field) if config.report_field else None
        self._truncate: list[Path] = []
        if config.truncate_ip is not None:
            self._truncate = [parse(f) for f in config.truncate_ip.fields]

    def _hmac(self, address: str) -> str:
        return hmac.new(self._key, address.encode("utf-8"), hashlib.sha256).hexdigest()

    def is_secret_name(self, name: str) -> bool:
        found = self._key_memo.get(name)
        if found is None:
            normal = _normal(name)
            found = normal in self._secret_exact or (
                self._secret_suffix is not None and self._secret_suffix.search(normal) is not None)
            if len(self._key_memo) >= _KEY_MEMO_LIMIT:
                self._key_memo.clear()
            self._key_memo[name] = found
        return found

    # --- walking ---------------------------------------------------------------------
    def scrub_text(self, text: str, counts: dict[str, int] | None = None) -> str:
        return self._mask(text, counts if counts is not None else {})

    # The walks answer the container they were given when nothing in it changed, else a
    # copy with the changes (``own``: the container itself, changed in place). Only the
    # event's top-level dict is changed in place: every container below it may be held
    # by other events too (see logpipe.core.sharing), so the path down to a change is
    # copied. Keys keep their order; the counts are those of a walk in place. Callers
    # pass the top-level dict (``own``, the default); the walks pass ``own=False`` below.
    #
    # ``done``: the copy made for each container of this event that changed, by the id
    # of the original (alive until the walk ends, so ids are not reused meanwhile). A
    # container the event holds twice is copied once and both places get that copy, as
    # a walk in place would leave one changed object in both places and count it once.
    def _dict(self, obj: dict[str, Any], counts: dict[str, int], kinds: frozenset[str] | None,
              own: bool = True, done: dict[int, Any] | None = None) -> dict[str, Any]:
        if done is None:
            done = {}
        doomed: list[str] | None = None
        changed: list[tuple[str, Any]] | None = None
        new: Any
        # A secret field name always makes the event check report SECRET (its letters
        # are followed by '":' in the JSON), so without SECRET no key needs a look.
        names = kinds is None or SECRET in kinds
        shortest = self._shortest
        for key, value in obj.items():
            if names and type(key) is str and self.is_secret_name(key):
                if doomed is None:
                    doomed = [key]
                else:
                    doomed.append(key)
                continue
            kind = type(value)
            if kind is str:
                if len(value) < shortest:
                    continue
                new = self._mask(value, counts, kinds)
            elif kind is dict:
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._dict(value, counts, kinds, False, done)
            elif kind is list:
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._list(value, counts, kinds, done)
            else:
                continue
            if new is not value:
                if changed is None:
                    changed = [(key, new)]
                else:
                    changed.append((key, new))
        if changed is None and doomed is None:
            return obj
        return _changed_dict(obj, changed, doomed, counts, own, done)

    def _list(self, items: list[Any], counts: dict[str, int], kinds: frozenset[str] | None,
              done: dict[int, Any]) -> list[Any]:
        shortest = self._shortest
        out: list[Any] | None = None
        new: Any
        for i, value in enumerate(items):
            kind = type(value)
            if kind is str:
                if len(value) < shortest:
                    continue
                new = self._mask(value, counts, kinds)
            elif kind is dict:
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._dict(value, counts, kinds, False, done)
            elif kind is list:
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._list(value, counts, kinds, done)
            else:
                continue
            if new is not value:
                if out is None:
                    out = items.copy()
                out[i] = new
        if out is None:
            return items
        done[id(items)] = out
        return out

    def _mask_hit(self, text: str, counts: dict[str, int], kinds: frozenset[str]) -> str:
        """``self._mask`` of a string a trigger lies in, remembered by text and kinds
        (masking is a function of both: the e-mail key is fixed for the scrubber)."""
        key = (text, kinds)
        done = self._mask_memo.get(key)
        if done is None:
            mine: dict[str, int] = {}
            new = self._mask(text, mine, kinds)
            done = (new, tuple(mine.items()))
            if len(self._mask_memo) >= _MASK_MEMO_LIMIT:
                self._mask_memo.clear()
            self._mask_memo[key] = done
        new, added = done
        for kind, n in added:
            counts[kind] = counts.get(kind, 0) + n
        return text if new == text else new

    def _dict_hits(self, obj: dict[str, Any], counts: dict[str, int], hits: Hits,
                   held: frozenset[int] | None = None, own: bool = True,
                   done: dict[int, Any] | None = None) -> dict[str, Any]:
        """The walk of an event whose triggers were placed (see
        :meth:`.EventPrefilter.scan_batch`): keys are looked at only when their text
        holds a trigger, strings masked only for the kinds found in them. It answers
        as :meth:`_dict` does (``obj``, or a copy with the changes).

        ``held``, from the native check: the ``id()`` of every dict and list below
        the top that holds something the plan names; the others are not entered
        (nothing in them would change, see ``ScrubCheck.plans_held``). The ids are
        those of the containers as they were checked: copies are never looked up."""
        if done is None:
            done = {}
        doomed: list[str] | None = None
        changed: list[tuple[str, Any]] | None = None
        new: Any
        shortest = self._shortest
        for key, value in obj.items():
            if key in hits and type(key) is str and self.is_secret_name(key):
                if doomed is None:
                    doomed = [key]
                else:
                    doomed.append(key)
                continue
            kind = type(value)
            if kind is str:
                found = hits.get(value)
                if found is None or len(value) < shortest:
                    continue
                new = self._mask_hit(value, counts, found)
            elif kind is dict:
                if held is not None and id(value) not in held:
                    continue
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._dict_hits(value, counts, hits, held, False, done)
            elif kind is list:
                if held is not None and id(value) not in held:
                    continue
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._list_hits(value, counts, hits, held, done)
            else:
                continue
            if new is not value:
                if changed is None:
                    changed = [(key, new)]
                else:
                    changed.append((key, new))
        if changed is None and doomed is None:
            return obj
        return _changed_dict(obj, changed, doomed, counts, own, done)

    def _list_hits(self, items: list[Any], counts: dict[str, int], hits: Hits,
                   held: frozenset[int] | None, done: dict[int, Any]) -> list[Any]:
        shortest = self._shortest
        out: list[Any] | None = None
        new: Any
        for i, value in enumerate(items):
            kind = type(value)
            if kind is str:
                found = hits.get(value)
                if found is None or len(value) < shortest:
                    continue
                new = self._mask_hit(value, counts, found)
            elif kind is dict:
                if held is not None and id(value) not in held:
                    continue
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._dict_hits(value, counts, hits, held, False, done)
            elif kind is list:
                if held is not None and id(value) not in held:
                    continue
                new = done.get(id(value)) if done else None
                if new is None:
                    new = self._list_hits(value, counts, hits, held, done)
            else:
                continue
            if new is not value:
                if out is None:
                    out = items.copy()
                out[i] = new
        if out is None:
            return items
        done[id(items)] = out
        return out

    def scrub_dict(self, data: dict[str, Any]) -> dict[str, int]:
        """Scrub a plain mapping in place (its own keys; nested containers that change
        are replaced by changed copies); return the counts."""
        counts: dict[str, int] = {}
        kinds = self._prefilter.scan(data)
        if kinds:
            self._dict(data, counts, kinds, own=True)
        return counts

    def _truncate_ips(self, event: Event, counts: dict[str, int]) -> None:
        cfg = self.config.truncate_ip
        assert cfg is not None
        for path in self._truncate:
            value = event.get_path(path)
            if type(value) is not str:
                continue
            try:
                addr = ip_address(value.strip())
            except ValueError:
                continue
            bits = cfg.ipv4_prefix if addr.version == 4 else cfg.ipv6_prefix
            truncated = str(ip_network(f"{addr}/{bits}", strict=False).network_address)
            if truncated != value:
                _own_path(event, path)
                event.set_path(path, truncated)
                counts[IP] = counts.get(IP, 0) + 1

    def scrub(self, event: Event) -> dict[str, int]:
        """Scrub one event in place; return (and record) the counts per kind."""
        counts: dict[str, int] = {}
        kinds = self._prefilter.scan(event.data)
        if not kinds:
            pass  # the common case: nothing in the event looks sensitive
        elif self._fields is None:
            self._dict(event.data, counts, kinds, own=True)
        else:
            for path in self._fields:
                self._scrub_path(event, path, counts, kinds)
        self._finish(event, counts)
        return counts

    def scrub_batch(self, events: list[Event]) -> None:
        """Scrub a batch in place: one check for all of it (:meth:`_plans`), then a
        walk of the events that hold something. The same result as :meth:`scrub` on
        each event."""
        if self._fields is not None or len(events) < 2:
            for event in events:
                self.scrub(event)
            return
        plans, holders = self._plans([event.data for event in events])
        truncate, report = self._truncate, self._report
        for event, plan, held in zip(events, plans, holders):
            if not plan and not truncate:
                continue
            counts: dict[str, int] = {}
            if plan:
                if type(plan) is dict:
                    self._dict_hits(event.data, counts, plan, held, own=True)
                else:
                    self._dict(event.data, counts, plan, own=True)  # type: ignore[arg-type]
            if truncate or (counts and report is not None):
                self._finish(event, counts)

    def _plans(self, datas: list[dict[str, Any]]) -> tuple[list[Plan], list[frozenset[int] | None]]:
        """What each event of a batch needs, and where (the containers that hold it,
        or None: everywhere): from the native check when there is one (see
        :mod:`.native`; an event it cannot answer, such as one holding a string with
        a lone surrogate, gets the per-event check), else from the batch scan."""
        check = self._native
        if check is None:
            plans = self._prefilter.scan_batch(datas)
            return plans, [None] * len(plans)
        if self._frozen is not None:
            fresh, self._frozen_seen = self._frozen.since(self._frozen_seen)
            if fresh:
                check.vouch(fresh)
        plans, holders, undecided = check.plans_held(datas)
        for i in undecided:
            plans[i] = self._prefilter.scan(datas[i])
        return plans, holders

    def _finish(self, event: Event, counts: dict[str, int]) -> None:
        if self._truncate:
            self._truncate_ips(event, counts)
        if counts and self._report is not None:
            self._record(event, counts)

    def _scrub_path(self, event: Event, path: Path, counts: dict[str, int],
                    kinds: frozenset[str]) -> None:
        value = event.get_path(path, _ABSENT)
        if value is _ABSENT:
            return
        if self.is_secret_name(path[-1]):
            _own_path(event, path)
            if event.delete_path(path) is not None:
                counts[FIELD] = counts.get(FIELD, 0) + 1
            return
        kind = type(value)
        new: Any
        if kind is str:
            new = self._mask(value, counts, kinds)
        elif kind is dict:
            new = self._dict(value, counts, kinds, False)
        elif kind is list:
            new = self._list(value, counts, kinds, {})
        else:
            return
        if new is not value:
            _own_path(event, path)
            event.set_path(path, new)

    def _record(self, event: Event, counts: dict[str, int]) -> None:
        assert self._report is not None
        existing = event.get_path(self._report)
        if type(existing) is dict:
            report = existing.copy()
            for kind, n in counts.items():
                before = report.get(kind)
                report[kind] = (before if type(before) is int else 0) + n
        else:
            report = dict(counts)
        _own_path(event, self._report)
        event.set_path(self._report, report)


def _own_path(event: Event, path: Path) -> None:
    """Replace every container on the way to ``path`` (below the event's top-level
    dict, or ``@metadata``'s) with a copy of its own, so that writing at ``path``
    changes nothing another event may hold. Stops where the way is not a container."""
    node: Any = event.data
    keys = path[:-1]
    if path[0] == METADATA:
        node, keys = event.metadata, path[1:-1]
    for key in keys:
        if type(node) is dict:
            child = node.get(key)
            if type(child) is dict or type(child) is list:
                child = node[key] = child.copy()
            else:
                return
        elif type(node) is list:
            try:
                index = int(key)
                child = node[index]
            except (ValueError, IndexError):
                return
            if type(child) is dict or type(child) is list:
                child = node[index] = child.copy()
            else:
                return
        else:
            return
        node = child


# --- scrubbing for outputs ----------------------------------------------------------
def scrub_event(event: Event | dict[str, Any], scrubber: Scrubbing) -> Any:
    """Scrub an event (or a plain event dict) before it is written; returns it. Its
    top-level dict is changed in place, what is nested copy-on-write (see
    :class:`Scrubber`), so a dict copy of an event's top level leaves the event alone.

    Outputs use the pipeline's own scrubber (``context.scrubber``), so what they
    write is scrubbed with that pipeline's settings and key, never another's."""
    if isinstance(event, Event):
        scrubber.scrub(event)
    else:
        scrubber.scrub(_Bare(event))
    return event


class _Bare(Event):
    """An Event over a plain dict, taken as it is (no ``@timestamp`` added, nothing popped)."""

    __slots__ = ()

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.metadata = {}
