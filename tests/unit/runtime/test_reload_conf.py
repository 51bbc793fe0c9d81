"""Reloads and frozen generations of Logstash configurations: a .conf file, a directory."""
from __future__ import annotations

from pathlib import Path

import pytest

from logpipe.config.loader import load_file
from logpipe.errors import ConfigError
from logpipe.runtime.reload import ConfigStore

INPUT = "input { generator { count => 3 } }\n"
OUTPUT = 'output { file { path => "%s" } }\n'


def test_a_conf_file_generation_keeps_its_name_and_language(tmp_path: Path) -> None:
    source = tmp_path / "main.conf"
    source.write_text(INPUT + OUTPUT % (tmp_path / "a"))
    store = ConfigStore(source, count=1, rundir=tmp_path / "run")
    gen = store.load()
    assert gen.path.name == "main.conf"
    assert [e.type for e in load_file(gen.path).outputs] == ["file"]


def test_a_directory_is_frozen_as_its_files_joined_in_order(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "10-in.conf").write_text(INPUT)
    (conf_d / "90-out.conf").write_text(OUTPUT % (tmp_path / "a"))
    (conf_d / "50-filter.conf").write_text('filter { mutate { id => "m" add_tag => ["x"] } }\n')
    store = ConfigStore(conf_d, count=2, rundir=tmp_path / "run")
    gen = store.load()
    assert gen.path.suffix == ".conf"
    frozen = load_file(gen.path)
    assert [e.id for e in frozen.filter_entries()] == ["m"]
    assert frozen.outputs[0].config.path == str(tmp_path / "a")  # type: ignore[attr-defined]
    # A broken file in the directory is refused with its own name and line.
    (conf_d / "60-bad.conf").write_text("filter {\n  mutate { add_tag => }\n}\n")
    with pytest.raises(ConfigError) as err:
        store.load()
    assert str(err.value).startswith(f"{conf_d / '60-bad.conf'}:2:23: expected a value")
    assert store.current is gen
