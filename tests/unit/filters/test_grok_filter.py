"""The grok filter's options, failure tags and timeouts."""
from __future__ import annotations

import time

import pytest

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.grok import GrokFilter

from ._grok_helpers import grok

LINE = "GET /index.html 15824 0.043"


def test_semantic_names_are_field_references_in_both_spellings() -> None:
    [e] = grok({"message": "%{WORD:[http][method]} %{URIPATHPARAM:url.path}"}, {"message": LINE})
    assert e.get("[http][method]") == "GET" and e.get("[url][path]") == "/index.html"


def test_oniguruma_named_groups_capture() -> None:
    [e] = grok({"message": r"(?<verb>[A-Z]+) (?<[req][path]>\S+) (?<bytes>\d+)"}, {"message": LINE})
    assert (e.get("verb"), e.get("[req][path]"), e.get("bytes")) == ("GET", "/index.html", "15824")


def test_match_list_tries_expressions_in_order_and_breaks() -> None:
    [e] = grok({"message": ["%{INT:first}", "%{WORD:second}"]}, {"message": "abc 12"})
    assert e.get("first") == "12" and not e.contains("second")


def test_break_on_match_false_applies_every_match() -> None:
    [e] = grok({"message": ["%{INT:first}", "%{WORD:second}"]}, {"message": "abc 12"},
               break_on_match=False)
    assert (e.get("first"), e.get("second")) == ("12", "abc")
    assert "_grokparsefailure" not in e.tags


def test_several_fields_break_after_first_matching_field() -> None:
    [e] = grok({"a": "%{INT:x}", "b": "%{INT:y}"}, {"a": "1", "b": "2"})
    assert e.get("x") == "1" and not e.contains("y")
    [e] = grok({"a": "%{INT:x}", "b": "%{INT:y}"}, {"a": "1", "b": "2"}, break_on_match=False)
    assert (e.get("x"), e.get("y")) == ("1", "2")


def test_existing_string_field_becomes_a_list_without_overwrite() -> None:
    [e] = grok({"message": "%{WORD:verb} %{GREEDYDATA:message}"}, {"message": LINE})
    assert e.get("message") == [LINE, "/index.html 15824 0.043"]


def test_overwrite_replaces_the_field() -> None:
    [e] = grok({"message": "%{WORD:verb} %{GREEDYDATA:message}"}, {"message": LINE},
               overwrite=["message"])
    assert e.get("message") == "/index.html 15824 0.043"


def test_existing_list_gets_the_capture_appended_and_numbers_stay() -> None:
    [e] = grok({"message": "%{WORD:t} %{WORD:n}"}, {"message": "x y", "t": ["a"], "n": 5})
    assert e.get("t") == ["a", "x"] and e.get("n") == 5


def test_named_captures_only_false_stores_pattern_names() -> None:
    [e] = grok({"message": "%{WORD} %{INT:n}"}, {"message": "hello 5"}, named_captures_only=False)
    assert (e.get("WORD"), e.get("n")) == ("hello", "5")


def test_empty_captures_are_dropped_unless_kept() -> None:
    [e] = grok({"message": "a=%{DATA:a};"}, {"message": "a=;"})
    assert not e.contains("a")
    [e] = grok({"message": "a=%{DATA:a};"}, {"message": "a=;"}, keep_empty_captures=True)
    assert e.get("a") == ""


def test_failure_tag_default_and_custom() -> None:
    [e] = grok({"message": "^%{INT}$"}, {"message": "nope"})
    assert e.tags == ["_grokparsefailure"]
    [e] = grok({"message": "^%{INT}$"}, {"message": "nope"}, tag_on_failure=["bad", "grok"])
    assert e.tags == ["bad", "grok"]
    [e] = grok({"message": "^%{INT}$"}, {"message": "nope"}, tag_on_failure=[])
    assert "tags" not in e.data


def test_array_field_matches_each_element() -> None:
    [e] = grok({"message": "%{INT:n}"}, {"message": ["a1", "b", "c2"]})
    assert e.get("n") == ["1", "2"] and "_grokparsefailure" not in e.tags


def test_non_string_field_is_matched_as_text_and_missing_as_empty() -> None:
    [e] = grok({"code": "^%{INT:c:int}$"}, {"code": 404})
    assert e.get("c") == 404
    [e] = grok({"nothere": "^%{INT:c}$"}, {"message": "x"})
    assert e.tags == ["_grokparsefailure"]


def test_target_nests_captures() -> None:
    [e] = grok({"message": "%{WORD:verb} %{NOTSPACE:[url][path]}"}, {"message": LINE}, target="req")
    assert e.get("[req][verb]") == "GET" and e.get("[req][url][path]") == "/index.html"


