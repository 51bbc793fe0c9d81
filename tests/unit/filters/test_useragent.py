"""User-agent parsing into ECS fields and a device type."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.useragent import UserAgentFilter

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.6099.130 Safari/537.36")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1")
ANDROID_PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.6099.144 Mobile Safari/537.36")
CURL = "curl/8.4.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(scope="module")
def ua() -> UserAgentFilter:
    f = UserAgentFilter(UserAgentFilter.Config(), id="ua")
    asyncio.run(f.start())
    return f


def parsed(f: UserAgentFilter, text: Any) -> dict[str, Any]:
    [event] = f.process([Event({"user_agent": {"original": text}})])
    return event.get("user_agent")


@pytest.mark.parametrize("text, name, version, os_name, os_version, device_name, device_type", [
    (CHROME_WINDOWS, "Chrome", "120.0.6099.130", "Windows", "10", None, "desktop"),
    (IPHONE_SAFARI, "Mobile Safari", "17.1.2", "iOS", "17.1.2", "iPhone", "mobile"),
    (IPAD, "Mobile Safari", "16.6", "iOS", "16.6", "iPad", "tablet"),
    (ANDROID_PHONE, "Chrome Mobile", "120.0.6099.144", "Android", "14", "Pixel 8", "mobile"),
    (CURL, "curl", "8.4.0", None, None, None, "bot"),
    (GOOGLEBOT, "Googlebot", "2.1", None, None, "Spider", "bot"),
])
def test_common_clients(ua: UserAgentFilter, text: str, name: str, version: str, os_name: str | None,
                        os_version: str | None, device_name: str | None, device_type: str) -> None:
    out = parsed(ua, text)
    assert out["original"] == text  # what was there stays
    assert out["name"] == name
    assert out["version"] == version
    if os_name is None:
        assert "os" not in out
    else:
        assert out["os"] == {"name": os_name, "version": os_version,
                             "full": f"{os_name} {os_version}"}
    assert out["device"].get("name") == device_name
    assert out["device"]["type"] == device_type


@pytest.mark.parametrize("text, device_type", [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15", "desktop"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "desktop"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "desktop"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Safari/537.36", "tablet"),
    ("Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Silk/3.68 like Chrome/39.0.2171.93 Safari/537.36", "tablet"),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)", "bot"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"),
    ("Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0 Mobile Safari/537.36", "mobile"),
    ("python-requests/2.31.0", "bot"),
    ("python-httpx/0.27.0", "bot"),
    ("Wget/1.21.4", "bot"),
    ("kube-probe/1.28", "bot"),
    ("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36", "other"),
    ("something nobody has seen", "other"),
])
def test_device_types(ua: UserAgentFilter, text: str, device_type: str) -> None:
    assert parsed(ua, text)["device"]["type"] == device_type


def test_absent_agents_are_left_alone(ua: UserAgentFilter) -> None:
    for text in ("-", ""):
        out = parsed(ua, text)
        assert out == {"original": text}


def test_non_text_is_tagged(ua: UserAgentFilter) -> None:
    [event] = ua.process([Event({"user_agent": {"original": 12}})])
    assert event.tags == ["_useragent_parse_failure"]
    [event] = ua.process([Event({"message": "no agent"})])
    assert "tags" not in event.data and "user_agent" not in event.data


def test_custom_source_and_target() -> None:
    f = UserAgentFilter(UserAgentFilter.Config(source="headers.ua", target="client.agent"), id="u")
    [event] = f.process([Event({"headers": {"ua": IPHONE_SAFARI}})])
    assert event.get("client.agent.device.type") == "mobile"
    assert event.get("client.agent.os.name") == "iOS"


def test_events_sharing_an_agent_get_independent_objects(ua: UserAgentFilter) -> None:
    a, b = ua.process([Event({"user_agent": {"original": IPAD}}),
                       Event({"user_agent": {"original": IPAD}})])
    a.get("user_agent.os")["name"] = "changed"
    a.get("user_agent.device")["type"] = "changed"
    assert b.get("user_agent.os.name") == "iOS"
    assert b.get("user_agent.device.type") == "tablet"
    assert parsed(ua, IPAD)["device"]["type"] == "tablet"


def test_cache_off_gives_the_same_answers(ua: UserAgentFilter) -> None:
    f = UserAgentFilter(UserAgentFilter.Config(cache_size=0), id="u")
    assert parsed(f, CHROME_WINDOWS) == parsed(ua, CHROME_WINDOWS)


def test_oversized_agent_is_cut_before_parsing() -> None:
    f = UserAgentFilter(UserAgentFilter.Config(max_length=64), id="u")
    text = IPHONE_SAFARI + " " + "x" * 100_000
    out = parsed(f, text)
    assert out["original"] == text  # the original is kept whole
    assert out["os"]["name"] == "iOS"


def test_agent_text_parsed_in_place_is_kept_as_original() -> None:
    f = UserAgentFilter(UserAgentFilter.Config(source="user_agent", target="user_agent"), id="u")
    [event] = f.process([Event({"user_agent": CURL})])
    assert event.get("user_agent.original") == CURL
    assert event.get("user_agent.name") == "curl"


def test_a_batch_gives_each_event_what_it_gets_alone(ua: UserAgentFilter) -> None:
    """Strings are parsed once per batch; every event still gets its own answer and objects."""
    values: list[Any] = [IPAD, "-", CURL, None, 7, IPAD, "", GOOGLEBOT, CHROME_WINDOWS, IPAD]
    def events() -> list[Event]:
        return [Event({"user_agent": {"original": v}, "@timestamp": 0}) for v in values] + [
            Event({"user_agent": IPAD, "@timestamp": 0}), Event({"agent": IPAD, "@timestamp": 0})]
    batch = ua.process(events())
    alone = [ua.process([e])[0] for e in events()]
    assert [(e.data, e.tags) for e in batch] == [(e.data, e.tags) for e in alone]
    devices = [e.get("user_agent.device") for e in batch if e.get("user_agent.device") is not None]
    assert len({id(d) for d in devices}) == len(devices) == 6


_UA_SHAPES = st.one_of(
    st.none(), st.just(IPAD), st.just(CURL), st.just(7), st.just([IPAD]),
    st.fixed_dictionaries({}, optional={
        "original": st.sampled_from([IPAD, CURL, GOOGLEBOT, "-", "", None, 3]),
        "name": st.just("kept?"), "os": st.just({"name": "old"})}),
)


@settings(max_examples=200, deadline=None)
@given(shapes=st.lists(_UA_SHAPES, min_size=1, max_size=6))
def test_parent_read_once_answers_as_the_general_reader_and_writer(
        ua: UserAgentFilter, shapes: list[Any]) -> None:
    """``user_agent`` is read once for the source and as the target; whatever it holds,
    the events end as the general reader and writer leave them, keys in the same order."""
    def events() -> list[Event]:
        return [Event({"@timestamp": 0} if s is None else {"@timestamp": 0, "user_agent": copy.deepcopy(s)})
                for s in shapes]
    general = UserAgentFilter(UserAgentFilter.Config(), id="g")
    general._parent_key = None
    fused = [e.data for e in ua.process(events())]
    plain = [e.data for e in general.process(events())]
    assert fused == plain
    def order(data: dict[str, Any]) -> list[str] | None:
        agent = data.get("user_agent")
        return list(agent) if type(agent) is dict else None
    assert [order(d) for d in fused] == [order(d) for d in plain]


def test_a_parse_with_a_nested_object_first_is_written_in_its_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from logpipe.filters.useragent import filter as module
    monkeypatch.setattr(module, "parse", lambda ua: {"os": {"name": "X"}, "name": ua, "device": {"type": "t"}})
    f = UserAgentFilter(UserAgentFilter.Config(), id="u")
    a, b = f.process([Event({"user_agent": {"original": "agent"}}), Event({"user_agent": {"original": "agent"}})])
    assert list(a.get("user_agent")) == ["original", "os", "name", "device"]
    assert a.get("user_agent") == {"original": "agent", "os": {"name": "X"}, "name": "agent",
                                   "device": {"type": "t"}}
    a.get("user_agent.os")["name"] = "changed"
    assert b.get("user_agent.os.name") == "X"
    [c] = f.process([Event({"user_agent": {"original": "agent"}})])
    assert c.get("user_agent.os.name") == "X"


def test_a_small_memo_answers_as_no_memo_across_batches() -> None:
    """Parses are remembered in two bounded generations; a memo that keeps rolling over
    gives every batch what parsing each string afresh gives, and stays bounded."""
    remembering = UserAgentFilter(UserAgentFilter.Config(cache_size=4), id="m")
    fresh = UserAgentFilter(UserAgentFilter.Config(cache_size=0), id="f")
    values: list[Any] = [IPAD, CURL, GOOGLEBOT, CHROME_WINDOWS, "-", "", None, 7, [IPAD],
                         "Mozilla/5.0 (X11; Linux x86_64)", "python-requests/2.31", "Wget/1.21"]

    def batch(start: int) -> list[Event]:
        picked = [values[(start + 5 * i) % len(values)] for i in range(8)]
        return [Event({"@timestamp": 0, "user_agent": {"original": copy.deepcopy(v)}}) for v in picked] + [
            Event({"@timestamp": 0}), Event({"@timestamp": 0, "user_agent": CURL})]
    for start in range(12):
        got = remembering.process(batch(start))
        expected = fresh.process(batch(start))
        assert [(e.data, e.tags) for e in got] == [(e.data, e.tags) for e in expected]
        assert remembering._memo is not None and len(remembering._memo) <= 4
