"""The date filter: read a time from a field into ``@timestamp`` (or ``target``).

As in Logstash: formats are tried in order and the first that reads the value
wins; an absent field is left alone; a value no format reads tags the event
``_dateparsefailure`` (``tag_on_failure``), and ``add_tag``/``add_field`` apply
only on success. A list value is read element by element until one parses.
"""
from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any, Callable, ClassVar, Literal

from pydantic import Field, field_validator

from logpipe.core.event import METADATA, TIMESTAMP, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.memo import Generations
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import compile_template, is_template
from logpipe.errors import ConfigError
from logpipe.core.writes import TAGS_CHANGE, Writes, set_paths
from logpipe.filters.common import CommonActions, CommonOptions, StrList, common_writes
from logpipe.filters.date.formats import Parser, parser_for
from logpipe.filters.date.names import parse_locale
from logpipe.filters.date.zones import UTC, zone
from logpipe.filters.fieldaccess import getter, setter


_MISS: Any = object()
#: Texts per generation of the parse cache (two are kept: at most twice this many).
_CACHE_SIZE = 4096
_NO_CLOCK = frozenset({"ISO8601", "UNIX", "UNIX_MS", "TAI64N"})


def _clock_free(fmt: str) -> bool:
    """Whether a format reads the whole time from the text (a pattern without a year
    takes it from the clock, so its answer can change while the text does not)."""
    if fmt.upper() in _NO_CLOCK:
        return True
    letters = re.sub(r"'[^']*'", "", fmt)
    return "y" in letters or "Y" in letters


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
        "Language of month, day and AM/PM names: BCP 47 (fr-FR) or POSIX (fr_FR), any "
        "locale CLDR knows (through Babel). Default English."))
    precision: Literal["millisecond", "microsecond"] = Field("microsecond", description=(
        "Finest unit kept. Logstash keeps milliseconds (the default under a Logstash "
        ".conf pipeline); logpipe keeps microseconds where the text has them."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_dateparsefailure"], description=(
        "Tags added when the field is present but no format fits."))

    logstash_defaults: ClassVar[dict[str, Any]] = {"precision": "millisecond"}

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_locale(value)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return value


class DateFilter(Filter):
    """Set the event time (or ``target``) from a text or number field."""

    Config = DateConfig
    runs_on_event_loop = True
    config: DateConfig
    #: The current time, for patterns without a year (tests pin it).
    clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))

    def writes(self) -> Writes:
        return set_paths(self._target) + TAGS_CHANGE + common_writes(self.config)

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
        self._millis = config.precision == "millisecond"
        self._read = getter(self._source)
        self._write = setter(self._target)
        self._failure_tags = tuple(config.tag_on_failure)
        self._actions = CommonActions(config)
        #: Parsed times by text, when the answer depends on the text alone (a fixed zone,
        #: no year guessed from the clock). Access logs repeat each second many times.
        self._cache: Generations[str, datetime | None] | None = (
            Generations(_CACHE_SIZE)
            if self._static_zone is not None and all(_clock_free(f) for f in formats) else None)
        #: (whether in @metadata, key, top-level target key) when the source is one
        #: dict lookup away and the target a top-level field (``[@metadata][access_time]``
        #: into ``@timestamp``): then ``_process_quick`` runs.
        self._quick: tuple[bool, str, str] | None = None
        source = self._source
        if len(self._target) == 1 and self._target[0] != METADATA and (
                len(source) == 1 and source[0] != METADATA or len(source) == 2 and source[0] == METADATA):
            self._quick = (len(source) == 2, source[-1], self._target[0])

    def parse_value(self, value: Any, tz: tzinfo, now: datetime | None = None) -> datetime | None:
        for parser in self._parsers:
            result = parser(value, tz, now)
            if result is not None:
                if self._millis and result.microsecond % 1000:
                    result = result.replace(microsecond=result.microsecond - result.microsecond % 1000)
                return result
        return None

    def _remembered(self, raw: str, now: datetime) -> datetime | None:
        """The time of a text the newer generation of the cache does not hold."""
        zone = self._static_zone
        assert self._cache is not None and zone is not None
        return self._cache.recall(raw, lambda text: self.parse_value(text, zone, now))

    def process(self, events: list[Event]) -> list[Event]:
        now = self.clock()
        if self._quick is not None and self._cache is not None:
            done = self._process_quick(events, now)
        else:
            done = self._process(events, now)
        if self._actions.active:
            self._actions.apply(done)
        return events

    def _process_quick(self, events: list[Event], now: datetime) -> list[Event]:
        """``_process`` for a source read with one dict lookup and a top-level target:
        the cached text case written out; other values go to ``_process``."""
        in_meta, key, target = self._quick  # type: ignore[misc]
        remembered = self._remembered
        done: list[Event] = []
        others: list[Event] = []
        for event in events:
            raw = (event.metadata if in_meta else event.data).get(key)
            if type(raw) is str:
                result = self._cache.newer.get(raw, _MISS)  # type: ignore[union-attr]
                if result is _MISS:
                    result = remembered(raw, now)
                if result is not None:
                    event.data[target] = result
                    done.append(event)
                    continue
            elif raw is not None:
                others.append(event)
                continue
            else:
                continue
            if self._failure_tags:
                event.add_tag(*self._failure_tags)
        if others:
            done.extend(self._process(others, now))
        return done

    def _process(self, events: list[Event], now: datetime) -> list[Event]:
        done: list[Event] = []
        read, write = self._read, self._write
        for event in events:
            raw = read(event)
            if raw is None:
                continue
            if self._cache is not None and type(raw) is str:
                result = self._cache.newer.get(raw, _MISS)
                if result is _MISS:
                    result = self._remembered(raw, now)
            else:
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
            write(event, result)
            done.append(event)
        return done

    def _event_zone(self, event: Event) -> tzinfo | None:
        try:
            return zone(self._zone_template(event))  # type: ignore[misc]
        except ConfigError:
            return None
