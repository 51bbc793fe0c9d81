"""python: inline code and scripts, the Ruby-like event API, new events in order,
exceptions tagged and never fatal, load-time errors clear."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.python import PythonFilter
from tests.unit.filters._filter_helpers import T0, build, fields


def process(events: list[dict[str, Any]], **options: Any) -> list[Event]:
    return build(PythonFilter, **options).process([Event({"@timestamp": T0, **e}) for e in events])


def test_event_api_get_set_remove_includes_tag() -> None:
    code = """
event.set("[http][status]", int(event.get("[http][code]")))
event.remove("[http][code]")
if event.includes("[user][name]") and not event.includes("[user][absent]"):
    event.tag("has_user")
event.set("[@metadata][seen]", True)
event.set("year", event.get("@timestamp").year)
"""
    out = process([{"http": {"code": "404"}, "user": {"name": None}}], code=code)[0]
    assert fields(out) == {"http": {"status": 404}, "user": {"name": None},
                           "tags": ["has_user"], "year": 2024}
    assert out.metadata == {"seen": True}


def test_init_runs_once_and_state_persists() -> None:
    f = build(PythonFilter, init="import re\ncount = 0\npattern = re.compile(r'\\d+')",
              code="global count\ncount += 1\nevent.set('n', count)\n"
                   "event.set('digits', pattern.findall(event.get('message')))")
    out = f.process([Event({"message": "a1b22"}), Event({"message": "3"})])
    assert [(e.data["n"], e.data["digits"]) for e in out] == [(1, ["1", "22"]), (2, ["3"])]


def test_cancel_drops_and_emit_follows_origin() -> None:
    code = """
if event.get("drop"):
    event.cancel()
else:
    for part in event.get("message").split():
        new = event.clone()
        new.set("message", part)
        emit(new)
    emit(Event({"message": "summary", "@timestamp": "2024-01-01T00:00:00Z"}))
"""
    out = process([{"message": "a b"}, {"drop": True}, {"message": "c"}], code=code,
                  add_tag="py")
    assert [e.data["message"] for e in out] == ["a b", "a", "b", "summary", "c", "c", "summary"]
    assert all(e.data["tags"] == ["py"] for e in out)
    assert out[3].data["@timestamp"] == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_exception_tags_event_and_batch_carries_on() -> None:
    out = process([{"n": 0}, {"n": 2}], code="event.set('r', 10 // event.get('n'))",
                  add_tag="ok")
    assert out[0].data["tags"] == ["_pythonexception"]
    assert out[0].metadata["python_exception"] == "ZeroDivisionError: integer division or modulo by zero"
    assert fields(out[1]) == {"n": 2, "r": 5, "tags": ["ok"]}
    out = process([{}], code="raise SystemExit(3)", tag_on_exception="bad",
                  tag_with_exception_message=True)
    assert out[0].data["tags"] == ["bad", "SystemExit: 3"]


def test_to_dict_is_a_copy_and_hides_metadata() -> None:
    code = "d = event.to_hash()\nd['x'] = 1\nevent.set('keys', sorted(d))\n" \
           "event.set('with_meta', '@metadata' in event.to_dict(metadata=True))"
    out = process([{"a": 1}], code=code)[0]
    assert out.data["keys"] == ["@timestamp", "a", "x"] and "x" not in out.data
    assert out.data["with_meta"] is True


def test_script_register_and_filter(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("""
def register(params):
    global suffix
    suffix = params["suffix"]

def filter(event):
    if event.get("skip"):
        return []
    copy = event.clone()
    copy.set("message", event.get("message") + suffix)
    return [event, copy]
""")
    out = process([{"message": "m"}, {"skip": True}], path=str(script),
                  script_params={"suffix": "!"})
    assert [e.data["message"] for e in out] == ["m", "m!"]


def test_script_bad_return_is_tagged(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("def filter(event):\n    return event.get('x')\n")
    out = process([{"x": 1}], path=str(script))
    assert out[0].data["tags"] == ["_pythonexception"]
    assert "must return a list" in out[0].metadata["python_exception"]


def test_load_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="syntax error .* line 2"):
        PythonFilter.Config(code="x = 1\nif x\n")
    with pytest.raises(ValidationError, match="does not exist"):
        PythonFilter.Config(path=str(tmp_path / "absent.py"))
    with pytest.raises(ValidationError, match="exactly one"):
        PythonFilter.Config(code="pass", path="x.py")
    with pytest.raises(ConfigError, match="init failed: NameError"):
        build(PythonFilter, code="pass", init="undefined_name")
    with pytest.raises(ConfigError, match="init failed: SystemExit"):
        build(PythonFilter, code="pass", init="raise SystemExit(1)")
    script = tmp_path / "no_filter.py"
    script.write_text("def register(params):\n    pass\n")
    with pytest.raises(ConfigError, match="does not define filter"):
        build(PythonFilter, path=str(script))
    script.write_text("def register(params):\n    raise ValueError('no')\n"
                      "def filter(event):\n    return [event]\n")
    with pytest.raises(ConfigError, match="register.*ValueError: no"):
        build(PythonFilter, path=str(script))
