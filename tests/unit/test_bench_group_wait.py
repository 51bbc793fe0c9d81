"""wait_group_settled on a fresh broker: 'no coordinator yet' is waiting, not failure."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import aiokafka.admin
import pytest
from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError

from logpipe.bench.services import wait_group_settled


class _Admin:
    """Answers describe_consumer_groups from a script: an exception to raise or a state."""

    script: list[Any] = []

    def __init__(self, **_: Any) -> None:
        self.calls = 0

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def describe_consumer_groups(self, groups: list[str]) -> list[Any]:
        step = _Admin.script.pop(0)
        if isinstance(step, Exception):
            raise step
        state, members = step
        return [SimpleNamespace(groups=[(0, groups[0], state, "consumer", "range", [object()] * members)])]


def test_coordinator_not_yet_available_is_waited_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiokafka.admin, "AIOKafkaAdminClient", _Admin)
    _Admin.script = [GroupCoordinatorNotAvailableError(), GroupCoordinatorNotAvailableError(),
                     ("PreparingRebalance", 1), ("Stable", 2)]
    asyncio.run(wait_group_settled("unused:9092", "g", members=2, timeout=30))
    assert _Admin.script == []


def test_an_error_that_is_not_retriable_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiokafka.admin, "AIOKafkaAdminClient", _Admin)
    _Admin.script = [GroupAuthorizationFailedError()]
    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(wait_group_settled("unused:9092", "g", members=1, timeout=30))
