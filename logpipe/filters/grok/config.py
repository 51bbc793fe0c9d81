"""Settings of the grok filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from logpipe.filters.common import CommonOptions, StrList


def _one_or_many(value: Any) -> Any:
    """``match`` takes field -> expression or field -> [expressions]."""
    if isinstance(value, dict):
        return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
    return value


class GrokConfig(CommonOptions):
    """Parse text with named regular-expression patterns into fields."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("pattern_definitions",)

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's ``match => ["field", "pattern", "field", "pattern2"]`` lists pairs;
        a field named twice gets both patterns, tried in order."""
        out = super().from_logstash(options)
        match = out.get("match")
        if isinstance(match, list):
            if len(match) % 2:
                raise ValueError("grok match as an array takes field, expression pairs")
            merged: dict[str, list[str]] = {}
            for field, pattern in zip(match[::2], match[1::2]):
                merged.setdefault(field, []).extend(
                    pattern if isinstance(pattern, list) else [pattern])
            out["match"] = merged
        return out

    match: Annotated[dict[str, list[str]], BeforeValidator(_one_or_many)] = Field(
        default_factory=dict, description=(
            "Field -> grok expression, or field -> list of expressions tried in order. "
            "Expressions use %{SYNTAX}, %{SYNTAX:SEMANTIC} and %{SYNTAX:SEMANTIC:int|float|bool}; "
            "SEMANTIC is a field reference ([http][method] or http.method). Oniguruma "
            "named groups (?<field>...) capture too, and %{NAME=regex} defines a pattern "
            "inline. As in Logstash, '.' matches a newline and ^/$ are line anchors."))
    break_on_match: bool = Field(True, description=(
        "Stop at the first expression that matches. When false, every expression "
        "of every field is tried and all their captures are stored."))
    overwrite: StrList = Field(default_factory=list, description=(
        "Fields a capture may replace. Any other field that already holds a string "
        "becomes a list with the capture appended, as in Logstash."))
    named_captures_only: bool = Field(True, description=(
        "Store only captures with a name. When false, %{SYNTAX} without a semantic "
        "is stored under the pattern name."))
    keep_empty_captures: bool = Field(False, description=(
        "Store captures that matched the empty string, and store null for an optional "
        "capture that took no part in the match (as Logstash does)."))
    tag_on_failure: StrList = Field(default_factory=lambda: ["_grokparsefailure"], description=(
        "Tags added when no expression matches."))
    tag_on_timeout: str = Field("_groktimeout", description=(
        "Tag added when matching ran out of time; the event then gets no failure tag."))
    timeout_millis: int = Field(30000, ge=0, description=(
        "Time budget of one match attempt in milliseconds (0: no limit). Expressions "
        "that RE2 can decide never need it: a line is rejected in linear time. It "
        "bounds expressions with lookaround, backreferences or user-written repetition."))
    timeout_scope: Literal["pattern", "event"] = Field("pattern", description=(
        "'pattern': each expression attempt gets timeout_millis; 'event': all attempts "
        "on one event share it."))
    patterns_dir: StrList = Field(default_factory=list, description=(
        "Directories (or files) of extra patterns, one 'NAME regex' per line. Later "
        "definitions win over the bundled ones."))
    patterns_files_glob: str = Field("*", description=(
        "Which files of each patterns_dir directory to read."))
    pattern_definitions: dict[str, str] = Field(default_factory=dict, description=(
        "Inline patterns, name -> regex; they win over patterns_dir and the bundled library."))
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description=(
        "Field names of the bundled patterns: 'disabled' gives the classic names "
        "(clientip, verb, response...), 'v8' (or 'v1') Elastic Common Schema names "
        "(source.address, http.request.method, http.response.status_code...)."))
    target: str | None = Field(None, description=(
        "Put every capture under this field instead of at the event's root."))