def test_metadata_capture_is_not_written_out() -> None:
    [e] = grok({"message": "%{WORD:[@metadata][verb]}"}, {"message": LINE})
    assert e.metadata == {"verb": "GET"} and "@metadata" not in e.to_dict()


def test_patterns_dir_and_pattern_definitions(tmp_path) -> None:
    (tmp_path / "extra").write_text("# mine\nTRACEID [0-9a-f]{16}\nREQ %{WORD:m} %{TRACEID:t}\n")
    [e] = grok({"message": "%{REQ}"}, {"message": "GET 0123456789abcdef"},
               patterns_dir=[str(tmp_path)])
    assert (e.get("m"), e.get("t")) == ("GET", "0123456789abcdef")
    [e] = grok({"message": "%{TRACEID:t}"}, {"message": "id=00ff00ff00ff00ff"},
               patterns_dir=[str(tmp_path)], pattern_definitions={"TRACEID": "[0-9a-f]{8}"})
    assert e.get("t") == "00ff00ff"


def test_patterns_files_glob_selects_files(tmp_path) -> None:
    (tmp_path / "a.grok").write_text("MINE a+\n")
    (tmp_path / "b.txt").write_text("MINE b+\n")
    [e] = grok({"message": "%{MINE:x}"}, {"message": "aaa bbb"}, patterns_dir=[str(tmp_path)],
               patterns_files_glob="*.grok")
    assert e.get("x") == "aaa"


def test_user_can_redefine_a_bundled_pattern() -> None:
    [e] = grok({"message": "%{WORD:w}"}, {"message": "a-b"}, pattern_definitions={"WORD": "[a-z-]+"})
    assert e.get("w") == "a-b"


@pytest.mark.parametrize("match,fragment", [
    ({"message": "%{NOSUCHPATTERN}"}, "unknown grok pattern %{NOSUCHPATTERN}"),
    ({"message": "(unclosed"}, "missing ')'"),
    ({"message": "%{INT:n:decimal}"}, "unknown type"),
    ({"message": "[a-"}, "unterminated character class"),
])
def test_bad_expressions_fail_at_construction(match, fragment) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        GrokFilter(GrokFilter.Config(match=match), id="g")
    assert fragment in str(info.value) and "match.message" in str(info.value)


def test_self_referencing_patterns_are_reported() -> None:
    with pytest.raises(ConfigError, match="refers to itself"):
        GrokFilter(GrokFilter.Config(match={"message": "%{A}"},
                                     pattern_definitions={"A": "x%{B}", "B": "%{A}"}), id="g")


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(Exception):
        GrokFilter.Config(match={"message": "x"}, tag_on_faliure=["typo"])


def test_common_options_apply_only_on_success() -> None:
    ok, bad = grok({"message": "^%{INT:n}$"}, {"message": "5"}, {"message": "x"},
                   add_tag=["parsed"], add_field={"src": "grok-%{n}"})
    assert ok.tags == ["parsed"] and ok.get("src") == "grok-5"
    assert bad.tags == ["_grokparsefailure"] and not bad.contains("src")


def test_expressions_are_compiled_once_and_shared_between_instances() -> None:
    a = GrokFilter(GrokFilter.Config(match={"message": "%{COMBINEDAPACHELOG}"}), id="a")
    b = GrokFilter(GrokFilter.Config(match={"message": "%{COMBINEDAPACHELOG}"}), id="b")
    assert a._fields[0][2][0].program is b._fields[0][2][0].program


# --- hostile input -----------------------------------------------------------------------
HOSTILE = "a" * 50_000 + "!"


