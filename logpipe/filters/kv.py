"""The kv filter: ``key=value`` pairs in text become fields.

One scanning expression is built per filter instance from the split settings:
a key is a run of characters that are neither field nor value separators; a
value is a quoted string (``"..."``, ``'...'``), a bracketed one (``(...)``,
``[...]``, ``<...>``, when ``include_brackets``) or a run of characters up to
the next field separator. Quotes and brackets are removed from the value.

Keys are stored as plain field names (``a.b`` and ``[x]`` are not parsed as
references), so text from the log cannot address arbitrary nested fields;
``@timestamp``, ``@metadata`` and ``tags`` are never written by this filter.

The scan runs in the ``regex`` module with ``timeout_millis`` because
``field_split_pattern`` and ``value_split_pattern`` are arbitrary user regexes.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import regex
from pydantic import Field

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.logstash import Options, is_false
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, CommonOptions, StrList

_PROTECTED = frozenset({"@timestamp", "@metadata", "tags"})


class KvConfig(CommonOptions):
    """Extract key=value pairs from text."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("default_keys",)

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's kv options; ``recursive`` and ``allow_empty_values`` only as false."""
        opts = Options("kv filter", super().from_logstash(options))
        opts.refuse("recursive", "values are not parsed for nested key=value pairs",
                    allowed=is_false)
        opts.refuse("allow_empty_values", "keys without a value are always dropped",
                    allowed=is_false)
        opts.ignore("ecs_compatibility")
        return opts.result()

    source: str = Field("message", description="The field holding the text.")
    target: str | None = Field(None, description=(
        "Put the pairs under this field instead of at the event's root."))
    field_split: str = Field(" ", description=(
        "Characters each of which separates one pair from the next (e.g. '&' for query "
        "strings, ' ,' for either)."))
    value_split: str = Field("=", description=(
        "Characters each of which separates a key from its value."))
    field_split_pattern: str | None = Field(None, description=(
        "A regex separating pairs; overrides field_split (e.g. ', *' or '\\|\\|')."))
    value_split_pattern: str | None = Field(None, description=(
        "A regex separating a key from its value; overrides value_split (e.g. ':=')."))
    include_keys: StrList = Field(default_factory=list, description=(
        "Store only these keys (checked after trimming and removing characters)."))
    exclude_keys: StrList = Field(default_factory=list, description="Never store these keys.")
    default_keys: dict[str, Any] = Field(default_factory=dict, description=(
        "Key -> value stored when the text does not contain that key."))
    trim_key: str = Field("", description="Characters stripped from both ends of keys.")
    trim_value: str = Field("", description="Characters stripped from both ends of values.")
    remove_char_key: str = Field("", description="Characters removed anywhere in keys.")
    remove_char_value: str = Field("", description="Characters removed anywhere in values.")
    transform_key: Literal["", "lowercase", "uppercase", "capitalize"] = Field("", description=(
        "Change the case of keys."))
    transform_value: Literal["", "lowercase", "uppercase", "capitalize"] = Field("", description=(
        "Change the case of values."))
    prefix: str = Field("", description="Text put in front of every key.")
    allow_duplicate_values: bool = Field(True, description=(
        "A key seen several times gets a list of its values; when false, repeated "
        "identical values are kept once."))
    include_brackets: bool = Field(True, description=(
        "Treat (...), [...] and <...> as quoted values and drop the brackets."))
    whitespace: Literal["lenient", "strict"] = Field("lenient", description=(
        "'lenient' allows spaces around the value separator; 'strict' does not."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_kv_filter_error"], description=(
        "Tags added when the source cannot be scanned."))
    tag_on_timeout: str = Field("_kv_filter_timeout", description=(
        "Tag added when scanning ran out of time."))
    timeout_millis: int = Field(30000, ge=0, description=(
        "Time budget of one scan in milliseconds (0: no limit)."))


def _char_class(chars: str) -> str:
    return "".join(regex.escape(c) for c in chars)


