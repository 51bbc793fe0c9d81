"""What setup would change: resources adapted to the cluster, compared with what is there.

Pure functions, so the decisions are testable without a cluster.

Comparison is "does the cluster already hold everything we declare?": values
Elasticsearch adds on its own (defaults such as a phase's ``min_age``, an
action's optional flags, ``version`` stamps) do not count as differences, and
index settings are compared in their canonical form (flat ``index.*`` keys,
string values), which is how the cluster returns them.
"""
from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass
from typing import Any

from logpipe.setup.cluster import Capabilities
from logpipe.setup.resources import Resources

LIFECYCLE_PREFIX = "index.lifecycle."

POLICY = "lifecycle policy"
COMPONENT = "component template"
INDEX_TEMPLATE = "index template"
WRITE_INDEX = "write index"


@dataclass
class Step:
    kind: str
    name: str
    path: str
    body: Any
    action: str = "create"  # create | update | unchanged | skip | conflict
    diff: str = ""
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.action in ("create", "update")


# --- adapting to the cluster -----------------------------------------------------
def _settings_of(body: dict[str, Any]) -> dict[str, Any] | None:
    template = body.get("template")
    if isinstance(template, dict) and isinstance(template.get("settings"), dict):
        return template["settings"]
    return None


def _replace_types(node: Any, old: str, new: str) -> int:
    """Rewrite ``"type": old`` to ``new`` in a mapping tree (dropping old's own options)."""
    count = 0
    if isinstance(node, dict):
        if node.get("type") == old:
            node["type"] = new
            node.pop("scaling_factor", None)
            count += 1
        for value in node.values():
            count += _replace_types(value, old, new)
    elif isinstance(node, list):
        for value in node:
            count += _replace_types(value, old, new)
    return count


def adapt(resources: Resources, caps: Capabilities) -> tuple[Resources, list[str]]:
    """A copy of the resources the cluster can take, and warnings saying what was left out."""
    res = copy.deepcopy(resources)
    warnings: list[str] = []
    if not caps.ilm:
        stripped = 0
        for body in [*res.components.values(), *res.index_templates.values()]:
            settings = _settings_of(body)
            if settings is None:
                continue
            flat = flatten_settings(settings)
            if any(k.startswith(LIFECYCLE_PREFIX) for k in flat):
                body["template"]["settings"] = {k: v for k, v in _flat_raw(settings).items()
                                                if not _index_key(k).startswith(LIFECYCLE_PREFIX)}
                stripped += 1
        if res.policies:
            warnings.append(
                f"the cluster has no index lifecycle management (ILM): {len(res.policies)} lifecycle "
                f"policies skipped and index.lifecycle.* left out of {stripped} templates; indices "
                "will not roll over, move between tiers or expire by themselves")
    if not caps.scaled_float:
        rewritten = sum(_replace_types(body, "scaled_float", "float")
                        for body in [*res.components.values(), *res.index_templates.values()])
        if rewritten:
            warnings.append(f"the cluster has no mapper-extras module: {rewritten} scaled_float "
                            "fields mapped as float instead")
    return res, warnings


# --- canonical forms -------------------------------------------------------------
def _index_key(key: str) -> str:
    return key if key.startswith("index.") else f"index.{key}"


def _flat_raw(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_raw(value, f"{full}."))
        else:
            out[full] = value
    return out


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value if value is None else str(value)


def flatten_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``{"index": {"number_of_shards": 1}}`` and ``{"number_of_shards": "1"}`` both become
    ``{"index.number_of_shards": "1"}``."""
    return {_index_key(k): _text(v) for k, v in _flat_raw(settings).items()}


def canonical(kind: str, body: Any) -> Any:
    if kind in (COMPONENT, INDEX_TEMPLATE) and isinstance(body, dict):
        body = copy.deepcopy(body)
        settings = _settings_of(body)
        if settings is not None:
            body["template"]["settings"] = flatten_settings(settings)
    return body


# --- comparison ------------------------------------------------------------------
def contains(current: Any, desired: Any) -> bool:
    """Whether ``current`` holds everything ``desired`` says (extra keys allowed)."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(
            k in current and contains(current[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(current, list) and len(current) == len(desired) and all(
            contains(c, d) for c, d in zip(current, desired))
    return bool(current == desired)


def project(current: Any, desired: Any) -> Any:
    """``current`` cut down to the keys ``desired`` has, to show a readable diff."""
    if isinstance(desired, dict) and isinstance(current, dict):
        return {k: project(current[k], desired[k]) for k in desired if k in current}
    if isinstance(desired, list) and isinstance(current, list) and len(desired) == len(current):
        return [project(c, d) for c, d in zip(current, desired)]
    return current


def diff(current: Any, desired: Any) -> str:
    old = json.dumps(project(current, desired), indent=2, sort_keys=True).splitlines()
    new = json.dumps(desired, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(old, new, "cluster", "logpipe", lineterm="", n=2))


def compare(kind: str, name: str, path: str, desired: Any, current: Any | None) -> Step:
    """The step for one resource; ``current`` None means it is not installed."""
    if current is None:
        return Step(kind, name, path, desired, "create")
    want = canonical(kind, desired)
    have = canonical(kind, current)
    if contains(have, want):
        return Step(kind, name, path, desired, "unchanged")
    return Step(kind, name, path, desired, "update", diff=diff(have, want))
