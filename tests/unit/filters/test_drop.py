"""drop: everything by default, a seeded random share with ``percentage``."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.core.plugin import PluginContext
from logpipe.filters.drop import DropFilter


def batch(n: int) -> list[Event]:
    return [Event({"n": i}) for i in range(n)]


def test_drops_every_event_by_default() -> None:
    f = DropFilter(DropFilter.Config(), id="d")
    assert f.process(batch(50)) == []
    assert f.process([]) == []


def test_zero_percent_keeps_everything_in_order() -> None:
    events = batch(20)
    f = DropFilter(DropFilter.Config(percentage=0), id="d")
    assert f.process(events) == events


def test_percentage_drops_about_that_share_and_keeps_order() -> None:
    f = DropFilter(DropFilter.Config(percentage=30, seed=7), id="d")
    kept = f.process(batch(10_000))
    numbers = [e.data["n"] for e in kept]
    assert numbers == sorted(numbers)
    # 7000 expected; a binomial spread of ~46, so 6800..7200 is many deviations wide
    assert 6800 <= len(kept) <= 7200


def test_same_seed_same_choice() -> None:
    def kept(seed: int) -> list[int]:
        f = DropFilter(DropFilter.Config(percentage=50, seed=seed), id="d")
        return [e.data["n"] for e in f.process(batch(200))]
    assert kept(1) == kept(1)
    assert kept(1) != kept(2)


def test_workers_with_one_seed_do_not_drop_in_step() -> None:
    def kept(worker: int) -> list[int]:
        f = DropFilter(DropFilter.Config(percentage=50, seed=3), id="d",
                       context=PluginContext(worker_index=worker, worker_count=2))
        return [e.data["n"] for e in f.process(batch(200))]
    assert kept(0) != kept(1)


@pytest.mark.parametrize("bad", [-1, 101, "lots"])
def test_percentage_is_validated(bad: object) -> None:
    with pytest.raises(ValidationError):
        DropFilter.Config.model_validate({"percentage": bad})
