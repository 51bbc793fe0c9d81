from __future__ import annotations

from pathlib import Path

from logpipe.dlq.spill import SpillFile


def test_an_unreadable_spill_location_is_not_pending_and_does_not_raise(tmp_path: Path) -> None:
    """A file where the spill directory should be makes stat() raise NotADirectoryError;
    the drain loop asks pending() every round, so it must answer instead of raising."""
    blocker = tmp_path / "spill"
    blocker.write_text("not a directory\n")
    spill = SpillFile(str(blocker / "es.jsonl"))
    assert spill.pending() is False


def test_a_spilled_line_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "es.jsonl"
    spill = SpillFile(str(path))
    assert spill.pending() is False
    path.write_bytes(b'{"a": 1}\n')
    assert spill.pending() is True
