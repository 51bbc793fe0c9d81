"""The command line around Logstash configurations: -f (file, directory, glob), -e,
--pipeline x.conf, convert, check's defaults listing and --compat report, exit codes."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from logpipe.cli import main
from logpipe.config import load_text

FILTER_ONLY = 'filter { mutate { add_tag => ["a"] } }'


def test_check_with_e(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-e", FILTER_ONLY]) == 0
    out = capsys.readouterr().out
    assert "mutate_1 (mutate)" in out and "configuration OK" in out


def test_check_f_directory_and_glob_concatenate_in_lexical_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "20-filter.conf").write_text('filter {\n  mutate { id => "second" }\n}\n')
    (d / "10-input.conf").write_text("input { stdin { } }\nfilter { mutate { id => \"first\" } }\n")
    (d / "30-output.conf").write_text("output { stdout { } }\n")
    for path in (str(d), str(d / "*.conf")):
        assert main(["check", "-f", path]) == 0
        out = capsys.readouterr().out
        assert out.index("first (mutate)") < out.index("second (mutate)")
    (d / "25-bad.conf").write_text("filter {\n  mutate {\n    add_tag => \n  }\n}\n")
    assert main(["check", "-f", str(d)]) == 2
    err = capsys.readouterr().err
    assert f"{d / '25-bad.conf'}:4:3: expected a value" in err


def test_pipeline_option_accepts_a_conf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "x.conf"
    conf.write_text(FILTER_ONLY)
    assert main(["check", "--pipeline", str(conf)]) == 0
    assert "pipeline x" in capsys.readouterr().out


def test_missing_path_and_bad_syntax_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-f", str(tmp_path / "nope.conf")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["check", "-e", "filter { if [a] == { } }"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("logpipe: <config string>:1:20: expected a value")
    assert main(["check", "-f", str(tmp_path / "*.conf")]) == 2


def test_convert_keeps_own_line_comments_and_gives_a_loadable_pipeline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("""# Pipeline header
input {
  # the only input
  stdin { type => "t" }
}
filter {
  mutate {
    # tag everything
    add_tag => ["a"]   # end-of-line comments are dropped
  }
  if [type] == "t" {
    # json inside a branch
    json { source => "message" }
  } else {
    drop { }
  }
}
output { null { } }
# trailing words
""")
    assert main(["convert", str(conf)]) == 0
    text = capsys.readouterr().out
    for comment in ("# Pipeline header", "# the only input", "# tag everything",
                    "# json inside a branch", "# trailing words"):
        assert comment in text
    assert "end-of-line" not in text
    lines = text.splitlines()
    assert lines.index("    # tag everything") + 1 == lines.index("    add_tag:")
    doc = yaml.safe_load(text)
    assert doc["filters"][1]["if"] == '[type] == "t"'
    assert doc["outputs"] == [{"type": "blackhole"}]
    spec = load_text(text, source="c.yaml")
    assert spec.inputs[0].decoration is not None and spec.inputs[0].decoration.event_type == "t"


def test_convert_keeps_environment_references(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUT_DIR", "/tmp")
    assert main(["convert", "-e", 'output { file { path => "${OUT_DIR}/x-${NAME:def}.jsonl" } }']) == 0
    assert "path: ${OUT_DIR}/x-${NAME:-def}.jsonl" in capsys.readouterr().out


def test_convert_refuses_what_check_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "-e", "filter { ruby { code => 'x' } }"]) == 2
    assert "python" in capsys.readouterr().err


def test_compat_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.conf").write_text(FILTER_ONLY)
    sub = tmp_path / "team"
    sub.mkdir()
    (sub / "a.conf").write_text('filter {\n  ruby { code => "1" }\n  ruby { code => "2" }\n'
                                '  mutate { nope => 1 }\n}\noutput { jdbc { } }\n')
    (sub / "b.conf").write_text("filter { ruby { } ")
    assert main(["check", "--compat", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{sub / 'a.conf'}:2:3: [filter ruby]" in out
    assert f"{sub / 'a.conf'}:4:12: [filter mutate] unknown option 'nope'" in out
    assert f"{sub / 'a.conf'}:6:10: [output jdbc] unknown output plugin 'jdbc'" in out
    assert f"{sub / 'b.conf'}:1:19: [syntax]" in out
    assert "3 files: 1 accepted, 2 with refusals; 5 refused places" in out
    assert "  filter ruby    2" in out
    (sub / "a.conf").unlink()
    (sub / "b.conf").unlink()
    assert main(["check", "--compat", str(tmp_path)]) == 0
    assert "1 files: 1 accepted" in capsys.readouterr().out


def test_check_without_a_pipeline_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "-f PATH or -e STRING" in capsys.readouterr().err


def test_settings_flags_reach_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-e", FILTER_ONLY, "-w", "1", "-b", "7", "--pipeline.ordered", "true"]) == 0
    out = capsys.readouterr().out
    assert "batch_size=7" in out and "pipeline_workers=1" in out and "ordered=yes" in out
    assert main(["check", "-e", FILTER_ONLY, "-w", "3", "--pipeline.ordered", "true"]) == 2
    assert "ordered: true needs pipeline_workers: 1" in capsys.readouterr().err


TRICKY = r"""
input { generator { lines => [ "a \"quoted\" line", 'single \'q\'', "back\\slash", "ünïcödé ✓" ] count => 0 } }
filter {
  mutate {
    add_field => { "[a][b]" => "%{[x][y]} %{+YYYY.MM.dd}" "colon: key" => "- dash" "empty" => "" }
    add_tag => [ "yes", "no", "true", "null", "1", "#hash" ]
    gsub => [ "message", "[\\]", "/", "message", "[\r\n]", " " ]
  }
  grok { match => { "message" => [ "^%{IP:ip}\s+\[%{HTTPDATE:ts}\]$", '"quoted"' ] } tag_on_failure => [] }
  if [a] =~ /^x: y\/z$/ and "'q'" in [tags] or [n] == -1.5 { drop { } }
}
output { stdout { codec => json_lines } }
"""


def test_convert_writes_every_value_so_that_yaml_reads_it_back_the_same(
        capsys: pytest.CaptureFixture[str]) -> None:
    from logpipe.config.logstash import translate_sources
    from logpipe.config.logstash.parser import Source

    assert main(["convert", "-e", TRICKY]) == 0
    text = capsys.readouterr().out
    expected = translate_sources([Source("<config string>", TRICKY)], env={}).document
    assert yaml.safe_load(text) == expected
    load_text(text, source="tricky.yaml")
