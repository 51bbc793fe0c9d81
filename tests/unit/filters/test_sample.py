"""sample: always-keep conditions, per-key 1-in-N and dynamic rates, consistent
decisions per request id, weights that rebuild the true counts, per-key metrics."""
from __future__ import annotations

import importlib.util

import copy
import subprocess
from collections import OrderedDict
import sys
from collections import Counter

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.sample import SampleFilter
from logpipe.filters.sample.decide import Sampler, id_fraction
from logpipe.runtime.metrics import MetricsRegistry


def make(context: PluginContext | None = None, **settings: object) -> SampleFilter:
    return SampleFilter(SampleFilter.Config.model_validate(settings), id="sample", context=context)


def access(i: int, route: str = "/api/memories", status: int = 200, **extra: object) -> Event:
    return Event({"url": {"path": route}, "http": {"response": {"status_code": status},
                                                    "request": {"id": f"req-{i}"}}, **extra})


def weight(e: Event) -> int:
    return e.data["event"]["sampling"]["weight"]


def test_keeps_one_in_n_per_key_and_weights_add_up_to_what_was_seen() -> None:
    f = make(rate=10, key="%{[url][path]}")
    events = [access(i, "/api/memories") for i in range(5000)] + \
             [access(i, "/api/search") for i in range(5000, 5500)]
    kept = f.process(events)
    per_key = Counter(e.data["url"]["path"] for e in kept)
    # a hash-based 1-in-10: around 500 and 50, far from keeping all or none
    assert 400 <= per_key["/api/memories"] <= 600
    assert 30 <= per_key["/api/search"] <= 75
    assert all(e.data["event"]["sampling"]["rate"] == 10 for e in kept)
    rebuilt = Counter()
    for e in kept:
        rebuilt[e.data["url"]["path"]] += weight(e)
    # exact bookkeeping: short only of the dropped tail after each key's last kept event
    assert 5000 - 60 <= rebuilt["/api/memories"] <= 5000
    assert 500 - 60 <= rebuilt["/api/search"] <= 500


def test_always_keep_conditions_and_tags_keep_events_whole() -> None:
    f = make(rate=50, keep_if=["[http][response][status_code] >= 400", '"security" in [tags]'])
    events = [access(i, status=500) for i in range(100)] + \
             [access(i, tags=["security"]) for i in range(100, 200)] + \
             [access(i, tags=["keep"]) for i in range(200, 300)]
    kept = f.process(events)
    assert kept == events
    assert {(e.data["event"]["sampling"]["rate"], weight(e)) for e in kept} == {(1, 1)}


def test_decisions_follow_the_request_id_in_every_process() -> None:
    ids = [f"gen-{i}" for i in range(2000)]
    f = make(rate=4)
    events = [Event({"http": {"request": {"id": i}}}) for i in ids]
    here = [e.data["http"]["request"]["id"] for e in f.process(events)]
    # Another interpreter (its own hash salt) decides the same ids the same way.
    code = ("from logpipe.filters.sample.decide import id_fraction\n"
            f"ids = {ids!r}\n"
            "print(','.join(i for i in ids if id_fraction(i, b'logpipe') * 4 < 1))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345"}).stdout.strip().split(",")
    assert there == here and 350 < len(here) < 650
    # Two events of one request, in different keys and batches, share their fate.
    g = make(rate=4, key="%{[service][name]}")
    a = g.process([Event({"service": {"name": "api"}, "trace": {"id": t}}) for t in ids])
    b = g.process([Event({"service": {"name": "worker"}, "trace": {"id": t}}) for t in reversed(ids)])
    assert sorted(e.data["trace"]["id"] for e in a) == sorted(e.data["trace"]["id"] for e in b)


def test_nested_rates_keep_a_subset() -> None:
    ids = [f"t{i}" for i in range(5000)]
    at10 = {i for i in ids if id_fraction(i, b"s") * 10 < 1}
    at5 = {i for i in ids if id_fraction(i, b"s") * 5 < 1}
    assert at10 < at5


def test_events_without_an_id_are_kept_every_nth() -> None:
    f = make(rate=3)
    kept = f.process([Event({"n": i}) for i in range(30)])
    assert [e.data["n"] for e in kept] == list(range(0, 30, 3))
    assert {weight(e) for e in kept[1:]} == {3}


def test_rate_one_turns_sampling_off() -> None:
    events = [access(i) for i in range(100)]
    assert make(rate=1).process(events) == events


