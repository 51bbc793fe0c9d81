"""pipelines.yml: Logstash's keys onto logpipe's settings, errors at file:line, links checked,
generations frozen, and ``logpipe check`` / ``run`` finding the file."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from logpipe.cli import main
from logpipe.config import pipelines_yml
from logpipe.errors import ConfigError

SEND = 'input { generator { count => 1 } } output { pipeline { send_to => ["%s"] } }'
LISTEN = 'input { pipeline { address => "%s" } } output { stdout {} }'


def write(tmp_path: Path, text: str, **files: str) -> Path:
    for name, body in files.items():
        (tmp_path / name.replace("_", ".", 1) if name.endswith(("_conf", "_yaml")) else tmp_path / name
         ).write_text(body, encoding="utf-8")
    path = tmp_path / "pipelines.yml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str, **files: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        pipelines_yml.load(write(tmp_path, text, **files))
    return info.value


def test_logstash_keys_map_onto_each_pipelines_settings(tmp_path: Path) -> None:
    group = pipelines_yml.load(write(tmp_path, f"""
- pipeline.id: intake
  config.string: '{SEND % "out"}'
  pipeline.workers: 1
  pipeline.batch.size: 125
  pipeline.batch.delay: 50
  pipeline.ordered: "true"
  queue.type: memory
  dead_letter_queue.enable: false
- pipeline.id: out
  path.config: out.conf
  dead_letter_queue.max_bytes: 64mb
  path.dead_letter_queue: /var/dlq
""", out_conf=LISTEN % "out"))
    intake, out = group.pipelines
    assert (intake.name, out.name) == ("intake", "out")
    s = intake.settings
    assert (s.pipeline_workers, s.batch_size, s.batch_delay_ms, s.ordered) == (1, 125, 50, True)
    assert s.dead_letter_queue.type == "none"
    assert out.settings.dead_letter_queue.type == "directory"
    assert out.settings.dead_letter_queue.max_bytes == 64 * 2**20
    assert out.settings.path_dead_letter_queue == "/var/dlq"
    assert group.order == ["intake", "out"]
    assert pipelines_yml.links_text(group) == ["intake -> out -> out"]


def test_a_yaml_pipeline_keeps_its_settings_unless_pipelines_yml_sets_them(tmp_path: Path) -> None:
    group = pipelines_yml.load(write(tmp_path, """
- pipeline.id: app
  path.config: app.yaml
  pipeline.batch.size: 42
""", app_yaml="settings: {batch_size: 7, queue_max_events: 99}\n"
                  "inputs: [{type: generator, count: 1}]\noutputs: [{type: stdout}]\n"))
    s = group.pipelines[0].settings
    assert (s.batch_size, s.queue_max_events) == (42, 99)


@pytest.mark.parametrize("text, line, words", [
    ("- pipeline.id: a\n  config.string: 'input {}'\n  pipeline.wrokers: 2\n", 3,
     "unknown pipelines.yml setting 'pipeline.wrokers'"),
    ("- path.config: x.conf\n", 1, "pipeline.id is required"),
    ("- pipeline.id: a\n  config.string: 'input {}'\n- pipeline.id: a\n  config.string: 'input {}'\n",
     3, "pipeline.id 'a' is already used"),
    ("- pipeline.id: a\n  config.string: 'input {}'\n  path.config: x.conf\n", 1,
     "exactly one of path.config or config.string"),
    ("- pipeline.id: a\n  config.string: 'input {}'\n  queue.type: persisted\n", 3,
     "queue.type 'persisted' is not supported"),
    ("- pipeline.id: a\n  config.string: 'input {}'\n  config.reload.automatic: true\n", 3,
     "SIGHUP"),
    ("- pipeline.id: a\n\n  pipeline.batch.size: 0\n  config.string: 'input {}'\n", 3,
     "greater than or equal to 1"),
    ("- pipeline.id: a\n  path.config: missing.conf\n", 2, "names no file"),
    ("pipeline.id: a\n", 1, "a list of pipelines"),
])
def test_mistakes_are_refused_at_their_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    err = error(tmp_path, text)
    assert err.file and err.file.endswith("pipelines.yml")
    assert err.line == line, err
    assert words in err.message


def test_an_error_inside_a_pipeline_names_that_file_and_line(tmp_path: Path) -> None:
    err = error(tmp_path, "- pipeline.id: a\n  path.config: a.conf\n",
                a_conf="input { generator { count => 1 } }\noutput {\n  stdout { nope => 1 }\n}\n")
    assert err.file and err.file.endswith("a.conf") and err.line == 3


def test_two_inputs_on_one_address_are_refused(tmp_path: Path) -> None:
    err = error(tmp_path, """
- pipeline.id: one
  path.config: one.conf
- pipeline.id: two
  path.config: two.conf
""", one_conf=LISTEN % "shared", two_conf="\n\n" + LISTEN % "shared")
    assert "address 'shared' is already used by pipeline 'one'" in err.message
    assert err.file and err.file.endswith("two.conf") and err.line == 3


def test_pipelines_that_send_to_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    loop = 'input { pipeline { address => "%s" } } output { pipeline { send_to => ["%s"] } }'
    err = error(tmp_path, f"""
- pipeline.id: a
  config.string: '{loop % ("a", "b")}'
- pipeline.id: b
  config.string: '{loop % ("b", "a")}'
""")
    assert "cycle (a -> b -> a)" in err.message


def test_a_frozen_generation_loads_to_the_same_pipelines(tmp_path: Path) -> None:
    group = pipelines_yml.load(write(tmp_path, f"""
- pipeline.id: intake
  config.string: '{SEND % "out"}'
  pipeline.batch.size: 9
- pipeline.id: out
  path.config: out.conf
""", out_conf=LISTEN % "out"))
    frozen = pipelines_yml.freeze(group, tmp_path / "gen-1")
    (tmp_path / "out.conf").write_text("garbage {", encoding="utf-8")  # edited after acceptance
    again = pipelines_yml.load(frozen)
    assert [p.name for p in again.pipelines] == ["intake", "out"]
    assert again.pipelines[0].settings.batch_size == 9
    assert again.order == group.order


def test_check_finds_pipelines_yml_in_the_directory_or_path_settings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, f"- pipeline.id: intake\n  config.string: '{SEND % 'out'}'\n"
                "- pipeline.id: out\n  path.config: out.conf\n", out_conf=LISTEN % "out")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["check"]) == 2
    assert "no pipelines.yml found" in capsys.readouterr().err
    assert main(["check", "--path.settings", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "pipeline intake" in out and "links: intake -> out -> out" in out
    monkeypatch.chdir(conf)
    assert main(["check"]) == 0
    (conf / "out.conf").write_text(LISTEN % "out" + "\nfilter { mutate { bogus => 1 } }\n")
    assert main(["check"]) == 2
    assert "out.conf:2" in capsys.readouterr().err


def test_run_refuses_pipeline_flags_with_pipelines_yml(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, f"- pipeline.id: a\n  config.string: '{LISTEN % 'a'}'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(os.environ, "LOGPIPE_WORKER_INDEX", "0")
    assert main(["run", "-w", "3"]) == 2
    assert "set per pipeline in pipelines.yml" in capsys.readouterr().err
