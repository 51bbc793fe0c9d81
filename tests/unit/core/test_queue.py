"""The pipeline queue: bounds, oversize batches, closing, and fairness between inputs."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.core.queue import BoundedQueue, QueueClosed


def batch(input_id: str, n: int, size: int = 0, tag: Any = None) -> Batch:
    return Batch([Event({"n": i}) for i in range(n)], size=size, input_id=input_id, token=tag)


async def run_ready(rounds: int = 10) -> None:
    """Let every task that can run, run (each round is one pass of the event loop)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


def test_bounds_make_put_wait_and_try_put_refuse() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=10, max_bytes=100)
        assert q.try_put(batch("a", 6, 10))
        assert not q.try_put(batch("a", 5, 10))  # over max_events
        assert not q.try_put(batch("a", 1, 95))  # over max_bytes
        waiting = asyncio.ensure_future(q.put(batch("a", 5, 10)))
        await run_ready()
        assert not waiting.done() and q.full and q.waiting == 1
        assert not q.try_put(batch("b", 1, 1))  # would fit, but someone waits already
        assert [len(b.events) for b in await q.get_many(100, 0)] == [6]
        assert await waiting is True
        assert q.events == 5 and q.waiting == 0 and not q.full

    run(go)


def test_oversize_batch_enters_an_empty_queue_alone() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=10, max_bytes=100)
        assert q.try_put(batch("a", 50, 1000))
        assert not q.try_put(batch("a", 1, 1))
        second = asyncio.ensure_future(q.put(batch("b", 40, 10)))
        await run_ready()
        assert not second.done()  # oversize too: waits for the queue to empty
        assert [len(b.events) for b in await q.get_many(10, 0)] == [50]
        assert await second is True and q.events == 40

    run(go)


def test_freed_room_goes_to_waiting_inputs_in_turn() -> None:
    """Input a has three waiters before b's one: b is served second, not last."""
    async def go() -> None:
        q = BoundedQueue(max_events=10)
        assert q.try_put(batch("a", 10))
        admitted: list[str] = []

        async def producer(name: str, tag: str) -> None:
            await q.put(batch(name, 10, tag=tag))
            admitted.append(tag)

        tasks = [asyncio.ensure_future(producer(n, t))
                 for n, t in [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1")]]
        await run_ready()
        for _ in range(4):
            (taken,) = await q.get_many(10, 0)  # room for exactly one waiter each time
            await run_ready()
        assert admitted == ["a1", "b1", "a2", "a3"]
        await asyncio.gather(*tasks)

    run(go)


def test_workers_take_from_the_inputs_lanes_in_turn() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=100)
        for tag in ("a1", "a2", "a3"):
            q.try_put(batch("a", 10, tag=tag))
        q.try_put(batch("b", 10, tag="b1"))
        order = []
        while len(q):
            order += [b.token for b in await q.get_many(10, 0)]
        assert order == ["a1", "b1", "a2", "a3"]  # b's batch waits behind one of a's, not three
        for tag in ("a1", "a2", "b1", "b2"):
            q.try_put(batch(tag[0], 10, tag=tag))
        assert [b.token for b in await q.get_many(30, 0)] == ["a1", "b1", "a2"]

    run(go)


def test_timeout_returns_false_and_gives_the_turn_away() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=10)
        q.try_put(batch("a", 10))
        assert await q.put(batch("http", 10), timeout=0.001) is False
        assert q.waiting == 0 and q.events == 10
        later = asyncio.ensure_future(q.put(batch("kafka", 10)))
        await run_ready()
        await q.get_many(10, 0)
        assert await later is True

    run(go)


def test_room_granted_to_a_cancelled_waiter_passes_to_the_next() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=10)
        q.try_put(batch("a", 10))
        first = asyncio.ensure_future(q.put(batch("a", 10)))
        second = asyncio.ensure_future(q.put(batch("b", 10)))
        await run_ready()
        await q.get_many(10, 0)  # grants the room to first, which has not run yet
        first.cancel()
        await run_ready()
        assert first.cancelled()
        assert await second is True and q.events == 10 and len(q) == 1

    run(go)


def test_close_wakes_waiters_with_queue_closed_and_lets_workers_drain() -> None:
    async def go() -> None:
        q = BoundedQueue(max_events=10)
        q.try_put(batch("a", 10))
        waiting = asyncio.ensure_future(q.put(batch("b", 10)))
        timed = asyncio.ensure_future(q.put(batch("c", 10), timeout=60))
        await run_ready()
        q.close()
        with pytest.raises(QueueClosed):
            await waiting
        with pytest.raises(QueueClosed):
            await timed
        with pytest.raises(QueueClosed):
            q.try_put(batch("a", 1))
        with pytest.raises(QueueClosed):
            await q.put(batch("a", 1))
        assert [len(b.events) for b in await q.get_many(100, 0)] == [10]
        assert await q.get_many(100, 0) == []

    run(go)


