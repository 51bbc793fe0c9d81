"""The filters added for Logstash configurations, written as in a ``.conf`` file."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.logstash._helpers import settle


def test_translate_older_and_newer_names() -> None:
    old: Any = settle("filter", "translate", field="status", destination="text",
                      dictionary=["200", "OK", "404", "Not Found"], fallback="?")
    new: Any = settle("filter", "translate", source="status", target="text",
                      dictionary={"200": "OK", "404": "Not Found"}, fallback="?")
    assert old == new
    with pytest.raises(ValidationError):
        settle("filter", "translate", field="a", source="b", dictionary={"x": "y"})


def test_xml_xpath_pairs_and_csv_convert_pairs() -> None:
    c: Any = settle("filter", "xml", source="message", store_xml=False,
                    xpath=["/a/b/text()", "b", "/a/c/text()", "c"], namespaces=["x", "http://x"])
    assert c.xpath == {"/a/b/text()": "b", "/a/c/text()": "c"} and c.namespaces == {"x": "http://x"}
    c = settle("filter", "csv", columns=["a", "b"], convert=["a", "integer"], separator="\\t")
    assert c.convert == {"a": "integer"} and c.separator == "\t"


def test_prune_value_hashes_and_common_options() -> None:
    c: Any = settle("filter", "prune", whitelist_values=["status", "^2"], enable_metric=True)
    assert c.whitelist_values == {"status": "^2"}


def test_aggregate_is_refused_through_the_hooks() -> None:
    with pytest.raises(ValidationError, match="worker processes"):
        settle("filter", "aggregate", task_id="%{id}", code="map['n'] ||= 0",
               push_map_as_event_on_timeout=True, timeout=120)


@pytest.mark.parametrize("name", ["fingerprint", "split", "urldecode", "uuid", "de_dot",
                                  "syslog_pri", "truncate", "clone", "throttle", "cidr"])
def test_new_filters_accept_their_logstash_shapes(name: str) -> None:
    options: dict[str, Any] = {
        "fingerprint": {"source": ["a", "b"], "method": "SHA256", "concatenate_sources": True},
        "split": {"field": "lines", "terminator": ","},
        "urldecode": {"all_fields": True},
        "uuid": {"target": "[event][id]", "overwrite": True},
        "de_dot": {"nested": True},
        "syslog_pri": {"syslog_pri_field_name": "pri", "use_labels": False},
        "truncate": {"length_bytes": 10, "fields": "message"},
        "clone": {"clones": ["copy"]},
        "throttle": {"key": "%{host}", "after_count": 3, "period": 60, "max_age": 120},
        "cidr": {"address": ["%{ip}"], "network": ["10.0.0.0/8"], "add_tag": "internal"},
    }[name]
    settle("filter", name, **options, add_field=["f", "v"], periodic_flush=False)
