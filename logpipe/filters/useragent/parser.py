"""The ua-parser resolver, loaded once per process, and ECS objects from its results.

``ua_parser.BestAvailableResolver`` is the native ``ua-parser-rs`` matcher when
that package is installed (about twice as fast as the re2 one on GraphMemory's
traffic; see benchmarks/bench_enrichment.py), else re2, else pure Python.
Loading the rule set happens once, on first use, and every filter instance
shares it. The rules are loaded lazily (each expression compiled by Python only
if a matcher needs it; the native matchers never do), which halves the
filter's start-up (0.5 s to 0.26 s here).
"""
from __future__ import annotations

from functools import cache
from typing import Any, Callable

import ua_parser
from ua_parser import Domain, load_lazy_builtins

from logpipe.filters.useragent.devicetype import device_type


@cache
def resolver() -> Callable[[str, Domain], Any]:
    """The process's matcher, built on first use (immutable once built, so shared)."""
    resolve: Callable[[str, Domain], Any] = ua_parser.BestAvailableResolver(load_lazy_builtins())
    return resolve


def resolver_name() -> str:
    """Which matcher does the work (for benchmarks and start-up logs)."""
    return f"{ua_parser.BestAvailableResolver.__module__}.{ua_parser.BestAvailableResolver.__name__}"


def _version(part: Any) -> str | None:
    pieces = [p for p in (part.major, part.minor, part.patch,
                          getattr(part, "patch_minor", None)) if p]
    return ".".join(pieces) or None


def parse(ua: str) -> dict[str, Any]:
    """The ECS ``user_agent`` properties for one string (without ``original``)."""
    result = resolver()(ua, Domain.ALL).complete()
    out: dict[str, Any] = {}
    agent = result.user_agent
    if agent is not None:
        out["name"] = agent.family
        version = _version(agent)
        if version:
            out["version"] = version
    system = result.os
    if system is not None:
        os_obj = {"name": system.family}
        version = _version(system)
        if version:
            os_obj["version"] = version
            os_obj["full"] = f"{system.family} {version}"
        else:
            os_obj["full"] = system.family
        out["os"] = os_obj
    device: dict[str, str] = {"type": device_type(result, ua)}
    if result.device is not None:
        device["name"] = result.device.family
    out["device"] = device
    return out
