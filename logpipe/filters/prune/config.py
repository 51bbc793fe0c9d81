"""Settings of the ``prune`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from logpipe.filters.common import CommonOptions, StrList


class PruneConfig(CommonOptions):
    """Remove top-level fields by name (regular expressions) or by value."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("whitelist_values", "blacklist_values")

    whitelist_names: StrList = Field(default_factory=list, description=(
        "Keep only the top-level fields whose name matches one of these regular "
        "expressions (unanchored: use ^...$ for whole names). `@timestamp` is always kept."))
    blacklist_names: StrList = Field(default_factory=lambda: ["%{[^}]+}"], description=(
        "Remove the top-level fields whose name matches one of these regular expressions. "
        "The default removes fields named after an unresolved %{...} reference."))
    whitelist_values: dict[str, Any] = Field(default_factory=dict, description=(
        "field -> regex (or list of regexes): remove the field unless its value matches; "
        "in a list field, the items that do not match are removed."))
    blacklist_values: dict[str, Any] = Field(default_factory=dict, description=(
        "field -> regex (or list of regexes): remove the field (or the list items) whose "
        "value matches."))
    interpolate: bool = Field(False, description=(
        "Expand %{field} references in names and patterns per event before matching."))

    @field_validator("whitelist_values", "blacklist_values")
    @classmethod
    def _patterns(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, pattern in value.items():
            items = pattern if isinstance(pattern, list) else [pattern]
            if not items or not all(isinstance(p, str) for p in items):
                raise ValueError(f"{key}: expected a regular expression or a list of them")
        return value
