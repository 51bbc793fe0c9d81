"""The json filter: decode JSON text in a field.

Without ``target`` the decoded object's keys are merged into the event's root
(an ``@timestamp`` among them is parsed into the event time, ``@metadata`` goes
to the metadata). A JSON value that is not an object (an array, a string, a
number) needs a ``target``; without one the event is tagged, as in Logstash.
Invalid JSON, including invalid UTF-8 in a bytes value, gets
``tag_on_failure`` unless ``skip_on_invalid_json`` is set. A source that is
not text (missing, or already an object) is left alone.
"""
from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field

from logpipe.core.event import METADATA, TIMESTAMP, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.timestamps import parse_iso
from logpipe.core.writes import ANY_KEY, TAGS_CHANGE, Writes, set_paths
from logpipe.filters.common import CommonActions, CommonOptions, StrList, common_writes

TIMESTAMP_FAILURE = "_timestampparsefailure"


class JsonConfig(CommonOptions):
    """Decode a JSON string field."""

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """``ecs_compatibility`` only changes a warning in Logstash: accepted, no effect."""
        out = super().from_logstash(options)
        out.pop("ecs_compatibility", None)
        return out

    source: str = Field(..., description="The field holding the JSON text.")
    target: str | None = Field(None, description=(
        "Store the decoded value here; without it an object's keys are merged into "
        "the event's root."))
    skip_on_invalid_json: bool = Field(False, description=(
        "Leave events with invalid JSON untouched instead of tagging them."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_jsonparsefailure"], description=(
        "Tags added when the text is not valid JSON, or is not an object and no "
        "target is set."))


class JsonFilter(Filter):
    """Decode JSON text into fields."""

    Config = JsonConfig
    runs_on_event_loop = True
    config: JsonConfig

    def __init__(self, config: JsonConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source: Path = parse(config.source)
        self._target: Path | None = parse(config.target) if config.target else None
        self._skip_invalid = config.skip_on_invalid_json
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """The target, or without one any top-level key and any key of ``@metadata``
        (new objects from the decoder: nothing is aliased); tags; the common options."""
        out = (set_paths(self._target) if self._target is not None
               else set_paths((ANY_KEY,), (METADATA, ANY_KEY)))
        return out + TAGS_CHANGE + common_writes(self.config)

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        loads = orjson.loads
        for event in events:
            raw = event.get_path(self._source)
            if not isinstance(raw, (str, bytes, bytearray, memoryview)):
                continue
            try:
                value = loads(raw)
            except (orjson.JSONDecodeError, TypeError, ValueError):
                self._fail(event)
                continue
            if self._target is not None:
                event.set_path(self._target, value)
            elif isinstance(value, dict):
                self._merge(event, value)
            else:
                self._fail(event)
                continue
            done.append(event)
        if self._actions.active:
            self._actions.apply(done)
        return events

    def _fail(self, event: Event) -> None:
        if not self._skip_invalid and self._failure_tags:
            event.add_tag(*self._failure_tags)

    @staticmethod
    def _merge(event: Event, value: dict[str, Any]) -> None:
        data = event.data
        for key, item in value.items():
            if key == TIMESTAMP:
                parsed = parse_iso(item) if isinstance(item, str) else None
                if parsed is None:
                    data["_@timestamp"] = item
                    event.add_tag(TIMESTAMP_FAILURE)
                else:
                    data[TIMESTAMP] = parsed
            elif key == METADATA:
                if isinstance(item, dict):
                    event.metadata.update(item)
            else:
                data[key] = item
