"""The ``useragent`` filter: ECS ``user_agent.*`` from the User-Agent header.

A site sees a few hundred distinct User-Agents among millions of requests, so
each distinct string of a batch is parsed once, and results are kept in an LRU
cache across batches. Every event gets its own copy of the nested objects
(``os``, ``device``): later filters edit events in place.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.core.fieldref import parse as parse_ref
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.useragent.config import UserAgentConfig
from logpipe.filters.useragent.parser import parse, resolver, resolver_name

#: What access logs write when the client sent no User-Agent.
_ABSENT = frozenset({"", "-"})


class UserAgentFilter(Filter):
    Config = UserAgentConfig
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
        self._parse: Callable[[str], dict[str, Any]]
        if config.cache_size > 0:
            self._parse = lru_cache(maxsize=config.cache_size)(self._parse_uncached)
        else:
            self._parse = self._parse_uncached

    @classmethod
    def prefork(cls, config: UserAgentConfig) -> None:
        """Build the process's matcher in the fork server: forked workers share it, built once."""
        resolver()

    async def start(self) -> None:
        resolver()
        self.log.debug("useragent: using %s", resolver_name())

    def _parse_uncached(self, ua: str) -> dict[str, Any]:
        return parse(ua[:self._max])

    def process(self, events: list[Event]) -> list[Event]:
        # Each distinct string is parsed once per batch (then from the cache across
        # batches); the answer is copied into each event as it comes.
        seen: dict[str, tuple[tuple[str, Any, bool], ...]] = {}
        get_source, get_target, put_target = self._get_source, self._get_target, self._put_target
        parse = self._parse
        tag_failure = self._tag_failure
        done: list[Event] = []
        for event in events:
            value = get_source(event)
            if type(value) is not str:
                if value is not None and tag_failure:
                    event.add_tag(*tag_failure)
                continue
            if value in _ABSENT:
                continue
            items = seen.get(value)
            if items is None:
                items = seen[value] = tuple((key, item, type(item) is dict)
                                            for key, item in parse(value).items())
            current = get_target(event)
            if type(current) is not dict:
                # ``user_agent: "Mozilla/..."`` parsed in place: the text becomes ``original``
                current = {"original": current} if type(current) is str else {}
                put_target(event, current)
            for key, item, nested in items:
                current[key] = item.copy() if nested else item
            done.append(event)
        if done and self._actions.active:
            self._actions.apply(done)
        return events
