"""``logpipe setup``: which clusters it sets up."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from logpipe.commands.setup import cluster_configs
from logpipe.errors import ConfigError

PIPELINE = """
inputs: [{type: generator, count: 1}]
outputs:
  - {type: elasticsearch, id: a, hosts: ["http://es-1:9200"], api_key: k}
  - {type: elasticsearch, id: b, hosts: ["http://es-1:9200"], index: other}
  - {type: elasticsearch, id: c, hosts: ["http://es-2:9200"]}
  - {type: stdout}
"""


def _args(tmp_path: Path | None, es: str | None = None) -> argparse.Namespace:
    pipeline = None
    if tmp_path is not None:
        pipeline = tmp_path / "p.yaml"
        pipeline.write_text(PIPELINE)
    return argparse.Namespace(pipeline=str(pipeline) if pipeline else None, config_dir=None, es=es)


def test_one_setup_per_distinct_cluster_of_the_pipeline(tmp_path: Path) -> None:
    configs = cluster_configs(_args(tmp_path))
    assert [c.hosts for c in configs] == [["http://es-1:9200"], ["http://es-2:9200"]]
    assert configs[0].api_key is not None


def test_es_url_overrides_hosts_but_keeps_credentials(tmp_path: Path) -> None:
    (cfg,) = cluster_configs(_args(tmp_path, es="http://localhost:9200"))
    assert cfg.hosts == ["http://localhost:9200"] and cfg.api_key is not None
    (bare,) = cluster_configs(_args(None, es="http://localhost:9200"))
    assert bare.api_key is None


def test_nothing_to_set_up_is_a_usage_error() -> None:
    with pytest.raises(ConfigError):
        cluster_configs(_args(None))
