"""Enrichment filters (geoip, useragent, scrub, perfclass, classify) in events/s.

Each filter runs over pre-built batches of realistic GraphMemory traffic, next
to a straight-line loop that calls the same library with nothing around it
(no events, no batching, no ECS objects), measured in the same run: the ratio
is what the filter costs on top of the library.

- geoip: 5,000 distinct public addresses over the events, Zipf-like (a few
  clients make most requests), 5% from 40 cluster-internal addresses; cache
  off (``cache_size: 0``) next to ``maxminddb`` reader ``.get`` per event, and
  cache on next to the same reader behind ``functools.lru_cache``.
- useragent: a few hundred distinct strings, Zipf-like; the same pairs, with
  ua-parser's resolver (the native ``ua-parser-rs`` one when it is installed;
  the re2 one is measured too, which is why ``ua-parser-rs`` is a dependency).
- scrub: access and application events (a minority carrying e-mails, tokens,
  secret fields), next to ``orjson.dumps`` of the same events as a yardstick,
  and with the pre-checks disabled to show what they save.

    python benchmarks/bench_enrichment.py [--events N] [--batch N] [--json]
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import ipaddress
import os
import random
import sys
import time
from functools import lru_cache
from typing import Any, Callable

import orjson

# Importable from a checkout without installing.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("LOGPIPE_SCRUB_KEY", "benchmark-key")

from logpipe.core.event import Event  # noqa: E402
from logpipe.filters.classify import ClassifyFilter  # noqa: E402
from logpipe.filters.geoip import GeoipFilter, default_city_database  # noqa: E402
from logpipe.filters.geoip.address import is_public  # noqa: E402
from logpipe.filters.perfclass import PerfClassFilter  # noqa: E402
from logpipe.filters.scrub import ScrubFilter  # noqa: E402
from logpipe.filters.useragent import UserAgentFilter  # noqa: E402

Docs = list[dict[str, Any]]


# --- data ------------------------------------------------------------------------------
def zipf_choices(rng: random.Random, population: list[Any], count: int, s: float = 1.0) -> list[Any]:
    weights = [1.0 / (rank + 1) ** s for rank in range(len(population))]
    return rng.choices(population, weights=weights, k=count)


def public_addresses(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        if rng.random() < 0.1:
            addr: Any = ipaddress.IPv6Address(rng.getrandbits(128) & ((1 << 125) - 1) | (1 << 125))
        else:
            addr = ipaddress.IPv4Address(rng.getrandbits(32))
        if is_public(addr):
            out.add(str(addr))
    return sorted(out, key=lambda _: rng.random())


def user_agents(rng: random.Random) -> list[str]:
    agents = []
    for major in range(100, 131):
        for build in (0, 6099, 6261):
            agents.append(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          f"Chrome/{major}.0.{build}.{rng.randint(10, 200)} Safari/537.36")
            agents.append(f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, "
                          f"like Gecko) Chrome/{major}.0.{build}.0 Safari/537.36")
    for ios in ("15_7", "16_6", "17_0", "17_1_2", "17_2", "17_4_1"):
        agents.append(f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                      f"(KHTML, like Gecko) Version/{ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1")
        agents.append(f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
                      f"(KHTML, like Gecko) Version/{ios.split('_')[0]}.0 Mobile/15E148 Safari/604.1")
    for model in ("Pixel 7", "Pixel 8", "SM-S918B", "SM-A546B", "M2101K6G", "CPH2451", "SM-X710"):
        for major in (118, 119, 120, 121):
            agents.append(f"Mozilla/5.0 (Linux; Android 14; {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
                          f"Chrome/{major}.0.0.0 Mobile Safari/537.36")
    for version in range(110, 122):
        agents.append(f"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{version}.0) Gecko/20100101 "
                      f"Firefox/{version}.0")
    agents += ["curl/8.4.0", "curl/7.88.1", "python-requests/2.31.0", "python-httpx/0.27.0",
               "kube-probe/1.28", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
               "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
               "sqlmap/1.7.2#stable (https://sqlmap.org)", "Go-http-client/1.1"]
    rng.shuffle(agents)
    return agents


#: Cluster-internal clients (health checks, other services): private, never looked up.
POD_ADDRESSES = [f"10.42.{i // 8}.{i % 8 + 2}" for i in range(40)]
PATHS = ["/api/memories", "/api/memories/{id}", "/api/search?q=graph+databases&page={n}",
         "/api/graph/nodes/{id}", "/api/auth/login", "/dashboard", "/static/app.{id}.js",
         "/api/analytics/summary?range=7d", "/healthz"]


def access_docs(rng: random.Random, count: int, addresses: list[str], agents: list[str]) -> Docs:
    ips = zipf_choices(rng, addresses, count, 0.9)
    uas = zipf_choices(rng, agents, count, 1.1)
    docs = []
    for i in range(count):
        ip = ips[i] if rng.random() > 0.05 else rng.choice(POD_ADDRESSES)
        path = rng.choice(PATHS).format(id=rng.randint(1, 99999), n=rng.randint(1, 9))
        status = rng.choices([200, 201, 304, 401, 404, 422, 500, 503], [70, 8, 8, 3, 5, 2, 2, 2])[0]
        doc: dict[str, Any] = {
            "message": f'{ip} - - [15/Jan/2024:10:00:00 +0000] "GET {path} HTTP/1.1" {status} 512',
            "source": {"ip": ip},
            "url": {"original": path, "path": path.split("?")[0]},
            "http": {"request": {"method": rng.choice(["GET", "GET", "GET", "POST"])},
                     "response": {"status_code": status, "body": {"bytes": rng.randint(100, 90000)}}},
            "user_agent": {"original": uas[i]},
            "nginx": {"request_time": f"{rng.expovariate(1 / 0.25):.3f}"},
            "service": {"name": "nginx"},
        }
        r = rng.random()
        if r < 0.03:
            doc["url"]["original"] += "&email=someone%40example.com&token=abc123def"
        elif r < 0.05:
            doc["http"]["request"]["headers"] = {"authorization": "Bearer eyJhbGciOi.eyJzdWIi.sig",
                                                 "cookie": "session=xyz"}
        docs.append(doc)
    return docs


def app_docs(rng: random.Random, count: int) -> Docs:
    messages = ["memory created", "search completed in 120 ms", "graph traversal finished depth=3",
                "cache miss for key memories:42", "user alice@example.com logged in",
                "payment failed for card 4111 1111 1111 1111",
                "calling https://api.example.com?api_key=sk_live_abc123 took 340 ms",
                "neo4j session opened", "request validated", "retrying after 2024-01-15T10:00:00Z"]
    docs = []
    for _ in range(count):
        doc: dict[str, Any] = {"message": zipf_choices(rng, messages, 1, 0.7)[0],
                               "service": {"name": "graphmemory-api"},
                               "log": {"level": rng.choice(["info", "info", "info", "warning", "error"])},
                               "trace": {"id": f"{rng.getrandbits(128):032x}"},
                               "labels": {"tenant": "t-17", "route": "/api/memories"}}
        if rng.random() < 0.1:
            doc["error"] = {"type": "neo4j.exceptions.ServiceUnavailable",
                            "message": "Failed to establish connection",
                            "stack_trace": "Traceback (most recent call last):\n  File ...\n" * 3}
        if rng.random() < 0.05:
            doc["context"] = {"user": {"email": "Bob@Example.org", "password": "hunter2"}}
        docs.append(doc)
    return docs


# --- measurement ---------------------------------------------------------------------
def best_of(repeats: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeats))


def filter_rate(make: Callable[[], Any], docs: Docs, batch: int, repeats: int) -> float:
    def once() -> float:
        f = make()  # fresh filter: caches start cold in every run
        start = getattr(f, "start", None)
        if start is not None:
            asyncio.run(start())  # load databases and rule sets before the clock starts
        batches = [[Event(copy.deepcopy(d)) for d in docs[i:i + batch]] for i in range(0, len(docs), batch)]
        # A running pipeline holds a few batches, not the whole data set: keep the
        # pre-built events out of the garbage collector's full passes.
        gc.freeze()
        try:
            started = time.perf_counter()
            for b in batches:
                f.process(b)
            return time.perf_counter() - started
        finally:
            gc.unfreeze()
    return len(docs) / best_of(repeats, once)


def loop_rate(items: list[Any], make_call: Callable[[], Callable[[Any], Any]], repeats: int) -> float:
    """``make_call`` gives the function to call per item, fresh for every run (so a
    cache in it starts cold each time, as the filters' caches do)."""
    def once() -> float:
        call = make_call()
        started = time.perf_counter()
        for item in items:
            call(item)
        return time.perf_counter() - started
    return len(items) / best_of(repeats, once)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(42)
    n, batch, repeats = args.events, args.batch, args.repeats

    addresses = public_addresses(rng, 5000)
    agents = user_agents(rng)
    access = access_docs(rng, n, addresses, agents)
    app = app_docs(rng, n)
    gc.collect()
    gc.freeze()  # the source data is not what is being measured
    #: (what, events/s, the reference's events/s or None for a reference row)
    rows: list[tuple[str, float, float | None]] = []

    import maxminddb
    reader = maxminddb.open_database(default_city_database(), maxminddb.MODE_MMAP_EXT)
    ips = [d["source"]["ip"] for d in access]
    raw_geo = loop_rate(ips, lambda: reader.get, repeats)
    cached_geo = loop_rate(ips, lambda: lru_cache(maxsize=10_000)(reader.get), repeats)
    rows.append(("geoip: maxminddb reader.get loop", raw_geo, None))
    rows.append(("geoip filter, cache_size 0", filter_rate(
        lambda: GeoipFilter(GeoipFilter.Config(cache_size=0), id="g"), access, batch, repeats), raw_geo))
    rows.append(("geoip: reader.get behind lru_cache(10000) loop", cached_geo, None))
    rows.append(("geoip filter, cache on (10000)", filter_rate(
        lambda: GeoipFilter(GeoipFilter.Config(), id="g"), access, batch, repeats), cached_geo))

    import ua_parser
    from ua_parser import Domain, load_builtins
    uas = [d["user_agent"]["original"] for d in access]
    best = ua_parser.BestAvailableResolver(load_builtins())
    raw_ua = loop_rate(uas, lambda: lambda s: best(s, Domain.ALL).complete(), 1)
    cached_ua = loop_rate(uas, lambda: lru_cache(maxsize=10_000)(lambda s: best(s, Domain.ALL).complete()),
                          repeats)
    name = ua_parser.BestAvailableResolver.__module__
    rows.append((f"useragent: {name} resolver loop", raw_ua, None))
    if ua_parser.Re2Resolver is not None and ua_parser.Re2Resolver is not ua_parser.BestAvailableResolver:
        re2 = ua_parser.Re2Resolver(load_builtins())
        rows.append(("useragent: ua_parser.re2 resolver loop", loop_rate(
            uas[: n // 4], lambda: lambda s: re2(s, Domain.ALL).complete(), 1), raw_ua))
    rows.append(("useragent filter, cache_size 0", filter_rate(
        lambda: UserAgentFilter(UserAgentFilter.Config(cache_size=0), id="u"), access, batch, 1), raw_ua))
    rows.append((f"useragent: {name} resolver behind lru_cache loop", cached_ua, None))
    rows.append(("useragent filter, cache on (10000)", filter_rate(
        lambda: UserAgentFilter(UserAgentFilter.Config(), id="u"), access, batch, repeats), cached_ua))

    mixed = [d for pair in zip(access[: n // 2], app[: n // 2]) for d in pair]
    ref_dump = loop_rate(mixed, lambda: orjson.dumps, repeats)
    rows.append(("scrub: orjson.dumps of the same events (yardstick)", ref_dump, None))
    rows.append(("scrub filter", filter_rate(lambda: ScrubFilter(ScrubFilter.Config(), id="s"),
                                             mixed, batch, repeats), ref_dump))

    def no_prechecks() -> ScrubFilter:
        f = ScrubFilter(ScrubFilter.Config(), id="s")
        f.scrubber._prefilter._set = None  # walk every event, looking for every kind
        masker = f.scrubber._mask
        everything = sum(masker._bits.values())
        masker._selection = lambda text, kinds: everything  # type: ignore[method-assign]
        return f
    rows.append(("scrub filter without pre-checks", filter_rate(no_prechecks, mixed, batch, repeats),
                 ref_dump))
    rows.append(("perfclass filter", filter_rate(lambda: PerfClassFilter(PerfClassFilter.Config(
        source="nginx.request_time", unit="s"), id="p"), access, batch, repeats), ref_dump))
    rows.append(("classify filter (access + app events)", filter_rate(
        lambda: ClassifyFilter(ClassifyFilter.Config(), id="c"), mixed, batch, repeats), ref_dump))

    if args.json:
        print(orjson.dumps([{"name": name, "events_per_s": round(rate),
                             "vs_reference": round(rate / ref, 3) if ref else None}
                            for name, rate, ref in rows]).decode())
        return 0
    print(f"{n} events, batches of {batch}, {len(set(ips))} distinct addresses, "
          f"{len(set(uas))} distinct user agents; best of {repeats}")
    for name, rate, ref in rows:
        ratio = f"{rate / ref:6.2f}x the reference above" if ref else "(reference)"
        print(f"  {name:<58} {rate:>12,.0f} events/s  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
