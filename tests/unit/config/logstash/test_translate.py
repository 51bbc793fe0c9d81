"""A parsed .conf onto the pipeline document: plugin names, common options, Logstash
defaults and option mapping hooks, codecs, refusals with their place."""
from __future__ import annotations

from typing import Any, ClassVar, Iterator

import pytest

from logpipe.config.logstash import load_logstash_text, translate_sources
from logpipe.config.logstash.parser import Source
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.plugin import Filter, Input, PluginConfig
from logpipe.errors import ConfigError

from .conftest import Through, through_spec


class ShoutConfig(PluginConfig):
    """A test filter whose Logstash spelling differs: `loud` there, `volume` here."""

    logstash_defaults: ClassVar[dict[str, Any]] = {"volume": 11, "suffix": "!"}
    volume: int = 3
    suffix: str = "."
    field: str = "message"

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        options = dict(options)
        if "loud" in options:
            options["volume"] = options.pop("loud")
        return options


class Shout(Filter):
    Config = ShoutConfig

    def process(self, events: list[Event]) -> list[Event]:
        cfg = self.config
        assert isinstance(cfg, ShoutConfig)
        for e in events:
            e.data[cfg.field] = f"{e.data.get(cfg.field)}{cfg.suffix}x{cfg.volume}"
        return events


@pytest.fixture(autouse=True)
def shout() -> Iterator[None]:
    registry.register("filter", "shout", Shout)
    yield
    registry._extra.pop(("filter", "shout"), None)


def doc(text: str, **kw: Any) -> dict[str, Any]:
    return translate_sources([Source("t.conf", text)], env={}, **kw).document


def test_plugins_become_entries_in_their_sections() -> None:
    d = doc('input { stdin { } } filter { json { source => "message" } } output { stdout { } }')
    assert d == {"inputs": [{"type": "stdin"}],
                 "filters": [{"type": "json", "source": "message"}],
                 "outputs": [{"type": "stdout", "codec": "rubydebug"}]}


def test_logstash_defaults_apply_under_the_users_options_then_from_logstash(through: Through) -> None:
    assert doc("filter { shout { } }")["filters"] == [{"type": "shout", "volume": 11, "suffix": "!"}]
    assert doc("filter { shout { loud => 2 } }")["filters"] == [
        {"type": "shout", "volume": 2, "suffix": "!"}]
    [out] = through("filter { shout { loud => 2 } }", [{"message": "hi"}])
    assert out["message"] == "hi!x2"


def test_check_lists_the_logstash_defaults_that_differ() -> None:
    spec = load_logstash_text("filter { shout { id => s1 suffix => '?' } }", source="t.conf", env={})
    assert spec.notes == ["filter shout (s1): volume = 11 (Logstash's default; a YAML pipeline gets 3)"]


def test_null_output_is_blackhole() -> None:
    assert doc("output { null {} }")["outputs"] == [{"type": "blackhole"}]


def test_common_options() -> None:
    d = doc("""
    input { stdin { id => "in" type => "syslog" tags => ["a", "b"] add_field => { "env" => "prod" }
                    enable_metric => false } }
    filter { mutate { id => "m" add_tag => ["x"] remove_field => ["y"] periodic_flush => true
                      enable_metric => true } }
    output { stdout { id => "out" workers => 4 codec => json_lines } }""")
    assert d["inputs"] == [{"type": "stdin", "id": "in", "event_type": "syslog",
                            "tags": ["a", "b"], "add_field": {"env": "prod"}}]
    assert d["filters"] == [{"type": "mutate", "id": "m", "add_tag": ["x"], "remove_field": ["y"]}]
    assert d["outputs"] == [{"type": "stdout", "id": "out", "codec": "json_lines"}]


class CarrierConfig(PluginConfig):
    codec: str | dict[str, Any] = "plain"


class Carrier(Input):
    Config = CarrierConfig


