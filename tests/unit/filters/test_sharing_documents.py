"""Sharing remembered objects between events gives the documents copying gives.

geoip, useragent and perfclass are run twice over the same batches, once putting
their remembered objects into events as they are (``share_memo``) and once
copying them, followed by scrub, which finds e-mails, bearer tokens, secret
pairs and secret-named keys inside those objects (a fake User-Agent parser and
small MaxMind databases put them there). Documents, key order and the scrub
counts must be the same, and the remembered objects unchanged afterwards.
"""
from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.core.services import DeadLetter, DeadLetters
from logpipe.filters.geoip import GeoipFilter
from logpipe.filters.perfclass.filter import PerfClassFilter
from logpipe.filters.scrub import Scrubber, ScrubConfig, scrub_event
from logpipe.filters.useragent import UserAgentFilter
from logpipe.filters.useragent import filter as ua_module
from tests.unit.filters.test_geoip import city, write_db

IPS = ["81.2.69.1", "81.2.69.2", "81.2.70.1", "10.0.0.1", "not-an-ip", "81.2.71.9"]
AGENTS = ["Plain/1.0", "Mail erin@example.com", "Keyed/2", "Bearer abcdef.ghijkl-mn", "-",
          "Mixed token=abc123 frank@example.org"]
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PATHS = ["/api/memories/17", "/api/search?q=x", "/health", "/login?password=hunter2"]


def fake_parse(ua: str) -> dict[str, Any]:
    """A parse with nested objects that scrub has something to do in: the text
    itself (an e-mail, a bearer token, a secret pair) and, for some agents, a key
    with a secret's name."""
    out: dict[str, Any] = {"name": ua.split("/")[0], "os": {"name": ua, "version": "1"},
                           "device": {"name": "d", "tags": [ua, "x"]}}
    if "Keyed" in ua or "Mixed" in ua:
        out["device"]["password"] = "p4ss"
        out["os"]["meta"] = {"token": "t", "note": ua}
    return out


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    base = tmp_path_factory.mktemp("geo")
    city_db = write_db(base / "city.mmdb", "GeoLite2-City", {
        "81.2.69.0/24": city("GB", "United Kingdom", "mail erin@example.com", 51.5, -0.1),
        "81.2.70.0/24": city("FR", "France", "Paris", 48.8, 2.3),
        "81.2.71.0/24": city("DE", "Germany", "Bearer abcdef.ghijkl-mn", 52.5, 13.4),
    })
    asn_db = write_db(base / "asn.mmdb", "GeoLite2-ASN", {
        "81.2.69.0/24": {"autonomous_system_number": 1, "autonomous_system_organization": "Org password=x"},
        "81.2.70.0/24": {"autonomous_system_number": 2, "autonomous_system_organization": "Quiet"},
    })
    return str(city_db), str(asn_db)


@pytest.fixture()
def fake_agents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(ua_module, "parse", fake_parse)
    yield


def chain(databases: tuple[str, str], share: bool, native: bool) -> list[Any]:
    """The three sharers and a scrubber on one pipeline's context: when they share, what
    they share is listed in its registry of frozen objects, and the native check skips
    the clean ones (logpipe.core.frozen)."""
    context = PluginContext()
    geo = GeoipFilter(GeoipFilter.Config(database=databases[0], asn_database=databases[1]), id="geo",
                      context=context)
    asyncio.run(geo.start())
    ua = UserAgentFilter(UserAgentFilter.Config(), id="ua", context=context)
    perf = PerfClassFilter(PerfClassFilter.Config(
        sources=[{"field": "[@metadata][request_time]", "unit": "s"}]), id="perf", context=context)
    for f in (geo, ua, perf):
        f.share_memo = share
    if share:
        for obj in perf.made_in_advance():
            context.frozen.vouch(obj)
    scrubber = Scrubber(ScrubConfig(), key=b"test-key", frozen=context.frozen)
    if not native:
        scrubber._native = None
    return [geo, ua, perf, scrubber]


def run(filters: list[Any], events: list[Event]) -> list[Event]:
    *enrichers, scrubber = filters
    for f in enrichers:
        events = f.process(events)
    scrubber.scrub_batch(events)
    return events


def document(event: Event) -> bytes:
    """The event as written, key order included, with its @metadata."""
    return orjson.dumps([event.data, event.metadata], default=str)


