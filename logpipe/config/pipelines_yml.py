"""``pipelines.yml``: several pipelines in one process tree, with Logstash's keys.

Each entry names a pipeline (``pipeline.id``) and where its configuration is
(``path.config``: a ``.conf`` file, directory or glob, or a YAML pipeline; or
``config.string``: Logstash's language inline), plus Logstash's per-pipeline
settings, mapped onto logpipe's ``settings``:

=========================  ====================================================
``pipeline.workers``       ``pipeline_workers``: batches in flight at once in
                           *each* worker process (``logpipe run --workers N``
                           runs every pipeline in each of N processes)
``pipeline.batch.size``    ``batch_size``
``pipeline.batch.delay``   ``batch_delay_ms`` (milliseconds, as in Logstash)
``pipeline.ordered``       ``ordered`` (``auto``, ``true``, ``false``)
``config.support_escapes`` how ``.conf`` strings are read
``queue.type``             ``memory`` only (logpipe's queue is in memory; the
                           acknowledgement waits for the outputs instead of a
                           disk queue); ``persisted`` is refused
``dead_letter_queue.enable``  ``false``: ``dead_letter_queue: {type: none}``;
                           ``true`` (or absent): logpipe's directory queue
``dead_letter_queue.max_bytes``  ``dead_letter_queue.max_bytes``
``path.dead_letter_queue`` ``path.dead_letter_queue``
=========================  ====================================================

Anything else is refused at its line. Every pipeline is loaded and checked as
it would be alone; then the links are checked: two ``pipeline`` inputs on one
address, and cycles of ``send_to``, are refused.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import yaml
from pydantic import ValidationError

from logpipe.config.loader import Loc, PipelineSpec, PluginEntry, _Lines, is_logstash_source, load_text
from logpipe.config.models import Settings
from logpipe.errors import ConfigError

FILE_NAMES = ("pipelines.yml", "pipelines.yaml")

_LOGSTASH_SETTINGS = ("pipeline.workers", "pipeline.batch.size", "pipeline.batch.delay",
                      "pipeline.ordered", "config.support_escapes")
KNOWN_KEYS = ("pipeline.id", "path.config", "config.string", *_LOGSTASH_SETTINGS, "queue.type",
              "dead_letter_queue.enable", "dead_letter_queue.max_bytes", "path.dead_letter_queue")
_REFUSED = {
    "config.reload.automatic": "logpipe reloads every pipeline on SIGHUP (`kill -HUP`), after "
                               "checking the new configuration",
    "config.reload.interval": "logpipe reloads every pipeline on SIGHUP",
    "queue.max_bytes": "logpipe's queue is in memory; bound it with `queue_max_bytes` in a "
                       "YAML pipeline's settings",
    "path.queue": "logpipe has no persisted queue",
    "queue.page_capacity": "logpipe has no persisted queue",
    "queue.checkpoint.writes": "logpipe has no persisted queue",
}
#: Makes the error for a message at a place of pipelines.yml (an entry, or one of its keys).
Fail = Callable[[str, Loc], ConfigError]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::-?([^}]*))?\}")


def is_pipelines_file(path: str | Path) -> bool:
    return Path(path).name in FILE_NAMES


def find(settings_dir: str | None = None) -> Path:
    """The pipelines.yml to run: in ``--path.settings DIR`` when given, else the current
    directory."""
    dirs = [Path(settings_dir)] if settings_dir else [Path(".")]
    for folder in dirs:
        for name in FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    where = ", ".join(str(d / FILE_NAMES[0]) for d in dirs)
    raise ConfigError("name a pipeline: --pipeline NAME|PATH, -f PATH or -e STRING (or, for "
                      f"check, --compat DIR); or give pipelines.yml: no pipelines.yml found (looked "
                      f"for {where}; --path.settings DIR says where it is)")


@dataclass
class PipelineText:
    """What a pipeline was read from, to freeze it for a generation."""

    suffix: str   # ".conf" or ".yaml"
    text: str


@dataclass
class PipelinesSpec:
    """Every pipeline of a pipelines.yml, checked, and how they link."""

    source: str
    pipelines: list[PipelineSpec]
    #: Each entry as written, with its configuration's text (for frozen generations).
    entries: list[dict[str, Any]] = field(default_factory=list)
    texts: list[PipelineText] = field(default_factory=list)
    #: Pipeline ids, senders before receivers.
    order: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.pipelines)

    @property
    def settings(self) -> Settings:
        """Process-wide settings: the first pipeline's, with the longest shutdown grace."""
        first = self.pipelines[0].settings
        longest = max(p.settings.shutdown_timeout for p in self.pipelines)
        return first.model_copy(update={"shutdown_timeout": longest})

    @property
    def inputs(self) -> list[PluginEntry]:
        return [e for p in self.pipelines for e in p.inputs]

    def plugin_entries(self) -> list[PluginEntry]:
        return [e for p in self.pipelines for e in p.plugin_entries()]

    def by_id(self, pipeline_id: str) -> PipelineSpec:
        return next(p for p in self.pipelines if p.name == pipeline_id)

    def describe(self) -> str:
        lines = [f"pipelines.yml ({self.source}): {len(self.pipelines)} pipelines"]
        for spec in self.pipelines:
            lines.append("")
            lines.append(spec.describe())
        lines.append("")
        lines.append("links: " + (", ".join(links_text(self)) or "(none)"))
        return "\n".join(lines)


