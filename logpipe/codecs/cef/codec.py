"""``cef``: ArcSight Common Event Format, decoded into fields and encoded from them.

With ``ecs_compatibility: v8`` (the default, as Logstash 8) decoded fields take
ECS names (``src`` becomes ``[source][ip]``, the vendor ``[observer][vendor]``);
with ``disabled`` they take CEF's own long names at the root (``sourceAddress``,
``deviceVendor``). A record that cannot be read is kept whole in ``message``
and tagged ``_cefparsefailure``.

Encoding writes ``CEF:0|vendor|product|version|signature|name|severity|`` (each
a ``%{field}`` template) followed by the configured ``fields`` as key=value
pairs, escaped as the format requires.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Literal

import orjson
from pydantic import Field, field_validator

from logpipe.codecs.base import DEFAULT_MAX_LINE_BYTES, Codec, CodecConfig, StreamDecoder
from logpipe.codecs.cef import parse
from logpipe.codecs.cef.fields import HEADER_ECS, HEADER_LEGACY, mapping
from logpipe.codecs.plain import unescape
from logpipe.core.codec import event_from_line
from logpipe.core.event import Event
from logpipe.core.sprintf import compile_template
from logpipe.core.zones import zone_of

FAILURE_TAG = "_cefparsefailure"
_DEFAULTS = {"vendor": "Elasticsearch", "product": "Logstash", "version": "1.0",
             "signature": "Logstash", "name": "Logstash", "severity": "6"}


class CefConfig(CodecConfig):
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field(
        "v8", description="v1/v8: ECS field names; disabled: CEF's long names at the root.")
    device: Literal["observer", "host"] = Field(
        "observer", description="Whether device fields describe the observer or the host (ECS mode).")
    delimiter: str | None = Field(None, description="Separator between records on a stream (\\r\\n, \\n).")
    raw_data_field: str | None = Field(None, description="Also keep the raw record in this field.")
    default_timezone: str = Field("UTC", description="Zone of timestamps that carry none (ECS mode).")
    vendor: str = Field(_DEFAULTS["vendor"], description="Header vendor when encoding (template).")
    product: str = Field(_DEFAULTS["product"], description="Header product when encoding (template).")
    version: str = Field(_DEFAULTS["version"], description="Header device version when encoding (template).")
    signature: str = Field(_DEFAULTS["signature"], description="Header signature id when encoding (template).")
    name: str = Field(_DEFAULTS["name"], description="Header name when encoding (template).")
    severity: str = Field(_DEFAULTS["severity"],
                          description="Header severity when encoding (template; not 0-10: written as 6).")
    fields: list[str] = Field(default_factory=list, description="Fields written as extension pairs.")
    reverse_mapping: bool = Field(False, description="Write extension keys short (src) instead of long.")
    locale: str | None = Field(None, description="Accepted for Logstash configs; month names are English.")

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone_of(v)
        return v


_TIME_FORMATS = ("%b %d %Y %H:%M:%S.%f", "%b %d %Y %H:%M:%S", "%b %d %H:%M:%S.%f", "%b %d %H:%M:%S")


def parse_time(text: str, zone: tzinfo) -> datetime | None:
    """CEF's time forms: epoch milliseconds, ISO 8601, ``MMM dd [yyyy] HH:mm:ss[.SSS]``."""
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, timezone.utc)
    parsed = _parse_text_time(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(timezone.utc)


def _parse_text_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt:    # no year: the most recent such date, not in the future
            now = datetime.now(timezone.utc)
            parsed = parsed.replace(year=now.year)
            if parsed.replace(tzinfo=timezone.utc) > now + timedelta(days=1):
                parsed = parsed.replace(year=now.year - 1)
        return parsed
    return None


class CefCodec(Codec):
    Config = CefConfig
    config: CefConfig

    def __init__(self, config: CefConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        self.ecs = cfg.ecs_compatibility != "disabled"
        self.map = mapping(cfg.device)
        self.zone = zone_of(cfg.default_timezone)
        self._delimiter = unescape(cfg.delimiter).encode() if cfg.delimiter else b"\n"
        self._templates = {k: compile_template(getattr(cfg, k)) for k in _DEFAULTS}

    # --- decoding ----------------------------------------------------------------------
    def stream(self, max_line_bytes: int | None = None) -> StreamDecoder:
        return StreamDecoder(self, self._delimiter, max_line_bytes or DEFAULT_MAX_LINE_BYTES)

    def decode(self, data: bytes) -> list[Event]:
        if self.config.delimiter:
            return super().decode(data)
        return self.decode_line(data.rstrip(b"\r\n"))

    def decode_line(self, line: bytes) -> list[Event]:
        if not line.strip():
            return []
        try:
            text = line.decode("utf-8")
            return [self._record(text)]
        except (UnicodeDecodeError, parse.CefSyntaxError):
            event = event_from_line(line)
            event.add_tag(FAILURE_TAG)
            return [event]

    def _record(self, text: str) -> Event:
        raw = text
        if text.startswith('"') and text.endswith('"') and len(text) > 1:
            text = text[1:-1]
        header, ext = parse.split_header(text)
        version, prefix = parse.version_and_prefix(header[0])
        header[0] = version
        event = Event()
        if self.config.raw_data_field:
            event.set(self.config.raw_data_field, raw)
        names = HEADER_ECS if self.ecs else HEADER_LEGACY
        for name, value in zip(names, header):
            event.set(name, value)
        if prefix is not None:
            event.set("[log][syslog][header]" if self.ecs else "syslog", prefix)
        pairs = parse.extension_pairs(ext)
        if self.ecs:
            self._ecs_pairs(event, pairs)
        else:
            expand = self.map.key_to_name
            for key, value in pairs:
                _set_key(event, expand.get(key, key), value)
        return event

    def _ecs_pairs(self, event: Event, pairs: list[tuple[str, str]]) -> None:
        lookup = self.map.by_name_or_key
        zone: tzinfo = self.zone
        for key, value in pairs:
            if key in ("dtz", "deviceTimeZone"):
                try:
                    zone = zone_of(value)
                except ValueError:
                    pass
        for key, value in pairs:
            f = lookup.get(key)
            if f is None:
                _set_key(event, key, value)
                continue
            if f.timestamp:
                when = parse_time(value, zone)
                if when is not None:
                    event.set(f.ecs, when)
                    continue
                if f.ecs == "@timestamp":   # unreadable: keep the text, not a broken @timestamp
                    event.set("[cef][device_receipt_time]", value)
                    continue
            event.set(f.ecs, value)

    # --- encoding ----------------------------------------------------------------------
    def encode(self, event: Event) -> bytes:
        head = ["CEF:0"]
        for key in ("vendor", "product", "version", "signature", "name"):
            value = header_escape(self._templates[key](event))
            head.append(value or _DEFAULTS[key])
        head.append(_severity(header_escape(self._templates["severity"](event)).strip()))
        pairs = [p for p in (self._pair(name, event) for name in self.config.fields) if p]
        tail = unescape(self.config.delimiter) if self.config.delimiter else ""
        return ("|".join(head) + "|" + " ".join(pairs) + tail).encode()

    def _pair(self, field: str, event: Event) -> str | None:
        value = event.get(field)
        if value is None:
            return None
        key = self._key(field)
        if isinstance(value, (dict, list)):
            text = orjson.dumps(value).decode()
        elif isinstance(value, datetime):
            return f"{key}={value.isoformat().replace('+00:00', 'Z')}"
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        return f"{key}={value_escape(text)}"

    def _key(self, field: str) -> str:
        if self.ecs:
            ref = field if field.startswith("[") or field == "@timestamp" else \
                "".join(f"[{p}]" for p in field.split("."))
            f = self.map.by_ecs.get(ref)
            if f is not None:
                return (f.key or f.name) if self.config.reverse_mapping else f.name
        key = "".join(c for c in field if c.isascii() and c.isalnum())
        if self.config.reverse_mapping:
            return self.map.name_to_key.get(key, key)
        return key


def _set_key(event: Event, key: str, value: str) -> None:
    """An extension key as a field: ``a[0]`` is an index, a dotted key stays one name."""
    if key.endswith("]"):
        event.set(parse.field_reference(key), value)
    else:
        event.data[key] = value


def header_escape(text: str) -> str:
    """Backslash and pipe escaped; line breaks become spaces (they end a record)."""
    return (text.replace("\r\n", "\n").replace("\\", "\\\\").replace("|", "\\|")
            .replace("\n", " ").replace("\r", " "))


def value_escape(text: str) -> str:
    """Backslash and equals escaped; line breaks written as \\n."""
    return (text.replace("\r\n", "\n").replace("\\", "\\\\").replace("=", "\\=")
            .replace("\n", "\\n").replace("\r", "\\n"))


def _severity(text: str) -> str:
    try:
        f = float(text)
    except ValueError:
        return _DEFAULTS["severity"]
    if f != f or f % 1 != 0 or not 0 <= f <= 10:
        return _DEFAULTS["severity"]
    return str(int(f))


