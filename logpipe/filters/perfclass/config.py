"""Settings of the ``perfclass`` filter, with GraphMemory's SLO budgets as defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from logpipe.core.plugin import PluginConfig

Unit = Literal["ns", "us", "ms", "s"]


class Thresholds(BaseModel):
    """Upper bounds (exclusive, in milliseconds) of the fast, normal and slow classes;
    anything at or above ``slow_ms`` is critical."""

    model_config = ConfigDict(extra="forbid")

    fast_ms: float = Field(100, gt=0, description="Below this: `fast`.")
    normal_ms: float = Field(500, gt=0, description="Below this: `normal`.")
    slow_ms: float = Field(2000, gt=0, description="Below this: `slow`; at or above: `critical`.")

    @model_validator(mode="after")
    def _increasing(self) -> Thresholds:
        if not self.fast_ms < self.normal_ms < self.slow_ms:
            raise ValueError("thresholds must satisfy fast_ms < normal_ms < slow_ms")
        return self


class Route(BaseModel):
    """A group of requests with its own budget (the first route that matches wins)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="Written to `performance.route` when it matches.")
    match: list[str] = Field(description=(
        "Path patterns: a glob (`/api/search*`, `*` crosses `/`), or a regular expression "
        "written between slashes (`/^/api/v[0-9]+/memories/`), searched in the path."))
    method: list[str] | None = Field(None, description="HTTP methods this route covers (any when unset).")
    budget_ms: int | float | None = Field(None, gt=0, description=(
        "Response-time budget; a slower event gets `performance.slo_breach: true`."))
    thresholds: Thresholds | None = Field(None, description="Class bounds for this route.")

    @model_validator(mode="before")
    @classmethod
    def _lists(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("match", "method"):
                if isinstance(data.get(key), str):
                    data[key] = [data[key]]
        return data


class DurationSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Field holding a duration.")
    unit: Unit = Field(description="Unit of that field.")


def graphmemory_routes() -> list[Route]:
    """GraphMemory's SLOs: memory creation under 5 s, the search journey under 3 s,
    any other API call under 2 s. Class bounds scale with each budget so that
    `critical` means "over budget" on these routes."""
    return [Route.model_validate(route) for route in (
        {"name": "memory_create", "match": ["/api/memories*", "/api/memory*"], "method": ["POST"],
         "budget_ms": 5000, "thresholds": {"fast_ms": 500, "normal_ms": 2000, "slow_ms": 5000}},
        {"name": "search", "match": ["/api/search*", "/search*"], "budget_ms": 3000,
         "thresholds": {"fast_ms": 200, "normal_ms": 1000, "slow_ms": 3000}},
        {"name": "api", "match": ["/api/*"], "budget_ms": 2000},
    )]


class PerfClassConfig(PluginConfig):
    """Response-time class (fast / normal / slow / critical) and SLO budget checks."""

    source: str = Field("event.duration", description="Field holding the duration.")
    unit: Unit = Field("ns", description=(
        "Unit of `source`: `ns` (ECS event.duration), `us`, `ms` (app `duration_ms`) or `s` "
        "(nginx `request_time`)."))
    sources: list[DurationSource] | None = Field(None, description=(
        "Several candidate fields with their units, tried in order (the first present wins); "
        "replaces `source`/`unit`. For pipelines that mix nginx, uvicorn and app logs."))
    target: str = Field("event.duration", description="Where the duration goes, as integer nanoseconds.")
    path_field: str = Field("url.path", description=(
        "Request path that routes match on; when absent, `url.original` without its query is used."))
    method_field: str = Field("http.request.method", description="HTTP method for routes with `method`.")
    thresholds: Thresholds = Field(default_factory=lambda: Thresholds.model_validate({}), description=(
        "Class bounds where no route sets its own."))
    routes: list[Route] = Field(default_factory=graphmemory_routes, description=(
        "Route budgets; the first match wins. Default: GraphMemory's SLOs."))
    budget_ms: int | float | None = Field(None, gt=0, description="Budget for events no route matches.")
    tag_on_failure: list[str] = Field(default_factory=lambda: ["_perfclass_invalid_duration"],
                                      description=(
        "Tags for a duration that is present but not a finite, non-negative number. A missing "
        "duration leaves the event untouched."))
    tag_on_breach: list[str] = Field(default_factory=list, description=(
        "Tags added to events over their budget (in addition to `performance.slo_breach`)."))
