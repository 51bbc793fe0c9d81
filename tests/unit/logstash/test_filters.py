"""Logstash's options for the filters logpipe had before the new ones."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core import registry
from logpipe.core.event import Event
from tests.unit.logstash._helpers import settle


def refused(name: str, **options: Any) -> str:
    with pytest.raises(ValidationError) as info:
        settle("filter", name, **options)
    return str(info.value)


def test_grok_pairs_repeated_fields_and_common_options() -> None:
    c: Any = settle("filter", "grok", match=["message", "%{IP:ip}", "message", "%{WORD:w}"],
                    pattern_definitions=["MINE", "[a-z]+"], add_tag="parsed",
                    tag_on_failure=["_grokparsefailure"], periodic_flush=False)
    assert c.match == {"message": ["%{IP:ip}", "%{WORD:w}"]}
    assert c.pattern_definitions == {"MINE": "[a-z]+"} and c.add_tag == ["parsed"]


def test_dissect_kv_json_date() -> None:
    c: Any = settle("filter", "dissect", mapping=["message", "%{a} %{b}"],
                    convert_datatype={"b": "int"})
    assert c.mapping == {"message": "%{a} %{b}"} and c.convert_datatype == {"b": "int"}
    c = settle("filter", "kv", field_split="&", value_split="=", default_keys=["k", "v"],
               recursive=False, include_brackets=True)
    assert (c.field_split, c.default_keys) == ("&", {"k": "v"})
    c = settle("filter", "kv", recursive=True, allow_empty_values=True, ecs_compatibility="v8")
    assert (c.recursive, c.allow_empty_values) == (True, True)
    c = settle("filter", "json", source="message", target="doc", ecs_compatibility="v8")
    assert (c.source, c.target) == ("message", "doc")
    c = settle("filter", "date", match=["ts", "ISO8601", "UNIX"], timezone="Europe/Paris")
    assert c.match == ["ts", "ISO8601", "UNIX"] and c.timezone == "Europe/Paris"


def test_mutate_flat_hash_lists() -> None:
    c: Any = settle("filter", "mutate", convert=["a", "integer", "b", "float"],
                    rename=["x", "y"], add_field=["f", "v"])
    assert c.convert == {"a": "integer", "b": "float"} and c.rename == {"x": "y"}
    assert c.add_field == {"f": "v"}


def test_geoip_target_holds_geo_and_as() -> None:
    c: Any = settle("filter", "geoip", source="[source][ip]")
    assert (c.target, c.asn_target) == ("[source][geo]", "[source][as]")
    c = settle("filter", "geoip", source="clientip", target="client",
               fields=["city_name", "country_code2", "latitude", "longitude"], add_tag="geo")
    assert (c.target, c.fields, c.add_tag) == (
        "[client][geo]", ["city_name", "country_iso_code", "location"], ["geo"])
    c = settle("filter", "geoip", source="[client][ip]", database="/db/GeoLite2-ASN.mmdb")
    assert c.asn_database == "/db/GeoLite2-ASN.mmdb" and c.fields == [
        "as.number", "as.organization.name"]
    text = refused("geoip", source="clientip")
    assert "target" in text
    text = refused("geoip", source="[a][ip]", ecs_compatibility="disabled", fields=["dma_code"])
    assert "ecs_compatibility" in text and "fields" in text


def test_geoip_and_useragent_apply_common_options() -> None:
    ua = registry.get("filter", "useragent")
    cfg = settle("filter", "useragent", source="agent", target="ua", lru_cache_size=100,
                 add_tag="ua")
    event = Event({"agent": "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 "
                            "Firefox/115.0"})
    ua(cfg, id="u").process([event])
    assert event.data["ua"]["name"] == "Firefox" and event.data["tags"] == ["ua"]
    assert cfg.cache_size == 100  # type: ignore[attr-defined]
    text = refused("useragent", source="a", regexes="/r.yaml", prefix="ua_")
    assert "regexes" in text and "prefix" in text


def test_drop_ignores_common_options() -> None:
    c: Any = settle("filter", "drop", percentage=40, add_tag="never", periodic_flush=True)
    assert c.percentage == 40
