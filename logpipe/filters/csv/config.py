"""Settings of the ``csv`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from logpipe.filters.common import CommonOptions

Conversion = Literal["integer", "float", "date", "date_time", "boolean"]


class CsvConfig(CommonOptions):
    """Split a delimited line (CSV, TSV...) into named fields."""

    logstash_hashes: ClassVar[tuple[str, ...]] = ("convert",)

    source: str = Field("message", description="Field holding the line.")
    target: str | None = Field(None, description=(
        "Object that receives the columns. Default: the top level of the event."))
    columns: list[str] = Field(default_factory=list, description=(
        "Column names in order. Values beyond them are named `column<N>` (1-based) when "
        "`autogenerate_column_names` is on, and dropped otherwise."))
    separator: str = Field(",", min_length=1, max_length=1, description=(
        "The column separator, one character (`\\t` for TSV); Logstash's multi-character "
        "separators are refused."))
    quote_char: str = Field('"', min_length=1, max_length=1, description=(
        "Character that quotes values holding separators or quotes (doubled inside)."))
    autodetect_column_names: bool = Field(False, description=(
        "Take the column names from the first line seen. That line is per worker "
        "process: run such pipelines with one worker, as Logstash requires."))
    skip_header: bool = Field(False, description=(
        "Drop lines equal to the column names (a header line) instead of parsing them."))
    autogenerate_column_names: bool = Field(True, description=(
        "Name values without a column `column<N>`; when off they are dropped."))
    skip_empty_columns: bool = Field(False, description="Do not write empty values.")
    skip_empty_rows: bool = Field(False, description=(
        "An empty line gets `_csvskippedemptyfield` instead of `tag_on_failure` (the "
        "event is kept, as in Logstash)."))
    convert: dict[str, Conversion] = Field(default_factory=dict, description=(
        "column -> integer | float | date | date_time | boolean; a value that does not "
        "convert is kept as text (boolean: only true/false convert, other text is kept "
        "trimmed and lower-cased). Dates are read as ISO 8601."))
    tag_on_failure: list[str] = Field(default_factory=lambda: ["_csvparsefailure"],
                                      description="Tags added when the line is no valid CSV.")

    @field_validator("separator", "quote_char", mode="before")
    @classmethod
    def _escapes(cls, value: object) -> object:
        if isinstance(value, str) and value == "\\x00":
            return "\x00"
        if isinstance(value, str) and len(value) == 2 and value.startswith("\\"):
            return {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}.get(value, value)
        return value
