"""The grammar of Logstash's configuration language, feature by feature, and where
parse errors point."""
from __future__ import annotations

import pytest

from logpipe.config.logstash.ast import (
    Array,
    Bare,
    BoolChain,
    Branch,
    Compare,
    Group,
    Hash,
    In,
    Match,
    Not,
    Num,
    Plugin,
    Regex,
    Selector,
    Str,
    Truthy,
    plain,
)
from logpipe.config.logstash.parser import (
    LogstashSyntaxError,
    Source,
    parse_sources,
    parse_text,
)


def only_plugin(text: str) -> Plugin:
    config = parse_text(text)
    statement = config.sections[0].body[0]
    assert isinstance(statement, Plugin)
    return statement


def options(text: str) -> dict[str, object]:
    return {a.name: plain(a.value) for a in only_plugin(f"filter {{ p {{ {text} }} }}").attributes}


def test_sections_repeat_and_keep_their_order() -> None:
    config = parse_text("filter { a {} } output { o {} } filter { b {} } input { i {} }")
    assert [s.kind for s in config.sections] == ["filter", "output", "filter", "input"]
    assert [s.body[0].name for s in config.sections] == ["a", "o", "b", "i"]  # type: ignore[union-attr]


def test_empty_config_and_empty_blocks() -> None:
    assert parse_text("").sections == []
    assert parse_text("  # only a comment\n").sections == []
    config = parse_text("input{}filter{}output{}")
    assert [s.body for s in config.sections] == [[], [], []]


@pytest.mark.parametrize(("text", "expected"), [
    ('a => "double"', {"a": "double"}),
    ("a => 'single'", {"a": "single"}),
    ('a => "it\'s"', {"a": "it's"}),
    (r'a => "q\"q"', {"a": r'q\"q'}),          # escapes stay as written by default
    (r"a => 'q\'q'", {"a": r"q\'q"}),
    (r'a => "\n\t"', {"a": r"\n\t"}),
    ('a => "two\nlines"', {"a": "two\nlines"}),
    ("a => 42", {"a": 42}),
    ("a => -7", {"a": -7}),
    ("a => 2.5", {"a": 2.5}),
    ("a => 3.", {"a": 3.0}),
    ("a => 010", {"a": 8}),                      # octal, as Ruby's Integer() reads it
    ("a => 0", {"a": 0}),
    ("a => 0.5", {"a": 0.5}),
    ("a => bareword", {"a": "bareword"}),
    ("a => true b => false", {"a": True, "b": False}),
    ('a => [1, "x", bare, [2]]', {"a": [1, "x", "bare", [2]]}),
    ("a => []", {"a": []}),
    ('a => { "k" => "v" n => 1 }', {"a": {"k": "v", "n": 1}}),
    ('a => { "k" => "v", "j" => "w" }', {"a": {"k": "v", "j": "w"}}),
    ("a => {}", {"a": {}}),
    ('a => { "x" => { "y" => [1] } }', {"a": {"x": {"y": [1]}}}),
    ('"quoted name" => 1', {"quoted name": 1}),
    ("codec => json", {"codec": "json"}),
    ('codec => multiline { pattern => "^\\s" what => "previous" }',
     {"codec": {"type": "multiline", "pattern": "^\\s", "what": "previous"}}),
    ('a => "%{[field][sub]} %{+YYYY.MM.dd}"', {"a": "%{[field][sub]} %{+YYYY.MM.dd}"}),
    ('a => "${VAR} ${VAR:default}"', {"a": "${VAR} ${VAR:default}"}),
])
def test_values(text: str, expected: dict[str, object]) -> None:
    assert options(text) == expected


def test_escapes_are_decoded_when_asked() -> None:
    config = parse_sources([Source("x.conf", r'filter { p { a => "t\tq\"n\n\\x\0" b => "\g" } }')],
                           support_escapes=True)
    plugin = config.sections[0].body[0]
    assert isinstance(plugin, Plugin)
    assert [plain(a.value) for a in plugin.attributes] == ['t\tq"n\n\\x\0', "g"]


def test_a_backslash_before_the_closing_quote_escapes_it_as_in_logstash() -> None:
    # Logstash's grammar reads \" as an escaped quote whatever precedes the backslash.
    with pytest.raises(LogstashSyntaxError):
        parse_text(r'filter { p { a => "ends with \" } }')


def test_comments_anywhere_blanks_may_be() -> None:
    text = """# head
input { # after brace
  stdin { # in plugin
    # own line
    type => "x" # after value
  }
} # end"""
    config = parse_text(text)
    plugin = config.sections[0].body[0]
    assert isinstance(plugin, Plugin) and plain(plugin.attributes[0].value) == "x"
    assert [c.text.strip() for c in config.comments] == [
        "head", "after brace", "in plugin", "own line", "after value", "end"]
    assert [c.own_line for c in config.comments] == [True, False, False, True, False, False]