def links_text(group: PipelinesSpec) -> list[str]:
    listeners = {addr: spec.name for spec in group.pipelines for addr, _ in listen_addresses(spec)}
    out = []
    for spec in group.pipelines:
        for addr, _entry in send_addresses(spec):
            out.append(f"{spec.name} -> {addr} -> {listeners.get(addr, '(no listener)')}")
    return out


def listen_addresses(spec: PipelineSpec) -> Iterator[tuple[str, PluginEntry]]:
    for entry in spec.inputs:
        if entry.type == "pipeline":
            yield str(getattr(entry.config, "address")), entry


def send_addresses(spec: PipelineSpec) -> Iterator[tuple[str, PluginEntry]]:
    for entry in spec.outputs:
        if entry.type == "pipeline":
            for addr in getattr(entry.config, "send_to"):
                yield str(addr), entry


# --- reading ------------------------------------------------------------------------
def _substitute(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str) and "${" in value:
        def repl(m: re.Match[str]) -> str:
            got = env.get(m.group(1))
            if got is None:
                if m.group(2) is None:
                    raise ConfigError(f"environment variable {m.group(1)} is not set and has no "
                                      "default")
                return m.group(2)
            return got
        return _ENV.sub(repl, value)
    return value


def load(path: str | Path, env: Mapping[str, str] | None = None) -> PipelinesSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return parse(text, source=str(path), base=path.parent, env=env)


def parse(text: str, *, source: str, base: Path,
          env: Mapping[str, str] | None = None) -> PipelinesSpec:
    """A pipelines.yml from its text; relative ``path.config`` are looked up under ``base``."""
    env = os.environ if env is None else env
    raw, lines = _read_yaml(text, source)

    def fail(message: str, at: Loc) -> ConfigError:
        return ConfigError(message, file=source, line=lines.line(at))

    if not isinstance(raw, list) or not raw:
        raise fail("pipelines.yml is a list of pipelines, each with pipeline.id and path.config "
                   "or config.string", ())
    group = PipelinesSpec(source=source, pipelines=[])
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise fail("each pipeline is a mapping (pipeline.id, path.config, ...)", (index,))
        written = {str(k): v for k, v in entry.items()}
        try:
            entry = {k: _substitute(v, env) for k, v in written.items()}
        except ConfigError as err:
            raise fail(err.message, (index,)) from None
        spec, frozen = _load_entry(entry, index, fail, base, env)
        if spec.name in seen:
            raise fail(f"pipeline.id {spec.name!r} is already used by pipeline {seen[spec.name] + 1}",
                       (index, "pipeline.id"))
        seen[spec.name] = index
        group.pipelines.append(spec)
        group.entries.append(written)
        group.texts.append(frozen)
    _check_links(group)
    return group


