"""Performance classification: speed classes and SLO budget checks from response times."""
from logpipe.filters.perfclass.config import PerfClassConfig, Route, Thresholds, graphmemory_routes
from logpipe.filters.perfclass.filter import PerfClassFilter, speed_class, to_nanoseconds

__all__ = ["PerfClassConfig", "PerfClassFilter", "Route", "Thresholds", "graphmemory_routes",
           "speed_class", "to_nanoseconds"]
