"""Running conformance cases: data files in, pytest parameters and checks out.

A case file (``data/<suite>/*.yaml``) holds facts about Logstash's behaviour,
written down from the plugin's spec suite: ``source`` names the spec file,
``cases`` lists the cases. A case has

- ``id`` and ``spec`` (the example it comes from, in the spec's words);
- ``config``: the filter's options with Logstash's names and values;
- ``event`` (one) or ``events`` (several) going in, and ``expect`` or
  ``expect_events`` about what comes out (see :func:`check`);
- or ``refused: true``: Logstash refuses the config when the filter loads;
- optionally ``now`` (the wall clock, for dates without a year) and ``note``
  (how a spec that looks inside Logstash is read as behaviour);
- ``known_difference``: ``{reason, logstash}``, where logpipe deliberately
  differs (docs/compatibility.md says why): ``logstash`` records what Logstash
  gives and ``expect`` what logpipe gives, which is what is asserted.

Configs are written as a Logstash ``.conf`` and loaded by logpipe's ``.conf``
loader (:mod:`tests.conformance.logstash_conf`): the plugin's Logstash defaults
first, then ``from_logstash`` on the options, as for a user's pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from pydantic import ValidationError

from tests.conformance.logstash_conf import build_filter

from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.plugin import Filter
from logpipe.errors import ConfigError

DATA = Path(__file__).parent / "data"
_MISSING: Any = object()


@dataclass
class Case:
    suite: str
    file: str
    raw: dict[str, Any]
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = f"{self.file}:{self.raw['id']}"

    @property
    def known_difference(self) -> dict[str, Any] | None:
        return self.raw.get("known_difference")


def load(suite: str) -> list[Case]:
    cases: list[Case] = []
    for path in sorted((DATA / suite).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        seen: set[str] = set()
        for raw in doc["cases"]:
            assert raw["id"] not in seen, f"{path.name}: duplicate case id {raw['id']}"
            seen.add(raw["id"])
            cases.append(Case(suite, path.stem, raw))
    return cases


def params(suite: str) -> list[Any]:
    """The cases as pytest parameters; known differences carry that in their id."""
    out = []
    for case in load(suite):
        label = case.id + (" [known difference]" if case.known_difference else "")
        out.append(pytest.param(case, id=label))
    return out


def build(plugin: type[Filter], options: dict[str, Any]) -> Filter:
    return build_filter(_registered_name(plugin), options)


def _registered_name(plugin: type[Filter]) -> str:
    for name in registry.names("filter"):
        if registry.get("filter", name) is plugin:
            return name
    raise LookupError(f"{plugin.__name__} is not a registered filter")


def value(spec: Any) -> Any:
    """Values in the data: ``{decimal: "..."}`` is an exact number, ``{time: "..."}`` a
    UTC time; lists and mappings are read element by element."""
    if isinstance(spec, dict):
        if set(spec) == {"decimal"}:
            return Decimal(spec["decimal"])
        if set(spec) == {"time"}:
            return instant(spec["time"])
        return {k: value(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [value(v) for v in spec]
    return spec


def instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def make_event(spec: dict[str, Any]) -> Event:
    data = value(spec)
    if "@timestamp" in data and isinstance(data["@timestamp"], str):
        data["@timestamp"] = instant(data["@timestamp"])
    return Event(data)


def check(event: Event, expect: dict[str, Any], before: set[str]) -> None:
    """What ``expect`` may say about one event that came out."""
    for ref, wanted in (expect.get("fields") or {}).items():
        got = event.get(ref, _MISSING)
        assert got is not _MISSING, f"{ref} is absent, expected {wanted!r}"
        wanted = value(wanted)
        assert got == wanted, (ref, got, wanted)
        if isinstance(wanted, str):
            assert isinstance(got, str), (ref, got)
    for ref in expect.get("absent") or []:
        assert not event.contains(ref), f"{ref} should be absent: {event.get(ref)!r}"
    tags = event.data.get("tags")
    if "tags" in expect:
        assert (tags or None) == (expect["tags"] or None), tags
    for tag in expect.get("tags_include") or []:
        assert tag in (tags or []), (tag, tags)
    for tag in expect.get("tags_exclude") or []:
        assert tag not in (tags or []), (tag, tags)
    if "timestamp" in expect:
        assert event.data["@timestamp"] == instant(expect["timestamp"]), event.data["@timestamp"]
    if "timestamp_not" in expect:
        assert event.data["@timestamp"] != instant(expect["timestamp_not"])
    if "timestamp_year" in expect:
        assert event.data["@timestamp"].year == expect["timestamp_year"]
    if "keys" in expect:
        assert set(event.data) == set(expect["keys"]), sorted(event.data)
    if "new_keys" in expect:
        assert set(event.data) - before - {"@timestamp"} == set(expect["new_keys"]), sorted(event.data)


def run(case: Case, plugin: type[Filter],
        prepare: Callable[[Filter, Case], None] | None = None,
        pipeline: Callable[[Filter, list[Event], Case], list[Event]] | None = None) -> None:
    """Build the filter, run the event(s) through it, check what came out."""
    raw = case.raw
    if raw.get("refused"):
        with pytest.raises((ConfigError, ValidationError)):
            build(plugin, raw.get("config") or {})
        return
    filt = build(plugin, raw.get("config") or {})
    if prepare is not None:
        prepare(filt, case)
    specs = raw["events"] if "events" in raw else [raw["event"]]
    events = [make_event(s) for s in specs]
    befores = [set(e.data) for e in events]
    out = pipeline(filt, events, case) if pipeline is not None else filt.process(events)
    expectations = raw["expect_events"] if "expect_events" in raw else [raw.get("expect") or {}]
    assert len(out) == len(expectations), f"{len(out)} events came out"
    for event, expect, before in zip(out, expectations, befores):
        check(event, expect, before)
