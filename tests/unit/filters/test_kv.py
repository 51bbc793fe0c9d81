"""The kv filter."""
from __future__ import annotations

import pytest

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.kv import KvFilter


def kv(text, **options) -> Event:
    f = KvFilter(KvFilter.Config(**options), id="kv")
    source = options.get("source", "message")
    [e] = f.process([Event({source: text})])
    return e


def test_pairs_with_quoted_and_bracketed_values() -> None:
    e = kv('user=bob msg="hello world" ids=[1 2] mode=(fast) tag=<a b> x=\'y z\'')
    assert (e.get("user"), e.get("msg"), e.get("ids"), e.get("mode"), e.get("tag"), e.get("x")) == (
        "bob", "hello world", "1 2", "fast", "a b", "y z")


def test_without_brackets_they_are_plain_text() -> None:
    e = kv("ids=[1,2] a=b", include_brackets=False)
    assert e.get("ids") == "[1,2]"


def test_custom_splits_target_prefix_and_key_filters() -> None:
    e = kv("a=1&b=two&c=3", field_split="&", target="query", prefix="q_", include_keys=["a", "b"])
    assert e.get("query") == {"q_a": "1", "q_b": "two"}
    e = kv("a:1,b:2", field_split=",", value_split=":", exclude_keys=["a"])
    assert not e.contains("a") and e.get("b") == "2"


def test_split_patterns() -> None:
    e = kv("a:=1 || b:=x y || c:=3", field_split_pattern=r"\s*\|\|\s*", value_split_pattern=":=")
    assert (e.get("a"), e.get("b"), e.get("c")) == ("1", "x y", "3")


def test_trim_remove_and_transform() -> None:
    e = kv("<Key>=[val]; Other=x", field_split=" ;", trim_key="<>", include_brackets=False,
           trim_value="[]", transform_key="lowercase", remove_char_value="x")
    assert e.get("key") == "val" and not e.contains("other")


def test_duplicate_keys_collect_values() -> None:
    assert kv("a=1 a=2 a=1").get("a") == ["1", "2", "1"]
    assert kv("a=1 a=2 a=1", allow_duplicate_values=False).get("a") == ["1", "2"]


def test_default_keys_fill_missing_ones() -> None:
    e = kv("a=1", default_keys={"a": "0", "b": "none"})
    assert (e.get("a"), e.get("b")) == ("1", "none")


def test_strict_whitespace() -> None:
    assert kv("a = 1").get("a") == "1"
    assert not kv("a = 1", whitespace="strict").contains("a")


def test_log_text_cannot_overwrite_event_bookkeeping() -> None:
    e = kv("tags=evil @timestamp=now @metadata=x ok=1")
    assert "tags" not in e.data and e.metadata == {} and e.get("ok") == "1"
    assert not isinstance(e.get("@timestamp"), str)


def test_missing_source_is_left_alone() -> None:
    f = KvFilter(KvFilter.Config(), id="kv")
    [e] = f.process([Event({"other": "a=1"})])
    assert "tags" not in e.data and not e.contains("a")


def test_timeout_tag_on_pathological_split_pattern() -> None:
    e = kv("a" * 3000 + "=1", field_split_pattern=r"(?:a|aa)+$x", timeout_millis=50)
    assert e.tags == ["_kv_filter_timeout"]


def test_bad_split_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        KvFilter(KvFilter.Config(field_split_pattern="(unclosed"), id="kv")


def test_backslash_escaped_separators_stay_in_keys_and_values() -> None:
    e = kv(r"msg=cruel\ world key\=x=1", whitespace="strict")
    assert e.get("msg") == r"cruel\ world" and e.get(r"key\=x") == "1"


def test_recursive_values_become_objects() -> None:
    e = kv('a=1 b=(c=2 d="e=3") f=plain', recursive=True)
    assert e.get("b") == {"c": "2", "d": {"e": "3"}} and e.get("f") == "plain"


def test_empty_values_only_when_allowed() -> None:
    assert not kv('a= b="" c=[]', whitespace="strict").contains("a")
    e = kv('a= b="" c=[]', whitespace="strict", allow_empty_values=True)
    assert (e.get("a"), e.get("b"), e.get("c")) == ("", "", "")


def test_key_lists_and_prefix_take_templates() -> None:
    f = KvFilter(KvFilter.Config(include_keys=["%{want}"], prefix="%{p}_"), id="kv")
    [e] = f.process([Event({"message": "a=1 b=2", "want": "b", "p": "x"})])
    assert e.get("x_b") == "2" and not e.contains("x_a")


def test_add_tag_and_target_only_when_pairs_are_found() -> None:
    f = KvFilter(KvFilter.Config(target="kv", add_tag=["parsed"]), id="kv")
    hit, miss = f.process([Event({"message": "a=1", "kv": {"old": 1}}), Event({"message": "no pairs"})])
    assert hit.get("kv") == {"a": "1"} and hit.tags == ["parsed"]
    assert "tags" not in miss.data and not miss.contains("kv")


@pytest.mark.parametrize("options", [{"field_split_pattern": ""}, {"value_split_pattern": ""},
                                     {"value_split": ""}])
def test_empty_split_settings_are_refused(options) -> None:
    with pytest.raises((ConfigError, ValueError)):
        KvFilter(KvFilter.Config(**options), id="kv")
