"""Settings of the ``cidr`` filter (Logstash's names and defaults)."""
from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator, model_validator

from logpipe.core.sprintf import is_template
from logpipe.filters.common import CommonOptions, StrList


class CidrConfig(CommonOptions):
    """Apply the common options (`add_tag`, `add_field`...) to events whose addresses fall
    in one of the networks."""

    address: StrList = Field(default_factory=list, description=(
        "Addresses to check, as %{field} templates (e.g. `%{[source][ip]}`); a field "
        "holding a list checks each item."))
    address_field: str | None = Field(None, description=(
        "A field holding the address (or a list of addresses) to check, instead of "
        "`address`."))
    network: StrList = Field(default_factory=list, description=(
        "Networks in CIDR notation (IPv4 or IPv6; %{field} templates allowed; an entry "
        "may list several, separated by commas)."))
    network_path: str | None = Field(None, description=(
        "A file of networks, separated by `separator`; `#` starts a comment and entries "
        "that are no network are skipped with a warning. Re-read when it changes (see "
        "`refresh_interval`)."))
    refresh_interval: float = Field(600, description=(
        "Seconds between checks of `network_path` for changes; 0 or less never re-reads."))
    separator: str = Field("\n", min_length=1, description="Separator of `network_path` entries.")

    @field_validator("network")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if is_template(entry):
                continue
            for net in entry.split(","):
                try:
                    ipaddress.ip_network(net.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{net!r} is no network: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> CidrConfig:
        if self.network and self.network_path:
            raise ValueError("`network` and `network_path` are mutually exclusive")
        if self.address and self.address_field:
            raise ValueError("`address` and `address_field` are mutually exclusive")
        return self
