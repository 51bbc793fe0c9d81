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
from typing import Any, Callable, Mapping, Union

import yaml
from pydantic import ValidationError

from logpipe.config.env import substitute_tree
from logpipe.config.models import ConditionalSpec, PipelineFile, PluginSpec, Settings
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
class InputDecoration:
    """What the engine adds to every event an input submits (Logstash's common input options)."""

    event_type: str | None = None
    tags: list[str] = field(default_factory=list)
    add_field: dict[str, Any] = field(default_factory=dict)


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
    #: Inputs only: type, tags and add_field applied to each event as it is submitted.
    decoration: InputDecoration | None = None


@dataclass
class ConditionalEntry:
    """A nested ``if`` / ``else if`` / ``else`` in ``filters``: each branch its own list."""

    #: (condition text, compiled predicate, entries) per ``if`` and ``else if``, in order.
    branches: list[tuple[str, Callable[[Any], bool], list[FilterItem]]]
    otherwise: list[FilterItem] = field(default_factory=list)
    line: int | None = None
    kind: str = "conditional"

    def plugin_entries(self) -> list[PluginEntry]:
        out: list[PluginEntry] = []
        for items in [*(b[2] for b in self.branches), self.otherwise]:
            out.extend(_flatten_items(items))
        return out


FilterItem = Union[PluginEntry, ConditionalEntry]


def _flatten_items(items: list[FilterItem]) -> list[PluginEntry]:
    out: list[PluginEntry] = []
    for item in items:
        if isinstance(item, ConditionalEntry):
            out.extend(item.plugin_entries())
        else:
            out.append(item)
    return out


@dataclass
class PipelineSpec:
    name: str
    source: str
    settings: Settings
    inputs: list[PluginEntry] = field(default_factory=list)
    filters: list[FilterItem] = field(default_factory=list)
    outputs: list[PluginEntry] = field(default_factory=list)
    #: Remarks ``logpipe check`` prints (Logstash defaults that differ from logpipe's).
    notes: list[str] = field(default_factory=list)

    def filter_entries(self) -> list[PluginEntry]:
        """Every filter plugin, those inside conditionals included, in file order."""
        return _flatten_items(self.filters)

    def plugin_entries(self) -> list[PluginEntry]:
        return [*self.inputs, *self.filter_entries(), *self.outputs]

    def describe(self) -> str:
        """The plan ``logpipe check`` prints."""
        lines = [f"pipeline {self.name} ({self.source})"]
        s = self.settings
        lines.append(f"  settings: batch_size={s.batch_size} batch_delay_ms={s.batch_delay_ms:g} "
                     f"pipeline_workers={s.pipeline_workers} queue={s.queue_max_events} events/"
                     f"{s.queue_max_bytes} bytes ordered={'yes' if s.is_ordered else 'no'}")
        for title, entries in (("inputs", self.inputs), ("filters", self.filters),
                               ("outputs", self.outputs)):
            lines.append(f"  {title}:")
            if not entries:
                lines.append("    (none)")
            _describe_items(entries, lines, "    ")
        return "\n".join(lines)


def _describe_items(items: list[Any], lines: list[str], indent: str) -> None:
    for e in items:
        if isinstance(e, ConditionalEntry):
            for n, (cond, _pred, body) in enumerate(e.branches):
                lines.append(f"{indent}{'if' if n == 0 else 'else if'} {cond}:")
                _describe_items(body, lines, indent + "    ")
            if e.otherwise:
                lines.append(f"{indent}else:")
                _describe_items(e.otherwise, lines, indent + "    ")
            continue
        cond = f" if {e.condition}" if e.condition else ""
        lines.append(f"{indent}- {e.id} ({e.type}){cond}")


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
    if is_logstash_source(name_or_path) and not candidate.is_file():
        return candidate   # a directory or a glob of .conf files: read by the Logstash loader
    looks_like_path = os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml", ".conf"))
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