def test_plugin_names_may_hold_digits_and_dashes_or_be_quoted() -> None:
    config = parse_text('filter { geo-ip2 {} "quoted" {} }')
    assert [p.name for p in config.sections[0].body] == ["geo-ip2", "quoted"]  # type: ignore[union-attr]


def test_repeated_attributes_are_kept_in_order_for_merging() -> None:
    plugin = only_plugin('filter { grok { match => { "a" => "1" } match => { "b" => "2" } } }')
    assert [a.name for a in plugin.attributes] == ["match", "match"]


def test_every_node_knows_file_line_and_column() -> None:
    config = parse_sources([Source("a.conf", "input {\n  stdin {}\n}\n"),
                            Source("b.conf", "filter {\n\n    mutate {\n      add_tag => [\"x\"]\n    }\n}\n")])
    stdin = config.sections[0].body[0]
    mutate = config.sections[1].body[0]
    assert isinstance(stdin, Plugin) and isinstance(mutate, Plugin)
    assert (stdin.loc.file, stdin.loc.line, stdin.loc.column) == ("a.conf", 2, 3)
    assert (mutate.loc.file, mutate.loc.line, mutate.loc.column) == ("b.conf", 3, 5)
    attr = mutate.attributes[0]
    assert (attr.loc.line, attr.loc.column) == (4, 7)
    assert isinstance(attr.value, Array) and (attr.value.loc.line, attr.value.loc.column) == (4, 18)


def test_a_section_may_span_files_as_logstash_joins_them() -> None:
    config = parse_sources([Source("1.conf", "filter {\n  a {}"), Source("2.conf", "  b {}\n}")])
    assert [p.name for p in config.sections[0].body] == ["a", "b"]  # type: ignore[union-attr]
    assert config.sections[0].body[1].loc.file == "2.conf"


def branch(cond: str) -> Branch:
    config = parse_text(f"filter {{ if {cond} {{ }} }}")
    statement = config.sections[0].body[0]
    assert isinstance(statement, Branch)
    return statement


def test_if_else_if_else_chain() -> None:
    config = parse_text("""filter {
      if [a] { x {} } else if [b] { y {} } else if [c] { } else { z {} }
    }""")
    b = config.sections[0].body[0]
    assert isinstance(b, Branch)
    assert len(b.cases) == 3 and b.otherwise is not None
    assert [len(c.body) for c in b.cases] == [1, 1, 0]
    assert b.cases[1].loc.line == 2


def test_nested_branches() -> None:
    b = parse_text("output { if [a] { if [b] { o {} } else { p {} } } }").sections[0].body[0]
    assert isinstance(b, Branch) and isinstance(b.cases[0].body[0], Branch)


@pytest.mark.parametrize(("cond", "kind", "check"), [
    ("[a] == 1", Compare, lambda c: c.op == "==" and isinstance(c.right, Num)),
    ("[a] != 'x'", Compare, lambda c: c.op == "!=" and isinstance(c.right, Str)),
    ("[a] < 1", Compare, lambda c: c.op == "<"),
    ("[a] > 1", Compare, lambda c: c.op == ">"),
    ("[a] <= 1", Compare, lambda c: c.op == "<="),
    ("[a] >= 1", Compare, lambda c: c.op == ">="),
    ("[a] == [b]", Compare, lambda c: isinstance(c.right, Selector)),
    ("[a] =~ /x\\/y/", Match, lambda c: isinstance(c.pattern, Regex) and c.pattern.pattern == "x\\/y"),
    ("[a] !~ /x/", Match, lambda c: c.op == "!~"),
    ("[a] =~ 'x'", Match, lambda c: isinstance(c.pattern, Str)),
    ("[a] in [b]", In, lambda c: not c.negate and isinstance(c.container, Selector)),
    ("'x' in [tags]", In, lambda c: isinstance(c.item, Str)),
    ("[a] in [1, 2]", In, lambda c: isinstance(c.container, Array)),
    ("[a] not in ['x', 'y']", In, lambda c: c.negate),
    ("[a]", Truthy, lambda c: isinstance(c.value, Selector)),
    ("[a][b][c]", Truthy, lambda c: c.value.path == ("a", "b", "c")),
    ("[field with space]", Truthy, lambda c: c.value.path == ("field with space",)),
    ("[@metadata][x]", Truthy, lambda c: c.value.path == ("@metadata", "x")),
    ("![a]", Not, lambda c: isinstance(c.operand, Truthy)),
    ("!([a] == 1)", Not, lambda c: isinstance(c.operand, Group)),
    ("! [a]", Not, lambda c: True),
    ("([a])", Group, lambda c: isinstance(c.inner, Truthy)),
    ("[a] and [b] or [c]", BoolChain, lambda c: [op for op, _ in c.rest] == ["and", "or"]),
    ("[a] xor [b] nand [c]", BoolChain, lambda c: [op for op, _ in c.rest] == ["xor", "nand"]),
    ("[a]and[b]", BoolChain, lambda c: True),
])
def test_condition_forms(cond: str, kind: type, check) -> None:  # type: ignore[no-untyped-def]
    node = branch(cond).cases[0].condition
    assert isinstance(node, kind)
    assert check(node)


