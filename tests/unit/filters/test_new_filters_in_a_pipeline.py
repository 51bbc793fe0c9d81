"""The new filters inside a real pipeline run: a generator in, a file out, and events
made by split, clone and python arriving in order right after their origin."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from logpipe.config.loader import load_file
from logpipe.runtime.runner import run_blocking

PIPELINE = """
inputs:
  - type: generator
    count: 2
    lines: ["a,b", "c"]
filters:
  - type: split
    terminator: ","
  - type: clone
    clones: [copy]
  - type: python
    code: |
      if "copy" in (event.get("tags") or []):
          event.set("kind", "copy")
      else:
          extra = event.clone()
          extra.set("kind", "extra")
          emit(extra)
  - type: translate
    source: message
    target: upper
    dictionary: {a: A, b: B, c: C}
  - type: fingerprint
    source: [message, kind]
    concatenate_sources: true
    method: SHA256
outputs:
  - type: file
    path: "{out}"
"""


def test_made_events_follow_their_origin_through_the_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    path = tmp_path / "p.yaml"
    path.write_text(PIPELINE.replace("{out}", str(out)))
    assert run_blocking(load_file(path)) == 0
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    got = [(d["message"], d.get("kind", "orig"), d["upper"]) for d in docs]
    # per piece: the event, its python extra, then its clone
    assert got == [("a", "orig", "A"), ("a", "extra", "A"), ("a", "copy", "A"),
                   ("b", "orig", "B"), ("b", "extra", "B"), ("b", "copy", "B"),
                   ("c", "orig", "C"), ("c", "extra", "C"), ("c", "copy", "C")]
    # Logstash's concatenation: |name|value| per sorted source, an absent field empty
    first, extra = docs[0]["event"]["hash"], docs[1]["event"]["hash"]
    assert first == hashlib.sha256(b"|kind||message|a|").hexdigest()
    assert extra == hashlib.sha256(b"|kind|extra|message|a|").hexdigest()
