"""translate: exact, regex and substring lookups, fallback, override, iterate_on, the
older option names, and dictionary files reloaded when they change."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.translate import TranslateFilter
from tests.unit.filters._filter_helpers import build, fields, run

DICT = {"200": "OK", "404": "Not Found", "500": "Server Error"}


def tr(data: dict[str, Any], **options: Any) -> dict[str, Any]:
    return fields(run(TranslateFilter, data, **options)[0])


def test_exact_match_to_target() -> None:
    assert tr({"status": "404"}, source="status", target="text", dictionary=DICT) == {
        "status": "404", "text": "Not Found"}


def test_numbers_and_lists_are_looked_up_as_text_first_item() -> None:
    assert tr({"s": 200}, source="s", target="t", dictionary=DICT)["t"] == "OK"
    assert tr({"s": ["500", "200"]}, source="s", target="t", dictionary=DICT)["t"] == "Server Error"


def test_no_match_without_fallback_changes_nothing_and_skips_common_options() -> None:
    assert tr({"s": "999"}, source="s", target="t", dictionary=DICT, add_tag="x") == {"s": "999"}


def test_fallback_is_a_template() -> None:
    assert tr({"s": "999"}, source="s", target="t", dictionary=DICT,
              fallback="unknown %{s}", add_tag="x") == {"s": "999", "t": "unknown 999",
                                                         "tags": ["x"]}


def test_ecs_default_target_is_source_in_place_with_override() -> None:
    assert tr({"s": "200"}, source="s", dictionary=DICT) == {"s": "OK"}
    assert tr({"s": "200"}, source="s", dictionary=DICT,
              ecs_compatibility="disabled") == {"s": "200", "translation": "OK"}


def test_existing_target_kept_unless_override() -> None:
    data = {"s": "200", "t": "old"}
    assert tr(dict(data), source="s", target="t", dictionary=DICT)["t"] == "old"
    assert tr(dict(data), source="s", target="t", dictionary=DICT, override=True)["t"] == "OK"


def test_regex_keys_first_match_wins() -> None:
    d = {"^5\\d\\d$": "server", "^4": "client", "0": "zero"}
    assert tr({"s": "503"}, source="s", target="t", dictionary=d, regex=True)["t"] == "server"
    assert tr({"s": "410"}, source="s", target="t", dictionary=d, regex=True)["t"] == "client"
    assert tr({"s": "200"}, source="s", target="t", dictionary=d, regex=True)["t"] == "zero"


def test_not_exact_replaces_every_occurrence() -> None:
    # from the plugin's documentation: foo -> bar turns "foofing" into "barfing"
    d = {"foo": "bar", "fing": "ting"}
    assert tr({"d": "foofing foo"}, source="d", target="t", dictionary=d,
              exact=False)["t"] == "barting bar"
    assert "t" not in tr({"d": "nothing"}, source="d", target="t", dictionary=d, exact=False)


def test_not_exact_keys_are_literal_and_tried_in_order() -> None:
    d = {"a": "1", "ab": "2", ".": "dot"}
    assert tr({"d": "ab.x"}, source="d", target="t", dictionary=d, exact=False,
              regex=True)["t"] == "1bdotx"


def test_values_may_be_objects_and_are_copied() -> None:
    d = {"a": {"team": "core", "tier": 1}}
    f = build(TranslateFilter, source="s", target="owner", dictionary=d)
    events = [Event({"s": "a"}), Event({"s": "a"})]
    f.process(events)
    events[0].data["owner"]["team"] = "changed"
    assert events[1].data["owner"] == {"team": "core", "tier": 1}


def test_iterate_on_list_of_values() -> None:
    out = tr({"codes": ["200", "404", "777"]}, source="codes", iterate_on="codes",
             target="texts", dictionary=DICT)
    assert out["texts"] == ["OK", "Not Found", None]
    out = tr({"codes": ["200", "777"]}, source="codes", iterate_on="codes", target="texts",
             dictionary=DICT, fallback="?")
    assert out["texts"] == ["OK", "?"]
    out = tr({"codes": ["200", "404"]}, source="codes", iterate_on="codes", dictionary=DICT)
    assert out["codes"] == ["OK", "Not Found"]      # in place (ECS default target)


def test_iterate_on_list_of_objects() -> None:
    out = tr({"reqs": [{"code": "200"}, {"code": "777"}, {"other": 1},
                       {"http": {"code": 500}}]},
             iterate_on="reqs", source="code", target="text", dictionary=DICT, fallback="?")
    assert out["reqs"] == [{"code": "200", "text": "OK"}, {"code": "777", "text": "?"},
                           {"other": 1}, {"http": {"code": 500}}]
    out = tr({"reqs": [{"http": {"code": 500, "text": "old"}}]}, iterate_on="reqs",
             source="[http][code]", target="[http][text]", dictionary=DICT)
    assert out["reqs"] == [{"http": {"code": 500, "text": "Server Error"}}]


def test_in_place_applies_common_options_even_without_a_match() -> None:
    assert tr({"s": "999"}, source="s", dictionary=DICT, add_tag="seen") == {
        "s": "999", "tags": ["seen"]}


def test_dictionary_as_flat_list() -> None:
    assert tr({"s": "b"}, source="s", target="t", dictionary=["a", "1", "b", "2"])["t"] == "2"


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="mutually exclusive"):
        TranslateFilter.Config(source="s", dictionary={"a": "b"}, dictionary_path="/x.yml")
    with pytest.raises(ValidationError, match="in place"):
        TranslateFilter.Config(source="s", dictionary=DICT, override=False)
    with pytest.raises(ValidationError, match="YAML"):
        TranslateFilter.Config(source="s", dictionary_path="/d.json",
                               yaml_dictionary_code_point_limit=10)
    with pytest.raises(ValidationError, match=".yml"):
        TranslateFilter.Config(source="s", dictionary_path="/x.txt")
    with pytest.raises(ConfigError, match="regular expression"):
        build(TranslateFilter, source="s", dictionary={"(": "x"}, regex=True)


def test_logstash_older_names_map() -> None:
    opts = TranslateFilter.Config.from_logstash({"field": "s", "destination": "t",
                                                 "dictionary": DICT})
    assert TranslateFilter.Config.model_validate(opts).target_field == "t"
    with pytest.raises(ValidationError, match="not both"):
        TranslateFilter.Config.from_logstash({"field": "s", "source": "s"})


@pytest.mark.parametrize(("name", "text"), [
    ("d.yml", '"200": OK\n"404": Not Found\n'),
    ("d.json", json.dumps({"200": "OK", "404": "Not Found"})),
    ("d.csv", "200,OK\n404,Not Found\n"),
])
def test_dictionary_files(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert tr({"s": "404"}, source="s", target="t", dictionary_path=str(path))["t"] == "Not Found"


@pytest.mark.parametrize("name", ["e.yml", "e.json", "e.csv"])
def test_empty_dictionary_file_uses_fallback(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("")
    assert tr({"s": "a"}, source="s", target="t", dictionary_path=str(path),
              fallback="no match")["t"] == "no match"


def test_missing_or_bad_dictionary_file_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read dictionary"):
        build(TranslateFilter, source="s", dictionary_path=str(tmp_path / "absent.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        build(TranslateFilter, source="s", dictionary_path=str(bad))


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))   # a change the stat check must see


@pytest.mark.parametrize(("behaviour", "old_kept"), [("merge", True), ("replace", False)])
def test_file_reloaded_when_changed(tmp_path: Path, behaviour: str, old_kept: bool) -> None:
    path = tmp_path / "d.yml"
    path.write_text("a: one\nb: two\n")
    f = build(TranslateFilter, source="s", target="t", dictionary_path=str(path),
              refresh_interval=0.000001, refresh_behaviour=behaviour)
    _rewrite(path, "b: TWO\nc: three\n")
    events = [Event({"s": s}) for s in ("a", "b", "c")]
    f.process(events)
    assert [e.data.get("t") for e in events] == ["one" if old_kept else None, "TWO", "three"]


def test_broken_reload_keeps_previous_dictionary(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"a": "one"}')
    f = build(TranslateFilter, source="s", target="t", dictionary_path=str(path),
              refresh_interval=0.000001)
    _rewrite(path, "{not json")
    event = Event({"s": "a"})
    f.process([event])
    assert event.data["t"] == "one"


def test_no_reload_before_interval(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text("a: one\n")
    f = build(TranslateFilter, source="s", target="t", dictionary_path=str(path),
              refresh_interval=3600)
    _rewrite(path, "a: changed\n")
    event = Event({"s": "a"})
    f.process([event])
    assert event.data["t"] == "one"
