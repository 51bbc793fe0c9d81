"""aggregate is refused at load, with the reason and what to use instead."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from logpipe.config.loader import load_file
from logpipe.core import registry
from logpipe.errors import ConfigError


def test_config_refused_with_reason() -> None:
    cls = registry.get("filter", "aggregate")
    with pytest.raises(ValidationError, match="worker processes") as info:
        cls.Config.model_validate({"task_id": "%{id}", "code": "map['n'] += 1"})
    assert "Instead" in str(info.value)


def test_pipeline_naming_aggregate_fails_to_load(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("inputs:\n  - type: stdin\nfilters:\n  - type: aggregate\n"
                    "    task_id: '%{id}'\noutputs:\n  - type: stdout\n")
    with pytest.raises(ConfigError, match="aggregate filter is not supported"):
        load_file(path)
