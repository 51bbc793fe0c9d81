"""GeoIP enrichment: where a client address is (ECS ``source.geo``, ``source.as``)."""
from logpipe.filters.geoip.config import GeoipConfig
from logpipe.filters.geoip.filter import GeoipFilter, default_city_database

__all__ = ["GeoipConfig", "GeoipFilter", "default_city_database"]
