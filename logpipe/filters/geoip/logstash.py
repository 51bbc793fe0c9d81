"""Logstash's geoip options as logpipe's (see docs/logstash-plugins.md).

In Logstash's ECS mode ``target`` names the object that *holds* ``geo`` and ``as``
(``target => "[client]"`` writes ``[client][geo][...]`` and ``[client][as][...]``)
and defaults to the parent of an ``...[ip]`` source; logpipe's ``target`` is the
``geo`` object itself. Logstash's ``fields`` use the legacy names, mapped here.
"""
from __future__ import annotations

import os
from typing import Any

from logpipe.core.fieldref import parse, render
from logpipe.core.logstash import Options, as_list

DEFAULTS: dict[str, Any] = {}

#: Logstash's ``fields`` names -> logpipe's (None: not written here).
FIELD_NAMES: dict[str, str | None] = {
    "city_name": "city_name", "continent_code": "continent_code",
    "continent_name": "continent_name", "country_code2": "country_iso_code",
    "country_iso_code": "country_iso_code", "country_name": "country_name",
    "region_name": "region_name", "region_code": "region_iso_code",
    "region_iso_code": "region_iso_code", "postal_code": "postal_code", "timezone": "timezone",
    "location": "location", "latitude": "location", "longitude": "location",
    "autonomous_system_number": "as.number", "asn": "as.number",
    "autonomous_system_organization": "as.organization.name",
    "as_org": "as.organization.name", "ip": None, "country_code3": None, "dma_code": None,
}


def _fields(value: Any) -> list[str]:
    out: list[str] = []
    for name in as_list(value):
        if name not in FIELD_NAMES:
            raise ValueError(f"unknown geoip field {name!r}")
        mapped = FIELD_NAMES[name]
        if mapped is None:
            raise ValueError(f"field {name!r} is not written here")
        if mapped not in out:
            out.append(mapped)
    return out


def from_logstash(options: dict[str, Any]) -> dict[str, Any]:
    opts = Options("geoip filter", options)
    opts.refuse("ecs_compatibility", "only the ECS field names are written (`[geo][city_name]`, "
                "...); Logstash's legacy names are not", allowed=lambda v: v in ("v1", "v8"))
    source = opts.get("source")
    target = opts.take("target", None)
    if target is None and isinstance(source, str):
        path = parse(source)
        if len(path) >= 2 and path[-1] == "ip":
            target = render(path[:-1])
        else:
            opts.refused.append(("target", None, "set `target` (the object that receives "
                                 "`geo` and `as`) when `source` is not an ECS `...[ip]` field"))
    if target is not None:
        holder = parse(str(target))
        opts.set("target", render(holder + ("geo",)))
        opts.set("asn_target", render(holder + ("as",)))
    kind = str(opts.take("default_database_type", "City"))
    database = opts.take("database", None)
    if kind not in ("City", "ASN"):
        opts.refused.append(("default_database_type", kind, "expected City or ASN"))
    elif database is not None:
        asn = kind == "ASN" or "asn" in os.path.basename(str(database)).lower()
        opts.set("asn_database" if asn else "database", database)
        if asn and not opts.has("fields"):
            opts.set("fields", ["as.number", "as.organization.name"])
    elif kind == "ASN":
        opts.refused.append(("default_database_type", kind, "no ASN database is bundled; set "
                             "`database` to a GeoLite2-ASN file"))
    opts.rename("fields", "fields", _fields)
    return opts.result()
