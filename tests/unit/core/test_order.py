"""Events leave every stage and reach every output in the order they entered: through
conditional stages and blocks, 1:1 filters, filters that drop, filters that split,
through ``logpipe filter`` and ``logpipe run`` alike."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from logpipe.config import load_text
from logpipe.config.logstash import load_logstash_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Filter, PluginConfig

ISSUE_CASE = [1, 7, 2, 8, 3, 9]


class SplitConfig(PluginConfig):
    copies: int = 2


class Splitter(Filter):
    """Replaces each event by ``copies`` new events (as a split filter does)."""

    Config = SplitConfig

    def process(self, events: list[Event]) -> list[Event]:
        out = []
        for e in events:
            for k in range(self.config.copies):  # type: ignore[attr-defined]
                copy = e.copy()
                copy.data["part"] = k
                out.append(copy)
        return out


@pytest.fixture(autouse=True)
def splitter() -> Iterator[None]:
    registry.register("filter", "splitter", Splitter)
    yield
    registry._extra.pop(("filter", "splitter"), None)


def run_filters(pipeline: Pipeline, batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    out = []
    for batch in batches:
        events = [Event(dict(d)) for d in batch]
        for stage in pipeline.filter_stages:
            events = stage.run(events)
        out.append([{k: v for k, v in e.data.items() if k != "@timestamp"} for e in events])
    return out


def conf_pipeline(conf: str, workers: int = 1, ordered: Any = "auto") -> Pipeline:
    return Pipeline(load_logstash_text(conf, env={}, settings={"pipeline_workers": workers,
                                                              "ordered": ordered}))


def test_the_issue_case_keeps_its_order() -> None:
    p = conf_pipeline('filter { if [n] > 5 { mutate { add_tag => ["big"] } } }')
    for _ in range(3):   # first mixed batch, then the learned fast path
        [out] = run_filters(p, [[{"n": n} for n in ISSUE_CASE]])
        assert [e["n"] for e in out] == ISSUE_CASE
        assert [e.get("tags") for e in out] == [None, ["big"], None, ["big"], None, ["big"]]


ALTERNATING = """filter {
  if [n] > 5 { mutate { add_tag => ["big"] } }
  if [n] % 2 == 0 { }
  if [n] in [2, 8] { mutate { add_tag => ["even"] } } else if [n] == 3 { drop { } }
  else { mutate { add_field => { "odd" => "%{n}" } } }
  if "big" in [tags] { splitter { copies => 2 } }
}"""


@pytest.mark.parametrize("ordered", [True, False])
def test_alternating_conditions_through_blocks_drops_and_splits(ordered: bool) -> None:
    p = conf_pipeline(ALTERNATING.replace("  if [n] % 2 == 0 { }\n", ""), ordered=ordered)
    expected = [(1, None), (7, 0), (7, 1), (2, None), (8, 0), (8, 1), (9, 0), (9, 1)]
    for _ in range(3):
        [out] = run_filters(p, [[{"n": n} for n in ISSUE_CASE]])
        got = [(e["n"], e.get("part")) for e in out]
        if ordered:
            assert got == expected
        else:   # 1:1 and drops keep order; split events stay after their own kind
            assert sorted(got) == sorted(expected)
            assert [n for n, _ in got if n in (1, 2)] == [1, 2]


def test_the_first_mixed_batch_of_a_splitting_plugin_is_exact_and_switches_to_runs() -> None:
    p = conf_pipeline('filter { if [n] > 5 { splitter { } } }')
    batches = [[{"n": n} for n in ISSUE_CASE], [{"n": n} for n in reversed(ISSUE_CASE)]]
    first, second = run_filters(p, batches)
    assert [e["n"] for e in first] == [1, 7, 7, 2, 8, 8, 3, 9, 9]
    assert [e["n"] for e in second] == [9, 9, 3, 8, 8, 2, 7, 7, 1]


def test_whole_batch_fast_paths_keep_the_list() -> None:
    p = conf_pipeline('filter { if [n] > 100 { mutate { add_tag => ["x"] } } }')
    events = [Event({"n": n}) for n in ISSUE_CASE]
    assert p.filter_stages[0].run(events) is events


NESTED_YAML = """
settings: {pipeline_workers: 1}
inputs: [{type: generator, count: 1}]
filters:
  - type: mutate
    add_tag: [seen]
  - if: '[n] > 5'
    then:
      - type: mutate
        add_tag: [big]
      - if: '[n] == 9'
        then: [{type: drop}]
    else_if:
      - if: '[n] == 2'
        then: [{type: mutate, add_tag: [two]}]
    else:
      - type: mutate
        add_tag: [small]
