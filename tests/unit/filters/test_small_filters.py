"""urldecode, prune, truncate, uuid, de_dot, syslog_pri and cidr: cases from their Logstash
plugins' documentation and spec suites."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.cidr import CidrFilter
from logpipe.filters.de_dot import DeDotFilter
from logpipe.filters.prune import PruneFilter
from logpipe.filters.syslog_pri import SyslogPriFilter
from logpipe.filters.truncate import TruncateFilter
from logpipe.filters.urldecode import UrldecodeFilter
from logpipe.filters.uuid import UuidFilter
from tests.unit.filters._filter_helpers import T0, build, fields, run


def one(cls: Any, data: dict[str, Any], **options: Any) -> dict[str, Any]:
    return fields(run(cls, data, **options)[0])


# --- urldecode ---------------------------------------------------------------------------
def test_urldecode_message() -> None:
    out = one(UrldecodeFilter, {"message": "http%3A%2F%2Flogstash.net%2Fdocs%2F1.3.2%2Ffilters"
                                            "%2Furldecode+x"})
    assert out["message"] == "http://logstash.net/docs/1.3.2/filters/urldecode+x"


def test_urldecode_utf8_and_invalid_bytes() -> None:
    assert one(UrldecodeFilter, {"message": "europ%C3%A9enne"})["message"] == "européenne"
    assert one(UrldecodeFilter, {"message": "bad %FF"})["message"] == "bad \ufffd"
    assert one(UrldecodeFilter, {"message": "caf%E9"}, charset="cp1252")["message"] == "café"


def test_urldecode_all_fields_walks_containers() -> None:
    out = one(UrldecodeFilter, {"a": "x%20y", "b": ["%41"], "c": {"d": "%42"}, "n": 3},
              all_fields=True)
    assert out == {"a": "x y", "b": ["A"], "c": {"d": "B"}, "n": 3}
    with pytest.raises(ValidationError, match="charset"):
        UrldecodeFilter.Config(charset="no-such-charset")


# --- prune -------------------------------------------------------------------------------
def test_prune_whitelist_names_keeps_timestamp() -> None:
    event = run(PruneFilter, {"msg": "m", "msgid": 1, "other": 2},
                whitelist_names=["^msg$", "other"])[0]
    assert event.data == {"@timestamp": T0, "msg": "m", "other": 2}


def test_prune_default_blacklist_drops_unresolved_references() -> None:
    assert one(PruneFilter, {"%{host}": "x", "host": "h"}) == {"host": "h"}


def test_prune_blacklist_names_and_interpolation() -> None:
    assert one(PruneFilter, {"a_x": 1, "b": 2, "kill": "a_"}, blacklist_names=["^a_"]) == {
        "b": 2, "kill": "a_"}
    assert one(PruneFilter, {"a_x": 1, "b": 2, "kill": "b"}, blacklist_names=["^%{kill}$"],
               interpolate=True) == {"a_x": 1, "kill": "b"}


def test_prune_values() -> None:
    data = {"method": "GET", "status": ["200", "404", "500"], "n": 404, "all": ["1", "2"]}
    out = one(PruneFilter, dict(data), whitelist_values={"method": "^(GET|POST)$",
                                                         "status": "^[24]", "all": "x"})
    assert out == {"method": "GET", "status": ["200", "404"], "n": 404}
    out = one(PruneFilter, dict(data), blacklist_values={"n": "^404$", "status": ["^5", "^2"]})
    assert out == {"method": "GET", "status": ["404"], "all": ["1", "2"]}


def test_prune_bad_regex_fails_at_start() -> None:
    with pytest.raises(ConfigError):
        build(PruneFilter, whitelist_names=["("])


# --- truncate ----------------------------------------------------------------------------
def test_truncate_bytes_at_character_boundary() -> None:
    out = one(TruncateFilter, {"a": "hello world", "b": "é" * 5, "n": 123456, "l": ["abcdef"]},
              length_bytes=5)
    assert out == {"a": "hello", "b": "éé", "n": 123456, "l": ["abcde"]}


def test_truncate_common_options_only_when_cut() -> None:
    events = run(TruncateFilter, [{"a": "abcdef"}, {"a": "ab"}], length_bytes=3, add_tag="cut")
    assert [e.data.get("tags") for e in events] == [["cut"], None]
    assert one(TruncateFilter, {"a": "abc"}, length_bytes=0) == {"a": ""}


def test_truncate_only_listed_fields() -> None:
    out = one(TruncateFilter, {"a": "abcdef", "b": {"c": "abcdef"}, "d": "abcdef"},
              length_bytes=2, fields=["a", "[b][c]"])
    assert out == {"a": "ab", "b": {"c": "ab"}, "d": "abcdef"}


# --- uuid --------------------------------------------------------------------------------
def test_uuid_sets_keeps_and_overwrites() -> None:
    fresh = one(UuidFilter, {}, target="id")["id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", fresh)
    assert one(UuidFilter, {"id": "mine"}, target="id")["id"] == "mine"
    assert one(UuidFilter, {"id": "mine"}, target="id", overwrite=True)["id"] != "mine"
    events = run(UuidFilter, [{}, {}], target="[a][id]")
    assert events[0].data["a"]["id"] != events[1].data["a"]["id"]


# --- de_dot ------------------------------------------------------------------------------
def test_de_dot_top_level_by_default_recursive_on_request() -> None:
    assert one(DeDotFilter, {"a.b": {"c.d": 1}, "e": 2}) == {"a_b": {"c.d": 1}, "e": 2}
    assert one(DeDotFilter, {"a.b": {"c.d": 1}}, separator="__", recursive=True) == {
        "a__b": {"c__d": 1}}
    with pytest.raises(ValidationError):
        DeDotFilter.Config(separator=".")


def test_de_dot_nested_merges_into_objects() -> None:
    assert one(DeDotFilter, {"a.b": 1, "a.c": {"x.y": 2}, "a": {"z": 0}}, nested=True,
               recursive=True) == {"a": {"z": 0, "b": 1, "c": {"x": {"y": 2}}}}


def test_de_dot_listed_fields_only() -> None:
    cfg = DeDotFilter.Config
    options = cfg.from_logstash({"fields": ["c.d", "[top][x.y]"]})
    assert options["fields"] == ["[c.d]", "[top][x.y]"]   # Logstash names are single keys
    out = one(DeDotFilter, {"a.b": 1, "c.d": 2, "top": {"x.y": 3}}, **options)
    assert out == {"a.b": 1, "c_d": 2, "top": {"x_y": 3}}


# --- syslog_pri --------------------------------------------------------------------------
def test_syslog_pri_ecs() -> None:
    out = one(SyslogPriFilter, {"log": {"syslog": {"priority": "34"}}})
    assert out["log"]["syslog"] == {"priority": "34",
                                    "facility": {"code": 4, "name": "security/authorization"},
                                    "severity": {"code": 2, "name": "critical"}}


def test_syslog_pri_legacy_names_default_and_labels() -> None:
    out = one(SyslogPriFilter, {}, ecs_compatibility="disabled")   # missing means 13
    assert out == {"syslog_facility_code": 1, "syslog_severity_code": 5,
                   "syslog_facility": "user-level", "syslog_severity": "notice"}
    out = one(SyslogPriFilter, {"p": "<191>"}, syslog_pri_field_name="p", use_labels=False,
              ecs_compatibility="disabled")
    assert out == {"p": "<191>", "syslog_facility_code": 23, "syslog_severity_code": 7}


def test_syslog_pri_bad_value_tagged() -> None:
    out = one(SyslogPriFilter, {"p": "abc"}, syslog_pri_field_name="p", add_tag="ok")
    assert out == {"p": "abc", "tags": ["_syslogpriparsefailure", "ok"]}
    out = one(SyslogPriFilter, {"p": 200}, syslog_pri_field_name="p",
              ecs_compatibility="disabled")
    assert out == {"p": 200, "syslog_facility_code": 25, "syslog_severity_code": 0,
                   "tags": ["_syslogpriparsefailure"]}


# --- cidr --------------------------------------------------------------------------------
def test_cidr_tags_matching_addresses() -> None:
    events = run(CidrFilter, [{"ip": "192.168.1.7"}, {"ip": "10.0.0.1"}, {"ip": "nope"},
                              {"ip": ["8.8.8.8", "192.168.0.1"]}, {"ip": "2001:db8::1"}],
                 address=["%{ip}"], network=["192.168.0.0/16", "2001:db8::/32"],
                 add_tag="local")
    assert [e.data.get("tags") for e in events] == [["local"], None, None, ["local"], ["local"]]


def test_cidr_network_file_and_bad_network(tmp_path: Path) -> None:
    path = tmp_path / "nets"
    path.write_text("# private\n10.0.0.0/8\n172.16.0.0/12 # docker\n")
    events = run(CidrFilter, [{"ip": "172.17.0.2"}, {"ip": "192.168.0.1"}],
                 address="%{ip}", network_path=str(path), add_field={"net": "private"})
    assert [e.data.get("net") for e in events] == ["private", None]
    with pytest.raises(ValidationError):
        CidrFilter.Config(address=["%{ip}"], network=["10.0.0.0/33"])
    with pytest.raises(ConfigError):
        build(CidrFilter, address="%{ip}", network_path=str(tmp_path / "absent"))


def test_cidr_address_field_and_comma_lists(tmp_path: Path) -> None:
    events = run(CidrFilter, [{"ips": ["8.8.8.8", "10.1.1.1"]}, {"ips": "8.8.4.4"}],
                 address_field="ips", network=["192.168.0.0/16,10.0.0.0/8"], add_tag="in")
    assert [e.data.get("tags") for e in events] == [["in"], None]
    path = tmp_path / "nets"
    path.write_text("10.0.0.0/8,not a net,172.16.0.0/12")
    events = run(CidrFilter, {"ip": "172.16.0.1"}, address="%{ip}", network_path=str(path),
                 separator=",", add_tag="in")
    assert events[0].data["tags"] == ["in"]
    path.write_text("nothing useful")
    with pytest.raises(ConfigError, match="separator"):
        build(CidrFilter, address="%{ip}", network_path=str(path))


def test_cidr_network_from_event() -> None:
    events = run(CidrFilter, [{"ip": "10.1.2.3", "net": "10.1.0.0/16"},
                              {"ip": "10.1.2.3", "net": "10.2.0.0/16"}],
                 address="%{ip}", network="%{net}", add_tag="in")
    assert [e.data.get("tags") for e in events] == [["in"], None]


def test_events_are_returned_unchanged_in_count() -> None:
    batch = [Event({"message": "x"}) for _ in range(3)]
    assert build(TruncateFilter, length_bytes=1).process(batch) == batch
