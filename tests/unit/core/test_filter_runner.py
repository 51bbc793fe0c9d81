"""Where filters run (logpipe.core.filter_runner): the loop, a thread, and the moves between."""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from logpipe.config.loader import load_text
from logpipe.core import filter_runner
from logpipe.core.event import Event
from logpipe.core.filter_runner import FilterRunner, loop_safe, mode_of
from logpipe.core.metrics import PluginStats
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Filter, PluginConfig
from logpipe.core.stages import FilterStage


class Clock:
    """A clock the stages move forward: no real time passes in these tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Step(Filter):
    """Records where and when it ran, and moves the clock as if it took ``cost`` seconds."""

    runs_on_event_loop = True

    def __init__(self, name: str, clock: Clock, cost: float, record: list[Any]) -> None:
        super().__init__(PluginConfig(), id=name)
        self.name, self.clock, self.cost, self.record = name, clock, cost, record

    def process(self, events: list[Event]) -> list[Event]:
        self.record.append((self.name, events[0].data["batch"], threading.get_ident()))
        self.clock.now += self.cost
        return events


def runner(steps: list[Step], mode: str = "auto", *, clock: Clock) -> FilterRunner:
    stages = [FilterStage(s, None, PluginStats("filter", "step", s.name)) for s in steps]
    return FilterRunner(stages, mode_of(mode if mode == "auto" else mode == "true"),  # type: ignore[arg-type]
                        name="t", clock=clock)


class Waits(Step):
    """A filter that does not say it only computes."""

    runs_on_event_loop = False


def batch(n: int) -> list[Event]:
    return [Event({"batch": n})]


def test_the_setting_names_the_mode() -> None:
    assert mode_of("auto") == "auto"
    assert mode_of(True) == "thread"
    assert mode_of(False) == "loop"


def test_auto_runs_on_the_loop_thread_and_true_on_another() -> None:
    clock, log = Clock(), list[Any]()
    steps = [Step("a", clock, 0.001, log)]

    async def go(mode: str) -> int:
        r = runner(steps, mode, clock=clock)
        try:
            await r.run(batch(1))
        finally:
            r.shutdown()
        return threading.get_ident()

    loop_thread = asyncio.run(go("auto"))
    assert log[-1][2] == loop_thread
    loop_thread = asyncio.run(go("true"))
    assert log[-1][2] != loop_thread
    loop_thread = asyncio.run(go("false"))
    assert log[-1][2] == loop_thread


def test_a_stage_that_may_wait_runs_in_the_thread_and_the_others_on_the_loop() -> None:
    clock, log = Clock(), list[Any]()
    steps = [Step("a", clock, 0.001, log), Waits("w", clock, 0.001, log), Step("b", clock, 0.001, log)]

    async def go() -> tuple[int, str]:
        r = runner(steps, "auto", clock=clock)
        try:
            await r.run(batch(1))
        finally:
            r.shutdown()
        return threading.get_ident(), r.mode

    loop_thread, mode = asyncio.run(go())
    assert mode == "auto"
    assert [(name, ident == loop_thread) for name, _, ident in log] == [("a", True), ("w", False), ("b", True)]


def test_a_chain_where_every_stage_may_wait_is_all_in_the_thread() -> None:
    r = runner([Waits("w", Clock(), 0.001, [])], "auto", clock=Clock())
    assert r.mode == "thread"


def test_loop_safe_reads_each_filters_class() -> None:
    clock = Clock()
    assert loop_safe([Step("a", clock, 0, [])])
    assert not loop_safe([Step("a", clock, 0, []), Waits("b", clock, 0, [])])
    assert loop_safe([])


def stages_done_when_others_ran(cost: float) -> list[int]:
    """Five stages of ``cost`` seconds each run on one batch while another task counts,
    each time it gets the loop, how many stages were done by then."""
    clock, log = Clock(), list[Any]()
    steps = [Step(f"s{i}", clock, cost, log) for i in range(5)]

    async def go() -> list[int]:
        r = runner(steps, "auto", clock=clock)
        ticks: list[int] = []

        async def other() -> None:
            while True:
                ticks.append(len(log))
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        ticks.clear()
        await r.run(batch(1))
        task.cancel()
        return ticks

    return asyncio.run(go())


def test_a_long_batch_gives_the_loop_back_between_stages() -> None:
    """Stages of 15 ms each: the loop runs other tasks after the 2nd and the 4th."""
    assert stages_done_when_others_ran(0.015)[:2] == [2, 4]


def test_a_quick_batch_never_yields() -> None:
    assert stages_done_when_others_ran(0.001) == []


def test_batches_go_through_the_stages_one_at_a_time_in_order() -> None:
    """Slices let other tasks run, but not another batch's stages: a stateful filter
    still sees whole batches in the order they came."""
    clock, log = Clock(), list[Any]()
    steps = [Step(f"s{i}", clock, 0.03, log) for i in range(4)]

    async def go() -> None:
        r = runner(steps, "auto", clock=clock)
        await asyncio.gather(*(r.run(batch(n)) for n in range(3)))

    asyncio.run(go())
    assert [(name, n) for name, n, _ in log] == [(f"s{i}", n) for n in range(3) for i in range(4)]


def test_a_hard_stage_sends_the_next_batches_to_the_thread_for_a_while(
        caplog: pytest.LogCaptureFixture) -> None:
    clock, log = Clock(), list[Any]()
    slow = Step("slow", clock, 0.3, log)
    steps = [Step("a", clock, 0.001, log), slow]

    async def go() -> list[bool]:
        r = runner(steps, "auto", clock=clock)
        loop_thread = threading.get_ident()
        on_loop = []
        try:
            for n in range(4):
                await r.run(batch(n))
                on_loop.append(log[-1][2] == loop_thread)
                slow.cost = 0.001
                if n == 2:
                    clock.now += filter_runner.THREAD_SECONDS
        finally:
            r.shutdown()
        return on_loop

    with caplog.at_level(logging.INFO, logger="logpipe.engine"):
        on_loop = asyncio.run(go())
    # batch 0 ran on the loop and took 300 ms in "slow"; 1 and 2 went to the thread;
    # a minute later, 3 is back on the loop.
    assert on_loop == [True, False, False, True]
    said = [r.getMessage() for r in caplog.records if "held the event loop" in r.getMessage()]
    assert len(said) == 1 and "slow" in said[0] and "300 ms" in said[0]


def test_the_packed_route_call_runs_where_the_filters_do() -> None:
    clock = Clock()

    async def go(mode: str) -> bool:
        r = runner([Step("a", clock, 0.001, [])], mode, clock=clock)
        try:
            return await r.call(threading.get_ident) == threading.get_ident()
        finally:
            r.shutdown()

    assert asyncio.run(go("auto")) is True
    assert asyncio.run(go("true")) is False


CONFIG = """
inputs: [{type: generator, count: 1, lines: ["x"]}]
filters:
  - {type: mutate, add_field: {a: "1"}}
  %s
