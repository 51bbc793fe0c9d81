"""Helpers for the Kafka and Redis integration tests.

- ``collect`` output: keeps what it is sent, can be slowed down (``delay_ms``)
  or blocked (``gate``), and wakes waiters whenever something arrives.
- ``running``: an in-process pipeline from YAML text, shut down on exit.
- ``LogpipeProcess``: ``logpipe run`` in a subprocess, for SIGKILL tests.
- ``RedisServer``: a private redis-server on a free port with its own data
  directory, so a test can kill and restart it without touching the shared one.
"""
from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson
from pydantic import Field

from logpipe.config import load_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Output, PluginConfig
from logpipe.errors import DeliveryError
from logpipe.outputs.file import FileConfig, FileOutput

REPO = Path(__file__).resolve().parents[2]


def sync(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Run an async test body with asyncio.run (fixtures still injected by name)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]
    return wrapper


class CollectConfig(PluginConfig):
    delay_ms: float = Field(0, ge=0, description="Pause before taking each batch (a slow output).")
    fail_first: int = Field(0, ge=0, description="Refuse this many batches first (a flaky output).")


class CollectOutput(Output):
    """Keeps every event it is sent; ``gate`` cleared means send() waits (a stuck output)."""

    Config = CollectConfig
    config: CollectConfig

    async def start(self) -> None:
        self.events: list[Event] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_send = 0
        self.refused = 0
        self._changed = asyncio.Event()

    async def send(self, events: list[Event]) -> None:
        self.in_send += 1
        try:
            await self.gate.wait()
            if self.config.delay_ms:
                await asyncio.sleep(self.config.delay_ms / 1000)
            if self.refused < self.config.fail_first:
                self.refused += 1
                raise DeliveryError("refused for the test", retriable=True)
            self.events.extend(events)
            self._changed.set()
        finally:
            self.in_send -= 1

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait, woken by each delivery, until ``predicate()`` holds."""
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(loop(), timeout)


registry.register("output", "collect", CollectOutput)


@asynccontextmanager
async def running(yaml_text: str, *, shutdown_timeout: float = 15.0) -> AsyncIterator[Pipeline]:
    pipeline = Pipeline(load_text(yaml_text))
    await pipeline.start()
    try:
        yield pipeline
    finally:
        await pipeline.shutdown(shutdown_timeout)


async def until(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    """Poll an external condition (a file, a Redis key) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)


async def until_async(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():  # type: ignore[misc]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_json_lines(path: Path) -> list[dict[str, object]]:
    """Complete lines only: a line being written when we look is skipped."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n")
    if end < 0:
        return []
    return [orjson.loads(line) for line in data[:end].split(b"\n") if line]


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


_CHILD = ("import sys, tests.integration.streaming_support; from logpipe.cli import main; "
          "sys.exit(main())")


class LogpipeProcess:
    """``logpipe run --pipeline FILE`` with its log in a file; this module's test
    outputs (``collect``, ``slow_file``) are registered in the child too.

    One worker by default, so the pipeline runs in this very process and SIGKILL
    hits the process doing the work (a supervisor's workers drain when it dies).
    """

    def __init__(self, pipeline_file: Path, log_file: Path, workers: int = 1) -> None:
        self.pipeline_file = pipeline_file
        self.workers = workers
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, "run", "--pipeline", str(self.pipeline_file),
             "--workers", str(self.workers), "--log-format", "text"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """Resident set size from /proc (Linux)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


class RedisServer:
    """A private redis-server: every write fsynced to its append-only file, so a
    SIGKILL loses nothing that was acknowledged to a client."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# --- Kafka --------------------------------------------------------------------------------
async def create_topic(bootstrap: str, partitions: int, prefix: str = "logpipe-test") -> str:
    """A fresh topic (auto-creation is off on the test broker)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int) -> list[tuple[int, int]]:
    """Write ``values`` round-robin over the partitions in large batches.

    Returns where each value landed, ``(partition, offset)``, by index.
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=512 * 1024,
                                linger_ms=50)
    await producer.start()
    where: list[tuple[int, int]] = [(-1, -1)] * len(values)
    try:
        sent = []
        for p in range(partitions):
            indexes = list(range(p, len(values), partitions))
            pos = 0
            while pos < len(indexes):
                batch = producer.create_batch()
                start = pos
                while pos < len(indexes) and batch.append(key=None, value=values[indexes[pos]],
                                                          timestamp=None) is not None:
                    pos += 1
                batch.close()
                sent.append((await producer.send_batch(batch, topic, partition=p), p, indexes[start:pos]))
        for future, p, indexes in sent:
            meta = await future
            for k, i in enumerate(indexes):
                where[i] = (p, meta.offset + k)
    finally:
        await producer.stop()
    return where


async def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offset per partition number (partitions without a commit absent)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def offsets_caught_up(bootstrap: str, group: str, ends: dict[int, int]) -> bool:
    """Whether the group has committed exactly ``ends`` (a topic's end offsets): everything
    written before they were read has been delivered. A predicate to poll."""
    return await committed_offsets(bootstrap, group) == ends


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return {tp.partition: off for tp, off in ends.items()}


class SlowFileConfig(FileConfig):
    delay_ms: float = Field(0, ge=0, description="Pause before writing each batch.")


class SlowFileOutput(FileOutput):
    """The file output, slowed down: a stand-in for a struggling Elasticsearch."""

    Config = SlowFileConfig
    config: SlowFileConfig

    async def send(self, events: list[Event]) -> None:
        await asyncio.sleep(self.config.delay_ms / 1000)
        await super().send(events)


registry.register("output", "slow_file", SlowFileOutput)


class KafkaServer:
    """A private single-node KRaft broker on free ports, for a test that kills it.

    Uses the broker libraries ``scripts/services.sh`` installed; ``available()``
    is False when they (or Java) are missing.
    """

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.libs = self._find_libs()

    @staticmethod
    def _find_libs() -> Path | None:
        cache = Path(os.environ.get("LOGPIPE_SERVICES_CACHE", Path.home() / ".cache" / "logpipe-services"))
        found = sorted(cache.glob("kafka-*/libs"))
        return found[-1] if found and shutil.which("java") else None

    def available(self) -> bool:
        return self.libs is not None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(["java", "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC",
                                     f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                                     "-cp", f"{self.libs}/*", *args],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def format(self) -> None:
        props = self.dir / "server.properties"
        props.write_text(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.controller_port}
listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={self.dir / 'data'}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
""")
        (self.dir / "log4j2.yaml").write_text(
            "Configuration:\n  Appenders:\n    Console:\n      name: STDOUT\n      PatternLayout:\n"
            "        Pattern: \"[%d] %p %m (%c)%n\"\n  Loggers:\n    Root:\n      level: INFO\n"
            "      AppenderRef:\n        - ref: STDOUT\n")
        fmt = self._java("kafka.tools.StorageTool", "format", "-t",
                         uuid.uuid4().hex[:22], "-c", str(props), log=self.dir / "format.log")
        if fmt.wait(120) != 0:
            raise RuntimeError((self.dir / "format.log").read_text()[-2000:])

    def start(self, timeout: float = 90.0) -> None:
        log = self.dir / "kafka.log"
        mark = log.stat().st_size if log.exists() else 0
        self.proc = self._java("kafka.Kafka", str(self.dir / "server.properties"), log=log)
        deadline = time.monotonic() + timeout
        while True:
            if log.exists() and b"Kafka Server started" in log.read_bytes()[mark:]:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private Kafka did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
