"""Settings of the ``throttle`` filter (Logstash's names and defaults)."""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from logpipe.core.sprintf import is_template
from logpipe.filters.common import CommonOptions


class ThrottleConfig(CommonOptions):
    """Count events per key and time period; events outside the allowed counts get the
    common options (usually `add_tag => "throttled"`, then drop them with a condition).

    Counts are kept per worker process: with N workers a key may pass up to N times
    `after_count` events per period. Run the pipeline with one worker when the limit
    must be exact.
    """

    key: str = Field(..., description=(
        "What is counted, a %{field} template (e.g. `%{host}%{message}`)."))
    before_count: int = Field(-1, description=(
        "Events of a period numbered below this are throttled; -1 turns the check off."))
    after_count: int = Field(-1, description=(
        "Events of a period numbered above this are throttled; -1 turns the check off."))
    period: str = Field("60", description=(
        "Length of a period in whole seconds (may be a %{field} template; a value that "
        "does not read as a number means 60). Periods follow the events' `@timestamp`, "
        "back to back from the first event of the key."))
    max_age: float = Field(3600, gt=0, description=(
        "Periods that ended this many seconds before the newest event are forgotten."))
    max_counters: int = Field(100000, gt=0, description=(
        "At most this many keys are counted; the oldest are forgotten first (Logstash "
        "shortens max_age instead)."))

    @field_validator("period", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _sane(self) -> ThrottleConfig:
        if not is_template(self.period):
            try:
                if int(self.period) <= 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"period must be a positive whole number of seconds, "
                                 f"not {self.period!r}") from None
        if self.before_count < -1 or self.after_count < -1:
            raise ValueError("before_count and after_count are -1 (off) or a count")
        return self
