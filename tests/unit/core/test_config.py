"""Config errors name file, line and field; the CLI turns them into exit code 2."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from logpipe.cli import main
from logpipe.config import load_text
from logpipe.errors import ConfigError

GOOD = """\
settings:
  batch_size: 100
inputs:
  - type: generator
    count: 3
filters:
  - type: drop
    if: '[message] == "x"'
outputs:
  - type: file
    id: out
    path: ${OUT_PATH:-/tmp/out.jsonl}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_good_pipeline_loads_with_defaults_and_env() -> None:
    spec = load_text(GOOD, source="p.yaml", env={"OUT_PATH": "/x/y.jsonl"})
    assert spec.settings.batch_size == 100
    assert [e.id for e in spec.outputs] == ["out"]
    assert spec.outputs[0].config.path == "/x/y.jsonl"  # type: ignore[attr-defined]
    assert spec.inputs[0].id == "generator_in_1"
    assert spec.filters[0].predicate is not None


def test_env_default_used_when_unset() -> None:
    spec = load_text(GOOD, source="p.yaml", env={})
    assert spec.outputs[0].config.path == "/tmp/out.jsonl"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("outputs:\n  - type: file\n    path: ${NOPE}\n",
         "p.yaml:3: outputs[0].path: environment variable NOPE is not set"),
        ("inputs:\n  - type: generator\n    count: 1\noutputs:\n  - type: nosuch\n",
         "p.yaml:5: outputs[0].type: unknown output type 'nosuch'"),
        ("inputs:\n  - type: generator\n    count: lots\n",
         "p.yaml:3: inputs[0].count: Input should be a valid integer"),
        ("inputs:\n  - type: generator\n    colour: red\n",
         "p.yaml:3: inputs[0].colour: unknown setting"),
        ("settings:\n  batch_size: 0\n", "p.yaml:2: settings.batch_size:"),
        ("filters:\n  - type: drop\n    if: '[a] =='\n", "p.yaml:3: filters[0].if:"),
        ("outputs:\n  - type: file\n", "p.yaml:2: outputs[0].path: required setting is missing"),
        ("inputs: [\n", "p.yaml:2: invalid YAML"),
        ("unknown_section: 1\n", "p.yaml:1: unknown_section: unknown setting"),
    ],
)
def test_errors_name_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_text(text, source="p.yaml", env={})
    assert str(info.value).startswith(expected), str(info.value)


def test_duplicate_ids_rejected() -> None:
    text = "outputs:\n  - type: blackhole\n    id: a\n  - type: blackhole\n    id: a\n"
    with pytest.raises(ConfigError, match="duplicate id 'a'"):
        load_text(text, source="p.yaml")


def test_check_prints_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--pipeline", write(tmp_path, GOOD)]) == 0
    out = capsys.readouterr().out
    assert "generator_in_1 (generator)" in out
    assert "drop_1 (drop) if [message] == \"x\"" in out
    assert "out (file)" in out


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("outputs:\n  - type: file\n    path: ${LOGPIPE_TEST_UNSET_VAR}\n", "outputs[0].path"),
        ("outputs:\n  - type: nosuch\n", "outputs[0].type"),
        ("inputs:\n  - type: generator\n    count: [1]\n", "inputs[0].count"),
        ("filters:\n  - type: drop\n    if: '[a] === 1'\n", "filters[0].if"),
    ],
)
def test_check_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     text: str, field: str) -> None:
    path = write(tmp_path, text)
    assert main(["check", "--pipeline", path]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"logpipe: {path}:")
    assert f": {field}:" in err


def test_pipeline_name_resolves_from_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "mine.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--pipeline", "mine"]) == 0
    assert "pipeline mine" in capsys.readouterr().out
    assert main(["check", "--pipeline", "absent"]) == 2
