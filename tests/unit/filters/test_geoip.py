"""GeoIP enrichment against the GeoLite2-City database shipped in maxminddb-geolite2
(build of 2018-07-03) and small databases written for the tests."""
from __future__ import annotations

import asyncio
import copy
import os
import shutil
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.geoip import GeoipFilter, default_city_database
from logpipe.filters.geoip.address import is_public, parse

mmdb_writer = pytest.importorskip("mmdb_writer")
netaddr = pytest.importorskip("netaddr")


def write_db(path: Path, kind: str, networks: dict[str, dict[str, Any]]) -> Path:
    """A tiny MaxMind database: network -> record."""
    writer = mmdb_writer.MMDBWriter(ip_version=6, database_type=kind, ipv4_compatible=True)
    for net, record in networks.items():
        writer.insert_network(netaddr.IPSet([net]), record)
    tmp = path.with_suffix(".tmp")
    writer.to_db_file(str(tmp))
    os.replace(tmp, path)  # how operators should replace a database: atomically
    return path


def city(country: str, name: str, city_name: str, lat: float, lon: float) -> dict[str, Any]:
    return {"country": {"iso_code": country, "names": {"en": name}},
            "city": {"names": {"en": city_name}},
            "location": {"latitude": lat, "longitude": lon, "time_zone": "Europe/Paris"}}


def make(**settings: Any) -> GeoipFilter:
    f = GeoipFilter(GeoipFilter.Config(**settings), id="geo")
    asyncio.run(f.start())
    return f


def run(f: GeoipFilter, *addresses: Any) -> list[Event]:
    return f.process([Event({"source": {"ip": a}}) for a in addresses])


@pytest.fixture(scope="module")
def shipped() -> GeoipFilter:
    return make()


def test_default_database_is_the_shipped_geolite2_city() -> None:
    path = default_city_database()
    assert path.endswith("GeoLite2-City.mmdb") and os.path.isfile(path)


def test_public_ipv4_gets_country_city_region_and_location(shipped: GeoipFilter) -> None:
    [event] = run(shipped, "81.2.69.142")
    geo = event.get("source.geo")
    assert geo["country_iso_code"] == "GB"
    assert geo["country_name"] == "United Kingdom"
    assert geo["continent_code"] == "EU"
    assert geo["city_name"] == "Willesden"
    assert geo["region_name"] == "Brent"
    assert geo["region_iso_code"] == "GB-BEN"
    assert geo["postal_code"] == "NW10"
    assert geo["timezone"] == "Europe/London"
    assert geo["location"] == {"lat": pytest.approx(51.5333), "lon": pytest.approx(-0.2333)}
    assert not event.tags


def test_public_address_without_city_still_gets_country_and_location(shipped: GeoipFilter) -> None:
    [event] = run(shipped, "8.8.8.8")
    geo = event.get("source.geo")
    assert geo["country_iso_code"] == "US"
    assert "city_name" not in geo  # the 2018 database knows only the country here
    assert set(geo["location"]) == {"lat", "lon"}


def test_public_ipv6(shipped: GeoipFilter) -> None:
    [event] = run(shipped, "2001:4860:4860::8888")
    geo = event.get("source.geo")
    assert geo["country_iso_code"] == "US"
    assert geo["city_name"] == "Mountain View"
    assert geo["region_iso_code"] == "US-CA"


@pytest.mark.parametrize("addr", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "fe80::1", "::1",
                                  "172.16.5.4", "100.64.0.1", "169.254.1.1", "224.0.0.251",
                                  "0.0.0.0", "255.255.255.255", "::ffff:10.0.0.1", "fd00::1",
                                  "192.0.2.10", "2001:db8::1"])
def test_non_public_addresses_are_not_looked_up(addr: str) -> None:
    f = make(private="tag")
    calls: list[Any] = []
    real_get = f._city.get_network
    f._city.get_network = lambda a: calls.append(a) or real_get(a)  # type: ignore[method-assign]
    [event] = run(f, addr)
    assert calls == []
    assert event.get("source.geo") is None
    assert event.tags == ["_geoip_private"]


def test_private_skip_mode_adds_nothing(shipped: GeoipFilter) -> None:
    [event] = run(shipped, "192.168.1.1")
    assert event.get("source.geo") is None and not event.tags


@pytest.mark.parametrize("text", ["8.8.8.8", " 8.8.8.8 ", "81.2.69.142", "2001:4860:4860::8888",
                                  "::ffff:8.8.8.8"])