outputs: [{type: blackhole}]
"""


def test_nested_yaml_form_runs_as_a_conditional_stage() -> None:
    spec = load_text(NESTED_YAML, source="n.yaml")
    assert [type(f).__name__ for f in spec.filters] == ["PluginEntry", "ConditionalEntry"]
    assert [e.id for e in spec.filter_entries()] == ["mutate_1", "mutate_2", "drop_3", "mutate_4",
                                                     "mutate_5"]
    [out] = run_filters(Pipeline(spec), [[{"n": n} for n in ISSUE_CASE]])
    assert [(e["n"], e["tags"]) for e in out] == [
        (1, ["seen", "small"]), (7, ["seen", "big"]), (2, ["seen", "two"]), (8, ["seen", "big"]),
        (3, ["seen", "small"])]
    assert "if [n] > 5:" in spec.describe() and "else if [n] == 2:" in spec.describe()


@pytest.mark.parametrize(("text", "message"), [
    ("filters:\n  - if: '[a]'\n    then: []\n    otherwise: []\n", "n.yaml:4: filters[0].otherwise: unknown setting"),
    ("filters:\n  - if: '[a] ='\n    then: []\n", "n.yaml:2: filters[0].if: unexpected '='"),
    ("filters:\n  - if: '[a]'\n    then:\n      - type: nosuch\n", "n.yaml:4: filters[0].then[0].type: unknown filter type"),
    ("filters:\n  - if: '[a]'\n    then: []\n    else_if:\n      - then: []\n",
     "n.yaml:5: filters[0].else_if[0]: each else_if entry is a mapping with exactly 'if' and 'then'"),
    ("settings: {ordered: true, pipeline_workers: 2}\n", "ordered: true needs pipeline_workers: 1"),
])
def test_nested_yaml_errors_point_at_the_line(text: str, message: str) -> None:
    from logpipe.errors import ConfigError
    with pytest.raises(ConfigError) as info:
        load_text(text, source="n.yaml")
    assert message in str(info.value)


def test_outputs_in_nested_yaml_get_combined_conditions_and_keep_order() -> None:
    text = textwrap.dedent("""
    settings: {pipeline_workers: 1}
    outputs:
      - if: '[n] > 5'
        then: [{type: blackhole, id: big}]
        else: [{type: blackhole, id: small}]
    """)
    spec = load_text(text, source="o.yaml")
    assert [(o.id, o.condition) for o in spec.outputs] == [("big", "([n] > 5)"),
                                                          ("small", "!([n] > 5)")]


ROOT = Path(__file__).resolve().parents[3]

ORDER_CONF = """input { stdin { } }
filter {
  json { source => "message" }
  if [n] > 5 { mutate { add_tag => ["big"] } }
  if [n] in [2, 8] { mutate { add_tag => ["even"] } } else if [n] == 3 { drop { } }
  else { mutate { add_field => { "odd" => "yes" } } }
  mutate { remove_field => ["message"] }
}
output {
  if "big" in [tags] { file { path => "%s/big.jsonl" } } else { file { path => "%s/small.jsonl" } }
  file { path => "%s/all.jsonl" }
}
"""


def numbers(count: int) -> list[int]:
    # alternating small and big, with every kind of branch in each stretch
    return [(k % 10) for k in range(count)]


def test_order_through_logpipe_filter(tmp_path: Path) -> None:
    conf = tmp_path / "order.conf"
    conf.write_text(ORDER_CONF % (tmp_path, tmp_path, tmp_path))
    ns = numbers(2000)
    lines = "".join(json.dumps({"n": n}) + "\n" for n in ns)
    proc = subprocess.run([sys.executable, "-m", "logpipe", "filter", "-f", str(conf)], input=lines,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line)["n"] for line in proc.stdout.splitlines()]
    assert out == [n for n in ns if n != 3]


def test_order_through_logpipe_run_to_file_outputs(tmp_path: Path) -> None:
    ns = numbers(3000)
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"n": n}) + "\n" for n in ns))
    conf = tmp_path / "order.conf"
    conf.write_text((ORDER_CONF % (tmp_path, tmp_path, tmp_path)).replace(
        "input { stdin { } }",
        f'input {{ generator {{ file => "{data}" count => {len(ns)} batch => 250 }} }}'))
    proc = subprocess.run([sys.executable, "-m", "logpipe", "run", "-f", str(conf), "--workers", "1",
                           "-w", "1", "-b", "100"], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr

    def read(name: str) -> list[int]:
        return [json.loads(line)["n"] for line in (tmp_path / name).read_text().splitlines()]

    kept = [n for n in ns if n != 3]
    assert read("all.jsonl") == kept
    assert read("big.jsonl") == [n for n in kept if n > 5]
    assert read("small.jsonl") == [n for n in kept if n <= 5]
