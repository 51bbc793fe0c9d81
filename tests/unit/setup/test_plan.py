"""Setup planning: adapting resources to the cluster and comparing with what is installed."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from logpipe.errors import ConfigError
from logpipe.setup.cluster import Capabilities
from logpipe.setup.plan import COMPONENT, INDEX_TEMPLATE, POLICY, adapt, compare, flatten_settings
from logpipe.setup.resources import load

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def shipped():  # the repository's own ilm/ and index_templates/
    return load(ROOT)


def test_shipped_resources_cover_every_category(shipped) -> None:
    cats = ("access", "app", "perf", "security")
    assert set(shipped.policies) == {f"logs-graphmemory.{c}" for c in cats}
    assert set(shipped.index_templates) == {f"logs-graphmemory.{c}" for c in cats}
    assert shipped.write_aliases() == {f"logs-graphmemory.{c}": f"logs-graphmemory.{c}" for c in cats}
    for name, body in shipped.index_templates.items():
        assert set(body["composed_of"]) <= set(shipped.components)
        settings = flatten_settings(body["template"]["settings"])
        assert settings["index.lifecycle.name"] == name
        assert body["priority"] > 100  # above the built-in logs-*-* template


def test_shipped_policies_roll_over_and_expire_by_category(shipped) -> None:
    expiry = {n: p["policy"]["phases"]["delete"]["min_age"] for n, p in shipped.policies.items()}
    assert expiry == {"logs-graphmemory.access": "30d", "logs-graphmemory.app": "90d",
                      "logs-graphmemory.perf": "30d", "logs-graphmemory.security": "365d"}
    for policy in shipped.policies.values():
        phases = policy["policy"]["phases"]
        assert phases["hot"]["actions"]["rollover"] == {
            "max_age": "1d", "max_primary_shard_docs": 1000000, "max_primary_shard_size": "50gb"}
        assert {"shrink", "forcemerge", "readonly"} <= set(phases["warm"]["actions"])


def test_shipped_mappings_type_the_ecs_fields(shipped) -> None:
    props = shipped.components["graphmemory@mappings"]["template"]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"] == {"type": "ip"}
    assert props["source"]["properties"]["address"]["type"] == "keyword"
    assert props["source"]["properties"]["geo"]["properties"]["location"] == {"type": "geo_point"}
    assert props["@timestamp"] == {"type": "date"}
    http = props["http"]["properties"]
    assert http["response"]["properties"]["status_code"] == {"type": "long"}
    assert props["event"]["properties"]["duration"] == {"type": "long"}


def test_without_ilm_policies_are_skipped_and_lifecycle_settings_removed(shipped) -> None:
    res, warnings = adapt(shipped, Capabilities(ilm=False))
    assert any("no index lifecycle management" in w for w in warnings)
    for body in res.index_templates.values():
        assert not any(k.startswith("index.lifecycle.") for k in
                       flatten_settings(body["template"]["settings"]))
        assert flatten_settings(body["template"]["settings"]).get("index.number_of_shards")
    # the originals are untouched
    assert "index.lifecycle.name" in shipped.index_templates["logs-graphmemory.app"]["template"]["settings"]


def test_without_mapper_extras_scaled_float_becomes_float(shipped) -> None:
    res, warnings = adapt(shipped, Capabilities(modules=frozenset({"x-pack-ilm"})))
    risk = res.components["graphmemory@mappings"]["template"]["mappings"]["properties"]["event"][
        "properties"]["risk_score"]
    assert risk == {"type": "float"}
    assert any("scaled_float" in w for w in warnings)
    untouched, none = adapt(shipped, Capabilities(modules=frozenset({"mapper-extras"})))
    assert none == []


def test_settings_compare_in_canonical_form() -> None:
    assert flatten_settings({"index": {"number_of_shards": "1", "routing": {"x": True}}}) == \
        flatten_settings({"index.number_of_shards": 1, "routing.x": "true"})


def test_installed_equivalent_resource_is_unchanged() -> None:
    desired = {"template": {"settings": {"index.refresh_interval": "30s", "number_of_shards": 1},
                            "mappings": {"properties": {"a": {"type": "keyword"}}}}}
    current = {"template": {"settings": {"index": {"refresh_interval": "30s", "number_of_shards": "1"}},
                            "mappings": {"properties": {"a": {"type": "keyword"}}}},
               "version": 3}
    assert compare(COMPONENT, "c", "/p", desired, current).action == "unchanged"


def test_policy_defaults_added_by_the_cluster_are_not_changes() -> None:
    desired = {"policy": {"phases": {"warm": {"min_age": "2d", "actions": {"shrink": {"number_of_shards": 1}}}}}}
    current = copy.deepcopy(desired)
    current["policy"]["phases"]["warm"]["actions"]["shrink"]["allow_write_after_shrink"] = False
    assert compare(POLICY, "p", "/p", desired, current).action == "unchanged"


def test_a_real_difference_is_an_update_with_a_diff() -> None:
    desired = {"index_patterns": ["x-*"], "template": {"settings": {"index.number_of_shards": 2}}}
    current = {"index_patterns": ["x-*"], "template": {"settings": {"index": {"number_of_shards": "1"}}}}
    step = compare(INDEX_TEMPLATE, "x", "/p", desired, current)
    assert step.action == "update"
    assert '-      "index.number_of_shards": "1"' in step.diff
    assert '+      "index.number_of_shards": "2"' in step.diff
    assert compare(INDEX_TEMPLATE, "x", "/p", desired, None).action == "create"


def test_broken_resource_files_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "index_templates").mkdir()
    (tmp_path / "index_templates" / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert "bad.json" in str(err.value)
