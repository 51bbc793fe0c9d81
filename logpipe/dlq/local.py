"""Reading and replaying the file dead-letter queue (``logpipe dlq inspect|replay --dir``).

Records are read segment by segment, oldest first, as :class:`~logpipe.dlq.reader.Entry`
objects (``partition`` is the segment's number, ``offset`` the line), so the
same selection and printing serve both kinds of queue. Replay remembers, per
consumer group, how many lines of each segment it has sent
(``.replayed-<group>.json`` in the directory), so running it twice repeats
nothing and an interrupted replay resumes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from logpipe.core.timestamps import parse_iso
from logpipe.dlq.directory import read_records
from logpipe.dlq.reader import Entry, Selection
from logpipe.dlq.replay import RateLimiter, ReplayStats, settle, to_event


def _entry(segment: Path, line: int, record: dict[str, Any]) -> Entry:
    when = parse_iso(str(record.get("time") or ""))
    stamp = int(when.timestamp() * 1000) if when is not None else 0
    number = segment.name.split("-", 1)[0].removesuffix(".log")
    doc_id = record.get("document_id")
    return Entry(int(number) if number.isdigit() else 0, line, stamp,
                 str(doc_id) if doc_id else None, record)


def entries(path: str | os.PathLike[str], selection: Selection = Selection(),
            limit: int | None = None) -> Iterator[tuple[Path, Entry]]:
    """(segment, entry) for every matching record under ``path``."""
    if not Path(path).is_dir():
        raise LookupError(f"dead-letter directory {path} does not exist")
    shown = 0
    for segment, line, record in read_records(path):
        entry = _entry(segment, line, record)
        if selection.matches(entry):
            yield segment, entry
            shown += 1
            if limit is not None and shown >= limit:
                return


def _progress_file(path: Path, group: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in group)
    return path / f".replayed-{safe}.json"


def _load_progress(file: Path) -> dict[str, int]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_progress(file: Path, progress: dict[str, int]) -> None:
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(json.dumps(progress, sort_keys=True), encoding="utf-8")
    os.replace(tmp, file)


async def replay_directory(path: str | os.PathLike[str], output: Any, *, group: str,
                           rate: float | None = None, batch_size: int = 500) -> ReplayStats:
    """Send every record not yet replayed under ``group`` to ``output``; returns the counts."""
    root = Path(path)
    if not root.is_dir():
        raise LookupError(f"dead-letter directory {path} does not exist")
    if rate:
        batch_size = max(1, min(batch_size, int(rate)))
    progress_file = _progress_file(root, group)
    progress = _load_progress(progress_file)
    stats = ReplayStats()
    limiter = RateLimiter(rate)
    pending: list[tuple[str, int, Any]] = []

    async def flush() -> None:
        events = [e for _, _, e in pending if e is not None]
        await limiter.take(len(events))
        if events:
            settle(await output.send(events))
        for key, line, _ in pending:
            progress[key] = max(progress.get(key, 0), line)
        _save_progress(progress_file, progress)
        stats.replayed += len(events)
        stats.batches += 1
        pending.clear()

    for segment, line, record in read_records(root):
        key = str(segment.relative_to(root))
        if line <= progress.get(key, 0):
            continue
        stats.read += 1
        event = to_event(_entry(segment, line, record))
        if event is None:
            stats.skipped += 1
        pending.append((key, line, event))
        if len(pending) >= batch_size:
            await flush()
    if pending:
        await flush()
    return stats