def test_an_input_that_always_waits_cannot_starve_another() -> None:
    """A Kafka-like producer that always has a batch waiting, and an HTTP-like one
    sending one batch at a time: both get about half of the room that frees."""
    async def go() -> None:
        q = BoundedQueue(max_events=20)
        admitted: list[str] = []

        async def producer(name: str, count: int) -> None:
            for _ in range(count):
                await q.put(batch(name, 10))
                admitted.append(name)

        greedy = [asyncio.ensure_future(producer("kafka", 20)) for _ in range(4)]
        await run_ready()
        asked = len(admitted)
        polite = asyncio.ensure_future(producer("http", 10))
        await run_ready()
        while not polite.done():
            await q.get_many(10, 0)
            await run_ready()
        # Once http waits, every other admission is its own.
        since = admitted[asked:]
        assert since.count("http") == 10 and len(since) <= 2 * 10, since
        for t in greedy:
            t.cancel()
        await asyncio.gather(*greedy, return_exceptions=True)

    run(go)


# --- properties -------------------------------------------------------------------

op = st.one_of(
    st.tuples(st.just("put"), st.sampled_from("abc"), st.integers(1, 14), st.integers(0, 40),
              st.booleans()),
    st.tuples(st.just("try"), st.sampled_from("abc"), st.integers(1, 14), st.integers(0, 40)),
    st.tuples(st.just("get"), st.integers(1, 25)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=60))
def test_property_bounds_order_and_turns(ops: list[tuple[Any, ...]]) -> None:
    """Whatever producers and workers do: the bounds hold (a batch over them only ever
    alone), each input's batches come out in order, none is lost or doubled, and while
    an input waits, no other input is admitted twice between two of its admissions."""
    max_events, max_bytes = 20, 60

    async def go() -> None:
        q = BoundedQueue(max_events=max_events, max_bytes=max_bytes)
        seq = 0
        admitted: list[tuple[str, int]] = []  # (input, number of admissions when it asked)
        queued: list[Batch] = []
        taken: list[Batch] = []
        tasks: list[asyncio.Task[None]] = []

        def check() -> None:
            assert q.events == sum(len(b.events) for b in queued) - sum(len(b.events) for b in taken)
            if len(q) > 1:
                assert q.events <= max_events and q.bytes <= max_bytes

        pending = {name: 0 for name in "abc"}
        first_waits: list[tuple[str, int, int]] = []  # (input, asked at, admitted at)

        async def producer(b: Batch) -> None:
            name = b.input_id
            asked, alone = len(admitted), not pending[name]
            pending[name] += 1
            try:
                if await q.put(b):
                    if alone:
                        first_waits.append((name, asked, len(admitted)))
                    admitted.append((name, asked))
                    queued.append(b)
            finally:
                pending[name] -= 1

        for item in ops:
            kind = item[0]
            if kind == "put":
                _, name, n, size, _ = item
                seq += 1
                tasks.append(asyncio.ensure_future(producer(batch(name, n, size, tag=seq))))
            elif kind == "try":
                _, name, n, size = item
                seq += 1
                b = batch(name, n, size, tag=seq)
                asked = len(admitted)
                if q.try_put(b):
                    admitted.append((name, asked))
                    queued.append(b)
            elif kind == "get":
                if len(q):
                    taken.extend(await q.get_many(item[1], 0))
            else:
                live = [t for t in tasks if not t.done()]
                if live:
                    live[item[1] % len(live)].cancel()
            await run_ready()
            check()
        # Drain: everything admitted comes out, every waiter gets in.
        while any(not t.done() for t in tasks) or len(q):
            if len(q):
                taken.extend(await q.get_many(max_events, 0))
            await run_ready()
            check()
        assert sorted(b.token for b in taken) == sorted(b.token for b in queued)
        for name in "abc":
            mine = [b.token for b in taken if b.input_id == name]
            assert mine == sorted(mine), f"input {name}'s batches out of order"
        # Turns: between two admissions of the same input where the second had already
        # asked when the first got in, every other input got in at most once.
        for i, (name, _) in enumerate(admitted):
            for j in range(i + 1, len(admitted)):
                if admitted[j][0] == name:
                    if admitted[j][1] <= i:
                        between = [n for n, _ in admitted[i + 1:j]]
                        assert all(between.count(o) <= 1 for o in set(between)), admitted
                    break
        # An input none of whose batches waited gets in after at most one turn of each other.
        for name, asked, at in first_waits:
            while_waiting = [n for n, _ in admitted[asked:at]]
            assert all(while_waiting.count(o) <= 1 for o in set(while_waiting)), (name, admitted)

    asyncio.run(go())