EVENT = st.builds(
    lambda ip, agent, secs, path, message: (ip, agent, secs, path, message),
    st.sampled_from(IPS), st.sampled_from(AGENTS),
    st.floats(min_value=0, max_value=10, allow_nan=False), st.sampled_from(PATHS),
    st.sampled_from(["hello", "from erin@example.com", "token=abc"]))


def make_event(spec: tuple[str, str, float, str, str]) -> Event:
    ip, agent, secs, path, message = spec
    event = Event({"@timestamp": STAMP, "message": message, "source": {"ip": ip}, "user_agent": {"original": agent},
                   "url": {"path": path}, "http": {"request": {"method": "GET"}}})
    event.metadata["request_time"] = secs
    return event


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.lists(EVENT, min_size=1, max_size=12), min_size=1, max_size=4),
       native=st.booleans())
def test_sharing_gives_the_documents_copying_gives(databases: tuple[str, str], fake_agents: None,
                                                    batches: list[list[Any]], native: bool) -> None:
    shared, copied = chain(databases, True, native), chain(databases, False, native)
    out_shared: list[Event] = []
    out_copied: list[Event] = []
    for batch in batches:
        out_shared += run(shared, [make_event(spec) for spec in batch])
        out_copied += run(copied, [make_event(spec) for spec in batch])
    assert [document(e) for e in out_shared] == [document(e) for e in out_copied]
    assert_memos_unchanged(shared, databases)
    if shared[-1]._native is not None and any(len(batch) > 1 for batch in batches):
        # the clean shared objects were skipped; those holding something were walked
        # (a batch of one event is scrubbed on its own, without the batch check)
        held = [obj for _, obj in shared[-1]._native.clean_objects()]
        assert held and all(not shared[-1]._prefilter.scan({"k": obj}) for obj in held)


def test_only_sharers_list_their_objects_once_each(databases: tuple[str, str], fake_agents: None) -> None:
    for share in (True, False):
        geo, ua, perf, _ = chain(databases, share, True)
        frozen = geo.context.frozen
        specs = [("81.2.69.1", "Keyed/2", 0.01, "/health", "hi"), ("81.2.70.1", "Plain/1.0", 3.0, "/x", "hi")]
        for _ in range(2):
            events = [make_event(spec) for spec in specs * 2]
            for f in (geo, ua, perf):
                events = f.process(events)
        listed, _ = frozen.since(0)
        assert len({id(o) for o in listed}) == len(listed)
        if not share:
            assert listed == []
            continue
        # every object an event shares was listed: geo, as, the parse's nested objects, perf
        ids = {id(o) for o in listed}
        for event in events:
            for path in ("source.geo", "source.as", "user_agent.os", "user_agent.device", "performance"):
                if event.get(path) is not None:
                    assert id(event.get(path)) in ids, path


def assert_memos_unchanged(filters: list[Any], databases: tuple[str, str]) -> None:
    """What each filter remembers is what a fresh filter makes for the same input."""
    geo, ua, perf, _ = filters
    fresh_geo, fresh_ua, fresh_perf, _ = chain(databases, False, True)
    for memo, fresh in ((geo._memo, fresh_geo._resolve_uncached), (ua._memo, fresh_ua._parse_uncached)):
        for table in (memo.newer, memo.older):
            for key, remembered in table.items():
                again = fresh(key)
                if hasattr(remembered[1], "whole"):
                    for template, fresh_template in zip(remembered[1:], again[1:]):
                        if template is not None:
                            assert template.whole == fresh_template.whole
                            assert list(template.whole) == list(fresh_template.whole)
                else:
                    assert remembered == again
    assert [o[5] for o in perf._outcomes] == [o[5] for o in fresh_perf._outcomes]


def test_events_with_the_same_input_hold_one_object_only_when_sharing(
        databases: tuple[str, str], fake_agents: None) -> None:
    for share in (True, False):
        geo, ua, perf, _ = chain(databases, share, True)
        events = [make_event(("81.2.70.1", "Plain/1.0", 0.01, "/health", "hi")) for _ in range(2)]
        for f in (geo, ua, perf):
            events = f.process(events)
        a, b = events
        for path in ("source.geo", "source.as", "user_agent.os", "user_agent.device", "performance"):
            assert (a.get(path) is b.get(path)) is share, path
            assert a.get(path) == b.get(path)


