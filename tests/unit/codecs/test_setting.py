"""The codec setting: a name or a mapping with type, checked when the pipeline loads."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from logpipe.codecs import CodecSetting, codec_field, names, spec
from logpipe.core.plugin import PluginConfig


class Cfg(PluginConfig):
    codec: CodecSetting = codec_field("line")


def test_every_logstash_codec_of_the_issue_is_registered() -> None:
    assert {"plain", "line", "json", "json_lines", "multiline", "cef", "rubydebug", "dots"} <= set(names())


def test_a_name_a_mapping_and_the_default() -> None:
    assert Cfg().codec == "line"
    assert Cfg(codec="json").codec.name == "json"
    c = Cfg(codec={"type": "multiline", "pattern": r"^\s", "negate": False, "what": "previous"}).codec
    assert c.name == "multiline" and c.options["what"] == "previous"
    assert c.build().config.pattern == r"^\s"


def test_old_yaml_spellings_still_work() -> None:
    assert Cfg(codec="lines").codec == "line"
    assert Cfg(codec="ndjson").codec.name == "json_lines"


@pytest.mark.parametrize("value, message", [
    ("nosuch", "unknown codec 'nosuch'"),
    ({"pattern": "x"}, "needs a 'type'"),
    ({"type": "multiline", "what": "previous"}, "pattern"),
    ({"type": "json", "bogus": 1}, "bogus"),
    (42, "codec must be a name"),
])
def test_mistakes_are_validation_errors_naming_the_problem(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Cfg(codec=value)


def test_specs_compare_by_name_and_options() -> None:
    assert spec("lines") == spec("line")
    assert spec({"type": "line", "delimiter": "|"}) != spec("line")
    assert spec({"type": "line", "delimiter": "|"}) != "line"
