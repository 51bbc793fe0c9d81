"""The kv filter: what it does to each event.

Per event, as Logstash does it: the pairs found (keys trimmed, stripped of
``remove_char_key``, case-changed, then checked against ``include_keys`` and
``exclude_keys``, then prefixed) are merged over ``default_keys``; if that
leaves nothing, the event is untouched and ``add_tag``/``add_field`` do not
apply. A key seen twice gets a list. Values empty in the text are skipped
unless ``allow_empty_values``, and so are values that trimming or
``remove_char_value`` empties (Logstash stores those as empty strings).

Keys are stored as plain field names (``a.b`` and ``[x]`` are not parsed as
references), so text from the log cannot address arbitrary nested fields; at
the event's root ``@timestamp``, ``@metadata`` and ``tags`` are never written.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable

import regex

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import compile_template, is_template
from logpipe.filters.common import CommonActions
from logpipe.filters.kv.config import KvConfig
from logpipe.filters.kv.scanner import Scanner, char_class

_PROTECTED = frozenset({"@timestamp", "@metadata", "tags"})
_TRANSFORMS: dict[str, Callable[[str], str] | None] = {
    "": None, "lowercase": str.lower, "uppercase": str.upper, "capitalize": str.capitalize}


def _trimmer(chars: str) -> regex.Pattern[str] | None:
    if not chars:
        return None
    body = char_class(chars)
    return regex.compile(f"^[{body}]+|[{body}]+$")


def _remover(chars: str) -> regex.Pattern[str] | None:
    return regex.compile(f"[{char_class(chars)}]") if chars else None


def _keys_of(items: list[str]) -> Callable[[Event], frozenset[str]]:
    if any(is_template(k) for k in items):
        renders = [compile_template(k) for k in items]
        return lambda event: frozenset(render(event) for render in renders)
    fixed = frozenset(items)
    return lambda _event: fixed


class _Deadline:
    """What is left of one event's time budget, handed to each regex call."""

    __slots__ = ("_end",)

    def __init__(self, seconds: float | None) -> None:
        self._end = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        if self._end is None:
            return None
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining


class KvFilter(Filter):
    """Turn key=value text into fields."""

    Config = KvConfig
    #: Its scanner runs on the ``regex`` module, bounded only by the timeout, and lets
    #: go of the GIL meanwhile: kv stages run in the filter thread
    #: (logpipe.core.filter_runner).
    runs_on_event_loop = False
    config: KvConfig

    def __init__(self, config: KvConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._scanner = Scanner(config)
        self._source = parse(config.source)
        self._target: Path | None = parse(config.target) if config.target else None
        self._include = _keys_of(config.include_keys)
        self._exclude = _keys_of(config.exclude_keys)
        self._prefix = compile_template(config.prefix) if config.prefix else None
        self._timeout = config.timeout_millis / 1000.0 if config.timeout_millis else None
        self._trim_key, self._trim_value = _trimmer(config.trim_key), _trimmer(config.trim_value)
        self._remove_key = _remover(config.remove_char_key)
        self._remove_value = _remover(config.remove_char_value)
        self._key_transform = _TRANSFORMS[config.transform_key]
        self._value_transform = _TRANSFORMS[config.transform_value]
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)

    # --- scanning -------------------------------------------------------------------
    def parse_text(self, text: str, event: Event | None = None) -> dict[str, Any]:
        """The pairs of one text. Raises TimeoutError when the scan runs out of time."""
        found: dict[str, Any] = {}
        self._scan(text, event or Event({}), found, _Deadline(self._timeout))
        return found

    def _scan(self, text: str, event: Event, found: dict[str, Any], deadline: _Deadline) -> None:
        scanner = self._scanner
        if scanner.splitter.search(text, timeout=deadline.left()) is None:
            return
        cfg = self.config
        include = self._include(event)
        exclude = self._exclude(event)
        prefix = self._prefix(event) if self._prefix is not None else ""
        for m in scanner.pairs.finditer(text, timeout=deadline.left()):
            groups = m.groups()
            key = groups[0]
            value: Any = next((v for v in groups[1:] if v is not None), "")
            if not value and not cfg.allow_empty_values:
                continue
            if self._trim_key is not None:
                key = self._trim_key.sub("", key)
            if self._remove_key is not None:
                key = self._remove_key.sub("", key)
            if self._key_transform is not None:
                key = self._key_transform(key)
            if (include and key not in include) or key in exclude:
                continue
            key = prefix + key
            if self._trim_value is not None:
                value = self._trim_value.sub("", value)
            if self._remove_value is not None:
                value = self._remove_value.sub("", value)
            if self._value_transform is not None:
                value = self._value_transform(value)
            if not value and not cfg.allow_empty_values:
                continue        # emptied by trimming: as good as no value
            old = found.get(key)
            if not cfg.allow_duplicate_values and old is not None and (
                    value in old if isinstance(old, list) else old == value):
                continue
            if cfg.recursive:
                inner: dict[str, Any] = {}
                self._scan(value, event, inner, deadline)
                if inner:
                    value = inner
            if key not in found:
                found[key] = value
            elif isinstance(old, list):
                old.append(value)
            else:
                found[key] = [old, value]

    # --- events ---------------------------------------------------------------------
    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            raw = event.get_path(self._source)
            try:
                found: dict[str, Any] = {}
                deadline = _Deadline(self._timeout)
                if isinstance(raw, str):
                    self._scan(raw, event, found, deadline)
                elif isinstance(raw, list):
                    for item in raw:
                        if isinstance(item, str):
                            self._scan(item, event, found, deadline)
            except TimeoutError:
                event.add_tag(self.config.tag_on_timeout)
                continue
            except Exception:  # noqa: BLE001 - bad input must never stop the pipeline
                self.log.debug("kv could not scan %r", raw, exc_info=True)
                if self._failure_tags:
                    event.add_tag(*self._failure_tags)
                continue
            pairs = {k: copy.deepcopy(v) for k, v in self.config.default_keys.items()}
            pairs.update(found)
            if not pairs:
                continue
            self._store(event, pairs)
            done.append(event)
        if self._actions.active:
            self._actions.apply(done)
        return events

    def _store(self, event: Event, pairs: dict[str, Any]) -> None:
        if self._target is not None:
            event.set_path(self._target, pairs)
            return
        data = event.data
        for key, value in pairs.items():
            if key not in _PROTECTED:
                data[key] = value
