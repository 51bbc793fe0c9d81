"""The three plugin shapes and what the engine gives them.

A plugin declares its settings (a pydantic ``Config`` next to its code) and its
lifecycle, and nothing else: queues, acknowledgements, conditions and metrics
belong to the engine.

- :class:`Input` runs until its source ends or it is asked to stop, handing
  events to ``InputContext.submit``.
- :class:`Filter` turns a list of events into a list of events (it may modify,
  drop or split); it is synchronous because filters are CPU work.
- :class:`Output` takes a list of events and returns once each one has its
  outcome: ``None`` (all delivered) or a :class:`~logpipe.core.outcome.Delivery`
  naming the events to retry or rejected for good (the engine dead-letters
  those). Raising :class:`~logpipe.errors.DeliveryError` settles the whole
  batch by its ``retriable`` flag; any other exception means retry.

Plugins get what they may use from their :class:`PluginContext`: metrics, dead
letters, the pipeline's scrubber, a logger, the data directory and shared
resources. Inputs hand events over with :class:`InputContext`'s ``submit`` and
``try_submit``. See docs/plugin-contract.md.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from logpipe.core.batch import Batch, DoneCallback
from logpipe.core.bus import PipelineBus
from logpipe.core.event import Event
from logpipe.core.frozen import FrozenObjects
from logpipe.core.outcome import Delivery
from logpipe.core.telemetry import MetricsRegistry
from logpipe.core.services import DeadLetters, Resources, Scrubbing
from logpipe.core.writes import Writes

if TYPE_CHECKING:
    from logpipe.config.models import Settings


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


class TrySubmitter(Protocol):
    def __call__(self, events: list[Event], *, size: int = 0,
                 on_done: DoneCallback | None = None, token: Any = None) -> Batch | None: ...


class WaitingSubmitter(Protocol):
    async def __call__(self, events: list[Event], wait: float, *, size: int = 0,
                       on_done: DoneCallback | None = None, token: Any = None) -> Batch | None: ...


@dataclass
class PluginContext:
    """What the engine gives a plugin: where it runs and the services it may use."""

    pipeline: str = "main"
    worker_index: int = 0
    worker_count: int = 1
    #: The pipeline's settings (None for a plugin built outside a pipeline).
    settings: Settings | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("logpipe"))
    #: The process's registry for a plugin's own series (the engine counts in/out/time).
    metrics: MetricsRegistry = field(default_factory=MetricsRegistry)
    #: The pipeline's dead-letter queue.
    dead_letters: DeadLetters = field(default_factory=lambda: DeadLetters(None, pipeline="main"))
    #: The pipeline's own scrubber (its ``scrub`` filter's settings and key), if it has one.
    scrubber: Scrubbing | None = None
    #: Where plugins keep files (``path.data``), created on first use.
    data_dir: Path = field(default_factory=lambda: Path("data"))
    #: Objects shared by the plugins of this process (clients, connection pools).
    resources: Resources = field(default_factory=Resources)
    #: The addresses of this process's pipelines (``pipeline`` inputs and outputs).
    pipelines: PipelineBus = field(default_factory=PipelineBus)
    #: The settings of the pipeline's filters, in file order (None outside a pipeline):
    #: an output reads from them the fixed values its templated names can take.
    filter_configs: tuple[PluginConfig, ...] | None = None
    #: The objects this pipeline's filters share between events and never change
    #: (logpipe.core.frozen): listed by the filters that share, read by scrub's check.
    frozen: FrozenObjects = field(default_factory=FrozenObjects)


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
    """Handed to ``Input.run``: submit events, learn whether to stop.

    ``submit`` waits while the pipeline is full (backpressure); ``try_submit``
    answers None instead; ``submit_within`` waits at most ``wait`` seconds, in
    turn with the other inputs waiting, then answers None. The returned :class:`Batch` settles once every event
    is delivered or dead-lettered (``delivered``), or not (``retriable`` then
    says whether offering it again can help, ``rejected`` why not).
    """

    def __init__(self, submit: Submitter, try_submit: TrySubmitter, stopping: asyncio.Event,
                 full: Any = None, submit_within: WaitingSubmitter | None = None,
                 packs_lines: bool = False) -> None:
        self.submit = submit
        #: Whether a line input may submit blocks of lines as logpipe.core.packed.PackedLines
        #: (the pipeline has a native route and this input adds nothing to its events).
        self.packs_lines = packs_lines
        self.try_submit = try_submit
        self.stopping = stopping
        self._full = full
        self._submit_within = submit_within

    async def submit_within(self, events: list[Event], wait: float, *, size: int = 0,
                            on_done: DoneCallback | None = None, token: Any = None) -> Batch | None:
        """Submit, waiting at most ``wait`` seconds for room; None if none came."""
        if self._submit_within is None:
            return self.try_submit(events, size=size, on_done=on_done, token=token)
        return await self._submit_within(events, wait, size=size, on_done=on_done, token=token)

    @property
    def pipeline_full(self) -> bool:
        """Whether ``try_submit`` would answer None now."""
        return bool(self._full is not None and self._full())


class Input(Plugin):
    kind = "input"
    #: False for inputs that end by themselves (stdin, generator): when every
    #: input is finite, ``logpipe run`` drains and exits once they are done.
    endless: ClassVar[bool] = True

    async def run(self, ctx: InputContext) -> None:
        raise NotImplementedError


class Filter(Plugin):
    kind = "filter"
    #: True when ``process`` only computes, in a time bounded by the events' size: it
    #: never waits on I/O, a lock or a sleep, runs no code it does not know, and runs
    #: no pattern that may backtrack without end while letting go of the GIL (the
    #: ``regex`` module). Then the pipeline may run its stage on the event loop
    #: (logpipe.core.filter_runner); the stage of a filter that leaves this False runs
    #: in the pipeline's filter thread. A filter may set it per instance, from its
    #: settings.
    runs_on_event_loop: bool = False

    def process(self, events: list[Event]) -> list[Event]:
        raise NotImplementedError

    def writes(self) -> Writes | None:
        """What this filter may write into events (see logpipe.core.writes), so that
        earlier filters know whether they may share objects between events. None, the
        default, means anything, anywhere: a filter that does not say stays safe."""
        return None


class Output(Plugin):
    kind = "output"

    async def send(self, events: list[Event]) -> Delivery | None:
        raise NotImplementedError

    def writes(self) -> Writes | None:
        """What this output may change in the events it is given (see
        logpipe.core.writes); None, the default, means anything, anywhere."""
        return None

    async def ready(self) -> bool:
        """Whether this output can deliver now (``/readyz``); outputs that can tell say so."""
        return True
