"""Every pattern name of logstash-patterns-core resolves in every ecs_compatibility mode."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from logpipe.filters.grok import Compiler
from logpipe.filters.grok.library import bundled

NAMES = yaml.safe_load(Path(__file__).with_name("data").joinpath("pattern_names.yaml")
                       .read_text(encoding="utf-8"))
MODES = ("disabled", "v1", "v8")


@pytest.mark.parametrize("family", sorted(NAMES))
@pytest.mark.parametrize("mode", MODES)
def test_logstash_names_resolve(family: str, mode: str) -> None:
    compiler = Compiler(ecs_compatibility=mode)
    missing = [name for name in NAMES[family] if name not in compiler.library]
    assert not missing, f"{family}: not in the {mode} library: {missing}"
    for name in NAMES[family]:
        compiler.compile(f"%{{{name}}}")      # expands and compiles


@pytest.mark.parametrize("mode", MODES)
def test_every_bundled_name_resolves_in_every_mode(mode: str) -> None:
    """logpipe's own names (nginx, uvicorn, ...) exist in both modes too."""
    others = {name for m in MODES for name in bundled(m)}
    assert sorted(others - set(bundled(mode))) == []
