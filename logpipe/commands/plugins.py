"""``logpipe plugins list`` and ``logpipe plugins describe NAME``.

Everything printed comes from the plugins' config models (field types, defaults
and descriptions), so the help cannot drift from what the pipeline file accepts.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from logpipe.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list the plugins and describe their settings")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="every input, filter and output with its summary")
    ls.set_defaults(func=run_list)
    describe = actions.add_parser("describe", help="one plugin's settings")
    describe.add_argument("name", help="plugin type, e.g. grok (or kind/name, e.g. output/kafka)")
    describe.set_defaults(func=run_describe)


def _summary(cls: Any) -> str:
    """First line of the config's own docstring, else the plugin's, else its module's."""
    for owner in (cls.Config, cls, sys.modules.get(cls.__module__)):
        doc = vars(owner).get("__doc__") if owner is not None else None
        if isinstance(doc, str) and doc.strip():
            return doc.strip().splitlines()[0]
    return ""


def run_list(args: argparse.Namespace) -> int:
    from logpipe.core import registry

    for kind in registry.KINDS:
        print(f"{kind}s:")
        for name in registry.names(kind):
            try:
                cls = registry.get(kind, name)
            except ConfigError as err:
                print(f"  {name:<14} (cannot be loaded: {err})")
                continue
            print(f"  {name:<14} {_summary(cls)}")
    return 0


def _default(info: Any) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "computed"
    else:
        value = info.default
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _type(info: Any) -> str:
    text = str(info.annotation).replace("typing.", "")
    for noise in ("<class '", "'>", "pydantic.types.", "logpipe."):
        text = text.replace(noise, "")
    return text


def run_describe(args: argparse.Namespace) -> int:
    from logpipe.core import registry

    kind, _, name = args.name.rpartition("/")
    kinds = [kind] if kind else list(registry.KINDS)
    found = [(k, registry.get(k, name)) for k in kinds if name in registry.names(k)]
    if not found:
        raise ConfigError(f"no plugin named {name!r} (see `logpipe plugins list`)")
    for k, cls in found:
        print(f"{k} {name}: {_summary(cls)}")
        fields = cls.Config.model_fields
        if not fields:
            print("  (no settings)")
        for field_name, info in fields.items():
            shown = info.alias or field_name
            print(f"  {shown}: {_type(info)} = {_default(info)}")
            if info.description:
                print(f"      {info.description}")
        print()
    return 0
