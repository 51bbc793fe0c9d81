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
                     "/foo/none": "absent", "count(//bar)": "n", "count(//bar) > 1": "many"})
    assert out == {"texts": ["baz", "qux"], "ids": ["7", "8"], "el": ['<bar id="7">baz</bar>'],
                   "n": ["2.0"], "many": ["true"]}


def test_xpath_single_value_without_force_array_and_replaces() -> None:
    out = fields(run(XmlFilter, {"x": "<element><field1>bbb</field1><field3>e3f<field3></element>",
                                 "field1": "old"},
                     source="x", store_xml=False, force_array=False,
                     xpath={"/element/field1/text()": "field1"})[0])
    assert out["field1"] == "bbb"      # a broken document still answers XPath


def test_namespaces_as_logstash() -> None:
    doc = '<foo xmlns:h="http://www.w3.org/TR/html4/"><h:div>Content</h:div></foo>'
    assert one(doc, store_xml=False, xpath={"/foo/h:div": "f"}) == {
        "f": ["<h:div>Content</h:div>"]}
    child = '<foo><h:div xmlns:h="http://www.w3.org/TR/html4/">Content</h:div></foo>'
    assert one(child, store_xml=False, namespaces={"h": "http://www.w3.org/TR/html4/"},
               xpath={"/foo/h:div": "f"}) == {
        "f": ['<h:div xmlns:h="http://www.w3.org/TR/html4/">Content</h:div>']}
    assert one(doc, store_xml=False, remove_namespaces=True, xpath={"/foo/div": "f"}) == {
        "f": ["<div>Content</div>"]}
    assert one(doc, target="d") == {"d": {"xmlns:h": "http://www.w3.org/TR/html4/",
                                          "h:div": ["Content"]}}


def test_source_shapes() -> None:
    cases = [(["<foo bar=\"baz\"/>"], {"data": {"bar": "baz"}}),
             (["<a/>", "<b/>"], {"tags": ["_xmlparsefailure"]}),
             ([], {"tags": ["_xmlparsefailure"]}),
             ({"foo": "bar"}, {"tags": ["_xmlparsefailure"]}),
             ("   ", {})]
    for raw, expected in cases:
        out = fields(run(XmlFilter, {"raw": raw}, source="raw", target="data")[0])
        out.pop("raw")
        assert out == expected, raw


def test_parse_failure_tagged_and_common_options_skipped() -> None:
    assert one("<foo /", target="d", add_tag="ok") == {"tags": ["_xmlparsefailure"]}
    assert one("not xml", target="d") == {"tags": ["_xmlparsefailure"]}
    broken = "<xml> <sample attr='foo' attr=\"bar\"> <invalid> </sample> </xml>"
    assert "tags" not in one(broken, store_xml=False, xpath={"//sample": "s"})  # recovered
    assert one(broken, store_xml=False, xpath={"//sample": "s"}, parse_options="strict") == {
        "tags": ["_xmlparsefailure"]}


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
    with pytest.raises(ValidationError, match="unsupported parse option"):
        XmlFilter.Config(source="m", store_xml=False, parse_options="strict,invalid0")
    assert XmlFilter.Config(source="m", store_xml=False, parse_options="no_error,NOWARNING")
