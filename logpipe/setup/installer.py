"""Fetch, compare, apply: lifecycle policies, then component templates, then index
templates, then the first write index behind each alias.

The order matters: an index template may name a policy and components, and a
bootstrapped index takes its settings from the templates that exist when it is
created. Only what differs is written, so a second run changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from logpipe.setup.client import Cluster, error_text
from logpipe.setup.cluster import Capabilities, detect
from logpipe.setup.plan import (COMPONENT, INDEX_TEMPLATE, POLICY, WRITE_INDEX, Step, adapt,
                                compare)
from logpipe.setup.resources import Resources


@dataclass
class SetupReport:
    capabilities: Capabilities
    warnings: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.changes]


def _p(name: str) -> str:
    return quote(name, safe="@")


def first_index(alias: str) -> str:
    return f"{alias}-000001"


class Installer:
    def __init__(self, cluster: Cluster, resources: Resources) -> None:
        self.cluster = cluster
        self.resources = resources

    async def _current(self, path: str, unwrap: Any) -> Any | None:
        status, body = await self.cluster.get(path)
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {error_text(body)}")
        return unwrap(body)

    async def plan(self) -> SetupReport:
        caps = await detect(self.cluster)
        res, warnings = adapt(self.resources, caps)
        report = SetupReport(caps, warnings)
        steps = report.steps
        for name, body in res.policies.items():
            path = f"/_ilm/policy/{_p(name)}"
            if not caps.ilm:
                steps.append(Step(POLICY, name, path, body, "skip", note="no ILM on this cluster"))
                continue
            current = await self._current(path, lambda b, n=name: {"policy": b[n]["policy"]} if n in b else None)
            steps.append(compare(POLICY, name, path, body, current))
        for name, body in res.components.items():
            path = f"/_component_template/{_p(name)}"
            current = await self._current(path, lambda b: b["component_templates"][0]["component_template"])
            steps.append(compare(COMPONENT, name, path, body, current))
        for name, body in res.index_templates.items():
            path = f"/_index_template/{_p(name)}"
            current = await self._current(path, lambda b: b["index_templates"][0]["index_template"])
            steps.append(compare(INDEX_TEMPLATE, name, path, body, current))
        for alias in res.write_aliases():
            steps.append(await self._bootstrap_step(alias))
        return report

    async def _bootstrap_step(self, alias: str) -> Step:
        index = first_index(alias)
        body = {"aliases": {alias: {"is_write_index": True}}}
        path = f"/{_p(index)}"
        status, found = await self.cluster.get(f"/_alias/{_p(alias)}")
        if status == 200 and isinstance(found, dict) and found:
            writers = [i for i, a in found.items()
                       if (a.get("aliases", {}).get(alias) or {}).get("is_write_index")]
            note = f"write index {writers[0]}" if writers else "alias exists"
            return Step(WRITE_INDEX, alias, path, body, "unchanged", note=note)
        if await self.cluster.head(f"/{_p(alias)}") == 200:
            return Step(WRITE_INDEX, alias, path, body, "conflict",
                        note=f"{alias} exists as an index or data stream, so it cannot become a "
                             "write alias (events were written before setup ran?); reindex it "
                             "into the alias and delete it, then run setup again")
        return Step(WRITE_INDEX, alias, path, body, "create", note=f"{index} behind alias {alias}")

    async def apply(self, report: SetupReport) -> SetupReport:
        for step in report.steps:
            if not step.changes:
                continue
            status, body = await self.cluster.put(step.path, step.body)
            if status == 400 and step.kind == WRITE_INDEX and \
                    "resource_already_exists_exception" in error_text(body):
                step.action, step.note = "unchanged", "created meanwhile by another run"
                continue
            if status >= 300:
                report.errors.append(f"{step.kind} {step.name}: HTTP {status}: {error_text(body)}")
                step.action = "failed"
        return report
