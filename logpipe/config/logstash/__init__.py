"""Logstash's pipeline configuration language, read as it is.

``load_path`` takes a ``.conf`` file, a directory (every file in it) or a glob,
concatenates the files in lexical order as Logstash does with ``conf.d/*.conf``,
parses them (:mod:`.parser`), translates the tree onto logpipe's pipeline
document (:mod:`.translate`) and checks it exactly as a YAML pipeline is checked
(:func:`logpipe.config.loader.build_spec`), every error at ``file:line:column``.
"""
from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Any, Mapping

from logpipe.config.logstash.parser import LogstashSyntaxError, Source, parse_sources
from logpipe.config.logstash.translate import Refusal, Translation, translate
from logpipe.errors import ConfigError

__all__ = ["LogstashSyntaxError", "Refusal", "Translation", "load_logstash_text", "load_path",
           "load_sources", "read_sources", "settings_from_logstash", "translate_sources"]

#: Not a pipeline setting: how strings are read (Logstash's config.support_escapes).
ESCAPES_KEY = "support_escapes"
#: pipelines.yml / logstash.yml keys -> logpipe's settings.
_SETTINGS = {"pipeline.workers": "pipeline_workers", "pipeline.batch.size": "batch_size",
             "pipeline.batch.delay": "batch_delay_ms", "pipeline.ordered": "ordered",
             "config.support_escapes": ESCAPES_KEY}


#: Pipeline settings given on the command line (-w, -b, ...) travel to worker processes here.
SETTINGS_ENV = "LOGPIPE_LOGSTASH_SETTINGS"


def _inherited_settings(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if settings is not None:
        return settings
    text = os.environ.get(SETTINGS_ENV)
    return json.loads(text) if text else None


def settings_from_logstash(options: Mapping[str, Any]) -> dict[str, Any]:
    """Logstash's pipeline settings (``pipeline.workers`` ...) as logpipe's ``settings``."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key not in _SETTINGS:
            raise ConfigError(f"unsupported pipeline setting {key!r} (supported: "
                              f"{', '.join(_SETTINGS)})")
        if key == "pipeline.ordered" and isinstance(value, str):
            value = {"true": True, "false": False}.get(value.lower(), value.lower())
        out[_SETTINGS[key]] = value
    return out


def read_sources(path: str) -> list[Source]:
    """The files a PATH names, in lexical order: a file, every file of a directory, or a glob."""
    p = Path(path)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.is_file())
    elif p.is_file():
        files = [path]
    elif any(c in path for c in "*?["):
        files = sorted(f for f in glob.glob(path) if Path(f).is_file())
    else:
        raise ConfigError(f"pipeline file {path} not found")
    if not files:
        raise ConfigError(f"no configuration files in {path}")
    sources = []
    for name in files:
        try:
            # utf-8-sig: a byte-order mark, which some editors write, is not part of the text.
            sources.append(Source(name, Path(name).read_text(encoding="utf-8-sig")))
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=name) from None
    return sources


def translate_sources(sources: list[Source], *, env: Mapping[str, str] | None = None,
                      collect: bool = False, settings: dict[str, Any] | None = None) -> Translation:
    return translate(parse_sources(sources), env=env, collect=collect, settings=settings)


def load_sources(sources: list[Source], *, name: str, env: Mapping[str, str] | None = None,
                 settings: dict[str, Any] | None = None) -> Any:
    from logpipe.config.loader import build_spec

    settings = dict(_inherited_settings(settings) or {})
    escapes = bool(settings.pop(ESCAPES_KEY, False))
    out = translate(parse_sources(sources, support_escapes=escapes), env=env,
                    settings=settings or None)
    source = sources[0].name if len(sources) == 1 else ", ".join(s.name for s in sources)
    spec = build_spec(out.document, out.where, source=source, name=name)
    spec.notes.extend(out.notes)
    return spec


def load_path(path: str, *, env: Mapping[str, str] | None = None,
              settings: dict[str, Any] | None = None) -> Any:
    p = Path(path)
    name = p.stem if p.is_file() else (p.name if p.is_dir() else "main")
    spec = load_sources(read_sources(path), name=name, env=env, settings=settings)
    spec.source = path
    return spec


def load_logstash_text(text: str, *, source: str = "<config string>", name: str = "main",
                       env: Mapping[str, str] | None = None,
                       settings: dict[str, Any] | None = None) -> Any:
    return load_sources([Source(source, text)], name=name, env=env, settings=settings)
