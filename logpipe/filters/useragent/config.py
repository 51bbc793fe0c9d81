"""Settings of the ``useragent`` filter."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from logpipe.filters.common import CommonOptions
from logpipe.filters.useragent import logstash as _logstash


class UserAgentConfig(CommonOptions):
    """Browser, operating system and device from a User-Agent header."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(super().from_logstash(options))

    source: str = Field("user_agent.original", description="Field holding the User-Agent text.")
    target: str = Field("user_agent", description=(
        "Object that receives `name`, `version`, `os.*`, `device.name` and `device.type`; "
        "fields already in it (such as `original`) are kept."))
    cache_size: int = Field(10000, ge=0, description=(
        "Remember up to this many distinct User-Agent strings (those not seen lately are "
        "forgotten); 0 turns the cross-batch cache off."))
    max_length: int = Field(1024, ge=16, description=(
        "Only this many leading characters are parsed: real User-Agents are shorter, and an "
        "oversized one must not cost the parser's regexes unbounded time."))
    tag_on_failure: list[str] = Field(default_factory=lambda: ["_useragent_parse_failure"],
                                      description="Tags added when the source is not text.")
