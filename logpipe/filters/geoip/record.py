"""Turn raw MaxMind records into ECS ``geo`` and ``as`` objects.

The readers hand back the whole record (every language of every name); only
what ECS names is kept, so the cached result is small.
"""
from __future__ import annotations

from typing import Any

Record = dict[str, Any]


def _name(node: Record | None, language: str) -> str | None:
    if not node:
        return None
    names = node.get("names")
    if not names:
        return None
    return names.get(language) or names.get("en")


def geo_object(rec: Record | None, language: str, keep: frozenset[str] | None) -> Record | None:
    """The ECS geo object for a City/Country record, or None when it says nothing."""
    if not rec:
        return None
    geo: Record = {}
    continent = rec.get("continent")
    if continent:
        if "code" in continent:
            geo["continent_code"] = continent["code"]
        name = _name(continent, language)
        if name:
            geo["continent_name"] = name
    # Anonymous proxies and some hosting ranges carry no location, only the country the
    # block is registered in: that is still the best answer the database has.
    country = rec.get("country") or rec.get("registered_country")
    country_iso = None
    if country:
        country_iso = country.get("iso_code")
        if country_iso:
            geo["country_iso_code"] = country_iso
        name = _name(country, language)
        if name:
            geo["country_name"] = name
    subdivisions = rec.get("subdivisions")
    if subdivisions:
        region = subdivisions[-1]
        iso = region.get("iso_code")
        if iso:
            geo["region_iso_code"] = f"{country_iso}-{iso}" if country_iso else iso
        name = _name(region, language)
        if name:
            geo["region_name"] = name
    city = _name(rec.get("city"), language)
    if city:
        geo["city_name"] = city
    postal = rec.get("postal")
    if postal and postal.get("code"):
        geo["postal_code"] = postal["code"]
    location = rec.get("location")
    if location:
        if location.get("time_zone"):
            geo["timezone"] = location["time_zone"]
        lat, lon = location.get("latitude"), location.get("longitude")
        if lat is not None and lon is not None:
            geo["location"] = {"lat": lat, "lon": lon}
    if keep is not None:
        geo = {k: v for k, v in geo.items() if k in keep}
    return geo or None


def as_object(rec: Record | None, keep: frozenset[str] | None) -> Record | None:
    """The ECS ``as`` object for an ASN record, or None when it says nothing."""
    if not rec:
        return None
    out: Record = {}
    number = rec.get("autonomous_system_number")
    if number is not None and (keep is None or "as.number" in keep):
        out["number"] = number
    org = rec.get("autonomous_system_organization")
    if org and (keep is None or "as.organization.name" in keep):
        out["organization"] = {"name": org}
    return out or None


class Template:
    """A cached result, turned into a fresh object for every event, or shared.

    Events must not share mutable objects that a later filter may edit (editing
    one event's geo object would edit every other's, and the cache's), yet a
    deep copy per event is slow. So the cache keeps the flat part of the object
    and the nested objects (``location``) apart, and :meth:`build` copies each: a
    new object every time, whose nested objects are new too. The template's own
    dicts never leave it. ``whole`` is one such object made in advance, for the
    events of a pipeline where nothing later edits it in place (see
    logpipe.core.sharing): those all hold it.
    """

    __slots__ = ("flat", "nested", "whole")

    def __init__(self, obj: Record) -> None:
        self.flat = {k: v for k, v in obj.items() if type(v) is not dict}
        self.nested = tuple((k, dict(v)) for k, v in obj.items() if type(v) is dict)
        self.whole = self.build()

    def build(self) -> Record:
        out = self.flat.copy()
        nested = self.nested
        if len(nested) == 1:   # ``location``, the usual one: no loop
            key, inner = nested[0]
            out[key] = inner.copy()
            return out
        for key, inner in nested:
            out[key] = inner.copy()
        return out
