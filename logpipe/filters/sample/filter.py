"""The sample filter: always keep what matters, thin the rest per key.

Events that a keep condition or tag selects pass with weight 1. The others are
grouped by ``key`` and decided by :class:`~logpipe.filters.sample.decide.Sampler`;
a kept one records its rate and weight so that counts can be rebuilt in
Elasticsearch (sum of ``event.sampling.weight``). The engine acknowledges the
dropped events with their batch, as for ``drop``.

With ``rate: 1`` sampling is off (also in dynamic mode, whose rates never exceed
``rate``): every event would be kept with rate 1 and weight 1 whatever the keep
conditions, the key or the request id say, so none of them is evaluated. The
events are stamped and counted once per batch under the key ``_unsampled``,
decision ``kept``: the metric still counts every event the filter saw, and the
"sampled out" share stays 0, but it no longer splits them by key or tells
``kept_always`` apart, as no decision was taken.
"""
from __future__ import annotations

import re
import time
from collections import Counter as Tally
from typing import Any, Callable

from logpipe.core.conditions import Condition, compile_condition
from logpipe.core.event import METADATA, Event, reader
from logpipe.core.fieldref import Path, parse
from logpipe.core.native import left_over, native_module
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sharing import SharesMemo
from logpipe.core.writes import Writes, set_paths
from logpipe.core.sprintf import compile_template
from logpipe.errors import ConditionError, ConfigError
from logpipe.filters.sample.config import SampleConfig
from logpipe.filters.sample.decide import Sampler
from logpipe.filters.sample.metrics import SampleMetrics

ALWAYS = "_always"
#: The metric key of every event when sampling is off (``rate: 1``): no key was computed.
UNSAMPLED = "_unsampled"
_UNRESOLVED = re.compile(r"%\{[^}]*\}")


def _stamper(rate_path: Path, weight_path: Path) -> Callable[[Event], None]:
    """Writes rate 1 and weight 1 into an event, as two ``set_path`` calls would.

    The two fields usually share their parent (``[event][sampling]``): it is found or
    made once, and both values are stored in it. Anything but a dict or nothing on the
    way (a list, a scalar, which ``set_path`` knows how to handle) takes ``set_path``.
    """
    parent, rate_key, weight_key = rate_path[:-1], rate_path[-1], weight_path[-1]
    if not parent or parent != weight_path[:-1] or parent[0] == METADATA:
        def stamp_each(event: Event) -> None:
            event.set_path(rate_path, 1)
            event.set_path(weight_path, 1)
        return stamp_each

    def stamp(event: Event) -> None:
        node = event.data
        for key in parent:
            child = node.get(key)
            if type(child) is not dict:
                if child is not None:
                    event.set_path(rate_path, 1)
                    event.set_path(weight_path, 1)
                    return
                child = node[key] = {}
            node = child
        node[rate_key] = 1
        node[weight_key] = 1
    return stamp


def _key_template(template: str) -> Callable[[Any], str]:
    """The key of an event; a field it lacks reads as ``-`` (not the raw ``%{...}``)."""
    if not template:
        return lambda event: ""
    render = compile_template(template)

    def key(event: Any) -> str:
        text = render(event)
        return _UNRESOLVED.sub("-", text) if "%{" in text else text
    return key


