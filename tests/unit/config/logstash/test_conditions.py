"""Every Logstash operator and value form, translated and evaluated with Logstash's
semantics. Cases restate, in our own data, what elastic/logstash's conditionals,
config and environment-variable specs check."""
from __future__ import annotations

from typing import Any

import pytest

from logpipe.errors import ConfigError

from .conftest import Through

TEMPLATE = """filter {
  if %s {
    mutate { add_tag => "success" }
  } else {
    mutate { add_tag => "failure" }
  }
}"""

# (condition, event, expected tag)
OPERATORS: list[tuple[str, dict[str, Any], str]] = [
    ("[message] == 'sample'", {"message": "sample"}, "success"),
    ("[message] == 'sample'", {"message": "different"}, "failure"),
    ("[message] != 'sample'", {"message": "sample"}, "failure"),
    ("[message] != 'sample'", {"message": "different"}, "success"),
    ("[message] < 'sample'", {"message": "apple"}, "success"),
    ("[message] < 'sample'", {"message": "zebra"}, "failure"),
    ("[message] > 'sample'", {"message": "zebra"}, "success"),
    ("[message] > 'sample'", {"message": "apple"}, "failure"),
    ("[message] <= 'sample'", {"message": "sample"}, "success"),
    ("[message] <= 'sample'", {"message": "zebra"}, "failure"),
    ("[message] >= 'sample'", {"message": "sample"}, "success"),
    ("[message] >= 'sample'", {"message": "apple"}, "failure"),
    ("[message] =~ /sample/", {"message": "some sample"}, "success"),
    ("[message] =~ /sample/", {"message": "apple"}, "failure"),
    ("[message] !~ /sample/", {"message": "apple"}, "success"),
    ("[message] !~ /sample/", {"message": "some sample"}, "failure"),
    ("[message] =~ 'sam.le'", {"message": "sample"}, "success"),      # a string used as a regex
    ("[path] =~ /^\\/var\\/log/", {"path": "/var/log/x"}, "success"),  # \/ in a regex
    ("!([message] == 'sample')", {"message": "sample"}, "failure"),
    ("!([message] =~ /sample/)", {"message": "apple"}, "success"),
    ("[message]", {"message": "apple"}, "success"),
    ("[missing]", {"message": "apple"}, "failure"),
    ("![missing]", {"message": "apple"}, "success"),
    ("[flag]", {"flag": False}, "failure"),
    ("[zero]", {"zero": 0}, "success"),                 # only missing, null and false are falsy
    ("[empty]", {"empty": ""}, "success"),
    ("[message] and [message]", {"message": "x"}, "success"),
    ("[message] and ![message]", {"message": "x"}, "failure"),
    ("![message] or [message]", {"message": "x"}, "success"),
    ("![message] or ![message]", {"message": "x"}, "failure"),
    ("[a] xor [b]", {"a": 1}, "success"),
    ("[a] xor [b]", {"a": 1, "b": 1}, "failure"),
    ("[a] nand [b]", {"a": 1, "b": 1}, "failure"),
    ("[a] nand [b]", {"a": 1}, "success"),
    # and binds tighter than or (Logstash's precedence), parentheses override it
    ("[a] or [b] and [c]", {"a": 1}, "success"),
    ("([a] or [b]) and [c]", {"a": 1}, "failure"),
    ("[n] == 1", {"n": 1}, "success"),
    ("[n] == 1.0", {"n": 1}, "success"),
    ("[n] == '1'", {"n": 1}, "failure"),                # no coercion between types
    ("[n] > 5", {"n": 7}, "success"),
    ("[n] > 5", {"n": "7"}, "failure"),
    ("[n] >= -2.5", {"n": -1}, "success"),
    ("[foo] == [bar]", {"foo": 123, "bar": 123}, "success"),
    ("[field with space] == 'hurray'", {"field with space": "hurray"}, "success"),
    ("[nested field][reference with][some spaces] == 'hurray'",
     {"nested field": {"reference with": {"some spaces": "hurray"}}}, "success"),
    ("[@metadata][kind] == 'x'", {"@metadata": {"kind": "x"}}, "success"),
    ("[foo] in [foobar]", {"foo": "foo", "foobar": "foobar"}, "success"),   # substring
    ("[foo] in 'foo'", {"foo": "foo"}, "success"),
    ("'hello' in [greeting]", {"greeting": "hello world"}, "success"),
    ("[foo] in ['hello', 'world', 'foo']", {"foo": "foo"}, "success"),
    ("[status] in [500, 502]", {"status": 502}, "success"),
    ("[missing] in [alsomissing]", {}, "failure"),
    ("!('foo' in ['hello', 'world'])", {}, "success"),
    ("'one' in [somelist]", {"somelist": ["one", "two"]}, "success"),
    ("'key' in [obj]", {"obj": {"key": 1}}, "success"),
    ("'foo' not in 'baz'", {}, "success"),
    ("'foo' not in 'foo'", {}, "failure"),
    ("!('foo' not in 'foo')", {}, "success"),
    ("'foo' not in [somelist]", {"somelist": ["one"]}, "success"),
    ("'one' not in [somelist]", {"somelist": ["one"]}, "failure"),
    ("'foo' not in [alsomissing]", {}, "success"),
    ("'_grokparsefailure' not in [tags]", {"tags": ["x"]}, "success"),
    ("[type] == 'a' and ([n] > 1 or 'x' in [tags])", {"type": "a", "tags": ["x"]}, "success"),
    ('[message] == "with \\"quotes\\" inside"', {"message": 'with \\"quotes\\" inside'}, "success"),
]


