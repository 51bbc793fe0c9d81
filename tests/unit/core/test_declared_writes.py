"""Every filter that declares its writes changes nothing in place beyond them.

An enrichment filter hands one remembered object to many events only when no
later plugin declares a write that reaches it (logpipe.core.sharing). A filter
that writes in place somewhere it did not declare would change that object in
every event holding it, and in the memo. This runs each filter of the
GraphMemory pipeline over generated traffic, one filter at a time in the
pipeline's order (conditions aside: any event is fair input), and compares every
dict and list the events held before the filter with what it holds after, and
where it lies after with where the filter's aliases may carry it.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from logpipe.bench.pool import make_pool
from logpipe.config.loader import load_file, load_text
from logpipe.core.codec import events_from_json
from logpipe.core.event import METADATA, Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Filter
from logpipe.core.stages import filter_plugins
from logpipe.core.writes import ANY_KEY, Writes

ROOT = Path(__file__).resolve().parents[3]
Location = tuple[str, ...]


def containers(value: Any, at: Location) -> Iterator[tuple[Location, Any]]:
    """Every dict and list in ``value`` with where it lies (list items at ``*``)."""
    if type(value) is dict:
        yield at, value
        for key, item in value.items():
            yield from containers(item, at + (str(key),))
    elif type(value) is list:
        yield at, value
        for item in value:
            yield from containers(item, at + (ANY_KEY,))


def snapshot(events: list[Event]) -> list[tuple[Location, Any, Any]]:
    """(location, container, shallow copy) for every container of every event."""
    out = []
    for event in events:
        for where, obj in [*containers(event.data, ()), *containers(event.metadata, (METADATA,))]:
            out.append((where, obj, obj.copy()))
    return out


def changed(obj: Any, before: Any) -> bool:
    """Whether a container now holds other keys or other objects than it did."""
    if type(obj) is dict:
        return obj.keys() != before.keys() or any(obj[k] is not before[k] for k in obj)
    return len(obj) != len(before) or any(a is not b for a, b in zip(obj, before))


def same_place(a: Location, b: Location) -> bool:
    return len(a) == len(b) and all(x == y or ANY_KEY in (x, y) for x, y in zip(a, b))


def undeclared(plugin: Filter, events: list[Event]) -> list[Location]:
    """Where ``plugin`` changed a container in place, or put one it found elsewhere,
    without declaring it (a write that does not reach it, an alias that does not
    carry it there)."""
    return judge(plugin, events)[0]


def judge(plugin: Filter, events: list[Event]) -> tuple[list[Location], bool]:
    """:func:`undeclared`, and whether ``plugin`` changed any container in place."""
    declared = plugin.writes()
    assert isinstance(declared, Writes)
    held = snapshot(events)
    out = plugin.process(events)
    edited = [where for where, obj, before in held if changed(obj, before)]
    found = {where for where in edited if not declared.reaches([where])}
    now: dict[int, list[Location]] = {}
    for where, obj, _ in snapshot(out):
        now.setdefault(id(obj), []).append(where)
    for where, obj, _ in held:
        carried = declared.carry([where])
        for place in now.get(id(obj), []):
            if not any(same_place(place, allowed) for allowed in carried):
                found.add(place)
    return sorted(found), bool(edited)


@pytest.fixture(scope="module")
def pipeline() -> Iterator[Pipeline]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOGPIPE_SCRUB_KEY", "declared-writes-key")
        yield Pipeline(load_file(ROOT / "pipelines" / "graphmemory.yaml"))


def test_graphmemory_filters_write_only_where_they_declare(pipeline: Pipeline) -> None:
    records = make_pool(3000, seed=5)
    events = events_from_json(records)
    checked = []
    problems: dict[str, list[Location]] = {}
    for plugin in filter_plugins(pipeline.filter_stages):
        if plugin.writes() is None:
            continue  # declares "anything": nothing to hold it to
        checked.append(plugin.id)
        found = undeclared(plugin, events)
        if found:
            problems[plugin.id] = found
    # Every filter of the chain declares its writes, so every one was checked.
    assert len(checked) == len(filter_plugins(pipeline.filter_stages))
    assert problems == {}


def test_the_check_sees_an_undeclared_write(pipeline: Pipeline) -> None:
    """A filter that declares no writes but appends to the tags is caught."""

    class Sneaky(Filter):
        def writes(self) -> Writes:
            return Writes()

        def process(self, events: list[Event]) -> list[Event]:
            for event in events:
                event.add_tag("sneaky")
            return events

    sneaky = Sneaky.__new__(Sneaky)
    events = [Event(orjson.loads(b'{"message": "x", "tags": ["a"], "http": {"request": {"method": "GET"}}}'))]
    assert undeclared(sneaky, events) == [("tags",)]


FILTERS: dict[str, dict[str, Any]] = {
    "mutate-in-place": {"type": "mutate", "lowercase": ["[http][request][method]"], "uppercase": ["[log][level]"],
                        "capitalize": ["[service][name]"], "strip": ["message"],
                        "gsub": [["[url][path]", "/", "_"]], "split": {"[url][query]": "&"}},
    "mutate-move": {"type": "mutate", "rename": {"[user_agent]": "[client][agent]", "[source][geo]": "[geo]"},
                    "copy": {"[http][request]": "[request_copy]"}},
    "mutate-set": {"type": "mutate", "replace": {"[event][dataset]": "x"}, "update": {"[http][version]": "2"},
                   "convert": {"[http][response][status_code]": "string"},
                   "coerce": {"[labels][env]": "dev"}, "merge": {"tags": "[event][category]"},
                   "join": {"[event][category]": ","}},
    "common-options": {"type": "mutate", "add_field": {"[source][geo][note]": "n", "[labels][x]": "%{message}"},
                       "add_tag": ["t1"], "remove_field": ["[user_agent][os]", "[performance][class]"],
                       "remove_tag": ["access"]},
    "json-target": {"type": "json", "source": "message", "target": "[parsed]"},
    "date-target": {"type": "date", "match": ["[@metadata][access_time]", "dd/MMM/yyyy:HH:mm:ss Z"],
                    "target": "[event][created]"},
    "urldecode-field": {"type": "urldecode", "field": "[url][original]", "add_field": {"[url][decoded]": "y"}},
    "urldecode-all": {"type": "urldecode", "all_fields": True, "add_tag": ["decoded"]},
    "truncate-fields": {"type": "truncate", "fields": ["message", "[user_agent]", "[http][request]"],
                        "length_bytes": 12, "add_tag": ["cut"]},
    "truncate-all": {"type": "truncate", "length_bytes": 8, "add_field": {"[labels][cut]": "yes"}},
    "fingerprint": {"type": "fingerprint", "source": ["message", "[url][path]"], "target": "[event][hash]",
                    "method": "SHA256", "add_tag": ["fp"]},
    "fingerprint-concat": {"type": "fingerprint", "source": ["[source]", "[user_agent]"],
                           "concatenate_sources": True, "target": "[fp]", "method": "MD5"},
    "cidr": {"type": "cidr", "address": ["%{[source][ip]}"], "network": ["0.0.0.0/0", "::/0"],
             "add_tag": ["net"], "add_field": {"[source][geo][net]": "any"}},
}


def enriched(pipeline: Pipeline, count: int) -> list[Event]:
    """Generated traffic after the whole GraphMemory chain (conditions included),
    copied as a whole: objects the events share stay shared among them, but not
    with the enrichment filters' memos, which a filter under test may write into."""
    events = events_from_json(make_pool(count, seed=9))
    for stage in pipeline.filter_stages:
        events = stage.run(events)
    return copy.deepcopy(events)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_other_built_in_filters_write_only_where_they_declare(pipeline: Pipeline, name: str) -> None:
    config = {"inputs": [{"type": "generator", "count": 1, "message": "x"}],
              "filters": [{**FILTERS[name], "id": name}], "outputs": [{"type": "stdout", "id": "out"}]}
    plugin = filter_plugins(Pipeline(load_text(orjson.dumps(config).decode())).filter_stages)[0]
    found, edited = judge(plugin, enriched(pipeline, 1000))
    assert found == []
    # The filter did change something in place, so the check had something to judge.
    assert edited, name