#: Where a value sits: (file, line, column); column is None for YAML.
Where = tuple[str, "int | None", "int | None"]
Locate = Callable[[Loc], Where]


def is_logstash_source(path: str | Path) -> bool:
    """A ``.conf`` file, a directory or a glob: Logstash's pipeline language."""
    text = str(path)
    return text.endswith(".conf") or Path(text).is_dir() or any(c in text for c in "*?[")


def load_file(path: str | Path, env: Mapping[str, str] | None = None) -> PipelineSpec:
    if is_logstash_source(path):
        from logpipe.config.logstash import load_path
        return load_path(str(path), env=env)
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
    """A YAML pipeline (or, when ``source`` ends in ``.conf``, a Logstash one) from text."""
    if source.endswith(".conf"):
        from logpipe.config.logstash import load_logstash_text
        return load_logstash_text(text, source=source, name=name, env=env)
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

    def where(path: Loc) -> Where:
        return source, lines.line(path), None

    def locate(err: ConfigError, path: Loc) -> ConfigError:
        return _error(err.message, where, path)

    raw = substitute_tree(raw, (), locate, env)
    return build_spec(raw, where, source=source, name=name)


def _error(message: str, where: Locate, path: Loc) -> ConfigError:
    file, line, column = where(path)
    return ConfigError(message, file=file, line=line, column=column, path=render_path(path))


def _validation_error(exc: ValidationError, where: Locate, base: Loc) -> ConfigError:
    first = exc.errors()[0]
    return _error(_pydantic_message(first), where, base + tuple(first["loc"]))


def build_spec(raw: dict[str, Any], where: Locate, *, source: str, name: str) -> PipelineSpec:
    """Check a pipeline document (parsed YAML, or a translated ``.conf``) into a spec.

    ``where`` maps a value's path in the document to its place in the source, so
    every error points at what the user wrote.
    """
    try:
        shape = PipelineFile.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, where, ()) from None
    spec = PipelineSpec(name=name, source=source, settings=shape.settings)
    seen: set[str] = set()
    builder = _Builder(where, seen)
    for index, item in enumerate(shape.inputs):
        spec.inputs.append(builder.plugin("input", item, ("inputs", index), index))
    spec.filters = builder.items("filter", shape.filters, ("filters",))
    spec.outputs = _flatten_outputs(builder.items("output", shape.outputs, ("outputs",)))
    return spec


def _flatten_outputs(items: list[FilterItem], guard: str | None = None) -> list[PluginEntry]:
    """Outputs do not change events, so a conditional around outputs becomes one
    combined condition per output: ``(guard) and !(earlier branch) and (this branch)``."""
    from logpipe.core.conditions import compile_condition

    out: list[PluginEntry] = []
    for item in items:
        if isinstance(item, PluginEntry):
            if guard is not None:
                cond = guard if item.condition is None else f"({guard}) and ({item.condition})"
                item.condition = cond
                item.predicate = compile_condition(cond)
            out.append(item)
            continue
        previous: list[str] = []
        parts = [] if guard is None else [f"({guard})"]
        for cond, _pred, body in item.branches:
            here = " and ".join([*parts, *(f"!({p})" for p in previous), f"({cond})"])
            out.extend(_flatten_outputs(body, here))
            previous.append(cond)
        if item.otherwise:
            here = " and ".join([*parts, *(f"!({p})" for p in previous)])
            out.extend(_flatten_outputs(item.otherwise, here))
    return out


_INPUT_COMMON = ("event_type", "tags", "add_field")


