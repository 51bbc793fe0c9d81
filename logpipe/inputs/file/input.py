"""``file`` input: tail files (or read them once), positions saved only once delivered.

Every ``stat_interval`` the input reads what each file gained, turns complete
lines into events through the codec (one codec stream per file, so a multiline
event never mixes two files) and submits them as a batch whose token is the
file offset after its last line. When the pipeline acknowledges a batch, and
every batch of that file before it, that offset is written to the sincedb. A
crash (even SIGKILL) therefore re-reads at most the batches that were not yet
acknowledged, and loses nothing.

Rotation: a file renamed away keeps being read through its open handle to its
end (it is known by inode, so the new file under the old name is read from its
start); a file truncated in place (copytruncate) is read again from its start.

Only the first worker process reads files (the others would read the same
lines again); ``logpipe run --workers N`` is fine, one of them tails.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time

from logpipe.codecs import Codec
from logpipe.codecs.plain import unescape
from logpipe.core.batch import Batch
from logpipe.core.event import Event
from logpipe.core.plugin import Input, InputContext
from logpipe.inputs.file.config import FileInputConfig
from logpipe.inputs.file.discover import discover, identity
from logpipe.inputs.file.sincedb import Key, Sincedb
from logpipe.inputs.file.tracked import TrackedFile

log = logging.getLogger("logpipe.input.file")


class FileInput(Input):
    Config = FileInputConfig
    config: FileInputConfig

    async def start(self) -> None:
        cfg = self.config
        self.codec: Codec = cfg.codec.build().check("decode")
        self.delimiter = unescape(cfg.delimiter).encode()
        self.files: dict[Key, TrackedFile] = {}
        self.sincedb = Sincedb(cfg.sincedb_file(), cfg.sincedb_clean_after)
        self.sincedb.load()
        ecs = cfg.ecs_compatibility != "disabled"
        self._path_field = "[log][file][path]" if ecs else "path"
        self._host_field = "[host][name]" if ecs else "host"
        self._hostname = os.uname().nodename
        self._first_round = True

    # --- the loop ----------------------------------------------------------------------
    async def run(self, ctx: InputContext) -> None:
        if self.context.worker_index != 0:
            await ctx.stopping.wait()
            return
        cfg = self.config
        every = cfg.discover_interval * cfg.stat_interval
        last_discovery = -every
        try:
            while not ctx.stopping.is_set():
                if time.monotonic() - last_discovery >= every:
                    self._discover()
                    last_discovery = time.monotonic()
                busy = False
                for tracked in list(self.files.values()):
                    if ctx.stopping.is_set():
                        break
                    busy = await self._poll(ctx, tracked) or busy
                if not busy:
                    try:
                        await asyncio.wait_for(ctx.stopping.wait(), cfg.stat_interval)
                    except TimeoutError:
                        pass
        finally:
            for tracked in self.files.values():
                tracked.close()

    def _discover(self) -> None:
        cfg = self.config
        found = discover(cfg.path, cfg.exclude)
        for key, path in found.items():
            tracked = self.files.get(key)
            if tracked is not None:
                tracked.path = path             # renamed but still matched: same file
                continue
            entry = self.sincedb.get(key)
            try:
                st = os.stat(path)
            except OSError:
                continue
            size = st.st_size
            if cfg.ignore_older is not None and time.time() - st.st_mtime > cfg.ignore_older:
                continue
            if entry is not None:
                position = entry.position if entry.position <= size else 0
            elif self._first_round and cfg.mode == "tail" and cfg.start_position == "end":
                position = size
            else:
                position = 0
            self.files[key] = TrackedFile(key, path, position, self.codec, self.delimiter, cfg.max_line_bytes)
            log.info("file input %s: reading %s from byte %d", self.id, path, position)
        self._first_round = False

    async def _poll(self, ctx: InputContext, tracked: TrackedFile) -> bool:
        """Read what the file gained; True when there was something (poll again soon)."""
        if tracked.completed:
            return False
        self._check_rotation(tracked)
        if tracked.rotated and tracked.handle is None:
            size = tracked.read_pos           # nothing more can be read from it
        else:
            try:
                size = tracked.size()
            except OSError:
                self._forget(tracked)
                return False
        if size < tracked.read_pos and not tracked.rotated:
            log.info("file input %s: %s was truncated, reading it from the start", self.id, tracked.path)
            tracked.truncated()
            self._save(tracked)
        now = time.monotonic()
        if size == tracked.read_pos:
            return await self._at_end(ctx, tracked, now)
        if tracked.handle is None and self._open_count() >= self.config.max_open_files:
            return False                     # waits until another file's handle is closed
        try:
            tracked.open()
            data = await asyncio.get_running_loop().run_in_executor(
                None, tracked.handle.read, self.config.file_chunk_size)  # type: ignore[union-attr]
        except OSError as exc:
            log.warning("file input %s: cannot read %s: %s", self.id, tracked.path, exc)
            return False
        if not data:
            return False
        tracked.last_growth = now
        await self._submit(ctx, tracked, tracked.consume(data), len(data))
        return True

    async def _at_end(self, ctx: InputContext, tracked: TrackedFile, now: float) -> bool:
        cfg = self.config
        events = tracked.idle(now)
        # A rotated file may still get a last write from a writer that has it open; once it
        # has been quiet for a while it is done, and what it holds is sent.
        rotated_done = tracked.rotated and now - max(tracked.last_growth, tracked.rotated_at) >= \
            max(1.0, 5 * cfg.stat_interval)
        if cfg.mode == "read" or rotated_done:
            events += tracked.finish()
        if events or tracked.commit > tracked.acked and not len(tracked.inorder):
            await self._submit(ctx, tracked, events, 0)
        if cfg.mode == "read":
            if not len(tracked.inorder) and tracked.acked >= tracked.read_pos:
                self._complete(tracked)
            return False
        if rotated_done and not len(tracked.inorder):
            self._forget(tracked)
        elif tracked.handle is not None and now - tracked.last_growth > cfg.close_older:
            tracked.close()
        return False

    def _check_rotation(self, tracked: TrackedFile) -> None:
        """A path that names another file (or none) now: the old one was rotated away. With
        its handle open it is read to its end; a closed one was idle and fully read already
        (its path would open the new file, so it is not reopened)."""
        if not tracked.rotated and identity(tracked.path) != tracked.key:
            tracked.rotated = True
            tracked.rotated_at = time.monotonic()
            log.info("file input %s: %s was rotated away; finishing the old file", self.id, tracked.path)

    async def _submit(self, ctx: InputContext, tracked: TrackedFile, events: list[Event], size: int) -> None:
        position = tracked.commit
        if events:
            self._stamp(events, tracked.path)
        if not events:
            batch = Batch([], token=position)
            tracked.track(batch)
            batch.complete(True)
            self._acked(tracked, batch)
            return
        batch = await ctx.submit(events, size=size, token=position,
                                 on_done=lambda b: self._acked(tracked, b))
        tracked.track(batch)
        if batch.done:                   # settled before it was tracked (tiny pipelines)
            self._acked(tracked, batch)

    def _open_count(self) -> int:
        return sum(1 for t in self.files.values() if t.handle is not None)

    def _stamp(self, events: list[Event], path: str) -> None:
        """The file's path and this host on every event that has neither yet (the common
        case, a fresh event, is a plain dict write; anything else goes through Event.set)."""
        host = self._hostname
        ecs = self._path_field != "path"
        for e in events:
            data = e.data
            if ecs:
                if "log" not in data:
                    data["log"] = {"file": {"path": path}}
                elif e.get(self._path_field) is None:
                    e.set(self._path_field, path)
                if "host" not in data:
                    data["host"] = {"name": host}
                elif e.get(self._host_field) is None and isinstance(data["host"], dict):
                    e.set(self._host_field, host)
            else:
                data.setdefault("path", path)
                data.setdefault("host", host)

    def _acked(self, tracked: TrackedFile, batch: Batch) -> None:
        if batch.delivered is False:
            log.warning("file input %s: a batch of %s was not delivered; its lines will be read "
                        "again after a restart", self.id, tracked.path)
        if tracked.released():
            self._save(tracked)

    def _save(self, tracked: TrackedFile) -> None:
        self.sincedb.set(tracked.key, tracked.acked, tracked.path)
        try:
            self.sincedb.save()
        except OSError as exc:
            log.error("file input %s: cannot write sincedb %s: %s", self.id, self.sincedb.path, exc)

    def _forget(self, tracked: TrackedFile) -> None:
        tracked.close()
        self.files.pop(tracked.key, None)

    def _complete(self, tracked: TrackedFile) -> None:
        cfg = self.config
        tracked.completed = True
        tracked.close()
        action = cfg.file_completed_action
        if action in ("log", "log_and_delete") and cfg.file_completed_log_path:
            with open(cfg.file_completed_log_path, "a", encoding="utf-8") as f:
                f.write(tracked.path + "\n")
        if action in ("delete", "log_and_delete"):
            try:
                os.remove(tracked.path)
            except OSError as exc:
                log.warning("file input %s: cannot delete %s: %s", self.id, tracked.path, exc)
