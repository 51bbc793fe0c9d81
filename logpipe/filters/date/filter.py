"""The date filter: read a time from a field into ``@timestamp`` (or ``target``)."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from pydantic import Field, field_validator

from logpipe.core.event import TIMESTAMP, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import compile_template, is_template
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, CommonOptions, StrList
from logpipe.filters.date.formats import UTC, Parser, parser_for, zone


class DateConfig(CommonOptions):
    """Parse a date from a field."""

    match: list[str] = Field(..., min_length=2, description=(
        "[field, format, format, ...]: formats are tried in order. A format is ISO8601, "
        "UNIX (seconds), UNIX_MS, TAI64N or a Joda-Time pattern such as "
        "'dd/MMM/yyyy:HH:mm:ss Z' or 'MMM  d HH:mm:ss'."))
    target: str = Field(TIMESTAMP, description=(
        "Where the parsed time goes (a timezone-aware UTC datetime)."))
    timezone: str | None = Field(None, description=(
        "Zone of times that carry no offset: an IANA name (Europe/Berlin), UTC or "
        "+02:00; may be a %{field} template. Default UTC."))
    locale: str | None = Field(None, description=(
        "Language of month and day names. Only English is supported (en, en-US, ...)."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_dateparsefailure"], description=(
        "Tags added when the field is present but no format fits."))

    @field_validator("locale")
    @classmethod
    def _english_only(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().replace("_", "-").split("-")[0] in ("en", "root", ""):
            raise ValueError(f"only English month and day names are supported, not {value!r}")
        return value


class DateFilter(Filter):
    """Set the event time (or ``target``) from a text or number field."""

    Config = DateConfig
    config: DateConfig

    def __init__(self, config: DateConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        field, *formats = config.match
        try:
            self._source: Path = parse(field)
            self._parsers: list[Parser] = [parser_for(f, config.locale) for f in formats]
            self._target: Path = parse(config.target)
            self._static_zone: tzinfo | None = UTC
            self._zone_template = None
            if config.timezone:
                if is_template(config.timezone):
                    self._static_zone = None
                    self._zone_template = compile_template(config.timezone)
                else:
                    self._static_zone = zone(config.timezone)
        except ConfigError as exc:
            raise exc.located(path="match") from None
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)

    def parse_value(self, value: Any, tz: tzinfo, now: datetime | None = None) -> datetime | None:
        for parser in self._parsers:
            result = parser(value, tz, now)
            if result is not None:
                return result
        return None

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        now = datetime.now(UTC)
        for event in events:
            raw = event.get_path(self._source)
            if raw is None:
                continue
            tz = self._static_zone if self._static_zone is not None else self._event_zone(event)
            result = None
            if tz is not None:
                for value in (raw if isinstance(raw, list) else (raw,)):
                    result = self.parse_value(value, tz, now)
                    if result is not None:
                        break
            if result is None:
                if self._failure_tags:
                    event.add_tag(*self._failure_tags)
                continue
            event.set_path(self._target, result)
            done.append(event)
        if self._actions.active:
            self._actions.apply(done)
        return events

    def _event_zone(self, event: Event) -> tzinfo | None:
        try:
            return zone(self._zone_template(event))  # type: ignore[misc]
        except ConfigError:
            return None
