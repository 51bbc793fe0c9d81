"""Accepted versions of a pipelines.yml, for the supervisor and for reloads.

As with one pipeline file (:class:`logpipe.runtime.reload.ConfigStore`), a
SIGHUP reads and checks everything again before anything is touched: the
pipelines.yml and every pipeline it names, and the links between them. An
accepted version is frozen in the run directory: each pipeline's text under
``gen-<n>/`` and a pipelines.yml that points at those copies, so a restarted
worker runs what is running, never a half-edited file.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from logpipe.config import pipelines_yml
from logpipe.runtime.reload import Generation, validation_env


class PipelinesStore:
    def __init__(self, source: str | Path, *, count: int, rundir: str | Path | None = None) -> None:
        self.source = Path(source)
        self.count = count
        self._own_dir = rundir is None
        self.rundir = Path(rundir) if rundir else Path(tempfile.mkdtemp(prefix="logpipe-"))
        self.generation = 0
        self.current: Generation | None = None

    def check(self, env: Mapping[str, str] | None = None) -> tuple[str, Any]:
        spec = pipelines_yml.load(self.source, env=env if env is not None
                                  else validation_env(self.count))
        return "", spec

    def accept(self, text: str, spec: Any) -> Generation:
        self.generation += 1
        path = pipelines_yml.freeze(spec, self.rundir / f"gen-{self.generation}")
        gen = Generation(self.generation, path, spec)
        self.current = gen
        return gen

    def load(self) -> Generation:
        text, spec = self.check()
        return self.accept(text, spec)

    def cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.rundir, ignore_errors=True)