def test_codec_is_carried_as_a_name_or_a_mapping() -> None:
    registry.register("input", "carrier", Carrier)
    try:
        d = doc('input { carrier { codec => multiline { pattern => "^\\s" what => previous } }'
                '        carrier { codec => json } }')
        spec = load_logstash_text('input { carrier { codec => multiline { pattern => "^\\s" } } }',
                                  env={})
    finally:
        registry._extra.pop(("input", "carrier"), None)
    assert d["inputs"][0]["codec"] == {"type": "multiline", "pattern": "^\\s", "what": "previous"}
    assert d["inputs"][1]["codec"] == "json"
    assert spec.inputs[0].config.codec == {"type": "multiline", "pattern": "^\\s"}  # type: ignore[attr-defined]


def test_repeated_options_merge_as_in_logstash() -> None:
    d = doc("""filter { mutate {
        add_field => { "a" => "1" } add_field => { "b" => "2" }
        add_tag => ["x"] add_tag => "y"
    } }""")
    assert d["filters"][0]["add_field"] == {"a": "1", "b": "2"}
    assert d["filters"][0]["add_tag"] == ["x", "y"]


def test_conditionals_become_the_nested_form() -> None:
    d = doc("""filter {
      if [a] == 1 { json { source => "m" } }
      else if [b] { drop {} } else if [c] { }
      else { mutate { add_tag => ["z"] } }
    }
    output { if [x] { stdout {} } }""")
    assert d["filters"] == [{
        "if": "[a] == 1", "then": [{"type": "json", "source": "m"}],
        "else_if": [{"if": "[b]", "then": [{"type": "drop"}]}, {"if": "[c]", "then": []}],
        "else": [{"type": "mutate", "add_tag": ["z"]}]}]
    assert d["outputs"] == [{"if": "[x]", "then": [{"type": "stdout", "codec": "rubydebug"}]}]


def test_input_type_tags_add_field_decorate_events(through: Through) -> None:
    spec = load_logstash_text('input { stdin { type => "app" tags => "t" add_field => { "[k][v]" => "%{message}" } } }'
                              ' filter { if [type] == "app" and "t" in [tags] { mutate { add_tag => ["seen"] } } }',
                              source="t.conf", env={})
    decorate = spec.inputs[0].decoration
    assert decorate is not None and decorate.event_type == "app" and decorate.tags == ["t"]
    from logpipe.core.decorate import decorator_for
    events = [Event({"message": "m1"}), Event({"message": "m2", "type": "own"})]
    fn = decorator_for(decorate)
    assert fn is not None
    fn(events)
    assert [e.data.get("type") for e in events] == ["app", "own"]   # an event's own type wins
    assert [e.data["k"]["v"] for e in events] == ["m1", "m2"]
    out = through_spec(spec, [e.data for e in events])
    assert [e["tags"] for e in out] == [["t", "seen"], ["t"]]


