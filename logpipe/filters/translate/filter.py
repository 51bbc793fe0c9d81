"""The translate filter.

Lookups follow Logstash: the source value (the first element of a list, other
scalars as text) must equal a key (``exact``), match a key read as a regular
expression (``exact`` + ``regex``), or, with ``exact`` off, every occurrence of
any key inside the value is replaced. When nothing matched, ``fallback`` (a
template) is written if set. The common options (``add_tag`` ...) apply to the
events that got a translation or the fallback.
"""
from __future__ import annotations

import copy
from typing import Any

import regex

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, text_of
from logpipe.filters.rubytext import to_s
from logpipe.filters.translate.config import TranslateConfig
from logpipe.filters.translate.dictionary import FileDictionary

_MISSING: Any = object()


class _Table:
    """The dictionary in the form the lookup mode needs, rebuilt on reload."""

    def __init__(self, entries: dict[str, Any], *, exact: bool, use_regex: bool) -> None:
        self.entries = entries
        self.exact = exact
        self.use_regex = use_regex
        self.patterns: list[tuple[regex.Pattern[str], Any]] = []
        self.union: regex.Pattern[str] | None = None
        try:
            if use_regex:
                self.patterns = [(regex.compile(k), v) for k, v in entries.items()]
            if not exact and entries:
                keys = sorted(entries, key=len, reverse=True)   # longest key wins at a position
                body = "|".join(k if use_regex else regex.escape(k) for k in keys)
                self.union = regex.compile(body)
        except regex.error as exc:
            raise ConfigError(f"dictionary key is no valid regular expression: {exc}",
                              path="dictionary") from None

    def lookup(self, text: str) -> Any:
        if self.exact:
            if self.use_regex:
                for pattern, value in self.patterns:
                    if pattern.search(text):
                        return value
                return _MISSING
            return self.entries.get(text, _MISSING)
        if self.union is None:
            return _MISSING
        translated = self.union.sub(lambda m: to_s(self._replacement(m.group(0))), text)
        return _MISSING if translated == text else translated

    def _replacement(self, found: str) -> Any:
        if found in self.entries or not self.use_regex:
            return self.entries.get(found, found)
        for pattern, value in self.patterns:
            if pattern.fullmatch(found):
                return value
        return found


class TranslateFilter(Filter):
    """Looks ``source`` up and writes the translation to ``target``."""

    Config = TranslateConfig
    config: TranslateConfig

    def __init__(self, config: TranslateConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source_name = config.source
        self._target_name = config.target_field
        self._source = parse(config.source)
        self._target = parse(config.target_field)
        self._override = config.overrides
        self._fallback = text_of(config.fallback) if config.fallback is not None else None
        self._iterate = parse(config.iterate_on) if config.iterate_on else None
        self._file: FileDictionary | None = None
        entries = config.dictionary
        if config.dictionary_path:
            self._file = FileDictionary(
                config.dictionary_path, refresh_interval=config.refresh_interval,
                merge=config.refresh_behaviour == "merge",
                code_point_limit=config.yaml_dictionary_code_point_limit)
            entries = self._file.entries
        self._file_version = 0
        self._table = _Table(entries, exact=config.exact, use_regex=config.regex)
        self._actions = CommonActions(config)

    def _refresh(self) -> None:
        file = self._file
        if file is None or not file.refresh() or file.version == self._file_version:
            return
        try:
            self._table = _Table(file.entries, exact=self.config.exact,
                                 use_regex=self.config.regex)
        except ConfigError as exc:
            self.log.warning("reloaded dictionary not used: %s", exc)
        self._file_version = file.version

    def translate(self, value: Any) -> Any:
        """The translation of one value, or the missing marker."""
        if isinstance(value, list):
            if not value:
                return _MISSING
            value = value[0]
        if isinstance(value, dict):
            return _MISSING
        return self._table.lookup(to_s(value))

    def process(self, events: list[Event]) -> list[Event]:
        self._refresh()
        done: list[Event] = []
        for event in events:
            matched = (self._iterate_event(event) if self._iterate is not None
                       else self._translate_event(event))
            if matched:
                done.append(event)
        self._actions.apply(done)
        return events

    def _result(self, value: Any, event: Event) -> Any:
        found = self.translate(value)
        if found is _MISSING:
            return self._fallback(event) if self._fallback is not None else _MISSING
        return copy.deepcopy(found) if isinstance(found, (dict, list)) else found

    def _translate_event(self, event: Event) -> bool:
        value = event.get_path(self._source, _MISSING)
        if value is _MISSING:
            return False
        if not self._override and event.contains_path(self._target):
            return False
        result = self._result(value, event)
        if result is _MISSING:
            return False
        event.set_path(self._target, result)
        return True

    def _iterate_event(self, event: Event) -> bool:
        assert self._iterate is not None
        items = event.get_path(self._iterate)
        if not isinstance(items, list):
            return self._translate_event(event) if self._iterate == self._source else False
        matched = False
        if self._iterate == self._source:
            if not self._override and event.contains_path(self._target) \
                    and self._target != self._source:
                return False
            results = [self._result(item, event) for item in items]
            if any(r is not _MISSING for r in results):
                event.set_path(self._target, [r if r is not _MISSING else item
                                              for r, item in zip(results, items)])
                matched = True
            return matched
        for item in items:
            if not isinstance(item, dict) or self._source_name not in item:
                continue
            if not self._override and self._target_name in item:
                continue
            result = self._result(item[self._source_name], event)
            if result is not _MISSING:
                item[self._target_name] = result
                matched = True
        return matched
