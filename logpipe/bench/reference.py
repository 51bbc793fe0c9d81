"""The yardstick of the graphmemory scenario: the same work, written straight through.

This is the loop kept up to date: it uses the native libraries logpipe uses
now (Hyperscan for the signature lists, logpipe's native grok matcher and its
native scrub check and mask search when the module is installed, else Hyperscan for the scrub
triggers), and does per batch what logpipe does per batch (the batch's new
texts matched against the attack lists in one call, one scrub check). The
loop as it was when issue 18 was filed is frozen in :mod:`.reference_v1`.

What ``pipelines/graphmemory.yaml`` does to an event, as one function over a
plain dict, calling the libraries directly: orjson, the grok expressions
already expanded (the native matcher, else ``re``), maxminddb and ua-parser each behind a
two-generation memo read with one ``dict.get``, RE2 sets for the signature lists, ``hmac`` for the
e-mail hash. No events, stages, conditions, plugins or queues; the
regular expressions run without the grok engine's RE2 gate and time budget
(this loop trusts its input). The ratio of logpipe's rate to this loop's is
the framework's efficiency.

Data are shared with logpipe where a hand-written script would copy them too:
the expanded grok expressions, the signature files, the scrubbing patterns and
the route budgets. :func:`compare` checks that both produce the same documents,
so the yardstick cannot drift into doing less work.
"""
from __future__ import annotations

import fnmatch
import hashlib
import hmac
import os
import re
from bisect import bisect_right
from collections import deque
from datetime import datetime, timedelta, timezone
from functools import lru_cache, partial
from itertools import accumulate
from ipaddress import ip_address
from typing import Any, Callable, Iterable, Sequence, cast
from urllib.parse import unquote, unquote_plus

import maxminddb
import orjson
import re2
import ua_parser
from ua_parser import Domain, load_builtins

from logpipe.bench.pool import POOL_TIME
from logpipe.core.memo import Generations
from logpipe.core.native import native_module
from logpipe.filters.geoip.networks import MISS, NetworkMemo, address_number
from logpipe.filters.mutate_native import native_gsub
from logpipe.filters.patternset import PatternSet
from logpipe.filters.scrub.patterns import native_finder, re_spans, splice

UTC = timezone.utc
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_FAILURE_LEVELS = frozenset({"error", "err", "critical", "crit", "fatal", "alert",
                             "emergency", "emerg", "panic", "severe"})
_LOGIN_ACTIONS = frozenset({"login_failed", "login_failure", "authentication_failed",
                            "auth_failed", "user_login_failed"})
_SEVERITY = {"client_error": 21, "validation": 21, "login_failure": 21, "server_error": 47,
             "timeout": 47, "dependency": 47, "scanner": 47, "sqli": 73, "xss": 73,
             "path_traversal": 73, "brute_force": 73}
_INTRUSION = frozenset({"sqli", "xss", "path_traversal", "scanner", "brute_force"})
_NO_GEO = object()


def _geo_object(geo: Any) -> Any:
    """The geo object as events hold it (``location`` as lat/lon), made once per address."""
    if type(geo) is dict and "location" in geo:
        lat, lon = geo["location"]
        geo = {**geo, "location": {"lat": lat, "lon": lon}}
    return geo


_MISS = object()
_NOTHING: frozenset[str] = frozenset()


@lru_cache(maxsize=256)
def _zone(offset: str) -> timezone:
    minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    return timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))


Search = Callable[[str], "Sequence[str | None] | None"]


def _searcher(regex: str, names: list[str]) -> Search:
    """The texts of the groups ``names`` of a match of ``regex`` (None: no match): the
    native matcher when it is installed, as logpipe's gated engine uses it, else
    ``re`` compiled as that engine compiles it (a lazy field that ends the
    expression, the user agent, as a character class; the same answers)."""
    from logpipe.filters.grok.native import native_matcher
    from logpipe.filters.grok.rewrite import compile_extraction

    native = native_matcher(regex, names)
    if native is not None:
        return cast(Search, native.search)
    rx = compile_extraction(regex, re.ASCII | re.DOTALL)
    numbers = [rx.groupindex[n] for n in names]

    def search(text: str) -> Sequence[str | None] | None:
        m = rx.search(text)
        return None if m is None else [m.group(n) for n in numbers]
    return search


def _grok_regex(pipeline: dict[str, Any], filter_id: str) -> list[tuple[Search, list[Any]]]:
    """The expanded expressions of one grok filter of the pipeline, each as a search
    answering its captures' texts in order, with the captures as (position, parent
    keys, leaf, converter, into metadata)."""
    from logpipe.filters.grok.matcher import Compiler

    spec = next(f for f in pipeline["filters"] if f.get("id") == filter_id)
    compiler = Compiler(pattern_definitions=spec.get("pattern_definitions") or {})
    out = []
    for texts in spec["match"].values():
        for text in texts if isinstance(texts, list) else [texts]:
            translation = compiler.compile(text).program.translation
            caps = []
            for n, c in enumerate(translation.captures):
                conv = {"int": int, "float": float}.get(c.type or "")
                meta = c.path[0] == "@metadata"
                keys = c.path[1:] if meta else c.path
                caps.append((n, keys[:-1], keys[-1], conv, meta))
            out.append((_searcher(translation.regex, [c.group for c in translation.captures]), caps))
    return out


_DIGITS = re.compile("[0-9]+")


def _route_ids() -> Callable[[str], str]:
    """The numbers of a path replaced by ``:id``: the native substitution logpipe's
    mutate gsub uses for such a pattern (logpipe.filters.mutate_native), ``re`` for
    what it cannot take (lone surrogates) or without the module."""
    native = native_gsub("[0-9]+", ":id", ("http", "route"))
    if native is None:
        return partial(_DIGITS.sub, ":id")

    def sub(path: str) -> str:
        try:
            return native.sub(path)
        except ValueError:
            return _DIGITS.sub(":id", path)
    return sub