def _read_yaml(text: str, source: str) -> tuple[Any, _Lines]:
    loader = yaml.SafeLoader(text)
    lines = _Lines()
    try:
        node = loader.get_single_node()
        if node is not None:
            lines.walk(loader, node, ())
        raw = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=source,
                          line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    return raw, lines


def _load_entry(entry: dict[str, Any], index: int, fail: Fail, base: Path,
                env: Mapping[str, str]) -> tuple[PipelineSpec, PipelineText]:
    for key in entry:
        if key in _REFUSED:
            raise fail(f"{key} is not supported: {_REFUSED[key]}", (index, key))
        if key not in KNOWN_KEYS:
            raise fail(f"unknown pipelines.yml setting {key!r} (supported: {', '.join(KNOWN_KEYS)})",
                       (index, key))
    pid = entry.get("pipeline.id")
    if not isinstance(pid, str) or not pid.strip():
        raise fail("pipeline.id is required (a name for the pipeline)", (index, "pipeline.id"))
    if ("path.config" in entry) == ("config.string" in entry):
        raise fail(f"pipeline {pid!r}: give exactly one of path.config or config.string", (index,))
    if str(entry.get("queue.type", "memory")) != "memory":
        raise fail(f"queue.type {entry['queue.type']!r} is not supported: logpipe's queue is in "
                   "memory (queue.type: memory), and nothing is acknowledged to a sender before "
                   "the outputs have it, so a restart loses nothing accepted", (index, "queue.type"))
    settings = _settings(entry, index, pid, fail)
    if "config.string" in entry:
        from logpipe.config.logstash import load_logstash_text

        text = str(entry["config.string"])
        spec = load_logstash_text(text, source=f"{pid} (config.string)", name=pid,
                                  settings=settings, env=env)
        return spec, PipelineText(".conf", text)
    config_path = str(entry["path.config"])
    resolved = config_path if Path(config_path).is_absolute() else str(base / config_path)
    if not _exists(resolved) and _exists(config_path):
        resolved = config_path   # relative to the working directory, as Logstash reads it
    if not _exists(resolved):
        raise fail(f"pipeline {pid!r}: path.config {config_path!r} names no file",
                   (index, "path.config"))
    if is_logstash_source(resolved):
        from logpipe.config.logstash import load_path, read_sources

        spec = load_path(resolved, settings=settings, env=env)
        spec.name = pid
        sources = read_sources(resolved)
        return spec, PipelineText(".conf", "\n".join(s.text for s in sources))
    return _load_yaml_pipeline(resolved, pid, settings, index, fail, env)


def _exists(path: str) -> bool:
    import glob

    return Path(path).exists() or bool(any(c in path for c in "*?[") and glob.glob(path))


def _settings(entry: dict[str, Any], index: int, pid: str, fail: Fail) -> dict[str, Any]:
    """The entry's settings as logpipe's, each checked at its own line."""
    from logpipe.config.logstash import settings_from_logstash

    out = settings_from_logstash({k: entry[k] for k in _LOGSTASH_SETTINGS if k in entry})
    dlq: dict[str, Any] = {}
    if "dead_letter_queue.enable" in entry:
        enable = entry["dead_letter_queue.enable"]
        if not isinstance(enable, bool):
            raise fail("dead_letter_queue.enable is true or false", (index, "dead_letter_queue.enable"))
        if not enable:
            dlq["type"] = "none"
    if "dead_letter_queue.max_bytes" in entry:
        dlq["max_bytes"] = _bytes(entry["dead_letter_queue.max_bytes"], index, fail)
    if dlq:
        out["dead_letter_queue"] = dlq
    if "path.dead_letter_queue" in entry:
        out["path.dead_letter_queue"] = str(entry["path.dead_letter_queue"])
    check = {k: v for k, v in out.items() if k != "support_escapes"}
    try:
        Settings.model_validate(check)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        key = next((k for k in entry if _maps_to(k) == name), None)
        raise fail(f"pipeline {pid!r}: {first['msg']}", (index, key) if key else (index,)) from None
    return out


