"""Lookup answers remembered by database network instead of by address.

A MaxMind database is a binary tree over the bits of an address. A lookup walks
it bit by bit until it reaches a leaf, and ``get_with_prefix_len`` tells how
deep that leaf lies. Every address whose leading bits are the same as far as
that depth reaches the same leaf, so it gets the same record. Client addresses
cluster (one provider's customers, one cloud region), so an answer kept under
its network serves addresses never seen before: on the GraphMemory benchmark
pool, 2,039 distinct addresses fall into 22 networks of the shipped
GeoLite2-City database. A miss costs a lookup that decodes the whole record
into Python objects (8-9 µs here) and the building of the ECS object; a hit
costs a few dict probes.

Answers are exact, not approximate: an address is only answered from a network
that contains it. IPv4 text is searched from the tree's IPv4 subtree (the
reader does so for dotted quads), IPv6 addresses from the root, and the
reported depths count from there, so the two families are kept apart.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from socket import inet_aton
from typing import Generic, TypeVar

V = TypeVar("V")

#: What :meth:`NetworkMemo.find` answers when no remembered network holds the address.
MISS = object()


def address_number(addr: str | IPv4Address | IPv6Address) -> tuple[int, int]:
    """(width in bits, the address as a number) of what the filter hands the reader:
    dotted IPv4 text (already checked by ``address.classify``) or an address object."""
    if type(addr) is str:
        return 32, int.from_bytes(inet_aton(addr), "big")
    if isinstance(addr, IPv4Address):
        return 32, int(addr)
    assert isinstance(addr, IPv6Address)
    return 128, int(addr)


class NetworkMemo(Generic[V]):
    """Answers by (family width, prefix length, network); at most ``size`` of them,
    all forgotten at once when full (networks are few: it seldom fills)."""

    __slots__ = ("_answers", "_lengths", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: dict[tuple[int, int, int], V] = {}
        #: Every (width, prefix length) an answer is kept under, in the order first seen.
        self._lengths: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self._answers)

    def find(self, width: int, number: int) -> V | object:
        """The answer kept for a network that holds the address, or :data:`MISS`."""
        answers = self._answers
        for family, length in self._lengths:
            if family == width:
                found = answers.get((width, length, number >> (width - length)), MISS)
                if found is not MISS:
                    return found
        return MISS

    def keep(self, width: int, number: int, length: int, answer: V) -> None:
        """Keep ``answer`` for the network of ``length`` leading bits that holds the
        address. A length outside the family's width (a reader that counted from
        elsewhere) keeps nothing."""
        if not 0 <= length <= width:
            return
        if len(self._answers) >= self.size:
            self.clear()
        self._answers[(width, length, number >> (width - length))] = answer
        if (width, length) not in self._lengths:
            self._lengths.append((width, length))

    def clear(self) -> None:
        self._answers.clear()
        self._lengths.clear()