class _Signatures:
    """Pattern lists in one native pass (Hyperscan, as logpipe does; a script would
    reach for the same library)."""

    def __init__(self, lists: dict[str, list[str]], names: tuple[str, ...], ignore_case: dict[str, bool],
                 *, ends: bool = False):
        self.kinds = [name for name in names for _ in lists.get(name, [])]
        self.set = PatternSet([(p, ignore_case[name]) for name in names for p in lists.get(name, [])],
                              ends=ends)

    def match(self, text: str) -> set[str]:
        hits = self.set.match(text)
        return {self.kinds[i] for i in hits} if hits else set()


class Reference:
    """Everything set up once; :meth:`run` then does one event's work per record."""

    def __init__(self, scrub_key: bytes | None = None, *, brute_force: bool = True) -> None:
        from _maxminddb_geolite2 import geolite2_database

        from logpipe.bench.pipelines import graphmemory_raw
        from logpipe.filters.classify import signatures
        from logpipe.filters.perfclass.config import graphmemory_routes
        from logpipe.filters.scrub import patterns
        from logpipe.filters.scrub.config import ALL_KINDS, DEFAULT_SECRET_FIELDS, DEFAULT_SECRET_PARAMS
        from logpipe.filters.scrub.native import native_check
        from logpipe.filters.scrub.scrubber import shortest_match
        from logpipe.filters.useragent.devicetype import device_type

        pipeline = graphmemory_raw()
        self.access = _grok_regex(pipeline, "parse_access")
        [(self.url_search, _)] = _grok_regex(pipeline, "split_url")
        self.json_rx = re.compile(r"^\s*\{", re.M)
        # The native ASCII test logpipe's regex conditions use, else re.
        from logpipe.core.condition_regex import ascii_test
        self.json_ascii = ascii_test(self.json_rx)

        reader = maxminddb.open_database(str(geolite2_database()), maxminddb.MODE_MMAP_EXT)
        # addresses and User-Agents repeat: answers remembered in two generations of 5,000,
        # looked up with one dict.get; a new address in a database network seen before
        # takes that network's answer (logpipe.filters.geoip.networks), as logpipe's does
        networks: NetworkMemo[Any] = NetworkMemo(5_000)
        depth = [-1]

        def get(text: str) -> Any:
            record, depth[0] = reader.get_with_prefix_len(text)
            return record

        def geo_make(ip: str) -> Any:
            try:
                addr = ip_address(ip.strip())
            except ValueError:
                addr = None
            key = None
            # only an address _geo looks up (a public one) is answered by its network
            if addr is not None and (getattr(addr, "ipv4_mapped", None) or addr).is_global \
                    and not addr.is_multicast:
                key = address_number(addr)
            if key is not None:
                known = networks.find(*key)
                if known is not MISS:
                    return known
            depth[0] = -1
            geo = _geo_object(self._geo(get, ip))
            self._frozen([geo])
            if key is not None and depth[0] >= 0:
                networks.keep(*key, depth[0], geo)
            return geo

        self.geo_make: Callable[[str], Any] = geo_make
        self.geo = Generations[str, Any](5_000)

        resolve = ua_parser.BestAvailableResolver(load_builtins())
        def ua_make(agent: str) -> Any:
            parsed = self._ua(resolve, device_type, agent)
            self._frozen(parsed[1:])   # os and device
            return parsed

        self.ua_make: Callable[[str], Any] = ua_make
        self.ua = Generations[str, Any](5_000)

        routes = []
        for r in graphmemory_routes():
            rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in r.match))
            methods = frozenset(m.upper() for m in r.method) if r.method else None
            bounds = r.thresholds
            routes.append((rx, methods, r.budget_ms, r.name,
                           (bounds.fast_ms, bounds.normal_ms, bounds.slow_ms) if bounds else None))
        def route(path: str, method: str | None) -> Any:
            outcome = self._route(routes, path, method)
            self._frozen(outcome[4])   # the performance objects
            return outcome

        self.route = lru_cache(maxsize=4096)(route)
        self.no_route = _outcome(None, None, (100, 500, 2000))

        lists = signatures.load()
        cases = signatures.LISTS
        self.errors = _Signatures(lists, ("error_timeout", "error_dependency", "error_validation"), cases)
        self.attacks = _Signatures(lists, ("sqli", "xss", "path_traversal", "login_failure"), cases, ends=True)
        self.scanners = _Signatures(lists, ("scanner",), cases)
        self.error_class = lru_cache(maxsize=10_000)(self._error_class)
        self.kinds_memo: dict[str, frozenset[str]] = {}
        self.is_scanner = lru_cache(maxsize=10_000)(lambda ua: bool(self.scanners.match(ua[:8192])))
        login = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in (
            "/login", "/login/*", "/auth/login*", "/api/auth/login*", "/api/login*",
            "/api/v[0-9]*/auth/login*", "/api/auth/token*", "/oauth/token*", "/token")))
        self.login_path = lru_cache(maxsize=4096)(lambda p: login.match(p.rstrip("/") or "/") is not None)
        self.failures: dict[str, deque[float]] = {}
        self.brute_force = brute_force

        key = scrub_key if scrub_key is not None else os.environ["LOGPIPE_SCRUB_KEY"].encode()
        self.hash_email = lru_cache(maxsize=10_000)(
            lambda a: hmac.new(key, a.encode(), hashlib.sha256).hexdigest())
        self.email_out: Callable[[str], str] = lambda a: self.hash_email(unquote(a).lower())
        secret_names = sorted({n.lower().replace("-", "").replace("_", "") for n in DEFAULT_SECRET_FIELDS})
        suffix = re.compile("(?:" + "|".join(re.escape(n) for n in secret_names) + ")$")
        self.secret_name = lru_cache(maxsize=20_000)(
            lambda k: suffix.search(k.lower().replace("-", "").replace("_", "")) is not None)
        names = sorted({n for n in (*DEFAULT_SECRET_FIELDS, *DEFAULT_SECRET_PARAMS)})
        letters = "|".join("[-_]*".join(re.escape(ch) for ch in n.lower() if ch not in "-_") for n in names)
        self.trigger_kinds = ["secret", "email", "bearer", "jwt", "aws_key", "card"]
        self.trigger = PatternSet([(p, False) for p in (
            "(?i:" + letters + ")[-_]*(?:\\\\?[\"'])?(?: |\\\\t)*[=:]",
            r"(?i:[a-z0-9._%+\-](?:@|%40)[a-z0-9\-])", "(?i:bearer)",
            "eyJ", "AKIA|ASIA", r"[0-9](?:[ \-]?[0-9]){12}")], ends=True)
        params = []
        for name in sorted({n.lower() for n in DEFAULT_SECRET_PARAMS}, key=len, reverse=True):
            params.append("[-_]?".join(re.escape(p) for p in re.split(r"[-_]", name) if p))
        self.alternatives = {
            "secret": patterns._SECRET.replace("{names}", "|".join(params)), "bearer": patterns._BEARER,
            "jwt": patterns._JWT, "aws_key": patterns._AWS_KEY, "email": patterns._EMAIL,
            "card": patterns._CARD}
        self.param_hint = re2.compile("(?i:" + "|".join(params) + ")")
        self.digit_run = re2.compile(r"[0-9](?:[ \-]?[0-9]){12}")
        self.mask_rx = lru_cache(maxsize=64)(self._mask_rx)
        self.native = native_module()
        self.mask_finder = lru_cache(maxsize=64)(self._mask_finder)
        # The native event check logpipe's scrub filter uses, built from the same
        # settings (None without the native module: the scan below does the work).
        self.scrub_check = native_check(
            ALL_KINDS, DEFAULT_SECRET_PARAMS, secret_names, secret_names,
            shortest_match(list(ALL_KINDS), list(DEFAULT_SECRET_PARAMS)))
        self._frozen(self.no_route[4])
        self.mask_memo: dict[tuple[str, frozenset[str]], tuple[str, tuple[tuple[str, int], ...]]] = {}
        # The route of each path, remembered in two generations of 8,192 (the older
        # dropped when the newer fills), as logpipe's gsub remembers it.
        self.routes_new: dict[str, str] = {}
        self.routes_old: dict[str, str] = {}
        self.route_ids = _route_ids()

    # --- cached helpers ------------------------------------------------------------------
    def _frozen(self, shared: Iterable[Any]) -> None:
        """Tells the scrub check that these objects, which documents share, never change
        (None is left out): it walks each once and skips the clean ones."""
        if self.scrub_check is not None:
            self.scrub_check.vouch([obj for obj in shared if type(obj) is dict])

    @staticmethod
    def _geo(get: Callable[[str], Any], ip: str) -> Any:
        try:
            addr = ip_address(ip.strip())
        except ValueError:
            return None
        mapped = getattr(addr, "ipv4_mapped", None)
        if not (mapped or addr).is_global or addr.is_multicast:
            return _NO_GEO
        rec = get(ip.strip())
        if not rec:
            return None
        geo: dict[str, Any] = {}
        cont = rec.get("continent")
        if cont:
            if "code" in cont:
                geo["continent_code"] = cont["code"]
            if cont.get("names", {}).get("en"):
                geo["continent_name"] = cont["names"]["en"]
        country = rec.get("country") or rec.get("registered_country") or {}
        iso = country.get("iso_code")
        if iso:
            geo["country_iso_code"] = iso
        if country.get("names", {}).get("en"):
            geo["country_name"] = country["names"]["en"]
        subs = rec.get("subdivisions")
        if subs:
            if subs[-1].get("iso_code"):
                geo["region_iso_code"] = f"{iso}-{subs[-1]['iso_code']}" if iso else subs[-1]["iso_code"]
            if subs[-1].get("names", {}).get("en"):
                geo["region_name"] = subs[-1]["names"]["en"]
        if (rec.get("city") or {}).get("names", {}).get("en"):
            geo["city_name"] = rec["city"]["names"]["en"]
        if (rec.get("postal") or {}).get("code"):
            geo["postal_code"] = rec["postal"]["code"]
        loc = rec.get("location") or {}
        if loc.get("time_zone"):
            geo["timezone"] = loc["time_zone"]
        if loc.get("latitude") is not None and loc.get("longitude") is not None:
            geo["location"] = (loc["latitude"], loc["longitude"])
        return geo or None

    @staticmethod
    def _ua(resolve: Any, device_type: Any, s: str) -> tuple[Any, ...]:
        res = resolve(s[:1024], Domain.ALL).complete()

        def version(p: Any) -> str | None:
            return ".".join(x for x in (p.major, p.minor, p.patch, getattr(p, "patch_minor", None)) if x) or None

        flat: dict[str, Any] = {}
        os_obj = None
        if res.user_agent is not None:
            flat["name"] = res.user_agent.family
            v = version(res.user_agent)
            if v:
                flat["version"] = v
        if res.os is not None:
            v = version(res.os)
            os_obj = {"name": res.os.family, **({"version": v, "full": f"{res.os.family} {v}"} if v
                                                 else {"full": res.os.family})}
        device = {"type": device_type(res, s[:1024])}
        if res.device is not None:
            device["name"] = res.device.family
        return flat, os_obj, device

    @staticmethod
    def _route(routes: list[Any], path: str, method: str | None) -> Any:
        upper = method.upper() if method else None
        for rx, methods, budget, name, bounds in routes:
            if methods is not None and upper not in methods:
                continue
            if rx.search(path):
                return _outcome(budget, name, bounds or (100, 500, 2000))
        return _outcome(None, None, (100, 500, 2000))

    def _json_text(self, msg: str) -> bool:
        """Whether ``msg`` is JSON text by its start: the native test for ASCII text, else re."""
        if self.json_ascii is not None:
            found = self.json_ascii(msg)
            if found is not None:
                return found
        return self.json_rx.search(msg) is not None

    def _error_class(self, text: str) -> str | None:
        found = self.errors.match(text[:16384])
        for cls in ("timeout", "dependency", "validation"):
            if f"error_{cls}" in found:
                return cls
        return None

    @staticmethod
    def _forms(text: str) -> str:
        """What the attack lists are matched against: the text (its first 8 KiB) and
        its URL-decoded forms, a line each."""
        text = text[:8192]
        if "%" in text or "+" in text:
            once = unquote_plus(text, errors="replace")
            if once != text:
                twice = unquote_plus(once, errors="replace") if "%" in once else once
                text = f"{text}\n{once}\n{twice}" if twice != once else f"{text}\n{once}"
        return text

    def _remember(self, text: str, kinds: frozenset[str]) -> None:
        if len(self.kinds_memo) >= 10_000:
            self.kinds_memo.clear()
        self.kinds_memo[text] = kinds

    def text_kinds(self, text: str) -> frozenset[str]:
        """The attack kinds in one text, remembered."""
        found = self.kinds_memo.get(text)
        if found is None:
            found = frozenset(self.attacks.match(self._forms(text)))
            self._remember(text, found)
        return found

    def batch_kinds(self, parsed: list[tuple[dict[str, Any], dict[str, Any], list[str]]]) -> dict[str, frozenset[str]]:
        """The attack kinds of every text a batch's documents will be classified by:
        the remembered ones looked up, the distinct others matched in one call."""
        memo = self.kinds_memo
        out: dict[str, frozenset[str]] = {}
        unknown: list[str] = []
        for d, _, _ in parsed:
            url = d.get("url")
            http = d.get("http")
            request = http.get("request") if type(http) is dict else None
            body = request.get("body") if type(request) is dict else None
            texts = [d.get("message"), body.get("content") if type(body) is dict else None]
            if type(url) is dict:
                texts += (url.get("original"), url.get("path"), url.get("query"))
            for text in texts:
                if type(text) is str and text and text not in out:
                    found = memo.get(text)
                    if found is None:
                        unknown.append(text)
                        found = _NOTHING
                    out[text] = found
        if unknown:
            kinds = self.attacks.kinds
            pattern_set = self.attacks.set
            if self.native is not None and pattern_set.joinable and len(unknown) > 1:
                # Units made and joined natively, as logpipe's classify makes them.
                joined, after, taken, aside = self.native.join_units(unknown, 8192)
                matched = pattern_set.match_joined(joined, after, taken, lambda i: self._forms(unknown[i]))
                for i in aside:
                    hits = pattern_set.match(self._forms(unknown[i]))
                    if hits:
                        matched[i] = hits
            else:
                matched = pattern_set.match_many([self._forms(text) for text in unknown])
            for i, hits in matched.items():
                out[unknown[i]] = frozenset({kinds[h] for h in hits})
            for text in unknown:
                self._remember(text, out[text])
        return out

    def _mask_rx(self, kinds: frozenset[str]) -> re.Pattern[str]:
        order = ("secret", "bearer", "jwt", "aws_key", "email", "card")
        return re.compile("|".join(self.alternatives[k] for k in order if k in kinds))

    def _mask_finder(self, kinds: frozenset[str]) -> tuple[Any, list[str]]:
        """The same expression for PCRE2, with the kind of each group it reports
        (``\\s`` widened to what ``re`` counts as ASCII space)."""
        names: list[str] = [k for k in ("secret", "bearer", "jwt", "aws_key", "email", "card") if k in kinds]
        return native_finder(self.native, self.mask_rx(kinds), names), names

    # --- one record ----------------------------------------------------------------------
    def prepare(self, raw: bytes, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        d, meta, tags = self.parse(raw, now)
        return self.classify(d, meta, tags, now, self.text_kinds)

    def parse(self, raw: bytes, now: datetime) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """Everything before the errors and security: the document, its metadata and
        its tags (not yet written to the document)."""
        d = orjson.loads(raw)
        meta: dict[str, Any] = {}
        ts = d.get("@timestamp")
        if type(ts) is str:
            try:
                t = datetime.fromisoformat(ts)
                d["@timestamp"] = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
            except ValueError:
                del d["@timestamp"]
                d["_timestamp_original"] = ts
        elif ts is None:
            d["@timestamp"] = now
        tags: list[str] = d["tags"] if type(d.get("tags")) is list else []
        msg = d.get("message")

        # JSON text in message
        if type(msg) is str and "{" in msg and self._json_text(msg):
            try:
                inner = orjson.loads(msg)
            except orjson.JSONDecodeError:
                inner = None
            if type(inner) is dict:
                for k, v in inner.items():
                    if k == "@timestamp" and type(v) is str:
                        d[k] = datetime.fromisoformat(v).astimezone(UTC)
                    else:
                        d[k] = v
                msg = d.get("message")

        # access lines
        service = d.get("service")
        if (type(service) is not dict or service.get("name") is None) and msg is not None and msg is not False:
            if type(msg) is str:
                for search, caps in self.access:
                    groups = search(msg)
                    if groups is None:
                        continue
                    for group, parents, leaf, conv, into_meta in caps:
                        v = groups[group]
                        if not v:
                            continue
                        if conv is not None:
                            v = conv(v)
                        node = meta if into_meta else d
                        for k in parents:
                            node = node.setdefault(k, {})
                        node[leaf] = v
                    tags.append("access")
                    d.setdefault("event", {})["dataset"] = "graphmemory.access"
                    break

        # url path and query
        url = d.get("url")
        original = url.get("original") if type(url) is dict else None
        if original is not None and original is not False:
            parts = self.url_search(original) if type(original) is str else None
            if parts is not None:
                if parts[0]:
                    url["path"] = parts[0]
                if parts[1]:
                    url["query"] = parts[1]
            else:
                tags.append("_url_parse_failure")

        # the route: the path with its numbers replaced
        path0 = url.get("path") if type(url) is dict else None
        if path0 is not None and path0 is not False:
            http0 = d.get("http")
            if type(http0) is not dict:
                http0 = d["http"] = {}
            if type(path0) is str and len(path0) <= 256:
                route0 = self.routes_new.get(path0)
                if route0 is None:
                    route0 = self.routes_old.get(path0)
                    if route0 is None:
                        route0 = self.route_ids(path0)
                    if len(self.routes_new) >= 8192:
                        self.routes_old = self.routes_new
                        self.routes_new = {}
                    self.routes_new[path0] = route0
                http0["route"] = route0
            else:
                http0["route"] = _DIGITS.sub(":id", str(path0))

        # access time
        stamp = meta.get("access_time")
        if stamp is not None:
            try:  # dd/MMM/yyyy:HH:mm:ss Z
                d["@timestamp"] = datetime(int(stamp[7:11]), _MONTHS[stamp[3:6]], int(stamp[0:2]),
                                           int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]),
                                           tzinfo=_zone(stamp[21:26])).astimezone(UTC)
            except (ValueError, KeyError, IndexError):
                tags.append("_dateparsefailure")

        # geoip
        source = d.get("source")
        ip = source.get("ip") if type(source) is dict else None
        if type(ip) is str:
            geo = self.geo.newer.get(ip, _MISS)
            if geo is _MISS:
                geo = self.geo.recall(ip, self.geo_make)
            if geo is None:
                tags.append("_geoip_lookup_failure")
            elif geo is not _NO_GEO:
                # nothing later in this script changes it (scrub copies what it masks):
                # every event from this address holds the one object
                source["geo"] = geo

        # user agent
        ua_obj = d.get("user_agent")
        agent = ua_obj.get("original") if type(ua_obj) is dict else None
        if type(agent) is str and agent and agent != "-":
            parsed = self.ua.newer.get(agent)
            if parsed is None:
                parsed = self.ua.recall(agent, self.ua_make)
            flat, os_obj, device = parsed
            ua_obj.update(flat)
            if os_obj is not None:
                ua_obj["os"] = os_obj   # shared, as the geo object is
            ua_obj["device"] = device

        # performance class
        http = d.get("http")
        request = http.get("request") if type(http) is dict else None
        method = request.get("method") if type(request) is dict else None
        path = url.get("path") if type(url) is dict else None
        if type(path) is not str:
            path = original.split("?", 1)[0] if type(original) is str else None
        event = d.get("event")
        duration = meta.get("request_time")
        ns = None
        if duration is not None:
            ns = round(duration * 1_000_000_000) if type(duration) is float else duration * 1_000_000_000
        elif type(event) is dict and type(event.get("duration")) is int:
            ns = event["duration"]
        if ns is not None:
            if type(event) is not dict:
                event = d["event"] = {}
            event["duration"] = ns
            ms = ns / 1_000_000
            # the route's bounds, budget (+inf for none) and its performance objects made
            # in advance, one per class and breach
            fast, normal, slow, budget, perfs = (
                self.no_route if path is None else self.route(path, method if type(method) is str else None))
            d["performance"] = perfs[(ms >= fast) + (ms >= normal) + (ms >= slow) + 4 * (ms > budget)]
        return d, meta, tags

    def classify(self, d: dict[str, Any], meta: dict[str, Any], tags: list[str], now: datetime,
                 text_kinds: Callable[[str], frozenset[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The errors and security, the sampling and the index; ``text_kinds``: the
        attack kinds of a text."""
        url = d.get("url")
        original = url.get("original") if type(url) is dict else None
        ua_obj = d.get("user_agent")
        agent = ua_obj.get("original") if type(ua_obj) is dict else None
        http = d.get("http")
        request = http.get("request") if type(http) is dict else None
        method = request.get("method") if type(request) is dict else None
        path = url.get("path") if type(url) is dict else None
        if type(path) is not str:
            path = original.split("?", 1)[0] if type(original) is str else None
        event = d.get("event")
        source = d.get("source")

        # errors and security
        response = http.get("response") if type(http) is dict else None
        status = response.get("status_code") if type(response) is dict else None
        if type(status) is not int:
            status = None
        categories = ["web"] if (http is not None or url is not None) else []
        new_tags: list[str] = []
        severity = 0
        error = d.get("error")
        exc_class = None
        has_exc = False
        if type(error) is dict:
            for value in (error.get("type"), error.get("message"), error.get("stack_trace")):
                if type(value) is str and value:
                    has_exc = True
                    if exc_class is None:
                        exc_class = self.error_class(value)
        log = d.get("log")
        level = log.get("level") if type(log) is dict else None
        failed = (status is not None and status >= 400) or (
            type(level) is str and level.lower() in _FAILURE_LEVELS) or (status is None and has_exc)
        if failed:
            outcome: str | None = "failure"
            cls = {408: "timeout", 504: "timeout", 422: "validation"}.get(status) if status else None
            cls = cls or exc_class or (None if status is None else
                                       "client_error" if status < 500 else "server_error")
            if cls is not None:
                if type(error) is not dict:
                    error = d["error"] = {}
                error["category"] = cls
                new_tags.append(cls)
                severity = _SEVERITY[cls]
        else:
            outcome = "success" if status is not None and 100 <= status < 400 else "unknown"

        found_kinds: set[str] = set()
        query = url.get("query") if type(url) is dict else None
        body = request.get("body") if type(request) is dict else None
        for text in (original, url.get("path") if type(url) is dict else None, query, d.get("message"),
                     body.get("content") if type(body) is dict else None):
            if type(text) is str and text:
                found_kinds |= text_kinds(text) - {"login_failure"}
        if type(agent) is str and agent and self.is_scanner(agent):
            found_kinds.add("scanner")
        login = None
        action = event.get("action") if type(event) is dict else None
        if type(action) is str and action.lower() in _LOGIN_ACTIONS:
            login = "failure"
        else:
            if path is not None and type(method) is str and method.upper() == "POST" and self.login_path(path):
                if status in (401, 403):
                    login = "failure"
                elif status is not None and 200 <= status < 400:
                    login = "success"
            message = d.get("message")
            if login is None and type(message) is str and message and "login_failure" in text_kinds(message):
                login = "failure"
        if login is not None:
            categories.append("authentication")
            if login == "failure":
                found_kinds.add("login_failure")
                outcome = "failure"
            key = source.get("ip") if type(source) is dict else None
            if type(key) is str and key and self.brute_force:
                clock = now.timestamp()
                times = self.failures.get(key)
                if login == "failure":
                    if times is None:
                        times = self.failures[key] = deque(maxlen=5)
                        if len(self.failures) > 10_000:
                            del self.failures[next(iter(self.failures))]
                    times.append(clock)
                if times is not None and len(times) >= 5 and clock - times[0] <= 60:
                    found_kinds.add("brute_force")
        if found_kinds:
            new_tags.append("security")
            new_tags.extend(sorted(found_kinds))
            severity = max(severity, max(_SEVERITY[k] for k in found_kinds))
            if _INTRUSION & found_kinds:
                categories.append("intrusion_detection")
        for tag in new_tags:
            if tag not in tags:
                tags.append(tag)
        if type(event) is not dict:
            event = d["event"] = {}
        if categories:
            current = event.get("category")
            if current is None:
                event["category"] = categories
            else:
                if type(current) is not list:
                    current = event["category"] = [current]
                current.extend(c for c in categories if c not in current)
        if _INTRUSION & found_kinds:
            event["kind"] = "alert"
        elif "kind" not in event:
            event["kind"] = "event"
        if severity:
            before = event.get("severity")
            event["severity"] = max(severity, before) if type(before) is int else severity
        if outcome == "failure" or (outcome is not None and event.get("outcome") in (None, "unknown")):
            event["outcome"] = outcome
        if tags:
            d["tags"] = tags

        # sampling, off in the benchmark (rate 1): every request log records its weight
        if status is not None or (type(response) is dict and response.get("status_code") not in (None, False)):
            event["sampling"] = {"rate": 1, "weight": 1}

        # the index
        perf = d.get("performance")
        if "security" in tags:
            meta["category"] = "security"
        elif (type(perf) is dict and perf.get("slo_breach") is True) or (
                type(d.get("db")) is dict and d["db"].get("statement") not in (None, False)):
            meta["category"] = "perf"
        elif "access" in tags:
            meta["category"] = "access"
        else:
            meta["category"] = "app"

        return d, meta

    def run(self, raw: bytes, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = self.prepare(raw, now)
        self.scrub_batch([doc[0]])
        return doc

    def run_batch(self, raws: list[bytes], now: datetime) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        parsed = [self.parse(raw, now) for raw in raws]
        kinds = self.batch_kinds(parsed)

        def text_kinds(text: str) -> frozenset[str]:
            found = kinds.get(text)
            return found if found is not None else self.text_kinds(text)
        docs = [self.classify(d, meta, tags, now, text_kinds) for d, meta, tags in parsed]
        self.scrub_batch([d for d, _ in docs])
        return docs

    # --- scrubbing, a batch at a time --------------------------------------------------
    def scrub_batch(self, docs: list[dict[str, Any]]) -> None:
        """The native check names, for each document, the strings (keys or values)
        that hold a trigger and the kinds found in each: only those strings are
        masked, only those keys looked at. A document it cannot answer (a string
        with a lone surrogate), or every document without the native module, goes
        through :meth:`_scan_batch`."""
        check = self.scrub_check
        if check is None:
            self._scan_batch(docs)
            return
        plans, holders, undecided = check.plans_held(docs)
        for d, plan, held in zip(docs, plans, holders):
            if plan:  # {text: kinds}; an empty plan: nothing to mask
                counts: dict[str, int] = {}
                self._scrub_targets(d, plan, counts, held)
                self._scrubbed(d, counts)
        if undecided:
            self._scan_batch([docs[i] for i in undecided])

    def _scan_batch(self, docs: list[dict[str, Any]]) -> None:
        """Each document serialized, one scan of them all for where the triggers end;
        the last character of a match names the string (key or value) it lies in,
        or for a secret name ending a key (``"name":``) the string just before:
        only those strings are masked, only those keys looked at. Text outside
        ASCII gets the whole walk."""
        raws = [orjson.dumps(d, default=_opaque) for d in docs]
        scan_ends = self.trigger.scan_ends
        if scan_ends is None:  # no Hyperscan: every document alone
            for raw, d in zip(raws, docs):
                hits = self.trigger.match_bytes(raw)
                if hits:
                    counts: dict[str, int] = {}
                    self._scrub(d, frozenset(self.trigger_kinds[h] for h in hits), counts)
                    self._scrubbed(d, counts)
            return
        found = scan_ends(b"\n".join(raws))
        if not found:
            return
        bounds = list(accumulate((len(r) + 1 for r in raws), initial=0))
        per_doc: dict[int, list[tuple[int, int]]] = {}
        for pattern_id, end in found:
            i = bisect_right(bounds, end - 1) - 1
            per_doc.setdefault(i, []).append((pattern_id, end - 1 - bounds[i]))
        for i, at in per_doc.items():
            raw, d = raws[i], docs[i]
            counts = {}
            if not raw.isascii():
                hits = self.trigger.match_bytes(raw)
                if hits:
                    self._scrub(d, frozenset(self.trigger_kinds[h] for h in hits), counts)
                    self._scrubbed(d, counts)
                continue
            targets: dict[str, set[str]] = {}
            for pattern_id, last in at:
                opening = _unescaped_quote(raw, last, -1)
                head = raw[:opening].replace(b"\\\\", b"")  # even quotes before: it opens a string
                if opening >= 0 and (head.count(b'"') - head.count(b'\\"')) % 2:
                    if self.trigger_kinds[pattern_id] != "secret":
                        continue  # in a number
                    opening = _unescaped_quote(raw, opening, -1)  # a key: "name":
                if opening < 0:
                    continue
                closing = _unescaped_quote(raw, opening + 1, 1)
                text = orjson.loads(raw[opening:closing + 1])
                targets.setdefault(text, set()).add(self.trigger_kinds[pattern_id])
            if targets:
                self._scrub_targets(d, {t: frozenset(k) for t, k in targets.items()}, counts)
                self._scrubbed(d, counts)

    @staticmethod
    def _scrubbed(d: dict[str, Any], counts: dict[str, int]) -> None:
        if counts:
            event = d.get("event")
            if type(event) is not dict:
                event = d["event"] = {}
            event["scrubbed"] = counts

    def _scrub_targets(self, obj: Any, targets: dict[str, frozenset[str]], counts: dict[str, int],
                       held: frozenset[int] | None = None, own: bool = True) -> Any:
        """Masks the targets in ``obj``; with ``held`` (the ids of the dicts and lists
        the native check found holding one), entering only those. Below the document's
        top level (``own``) nothing is changed in place: the enrichment objects are
        shared between documents, so a container that changes is answered as a copy."""
        items = obj.items() if type(obj) is dict else enumerate(obj)
        doomed = []
        changed = []
        for key, value in items:
            if type(key) is str and key in targets and self.secret_name(key):
                doomed.append(key)
                continue
            kind = type(value)
            if kind is str:
                kinds = targets.get(value)
                if kinds is not None:
                    done = self.mask_memo.get((value, kinds))
                    if done is None:  # masked once per distinct text and kinds
                        mine: dict[str, int] = {}
                        done = self._mask(value, kinds, mine), tuple(mine.items())
                        if len(self.mask_memo) >= 10_000:
                            self.mask_memo.clear()
                        self.mask_memo[(value, kinds)] = done
                    for k, n in done[1]:
                        counts[k] = counts.get(k, 0) + n
                    if done[0] != value:
                        changed.append((key, done[0]))
            elif (kind is dict or kind is list) and (held is None or id(value) in held):
                new = self._scrub_targets(value, targets, counts, held, False)
                if new is not value:
                    changed.append((key, new))
        if not changed and not doomed:
            return obj
        return _changed(obj, changed, doomed, counts, own)

    def _scrub(self, obj: Any, kinds: frozenset[str], counts: dict[str, int], own: bool = True) -> Any:
        items = obj.items() if type(obj) is dict else enumerate(obj)
        doomed = []
        changed = []
        for key, value in items:
            if type(key) is str and self.secret_name(key):
                doomed.append(key)
                continue
            kind = type(value)
            if kind is str:
                new = self._mask(value, kinds, counts)
                if new is not value:
                    changed.append((key, new))
            elif kind is dict or kind is list:
                new = self._scrub(value, kinds, counts, False)
                if new is not value:
                    changed.append((key, new))
        if not changed and not doomed:
            return obj
        return _changed(obj, changed, doomed, counts, own)

    def _mask(self, text: str, kinds: frozenset[str], counts: dict[str, int]) -> str:
        want = set()
        if "email" in kinds and ("@" in text or "%40" in text):
            want.add("email")
        if "jwt" in kinds and "eyJ" in text:
            want.add("jwt")
        if "bearer" in kinds and ("earer" in text or "EARER" in text):
            want.add("bearer")
        if "aws_key" in kinds and ("AKIA" in text or "ASIA" in text):
            want.add("aws_key")
        # ASCII text is searched with PCRE2 (the native module's MaskFinder), cheap
        # enough that the two RE2 searches narrowing the expression are not worth it.
        ascii_native = self.native is not None and text.isascii()
        if "secret" in kinds and ("=" in text or ":" in text) and (ascii_native or self.param_hint.search(text)):
            want.add("secret")
        if "card" in kinds and len(text) >= 13 and (ascii_native or self.digit_run.search(text)):
            want.add("card")
        if not want:
            return text
        chosen = frozenset(want)
        if ascii_native:
            # the whole mask natively, as logpipe's scrubber does it
            finder, _names = self.mask_finder(chosen)
            try:
                return finder.mask(text, self.email_out, counts)
            except ValueError:
                pass
        spans = re_spans(self.mask_rx(chosen), text)
        edits: list[tuple[int, int, str]] = []
        for kind, start, end, ks, ke in spans:
            if kind == "email":
                out = self.email_out(text[ks:ke])
            elif kind == "card":
                digits = text[ks:ke].replace(" ", "").replace("-", "")
                total = 0
                for i, ch in enumerate(reversed(digits)):
                    n = ord(ch) - 48
                    if i % 2:
                        n = n * 2 - 9 if n > 4 else n * 2
                    total += n
                if total % 10 or (ke - ks == len(digits) and digits[0] == "1"
                                  and len(digits) in (13, 16, 19)):
                    continue
                out = "[REDACTED:card]"
            elif kind == "secret":
                quote = text[ks] if text[ks] in "\"'" else ""
                out = text[start:ks] + quote + "[REDACTED:secret]" + quote
            elif kind == "bearer":
                out = text[start:ks] + "[REDACTED:bearer]"
            else:
                out = f"[REDACTED:{kind}]"
            counts[kind] = counts.get(kind, 0) + 1
            edits.append((start, end, out))
        return splice(text, edits)


def _changed(obj: Any, changed: list[Any], doomed: list[Any], counts: dict[str, int], own: bool) -> Any:
    """A scrubbed dict or list: the event's own top level changed in place, anything
    nested copied first (other events may hold the same object)."""
    out = obj if own else obj.copy()
    for key, new in changed:
        out[key] = new
    if doomed:
        for key in doomed:
            del out[key]
        counts["field"] = counts.get("field", 0) + len(doomed)
    return out


def _outcome(budget: Any, name: str | None, bounds: tuple[float, float, float]) -> Any:
    """Bounds, budget (+inf for none) and the eight performance objects of a route."""
    perfs = []
    for breach in (False, True):
        for cls in ("fast", "normal", "slow", "critical"):
            perf: dict[str, Any] = {"class": cls}
            if budget is not None:
                perf["budget_ms"] = budget
                perf["slo_breach"] = breach
            if name is not None:
                perf["route"] = name
            perfs.append(perf)
    return (*bounds, float("inf") if budget is None else budget, tuple(perfs))


def _opaque(_value: Any) -> None:
    return None


def _unescaped_quote(raw: bytes, pos: int, step: int) -> int:
    """The nearest quote before (step -1) or after (step 1) pos that no backslash escapes."""
    while True:
        pos = raw.rfind(b'"', 0, pos) if step < 0 else raw.find(b'"', pos)
        if pos < 0:
            return pos
        run = 0
        while raw[pos - 1 - run] == 92:
            run += 1
        if run % 2 == 0:
            return pos
        if step > 0:
            pos += 1


def run_loop(ref: Reference, lines: list[bytes], total: int, batch: int = 1000) -> int:
    """Process ``total`` records (cycling the pool) the way a plain script would."""
    done = 0
    n = len(lines)
    run = getattr(ref, "run_batch", None)
    while done < total:
        take = min(batch, total - done)
        start = done % n
        chunk = lines[start:start + take]
        if len(chunk) < take:
            chunk = chunk + lines[:take - len(chunk)]
        now = datetime.now(UTC)
        if run is not None:
            run(chunk, now)
        else:
            for raw in chunk:
                ref.run(raw, now)
        done += take
    return done


def canonical(data: dict[str, Any], meta: dict[str, Any]) -> bytes:
    """A document as comparable bytes: sorted keys, tags as a set, the arrival time
    (which differs between two runs) left out when the event carried no time."""
    doc = dict(data)
    ts = doc.get("@timestamp")
    if isinstance(ts, datetime) and abs(ts - POOL_TIME) > timedelta(hours=1):
        doc.pop("@timestamp")
    if isinstance(doc.get("tags"), list):
        doc["tags"] = sorted(doc["tags"])
    return orjson.dumps({"data": doc, "meta": meta}, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z,
                        default=str)


def compare(lines: list[bytes]) -> tuple[int, int, list[tuple[bytes, bytes]]]:
    """Run the pool through the pipeline's filters and through the reference; return
    (documents, identical documents, a few differing pairs).

    Brute-force detection is off on both sides here: it depends on the order in
    which a source's failed logins are seen, and the engine does not promise to keep
    the order of events inside a batch."""
    import asyncio
    from collections import Counter

    from logpipe.bench.pipelines import load_variant
    from logpipe.core.codec import event_from_json
    from logpipe.core.pipeline import Pipeline
    from logpipe.filters.classify.config import ClassifyConfig

    spec = load_variant([], [{"type": "blackhole"}])
    for entry in spec.filter_entries():
        if isinstance(entry.config, ClassifyConfig):
            entry.config.brute_force.enabled = False

    async def framework() -> list[bytes]:
        p = Pipeline(spec)
        for f in p.filters:
            await f.start()
        events = [event_from_json(raw) for raw in lines]
        for stage in p.filter_stages:
            events = stage.run(events)
        for f in p.filters:
            await f.stop()
        return [canonical(e.data, e.metadata) for e in events]

    ours = asyncio.run(framework())
    ref = Reference(brute_force=False)
    now = datetime.now(UTC)
    theirs = [canonical(*doc) for doc in ref.run_batch(lines, now)]
    a, b = Counter(ours), Counter(theirs)
    same = sum((a & b).values())
    only_ours = sorted((a - b).elements())
    only_theirs = sorted((b - a).elements())
    return len(lines), same, list(zip(only_ours[:5], only_theirs[:5]))
