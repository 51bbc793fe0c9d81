"""xml: the object shape of logstash-filter-xml (XmlSimple conventions), XPath, namespaces,
failures, and safety against entity expansion."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.errors import ConfigError
from logpipe.filters.xml import XmlFilter
from tests.unit.filters._filter_helpers import build, fields, run


def one(xml: str, **options: Any) -> dict[str, Any]:
    out = fields(run(XmlFilter, {"raw": xml}, source="raw", **options)[0])
    out.pop("raw")
    return out


def test_store_xml_force_array_default() -> None:
    # from the plugin's spec: <foo key="value"/> and nested elements
    assert one('<foo key="value"/>', target="data") == {"data": {"key": "value"}}
    assert one("<foo><key>value1</key><key>value2</key></foo>", target="data") == {
        "data": {"key": ["value1", "value2"]}}
    assert one("<foo><bar>baz</bar></foo>", target="data") == {"data": {"bar": ["baz"]}}


def test_no_force_array() -> None:
    assert one("<foo><bar>baz</bar><x>1</x><x>2</x></foo>", target="d", force_array=False) == {
        "d": {"bar": "baz", "x": ["1", "2"]}}


def test_content_with_attributes_and_force_content() -> None:
    assert one('<r><a id="1">t</a></r>', target="d") == {"d": {"a": [{"id": "1", "content": "t"}]}}
    assert one("<r><a>t</a></r>", target="d", force_content=True) == {
        "d": {"a": [{"content": "t"}]}}


def test_suppress_empty() -> None:
    assert one("<r><a/><b>x</b></r>", target="d") == {"d": {"b": ["x"]}}
    assert one("<r><a/><b>x</b></r>", target="d", suppress_empty=False) == {
        "d": {"a": [{}], "b": ["x"]}}


def test_xpath_results_are_text_lists() -> None:
    out = one('<foo><bar id="7">baz</bar><bar id="8">qux</bar></foo>', store_xml=False,
              xpath={"/foo/bar/text()": "texts", "//bar/@id": "ids", "/foo/bar[1]": "el",
                     "/foo/none": "absent"})
    assert out == {"texts": ["baz", "qux"], "ids": ["7", "8"], "el": ['<bar id="7">baz</bar>']}


def test_namespaces_kept_removed_and_in_xpath() -> None:
    doc = '<r xmlns:h="http://h"><h:a>1</h:a></r>'
    assert one(doc, target="d") == {"d": {"h:a": ["1"]}}
    assert one(doc, target="d", remove_namespaces=True) == {"d": {"a": ["1"]}}
    assert one(doc, store_xml=False, namespaces={"x": "http://h"},
               xpath={"/r/x:a/text()": "v"}) == {"v": ["1"]}
    assert one(doc, store_xml=False, remove_namespaces=True, xpath={"/r/a/text()": "v"}) == {
        "v": ["1"]}


def test_parse_failure_tagged_and_common_options_skipped() -> None:
    assert one("<open>", target="d", add_tag="ok") == {"tags": ["_xmlparsefailure"]}
    assert one("not xml", target="d") == {"tags": ["_xmlparsefailure"]}


def test_entities_are_not_expanded() -> None:
    doc = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           "<r><a>&x;</a></r>")
    out = one(doc, target="d")
    assert "root:" not in str(out)


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="target"):
        XmlFilter.Config(source="m")
    with pytest.raises(ConfigError, match="XPath"):
        build(XmlFilter, source="m", store_xml=False, xpath={"/a[": "x"})
