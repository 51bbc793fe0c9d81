"""Replaying the file dead-letter queue: every record once, progress kept per group,
stopped (and not marked done) at a batch the target still rejects."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.dlq.config import PipelineDeadLetterQueue
from logpipe.dlq.directory import DirectoryDeadLetterQueue
from logpipe.dlq.local import entries, replay_directory
from logpipe.dlq.reader import Selection
from logpipe.dlq.record import build_record
from logpipe.errors import DeliveryError


class Target:
    """Takes events; rejects those whose n is in ``refuse``."""

    def __init__(self, refuse: set[int] | None = None) -> None:
        self.got: list[int] = []
        self.refuse = refuse or set()

    async def send(self, events: list[Event]) -> Delivery | None:
        d = Delivery()
        for i, e in enumerate(events):
            if e.data["n"] in self.refuse:
                d.reject(i, "still wrong")
            else:
                self.got.append(e.data["n"])
        return None if d.complete else d


def fill(path: Path, count: int) -> None:
    queue = DirectoryDeadLetterQueue(path, PipelineDeadLetterQueue(max_segment_bytes=1024))

    async def write() -> None:
        await queue.start()
        for n in range(count):
            await queue.write([build_record(event={"n": n}, error_type="mapper_parsing_exception",
                                            reason="bad", status=400, index="logs", document_id=None,
                                            pipeline="gm", plugin_id="es")])
        await queue.stop()

    asyncio.run(write())


def test_segments_roll_over_and_inspect_reads_them_in_order(tmp_path: Path) -> None:
    fill(tmp_path, 30)
    assert len(list(tmp_path.glob("*.log"))) > 1  # 1 KiB segments
    shown = [e.record["event"]["n"] for _, e in entries(tmp_path)]
    assert shown == list(range(30))
    only = list(entries(tmp_path, Selection(reason_type="mapper_parsing_exception"), limit=3))
    assert len(only) == 3


def test_replay_sends_each_record_once_per_group(tmp_path: Path) -> None:
    fill(tmp_path, 25)
    target = Target()
    stats = asyncio.run(replay_directory(tmp_path, target, group="g", batch_size=10))
    assert target.got == list(range(25)) and stats.replayed == 25
    again = asyncio.run(replay_directory(tmp_path, target, group="g", batch_size=10))
    assert again.replayed == 0 and target.got == list(range(25))
    other = Target()
    asyncio.run(replay_directory(tmp_path, other, group="another", batch_size=10))
    assert other.got == list(range(25))


def test_a_batch_still_rejected_stops_the_replay_and_is_tried_again_next_time(tmp_path: Path) -> None:
    fill(tmp_path, 20)
    stubborn = Target(refuse={12})
    with pytest.raises(DeliveryError):
        asyncio.run(replay_directory(tmp_path, stubborn, group="g", batch_size=10))
    assert stubborn.got[:10] == list(range(10))
    fixed = Target()
    asyncio.run(replay_directory(tmp_path, fixed, group="g", batch_size=10))
    assert fixed.got == list(range(10, 20))  # the first batch was done; the second is sent again
