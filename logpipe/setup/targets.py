"""Which indices a pipeline's Elasticsearch outputs will write, and the templates for them.

An output's ``index`` is a template such as ``${LOGPIPE_INDEX_PREFIX}.%{[@metadata][category]}``.
After the environment is resolved (the loader did that) the prefix is fixed, and a
field placeholder takes the fixed values the pipeline's filters give that field
(``add_field``, ``replace`` or ``update`` of ``[@metadata][category]``: security,
perf, access, app). So the names are known before any event flows:
``ceo-fb.security``, ``ceo-fb.perf``, ...

``logpipe setup`` installs templates and write aliases for exactly those names,
and the Elasticsearch output checks at start that each one is covered by a
template (see :mod:`logpipe.outputs.elasticsearch.templates`).

The shipped templates are written for the default prefix (``logs-graphmemory``).
:func:`retarget` makes a copy of one for another name with the same category (the
part after the last dot): same mappings, settings and lifecycle policy; its own
index pattern, rollover alias and write alias.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Iterable

from logpipe.core.fieldref import parse
from logpipe.setup.resources import Resources

_PLACEHOLDER = re.compile(r"%\{([^}]+)\}")
_SETTERS = ("add_field", "replace", "update")


@dataclass
class IndexTargets:
    """The names an index template expands to, and what could not be expanded."""

    names: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _fixed_values(ref: str, filters: Iterable[Any]) -> list[str]:
    """Constant values the filters give the field ``ref`` (in pipeline order, no repeats)."""
    path = parse(ref)
    values: list[str] = []
    for entry in filters:
        config = getattr(entry, "config", entry)
        for setter in _SETTERS:
            mapping = getattr(config, setter, None)
            if not isinstance(mapping, dict):
                continue
            for name, value in mapping.items():
                try:
                    same = parse(str(name)) == path
                except Exception:
                    continue
                for v in value if isinstance(value, list) else [value]:
                    if same and isinstance(v, str) and "%{" not in v and v not in values:
                        values.append(v)
    return values


def written_indices(index: str, filters: Iterable[Any]) -> IndexTargets:
    """The concrete names ``index`` (environment already resolved) takes in this pipeline."""
    filters = list(filters)
    refs = _PLACEHOLDER.findall(index)
    if not refs:
        return IndexTargets([index])
    choices: list[list[str]] = []
    unresolved: list[str] = []
    for ref in refs:
        values = [] if ref.startswith("+") else _fixed_values(ref, filters)
        if not values:
            unresolved.append(ref)
        choices.append(values)
    if unresolved:
        return IndexTargets([], unresolved)
    names = []
    for combo in product(*choices):
        text = index
        for ref, value in zip(refs, combo):
            text = text.replace("%{" + ref + "}", value, 1)
        names.append(text)
    return IndexTargets(names)


def pipeline_indices(outputs: Iterable[Any], filters: Iterable[Any]) -> IndexTargets:
    """Every name the pipeline's Elasticsearch outputs write (``outputs``: plugin entries)."""
    from logpipe.outputs.elasticsearch.config import ElasticsearchConfig

    filters = list(filters)
    total = IndexTargets()
    for entry in outputs:
        if not isinstance(entry.config, ElasticsearchConfig):
            continue
        found = written_indices(entry.config.index, filters)
        total.names.extend(n for n in found.names if n not in total.names)
        total.unresolved.extend(u for u in found.unresolved if u not in total.unresolved)
    return total


def _category(alias: str) -> str:
    return alias.rsplit(".", 1)[-1]


def retarget(resources: Resources, names: Iterable[str]) -> tuple[Resources, list[str]]:
    """Resources for exactly ``names``: policies and component templates as they are,
    and one index template with a write alias per name. Returns warnings for names no
    shipped template fits."""
    shipped = resources.write_aliases()  # alias -> template name
    by_category: dict[str, str] = {}
    for alias, template in shipped.items():
        by_category.setdefault(_category(alias), template)
    out = Resources(policies=copy.deepcopy(resources.policies),
                    components=copy.deepcopy(resources.components))
    warnings: list[str] = []
    for name in names:
        source = shipped.get(name) or by_category.get(_category(name))
        if source is None:
            warnings.append(f"no shipped index template fits {name!r}: it would be created with "
                            "dynamic mappings; add a template for it under index_templates/")
            continue
        body = copy.deepcopy(resources.index_templates[source])
        old_alias = (body.get("_meta") or {}).get("write_alias", "")
        if old_alias != name:
            body["index_patterns"] = [f"{name}-*"]
            _rename_alias(body, old_alias, name)
            body.setdefault("_meta", {})["write_alias"] = name
            body["_meta"]["derived_from"] = source
        out.index_templates[name] = body
    return out, warnings


def _rename_alias(body: dict[str, Any], old: str, new: str) -> None:
    settings = (body.get("template") or {}).get("settings")
    if not isinstance(settings, dict):
        return
    for key in ("index.lifecycle.rollover_alias", "lifecycle.rollover_alias"):
        if settings.get(key) == old:
            settings[key] = new
    nested = (settings.get("index") or {}).get("lifecycle") if isinstance(settings.get("index"), dict) else None
    if isinstance(nested, dict) and nested.get("rollover_alias") == old:
        nested["rollover_alias"] = new
