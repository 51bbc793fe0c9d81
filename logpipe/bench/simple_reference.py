"""The yardstick of the ``simple`` scenario: grok, date, GeoIP and user agent, straight through.

One function over a plain dict per record, calling the libraries directly:
orjson, the ``%{COMBINEDAPACHELOG}`` expression already expanded (by logpipe's
grok compiler, as a script author would paste it) and run by logpipe's native
matcher when it is installed, else by ``re`` with the same rewrite of its
closing lazy field (``logpipe.filters.grok.rewrite``), the
access-time fields sliced by position, maxminddb and ua-parser behind
``lru_cache``. :func:`compare` checks that it makes logpipe's documents.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import maxminddb
import orjson
import ua_parser
from ua_parser import load_builtins

from logpipe.bench.reference import _MONTHS, _NO_GEO, UTC, Reference as GraphMemoryReference
from logpipe.bench.reference import _grok_regex, _zone, canonical
from logpipe.bench.simple_pipeline import FILTERS


class Reference:
    def __init__(self) -> None:
        from _maxminddb_geolite2 import geolite2_database

        from logpipe.filters.useragent.devicetype import device_type

        [(self.search, self.caps)] = _grok_regex({"filters": FILTERS}, "grok")
        reader = maxminddb.open_database(str(geolite2_database()), maxminddb.MODE_MMAP_EXT)
        get = reader.get
        self.geo = lru_cache(maxsize=10_000)(lambda ip: GraphMemoryReference._geo(get, ip))
        resolve = ua_parser.BestAvailableResolver(load_builtins())
        self.ua = lru_cache(maxsize=10_000)(
            lambda s: GraphMemoryReference._ua(resolve, device_type, s))

    def run(self, raw: bytes, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        d = orjson.loads(raw)
        d["@timestamp"] = now
        msg = d.get("message")
        groups = self.search(msg) if type(msg) is str else None
        if groups is None:
            d["tags"] = ["_grokparsefailure"]
            return d, {}
        for group, parents, leaf, conv, _meta in self.caps:
            v = groups[group]
            if not v:
                continue
            if conv is not None:
                v = conv(v)
            node = d
            for k in parents:
                node = node.setdefault(k, {})
            node[leaf] = v
        tags: list[str] = []
        stamp = d.get("timestamp")
        if type(stamp) is str:
            try:  # dd/MMM/yyyy:HH:mm:ss Z
                d["@timestamp"] = datetime(int(stamp[7:11]), _MONTHS[stamp[3:6]], int(stamp[0:2]),
                                           int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]),
                                           tzinfo=_zone(stamp[21:26])).astimezone(UTC)
            except (ValueError, KeyError, IndexError):
                tags.append("_dateparsefailure")
        source = d.get("source")
        ip = source.get("address") if type(source) is dict else None
        if type(ip) is str:
            geo = self.geo(ip)
            if geo is None:
                tags.append("_geoip_lookup_failure")
            elif geo is not _NO_GEO:
                out = dict(geo)
                if "location" in out:
                    lat, lon = out["location"]
                    out["location"] = {"lat": lat, "lon": lon}
                source["geo"] = out
        ua_obj = d.get("user_agent")
        agent = ua_obj.get("original") if type(ua_obj) is dict else None
        if type(agent) is str and agent:
            flat, os_obj, device = self.ua(agent)
            ua_obj.update(flat)
            if os_obj is not None:
                ua_obj["os"] = dict(os_obj)
            ua_obj["device"] = dict(device)
        if tags:
            d["tags"] = tags
        return d, {}


def run_loop(ref: Reference, lines: list[bytes], total: int, batch: int = 1000) -> int:
    from logpipe.bench.reference import run_loop as loop
    return loop(ref, lines, total, batch)  # type: ignore[arg-type]


def compare(lines: list[bytes]) -> tuple[int, int, list[tuple[bytes, bytes]]]:
    """(documents, identical documents, a few differing pairs) of logpipe and this loop."""
    import asyncio
    from collections import Counter

    from logpipe.bench.simple_pipeline import load
    from logpipe.core.codec import event_from_json
    from logpipe.core.pipeline import Pipeline

    async def framework() -> list[bytes]:
        p = Pipeline(load([], [{"type": "blackhole"}]))
        for f in p.filters:
            await f.start()
        events = [event_from_json(raw) for raw in lines]
        for stage in p.filter_stages:
            events = stage.run(events)
        for f in p.filters:
            await f.stop()
        return [canonical(e.data, e.metadata) for e in events]

    ours = asyncio.run(framework())
    ref = Reference()
    now = datetime.now(UTC)
    theirs = [canonical(*ref.run(raw, now)) for raw in lines]
    a, b = Counter(ours), Counter(theirs)
    only_ours = sorted((a - b).elements())
    only_theirs = sorted((b - a).elements())
    return len(lines), sum((a & b).values()), list(zip(only_ours[:5], only_theirs[:5]))
