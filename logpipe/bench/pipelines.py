"""The graphmemory pipeline with its inputs and outputs swapped for a benchmark.

The filters (and their conditions) are taken from ``pipelines/graphmemory.yaml``
as they are, so a benchmark measures what operators run; only the ends change:
a pool or network inputs in, the blackhole or a scratch Elasticsearch index out.
"""
from __future__ import annotations

from typing import Any

import yaml

from logpipe.config.loader import PipelineSpec, load_text, resolve


def graphmemory_raw(name: str = "graphmemory") -> dict[str, Any]:
    raw = yaml.safe_load(resolve(name).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"pipeline {name} is not a mapping")
    return raw


def variant(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
            settings: dict[str, Any] | None = None, name: str = "graphmemory") -> str:
    """The pipeline's YAML text with other inputs and outputs (and settings overrides)."""
    raw = graphmemory_raw(name)
    # Sampling off: the benchmark measures the work done on every event (the sample
    # filter still runs and records each event's weight), and compares documents
    # one for one with the reference loop.
    for entry in raw.get("filters") or []:
        if entry.get("type") == "sample":
            entry["rate"] = 1
    raw["inputs"] = inputs
    raw["outputs"] = outputs
    raw.setdefault("settings", {}).update(settings or {})
    return yaml.safe_dump(raw, sort_keys=False)


def load_variant(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]],
                 settings: dict[str, Any] | None = None) -> PipelineSpec:
    return load_text(variant(inputs, outputs, settings), source="graphmemory (benchmark variant)",
                     name="graphmemory")