def test_scrubbing_shared_objects_copies_them_and_counts_each_event(
        databases: tuple[str, str], fake_agents: None) -> None:
    geo, ua, perf, scrubber = chain(databases, True, True)
    events = [make_event(("81.2.69.1", "Keyed/2", 0.01, "/health", "hi")) for _ in range(3)]
    for f in (geo, ua, perf):
        events = f.process(events)
    before = copy.deepcopy(events[0].data)
    held = [events[0].get("source.geo"), events[0].get("user_agent.device"), events[0].get("user_agent.os")]
    kept = copy.deepcopy(held)
    scrubber.scrub_batch(events)
    assert held == kept   # the shared objects as they were
    assert events[0].get("user_agent.device") is not held[1]
    assert "password" not in events[0].get("user_agent.device")
    assert "erin@example.com" not in events[0].get("source.geo")["city_name"]
    assert before["source"]["geo"]["city_name"] == "mail erin@example.com"
    counts = [e.get("event.scrubbed") for e in events]
    assert counts[0] == counts[1] == counts[2] and counts[0]["field"] == 2


def test_output_and_dead_letter_scrubbing_leave_shared_objects_alone(
        databases: tuple[str, str], fake_agents: None) -> None:
    geo, ua, perf, scrubber = chain(databases, True, True)
    events = [make_event(("81.2.69.1", "Mixed token=abc123 frank@example.org", 0.01, "/x", "hi"))
              for _ in range(2)]
    for f in (geo, ua, perf):
        events = f.process(events)
    originals = [copy.deepcopy(e.data) for e in events]
    # what the Elasticsearch output does for a dead letter: its own top level, scrubbed
    doc = scrub_event(dict(events[0].data), scrubber)
    assert doc["user_agent"]["os"]["name"] != originals[0]["user_agent"]["os"]["name"]
    # what the dead-letter queue does
    letters = DeadLetters(None, pipeline="p", scrubber=scrubber, scrub=True)
    record = letters.record(DeadLetter(events[1], "out", "elasticsearch", "rejected"))
    assert b"frank@example.org" not in record.value
    # an output scrubbing an event in place: only the event's own top level changes
    scrubber.scrub(events[1])
    assert events[0].data == originals[0]
    assert events[1].get("user_agent.os") is not events[0].get("user_agent.os")
    assert events[0].get("user_agent.os") == originals[0]["user_agent"]["os"]


def test_clones_never_share_with_their_original(databases: tuple[str, str], fake_agents: None) -> None:
    from logpipe.filters.clone.filter import CloneFilter
    geo, ua, perf, _ = chain(databases, True, True)
    events = [make_event(("81.2.70.1", "Plain/1.0", 0.01, "/health", "hi"))]
    for f in (geo, ua, perf):
        events = f.process(events)
    original, clone = CloneFilter(CloneFilter.Config(clones=["c"]), id="c").process(events)
    assert clone.get("source.geo") == original.get("source.geo")
    assert clone.get("source.geo") is not original.get("source.geo")
    assert clone.get("user_agent.os") is not original.get("user_agent.os")


@pytest.mark.parametrize("native", [True, False])
def test_an_object_held_twice_by_one_event_is_copied_once_and_counted_once(native: bool) -> None:
    scrubber = Scrubber(ScrubConfig(), key=b"test-key")
    if not native:
        scrubber._native = None
    inner = {"mail": "erin@example.com", "password": "x"}
    for scrub in ("scrub", "scrub_batch"):
        event = Event({"@timestamp": STAMP, "one": inner, "two": [inner], "three": {"again": inner}})
        if scrub == "scrub":
            scrubber.scrub(event)
        else:
            scrubber.scrub_batch([event, Event({"@timestamp": STAMP})])
        assert inner == {"mail": "erin@example.com", "password": "x"}
        data = event.data
        assert data["one"] is data["two"][0] is data["three"]["again"]
        assert data["one"]["mail"] != "erin@example.com" and "password" not in data["one"]
        # what a walk in place counts: the e-mail, then the removed key, once
        assert list(data["event"]["scrubbed"].items()) == [("email", 1), ("field", 1)]
