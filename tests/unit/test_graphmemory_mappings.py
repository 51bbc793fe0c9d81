"""Every field the graphmemory pipeline writes has a deliberate mapping.

Fields left to Elasticsearch's dynamic mapping get whatever type their first value
suggests, which is how one index ends up with ``performance.budget_ms`` as a
string and the next refuses every document. So the pipeline's output over
generated traffic is compared with the shipped mappings.
"""
from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from logpipe.generate import TrafficModel

ROOT = Path(__file__).resolve().parents[1].parent
MAPPINGS = ROOT / "index_templates" / "graphmemory@mappings.json"
# ECS keeps labels free-form: strings become keywords, numbers longs, by design.
FREE_FORM = ("labels.*",)
# geo_point takes {"lat", "lon"}: those leaves belong to the point, not separate fields.
POINT_LEAVES = (".location.lat", ".location.lon")


def leaves(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in doc.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


def mapped_fields() -> tuple[dict[str, str], list[str]]:
    body = json.loads(MAPPINGS.read_text())["template"]["mappings"]
    fields: dict[str, str] = {}

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            if "properties" in spec and spec.get("type", "object") == "object":
                walk(spec["properties"], f"{prefix}{name}.")
            else:
                fields[prefix + name] = spec["type"]

    walk(body["properties"], "")
    paths = [t["path_match"] for d in body.get("dynamic_templates", []) for t in d.values()
             if "path_match" in t]
    return fields, paths


def test_pipeline_output_is_covered_by_the_mappings(tmp_path: Path) -> None:
    records = TrafficModel(seed=11, run_id="map", formats="all").take(3000)
    stdin = "\n".join(json.dumps(r.as_object()) for r in records) + "\n"
    out = subprocess.run([sys.executable, "-m", "logpipe", "filter", "--pipeline", "graphmemory",
                          "--format", "json"], input=stdin, capture_output=True, text=True,
                         cwd=ROOT, env={"LOGPIPE_SCRUB_KEY": "k", "PATH": "/usr/bin:/bin",
                                        # every event out, so every field is checked
                                        "LOGPIPE_SAMPLE_RATE": "1"},
                         check=True).stdout
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == len(records)
    fields, dynamic_paths = mapped_fields()
    unmapped: set[str] = set()
    for doc in docs:
        for name, _ in leaves(doc):
            if name.endswith(POINT_LEAVES) and fields.get(name.rsplit(".", 1)[0]) == "geo_point":
                continue
            if name in fields or any(fnmatch.fnmatchcase(name, p) for p in (*dynamic_paths, *FREE_FORM)):
                continue
            unmapped.add(name)
    assert not unmapped, f"fields without a mapping: {sorted(unmapped)}"


def test_the_numbers_and_flags_operators_query_have_their_types() -> None:
    fields, dynamic_paths = mapped_fields()
    assert fields["performance.class"] == "keyword"
    assert fields["performance.budget_ms"] in ("long", "integer", "float", "double")
    assert fields["performance.slo_breach"] == "boolean"
    assert fields["error.category"] == "keyword"
    assert fields["user_agent.device.type"] == "keyword"
    assert fields["source.geo.location"] == "geo_point"
    assert "event.scrubbed.*" in dynamic_paths
    assert fields["event.sampling.weight"] == fields["event.sampling.rate"] == "long"
    assert fields["http.route"] == "keyword"
    assert fields["network.forwarded_ip"] == fields["source.ip"] == "ip"
