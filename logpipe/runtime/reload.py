"""Configuration reloads: validating a changed pipeline file and keeping accepted versions.

On SIGHUP the pipeline file is read again and fully validated (YAML, settings,
every plugin's options, conditions) before anything is touched; a file that
fails is refused with a log line and the running version stays.

An accepted version is frozen as a *generation*: its text is copied into the
run directory (``<rundir>/gen-<n>/<name>.yaml``) and workers are started from
that copy. A worker that crashes is therefore restarted with the configuration
that is actually running, never with whatever was last saved over the file.

:func:`run_reloadable` gives the single-process ``logpipe run --workers 1``
the same SIGHUP behaviour; having no second process to hand over to, it drains
the old pipeline before starting the new one, so listeners are briefly closed.
A cluster (``--workers 2`` or more, or a metrics port) reloads without that gap.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from logpipe.config.loader import PipelineSpec, load_file, load_text
from logpipe.errors import ConfigError

log = logging.getLogger("logpipe.reload")


def validation_env(count: int) -> dict[str, str]:
    """The environment a worker will see, for checking a file the way workers read it."""
    env = dict(os.environ)
    env.setdefault("LOGPIPE_WORKER_INDEX", "0")
    env.setdefault("LOGPIPE_WORKER_COUNT", str(count))
    return env


@dataclass
class Generation:
    number: int
    path: Path
    spec: PipelineSpec


class ConfigStore:
    """The source file, and the accepted generations frozen in a private directory."""

    def __init__(self, source: str | Path, *, count: int, rundir: str | Path | None = None) -> None:
        self.source = Path(source)
        self.count = count
        self._own_dir = rundir is None
        self.rundir = Path(rundir) if rundir else Path(tempfile.mkdtemp(prefix="logpipe-"))
        self.generation = 0
        self.current: Generation | None = None

    def check(self, env: Mapping[str, str] | None = None) -> tuple[str, PipelineSpec]:
        """Read and validate the source file; raises ConfigError when it is not usable."""
        from logpipe.config.loader import is_logstash_source
        if is_logstash_source(self.source) and not self.source.is_file():
            # A directory or glob of Logstash files: frozen as their concatenation.
            from logpipe.config.logstash import load_sources, read_sources
            sources = read_sources(str(self.source))
            spec = load_sources(sources, name=self.source.name, env=env if env is not None
                                else validation_env(self.count))
            return "\n".join(src.text for src in sources), spec
        try:
            text = self.source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=str(self.source)) from None
        spec = load_text(text, source=str(self.source), name=self.source.stem,
                         env=env if env is not None else validation_env(self.count))
        return text, spec

    def accept(self, text: str, spec: PipelineSpec) -> Generation:
        """Freeze a validated text as the next generation."""
        self.generation += 1
        folder = self.rundir / f"gen-{self.generation}"
        folder.mkdir(parents=True, exist_ok=True)
        name = self.source.name
        from logpipe.config.loader import is_logstash_source
        if is_logstash_source(self.source) and not name.endswith(".conf"):
            name = "pipeline.conf"
        path = folder / name
        path.write_text(text, encoding="utf-8")
        gen = Generation(self.generation, path, spec)
        self.current = gen
        return gen

    def load(self) -> Generation:
        """Check the source file and, when good, make it the current generation."""
        text, spec = self.check()
        return self.accept(text, spec)

    def cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.rundir, ignore_errors=True)


async def run_reloadable(source: str | Path, spec: PipelineSpec) -> bool:
    """One process, one pipeline at a time; SIGHUP swaps in a checked new version."""
    from logpipe.runtime.runner import run_pipeline

    loop = asyncio.get_running_loop()
    current = spec
    while True:
        stop = asyncio.Event()
        pending: list[PipelineSpec] = []

        def on_hup(stop: asyncio.Event = stop, pending: list[PipelineSpec] = pending) -> None:
            try:
                new = load_file(source)
            except ConfigError as err:
                log.error("reload refused, the running pipeline stays: %s", err)
                return
            log.info("reload: configuration accepted; draining the running pipeline")
            pending.append(new)
            stop.set()

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        try:
            clean = await run_pipeline(current, stop=stop)
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
        if not pending:
            return clean
        current = pending[-1]


def run_blocking_reloadable(source: str | Path, spec: PipelineSpec) -> int:
    from logpipe.runtime.runner import install_loop_policy, with_cycle_sweeps
    from logpipe.runtime.signals import release_stops

    install_loop_policy()

    async def main() -> bool:
        try:
            return await run_reloadable(source, spec)
        finally:
            release_stops(asyncio.get_running_loop())

    try:
        clean = asyncio.run(with_cycle_sweeps(main()))
    except Exception:
        log.exception("pipeline %s failed", spec.name)
        return 1
    return 0 if clean else 1
