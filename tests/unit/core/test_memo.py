"""The two-generation memo: bounded, and a value that keeps coming back is never lost
at a turnover."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.memo import Generations


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 5), keys=st.lists(st.integers(0, 12), max_size=60))
def test_answers_are_what_make_gives_and_the_bound_holds(size: int, keys: list[int]) -> None:
    memo: Generations[int, str] = Generations(size)
    made: list[int] = []

    def make(key: int) -> str:
        # only for a key neither generation holds
        assert key not in memo
        made.append(key)
        return f"<{key}>"

    for key in keys:
        found = memo.newer.get(key)
        answer = found if found is not None else memo.recall(key, make)
        assert answer == f"<{key}>"
        assert key in memo
        assert len(memo.newer) <= size and len(memo.older) <= size
    # With room for every distinct key across both generations, each is made once.
    if len(set(keys)) <= size:
        assert sorted(made) == sorted(set(keys))


def test_a_recurring_key_survives_every_turnover() -> None:
    memo: Generations[str, int] = Generations(3)
    calls = 0

    def make(key: str) -> int:
        nonlocal calls
        calls += 1
        return len(key)

    memo.recall("hot", make)
    for n in range(50):
        if "hot" not in memo.newer:
            memo.recall("hot", make)
        memo.recall(f"cold-{n}", make)
        assert "hot" in memo
    assert calls == 51  # "hot" was made once, each cold key once
