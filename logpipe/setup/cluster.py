"""What the cluster supports, asked once before planning.

A minimal node (an integration-test build, an OSS-like distribution) may lack
index lifecycle management, data streams or the ``mapper-extras`` module
(``scaled_float``); setup adapts instead of failing, and says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logpipe.setup.client import Cluster


@dataclass(frozen=True)
class Capabilities:
    version: str = "unknown"
    ilm: bool = True
    data_streams: bool = True
    #: Module names on every node; None when the cluster would not say.
    modules: frozenset[str] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def has_module(self, name: str) -> bool:
        return self.modules is None or name in self.modules

    @property
    def scaled_float(self) -> bool:
        return self.has_module("mapper-extras")


def _modules(nodes: Any) -> frozenset[str] | None:
    if not isinstance(nodes, dict) or not isinstance(nodes.get("nodes"), dict):
        return None
    common: set[str] | None = None
    for node in nodes["nodes"].values():
        names = {str(m.get("name")) for m in node.get("modules", []) if isinstance(m, dict)}
        common = names if common is None else common & names
    return frozenset(common) if common is not None else None


async def detect(cluster: Cluster) -> Capabilities:
    status, root = await cluster.get("/")
    version = str(((root or {}).get("version") or {}).get("number", "unknown")) if status == 200 else "unknown"
    ilm_status, _ = await cluster.get("/_ilm/status")
    ds_status, _ = await cluster.get("/_data_stream")
    nodes_status, nodes = await cluster.get("/_nodes/plugins")
    if version == "unknown" and nodes_status == 200 and isinstance(nodes, dict):
        # a minimal node may not serve GET / at all; every node reports its version
        versions = {str(n.get("version")) for n in (nodes.get("nodes") or {}).values()}
        version = "/".join(sorted(versions)) or version
    return Capabilities(version=version, ilm=ilm_status == 200, data_streams=ds_status == 200,
                        modules=_modules(nodes) if nodes_status == 200 else None)
