"""Settings of the ``translate`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from logpipe.core.logstash import Options
from logpipe.filters.common import CommonOptions


class TranslateConfig(CommonOptions):
    """Replace or enrich a field from a dictionary given inline or in a file."""

    source: str = Field(..., description=(
        "Field whose value is looked up (Logstash's older name: `field`). A list uses its "
        "first element; numbers and booleans are looked up as text."))
    target: str | None = Field(None, description=(
        "Where the translation goes (older name: `destination`). Default: `translation`, "
        "or the `source` field itself (translation in place) when `ecs_compatibility` is "
        "v1/v8."))
    dictionary: dict[str, Any] = Field(default_factory=dict, description=(
        "The dictionary inline: value -> translation. Translations may be any value."))
    dictionary_path: str | None = Field(None, description=(
        "A dictionary file instead: `.yml`/`.yaml` or `.json` (one object), or `.csv` "
        "(two columns: value, translation). Re-read when it changes (see "
        "`refresh_interval`); a file that fails to re-read keeps the previous dictionary. A "
        "file missing or unreadable at start fails the pipeline (Logstash starts with an "
        "empty dictionary)."))
    refresh_interval: float = Field(300, description=(
        "Seconds between checks of `dictionary_path` for changes; 0 or less never re-reads."))
    refresh_behaviour: Literal["merge", "replace"] = Field("merge", description=(
        "On reload, `merge` keeps entries removed from the file; `replace` drops them."))
    exact: bool = Field(True, description=(
        "True: the whole value must equal a key (or match it, with `regex`). False: every "
        "occurrence of any key (taken literally, tried in dictionary order) inside the value "
        "is replaced by its translation."))
    regex: bool = Field(False, description=(
        "With `exact`: keys are regular expressions; the first key (in dictionary order) "
        "that matches anywhere in the value gives the translation."))
    fallback: str | None = Field(None, description=(
        "Written to `target` when nothing matched (a %{field} template)."))
    override: bool | None = Field(None, description=(
        "Overwrite `target` when it already exists. Default: true when `target` is the "
        "`source` field, false otherwise."))
    iterate_on: str | None = Field(None, description=(
        "A list field to translate item by item. When it is the `source` field (a list of "
        "values), `target` receives the list of translations (`fallback`, or null, for items "
        "without one); otherwise each item is an object whose `source` field is looked up "
        "and whose `target` field receives the result (overwritten whatever `override` says)."))
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field("v8", description=(
        "Selects the default `target` (see there)."))
    yaml_dictionary_code_point_limit: int | None = Field(None, gt=0, description=(
        "Largest YAML dictionary file accepted, in characters (no limit when unset)."))
    yaml_load_strategy: Literal["one_shot", "streaming"] = Field("one_shot", description=(
        "Accepted for compatibility; YAML files are always read whole."))

    @field_validator("dictionary", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Logstash also takes a flat list `[key, value, key, value]`."""
        if isinstance(value, list):
            if len(value) % 2:
                raise ValueError("a dictionary given as a list needs key, value pairs")
            return {str(value[i]): value[i + 1] for i in range(0, len(value), 2)}
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_dictionary(self) -> TranslateConfig:
        if self.dictionary and self.dictionary_path:
            raise ValueError("`dictionary` and `dictionary_path` are mutually exclusive")
        if self.dictionary_path and not self.dictionary_path.lower().endswith(
                (".yml", ".yaml", ".json", ".csv")):
            raise ValueError("`dictionary_path` must end in .yml, .yaml, .json or .csv")
        if self.yaml_dictionary_code_point_limit is not None and not (
                self.dictionary_path or "").lower().endswith((".yml", ".yaml")):
            raise ValueError("`yaml_dictionary_code_point_limit` only applies to a YAML "
                             "`dictionary_path`")
        if self.override is False and self.target_field == self.source:
            raise ValueError("`override => false` has no effect when translating in place "
                             "(target is the source field); remove it")
        return self

    @property
    def target_field(self) -> str:
        if self.target is not None:
            return self.target
        return "translation" if self.ecs_compatibility == "disabled" else self.source

    @property
    def overrides(self) -> bool:
        return self.override if self.override is not None else self.target_field == self.source

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's older `field` / `destination` names are the same settings."""
        opts = Options("translate filter", super().from_logstash(options))
        opts.rename("field", "source")
        opts.rename("destination", "target")
        return opts.result()
