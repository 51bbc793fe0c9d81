"""The cidr filter: does any address fall in any network?

The filter changes nothing by itself: matching events get the common options
(``add_tag``, ``add_field``...). Text that is not an address is skipped with a
debug log, as in Logstash.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import time
from typing import Any

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import is_template
from logpipe.core.writes import Writes
from logpipe.errors import ConfigError
from logpipe.filters.cidr.config import CidrConfig
from logpipe.filters.common import CommonActions, common_writes, text_of

log = logging.getLogger("logpipe.filter.cidr")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def read_networks(path: str, separator: str) -> list[Network]:
    """The networks of a file; entries that are no network are skipped with a warning.
    A file without any network is an error (a wrong ``separator``, most likely)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    networks: list[Network] = []
    for entry in text.split(separator):
        entry = entry.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("%s: %r is no network, skipped", path, entry)
    if not networks:
        raise ValueError("no network in the file (check `separator`)")
    return networks


def _addresses(value: Any) -> list[Address]:
    items = value if isinstance(value, list) else [value]
    out: list[Address] = []
    for item in items:
        try:
            out.append(ipaddress.ip_address(str(item).strip()))
        except ValueError:
            continue
    return out


class CidrFilter(Filter):
    """Applies the common options to events with an address in ``network``."""

    Config = CidrConfig
    runs_on_event_loop = True
    config: CidrConfig

    def __init__(self, config: CidrConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._address = [(a, text_of(a)) for a in config.address]
        self._static: list[Network] = [ipaddress.ip_network(n.strip(), strict=False)
                                       for entry in config.network if not is_template(entry)
                                       for n in entry.split(",")]
        self._address_field = parse(config.address_field) if config.address_field else None
        self._dynamic = [text_of(n) for n in config.network if is_template(n)]
        self._signature: tuple[int, int] | None = None
        self._next_check = 0.0
        if config.network_path:
            try:
                self._load()
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read networks from {config.network_path}: {exc}",
                                  path="network_path") from None
        self._actions = CommonActions(config)

    def writes(self) -> Writes:
        """Only what the common options write, on the events that match."""
        return common_writes(self.config)

    def _load(self) -> None:
        path = self.config.network_path
        assert path is not None
        st = os.stat(path)
        signature = (st.st_mtime_ns, st.st_size)
        if signature != self._signature:
            self._static = read_networks(path, self.config.separator)
            self._signature = signature
        self._next_check = time.monotonic() + self.config.refresh_interval

    def _refresh(self) -> None:
        if not self.config.network_path or self.config.refresh_interval <= 0:
            return
        if time.monotonic() < self._next_check:
            return
        try:
            self._load()
        except (OSError, ValueError) as exc:
            self.log.warning("networks in %s not re-read (%s); keeping the previous ones",
                             self.config.network_path, exc)
            self._next_check = time.monotonic() + self.config.refresh_interval

    def _networks(self, event: Event) -> list[Network]:
        if not self._dynamic:
            return self._static
        nets = list(self._static)
        for render in self._dynamic:
            for text in render(event).split(","):
                try:
                    nets.append(ipaddress.ip_network(text.strip(), strict=False))
                except ValueError:
                    continue
        return nets

    def _event_addresses(self, event: Event) -> list[Address]:
        if self._address_field is not None:
            return _addresses(event.get_path(self._address_field))
        found: list[Address] = []
        for template, render in self._address:
            body = template.strip()
            if body.startswith("%{") and body.endswith("}") and body.count("%{") == 1:
                found.extend(_addresses(event.get(body[2:-1])))   # keeps list items apart
            else:
                found.extend(_addresses(render(event)))
        return found

    def process(self, events: list[Event]) -> list[Event]:
        self._refresh()
        matched: list[Event] = []
        for event in events:
            networks = self._networks(event)
            if any(address in net for address in self._event_addresses(event)
                   for net in networks if address.version == net.version):
                matched.append(event)
        self._actions.apply(matched)
        return events
