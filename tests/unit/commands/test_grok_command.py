"""``logpipe grok``: the grok debugger."""
from __future__ import annotations

import argparse
import io
import subprocess
import sys

import orjson
import pytest

from logpipe.commands import grok as grok_cmd


def run(pattern: str, stdin: bytes, **options) -> tuple[int, list[dict]]:
    args = argparse.Namespace(pattern=pattern, patterns_dir=options.get("patterns_dir", []),
                              timeout_ms=options.get("timeout_ms", 1000),
                              ecs_compatibility=options.get("ecs", "v8"))
    out = io.BytesIO()
    code = grok_cmd.run(args, stdin=io.BytesIO(stdin), stdout=out)
    return code, [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_one_json_object_per_line_nested_by_field_reference() -> None:
    code, rows = run("%{WORD:[http][method]} %{INT:n:int}", b"GET 5\r\nnope\n")
    assert code == 0
    assert rows == [{"http": {"method": "GET"}, "n": 5}, {"tags": ["_grokparsefailure"]}]


def test_ecs_switch_and_patterns_dir(tmp_path) -> None:
    (tmp_path / "p").write_text("GREETING hello|hi\n")
    line = b'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "x"\n'
    _, rows = run("%{COMBINEDAPACHELOG}", line, ecs="disabled")
    assert rows[0]["clientip"] == "1.2.3.4"
    _, rows = run("%{GREETING:g}", b"oh hi\n", patterns_dir=[str(tmp_path)])
    assert rows == [{"g": "hi"}]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    _, rows = run("%{GREEDYDATA:all}", b"caf\xe9\n")
    assert rows == [{"all": "caf\ufffd"}]


@pytest.mark.timeout(10)
def test_lookaround_expression_on_hostile_line_times_out() -> None:
    code, rows = run(r"^(?=a)(\w+\s?)*$", b"a" * 50_000 + b"!\nab cd\n", timeout_ms=100)
    assert code == 0 and rows == [{"tags": ["_groktimeout"]}, {}]


@pytest.mark.timeout(30)
def test_hostile_case_through_the_module_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "logpipe.commands.grok", r"^(\w+\s?)*$"],
                          input=b"w" * 50_000 + b"!\n", capture_output=True, timeout=25)
    assert proc.returncode == 0
    assert orjson.loads(proc.stdout) in ({"tags": ["_grokparsefailure"]}, {"tags": ["_groktimeout"]})


@pytest.mark.parametrize("pattern,message", [
    ("%{NOPE}", "unknown grok pattern %{NOPE}"),
    ("(abc", "missing ')'"),
])
def test_bad_pattern_exits_2_with_one_line(pattern: str, message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "logpipe.commands.grok", pattern],
                          input=b"x\n", capture_output=True, timeout=25)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode().strip()
    assert "\n" not in err and message in err


def test_registered_as_a_subcommand() -> None:
    parser = argparse.ArgumentParser()
    grok_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["grok", "%{INT:n}", "--timeout-ms", "5", "--ecs-compatibility",
                              "disabled", "--patterns-dir", "/tmp"])
    assert (args.func, args.timeout_ms, args.ecs_compatibility, args.patterns_dir) == (
        grok_cmd.run, 5, "disabled", ["/tmp"])