@pytest.mark.timeout(20)
def test_catastrophic_expression_is_rejected_in_linear_time() -> None:
    f = GrokFilter(GrokFilter.Config(match={"message": r"^(\w+\s?)*$"}), id="g")
    assert f.engines == {"[message]": ["gated-timeout"]}
    [e] = f.process([Event({"message": HOSTILE})])
    assert e.tags == ["_grokparsefailure"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("expr", [r"^(\w+\s?)*$", r"^(?:-|x) (?:\w+\s?)*$", r"^(?:(a|\w)\s?)+$"])
def test_repeated_choices_stay_guarded_and_answer_within_the_budget(expr: str) -> None:
    # Alternations outside a repetition extract with ``re``; these must not: each
    # repeats a group that can split the same text several ways.
    f = GrokFilter(GrokFilter.Config(match={"message": expr}, timeout_millis=250), id="g")
    assert f.engines == {"[message]": ["gated-timeout"]}
    started = time.perf_counter()
    out = f.process([Event({"message": HOSTILE}), Event({"message": "x " + HOSTILE})])
    assert time.perf_counter() - started < 0.25
    assert [e.tags for e in out] == [["_grokparsefailure"], ["_grokparsefailure"]]


@pytest.mark.timeout(20)
def test_backtracking_only_expression_times_out_with_its_own_tag() -> None:
    f = GrokFilter(GrokFilter.Config(match={"message": r"^(?=a)(\w+\s?)*$"}, timeout_millis=200),
                   id="g")
    assert f.engines == {"[message]": ["timeout"]}
    [e] = f.process([Event({"message": HOSTILE})])
    assert e.tags == ["_groktimeout"]


@pytest.mark.timeout(30)
def test_batch_with_hostile_lines_still_parses_every_good_line() -> None:
    f = GrokFilter(GrokFilter.Config(
        match={"message": [r"^(?=\w)(\w+\s?)*$", "%{UVICORNACCESS}"]}, timeout_millis=100,
        timeout_scope="event"), id="g")
    good = 'INFO:     10.0.0.%d:5000 - "GET /api/x HTTP/1.1" 200 OK'
    events = []
    for i in range(20):
        events.append(Event({"message": good % i}))
        if i % 5 == 0:
            events.append(Event({"message": HOSTILE}))
    out = f.process(events)
    assert len(out) == len(events)
    parsed = [e for e in out if e.get("message") != HOSTILE]
    hostile = [e for e in out if e.get("message") == HOSTILE]
    assert [e.get("[source][address]") for e in parsed] == [f"10.0.0.{i}" for i in range(20)]
    assert all(e.get("[http][response][status_code]") == 200 for e in parsed)
    assert all(e.tags == ["_groktimeout"] for e in hostile) and len(hostile) == 4


def test_timeout_zero_means_no_limit_on_harmless_input() -> None:
    [e] = grok({"message": r"(?=G)%{WORD:w}"}, {"message": LINE}, timeout_millis=0)
    assert e.get("w") == "GET"


def test_flat_captures_land_the_same_with_or_without_missing_groups() -> None:
    """Flat top-level captures take a shortcut when every group matched; the result must
    be what the capture rules give in every case."""
    expr = r"(?<verb>[A-Z]+) (?<path>\S+)(?: (?<bytes>\d+))?"
    [full] = grok({"message": expr}, {"message": "GET /a 12"})
    assert {k: full.data[k] for k in ("verb", "path", "bytes")} == {"verb": "GET", "path": "/a",
                                                                     "bytes": "12"}
    [partial] = grok({"message": expr}, {"message": "GET /a"})
    assert (partial.get("verb"), partial.get("path")) == ("GET", "/a")
    assert not partial.contains("bytes")
    [clash] = grok({"message": expr}, {"message": "GET /a 12", "path": "/old"})
    assert clash.get("path") == ["/old", "/a"] and clash.get("bytes") == "12"


def test_int_and_float_convert_like_ruby_to_i_and_to_f() -> None:
    [e] = grok({"message": r"%{NOTSPACE:a:int} %{NOTSPACE:b:int} %{NOTSPACE:c:float}"},
               {"message": "42abc xyz 0.5s"})
    assert (e.get("a"), e.get("b"), e.get("c")) == (42, 0, 0.5)


def test_keep_empty_captures_stores_null_for_an_unmatched_optional_capture() -> None:
    expr = "1=%{WORD:foo1} *(?:2=%{WORD:foo2})?"
    [kept] = grok({"message": expr}, {"message": "1=test"}, keep_empty_captures=True)
    assert "foo2" in kept.data and kept.data["foo2"] is None and kept.get("foo1") == "test"
    [dropped] = grok({"message": expr}, {"message": "1=test"})
    assert "foo2" not in dropped.data


def test_logstash_array_shapes_of_match_and_add_field() -> None:
    settings = GrokFilter.Config.from_logstash(
        {"match": ["message", "%{INT:n}", "other", "%{WORD:w}"], "add_field": ["k", "%{n}"],
         "overwrite": "message"})
    assert settings["match"] == {"message": ["%{INT:n}"], "other": ["%{WORD:w}"]}
    config = GrokFilter.Config.model_validate(settings)
    assert config.add_field == {"k": "%{n}"} and config.overwrite == ["message"]
    f = GrokFilter(config, id="g")
    [e] = f.process([Event({"message": "n 5"})])
    assert e.get("k") == "5"