outputs: [{type: blackhole}]
settings: {filter_thread: %s}
"""


@pytest.mark.parametrize(("extra", "setting", "mode", "on_loop"), [
    ("", "auto", "auto", [True]),
    ("", "true", "thread", [True]),
    ("", "false", "loop", [True]),
    ("- {type: python, code: 'x = 1'}", "auto", "auto", [True, False]),
    ("- {type: kv}", "auto", "auto", [True, False]),
    ("- {type: grok, match: {message: '%%{WORD:w}'}}", "auto", "auto", [True, True]),
    # a conditional is one stage: it goes to the thread whole when a filter inside may wait
    ("- {if: '[a]', then: [{type: mutate, add_tag: [x]}, {type: kv}]}",
     "auto", "auto", [True, False]),
    ("- {if: '[a]', then: [{type: mutate, add_tag: [x]}], else: [{type: drop}]}", "auto", "auto", [True, True]),
])
def test_the_pipeline_picks_the_mode(extra: str, setting: str, mode: str, on_loop: list[bool]) -> None:
    spec = load_text(CONFIG % (extra, setting))
    placed = Pipeline(spec).filter_runner
    assert placed.mode == mode
    assert placed.on_loop == on_loop


def test_every_built_in_filter_but_kv_and_python_may_run_on_the_loop() -> None:
    from logpipe.core import registry  # noqa: PLC0415

    filters = {name: registry.get("filter", name) for name in registry.names("filter")}
    assert len(filters) > 25
    waits = sorted(name for name, cls in filters.items()
                   if not getattr(cls, "runs_on_event_loop", False))
    # grok, mutate and translate decide per instance (below); aggregate is refused at load
    assert waits == ["aggregate", "grok", "kv", "python"]


def on_loop(filter_yaml: str) -> bool:
    [placed] = Pipeline(load_text(CONFIG.replace("  - {type: mutate, add_field: {a: \"1\"}}\n", "")
                                  % (filter_yaml, "auto"))).filters
    return placed.runs_on_event_loop


@pytest.mark.parametrize(("filter_yaml", "expected"), [
    # the gated engine: a linear RE2 gate, then re on a line known to match
    ("- {type: grok, match: {message: '%{COMBINEDAPACHELOG}'}}", True),
    # a lookbehind needs the regex module, bounded only by the timeout
    ("- {type: grok, match: {message: '^(?<w>(a|aa)+)$(?<!b)'}}", False),
    ("- {type: translate, source: a, dictionary: {x: y}}", True),
    ("- {type: translate, source: a, regex: true, dictionary: {'x+': y}}", False),
    ("- {type: mutate, uppercase: [a]}", True),
    ("- {type: mutate, gsub: [a, '%{b}', c]}", False),
])
def test_grok_mutate_and_translate_say_it_from_their_settings(filter_yaml: str, expected: bool) -> None:
    assert on_loop(filter_yaml) is expected


def test_a_gsub_runs_on_the_loop_when_its_native_form_does(monkeypatch: pytest.MonkeyPatch) -> None:
    native = on_loop("- {type: mutate, gsub: [a, '/[0-9]+', '/:id']}")
    monkeypatch.setenv("LOGPIPE_NATIVE", "off")
    assert on_loop("- {type: mutate, gsub: [a, '/[0-9]+', '/:id']}") is False
    monkeypatch.delenv("LOGPIPE_NATIVE")
    from logpipe.core.native import native_module  # noqa: PLC0415

    assert native is (native_module() is not None)
