"""Settings of the ``geoip`` filter."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from logpipe.filters.common import CommonOptions
from logpipe.filters.geoip import logstash as _logstash

#: ECS ``*.geo`` properties the filter can write, in the order it writes them.
GEO_FIELDS: tuple[str, ...] = (
    "continent_code", "continent_name", "country_iso_code", "country_name",
    "region_iso_code", "region_name", "city_name", "postal_code", "timezone", "location",
)
#: Autonomous-system properties (written under the ASN target).
AS_FIELDS: tuple[str, ...] = ("as.number", "as.organization.name")


class GeoipConfig(CommonOptions):
    """Where a client address is, from MaxMind City (and optionally ASN) databases."""

    logstash_defaults: ClassVar[dict[str, Any]] = _logstash.DEFAULTS

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md)."""
        return _logstash.from_logstash(super().from_logstash(options))

    source: str = Field("source.ip", description=(
        "Field holding the IP address to look up (text, IPv4 or IPv6)."))
    target: str = Field("source.geo", description=(
        "Where the ECS geo object goes (`country_iso_code`, `city_name`, `location`, ...)."))
    asn_target: str | None = Field(None, description=(
        "Where the ECS autonomous-system object goes (`number`, `organization.name`). "
        "Default: next to `target`, i.e. `source.as` for `source.geo`."))
    database: str | None = Field(None, description=(
        "Path of a GeoIP2/GeoLite2 City (or Country) database. Default: the GeoLite2-City "
        "file shipped in the `maxminddb-geolite2` package."))
    asn_database: str | None = Field(None, description=(
        "Path of a GeoIP2/GeoLite2 ASN database; no AS lookup when unset."))
    fields: list[str] | None = Field(None, description=(
        "Write only these properties (names from the geo object, plus `as.number` and "
        "`as.organization.name`). Default: all."))
    language: str = Field("en", description="Language of country, region and city names.")
    cache_size: int = Field(10000, ge=0, description=(
        "Remember up to this many addresses (those not seen lately are forgotten); 0 turns the "
        "cross-batch cache off."))
    private: Literal["skip", "tag"] = Field("skip", description=(
        "Private, loopback, link-local, shared, reserved, multicast and documentation "
        "addresses are never looked up; `tag` also adds `_geoip_private` to the event."))
    on_missing: Literal["fail", "tag"] = Field("fail", description=(
        "A missing or unreadable database fails start-up (`fail`), or the pipeline runs on "
        "and tags events `_geoip_database_unavailable` until the file appears (`tag`)."))
    tag_on_failure: list[str] = Field(default_factory=lambda: ["_geoip_lookup_failure"],
                                      description=(
        "Tags added when the value is not an IP address or the database has no entry for it."))
    database_check_interval: float = Field(5.0, ge=0, description=(
        "Seconds between checks whether a database file changed on disk (inode, size, "
        "modification time); a changed file is re-opened. 0 checks on every batch."))

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        known = set(GEO_FIELDS) | set(AS_FIELDS)
        unknown = [f for f in value if f not in known]
        if unknown:
            raise ValueError(f"unknown geoip field(s) {unknown}; known: {sorted(known)}")
        return value
