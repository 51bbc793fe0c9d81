"""The ``useragent`` filter: ECS ``user_agent.*`` from the User-Agent header.

A site sees a few hundred distinct User-Agents among millions of requests, so
each batch is grouped by string, each distinct string is parsed once, and
results are kept in an LRU cache across batches.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.core.fieldref import parse as parse_ref
from logpipe.core.plugin import Filter, PluginContext
from logpipe.filters.common import CommonActions
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
        groups: dict[str, list[Event]] = {}
        source = self._source
        for event in events:
            value = event.get_path(source)
            if type(value) is not str:
                if value is not None and self._tag_failure:
                    event.add_tag(*self._tag_failure)
                continue
            if value in _ABSENT:
                continue
            group = groups.get(value)
            if group is None:
                groups[value] = [event]
            else:
                group.append(event)
        target = self._target
        for value, group in groups.items():
            parsed = self._parse(value)
            for event in group:
                current = event.get_path(target)
                if type(current) is not dict:
                    # ``user_agent: "Mozilla/..."`` parsed in place: the text becomes ``original``
                    current = {"original": current} if type(current) is str else {}
                    event.set_path(target, current)
                for key, item in parsed.items():
                    current[key] = dict(item) if type(item) is dict else item
            if self._actions.active:
                self._actions.apply(group)
        return events
