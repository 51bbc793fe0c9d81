"""The dissect filter: its settings and what it does to each event.

Per event, as Logstash does it: every mapping is tried (one that does not fit
tags the event and stores nothing, the others still run); a source field that
is absent is no failure; ``add_field``/``add_tag`` and friends apply once per
mapping that fitted. Then ``convert_datatype`` runs, whatever the mappings
did: a field that is absent gets ``_dataconversionnullvalue_<field>_<type>``,
one that is no number ``_dataconversionuncoercible_<field>_<type>`` and keeps
its value.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field, field_validator

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, CommonOptions, StrList
from logpipe.filters.dissect.convert import CONVERTERS, TYPES, Uncoercible
from logpipe.filters.dissect.pattern import Dissector

_MISSING: Any = object()


class DissectConfig(CommonOptions):
    """Split text into fields on literal delimiters."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("mapping", "convert_datatype")

    mapping: dict[str, str] = Field(default_factory=dict, description=(
        "Source field -> dissect pattern, e.g. {message: '%{ts} %{+ts} %{level} %{msg}'}. "
        "An empty pattern does nothing."))
    convert_datatype: dict[str, str] = Field(default_factory=dict, description=(
        "Field -> 'int' or 'float', applied after the mappings (also on its own, without "
        "a mapping). 'int' truncates decimals. Numbers too large for a 64-bit integer or "
        "with more digits than a double holds are kept exactly (written as JSON numbers). "
        "A value that is no number keeps its value and tags the event "
        "_dataconversionuncoercible_<field>_<type>; an absent field tags "
        "_dataconversionnullvalue_<field>_<type>."))
    append_separator: str | None = Field(None, description=(
        "Joins the parts of %{+field} appends. Unset (the default, as in Logstash): each "
        "part is joined by the delimiter found before it in the pattern, or a space."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_dissectfailure"], description=(
        "Tags added when a pattern does not fit its source text (or the text is empty)."))

    @field_validator("convert_datatype")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        for name, kind in value.items():
            if kind.lower() not in TYPES:
                raise ValueError(f"convert_datatype {name!r}: {kind!r} is neither 'int' nor 'float'")
        return value


def _source_text(value: Any) -> str | None:
    """The text to dissect: strings as they are, scalars as Logstash prints them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return None


class DissectFilter(Filter):
    """Split source fields on literal delimiters into named fields."""

    Config = DissectConfig
    runs_on_event_loop = True
    config: DissectConfig

    def __init__(self, config: DissectConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._mappings: list[tuple[Path, Dissector]] = []
        for field, pattern in config.mapping.items():
            if not pattern:
                continue
            try:
                dissector = Dissector(pattern)
                self._mappings.append((parse(field), dissector))
            except ConfigError as exc:
                raise exc.located(path=f"mapping.{field}") from None
            if dissector.never_matches:
                self.log.warning("dissect mapping %s: %r has fields with no delimiter between "
                                 "them, so no text fits it (every event is tagged %s)",
                                 field, pattern, ",".join(config.tag_on_failure))
        self._conversions = [
            (parse(name), CONVERTERS[kind.lower()],
             f"_dataconversionnullvalue_{name}_{kind}", f"_dataconversionuncoercible_{name}_{kind}")
            for name, kind in config.convert_datatype.items()]
        self._separator = config.append_separator
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        matched: list[Event] = []
        separator = self._separator
        for event in events:
            for path, dissector in self._mappings:
                raw = event.data.get(path[0]) if len(path) == 1 else event.get_path(path)
                if raw is None:
                    continue          # an absent source field is no failure
                text = _source_text(raw)
                if text and dissector.apply(event, text, separator):
                    matched.append(event)
                elif self._failure_tags:
                    event.add_tag(*self._failure_tags)
            if self._conversions:
                self._convert(event)
        if self._actions.active and matched:
            self._actions.apply(matched)
        return events

    def _convert(self, event: Event) -> None:
        for path, convert, null_tag, bad_tag in self._conversions:
            value = event.get_path(path, _MISSING)
            if value is _MISSING or value is None:
                event.add_tag(null_tag)
                continue
            try:
                event.set_path(path, convert(value))
            except Uncoercible:
                event.add_tag(bad_tag)
