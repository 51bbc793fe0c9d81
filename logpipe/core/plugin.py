"""The three plugin shapes and what the engine gives them.

A plugin declares its settings (a pydantic ``Config`` next to its code) and its
lifecycle, and nothing else: queues, acknowledgements, conditions and metrics
belong to the engine.

- :class:`Input` runs until its source ends or it is asked to stop, handing
  events to ``InputContext.submit``.
- :class:`Filter` turns a list of events into a list of events (it may modify,
  drop or split); it is synchronous because filters are CPU work.
- :class:`Output` takes a list of events and returns once every one of them is
  delivered (or dead-lettered); raising means the batch is not acknowledged.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from logpipe.core.batch import Batch, DoneCallback
from logpipe.core.event import Event


class PluginConfig(BaseModel):
    """Base of every plugin's settings: unknown keys are errors.

    A pipeline written in Logstash's language reaches a plugin through two hooks,
    so that the same ``.conf`` gives the same documents as Logstash:

    - ``logstash_defaults``: Logstash's default for each setting where it differs
      from logpipe's own; they apply under a ``.conf`` file only (a YAML pipeline
      keeps logpipe's defaults), and ``logpipe check`` lists them.
    - ``from_logstash``: turns the options as written in the ``.conf`` (Logstash's
      names, Logstash's value shapes, defaults already filled in) into this model's
      settings. The default keeps them as they are, which suits plugins whose
      settings already carry Logstash's names.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)

    #: Logstash's default per setting, where it differs from logpipe's (``.conf`` only).
    logstash_defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash options (defaults filled in) -> this model's settings."""
        return dict(options)


class Submitter(Protocol):
    async def __call__(self, events: list[Event], *, size: int = 0,
                       on_done: DoneCallback | None = None, token: Any = None) -> Batch: ...


@dataclass
class PluginContext:
    """What the engine tells a plugin about where it runs."""

    pipeline: str = "main"
    worker_index: int = 0
    worker_count: int = 1
    settings: Any = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("logpipe"))
    #: Shared objects by name (a dead-letter writer, a metrics registry).
    shared: dict[str, Any] = field(default_factory=dict)


class Plugin:
    kind: ClassVar[str] = ""
    #: Registered name (the ``type`` in pipeline files), set by the registry.
    plugin_name: ClassVar[str] = ""
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: PluginConfig, *, id: str, context: PluginContext | None = None) -> None:
        self.config = config
        self.id = id
        self.context = context or PluginContext()
        self.log = logging.getLogger(f"logpipe.{self.kind}.{self.id}")

    async def start(self) -> None:
        """Open connections, load databases. Failing here fails start-up clearly."""

    async def stop(self) -> None:
        """Release what ``start`` took. Outputs flush here."""


class InputContext:
    """Handed to ``Input.run``: submit events, learn whether to stop."""

    def __init__(self, submit: Submitter, try_submit: Any, stopping: asyncio.Event,
                 queue: Any = None) -> None:
        self.submit = submit
        #: ``try_submit(events, size=...) -> Batch | None``: None when the queue is full.
        self.try_submit = try_submit
        self.stopping = stopping
        self.queue = queue

    @property
    def pipeline_full(self) -> bool:
        return bool(self.queue is not None and self.queue.full)


class Input(Plugin):
    kind = "input"
    #: False for inputs that end by themselves (stdin, generator): when every
    #: input is finite, ``logpipe run`` drains and exits once they are done.
    endless: ClassVar[bool] = True

    async def run(self, ctx: InputContext) -> None:
        raise NotImplementedError


class Filter(Plugin):
    kind = "filter"

    def process(self, events: list[Event]) -> list[Event]:
        raise NotImplementedError


class Output(Plugin):
    kind = "output"

    async def send(self, events: list[Event]) -> None:
        raise NotImplementedError
