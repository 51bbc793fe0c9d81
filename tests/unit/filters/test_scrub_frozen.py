"""The native scrub check skipping objects vouched for as frozen (``ScrubCheck.vouch``).

Objects that geoip, useragent and perfclass share between events never change
while shared (logpipe.core.sharing); the pipeline lists them
(logpipe.core.frozen) and the check walks each once, then skips the clean ones
wherever an event holds them. These tests hold a check that skips to one that
walks everything: the same plans, holders and documents, whatever the vouched
objects hold (secrets planted in their strings, keys named like secrets,
objects nested in one another or lying deep), with its set bounded and every
address in it belonging to the object it was recorded for.
"""
from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.core.frozen import FrozenObjects
from logpipe.filters.scrub import Scrubber, ScrubConfig
from logpipe.filters.scrub.native import KIND_BITS, PLANS, triggers
from logpipe.filters.scrub.patterns import SECRET

# Part of what CI installs: there a missing module fails the run instead of skipping.
native = (__import__("logpipe_native") if os.environ.get("CI") == "true"
          else pytest.importorskip("logpipe_native"))


@pytest.fixture(autouse=True)
def _native_check_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPE_NATIVE", raising=False)


def scrubber(frozen: FrozenObjects | None = None, **options: Any) -> Scrubber:
    with pytest.MonkeyPatch.context() as switch:
        switch.delenv("LOGPIPE_NATIVE", raising=False)
        made = Scrubber(ScrubConfig(**options), key=b"frozen-key", frozen=frozen)
    assert made._native is not None
    return made


def check(clean_entries: int = 32768) -> Any:
    """A check with the default scrub settings and the given bound."""
    plain = scrubber()
    names = sorted(plain._secret_exact)
    return native.ScrubCheck(triggers(plain.config.kinds, plain.config.secret_params), names, names,
                             KIND_BITS[SECRET], plain._shortest, list(PLANS), 4096, 128, clean_entries)


# --- events made of shared objects ---------------------------------------------------------------
TEXTS = st.sampled_from(["GET", "Android", "Pixel 8", "United Kingdom", "mail erin@example.com",
                         "Bearer abcdef.ghijkl-mn", "token=abc123", "fast", "api", "x" * 70,
                         "4111 1111 1111 1111", "plain words that run past a short slot, and on"])
KEYS = st.sampled_from(["name", "version", "city_name", "location", "password", "apiKey", "x-api-key",
                        "class", "route", "tags", "\u212aey", "Token"])
LEAVES = st.one_of(TEXTS, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(KEYS, inner, max_size=4)),
                      max_leaves=10)
SHARED = st.one_of(st.dictionaries(KEYS, VALUES, max_size=4), st.lists(VALUES, max_size=3))


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Any], list[list[dict[str, Any]]]]:
    """Shared objects (some nested in others) and batches of events that hold them,
    next to values of their own."""
    shared: list[Any] = draw(st.lists(SHARED, min_size=1, max_size=5))
    for _ in range(draw(st.integers(0, 2))):
        outer = draw(st.dictionaries(KEYS, VALUES, max_size=2))
        outer[draw(KEYS)] = draw(st.sampled_from(shared))
        shared.append(outer)
    pick = st.sampled_from(shared)
    event_values = st.one_of(VALUES, pick, pick, st.lists(pick, max_size=2),
                             st.dictionaries(KEYS, pick, max_size=2))
    events = st.dictionaries(st.one_of(KEYS, TEXTS), event_values, min_size=1, max_size=5)
    return shared, draw(st.lists(st.lists(events, min_size=2, max_size=5), min_size=1, max_size=3))


def _events(datas: list[dict[str, Any]], shared: list[Any]) -> list[Event]:
    """Events over copies of ``datas`` that still hold the shared objects themselves."""
    keep = {id(obj): obj for obj in shared}
    made = []
    for data in copy.deepcopy(datas, keep):
        event = Event.__new__(Event)
        event.data, event.metadata = data, {}
        made.append(event)
    return made


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_skipping_vouched_objects_gives_the_plans_of_the_whole_walk(
        drawn: tuple[list[Any], list[list[dict[str, Any]]]]) -> None:
    shared, batch_list = drawn
    skipping, walking = check(), check()
    clean = [o for o in shared if walking.plans([{"k": o}])[0][0] == frozenset()]
    assert skipping.vouch(shared) == len(clean)
    assert {at for at, _ in skipping.clean_objects()} == {id(o) for o in clean}
    for datas in batch_list:
        assert skipping.plans_held(datas) == walking.plans_held(datas)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_a_batch_scrubbed_with_skips_gives_the_documents_and_leaves_shared_objects_alone(
        drawn: tuple[list[Any], list[list[dict[str, Any]]]]) -> None:
    shared, batch_list = drawn
    before = copy.deepcopy(shared)
    frozen = FrozenObjects()
    for obj in shared:
        frozen.vouch(obj)
    skipping, walking = scrubber(frozen), scrubber()
    for datas in batch_list:
        with_skips, without = _events(datas, shared), _events(datas, shared)
        skipping.scrub_batch(with_skips)
        walking.scrub_batch(without)
        assert [e.data for e in with_skips] == [e.data for e in without]
    assert shared == before   # scrub copies what it changes below an event's top


