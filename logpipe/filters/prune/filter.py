"""The prune filter.

Only top-level fields are considered. Which fields go is decided first and
they are removed afterwards, so that ``interpolate`` references to a field
still see it. Values are matched as text (numbers too).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import regex

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions
from logpipe.filters.prune.config import PruneConfig
from logpipe.filters.rubytext import to_s


@lru_cache(maxsize=512)
def _compile(text: str) -> regex.Pattern[str]:
    return regex.compile(text)


def _union(patterns: list[str]) -> regex.Pattern[str] | None:
    if not patterns:
        return None
    return _compile("|".join(f"(?:{p})" for p in patterns))


def _check(patterns: list[str], setting: str) -> None:
    for p in patterns:
        try:
            _compile(p)
        except regex.error as exc:
            raise ConfigError(f"{p!r} is no valid regular expression: {exc}",
                              path=setting) from None


class PruneFilter(Filter):
    """Removes the top-level fields the lists select."""

    Config = PruneConfig
    runs_on_event_loop = True
    config: PruneConfig

    def __init__(self, config: PruneConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._value_rules = [
            (name, [p] if isinstance(p, str) else list(p), keep)
            for rules, keep in ((config.whitelist_values, True), (config.blacklist_values, False))
            for name, p in rules.items()]
        if not config.interpolate:
            _check(config.whitelist_names, "whitelist_names")
            _check(config.blacklist_names, "blacklist_names")
            for name, patterns, _keep in self._value_rules:
                _check(patterns, name)
        self._actions = CommonActions(config)

    def _render(self, event: Event) -> Callable[[str], str]:
        if self.config.interpolate:
            return event.sprintf
        return lambda text: text

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            try:
                self._prune(event)
            except regex.error as exc:
                self.log.warning("prune: pattern no valid regular expression: %s", exc)
                continue
            done.append(event)
        self._actions.apply(done)
        return events

    def _prune(self, event: Event) -> None:
        render = self._render(event)
        data = event.data
        remove: set[str] = set()
        keep_names = _union([render(p) for p in self.config.whitelist_names])
        if keep_names is not None:
            remove.update(n for n in data if n != TIMESTAMP and not keep_names.search(n))
        drop_names = _union([render(p) for p in self.config.blacklist_names])
        if drop_names is not None:
            remove.update(n for n in data if n != TIMESTAMP and drop_names.search(n))
        trimmed: dict[str, list[Any]] = {}
        for name, patterns, keep in self._value_rules:
            name = render(name)
            value = data.get(name)
            if value is None or name == TIMESTAMP:
                continue
            pattern = _union([render(p) for p in patterns])
            assert pattern is not None

            def unwanted(item: Any, pattern: regex.Pattern[str] = pattern, keep: bool = keep) -> bool:
                return bool(pattern.search(to_s(item))) != keep
            if isinstance(value, list):
                kept = [item for item in value if not unwanted(item)]
                if not kept and value:
                    remove.add(name)
                elif len(kept) != len(value):
                    trimmed[name] = kept
            elif unwanted(value):
                remove.add(name)
        for name, kept in trimmed.items():
            data[name] = kept
        for name in remove:
            data.pop(name, None)
