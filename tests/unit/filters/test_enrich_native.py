"""geoip and useragent write remembered answers natively (logpipe_native.geoip_share,
useragent_share) exactly as their Python loops do.

The native pass takes only the usual event (plain dicts, a str whose answer is
remembered, nothing to tag) and lists the others for the loop; whatever shape an
event has, the documents must be those of the loop alone, key order included, and
the shared objects the same objects.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.native import native_module
from logpipe.filters.geoip import GeoipFilter
from logpipe.filters.useragent import UserAgentFilter
from tests.unit.filters.test_sharing_documents import databases, fake_agents  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(getattr(native_module(), "geoip_share", None) is None,
                                reason="needs the native module")


class Tagged(dict):  # type: ignore[type-arg]
    """A dict subclass: the loop's general path, never the native one."""


class Text(str):
    """A str subclass: the loop treats it as no text."""


IPS = ["81.2.69.1", "81.2.70.1", "81.2.71.9", "10.0.0.1", "not-an-ip", "8.8.8.8"]
AGENTS = ["Plain/1.0", "Keyed/2", "Mail erin@example.com", "-", ""]

SOURCE = st.one_of(
    st.builds(lambda ip: {"ip": ip}, st.sampled_from(IPS)),
    st.builds(lambda ip: {"ip": ip, "geo": {"old": 1}}, st.sampled_from(IPS)),
    st.builds(lambda ip: Tagged(ip=ip), st.sampled_from(IPS)),
    st.builds(lambda ip: {"ip": [ip, "1.1.1.1"]}, st.sampled_from(IPS)),
    st.builds(lambda ip: {"ip": Text(ip)}, st.sampled_from(IPS)),
    st.sampled_from([None, "81.2.69.1", ["x"], {"ip": None}, {"ip": 7}, {}]),
)
AGENT = st.one_of(
    st.builds(lambda ua: {"original": ua}, st.sampled_from(AGENTS)),
    st.builds(lambda ua: {"original": ua, "name": "before", "os": {"x": 1}}, st.sampled_from(AGENTS)),
    st.builds(lambda ua: OrderedDict(original=ua), st.sampled_from(AGENTS)),
    st.builds(lambda ua: {"original": Text(ua)}, st.sampled_from(AGENTS)),
    st.sampled_from([None, "Plain/1.0", ["Plain/1.0"], {"original": None}, {"original": 3}, {}]),
)
EVENT = st.fixed_dictionaries({}, optional={"source": SOURCE, "user_agent": AGENT})


def filters(dbs: tuple[str, str], native: bool, **geo: Any) -> tuple[GeoipFilter, UserAgentFilter]:
    g = GeoipFilter(GeoipFilter.Config(database=dbs[0], **geo), id="geo")
    asyncio.run(g.start())
    u = UserAgentFilter(UserAgentFilter.Config(), id="ua")
    for f in (g, u):
        f.share_memo = True
        if not native:
            f._native_share = None
    return g, u


def document(event: Event) -> bytes:
    return orjson.dumps([event.data, event.metadata], default=repr)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(st.lists(EVENT, min_size=1, max_size=10), min_size=2, max_size=4),
       asn=st.booleans(), tag_private=st.booleans())
def test_the_native_pass_writes_what_the_loop_writes(databases: tuple[str, str], fake_agents: None,
                                                     batches: list[list[dict[str, Any]]], asn: bool,
                                                     tag_private: bool) -> None:
    options: dict[str, Any] = {"private": "tag" if tag_private else "skip"}
    if asn:
        options["asn_database"] = databases[1]
    native, loop = filters(databases, True, **options), filters(databases, False, **options)
    for batch in batches:
        outs = []
        for chain in (native, loop):
            # the shapes as drawn (subclasses kept), copied object by object
            events = [Event({"@timestamp": "t", **_copy(d)}) for d in batch]
            for f in chain:
                events = f.process(events)
            outs.append(events)
        assert [document(e) for e in outs[0]] == [document(e) for e in outs[1]]
        assert [type(e.data.get("source")) for e in outs[0]] == [type(e.data.get("source")) for e in outs[1]]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return type(value)((k, _copy(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def test_remembered_answers_are_put_natively_as_the_shared_objects(databases: tuple[str, str],
                                                                   fake_agents: None) -> None:
    geo, ua = filters(databases, True)
    calls: list[tuple[int, int]] = []
    native_geo, native_ua = geo._native_share, ua._native_share
    assert native_geo is not None and native_ua is not None

    def counted(real: Any) -> Any:
        def call(events: list[Event], *args: Any) -> list[int]:
            rest = real(events, *args)
            calls.append((len(events), len(rest)))
            return rest
        return call

    geo._native_share, ua._native_share = counted(native_geo), counted(native_ua)

    def batch() -> list[Event]:
        return [Event({"@timestamp": "t", "source": {"ip": "81.2.70.1"}, "user_agent": {"original": "Plain/1.0"}}),
                Event({"@timestamp": "t", "source": {"ip": "8.8.4.4"}, "user_agent": {"original": "Keyed/2"}})]

    first = ua.process(geo.process(batch()))
    assert calls == []   # nothing remembered yet: the loop alone
    second = ua.process(geo.process(batch()))
    # The second batch: the remembered address and User-Agents natively; 8.8.4.4 was
    # not found in the test database, and the loop decides what that means.
    assert calls == [(2, 1), (2, 0)]
    assert second[0].data["source"]["geo"] is first[0].data["source"]["geo"]
    assert second[0].data["user_agent"]["os"] is first[0].data["user_agent"]["os"]
    assert second[1].data["user_agent"]["device"] is first[1].data["user_agent"]["device"]
    assert [document(e) for e in first] == [document(e) for e in second]


def test_no_native_pass_without_sharing_or_with_actions(databases: tuple[str, str], fake_agents: None) -> None:
    for share, extra in ((False, {}), (True, {"add_tag": ["geo"]})):
        g = GeoipFilter(GeoipFilter.Config(database=databases[0], **extra), id="geo")
        asyncio.run(g.start())
        g.share_memo = share
        g._native_share = _refuse
        for _ in range(2):
            g.process([Event({"source": {"ip": "81.2.70.1"}})])


def _refuse(*args: Any) -> list[int]:
    raise AssertionError("the native pass ran")
