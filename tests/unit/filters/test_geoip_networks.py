"""GeoIP answers kept by database network (logpipe.filters.geoip.networks): the same
documents as a lookup per address, on the shipped GeoLite2-City database and on
small databases with nested networks, with one lookup per network."""
from __future__ import annotations

import asyncio
import ipaddress
import random
import shutil
from pathlib import Path
from typing import Any

import maxminddb
from hypothesis import given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.geoip import GeoipFilter, default_city_database
from logpipe.filters.geoip.networks import MISS, NetworkMemo, address_number
from tests.unit.filters.test_geoip import city, write_db


def make(**settings: Any) -> GeoipFilter:
    f = GeoipFilter(GeoipFilter.Config(**settings), id="geo")
    asyncio.run(f.start())
    return f


def documents(f: GeoipFilter, addresses: list[str]) -> list[dict[str, Any]]:
    """What the filter wrote: the source object and the tags (not the events' times)."""
    return [{"source": e.data["source"], "tags": e.tags}
            for e in f.process([Event({"source": {"ip": a}}) for a in addresses])]


def counting(f: GeoipFilter) -> list[Any]:
    calls: list[Any] = []
    real = f._city.get_network
    f._city.get_network = lambda a: calls.append(a) or real(a)  # type: ignore[method-assign]
    return calls


#: Networks of the shipped database with public addresses, and some far apart.
_PREFIXES = ["81.2.69.", "89.160.20.", "216.160.83.", "175.16.199.", "2.125.160.", "67.43.156.",
             "8.8.8.", "1.1.1.", "52.95.110.", "151.101.1.", "91.198.174.", "46.4.84."]


def test_every_address_answers_as_its_own_lookup_on_the_shipped_database() -> None:
    rng = random.Random(5)
    addresses = [p + str(rng.randint(0, 255)) for p in _PREFIXES for _ in range(40)]
    addresses += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(400)]
    addresses += ["2001:4860:4860::8888", "2001:4860:4860::8844", "2a02:2770::21a:4aff:fe2b:1",
                  "::ffff:81.2.69.142", "::ffff:81.2.69.7", "81.2.69.142"]
    rng.shuffle(addresses)
    by_network = documents(make(), addresses)
    # cache_size 0: nothing outlives a batch, so each address of a batch of one is looked up.
    alone = make(cache_size=0)
    assert by_network == [documents(alone, [a])[0] for a in addresses]


def test_one_lookup_per_network() -> None:
    f = make()
    calls = counting(f)
    rng = random.Random(9)
    addresses = [p + str(rng.randint(1, 254)) for p in _PREFIXES for _ in range(30)]
    documents(f, addresses)
    reader = maxminddb.open_database(default_city_database())
    networks = {ipaddress.ip_network(f"{a}/{reader.get_with_prefix_len(a)[1]}", strict=False)
                for a in addresses}
    assert len(calls) == len(networks) < len(set(addresses)) / 5


def test_nested_networks_answer_by_the_deepest_leaf(tmp_path: Path) -> None:
    path = write_db(tmp_path / "nested.mmdb", "GeoLite2-City", {
        "81.2.0.0/16": city("GB", "United Kingdom", "London", 51.5, -0.1),
        "81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35),
        "81.2.69.128/25": city("DE", "Germany", "Berlin", 52.5, 13.4),
    })
    f = make(database=str(path))
    calls = counting(f)
    order = ["81.2.1.1", "81.2.69.5", "81.2.69.200", "81.2.200.9", "81.2.69.6", "81.2.69.129", "81.2.2.2"]
    names = [d["source"].get("geo", {}).get("city_name") for d in documents(f, order)]
    assert names == ["London", "Paris", "Berlin", "London", "Paris", "Berlin", "London"]
    # 81.2.1.1 and 81.2.2.2 share a leaf; the others are the first of theirs.
    assert calls == ["81.2.1.1", "81.2.69.5", "81.2.69.200", "81.2.200.9"]


def test_an_address_outside_every_network_is_not_found_for_its_empty_leaf_only(tmp_path: Path) -> None:
    path = write_db(tmp_path / "one.mmdb", "GeoLite2-City",
                    {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    f = make(database=str(path))
    first, inside, other = documents(f, ["81.2.70.1", "81.2.69.9", "81.2.71.1"])
    assert "geo" not in first["source"] and "geo" not in other["source"]
    assert inside["source"]["geo"]["city_name"] == "Paris"


def test_a_replaced_database_forgets_the_networks(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    shutil.copyfile(default_city_database(), path)
    f = make(database=str(path), database_check_interval=0)
    [before] = documents(f, ["81.2.69.142"])
    assert before["source"]["geo"]["city_name"] == "Willesden"
    write_db(path, "GeoLite2-City", {"81.2.69.0/24": city("FR", "France", "Paris", 48.85, 2.35)})
    # Another address of the network remembered from the old file.
    [after] = documents(f, ["81.2.69.143"])
    assert after["source"]["geo"]["city_name"] == "Paris"


def test_the_memo_is_bounded_and_empties_when_full() -> None:
    memo: NetworkMemo[str] = NetworkMemo(3)
    for i, answer in enumerate("abc"):
        memo.keep(32, i << 8, 24, answer)
    assert len(memo) == 3 and memo.find(32, (1 << 8) + 7) == "b"
    memo.keep(32, 9 << 8, 24, "d")
    assert len(memo) == 1 and memo.find(32, 1 << 8) is MISS and memo.find(32, 9 << 8) == "d"


def test_families_are_kept_apart_and_impossible_lengths_keep_nothing() -> None:
    memo: NetworkMemo[str] = NetworkMemo(10)
    memo.keep(32, 0, 0, "every IPv4 address")
    assert memo.find(32, 12345) == "every IPv4 address"
    assert memo.find(128, 12345) is MISS
    memo.keep(128, 5, 130, "nonsense")
    memo.keep(32, 5, -1, "nonsense")
    assert len(memo) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)), max_size=30),
       st.integers(0, 2**32 - 1))
def test_an_answer_comes_only_from_a_network_holding_the_address(kept: list[tuple[int, int]],
                                                                  probe: int) -> None:
    memo: NetworkMemo[tuple[int, int]] = NetworkMemo(100)
    for number, length in kept:
        memo.keep(32, number, length, (number, length))
    found = memo.find(32, probe)
    holders = [(n, l) for n, l in kept if n >> (32 - l) == probe >> (32 - l)]
    if found is MISS:
        assert not holders
    else:
        number, length = found  # type: ignore[misc]
        assert number >> (32 - length) == probe >> (32 - length)


def test_address_numbers() -> None:
    assert address_number("81.2.69.142") == (32, int(ipaddress.IPv4Address("81.2.69.142")))
    assert address_number(ipaddress.IPv4Address("8.8.8.8")) == (32, 0x08080808)
    v6 = ipaddress.IPv6Address("2001:4860:4860::8888")
    assert address_number(v6) == (128, int(v6))
