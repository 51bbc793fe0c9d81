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
        self.patterns: list[tuple[regex.Pattern[str], Any]] = []
        self.union: regex.Pattern[str] | None = None
        if exact and use_regex:
            try:
                self.patterns = [(regex.compile(k), v) for k, v in entries.items()]
            except regex.error as exc:
                raise ConfigError(f"dictionary key is no valid regular expression: {exc}",
                                  path="dictionary") from None
        elif not exact and entries:
            # Keys are literal and tried in dictionary order at each position, as Ruby's
            # Regexp.union of strings does.
            self.union = regex.compile("|".join(regex.escape(k) for k in entries))

    def lookup(self, text: str) -> Any:
        if self.exact:
            if self.patterns:
                for pattern, value in self.patterns:
                    if pattern.search(text):
                        return value
                return _MISSING
            return self.entries.get(text, _MISSING)
        if self.union is None:
            return _MISSING
        translated = self.union.sub(lambda m: to_s(self.entries.get(m.group(0))), text)
        return _MISSING if translated == text else translated


class TranslateFilter(Filter):
    """Looks ``source`` up and writes the translation to ``target``."""

    Config = TranslateConfig
    runs_on_event_loop = True
    config: TranslateConfig

    def __init__(self, config: TranslateConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source = parse(config.source)
        self._target = parse(config.target_field)
        self._override = config.overrides
        self._in_place = config.target_field == config.source
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
        #: Dictionary keys as patterns run on the ``regex`` module, which may backtrack
        #: without end while letting go of the GIL: then translate runs in the filter
        #: thread (logpipe.core.filter_runner).
        self.runs_on_event_loop = not config.regex
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
            if self._iterate is None:
                matched = self._translate_event(event)
            elif self._iterate == self._source:
                matched = self._translate_values(event)
            else:
                matched = self._translate_objects(event)
            if matched:
                done.append(event)
        self._actions.apply(done)
        return events

    def _found(self, value: Any) -> Any:
        found = self.translate(value)
        if found is not _MISSING and isinstance(found, (dict, list)):
            return copy.deepcopy(found)
        return found

    def _result(self, value: Any, event: Event) -> Any:
        found = self._found(value)
        if found is _MISSING and self._fallback is not None:
            return self._fallback(event)
        return found

    def _translate_event(self, event: Event) -> bool:
        """One value; the common options also apply to in-place lookups that missed."""
        if not self._override and event.contains_path(self._target):
            return False
        value = event.get_path(self._source, _MISSING)
        if value is _MISSING:
            return False
        result = self._result(value, event)
        if result is not _MISSING:
            event.set_path(self._target, result)
            return True
        return self._in_place

    def _translate_values(self, event: Event) -> bool:
        """``iterate_on`` is the source: a list of translations, one per item."""
        if not self._override and event.contains_path(self._target):
            return False
        value = event.get_path(self._source, _MISSING)
        if value is _MISSING:
            return False
        items = value if isinstance(value, list) else [value]
        default = self._fallback(event) if self._fallback is not None else None
        results = []
        for item in items:
            found = self._found(item)
            results.append(default if found is _MISSING else found)
        event.set_path(self._target, results)
        return any(r is not None for r in results) or self._in_place

    def _translate_objects(self, event: Event) -> bool:
        """``iterate_on`` holds objects: ``source`` and ``target`` are fields of each."""
        assert self._iterate is not None
        items = event.get_path(self._iterate, _MISSING)
        if items is _MISSING:
            return False
        matched = False
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                continue
            holder = Event.__new__(Event)
            holder.data, holder.metadata = item, {}
            value = holder.get_path(self._source)
            if value is None:
                continue
            result = self._result(value, event)
            if result is not _MISSING:
                holder.set_path(self._target, result)
                matched = True
        return matched or self._in_place