@pytest.mark.parametrize(("text", "expected"), [
    ("filter {\n  jdbc_streaming { statement => 'x' }\n}",
     "t.conf:2:3: unknown filter plugin 'jdbc_streaming': lookups against live services"),
    ("filter { nosuch { } }", "t.conf:1:10: unknown filter plugin 'nosuch' (logpipe has: "),
    ("filter {\n  mutate {\n    add_tga => ['x']\n  }\n}",
     "t.conf:3:5: unknown option 'add_tga' for filter 'mutate'; did you mean 'add_tag'? (its options: "),
    ("filter { shout { loud => 'very' } }",
     "t.conf:1:18: filter 'shout' option volume: Input should be a valid integer"),
    ("input { stdin { }\n}\nfilter { if [a] { } }\ninput { if [x] { stdin {} } }",
     "t.conf:4:9: conditionals are not allowed in the input section"),
    ("filter { aggregate { } }", "t.conf:1:10: filter 'aggregate': Value error, the aggregate "
                                 "filter is not supported"),
    ("filter { multiline { } }", "use codec => multiline"),
])
def test_refusals_point_at_the_place(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_logstash_text(text, source="t.conf", env={})
    assert expected in str(info.value)
    if expected.startswith("t.conf"):
        assert str(info.value).startswith(expected)


def test_ruby_is_refused_with_a_python_skeleton_and_the_ruby_as_comment() -> None:
    conf = """filter {
  ruby {
    init => "@n = 0"
    code => "event.set('n', event.get('x').to_i * 2)"
  }
}"""
    with pytest.raises(ConfigError) as info:
        load_logstash_text(conf, source="t.conf", env={})
    message = str(info.value)
    assert message.startswith("t.conf:2:3: a 'ruby' filter cannot run in logpipe")
    assert "python {" in message and "code =>" in message and "init =>" in message
    assert "#   event.set('n', event.get('x').to_i * 2)" in message
    assert "#   @n = 0" in message
    assert "event.get('[field]'), event.set('[field]', value)" in message


def test_ruby_with_a_script_path_suggests_a_python_script() -> None:
    with pytest.raises(ConfigError) as info:
        load_logstash_text('filter { ruby { path => "/etc/ls/enrich.rb" } }', source="t.conf", env={})
    assert 'path => "/etc/ls/enrich.py"' in str(info.value)
    assert "def filter(event)" in str(info.value)


def test_collect_gathers_every_refusal() -> None:
    out = translate_sources([Source("t.conf", """filter {
      ruby { code => "" }
      mutate { nope => 1 zap => 2 }
      if [a] { nosuch {} }
    }""")], env={}, collect=True)
    assert [(r.loc.line, r.kind, r.plugin) for r in out.refusals] == [
        (2, "filter", "ruby"), (3, "filter", "mutate"), (3, "filter", "mutate"), (4, "filter", "nosuch")]


def test_duplicate_ids_are_refused_at_the_second() -> None:
    with pytest.raises(ConfigError) as info:
        load_logstash_text("filter {\n  mutate { id => x }\n  if [a] {\n    json { id => x source => m }\n  }\n}",
                           source="t.conf", env={})
    assert str(info.value).startswith("t.conf:4:12: ")
    assert "duplicate id 'x'" in str(info.value)


def test_outputs_in_conditionals_get_combined_conditions() -> None:
    spec = load_logstash_text("""output {
      if [a] == 1 { stdout { id => one } }
      else if [b] { stdout { id => two } if [c] { stdout { id => three } } }
      else { stdout { id => four } }
    }""", source="t.conf", env={})
    assert {e.id: e.condition for e in spec.outputs} == {
        "one": "([a] == 1)",
        "two": "!([a] == 1) and ([b])",
        "three": "(!([a] == 1) and ([b])) and ([c])",
        "four": "!([a] == 1) and !([b])"}
    cases = [({"a": 1}, {"one"}), ({"b": 1}, {"two"}), ({"b": 1, "c": 1}, {"two", "three"}),
             ({}, {"four"}), ({"a": 1, "b": 1, "c": 1}, {"one"})]
    for data, expected in cases:
        event = Event(dict(data))
        assert {e.id for e in spec.outputs if e.predicate is None or e.predicate(event)} == expected


def test_pipeline_settings_from_logstash_names() -> None:
    from logpipe.config.logstash import settings_from_logstash
    settings = settings_from_logstash({"pipeline.workers": 1, "pipeline.batch.size": 10,
                                       "pipeline.batch.delay": 5, "pipeline.ordered": "true"})
    spec = load_logstash_text("filter { }", env={}, settings=settings)
    assert (spec.settings.pipeline_workers, spec.settings.batch_size, spec.settings.batch_delay_ms,
            spec.settings.ordered, spec.settings.is_ordered) == (1, 10, 5, True, True)
    with pytest.raises(ConfigError, match="ordered: true needs pipeline_workers: 1"):
        load_logstash_text("filter { }", env={}, settings=settings_from_logstash(
            {"pipeline.workers": 2, "pipeline.ordered": "true"}))
    with pytest.raises(ConfigError, match="unsupported pipeline setting 'queue.type'"):
        settings_from_logstash({"queue.type": "persisted"})


def test_logpipe_check_prints_the_differing_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from logpipe.cli import main
    assert main(["check", "-e", "filter { shout { } }"]) == 0
    out = capsys.readouterr().out
    assert "Logstash defaults in effect that differ from a YAML pipeline's:" in out
    assert "filter shout: volume = 11 (Logstash's default; a YAML pipeline gets 3)" in out
    assert "suffix = '!' (Logstash's default; a YAML pipeline gets '.')" in out