class _Builder:
    def __init__(self, where: Locate, seen: set[str]) -> None:
        self.where = where
        self.seen = seen
        self.counts: dict[str, int] = {}

    def items(self, kind: str, raw_items: list[dict[str, Any]], base: Loc) -> list[FilterItem]:
        out: list[FilterItem] = []
        for index, item in enumerate(raw_items):
            path = base + (index,)
            if "type" not in item and "then" in item:
                out.append(self.conditional(kind, item, path))
            else:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                out.append(self.plugin(kind, item, path, self.counts[kind] - 1))
        return out

    def conditional(self, kind: str, item: dict[str, Any], path: Loc) -> ConditionalEntry:
        try:
            block = ConditionalSpec.model_validate(item)
        except ValidationError as exc:
            raise _validation_error(exc, self.where, path) from None
        branches = [(block.if_, self.predicate(block.if_, path + ("if",)),
                     self.items(kind, block.then, path + ("then",)))]
        for n, extra in enumerate(block.else_if):
            sub = path + ("else_if", n)
            if not isinstance(extra, dict) or set(extra) != {"if", "then"} \
                    or not isinstance(extra.get("then"), list):
                raise _error("each else_if entry is a mapping with exactly 'if' and 'then' "
                             "(a list)", self.where, sub)
            cond = extra["if"]
            branches.append((cond, self.predicate(cond, sub + ("if",)),
                             self.items(kind, extra["then"], sub + ("then",))))
        otherwise = self.items(kind, block.else_, path + ("else",))
        return ConditionalEntry(branches, otherwise, line=self.where(path)[1])

    def predicate(self, cond: Any, path: Loc) -> Callable[[Any], bool]:
        from logpipe.core.conditions import compile_condition
        try:
            return compile_condition(cond)
        except ConditionError as err:
            raise _error(err.message, self.where, path) from None

    def plugin(self, kind: str, item: dict[str, Any], base: Loc, index: int) -> PluginEntry:
        try:
            plugin_spec = PluginSpec.model_validate(item)
        except ValidationError as exc:
            raise _validation_error(exc, self.where, base) from None
        try:
            cls = registry.get(kind, plugin_spec.type)
        except ConfigError as err:
            raise _error(err.message, self.where, base + ("type",)) from None
        options = plugin_spec.options()
        decoration = None
        if kind == "input":
            fields = cls.Config.model_fields
            common = {k: options.pop(k) for k in _INPUT_COMMON if k in options and k not in fields}
            if common:
                decoration = self.decoration(common, base)
        try:
            config = cls.Config.model_validate(options)
        except ValidationError as exc:
            raise _validation_error(exc, self.where, base) from None
        except ConfigError as err:
            raise _error(err.message, self.where, base) from None
        predicate = None
        if plugin_spec.if_ is not None:
            if kind == "input":
                raise _error("inputs take no condition", self.where, base + ("if",))
            predicate = self.predicate(plugin_spec.if_, base + ("if",))
        default_id = {"input": "{t}_in_{n}", "filter": "{t}_{n}", "output": "{t}_out_{n}"}[kind]
        plugin_id = plugin_spec.id or default_id.format(t=plugin_spec.type, n=index + 1)
        if plugin_id in self.seen:
            raise _error(f"duplicate id {plugin_id!r}", self.where, base + ("id",))
        self.seen.add(plugin_id)
        return PluginEntry(kind=kind, type=plugin_spec.type, id=plugin_id, cls=cls, config=config,
                           condition=plugin_spec.if_, predicate=predicate,
                           line=self.where(base)[1], decoration=decoration)

    def decoration(self, common: dict[str, Any], base: Loc) -> InputDecoration:
        event_type = common.get("event_type")
        tags = common.get("tags", [])
        add_field = common.get("add_field", {})
        if isinstance(tags, str):
            tags = [tags]
        if event_type is not None and not isinstance(event_type, str):
            raise _error("event_type must be a string", self.where, base + ("event_type",))
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _error("tags must be a list of strings", self.where, base + ("tags",))
        if not isinstance(add_field, dict):
            raise _error("add_field must be a mapping of field -> value", self.where,
                         base + ("add_field",))
        return InputDecoration(event_type, list(tags), dict(add_field))
