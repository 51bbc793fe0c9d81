"""Accepted versions of a pipelines.yml, for the supervisor and for reloads.

As with one pipeline file (:class:`logpipe.runtime.reload.ConfigStore`), a
SIGHUP reads and checks everything again before anything is touched: the
pipelines.yml and every pipeline it names, and the links between them. An
accepted version is frozen in the run directory: each pipeline's text under
``gen-<n>/`` and a pipelines.yml that points at those copies, so a restarted
worker runs what is running, never a half-edited file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from logpipe.config import pipelines_yml
from logpipe.runtime.reload import ConfigStore, Generation, validation_env


class PipelinesStore(ConfigStore):
    """A :class:`ConfigStore` whose source is a pipelines.yml: checked with every pipeline
    it names, and frozen as copies of all of them."""

    def check(self, env: Mapping[str, str] | None = None) -> tuple[str, Any]:
        spec = pipelines_yml.load(self.source, env=env if env is not None
                                  else validation_env(self.count))
        return "", spec

    def accept(self, text: str, spec: Any) -> Generation:
        self.generation += 1
        path: Path = pipelines_yml.freeze(spec, self.rundir / f"gen-{self.generation}")
        gen = Generation(self.generation, path, spec)
        self.current = gen
        return gen
