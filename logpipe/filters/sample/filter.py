"""The sample filter: always keep what matters, thin the rest per key.

Events that a keep condition or tag selects pass with weight 1. The others are
grouped by ``key`` and decided by :class:`~logpipe.filters.sample.decide.Sampler`;
a kept one records its rate and weight so that counts can be rebuilt in
Elasticsearch (sum of ``event.sampling.weight``). The engine acknowledges the
dropped events with their batch, as for ``drop``.
"""
from __future__ import annotations

import re
import time
from collections import Counter as Tally
from typing import Any, Callable

from logpipe.core.conditions import Condition, compile_condition
from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import compile_template
from logpipe.errors import ConditionError, ConfigError
from logpipe.filters.sample.config import SampleConfig
from logpipe.filters.sample.decide import Sampler
from logpipe.filters.sample.metrics import SampleMetrics

ALWAYS = "_always"
_UNRESOLVED = re.compile(r"%\{[^}]*\}")


def _key_template(template: str) -> Callable[[Any], str]:
    """The key of an event; a field it lacks reads as ``-`` (not the raw ``%{...}``)."""
    if not template:
        return lambda event: ""
    render = compile_template(template)

    def key(event: Any) -> str:
        text = render(event)
        return _UNRESOLVED.sub("-", text) if "%{" in text else text
    return key


class SampleFilter(Filter):
    """Returns the kept events, in order, each with its rate and weight."""

    Config = SampleConfig
    config: SampleConfig

    def __init__(self, config: SampleConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        keeps: list[Condition] = []
        for i, text in enumerate(config.keep_if):
            try:
                keeps.append(compile_condition(text))
            except ConditionError as exc:
                raise ConfigError(f"sample: keep_if[{i}]: {exc}", path=f"keep_if.{i}") from None
        self._keeps = tuple(keeps)
        self._keep_tags = frozenset(config.keep_tags)
        self._key: Callable[[Any], str] = _key_template(config.key)
        self._ids = tuple(parse(f) for f in config.id_fields)
        self._rate = parse(config.rate_field)
        self._weight = parse(config.weight_field)
        self._sampler = Sampler(config.rate, target_per_second=config.target_per_second,
                                window_seconds=config.window_seconds, max_keys=config.max_keys,
                                seed=config.seed)
        self._metrics = SampleMetrics(self.context, id)

    def _always(self, event: Event) -> bool:
        if self._keep_tags:
            tags = event.data.get("tags")
            if isinstance(tags, list) and not self._keep_tags.isdisjoint(tags):
                return True
            if isinstance(tags, str) and tags in self._keep_tags:
                return True
        return any(cond(event) for cond in self._keeps)

    def _identifier(self, event: Event) -> str | None:
        for path in self._ids:
            value = event.get_path(path)
            if value is not None and value != "":
                return str(value)
        return None

    def process(self, events: list[Event]) -> list[Event]:
        sampler = self._sampler
        sampler.tick(time.monotonic())
        kept: list[Event] = []
        tally: Tally[tuple[str, str]] = Tally()
        for event in events:
            if self._always(event):
                event.set_path(self._rate, 1)
                event.set_path(self._weight, 1)
                kept.append(event)
                tally[(ALWAYS, "kept_always")] += 1
                continue
            key, st = sampler.state(self._key(event))
            rate = st.rate
            weight = sampler.decide(st, self._identifier(event))
            if weight:
                event.set_path(self._rate, rate)
                event.set_path(self._weight, weight)
                kept.append(event)
                tally[(key, "kept")] += 1
            else:
                tally[(key, "dropped")] += 1
        for (key, decision), n in tally.items():
            self._metrics.add(key, decision, n)
        return kept
