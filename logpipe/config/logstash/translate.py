"""A parsed ``.conf`` onto logpipe's pipeline document, the same one a YAML file gives.

Each plugin is looked up by its Logstash name (through :data:`.names.ALIASES`
where logpipe spells it differently); its options get the plugin's
``logstash_defaults`` under them and go through its ``from_logstash``; the
options every Logstash plugin takes are handled here once:

- every plugin: ``id`` becomes the entry's id; ``enable_metric`` is accepted
  (logpipe always counts);
- inputs: ``type`` (as ``event_type``), ``tags`` and ``add_field`` are applied by
  the engine to each event the input submits;
- filters: ``add_field``/``add_tag``/``remove_field``/``remove_tag`` go to the
  plugin (every filter has them); ``periodic_flush`` is accepted;
- outputs: ``workers`` is accepted (logpipe sizes its own concurrency);
- ``codec`` is carried to the plugin: a name, or ``{type: name, options...}``.

``if``/``else if``/``else`` become the nested conditional form of the YAML
schema (``{if, then, else_if, else}``), conditions rendered in logpipe's ``if:``
language. Anything logpipe cannot honour is refused with its location; with
``collect=True`` every refusal is gathered instead of stopping at the first
(``logpipe check --compat``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, Mapping

from pydantic import ValidationError

from logpipe.config.logstash.ast import (
    Array,
    Attribute,
    Bare,
    Branch,
    Config,
    Hash,
    Loc,
    Num,
    Plugin,
    Statement,
    Str,
    Value,
)
from logpipe.config.logstash.conditions import render
from logpipe.config.logstash.names import ALIASES, INSTEAD, python_skeleton
from logpipe.core import registry
from logpipe.errors import ConditionError, ConfigError, PluginNotFound

Path = tuple[Any, ...]
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_.][A-Za-z0-9_.]*)(?::([^}]*))?\}")
_SECTION_KEY = {"input": "inputs", "filter": "filters", "output": "outputs"}
#: Options every plugin of a kind takes that logpipe accepts and has nothing to do for.
_ACCEPTED = {"input": ("enable_metric",), "filter": ("enable_metric", "periodic_flush"),
             "output": ("enable_metric", "workers")}


@dataclass
class Refusal:
    """One place logpipe cannot run as written."""

    loc: Loc
    kind: str      # input | filter | output | condition | syntax | env
    plugin: str    # the plugin's Logstash name, or '' for conditions
    message: str

    def render(self) -> str:
        return f"{self.loc}: {self.message}"


@dataclass
class Translation:
    document: dict[str, Any]
    locations: dict[Path, Loc]
    notes: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    #: (offset in the concatenated text, document path) of each plugin, branch and option.
    anchors: list[tuple[int, Path]] = field(default_factory=list)

    def where(self, path: Path) -> tuple[str, int | None, int | None]:
        path = tuple(path)
        while path:
            loc = self.locations.get(path)
            if loc is not None:
                return loc.file, loc.line, loc.column
            path = path[:-1]
        files = {loc.file for loc in self.locations.values()}
        return (files.pop() if len(files) == 1 else "<config>"), None, None


class Translator:
    def __init__(self, config: Config, *, env: Mapping[str, str] | None = None,
                 collect: bool = False, settings: dict[str, Any] | None = None,
                 keep_env: bool = False) -> None:
        import os
        self.config = config
        #: Write ``${VAR}`` references out in YAML's spelling instead of resolving them
        #: (``logpipe convert``); plugin options are then not validated here.
        self.keep_env = keep_env
        self.env = os.environ if env is None else env
        self.collect = collect
        doc: dict[str, Any] = {"inputs": [], "filters": [], "outputs": []}
        if settings:
            doc = {"settings": dict(settings), **doc}
        self.out = Translation(doc, {})

    # --- errors ---------------------------------------------------------------------
    def refuse(self, message: str, loc: Loc, kind: str, plugin: str = "") -> None:
        if not self.collect:
            raise ConfigError(message, file=loc.file, line=loc.line, column=loc.column)
        self.out.refusals.append(Refusal(loc, kind, plugin, message))

    def sub(self, text: str, loc: Loc) -> str:
        """``${VAR}`` and ``${VAR:default}`` from the environment, as Logstash does."""
        if "${" not in text:
            return text
        if self.keep_env:
            return _PLACEHOLDER.sub(lambda m: "${" + m.group(1) + (
                f":-{m.group(2)}" if m.group(2) is not None else "") + "}", text)

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            value = self.env.get(name)
            if value is None:
                if default is None:
                    raise ConfigError(f"environment variable {name} is not set and has no default "
                                      f"(write ${{{name}:default}} to give one)",
                                      file=loc.file, line=loc.line, column=loc.column)
                return default
            return value
        return _PLACEHOLDER.sub(repl, text)

    # --- walk -----------------------------------------------------------------------
    def run(self) -> Translation:
        for section in self.config.sections:
            key = _SECTION_KEY[section.kind]
            self.statements(section.kind, section.body, self.out.document[key], (key,))
        self.out.anchors.sort(key=lambda a: a[0])
        return self.out

    def statements(self, kind: str, body: list[Statement], target: list[Any], base: Path) -> None:
        for statement in body:
            path = base + (len(target),)
            if isinstance(statement, Plugin):
                entry = self.plugin(kind, statement, path)
                if entry is not None:
                    target.append(entry)
                continue
            if kind == "input":
                self.refuse("conditionals are not allowed in the input section (Logstash refuses "
                            "them too): set type/tags on the input and test them in filters",
                            statement.loc, "condition")
                continue
            block = self.branch(kind, statement, path)
            if block is not None:
                target.append(block)

    def condition_text(self, case_cond: Any, loc: Loc) -> str | None:
        from logpipe.core.conditions import compile_condition
        try:
            text = render(case_cond, self.sub)
            compile_condition(text)
        except ConditionError as err:
            self.refuse(f"condition not supported: {err.message}", loc, "condition")
            return None
        except ConfigError as err:
            if err.line is not None and err.file is not None:
                where = Loc(err.file, err.line, err.col or 1)
            else:
                where = loc
            self.refuse(err.message, where, "condition")
            return None
        return text

    def branch(self, kind: str, branch: Branch, path: Path) -> dict[str, Any] | None:
        first = branch.cases[0]
        cond = self.condition_text(first.condition, first.loc)
        block: dict[str, Any] = {"if": cond or "false", "then": []}
        self.out.locations[path] = first.loc
        self.out.locations[path + ("if",)] = first.loc
        self.out.anchors.append((branch.start, path))
        self.statements(kind, first.body, block["then"], path + ("then",))
        if len(branch.cases) > 1:
            block["else_if"] = []
            for n, case in enumerate(branch.cases[1:]):
                sub_path = path + ("else_if", n)
                text = self.condition_text(case.condition, case.loc)
                item: dict[str, Any] = {"if": text or "false", "then": []}
                self.out.locations[sub_path] = case.loc
                self.out.locations[sub_path + ("if",)] = case.loc
                self.out.anchors.append((case.start, sub_path))
                self.statements(kind, case.body, item["then"], sub_path + ("then",))
                block["else_if"].append(item)
        if branch.otherwise is not None:
            block["else"] = []
            if branch.else_loc is not None:
                self.out.locations[path + ("else",)] = branch.else_loc
            self.statements(kind, branch.otherwise, block["else"], path + ("else",))
        return block

    # --- plugins --------------------------------------------------------------------
    def value(self, value: Value) -> Any:
        if isinstance(value, Str):
            return self.sub(value.value, value.loc)
        if isinstance(value, Num):
            return value.value
        if isinstance(value, Bare):
            return value.value == "true" if value.value in ("true", "false") else value.value
        if isinstance(value, Array):
            return [self.value(v) for v in value.items]
        if isinstance(value, Hash):
            # Logstash substitutes ${VAR} in hash values, never in keys.
            return {e.key: self.value(e.value) for e in value.entries}
        out: dict[str, Any] = {"type": value.name}
        for name, (v, _loc) in self.merged(value.attributes).items():
            out[name] = v
        return out

    def merged(self, attributes: list[Attribute]) -> dict[str, tuple[Any, Loc]]:
        """Options by name; a repeated option merges as in Logstash (hashes merge, lists
        extend, differing scalars become a list)."""
        options: dict[str, tuple[Any, Loc]] = {}
        for attr in attributes:
            v = self.value(attr.value)
            if attr.name not in options:
                options[attr.name] = (v, attr.loc)
                continue
            existing, loc = options[attr.name]
            if isinstance(existing, dict) and isinstance(v, dict):
                options[attr.name] = ({**existing, **v}, loc)
            elif isinstance(existing, list):
                options[attr.name] = (existing + (v if isinstance(v, list) else [v]), loc)
            elif v != existing:
                options[attr.name] = ([existing, v], loc)
        return options

    def plugin(self, kind: str, plugin: Plugin, path: Path) -> dict[str, Any] | None:
        name = plugin.name
        if kind == "filter" and name == "ruby":
            opts = {a.name: a.value for a in plugin.attributes}
            text = {k: v.value for k, v in opts.items() if isinstance(v, Str)}
            self.refuse(python_skeleton(text.get("code"), text.get("init"), text.get("path")),
                        plugin.loc, kind, name)
            return None
        logpipe_name = ALIASES.get((kind, name), name)
        try:
            cls = registry.get(kind, logpipe_name)
        except PluginNotFound:
            instead = INSTEAD.get((kind, name))
            known_plugins = registry.names(kind)
            close = get_close_matches(name, known_plugins, n=1)
            hint = (f": {instead}" if instead else
                    (f"; did you mean {close[0]!r}?" if close else "")
                    + f" (logpipe has: {', '.join(known_plugins)})")
            self.refuse(f"unknown {kind} plugin {name!r}{hint}", plugin.loc, kind, name)
            return None
        try:
            options = self.merged(plugin.attributes)
        except ConfigError as err:
            self.refuse(err.message, Loc(err.file or plugin.loc.file, err.line or plugin.loc.line,
                                         err.col or 1), "env", name)
            return None
        locs = {k: loc for k, (_v, loc) in options.items()}
        values = {k: v for k, (v, _loc) in options.items()}
        entry: dict[str, Any] = {"type": logpipe_name}
        plugin_id = values.pop("id", None)
        if plugin_id is not None:
            if not isinstance(plugin_id, str):
                self.refuse("id must be a string", locs["id"], kind, name)
                return None
            entry["id"] = plugin_id
        common: dict[str, Any] = {}
        for accepted in _ACCEPTED[kind]:
            values.pop(accepted, None)
        if kind == "input":
            if "type" in values:
                common["event_type"] = values.pop("type")
                locs["event_type"] = locs["type"]
            for key in ("tags", "add_field"):
                if key in values and key not in cls.Config.model_fields:
                    common[key] = values.pop(key)
        config = cls.Config
        applied = {k: v for k, v in config.logstash_defaults.items() if k not in values}
        try:
            settings = config.from_logstash({**applied, **values})
        except (ConfigError, ValueError, TypeError) as err:
            message = err.message if isinstance(err, ConfigError) else str(err)
            self.refuse(f"{kind} {name!r}: {message}", plugin.loc, kind, name)
            return None
        for key, value in settings.items():
            if key not in locs:   # renamed by from_logstash: find the option it came from
                source = next((k for k, v in values.items() if k not in settings and v is value
                               or (k not in settings and v == value and k in locs)), None)
                if source is not None and source in locs:
                    locs[key] = locs[source]
        try:
            if not self.keep_env:
                config.model_validate(settings)
        except ValidationError as exc:
            names = sorted(f.alias or n for n, f in config.model_fields.items())
            known = ", ".join(names)
            for error in exc.errors():
                first = error["loc"][0] if error["loc"] else None
                loc = locs.get(first, plugin.loc) if isinstance(first, str) else plugin.loc
                key = str(first)
                if error.get("type") == "extra_forbidden":
                    close = get_close_matches(key, names, n=1)
                    guess = f"; did you mean {close[0]!r}?" if close else ""
                    message = (f"unknown option {key!r} for {kind} {name!r}{guess} "
                               f"(its options: {known})")
                elif error.get("type") == "missing":
                    message = f"{kind} {name!r} needs the option {key!r}"
                else:
                    where = ".".join(str(p) for p in error["loc"])
                    subject = f"{kind} {name!r} option {where}" if where else f"{kind} {name!r}"
                    message = f"{subject}: {error.get('msg')}"
                self.refuse(message, loc, kind, name)
                if not self.collect:
                    break
            return None
        entry.update(settings)
        entry.update(common)
        self.out.locations[path] = plugin.loc
        self.out.locations[path + ("type",)] = plugin.loc
        for key in entry:
            if key in locs:
                self.out.locations[path + (key,)] = locs[key]
        self.out.anchors.append((plugin.start, path))
        for attr in plugin.attributes:
            key = "event_type" if kind == "input" and attr.name == "type" else attr.name
            if key in entry:
                self.out.anchors.append((attr.start, path + (key,)))
        self._note_defaults(kind, name, entry.get("id"), config, applied, settings)
        return entry

    def _note_defaults(self, kind: str, name: str, plugin_id: str | None, config: Any,
                       applied: dict[str, Any], settings: dict[str, Any]) -> None:
        for key, value in applied.items():
            field_info = config.model_fields.get(key)
            if field_info is None:
                ours = "(no such setting)"
            else:
                default = field_info.get_default(call_default_factory=True)
                if default == value:
                    continue
                ours = repr(default)
            label = f"{kind} {name}" + (f" ({plugin_id})" if plugin_id else "")
            self.out.notes.append(f"{label}: {key} = {value!r} (Logstash's default; a YAML "
                                  f"pipeline gets {ours})")


def translate(config: Config, *, env: Mapping[str, str] | None = None, collect: bool = False,
              settings: dict[str, Any] | None = None, keep_env: bool = False) -> Translation:
    return Translator(config, env=env, collect=collect, settings=settings,
                      keep_env=keep_env).run()
