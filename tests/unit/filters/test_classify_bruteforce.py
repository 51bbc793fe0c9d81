"""Brute force: N failed logins per source within a sliding window, on an injected clock."""
from __future__ import annotations

from typing import Any

from logpipe.core.event import Event
from logpipe.filters.classify import ClassifyFilter
from logpipe.filters.classify.bruteforce import BruteForceTracker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, **brute: Any) -> ClassifyFilter:
    return ClassifyFilter(ClassifyFilter.Config(brute_force=brute), id="bf", clock=clock)


def failed_login(ip: str) -> Event:
    return Event({"source": {"ip": ip}, "url": {"path": "/api/auth/login"},
                  "http": {"request": {"method": "POST"}, "response": {"status_code": 401}}})


def login_ok(ip: str) -> Event:
    ev = failed_login(ip)
    ev.set("http.response.status_code", 200)
    return ev


def flagged(f: ClassifyFilter, *events: Event) -> list[bool]:
    return ["brute_force" in e.tags for e in f.process(list(events))]


def test_the_fifth_failure_in_a_minute_and_later_ones_are_brute_force() -> None:
    clock = Clock()
    f = make(clock)
    results = []
    for _ in range(7):
        results += flagged(f, failed_login("203.0.113.9"))
        clock.now += 5
    assert results == [False, False, False, False, True, True, True]


def test_alerting_event_is_an_alert_with_high_severity() -> None:
    clock = Clock()
    f = make(clock, threshold=2)
    first, second = f.process([failed_login("1.1.1.1"), failed_login("1.1.1.1")])
    assert first.get("event.kind") == "event" and first.get("event.severity") == 21
    assert second.get("event.kind") == "alert" and second.get("event.severity") == 73
    assert "intrusion_detection" in second.get("event.category")


def test_failures_spread_wider_than_the_window_are_not_brute_force() -> None:
    clock = Clock()
    f = make(clock)
    results = []
    for _ in range(10):
        results += flagged(f, failed_login("1.2.3.4"))
        clock.now += 16  # 5 failures span 64 s > 60 s
    assert not any(results)


def test_window_slides() -> None:
    clock = Clock()
    f = make(clock, threshold=3, window_seconds=10)
    assert flagged(f, failed_login("a"), failed_login("a")) == [False, False]
    clock.now += 9
    assert flagged(f, failed_login("a")) == [True]       # 3 within 9 s
    clock.now += 5
    assert flagged(f, failed_login("a")) == [False]      # the first two fell out: 2 within 10 s
    clock.now += 1
    assert flagged(f, failed_login("a")) == [True]       # t=9, 14, 15


def test_sources_are_counted_separately() -> None:
    clock = Clock()
    f = make(clock, threshold=3)
    events = [failed_login("1.1.1.1"), failed_login("2.2.2.2")] * 2 + [failed_login("1.1.1.1")]
    assert flagged(f, *events) == [False, False, False, False, True]


def test_success_from_a_source_under_attack_is_flagged_but_not_counted() -> None:
    clock = Clock()
    f = make(clock, threshold=2)
    assert flagged(f, login_ok("9.9.9.9")) == [False]
    assert flagged(f, failed_login("9.9.9.9"), failed_login("9.9.9.9"), login_ok("9.9.9.9")) == \
        [False, True, True]
    clock.now += 61
    assert flagged(f, login_ok("9.9.9.9")) == [False]


def test_failures_reported_by_the_application_count_too() -> None:
    clock = Clock()
    f = make(clock, threshold=2)
    events = [Event({"source": {"ip": "5.5.5.5"}, "event": {"action": "login_failed"}}),
              Event({"source": {"ip": "5.5.5.5"}, "message": "invalid credentials for bob"})]
    assert flagged(f, *events) == [False, True]


def test_events_without_a_source_are_not_counted() -> None:
    clock = Clock()
    f = make(clock, threshold=1)
    ev = failed_login("x")
    del ev.data["source"]
    assert flagged(f, ev) == [False]


def test_disabled() -> None:
    f = make(Clock(), enabled=False, threshold=1)
    assert flagged(f, failed_login("1.1.1.1")) == [False]


def test_tracker_memory_is_bounded() -> None:
    clock = Clock()
    tracker = BruteForceTracker(threshold=2, window=60, max_sources=3, clock=clock)
    for ip in ("a", "b", "c", "a", "d"):  # "b" is the least recently seen when "d" arrives
        tracker.failure(ip)
    assert len(tracker) == 3
    assert not tracker.failure("b")        # forgotten: counting starts again
    assert tracker.active("a")
