"""The shape of a pipeline file: ``settings`` and the three plugin lists."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from logpipe.dlq.config import PipelineDeadLetterQueue


class Settings(BaseModel):
    """Pipeline-wide settings; every one has a default that suits a small node."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    batch_size: int = Field(500, ge=1, description="Most events a pipeline worker takes at once.")
    batch_delay_ms: float = Field(
        20, ge=0, description="How long a worker waits for a batch to fill before taking what is there.")
    pipeline_workers: int = Field(
        2, ge=1, description="Batches processed concurrently in one process (overlaps output I/O).")
    queue_max_events: int = Field(20_000, ge=1, description="Queue bound in events.")
    queue_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Queue bound in bytes.")
    shutdown_timeout: float = Field(
        30, gt=0, description="Seconds to drain on SIGTERM before exiting non-zero.")
    workers: int | None = Field(
        None, ge=1, description="Worker processes for `logpipe run` (default: CPU count).")
    log_level: str = Field("info", description="Our own log level: debug, info, warning, error.")
    metrics_host: str = Field("127.0.0.1", description="Address of the /metrics and /health endpoint.")
    metrics_port: int | None = Field(None, ge=0, le=65535, description="Port of /metrics; none disables it.")
    ordered: bool | Literal["auto"] = Field("auto", description=(
        "Keep events in the order they entered through filters and outputs, even across "
        "conditionals and filters that drop or split events. auto: when pipeline_workers "
        "is 1; true requires pipeline_workers 1 (as Logstash's pipeline.ordered)."))

    @model_validator(mode="after")
    def _ordered_needs_one_worker(self) -> Settings:
        if self.ordered is True and self.pipeline_workers > 1:
            raise ValueError("ordered: true needs pipeline_workers: 1 (batches processed "
                             "concurrently would overtake each other)")
        return self

    @property
    def is_ordered(self) -> bool:
        """Whether stages keep order: ``ordered``, with auto meaning one pipeline worker."""
        if self.ordered == "auto":
            return self.pipeline_workers == 1
        return bool(self.ordered)
    path_data: str = Field(
        "data", alias="path.data",
        description="Directory for files logpipe keeps (dead letters, spill files, state); "
                    "relative paths are relative to the working directory.")
    path_dead_letter_queue: str | None = Field(
        None, alias="path.dead_letter_queue",
        description="Directory of the file dead-letter queue (default: <path.data>/dead_letter_queue); "
                    "each pipeline writes under its own name.")
    dead_letter_queue: PipelineDeadLetterQueue = Field(
        default_factory=PipelineDeadLetterQueue,
        description="Where every output's rejected events go: `type: directory` (default), "
                    "`kafka` or `none`.")
    filter_thread: bool | Literal["auto"] = Field(
        "auto", description="Where filters run. `auto`: each stage on the event loop, which a "
                            "batch gives back between stages every 20 ms, except the stages of "
                            "filters that may wait or backtrack without end (python, kv, grok "
                            "on the regex engine...), which run in a thread of their own; one "
                            "stage holding a batch longer than 250 ms sends every stage there "
                            "for a minute. `true`: always the thread. `false`: always the loop "
                            "(docs/plugin-contract.md).")
    native_route: bool = Field(
        True, description="Let a pipeline that only parses lines and forwards them (a line input, "
                          "at most one grok filter, one JSON-lines output) run each block of lines "
                          "natively, with the same documents as a result; false keeps every event "
                          "in Python (docs/native.md).")


class PluginSpec(BaseModel):
    """One entry of ``inputs``, ``filters`` or ``outputs``; options are checked by the plugin."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    id: str | None = None
    if_: str | None = Field(None, alias="if")

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ConditionalSpec(BaseModel):
    """A nested conditional in ``filters`` or ``outputs``: an entry with ``if`` and ``then``
    and no ``type``. ``else_if`` holds more ``{if, then}`` pairs, tried in order; ``else``
    what runs when none holds. Each ``then``/``else`` is a list like ``filters`` itself,
    so blocks nest."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    if_: str = Field(alias="if")
    then: list[dict[str, Any]]
    else_if: list[dict[str, Any]] = Field(default_factory=list)
    else_: list[dict[str, Any]] = Field(default_factory=list, alias="else")


class PipelineFile(BaseModel):
    """The top level; each list entry is checked on its own (a plugin or a conditional)."""

    model_config = ConfigDict(extra="forbid")

    settings: Settings = Field(default_factory=Settings)
    inputs: list[dict[str, Any]] = Field(default_factory=list)
    filters: list[dict[str, Any]] = Field(default_factory=list)
    outputs: list[dict[str, Any]] = Field(default_factory=list)
