"""Which indices a pipeline writes, and templates retargeted to them."""
from __future__ import annotations

from pathlib import Path

import pytest

from logpipe.config.loader import load_file
from logpipe.setup.resources import load
from logpipe.setup.targets import retarget, written_indices

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def graphmemory(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    monkeypatch.setenv("LOGPIPE_INDEX_PREFIX", "ceo-fb")
    return load_file(ROOT / "pipelines" / "graphmemory.yaml")


def test_names_follow_the_prefix_and_the_categories_the_filters_set(graphmemory) -> None:  # type: ignore[no-untyped-def]
    (es,) = [o for o in graphmemory.outputs if o.type == "elasticsearch"]
    found = written_indices(es.config.index, graphmemory.filters)
    assert found.names == ["ceo-fb.security", "ceo-fb.perf", "ceo-fb.access", "ceo-fb.app"]
    assert not found.unresolved


def test_fixed_names_dates_and_fields_nobody_sets() -> None:
    assert written_indices("logs-x", []).names == ["logs-x"]
    assert written_indices("logs-%{+yyyy.MM.dd}", []).unresolved == ["+yyyy.MM.dd"]
    assert written_indices("logs-%{[service][name]}", []).unresolved == ["[service][name]"]


def test_retargeted_templates_keep_mappings_and_policies_with_their_own_names() -> None:
    resources = load(ROOT)
    out, warnings = retarget(resources, ["ceo-fb.access", "ceo-fb.app", "elsewhere"])
    assert sorted(out.index_templates) == ["ceo-fb.access", "ceo-fb.app"]
    access = out.index_templates["ceo-fb.access"]
    shipped = resources.index_templates["logs-graphmemory.access"]
    assert access["index_patterns"] == ["ceo-fb.access-*"]
    assert access["_meta"]["write_alias"] == "ceo-fb.access"
    settings = access["template"]["settings"]
    assert settings["index.lifecycle.rollover_alias"] == "ceo-fb.access"
    assert settings["index.lifecycle.name"] == shipped["template"]["settings"]["index.lifecycle.name"]
    assert access["composed_of"] == shipped["composed_of"]
    assert out.policies == resources.policies and out.components == resources.components
    assert shipped["index_patterns"] == ["logs-graphmemory.access-*"]  # the original is untouched
    assert len(warnings) == 1 and "'elsewhere'" in warnings[0]
    same, _ = retarget(resources, ["logs-graphmemory.access"])
    assert same.index_templates["logs-graphmemory.access"] == shipped
