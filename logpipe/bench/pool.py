"""A pool of generated GraphMemory records, serialized the way inputs receive them.

Raw access lines travel as ``{"message": line}`` and application logs as the
JSON objects services send, one per line: what the HTTP input gets in an
NDJSON body and the Kafka input in message values. Both the pipeline and the
reference loop start from these bytes, so both pay for decoding.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import orjson

from logpipe.generate.traffic import TrafficModel

#: A fixed clock, so the pool (and every figure measured on it) is the same each run.
POOL_TIME = datetime(2025, 6, 15, 12, 0, tzinfo=timezone.utc)
SCRUB_KEY_ENV = "LOGPIPE_SCRUB_KEY"


def make_pool(count: int, seed: int = 11, run_id: str = "bench") -> list[bytes]:
    model = TrafficModel(seed=seed, run_id=run_id, now=POOL_TIME)
    return [orjson.dumps(r.as_object()) for r in model.take(count)]


def write_pool(path: Path, records: list[bytes]) -> None:
    path.write_bytes(b"\n".join(records) + b"\n")


def read_pool(path: str | Path) -> list[bytes]:
    return [line for line in Path(path).read_bytes().split(b"\n") if line]


def ensure_scrub_key() -> None:
    """The graphmemory pipeline refuses to start without its e-mail hash key."""
    os.environ.setdefault(SCRUB_KEY_ENV, "benchmark-key")