class SampleFilter(SharesMemo, Filter):
    """Returns the kept events, in order, each with its rate and weight.

    With sampling off, an event without the rate's parent object gets one: the same
    ``{rate: 1, weight: 1}`` object for every such event when the pipeline found that
    nothing later changes it (``share_memo``, see :mod:`logpipe.core.sharing`), else
    a new one each."""

    Config = SampleConfig
    runs_on_event_loop = True
    config: SampleConfig

    def __init__(self, config: SampleConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        for i, text in enumerate(config.keep_if):
            try:
                compile_condition(text)
            except ConditionError as exc:
                raise ConfigError(f"sample: keep_if[{i}]: {exc}", path=f"keep_if.{i}") from None
        # One condition for the list (each checked above, so errors name their entry):
        # a single call per event instead of a generator over the list.
        self._keep: Condition | None = (
            compile_condition(" or ".join(f"({text})" for text in config.keep_if))
            if config.keep_if else None)
        self._keep_tags = frozenset(config.keep_tags)
        self._key: Callable[[Any], str] = _key_template(config.key)
        self._ids = tuple(reader(parse(f)) for f in config.id_fields)
        self._rate = parse(config.rate_field)
        self._weight = parse(config.weight_field)
        #: Sampling off: no event is ever dropped or weighed more than 1 (module docstring).
        self._off = config.rate == 1
        self._stamp = _stamper(self._rate, self._weight)
        #: (outer, inner, rate key, weight key) when rate and weight are
        #: ``[outer][inner][...]`` siblings in the data, stamped inline; else None.
        self._two_keys: tuple[str, str, str, str] | None = None
        if (len(self._rate) == 3 and self._rate[:2] == self._weight[:2] and len(self._weight) == 3
                and self._rate[0] != METADATA):
            self._two_keys = (self._rate[0], self._rate[1], self._rate[2], self._weight[2])
        #: The stamp object put into events that lack the parent, when shared.
        self._shared_stamp: dict[str, int] = (
            {} if self._two_keys is None else {self._two_keys[2]: 1, self._two_keys[3]: 1})
        if self._off:
            self.log.info("rate 1: sampling is off; every event is kept with rate and weight 1, "
                          "keep_if, keep_tags and key are not evaluated, and %s counts the "
                          "events under key %s", "logpipe_sample_events_total", UNSAMPLED)
        self._sampler = Sampler(config.rate, target_per_second=config.target_per_second,
                                window_seconds=config.window_seconds, max_keys=config.max_keys,
                                seed=config.seed)
        self._metrics = SampleMetrics(self.context, id)
        native = native_module()
        self._native_stamp: Callable[..., list[int]] | None = (
            native.sample_stamp if native is not None else None)

    def _always(self, event: Event) -> bool:
        if self._keep_tags:
            tags = event.data.get("tags")
            if isinstance(tags, list) and not self._keep_tags.isdisjoint(tags):
                return True
            if isinstance(tags, str) and tags in self._keep_tags:
                return True
        keep = self._keep
        return keep is not None and keep(event)

    def _identifier(self, event: Event) -> str | None:
        for read in self._ids:
            value = read(event)
            if value is not None and value != "":
                return str(value)
        return None

    def writes(self) -> Writes:
        """The rate and weight of each kept event; nothing else."""
        return set_paths(self._rate, self._weight)

    def shared_paths(self) -> tuple[Path, ...]:
        """The rate's parent object, when sampling is off and the stamp is inline."""
        if not self._off or self._two_keys is None:
            return ()
        return (self._rate[:2],)

    def made_in_advance(self) -> tuple[object, ...]:
        """The one stamp object, made with the filter."""
        return (self._shared_stamp,) if self.shared_paths() else ()

    def process(self, events: list[Event]) -> list[Event]:
        if self._off:
            return self._unsampled(events)
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

    def _unsampled(self, events: list[Event]) -> list[Event]:
        """Sampling off: what the decision would give every event (kept, rate 1, weight 1),
        without taking it."""
        stamp = self._stamp
        two = self._two_keys
        if two is None:
            for event in events:
                stamp(event)
        else:
            # the stamp, inline for ``[outer][inner][rate]`` and ``[outer][inner][weight]``
            # (the default) when those objects are plain dicts or absent
            outer, inner, rate_key, weight_key = two
            shared = self._shared_stamp if self.share_memo else None
            todo = events
            if shared is not None and self._native_stamp is not None and type(events) is list:
                # The usual event natively; the loop below takes the others, each as
                # it would have.
                todo = left_over(events, self._native_stamp(events, outer, inner, shared))
            for event in todo:
                data = event.data
                node = data.get(outer)
                if type(node) is dict:
                    child = node.get(inner)
                    if child is None:
                        node[inner] = shared if shared is not None else {rate_key: 1, weight_key: 1}
                        continue
                    if type(child) is dict:
                        if child is not shared:
                            child[rate_key] = 1
                            child[weight_key] = 1
                        continue
                elif node is None:
                    data[outer] = {inner: shared if shared is not None else {rate_key: 1, weight_key: 1}}
                    continue
                stamp(event)
        if events:
            self._metrics.add(UNSAMPLED, "kept", len(events))
        return events
