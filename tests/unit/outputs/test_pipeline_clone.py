"""The copies the pipeline output hands to each receiving pipeline are independent."""
from __future__ import annotations

from datetime import datetime, timezone

from logpipe.core.event import Event
from logpipe.outputs.pipeline.clone import clone


class Box:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def test_a_clone_shares_nothing_that_can_change() -> None:
    when = datetime(2025, 1, 12, 10, tzinfo=timezone.utc)
    original = Event({"@timestamp": when, "http": {"status": 200, "headers": ["a", {"k": "v"}]},
                      "pair": (1, [2]), "box": Box([1])}, {"kafka": {"offset": 7}})
    copy = clone(original)
    assert copy.data is not original.data and copy.data["box"] is not original.data["box"]
    assert {k: v for k, v in copy.data.items() if k != "box"} == {
        k: v for k, v in original.data.items() if k != "box"}
    copy.data["http"]["headers"][1]["k"] = "changed"
    copy.data["http"]["status"] = 500
    copy.data["pair"][1].append(3)
    copy.data["box"].items.append(2)
    copy.metadata["kafka"]["offset"] = 8
    assert original.data["http"] == {"status": 200, "headers": ["a", {"k": "v"}]}
    assert original.data["pair"] == (1, [2])
    assert original.data["box"].items == [1]
    assert original.metadata == {"kafka": {"offset": 7}}
    assert copy.data["@timestamp"] == when
