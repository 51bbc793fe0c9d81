"""Load a pipeline file into checked models, with errors that point at a line.

YAML is composed into nodes first so every value's line is known; environment
variables are substituted into strings; the file shape and then each plugin's
own settings are validated. Any problem becomes one ``ConfigError`` rendered as
``file:line: path: message``.
"""
from __future__ import annotations

import builtins

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml
from pydantic import ValidationError

from logpipe.config.env import substitute_tree
from logpipe.config.models import PipelineFile, PluginSpec, Settings
from logpipe.core import registry
from logpipe.core.plugin import Plugin, PluginConfig
from logpipe.errors import ConditionError, ConfigError

Loc = tuple[Any, ...]


def render_path(path: Loc) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class PluginEntry:
    """A plugin ready to build: its class, checked config and condition."""

    kind: str
    type: str
    id: str
    cls: builtins.type[Plugin]  # `type` above is the field, not the builtin
    config: PluginConfig
    condition: str | None = None
    predicate: Callable[[Any], bool] | None = None
    line: int | None = None


@dataclass
class PipelineSpec:
    name: str
    source: str
    settings: Settings
    inputs: list[PluginEntry] = field(default_factory=list)
    filters: list[PluginEntry] = field(default_factory=list)
    outputs: list[PluginEntry] = field(default_factory=list)

    def describe(self) -> str:
        """The plan ``logpipe check`` prints."""
        lines = [f"pipeline {self.name} ({self.source})"]
        s = self.settings
        lines.append(f"  settings: batch_size={s.batch_size} batch_delay_ms={s.batch_delay_ms:g} "
                     f"pipeline_workers={s.pipeline_workers} queue={s.queue_max_events} events/"
                     f"{s.queue_max_bytes} bytes")
        for title, entries in (("inputs", self.inputs), ("filters", self.filters),
                               ("outputs", self.outputs)):
            lines.append(f"  {title}:")
            if not entries:
                lines.append("    (none)")
            for e in entries:
                cond = f" if {e.condition}" if e.condition else ""
                lines.append(f"    - {e.id} ({e.type}){cond}")
        return "\n".join(lines)


class _Lines:
    """Maps value paths to 1-based line numbers."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}

    def walk(self, loader: yaml.SafeLoader, node: yaml.Node, path: Loc) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                self.walk(loader, value_node, path + (key,))
                # A key's own line is more useful than where its value starts.
                self.lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(loader, item, path + (i,))

    def line(self, path: Loc) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def resolve(name_or_path: str, config_dir: str | None = None) -> Path:
    """A NAME is pipelines/NAME.yaml (cwd, then --config-dir, then the pipelines shipped with
    logpipe); a path is used as is."""
    candidate = Path(name_or_path)
    looks_like_path = os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml"))
    if looks_like_path:
        if not candidate.is_file():
            raise ConfigError(f"pipeline file {name_or_path} not found")
        return candidate
    searched = [Path("pipelines") / f"{name_or_path}.yaml"]
    if config_dir:
        searched.append(Path(config_dir) / f"{name_or_path}.yaml")
        searched.append(Path(config_dir) / "pipelines" / f"{name_or_path}.yaml")
    from logpipe.shipped import shipped

    packaged = shipped("pipelines")
    if packaged is not None:
        searched.append(packaged / f"{name_or_path}.yaml")
    for path in searched:
        if path.is_file():
            return path
    raise ConfigError(f"pipeline {name_or_path!r} not found (looked in: "
                      + ", ".join(str(p) for p in searched) + ")")


def load_file(path: str | Path, env: Mapping[str, str] | None = None) -> PipelineSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return load_text(text, source=str(path), name=path.stem, env=env)


def _pydantic_message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "missing":
        return "required setting is missing"
    return str(err.get("msg", "invalid value"))


def load_text(text: str, *, source: str = "<string>", name: str = "main",
              env: Mapping[str, str] | None = None) -> PipelineSpec:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines = _Lines()
        if node is not None:
            lines.walk(loader, node, ())
        raw = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=source, line=line) from None
    finally:
        loader.dispose()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("a pipeline file must be a mapping with settings, inputs, filters, outputs",
                          file=source, line=1)

    def locate(err: ConfigError, path: Loc) -> ConfigError:
        return ConfigError(err.message, file=source, line=lines.line(path), path=render_path(path))

    raw = substitute_tree(raw, (), locate, env)

    try:
        shape = PipelineFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        raise ConfigError(_pydantic_message(first), file=source, line=lines.line(loc),
                          path=render_path(loc)) from None

    spec = PipelineSpec(name=name, source=source, settings=shape.settings)
    seen: set[str] = set()
    for section, kind in (("inputs", "input"), ("filters", "filter"), ("outputs", "output")):
        for index, plugin_spec in enumerate(getattr(shape, section)):
            entry = _entry(kind, section, index, plugin_spec, lines, source)
            if entry.id in seen:
                raise ConfigError(f"duplicate id {entry.id!r}", file=source,
                                  line=lines.line((section, index, "id")), path=f"{section}[{index}].id")
            seen.add(entry.id)
            getattr(spec, section).append(entry)
    return spec


def _entry(kind: str, section: str, index: int, plugin_spec: PluginSpec, lines: _Lines,
           source: str) -> PluginEntry:
    base: Loc = (section, index)
    try:
        cls = registry.get(kind, plugin_spec.type)
    except ConfigError as err:
        raise ConfigError(err.message, file=source, line=lines.line(base + ("type",)),
                          path=render_path(base + ("type",))) from None
    try:
        config = cls.Config.model_validate(plugin_spec.options())
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = base + tuple(first["loc"])
        raise ConfigError(_pydantic_message(first), file=source, line=lines.line(loc),
                          path=render_path(loc)) from None
    except ConfigError as err:
        raise ConfigError(err.message, file=source, line=lines.line(base), path=render_path(base)) from None
    predicate = None
    if plugin_spec.if_ is not None:
        if kind == "input":
            raise ConfigError("inputs take no condition", file=source,
                              line=lines.line(base + ("if",)), path=render_path(base + ("if",)))
        from logpipe.core.conditions import compile_condition
        try:
            predicate = compile_condition(plugin_spec.if_)
        except ConditionError as err:
            raise ConfigError(err.message, file=source, line=lines.line(base + ("if",)),
                              path=render_path(base + ("if",))) from None
    default_id = {"input": "{t}_in_{n}", "filter": "{t}_{n}", "output": "{t}_out_{n}"}[kind]
    plugin_id = plugin_spec.id or default_id.format(t=plugin_spec.type, n=index + 1)
    return PluginEntry(kind=kind, type=plugin_spec.type, id=plugin_id, cls=cls, config=config,
                       condition=plugin_spec.if_, predicate=predicate, line=lines.line(base))
