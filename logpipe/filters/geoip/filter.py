"""The ``geoip`` filter: ECS ``source.geo`` / ``source.as`` from a client address.

Each distinct address is resolved once and the resolution remembered across
batches in a bounded two-generation memo (client addresses repeat heavily in
access logs); with the cache off, once per batch. With the cache on, a
resolution is also kept under the database network it came from, so that a
new address in a network seen before needs no lookup
(logpipe.filters.geoip.networks). Results are built once per address and copied onto each event, so that no two events share a mutable object
that a later filter may edit in place (mutate renames and converts, a second
filter adds to it). Where the pipeline found that nothing later does
(``share_memo``, see logpipe.core.sharing), each event gets the one object
built for its address instead of a copy.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from maxminddb.errors import InvalidDatabaseError

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.memo import Generations
from logpipe.core.native import left_over, native_module
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sharing import SharesMemo
from logpipe.core.writes import TAGS_CHANGE, Writes, set_paths
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.fieldaccess import getter, setter
from logpipe.filters.geoip import address
from logpipe.filters.geoip.config import GEO_FIELDS, GeoipConfig
from logpipe.filters.geoip.database import DatabaseUnavailable, WatchedDatabase
from logpipe.filters.geoip.networks import MISS, NetworkMemo, address_number
from logpipe.filters.geoip.record import Template, as_object, geo_object

TAG_PRIVATE = "_geoip_private"
TAG_UNAVAILABLE = "_geoip_database_unavailable"

# Resolution outcomes.
FOUND, PRIVATE, INVALID, NOT_FOUND = range(4)
Resolution = tuple[int, Any, Any]


def default_city_database() -> str:
    """Path of the GeoLite2-City file that ships in the ``maxminddb-geolite2`` package."""
    try:
        from _maxminddb_geolite2 import geolite2_database
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigError("geoip: no `database` given and the maxminddb-geolite2 package "
                          "is not installed") from exc
    return str(geolite2_database())


def _as_target(target: Path) -> Path:
    if target[-1] == "geo":
        return target[:-1] + ("as",)
    return target + ("as",)


class GeoipFilter(SharesMemo, Filter):
    Config = GeoipConfig
    runs_on_event_loop = True
    config: GeoipConfig

    def __init__(self, config: GeoipConfig, *, id: str, context: PluginContext | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config, id=id, context=context)
        cfg = config
        self._source = parse(cfg.source)
        self._target = parse(cfg.target)
        self._as_target = parse(cfg.asn_target) if cfg.asn_target else _as_target(self._target)
        self._get_source = getter(self._source)
        #: ``[a][b]`` source and ``[a][c]`` geo target, both in the event's data (``source.ip``
        #: into ``source.geo``): the shared parent, read once per event for both.
        self._shared_parent: tuple[str, str, str] | None = None
        if (len(self._source) == 2 and len(self._target) == 2 and METADATA not in
                (self._source[0], self._target[0]) and self._source[0] == self._target[0]):
            self._shared_parent = (self._source[0], self._source[1], self._target[1])
        self._put_geo = setter(self._target)
        self._put_as = setter(self._as_target)
        self._tag_failure = tuple(cfg.tag_on_failure)
        self._tag_private = cfg.private == "tag"
        self._actions = CommonActions(cfg)
        keep = frozenset(cfg.fields) if cfg.fields is not None else None
        self._keep = keep
        self._want_geo = keep is None or any(f in keep for f in GEO_FIELDS)
        self._language = cfg.language
        self._city = WatchedDatabase(cfg.database or default_city_database(),
                                     check_interval=cfg.database_check_interval,
                                     clock=clock, log=self.log)
        self._asn: WatchedDatabase | None = None
        if cfg.asn_database:
            self._asn = WatchedDatabase(cfg.asn_database, check_interval=cfg.database_check_interval,
                                        clock=clock, log=self.log, expect_asn=True)
        self._opened = False
        #: Resolutions across batches, by address as written (``cache_size`` of them at most,
        #: in two generations); None when the cache is off: each batch then has its own.
        self._memo: Generations[str, Resolution] | None = (
            Generations(max(1, cfg.cache_size // 2)) if cfg.cache_size > 0 else None)
        #: Resolutions by the databases' network (an address's leaf in each tree); with the
        #: cache on only, since it outlives a batch.
        self._networks: NetworkMemo[Resolution] | None = (
            NetworkMemo(cfg.cache_size) if cfg.cache_size > 0 else None)
        #: logpipe_native.geoip_share: the shared case of the loop below for a whole batch.
        self._native_share: Callable[..., list[int]] | None = getattr(native_module(), "geoip_share", None)

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.open_databases()

    async def stop(self) -> None:
        self._city.close()
        if self._asn is not None:
            self._asn.close()

    def open_databases(self) -> None:
        """Open every database; a failure is a ConfigError unless ``on_missing: tag``."""
        self._opened = True
        for db in self._databases():
            try:
                db.open()
            except DatabaseUnavailable as exc:
                if self.config.on_missing == "fail":
                    raise ConfigError(f"geoip: {exc}", path="database") from exc
                self.log.warning("geoip: %s; events are tagged %s until it can be read",
                                 exc, TAG_UNAVAILABLE)
        self._clear_cache()

    # --- what it writes ----------------------------------------------------------------
    def writes(self) -> Writes:
        return set_paths(self._target, self._as_target) + self.writes_after_sharing()

    def shared_paths(self) -> tuple[Path, ...]:
        return (self._target, self._as_target)

    def writes_after_sharing(self) -> Writes:
        return TAGS_CHANGE + common_writes(self.config)

    def _databases(self) -> list[WatchedDatabase]:
        return [self._city] if self._asn is None else [self._city, self._asn]

    def _clear_cache(self) -> None:
        if self._memo is not None:
            self._memo = Generations(self._memo.size)
        if self._networks is not None:
            self._networks.clear()

    # --- processing ------------------------------------------------------------------
    def process(self, events: list[Event]) -> list[Event]:
        if not self._opened:
            self.open_databases()
        changed = False
        for db in self._databases():
            changed |= db.refresh()
        if changed:
            self._clear_cache()
        unavailable = not self._city.available or (self._asn is not None and not self._asn.available)

        # Each distinct address is resolved once (then remembered across batches when the
        # cache is on); the answer is copied onto each event as it comes, or shared.
        memo = self._memo
        newer: dict[str, Resolution] = memo.newer if memo is not None else {}
        resolve = self._resolve_uncached
        get_source, put_geo, put_as = self._get_source, self._put_geo, self._put_as
        tag_failure, tag_private = self._tag_failure, self._tag_private
        actions = self._actions.active
        found: list[Event] = []
        share = self.share_memo
        shared = self._shared_parent
        parent_key, source_key, geo_key = shared if shared is not None else ("", "", "")
        todo = events
        if (share and shared is not None and self._native_share is not None and not actions
                and not unavailable and newer):
            # The events whose address has a remembered place and no AS object get it
            # natively; the loop below takes the others, each as it would have.
            todo = left_over(events, self._native_share(events, parent_key, source_key, geo_key, newer,
                                                        Template))
        for event in todo:
            # The parent of source and target when it is a plain dict (the usual case),
            # else None and the general reader and writer answer.
            parent = None
            if shared is not None:
                parent = event.data.get(parent_key)
                if type(parent) is dict:
                    value = parent.get(source_key)
                elif parent is None:
                    continue   # no source object: no address (what the general reader says)
                else:
                    parent = None
                    value = get_source(event)
            else:
                value = get_source(event)
            if value is None:
                continue
            if type(value) is not str:
                if isinstance(value, list) and value and isinstance(value[0], str):
                    value = value[0]  # a forwarded-for chain: the first is the client
                else:
                    if tag_failure:
                        event.add_tag(*tag_failure)
                    continue
            resolution = newer.get(value)
            if resolution is None:
                if memo is not None:
                    resolution = memo.recall(value, resolve)
                    newer = memo.newer   # recall may have started a new generation
                else:
                    resolution = newer[value] = resolve(value)
            outcome, geo, asn = resolution
            if outcome == FOUND:
                if geo is not None:
                    if share:
                        built = geo.whole
                    else:
                        # Template.build written out: a fresh object, its nested objects fresh too
                        built = geo.flat.copy()
                        for key, inner in geo.nested:
                            built[key] = inner.copy()
                    if parent is not None:
                        parent[geo_key] = built
                    else:
                        put_geo(event, built)
                if asn is not None:
                    put_as(event, asn.whole if share else asn.build())
                if actions:
                    found.append(event)
            elif outcome == PRIVATE:
                if tag_private:
                    event.add_tag(TAG_PRIVATE)
            elif tag_failure and not (unavailable and outcome == NOT_FOUND):
                event.add_tag(*tag_failure)
            if unavailable and outcome != PRIVATE:
                event.add_tag(TAG_UNAVAILABLE)
        if found:
            self._actions.apply(found)
        return events

    def _resolve_uncached(self, value: str) -> Resolution:
        verdict, addr = address.classify(value)
        if verdict == address.INVALID:
            return INVALID, None, None
        if verdict == address.PRIVATE:
            return PRIVATE, None, None
        networks = self._networks
        if networks is not None:
            width, number = address_number(addr)  # type: ignore[arg-type]
            known = networks.find(width, number)
            if known is not MISS:
                return known  # type: ignore[return-value]
        geo = asn = None
        # The answer is the same for every address sharing the leading bits of both
        # leaves: as many bits as the deeper one.
        depth = 0
        try:
            if self._want_geo and self._city.reader is not None:
                record, depth = self._city.get_network(addr)
                found = geo_object(record, self._language, self._keep)
                geo = Template(found) if found else None
            if self._asn is not None and self._asn.reader is not None:
                record, as_depth = self._asn.get_network(addr)
                depth = max(depth, as_depth)
                found = as_object(record, self._keep)
                asn = Template(found) if found else None
        except (InvalidDatabaseError, ValueError, OSError) as exc:
            self.log.warning("geoip: lookup of %s failed: %s", value, exc)
            return INVALID, None, None
        resolution: Resolution
        if geo is None and asn is None:
            resolution = (NOT_FOUND, None, None)
        else:
            if self.share_memo:
                # every event from this network will hold these very objects (logpipe.core.frozen)
                for template in (geo, asn):
                    if template is not None:
                        self.context.frozen.vouch(template.whole)
            resolution = (FOUND, geo, asn)
        if networks is not None:
            networks.keep(width, number, depth, resolution)
        return resolution