def test_public_addresses_are_public(text: str) -> None:
    addr = parse(text)
    assert addr is not None and is_public(addr)


def test_invalid_address_is_tagged(shipped: GeoipFilter) -> None:
    events = run(shipped, "not-an-ip", "999.1.1.1", "")
    for event in events:
        assert event.tags == ["_geoip_lookup_failure"]
        assert event.get("source.geo") is None


def test_non_text_source_is_tagged_but_a_list_uses_its_first_address(shipped: GeoipFilter) -> None:
    bad, chain = shipped.process([Event({"source": {"ip": 42}}),
                                  Event({"source": {"ip": ["81.2.69.142", "10.0.0.1"]}})])
    assert bad.tags == ["_geoip_lookup_failure"]
    assert chain.get("source.geo.country_iso_code") == "GB"


def test_missing_source_field_leaves_event_alone(shipped: GeoipFilter) -> None:
    [event] = shipped.process([Event({"message": "x"})])
    assert "source" not in event.data and not event.tags


def test_address_the_database_does_not_know_is_tagged(tmp_path: Path) -> None:
    db = write_db(tmp_path / "city.mmdb", "GeoLite2-City",
                  {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    f = make(database=str(db))
    known, unknown = run(f, "81.2.69.142", "8.8.8.8")
    assert known.get("source.geo.city_name") == "Paris" and not known.tags
    assert unknown.tags == ["_geoip_lookup_failure"]


def test_events_sharing_an_address_get_independent_objects(shipped: GeoipFilter) -> None:
    a, b = run(shipped, "81.2.69.142", "81.2.69.142")
    a.get("source.geo")["city_name"] = "changed"
    a.get("source.geo.location")["lat"] = 0
    assert b.get("source.geo.city_name") == "Willesden"
    assert b.get("source.geo.location.lat") == pytest.approx(51.5333)
    [c] = run(shipped, "81.2.69.142")  # and the cache was not touched either
    assert c.get("source.geo.city_name") == "Willesden"


def test_cache_off_gives_the_same_answers() -> None:
    f = make(cache_size=0)
    [event] = run(f, "81.2.69.142")
    assert event.get("source.geo.city_name") == "Willesden"


def test_fields_subset_and_custom_source_and_target() -> None:
    f = make(source="client.address", target="client.geo", fields=["country_iso_code", "location"])
    [event] = f.process([Event({"client": {"address": "81.2.69.142"}})])
    assert set(event.get("client.geo")) == {"country_iso_code", "location"}


def test_unknown_field_name_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown geoip field"):
        GeoipFilter.Config(fields=["country", "city_name"])


def test_asn_database_fills_source_as(tmp_path: Path) -> None:
    asn = write_db(tmp_path / "asn.mmdb", "GeoLite2-ASN", {
        "8.8.8.0/24": {"autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"},
        "2001:4860::/32": {"autonomous_system_number": 15169,
                           "autonomous_system_organization": "Google LLC"},
    })
    f = make(asn_database=str(asn))
    v4, v6, no_as = run(f, "8.8.8.8", "2001:4860:4860::8888", "81.2.69.142")
    for event in (v4, v6):
        assert event.get("source.as") == {"number": 15169, "organization": {"name": "Google LLC"}}
        assert event.get("source.geo.country_iso_code") == "US"
    assert no_as.get("source.as") is None and no_as.get("source.geo.city_name") == "Willesden"
    assert not no_as.tags


def test_a_city_database_given_as_asn_database_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected an ASN"):
        make(asn_database=default_city_database())


def test_missing_database_fails_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        make(database=str(tmp_path / "nope.mmdb"))


def test_unreadable_database_fails_start_up(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"this is not a maxmind database" * 10)
    with pytest.raises(ConfigError, match="not a MaxMind database"):
        make(database=str(junk))


def test_missing_database_in_tag_mode_tags_then_recovers_when_file_appears(tmp_path: Path) -> None:
    path = tmp_path / "later.mmdb"
    f = make(database=str(path), on_missing="tag", database_check_interval=0)
    public, private = run(f, "81.2.69.142", "10.0.0.1")
    assert public.tags == ["_geoip_database_unavailable"]
    assert private.tags == []
    write_db(path, "GeoLite2-City", {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    [event] = run(f, "81.2.69.142")
    assert event.get("source.geo.city_name") == "Paris" and not event.tags


def test_database_replaced_on_disk_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    shutil.copyfile(default_city_database(), path)
    f = make(database=str(path), database_check_interval=0)
    [before] = run(f, "81.2.69.142")
    assert before.get("source.geo.city_name") == "Willesden"
    old_reader = f._city.reader
    write_db(path, "GeoLite2-City", {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    [after] = run(f, "81.2.69.142")  # cached before; the cache must not outlive the file
    assert f._city.reader is not old_reader
    assert after.get("source.geo.country_iso_code") == "FR"
    assert after.get("source.geo.city_name") == "Paris"


def test_change_is_noticed_only_after_the_check_interval(tmp_path: Path) -> None:
    now = [0.0]
    path = write_db(tmp_path / "c.mmdb", "GeoLite2-City",
                    {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    f = GeoipFilter(GeoipFilter.Config(database=str(path), database_check_interval=5),
                    id="geo", clock=lambda: now[0])
    asyncio.run(f.start())
    write_db(path, "GeoLite2-City", {"81.2.69.0/24": city("DE", "Germany", "Berlin", 52.5, 13.4)})
    now[0] = 4.0
    [event] = run(f, "81.2.69.142")
    assert event.get("source.geo.city_name") == "Paris"
    now[0] = 5.5
    [event] = run(f, "81.2.69.142")
    assert event.get("source.geo.city_name") == "Berlin"


def test_broken_replacement_keeps_the_old_database(tmp_path: Path) -> None:
    path = write_db(tmp_path / "c.mmdb", "GeoLite2-City",
                    {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    f = make(database=str(path), database_check_interval=0)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database")
    os.replace(junk, path)
    [event] = run(f, "81.2.69.142")
    assert event.get("source.geo.city_name") == "Paris"
    write_db(path, "GeoLite2-City", {"81.2.69.0/24": city("DE", "Germany", "Berlin", 52.5, 13.4)})
    [event] = run(f, "81.2.69.142")  # a good file after the broken one is taken
    assert event.get("source.geo.city_name") == "Berlin"


def test_a_lookup_error_tags_the_event_instead_of_raising(shipped: GeoipFilter) -> None:
    f = make()

    def corrupt(addr: Any) -> Any:
        raise maxminddb.InvalidDatabaseError("search tree is corrupt")
    f._city.get_network = corrupt  # type: ignore[method-assign]
    [event] = run(f, "81.2.69.142")
    assert event.tags == ["_geoip_lookup_failure"]


@pytest.mark.parametrize("text, verdict", [
    ("8.8.8.8", "public"), (" 81.2.69.142\n", "public"), ("172.15.0.1", "public"), ("172.32.0.1", "public"),
    ("100.63.255.255", "public"), ("100.128.0.1", "public"), ("192.169.0.1", "public"),
    ("2001:4860:4860::8888", "public"), ("::ffff:8.8.8.8", "public"),
    ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
    ("192.168.1.1", "private"), ("100.64.0.1", "private"), ("127.0.0.1", "private"),
    ("169.254.169.254", "private"), ("224.0.0.1", "private"), ("240.0.0.1", "private"),
    ("198.18.0.1", "private"), ("203.0.113.5", "private"), ("fe80::1%eth0", "private"),
    ("ff02::1", "private"), ("::", "private"),
    ("1.2.3", "invalid"), ("1.2.3.4.5", "invalid"), ("256.1.1.1", "invalid"), ("01.2.3.4", "invalid"),
    ("1.2.3.-4", "invalid"), ("١.2.3.4", "invalid"), ("a.b.c.d", "invalid"), ("1.2.3.4:80", "invalid"),
    ("", "invalid"), ("gggg::1", "invalid"),
])
def test_address_classification(text: str, verdict: str) -> None:
    from logpipe.filters.geoip.address import classify
    assert classify(text)[0] == verdict


def test_an_anonymous_proxy_gets_the_country_its_block_is_registered_in(shipped: GeoipFilter) -> None:
    """The shipped database knows 67.43.156.0/24 only as an anonymous proxy registered in
    the US: no location, but a country is still an answer, not a lookup failure."""
    [event] = run(shipped, "67.43.156.1")
    assert event.get("source.geo") == {"country_iso_code": "US", "country_name": "United States"}
    assert "_geoip_lookup_failure" not in (event.get("tags") or [])


def test_a_batch_gives_each_event_what_it_gets_alone(shipped: GeoipFilter) -> None:
    """Addresses are resolved once per batch; every event still gets its own answer,
    tags and objects, whatever else is in the batch."""
    values: list[Any] = ["81.2.69.142", "10.0.0.1", "not an address", None, 42,
                         ["81.2.69.142", "8.8.8.8"], "2001:4860:4860::8888", "81.2.69.142", "8.8.8.8",
                         "127.0.0.1", "81.2.69.142"]
    batch = shipped.process([Event({"source": {"ip": v}, "@timestamp": 0}) for v in values])
    alone = [shipped.process([Event({"source": {"ip": v}, "@timestamp": 0})])[0] for v in values]
    assert [(e.data, e.tags) for e in batch] == [(e.data, e.tags) for e in alone]
    geos = [e.get("source.geo") for e in batch if e.get("source.geo") is not None]
    assert len({id(g) for g in geos}) == len(geos) == 6
    assert len({id(g["location"]) for g in geos}) == 6


def test_events_sharing_an_address_get_independent_as_objects(tmp_path: Path) -> None:
    asn = write_db(tmp_path / "asn.mmdb", "GeoLite2-ASN", {
        "8.8.8.0/24": {"autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"}})
    f = make(asn_database=str(asn))
    a, b = run(f, "8.8.8.8", "8.8.8.8")
    a.get("source.as.organization")["name"] = "changed"
    assert b.get("source.as.organization.name") == "Google LLC"
    [c] = run(f, "8.8.8.8")
    assert c.get("source.as.organization.name") == "Google LLC"


# The filter reads ``source`` once for the address and the geo object when both live in
# it (``source.ip`` into ``source.geo``); any other shape of ``source`` takes the general
# reader and writer. Same answers as a target under another parent, whatever the shape.
_SOURCE_SHAPES = st.one_of(
    st.none(), st.just("8.8.8.8"), st.just([1, 2]), st.just(7),
    st.fixed_dictionaries({}, optional={
        "ip": st.one_of(st.sampled_from(["8.8.8.8", "81.2.69.142", "10.0.0.1", "nonsense", "::1",
                                         "2001:4860:4860::8888"]),
                        st.none(), st.just(["81.2.69.142", "8.8.8.8"]), st.just(3), st.just({})),
        "geo": st.one_of(st.just("old"), st.just({"city_name": "x"})),
        "port": st.just(443)}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(_SOURCE_SHAPES, min_size=1, max_size=6))
def test_shared_parent_gives_what_the_general_path_gives(shipped: GeoipFilter,
                                                         shapes: list[Any]) -> None:
    def events() -> list[Event]:
        return [Event({"@timestamp": 0} if s is None else {"@timestamp": 0, "source": copy.deepcopy(s)})
                for s in shapes]

    other = make(target="[where][geo]", asn_target="[where][as]")
    fused = shipped.process(events())
    general = other.process(events())
    for a, b in zip(fused, general):
        where = b.data.pop("where", {})
        if "geo" in where:
            # The general run wrote the geo object elsewhere: move it where the fused run did.
            b.set_path(("source", "geo"), where["geo"])
        assert a.data == b.data


def test_a_small_memo_answers_as_no_memo_across_batches() -> None:
    """Resolutions are remembered in two bounded generations; a memo that keeps rolling
    over gives every batch what resolving each address afresh gives, and stays bounded."""
    remembering, fresh = make(cache_size=4), make(cache_size=0)
    values: list[Any] = ["81.2.69.142", "8.8.8.8", "10.0.0.1", "2001:4860:4860::8888", "67.43.156.1",
                         "not an address", ["8.8.8.8", "81.2.69.142"], 7, None, "1.1.1.1", "81.2.69.160",
                         "127.0.0.1", " 8.8.4.4", "9.9.9.9"]

    def batch(start: int) -> list[Event]:
        picked = [values[(start + 5 * i) % len(values)] for i in range(9)]
        return [Event({"@timestamp": 0, "source": {"ip": copy.deepcopy(v)}}) for v in picked] + [
            Event({"@timestamp": 0}), Event({"@timestamp": 0, "source": "8.8.8.8"})]
    for start in range(12):
        got = remembering.process(batch(start))
        expected = fresh.process(batch(start))
        assert [(e.data, e.tags) for e in got] == [(e.data, e.tags) for e in expected]
        assert remembering._memo is not None and len(remembering._memo) <= 4
