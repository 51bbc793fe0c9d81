"""The JSON files ``logpipe setup`` installs.

- ``ilm/<policy>.json``: ``{"policy": {...}}`` as the ILM API takes it.
- ``index_templates/<name>.json``: a composable index template when it has
  ``index_patterns``, a component template otherwise. A composable template
  whose ``_meta.write_alias`` is set gets a first write index bootstrapped
  behind that alias (``<alias>-000001``).

File name (without ``.json``) is the resource name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logpipe.errors import ConfigError

ILM_DIR = "ilm"
TEMPLATES_DIR = "index_templates"


@dataclass
class Resources:
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    index_templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def write_aliases(self) -> dict[str, str]:
        """alias -> index template that declares it."""
        out: dict[str, str] = {}
        for name, body in self.index_templates.items():
            alias = (body.get("_meta") or {}).get("write_alias")
            if alias:
                out[alias] = name
        return out


def default_root(config_dir: str | Path | None = None) -> Path:
    """The directory holding ilm/ and index_templates/: the working directory when it has
    them, else ``--config-dir`` when it has them, else the files shipped with logpipe."""
    from logpipe.shipped import shipped_root

    candidates = [Path.cwd()] + ([Path(config_dir)] if config_dir else [])
    for root in candidates:
        if (root / TEMPLATES_DIR).is_dir() or (root / ILM_DIR).is_dir():
            return root
    return shipped_root() or Path.cwd()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object", file=str(path))
    return data


def load(root: str | Path | None = None, config_dir: str | Path | None = None) -> Resources:
    root = Path(root) if root is not None else default_root(config_dir)
    res = Resources()
    ilm = root / ILM_DIR
    templates = root / TEMPLATES_DIR
    if not ilm.is_dir() and not templates.is_dir():
        raise ConfigError(f"neither {ILM_DIR}/ nor {TEMPLATES_DIR}/ found under {root}")
    for path in sorted(ilm.glob("*.json")) if ilm.is_dir() else []:
        body = _read(path)
        if not isinstance(body.get("policy"), dict):
            raise ConfigError('a lifecycle policy file holds {"policy": {...}}', file=str(path))
        res.policies[path.stem] = body
    for path in sorted(templates.glob("*.json")) if templates.is_dir() else []:
        body = _read(path)
        if "index_patterns" in body:
            res.index_templates[path.stem] = body
        elif isinstance(body.get("template"), dict):
            res.components[path.stem] = body
        else:
            raise ConfigError("neither an index template (index_patterns) nor a component "
                              "template (template)", file=str(path))
    return res
