"""Which addresses are worth a database lookup.

Private, loopback, link-local, shared (CGNAT), multicast, reserved and
documentation ranges have no location, so they are answered without touching
the database. IPv4 is decided mostly by its first octet, which is far cheaper
than ``ipaddress``'s ``is_global`` (a scan over a dozen networks per call).
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

#: First octets that are entirely non-public.
_V4_NEVER = frozenset({0, 10, 127}) | frozenset(range(224, 256))
#: First octets that hold some non-public networks; those are checked precisely.
_V4_PARTIAL: dict[int, tuple[IPv4Network, ...]] = {
    100: (IPv4Network("100.64.0.0/10"),),
    169: (IPv4Network("169.254.0.0/16"),),
    172: (IPv4Network("172.16.0.0/12"),),
    192: (IPv4Network("192.0.0.0/24"), IPv4Network("192.0.2.0/24"),
          IPv4Network("192.88.99.0/24"), IPv4Network("192.168.0.0/16")),
    198: (IPv4Network("198.18.0.0/15"), IPv4Network("198.51.100.0/24")),
    203: (IPv4Network("203.0.113.0/24"),),
}

Address = IPv4Address | IPv6Address
PUBLIC, PRIVATE, INVALID = "public", "private", "invalid"


def classify(text: str) -> tuple[str, str | Address | None]:
    """(verdict, what to hand the database reader) for an address in text.

    Dotted IPv4, nearly all of an access log, is checked by hand: splitting and
    a few integer tests cost a fraction of ``ipaddress.ip_address``, and the
    database reader takes the text as it is. IPv6 goes through ``ipaddress``.
    """
    text = text.strip()
    parts = text.split(".")
    if len(parts) == 4 and ":" not in text:
        octets = []
        for part in parts:
            if not part.isdigit() or not part.isascii() or len(part) > 3 or (
                    len(part) > 1 and part[0] == "0"):
                return INVALID, None
            value = int(part)
            if value > 255:
                return INVALID, None
            octets.append(value)
        first = octets[0]
        if first in _V4_NEVER:
            return PRIVATE, None
        nets = _V4_PARTIAL.get(first)
        if nets is not None:
            v4 = IPv4Address(text)
            if any(v4 in net for net in nets):
                return PRIVATE, None
        return PUBLIC, text
    addr = parse(text)
    if addr is None:
        return INVALID, None
    return (PUBLIC, addr) if is_public(addr) else (PRIVATE, None)


def parse(text: str) -> Address | None:
    """The address in ``text``, or None when it is not one (surrounding blanks allowed)."""
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def is_public(addr: Address) -> bool:
    """True when a geolocation database can know something about ``addr``."""
    if isinstance(addr, IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is not None:
            return is_public(mapped)
        return addr.is_global and not addr.is_multicast
    first = addr.packed[0]
    if first in _V4_NEVER:
        return False
    nets = _V4_PARTIAL.get(first)
    if nets is not None:
        return not any(addr in net for net in nets)
    return True