def test_dynamic_mode_keeps_rare_keys_whole_and_thins_busy_ones() -> None:
    s = Sampler(1000, target_per_second=10, window_seconds=1.0)
    s.tick(0.0)
    busy = [s.decide(s.state("busy")[1], None) for _ in range(1000)]
    quiet = [s.decide(s.state("quiet")[1], None) for _ in range(5)]
    assert all(busy) and all(quiet)  # the first window keeps everything: no rate known yet
    s.tick(1.0)
    assert s.state("busy")[1].rate == 100 and s.state("quiet")[1].rate == 1
    busy = [s.decide(s.state("busy")[1], None) for _ in range(1000)]
    quiet = [s.decide(s.state("quiet")[1], None) for _ in range(5)]
    assert sum(1 for w in busy if w) == 10 and sum(busy) == 1000 - 99
    assert all(w == 1 for w in quiet)


def test_keys_beyond_the_bound_share_one_state() -> None:
    s = Sampler(2, max_keys=3)
    names = [s.state(f"k{i}")[0] for i in range(10)]
    assert names[:3] == ["k0", "k1", "k2"] and set(names[3:]) == {"_other"}
    assert len(s.keys) == 4


def test_kept_and_dropped_counts_per_key_reach_the_registry() -> None:
    registry = MetricsRegistry()
    ctx = PluginContext(pipeline="gm", metrics=registry)
    f = make(ctx, rate=5, key="%{[url][path]}", keep_if=["[http][response][status_code] >= 500"])
    f.process([Event({"url": {"path": "/a"}, "n": i}) for i in range(100)] +
              [access(1, "/b", status=503)])
    (family,) = [fam for fam in registry.snapshot() if fam["name"] == "logpipe_sample_events_total"]
    samples = {(s[0]["key"], s[0]["decision"]): s[1] for s in family["samples"]}
    assert samples == {("/a", "kept"): 20, ("/a", "dropped"): 80, ("_always", "kept_always"): 1}
    assert {s[0]["pipeline"] for s in family["samples"]} == {"gm"}
    assert {s[0]["plugin"] for s in family["samples"]} == {"sample"}


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        make(rate=0)
    with pytest.raises(ConfigError, match="keep_if"):
        make(keep_if=["[a] =="])


def _stamped_by_set_path(data: dict[str, object], rate_field: str, weight_field: str) -> Event:
    from logpipe.core.fieldref import parse
    e = Event({"@timestamp": "t", **copy.deepcopy(data)})
    e.set_path(parse(rate_field), 1)
    e.set_path(parse(weight_field), 1)
    return e


