"""Turn record_rspec.rb's JSON into the conformance data files (one YAML per spec file).

Usage: python to_yaml.py recorded.json out.yaml [--suite NAME]

Each case keeps the example's id, the input event and the filters it ran
(Logstash option names), and the expectations: what is read from the result
(``read``: a list of operations), the matcher, its arguments and whether it is
negated. Examples that state nothing in a mode are left out; examples marked
pending in the Logstash spec are left out too (they do not pass in Logstash).
"""
from __future__ import annotations

import json
import sys
from typing import Any

import yaml


def _source(actual: Any) -> Any:
    return actual["__actual__"]["source"] if isinstance(actual, dict) and "__actual__" in actual else None


def convert(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cases = []
    for record in records:
        expectations = record.get("expectations")
        if not expectations:
            continue
        sources = [s for s in (_source(e["actual"]) for e in expectations) if s is not None]
        case: dict[str, Any] = {"id": record["id"]}
        main = sources[0] if sources else None
        if main is not None:
            case["event"] = main["data"]
            case["filters"] = main["filters"]
        out = []
        for e in expectations:
            item: dict[str, Any] = {}
            src = _source(e["actual"])
            if src is None:
                item["value"] = e["actual"]
            else:
                if src != main:
                    item["event"] = src["data"]
                    item["filters"] = src["filters"]
                item["read"] = [list(op) for op in e["actual"]["__actual__"]["ops"]]
            item["expect"] = e["expect"]["matcher"]
            item["args"] = e["expect"]["args"]
            if e["negated"]:
                item["negated"] = True
            out.append(item)
        case["expectations"] = out
        cases.append(case)
    return cases


def main() -> None:
    records = json.load(open(sys.argv[1]))
    cases = convert(records)
    header = ("# Cases of Logstash's spec file, as data: the input event, the grok filter\n"
              "# options as a Logstash config writes them, and what the spec expects.\n"
              "# Recorded with tests/conformance/tools/record_rspec.rb; see docs/compatibility.md.\n")
    with open(sys.argv[2], "w") as fh:
        fh.write(header)
        yaml.safe_dump(cases, fh, sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    main()