def test_a_vouched_object_that_holds_a_hit_is_walked_every_time() -> None:
    skipping = check()
    quiet = {"name": "Android", "version": "14"}
    mail = {"city_name": "mail erin@example.com"}
    keyed = {"device": {"name": "d", "password": "p"}}
    listed = ["x", ["token=abc123"]]
    assert skipping.vouch([quiet, mail, keyed, listed, quiet]) == 2   # quiet twice
    assert [obj for _, obj in skipping.clean_objects()] == [quiet]
    for _ in range(2):
        plans, holders, undecided = skipping.plans_held([{"a": quiet, "b": mail, "c": keyed, "d": listed}])
        assert undecided == []
        assert plans[0] == {"mail erin@example.com": frozenset({"email"}),
                            "password": frozenset({SECRET}), "token=abc123": frozenset({SECRET})}
        assert holders[0] == {id(mail), id(keyed), id(keyed["device"]), id(listed), id(listed[1])}


def test_only_the_vouched_object_itself_is_skipped() -> None:
    """An equal dict, a copy changed afterwards, or what a clone makes is walked."""
    skipping = check()
    quiet = {"name": "Android", "os": {"version": "14"}}
    assert skipping.vouch([quiet]) == 1
    changed = copy.deepcopy(quiet)
    changed["os"]["password"] = "x"
    shallow = quiet.copy()
    shallow["token"] = "t"
    plans, _ = skipping.plans([{"a": quiet}, {"a": changed}, {"a": shallow}, {"a": [quiet, shallow]}])
    assert plans == [frozenset(), {"password": frozenset({SECRET})}, {"token": frozenset({SECRET})},
                     {"token": frozenset({SECRET})}]


def test_only_containers_are_taken() -> None:
    skipping = check()

    class Mine(dict):   # type: ignore[type-arg]
        pass

    assert skipping.vouch(["GET", 3, ("a",), Mine(a=1), None]) == 0
    assert skipping.clean_objects() == []


def _nested(depth: int, leaf: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"leaf": leaf}
    for _ in range(depth - 1):
        obj = {"d": obj}
    return obj


def test_skipping_never_hides_an_event_too_deep_for_the_check() -> None:
    """An event nested deeper than the check goes (200 levels) is left to Python, with or
    without a vouched object in it: one lying deep is walked, not skipped, and one deep
    in itself is never kept."""
    skipping, walking = check(), check()
    shallow, deep = _nested(60, "x"), _nested(150, "x")
    assert skipping.vouch([shallow, deep]) == 1
    assert [obj for _, obj in skipping.clean_objects()] == [shallow]
    for depth in (1, 80, 99, 100, 101, 139, 140, 141, 170):
        for inner in (shallow, deep):
            data = _nested(depth, inner)
            assert skipping.plans([data]) == walking.plans([data]), depth


def test_the_set_is_bounded() -> None:
    small = check(clean_entries=3)
    objects = [{"n": str(i)} for i in range(10)]
    for obj in objects:
        small.vouch([obj])
        assert len(small.clean_objects()) <= 3
    assert small.vouch(objects[-2:]) == 2   # emptied when full, then taken again
    none = check(clean_entries=0)
    assert none.vouch(objects) == 0 and none.clean_objects() == []
    walking = check()
    datas = [{"a": obj, "password": "x"} for obj in objects]
    assert small.plans(datas) == none.plans(datas) == walking.plans(datas)


def _vouch_then_make(skipping: Any) -> list[dict[str, str]]:
    skipping.vouch([{"name": "Android", "version": "14"}])
    return [{"name": "Android", "password": "p"} for _ in range(200)]


def test_an_address_in_the_set_is_the_object_recorded_for_it() -> None:
    """The set holds each object it skips, so its address is never another object's:
    dicts made after the vouched one has no other holder are walked."""
    skipping = check()
    # made right after the vouched object lost every other holder: one of them would
    # take its address if the set did not hold it
    fresh = _vouch_then_make(skipping)
    plans, _ = skipping.plans([{"a": d} for d in fresh])
    assert all(plan == {"password": frozenset({SECRET})} for plan in plans)
    (address, obj), = skipping.clean_objects()
    assert id(obj) == address and obj == {"name": "Android", "version": "14"}


def test_the_scrubber_reads_the_registry_once_per_object() -> None:
    frozen = FrozenObjects()
    made = scrubber(frozen)
    quiet = {"name": "Android"}
    frozen.vouch(quiet)
    events = [Event({"user_agent": {"os": quiet}}), Event({"user_agent": {"os": quiet}})]
    made.scrub_batch(events)
    assert [obj for _, obj in made._native.clean_objects()] == [quiet]
    seen = made._frozen_seen
    made.scrub_batch(events)
    assert made._frozen_seen == seen == 1


def test_without_the_native_module_the_registry_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    frozen = FrozenObjects()
    quiet, mail = {"name": "Android"}, {"city_name": "mail erin@example.com"}
    frozen.vouch(quiet)
    frozen.vouch(mail)
    python = Scrubber(ScrubConfig(), key=b"frozen-key", frozen=frozen)
    assert python._native is None and python._frozen is None
    events = [Event({"a": quiet, "b": mail, "password": "x"}) for _ in range(2)]
    plain = _events([e.data for e in events], [quiet, mail])
    python.scrub_batch(events)
    monkeypatch.delenv("LOGPIPE_NATIVE")
    scrubber(frozen).scrub_batch(plain)
    assert [e.data for e in events] == [e.data for e in plain]
    assert events[0].data["a"] is quiet and events[0].data["b"] is not mail and "password" not in events[0].data
