"""Settings of the kv filter: Logstash's names, meanings and defaults."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from logpipe.core.logstash import Options
from logpipe.filters.common import CommonOptions, StrList

Transform = Literal["", "lowercase", "uppercase", "capitalize"]


class KvConfig(CommonOptions):
    """Extract key=value pairs from text."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("default_keys",)

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's kv options; ``ecs_compatibility`` changes nothing kv writes."""
        opts = Options("kv filter", super().from_logstash(options))
        opts.ignore("ecs_compatibility")
        return opts.result()

    source: str = Field("message", description=(
        "The field holding the text (a list of texts is read element by element)."))
    target: str | None = Field(None, description=(
        "Put the pairs under this field (replacing what it held) instead of at the "
        "event's root."))
    field_split: str = Field(" ", description=(
        "Characters each of which separates one pair from the next (e.g. '&' for query "
        "strings, ' ,' for either). As in Logstash, a backslash escape ('\\t', '\\|') "
        "stands for what it means in a regular expression."))
    value_split: str = Field("=", description=(
        "Characters each of which separates a key from its value."))
    field_split_pattern: str | None = Field(None, description=(
        "A regex separating pairs; overrides field_split (e.g. ', *' or '\\|\\|')."))
    value_split_pattern: str | None = Field(None, description=(
        "A regex separating a key from its value; overrides value_split (e.g. ':=')."))
    include_keys: StrList = Field(default_factory=list, description=(
        "Store only these keys (checked after trimming, removing characters and changing "
        "case, before the prefix); %{field} templates allowed."))
    exclude_keys: StrList = Field(default_factory=list, description=(
        "Never store these keys; %{field} templates allowed."))
    default_keys: dict[str, Any] = Field(default_factory=dict, description=(
        "Key -> value stored when the text does not contain that key (no prefix added)."))
    trim_key: str = Field("", description="Characters stripped from both ends of keys.")
    trim_value: str = Field("", description="Characters stripped from both ends of values.")
    remove_char_key: str = Field("", description="Characters removed anywhere in keys.")
    remove_char_value: str = Field("", description="Characters removed anywhere in values.")
    transform_key: Transform = Field("", description="Change the case of keys.")
    transform_value: Transform = Field("", description="Change the case of values.")
    prefix: str = Field("", description=(
        "Text put in front of every key (%{field} templates allowed)."))
    allow_duplicate_values: bool = Field(True, description=(
        "A key seen several times gets a list of its values; when false, a value the key "
        "already holds is not added again."))
    allow_empty_values: bool = Field(False, description=(
        "Store keys whose value is empty ('a=' or 'a=\"\"') as empty strings."))
    include_brackets: bool = Field(True, description=(
        "Treat (...), [...] and <...> as quoted values and drop the brackets."))
    recursive: bool = Field(False, description=(
        "Parse each value again; a value holding pairs becomes an object of them."))
    whitespace: Literal["lenient", "strict"] = Field("lenient", description=(
        "'lenient' allows spaces around the value separator; 'strict' does not."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_kv_filter_error"], description=(
        "Tags added when the source cannot be scanned."))
    tag_on_timeout: str = Field("_kv_filter_timeout", description=(
        "Tag added when scanning ran out of time."))
    timeout_millis: int = Field(30000, ge=0, description=(
        "Time budget of one event's scan in milliseconds (0: no limit)."))

    @field_validator("value_split", "field_split", "field_split_pattern", "value_split_pattern")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("must be a non-empty string")
        return value