def test_conditions_may_span_lines() -> None:
    b = parse_text("""filter {
      if [notathing] {
      } else if [something]
            or [anotherthing]
            or [onemorething] {
      }
    }""").sections[0].body[0]
    assert isinstance(b, Branch)
    chain = b.cases[1].condition
    assert isinstance(chain, BoolChain) and len(chain.rest) == 2


def test_single_quoted_names_and_hashes_holding_arrays() -> None:
    plugin = only_plugin("""input { example {
      'foo' => 'bar'
      test => { 'bar' => 'baz' }
      match => { "message"=> ["pattern1", "pattern2"] }
    } }""")
    assert {a.name: plain(a.value) for a in plugin.attributes} == {
        "foo": "bar", "test": {"bar": "baz"}, "match": {"message": ["pattern1", "pattern2"]}}


def test_a_bareword_field_name_is_not_an_operator_prefix() -> None:
    # `android` starts with `and` but is one word; fields named like keywords need brackets anyway.
    node = branch("[android] or [orange]").cases[0].condition
    assert isinstance(node, BoolChain) and [op for op, _ in node.rest] == ["or"]


@pytest.mark.parametrize(("text", "where", "expected"), [
    ("input { stdin { port => } }", "t.conf:1:25", "expected a value"),
    ("filter { if [a] = 1 { } }", "t.conf:1:17", "expected '{' after the condition"),
    ('output { x { a => "open } }', "t.conf:1:19", 'the closing " of the string'),
    ("nonsense { }", "t.conf:1:1", "a section: input, filter or output"),
    ("filter { mutate { a => 1 b => 2 }", "t.conf:1:34", "'}' to close the filter block"),
    ("filter { mutate { a => 1b } }", "t.conf:1:24", "expected a value"),
    ("filter { mutate { a => [1, 2 } }", "t.conf:1:30", "',' or ']' in the array"),
    ("filter { mutate { a = 1 } }", "t.conf:1:21", "'=>' after the setting name 'a'"),
    ("filter {\n  if {\n  }\n}", "t.conf:2:6", "a condition after 'if'"),
    ("filter { else { } }", "t.conf:1:10", "'else' must follow"),
    ("filter { if [a] =~ 'x { } }", "t.conf:1:20", "closing '"),
    ("filter { if [a] =~ [b] { } }", "t.conf:1:23", "a /regex/ or a string after '=~'"),
    ("filter { if /x/ { } }", "t.conf:1:16", "=~ or !~ before a /regex/"),
    ("filter { if message == 'x' { } }", "t.conf:1:13", "fields are written [message]"),
    ("filter { if [ok] == true { } }", "t.conf:1:21", "Logstash conditions have no true literal"),
    ("filter { if [a] not [b] { } }", "t.conf:1:21", "'in' after 'not'"),
    ("filter { if !x { } }", "t.conf:1:14", "'(' or a [field] after '!'"),
    ("filter { if ([a] { } }", "t.conf:1:18", "')' or and, or, xor, nand"),
    ('filter { m { h => { "k" => 1 "k" => 2 } } }', "t.conf:1:30", "duplicate key 'k'"),
    ("filter { m { a => 1 }", "t.conf:1:22", "'}' to close the filter block"),
    ("filter { m { a => 09 } }", "t.conf:1:19", "a leading 0 makes it octal"),
    ('input { x { m => { "a" => 1 ""more"" => 2 } } }', "t.conf:1:31", "'=>' after the hash key ''"),
    ('input { x { m => { "a" => { "c" => 1 "c" => 2 } } } }', "t.conf:1:38", "duplicate key 'c'"),
])
def test_parse_errors_say_where_what_was_expected_and_what_was_found(
        text: str, where: str, expected: str) -> None:
    with pytest.raises(LogstashSyntaxError) as info:
        parse_sources([Source("t.conf", text)])
    message = str(info.value)
    assert message.startswith(where + ": "), message
    assert expected in message


def test_parse_error_in_a_later_file_names_that_file_and_its_line() -> None:
    with pytest.raises(LogstashSyntaxError) as info:
        parse_sources([Source("10-in.conf", "input {\n stdin {}\n}\n"),
                       Source("20-filter.conf", "filter {\n  mutate {\n    x => \n  }\n}\n")])
    assert str(info.value).startswith("20-filter.conf:4:3: expected a value")


def test_found_text_is_quoted_and_short() -> None:
    with pytest.raises(LogstashSyntaxError) as info:
        parse_text("filter { " + "x" * 100 + " }")
    assert "found '}'" in str(info.value) or "found" in str(info.value)
    assert len(str(info.value)) < 200


def test_values_keep_their_node_types() -> None:
    plugin = only_plugin('filter { p { s => "x" n => 1 b => w a => [] h => {} c => json {} } }')
    assert [type(a.value) for a in plugin.attributes] == [Str, Num, Bare, Array, Hash, Plugin]