@pytest.mark.parametrize(("cond", "event", "expected"), OPERATORS)
def test_operator(through: Through, cond: str, event: dict[str, Any], expected: str) -> None:
    [out] = through(TEMPLATE % cond, [event])
    other = "failure" if expected == "success" else "success"
    assert expected in out["tags"] and other not in out["tags"]


def test_else_if_chain_and_unconditional_filters(through: Through) -> None:
    conf = """filter {
      mutate { add_field => { "always" => "awesome" } }
      if [foo] == "bar" {
        mutate { add_field => { "hello" => "world" } }
      } else if [bar] == "baz" {
        mutate { add_field => { "fancy" => "pants" } }
      } else {
        mutate { add_field => { "free" => "hugs" } }
      }
    }"""
    out = through(conf, [{"foo": "bar"}, {"notfoo": "bar"}, {"bar": "baz"}])
    assert [sorted(k for k in e if k in ("hello", "fancy", "free")) for e in out] == [
        ["hello"], ["free"], ["fancy"]]
    assert all(e["always"] == "awesome" for e in out)


def test_nested_conditionals(through: Through) -> None:
    conf = """filter {
      if [nest] == 123 {
        mutate { add_field => { "always" => "awesome" } }
        if [foo] == "bar" { mutate { add_field => { "hello" => "world" } } }
        else if [bar] == "baz" { mutate { add_field => { "fancy" => "pants" } } }
        else { mutate { add_field => { "free" => "hugs" } } }
      }
    }"""
    events = [{"foo": "bar", "nest": 124}, {"foo": "bar", "nest": 123},
              {"notfoo": "bar", "nest": 123}, {"bar": "baz", "nest": 123}]
    out = through(conf, events)
    assert [(e.get("always"), e.get("hello"), e.get("fancy"), e.get("free")) for e in out] == [
        (None, None, None, None), ("awesome", "world", None, None),
        ("awesome", None, None, "hugs"), ("awesome", None, "pants", None)]


def test_bareword_tag(through: Through) -> None:
    [out] = through('filter { if [foo] == [bar] { mutate { add_tag => woot } } }',
                    [{"foo": 1, "bar": 1}])
    assert out["tags"] == ["woot"]


def test_environment_variables_in_options_and_conditions(through: Through) -> None:
    conf = """filter {
      if [env] == "${STAGE}" { mutate { add_field => { "who" => "${WHO:nobody}" "unset" => "${NOPE:}" } } }
    }"""
    [out] = through(conf, [{"env": "prod"}], env={"STAGE": "prod"})
    assert out["who"] == "nobody" and out["unset"] == ""
    [out] = through(conf, [{"env": "prod"}], env={"STAGE": "prod", "WHO": "ops"})
    assert out["who"] == "ops"


def test_missing_environment_variable_is_an_error_at_its_place(through: Through) -> None:
    conf = 'filter {\n  mutate { add_tag => [ "${MISSING_VAR}" ] }\n}'
    with pytest.raises(ConfigError) as info:
        through(conf, [])
    assert str(info.value).startswith("t.conf:2:25: environment variable MISSING_VAR is not set")


def test_sprintf_references_are_kept_for_the_filter(through: Through) -> None:
    [out] = through('filter { mutate { add_field => { "x" => "%{[a][b]}-%{c}" } } }',
                    [{"a": {"b": 1}, "c": "z"}])
    assert out["x"] == "1-z"


def test_a_field_that_reads_as_a_list_is_refused_with_its_place(through: Through) -> None:
    with pytest.raises(ConfigError) as info:
        through("filter {\n  if [404] { drop {} }\n}", [])
    assert str(info.value).startswith("t.conf:2:6: the field [404] cannot be written")


def test_environment_variables_reach_every_value_shape_but_not_hash_keys(through: Through) -> None:
    conf = """filter { mutate {
      add_field => { "${KEY}" => "${A}" "[nested]" => "${B.C:dotted default}" }
      add_tag => [ "${A}", "x-${MISSING:}-y" ]
    } }"""
    [out] = through(conf, [{}], env={"A": "alpha", "KEY": "unused"})
    assert out["${KEY}"] == "alpha" and out["nested"] == "dotted default"
    assert out["tags"] == ["alpha", "x--y"]