def _build_scanner(cfg: KvConfig) -> regex.Pattern[str]:
    if cfg.field_split_pattern:
        fs = f"(?:{cfg.field_split_pattern})"
    elif cfg.field_split:
        fs = f"[{_char_class(cfg.field_split)}]"
    else:
        raise ConfigError("kv: field_split must not be empty")
    if cfg.value_split_pattern:
        vs = f"(?:{cfg.value_split_pattern})"
    elif cfg.value_split:
        vs = f"[{_char_class(cfg.value_split)}]"
    else:
        raise ConfigError("kv: value_split must not be empty")
    if cfg.field_split_pattern or cfg.value_split_pattern:
        key = f"(?:(?!{fs}|{vs}).)+"
        plain = f"(?:(?!{fs}).)*"
    else:
        key = f"[^{_char_class(cfg.field_split + cfg.value_split)}]+"
        plain = f"[^{_char_class(cfg.field_split)}]*"
    quoted = [r'"(?P<dq>[^"]*)"', r"'(?P<sq>[^']*)'"]
    if cfg.include_brackets:
        quoted += [r"\((?P<pq>[^)]*)\)", r"\[(?P<bq>[^\]]*)\]", r"<(?P<aq>[^>]*)>"]
    gap = " *" if cfg.whitespace == "lenient" else ""
    # A quoted value must end at a field separator (or the end), otherwise it is plain text.
    value = f"(?:(?:{'|'.join(quoted)})(?={fs}|$)|(?P<plain>{plain}))"
    # A pair starts at the beginning of the text or right after a field separator.
    text = f"(?:^|{fs})(?P<key>{key}?){gap}{vs}{gap}{value}"
    try:
        return regex.compile(text, regex.V0)
    except regex.error as exc:
        raise ConfigError(f"kv: bad split pattern: {exc}") from None


_TRANSFORMS = {"": None, "lowercase": str.lower, "uppercase": str.upper,
               "capitalize": str.capitalize}


class KvFilter(Filter):
    """Turn key=value text into fields."""

    Config = KvConfig
    config: KvConfig

    def __init__(self, config: KvConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._scanner = _build_scanner(config)
        self._source = parse(config.source)
        self._target: Path | None = parse(config.target) if config.target else None
        self._include = frozenset(config.include_keys)
        self._exclude = frozenset(config.exclude_keys)
        self._timeout = config.timeout_millis / 1000.0 if config.timeout_millis else None
        self._key_table = str.maketrans("", "", config.remove_char_key) if config.remove_char_key else None
        self._value_table = (str.maketrans("", "", config.remove_char_value)
                             if config.remove_char_value else None)
        self._key_transform = _TRANSFORMS[config.transform_key]
        self._value_transform = _TRANSFORMS[config.transform_value]
        self._failure_tags = tuple(config.tag_on_failure)
        self._lenient = config.whitespace == "lenient"
        self._value_groups = (("dq", "sq", "pq", "bq", "aq", "plain") if config.include_brackets
                              else ("dq", "sq", "plain"))
        self._actions = CommonActions(config)

    def parse_text(self, text: str) -> dict[str, Any]:
        """The pairs of one text. Raises TimeoutError when the scan runs out of time."""
        cfg = self.config
        found: dict[str, Any] = {}
        for m in self._scanner.finditer(text, timeout=self._timeout):
            key = m.group("key")
            if self._lenient:
                key = key.strip()
            if cfg.trim_key:
                key = key.strip(cfg.trim_key)
            if self._key_table is not None:
                key = key.translate(self._key_table)
            if self._key_transform is not None:
                key = self._key_transform(key)
            if not key or (self._include and key not in self._include) or key in self._exclude:
                continue
            value = next((v for v in m.group(*self._value_groups) if v is not None), "")
            if cfg.trim_value:
                value = value.strip(cfg.trim_value)
            if self._value_table is not None:
                value = value.translate(self._value_table)
            if self._value_transform is not None:
                value = self._value_transform(value)
            if not value:
                continue
            key = cfg.prefix + key
            if key in _PROTECTED:
                continue
            old = found.get(key)
            if old is None:
                found[key] = value
            elif isinstance(old, list):
                if cfg.allow_duplicate_values or value not in old:
                    old.append(value)
            elif cfg.allow_duplicate_values or old != value:
                found[key] = [old, value]
        for key, value in cfg.default_keys.items():
            found.setdefault(cfg.prefix + key, value)
        return found

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            raw = event.get_path(self._source)
            if raw is None:
                continue
            texts = raw if isinstance(raw, list) else [raw]
            try:
                pairs: dict[str, Any] = {}
                for item in texts:
                    if isinstance(item, str):
                        pairs.update(self.parse_text(item))
            except TimeoutError:
                event.add_tag(self.config.tag_on_timeout)
                continue
            except Exception:  # noqa: BLE001 - bad input must never stop the pipeline
                self.log.debug("kv could not scan %r", raw, exc_info=True)
                if self._failure_tags:
                    event.add_tag(*self._failure_tags)
                continue
            self._store(event, pairs)
            done.append(event)
        if self._actions.active:
            self._actions.apply(done)
        return events

    def _store(self, event: Event, pairs: dict[str, Any]) -> None:
        if not pairs:
            return
        if self._target is None:
            event.data.update(pairs)
            return
        current = event.get_path(self._target)
        if isinstance(current, dict):
            current.update(pairs)
        else:
            event.set_path(self._target, pairs)