def _maps_to(key: str) -> str:
    return {"pipeline.workers": "pipeline_workers", "pipeline.batch.size": "batch_size",
            "pipeline.batch.delay": "batch_delay_ms", "pipeline.ordered": "ordered",
            "dead_letter_queue.enable": "dead_letter_queue",
            "dead_letter_queue.max_bytes": "dead_letter_queue",
            "path.dead_letter_queue": "path.dead_letter_queue"}.get(key, key)


_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4}


def _bytes(value: Any, index: int, fail: Fail) -> int:
    """Logstash's byte sizes: ``1024``, ``64mb``, ``1gb``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?b)\s*", str(value).lower())
    if not m:
        raise fail(f"not a size: {value!r} (e.g. 1024mb)", (index, "dead_letter_queue.max_bytes"))
    return int(m.group(1)) * _UNITS[m.group(2)]


def _load_yaml_pipeline(path: str, pid: str, settings: dict[str, Any], index: int, fail: Fail,
                        env: Mapping[str, str]) -> tuple[PipelineSpec, PipelineText]:
    """A YAML pipeline; pipelines.yml's settings override the file's own."""
    if settings.pop("support_escapes", None) is not None:
        raise fail("config.support_escapes applies to Logstash configurations (.conf)",
                   (index, "config.support_escapes"))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=path) from None
    spec = load_text(text, source=path, name=pid, env=env)
    if settings:
        merged = spec.settings.model_dump(by_alias=True, exclude_unset=True)
        for key, value in settings.items():
            if key == "dead_letter_queue":
                merged["dead_letter_queue"] = {**merged.get("dead_letter_queue", {}), **value}
            else:
                merged[key] = value
        try:
            spec.settings = Settings.model_validate(merged)
        except ValidationError as exc:
            raise fail(f"pipeline {pid!r}: {exc.errors()[0]['msg']}", (index,)) from None
    return spec, PipelineText(".yaml", text)


# --- links --------------------------------------------------------------------------
def _check_links(group: PipelinesSpec) -> None:
    """One listener per address; no cycles; the order senders-first."""
    owner: dict[str, tuple[str, PluginEntry]] = {}
    for spec in group.pipelines:
        for addr, entry in listen_addresses(spec):
            if addr in owner:
                first, _ = owner[addr]
                raise ConfigError(f"pipeline input address {addr!r} is already used by pipeline "
                                  f"{first!r}; each address has one listener", file=spec.source,
                                  line=entry.line)
            owner[addr] = (spec.name, entry)
    edges: dict[str, set[str]] = {spec.name: set() for spec in group.pipelines}
    for spec in group.pipelines:
        for addr, _entry in send_addresses(spec):
            if addr in owner:
                edges[spec.name].add(owner[addr][0])
            else:
                group.notes.append(f"pipeline {spec.name}: nothing listens on address {addr!r}; "
                                   "its pipeline output will wait (backpressure)")
    group.order = _senders_first(edges, group.source)


def _senders_first(edges: dict[str, set[str]], source: str) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*path[path.index(node):], node])
            raise ConfigError(f"pipelines send to each other in a cycle ({cycle}); events would "
                              "go round for ever and no acknowledgement could complete", file=source)
        state[node] = 1
        for nxt in sorted(edges[node]):
            visit(nxt, [*path, node])
        state[node] = 2
        order.append(node)

    for node in edges:
        visit(node, [])
    order.reverse()
    return order


# --- freezing a generation ----------------------------------------------------------
def freeze(group: PipelinesSpec, folder: Path) -> Path:
    """Write every pipeline's text and a pipelines.yml pointing at the copies; workers and
    restarts read these, never the files being edited."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[dict[str, Any]] = []
    for n, (entry, frozen) in enumerate(zip(group.entries, group.texts)):
        file = folder / f"{n:02d}-{_safe(entry['pipeline.id'])}{frozen.suffix}"
        file.write_text(frozen.text, encoding="utf-8")
        item = {k: v for k, v in entry.items() if k not in ("path.config", "config.string")}
        item["path.config"] = str(file.resolve())
        out.append(item)
    path = folder / FILE_NAMES[0]
    path.write_text(yaml.safe_dump(out, sort_keys=False), encoding="utf-8")
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
