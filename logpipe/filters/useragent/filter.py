"""The ``useragent`` filter: ECS ``user_agent.*`` from the User-Agent header.

A site sees a few hundred distinct User-Agents among millions of requests, so
each distinct string is parsed once and the result remembered across batches in
a bounded two-generation memo (with the cache off, once per batch). Every event gets its own copy of the nested objects
(``os``, ``device``) where a later filter may edit them in place; where the
pipeline found that nothing later does (``share_memo``, see
logpipe.core.sharing), the events with the same User-Agent hold the same ones.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse as parse_ref
from logpipe.core.memo import Generations
from logpipe.core.native import left_over, native_module
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sharing import SharesMemo
from logpipe.core.writes import ANY_KEY, TAGS_CHANGE, Writes, set_paths
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.useragent.config import UserAgentConfig
from logpipe.filters.useragent.parser import parse, resolver, resolver_name

#: A parse as written into events: plain values, nested objects, or (when a nested object
#: comes first) every (key, value, is it a dict) in order. See ``_parse_uncached``.
Written = tuple[dict[str, Any], tuple[tuple[str, dict[str, Any]], ...],
                "tuple[tuple[str, Any, bool], ...] | None"]

#: What access logs write when the client sent no User-Agent.
_ABSENT = frozenset({"", "-"})


class UserAgentFilter(SharesMemo, Filter):
    Config = UserAgentConfig
    runs_on_event_loop = True
    config: UserAgentConfig

    def __init__(self, config: UserAgentConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source = parse_ref(config.source)
        self._target = parse_ref(config.target)
        self._get_source = getter(self._source)
        self._get_target = getter(self._target)
        self._put_target = setter(self._target)
        self._max = config.max_length
        self._tag_failure = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)
        #: ``[a][b]`` source into its own parent ``[a]`` (``user_agent.original`` into
        #: ``user_agent``, the default): the parent is read once for both.
        self._parent_key: str | None = (
            self._source[0] if len(self._source) == 2 and self._target == self._source[:1]
            and self._source[0] != METADATA else None)
        #: Parses across batches, by User-Agent as written (``cache_size`` of them at most, in
        #: two generations); None when the cache is off: each batch then has its own.
        self._memo: Generations[str, Written] | None = (
            Generations(max(1, config.cache_size // 2)) if config.cache_size > 0 else None)
        #: logpipe_native.useragent_share: the shared case of the loop in ``process``
        #: for a whole batch.
        self._native_share: Any = getattr(native_module(), "useragent_share", None)

    @classmethod
    def prefork(cls, config: UserAgentConfig) -> None:
        """Build the process's matcher in the fork server: forked workers share it, built once."""
        resolver()

    async def start(self) -> None:
        resolver()
        self.log.debug("useragent: using %s", resolver_name())

    def writes(self) -> Writes:
        # The target itself (made when it is not an object), its keys, then the actions.
        return set_paths(self._target, self._target + (ANY_KEY,)) + self.writes_after_sharing()

    def shared_paths(self) -> tuple[Path, ...]:
        return (self._target + (ANY_KEY,),)

    def writes_after_sharing(self) -> Writes:
        return TAGS_CHANGE + common_writes(self.config)

    def _parse_uncached(self, ua: str) -> Written:
        """A parse as the loop writes it: its plain values in one dict (``update``), then
        its nested objects (each copied per event). When a nested object comes before a
        plain value, everything is written one key at a time instead, to keep the order."""
        parsed = parse(ua[:self._max])
        flat = {k: v for k, v in parsed.items() if type(v) is not dict}
        nested = tuple((k, v) for k, v in parsed.items() if type(v) is dict)
        if self.share_memo:
            # every event with this User-Agent will hold these very objects (logpipe.core.frozen)
            for _, value in nested:
                self.context.frozen.vouch(value)
        if list(parsed) == [*flat, *(k for k, _ in nested)]:
            return flat, nested, None
        return {}, (), tuple((k, v, type(v) is dict) for k, v in parsed.items())

    def process(self, events: list[Event]) -> list[Event]:
        # Each distinct string is parsed once (then remembered across batches when the
        # cache is on); the answer is copied into each event as it comes, or shared.
        memo = self._memo
        seen: dict[str, Written] = memo.newer if memo is not None else {}
        get_source, get_target, put_target = self._get_source, self._get_target, self._put_target
        parent_key = self._parent_key
        source_key = self._source[-1]
        parse = self._parse_uncached
        tag_failure = self._tag_failure
        actions = self._actions.active
        done: list[Event] = []
        share = self.share_memo
        todo = events
        if share and parent_key is not None and self._native_share is not None and not actions and seen:
            # The events whose User-Agent has a remembered parse get it natively; the
            # loop below takes the others, each as it would have.
            todo = left_over(events, self._native_share(events, parent_key, source_key, seen, _ABSENT))
        for event in todo:
            current: Any = None
            if parent_key is not None:
                current = event.data.get(parent_key)
                if type(current) is dict:
                    value = current.get(source_key)
                elif current is None:
                    continue   # no parent object: no User-Agent (what the general reader says)
                else:
                    value = get_source(event)
            else:
                value = get_source(event)
            if type(value) is not str:
                if value is not None and tag_failure:
                    event.add_tag(*tag_failure)
                continue
            if value in _ABSENT:
                continue
            items = seen.get(value)
            if items is None:
                if memo is not None:
                    items = memo.recall(value, parse)
                    seen = memo.newer
                else:
                    items = seen[value] = parse(value)
            if parent_key is None or type(current) is not dict:
                current = get_target(event)
                if type(current) is not dict:
                    # ``user_agent: "Mozilla/..."`` parsed in place: the text becomes ``original``
                    current = {"original": current} if type(current) is str else {}
                    put_target(event, current)
            flat, nested, each = items
            if each is None:
                current.update(flat)
                if share:
                    for key, item in nested:
                        current[key] = item
                else:
                    for key, item in nested:
                        current[key] = item.copy()
            elif share:
                for key, item, _ in each:
                    current[key] = item
            else:
                for key, item, is_dict in each:
                    current[key] = item.copy() if is_dict else item
            if actions:
                done.append(event)
        if done:
            self._actions.apply(done)
        return events