@pytest.mark.parametrize("data", [
    {}, {"event": {"kind": "event"}}, {"event": None}, {"event": "text"}, {"event": [1, 2]},
    {"event": {"sampling": "x"}}, {"event": {"sampling": {"weight": 7, "other": 1}}},
    {"event": {"sampling": [None, None]}}, {"event": OrderedDict(kind="event")},
    {"event": {"sampling": None}}, {"event": {"sampling": OrderedDict(rate=3)}}, {"event": 0},
    {"event": {"sampling": {}}},
])
@pytest.mark.parametrize("fields", [
    ("[event][sampling][rate]", "[event][sampling][weight]"), ("[rate]", "[weight]"),
    ("[event][rate]", "[other][weight]"), ("[@metadata][s][rate]", "[@metadata][s][weight]"),
    ("[event][sampling][0]", "[event][sampling][1]"),
])
@pytest.mark.parametrize("share", [False, True])
@pytest.mark.parametrize("native", ["on", "off"])
def test_sampling_off_stamps_what_two_set_path_calls_write(data: dict[str, object],
                                                            fields: tuple[str, str], share: bool,
                                                            native: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """rate 1 writes rate and weight through a shortcut when they share a parent; every
    shape on the way (scalars, lists, dict subclasses) must end as set_path leaves it,
    whether the stamp object is shared or not, and whether the usual events are
    stamped natively (``sample_stamp``) or not."""
    monkeypatch.setenv("LOGPIPE_NATIVE", native)
    f = make(rate=1, rate_field=fields[0], weight_field=fields[1])
    assert (f._native_stamp is not None) == (native == "on" and importlib.util.find_spec("logpipe_native") is not None)
    f.share_memo = share
    (event, again) = f.process([Event({"@timestamp": "t", **copy.deepcopy(data)}) for _ in range(2)])
    expected = _stamped_by_set_path(data, *fields)
    assert event == expected == again
    assert list(event.data) == list(expected.data)


def test_sampling_off_shares_one_stamp_only_when_told() -> None:
    """With ``share_memo`` the events that lacked the parent get one object, which stays
    ``{rate: 1, weight: 1}``; events that had their own parent keep it, stamped in place."""
    f = make(rate=1)
    assert f.shared_paths() == (("event", "sampling"),)
    own = {"weight": 7, "other": 1}
    batch = [Event({"n": 1}), Event({"event": {"kind": "event"}}), Event({"event": {"sampling": own}})]
    f.share_memo = True
    a, b, c = f.process(batch)
    assert a.data["event"]["sampling"] is b.data["event"]["sampling"] == {"rate": 1, "weight": 1}
    assert c.data["event"]["sampling"] is own and own == {"weight": 1, "other": 1, "rate": 1}
    (d,) = f.process([Event({"n": 2})])
    assert d.data["event"]["sampling"] is a.data["event"]["sampling"] == {"rate": 1, "weight": 1}
    f.share_memo = False
    e, g = f.process([Event({"n": 3}), Event({"event": {}})])
    assert e.data["event"]["sampling"] is not g.data["event"]["sampling"]
    assert e.data["event"]["sampling"] is not a.data["event"]["sampling"]


@pytest.mark.parametrize("settings", [{"rate": 10}, {"rate": 1, "rate_field": "[rate]", "weight_field": "[weight]"},
                                      {"rate": 1, "rate_field": "[event][sampling][rate]",
                                       "weight_field": "[event][weight]"}])
def test_nothing_to_share_when_sampling_or_the_stamp_is_not_inline(settings: dict[str, object]) -> None:
    assert make(**settings).shared_paths() == ()


@pytest.mark.parametrize("settings", [{"rate": 1}, {"rate": 1, "target_per_second": 0.5}])
def test_sampling_off_keeps_every_event_as_the_decision_would(settings: dict[str, object]) -> None:
    """With rate 1 (also in dynamic mode, capped at 1) every event is kept with rate 1 and
    weight 1, whatever keep_if, keep_tags or the request id say: the same documents as a
    rate that happens to keep everything."""
    keep = ["[http][response][status_code] >= 400", '"security" in [tags]']
    events = [access(i, status=500 if i % 3 == 0 else 200, tags=["security"] if i % 5 == 0 else [])
              for i in range(60)] + [Event({"n": i, "tags": ["keep"]}) for i in range(5)] + \
             [Event({"n": i}) for i in range(5)]
    reference = copy.deepcopy(events)
    for e in reference:
        e.data.setdefault("event", {})["sampling"] = {"rate": 1, "weight": 1}
    kept = make(**settings, keep_if=keep, key="%{[url][path]}").process(events)
    assert kept == reference
    # Many batches: weights never grow (no hidden per-key counting).
    f = make(**settings, keep_if=keep)
    for _ in range(3):
        assert {(e.data["event"]["sampling"]["rate"], weight(e))
                for e in f.process([access(i) for i in range(50)])} == {(1, 1)}


def test_sampling_off_counts_every_event_once_without_keys() -> None:
    """No decision is taken with rate 1: the metric counts what the filter saw under one
    key, as kept, so the sampled-out share stays 0 and the total stays right."""
    registry = MetricsRegistry()
    f = make(PluginContext(pipeline="gm", metrics=registry), rate=1, key="%{[url][path]}",
             keep_if=["[http][response][status_code] >= 500"])
    f.process([Event({"url": {"path": "/a"}, "n": i}) for i in range(100)] + [access(1, "/b", status=503)])
    f.process([])
    (family,) = [fam for fam in registry.snapshot() if fam["name"] == "logpipe_sample_events_total"]
    assert {(s[0]["key"], s[0]["decision"]): s[1] for s in family["samples"]} == {("_unsampled", "kept"): 101}


def test_keep_conditions_combined_hold_when_any_of_them_holds() -> None:
    """keep_if entries are evaluated as one condition; each still holds on its own."""
    f = make(rate=1000, keep_if=["[a] == 1", "!([b] >= 0)", '"x" in [tags] or [c]'])
    events = [Event({"a": 1, "b": 1}), Event({"b": "nan"}), Event({"b": 1, "tags": ["x"]}),
              Event({"b": 1, "c": True}), Event({"b": 1}), Event({"b": 2, "a": 2})]
    kept = f.process(events)
    assert [e.data for e in kept][:4] == [e.data for e in events[:4]]
    assert {weight(e) for e in kept[:4]} == {1}
    assert events[4] in kept and events[5] not in kept   # the first of its key is kept, then 1 in 1000


def test_sample_stamp_takes_the_usual_events_and_leaves_the_rest() -> None:
    native = pytest.importorskip("logpipe_native")
    stamp = {"rate": 1, "weight": 1}
    own = {"weight": 7}
    events = [Event({"n": 0}), Event({"event": None}), Event({"event": {"kind": "x"}}),
              Event({"event": {"sampling": None}}), Event({"event": {"sampling": stamp}}),
              Event({"event": {"sampling": own}}), Event({"event": "text"}), Event({"event": OrderedDict()})]
    rest = native.sample_stamp(events, "event", "sampling", stamp)
    assert rest == [5, 6, 7]
    assert all(e.data["event"]["sampling"] is stamp for e in events[:5])
    assert events[2].data["event"] == {"kind": "x", "sampling": stamp}
    assert own == {"weight": 7} and events[6].data["event"] == "text"
