"""``kafka`` output: every event of a batch is on the brokers before the batch is acknowledged.

The producer is idempotent with ``acks: all`` by default, so the brokers' own
retries never duplicate or reorder records within a partition. ``send`` hands
the whole batch to the producer (which groups records per partition, waits
``linger_ms`` and compresses), then waits for every record's acknowledgement.
Records that failed with a retriable error are sent again, up to ``retries``
times; what still fails is reported to be retried, so the batch is not
acknowledged upstream. A record Kafka can never take (too large) and an event
that cannot be written as JSON are reported rejected: the engine dead-letters
them and the records beside them are delivered.

If the brokers cannot be reached at start, the pipeline still starts: the
connection is retried on each batch, and batches fail (retriably) meanwhile.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, ClassVar, Literal

import aiokafka.codec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import Field, field_validator, model_validator

from logpipe.codecs import CodecSetting, codec_field
from logpipe.core.codec import dumps
from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Output
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import Writes
from logpipe.errors import ConfigError, DeliveryError
from logpipe.net.kafka_security import KafkaSecurityConfig, client_kwargs, describe
from logpipe.outputs import kafka_logstash as _logstash

_COMPRESSION_AVAILABLE: dict[str, Callable[[], bool]] = {
    "gzip": aiokafka.codec.has_gzip,
    "snappy": aiokafka.codec.has_snappy,
    "lz4": aiokafka.codec.has_lz4,
    "zstd": aiokafka.codec.has_zstd,
}


#: The text Logstash's plain codec writes for an event without a format.
LOGSTASH_PLAIN = "%{@timestamp} %{host} %{message}"


class KafkaOutputConfig(KafkaSecurityConfig):
    """Produce each event as one Kafka record."""

    #: Logstash's kafka output writes plain text unless told otherwise.
    logstash_defaults: ClassVar[dict[str, Any]] = {**_logstash.DEFAULTS, "codec": "plain"}

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's option names and shapes (see docs/logstash-plugins.md). Logstash's
        ``plain`` writes ``@timestamp host message`` (logpipe's YAML ``plain`` writes the
        message alone), so a ``.conf`` asking for plain gets Logstash's text."""
        out = _logstash.from_logstash(options)
        if out.get("codec") == "plain" or out.get("codec") == {"type": "plain"}:
            out["codec"] = {"type": "plain", "format": LOGSTASH_PLAIN}
        return out

    bootstrap_servers: str = Field(
        "localhost:9092", description="Comma-separated host:port list used to discover the cluster.")
    topic_id: str = Field(description="Topic to write to; may use %{[field]} templates.")
    codec: CodecSetting = codec_field(
        "json", "json: the event as a JSON object. plain: the `message` field as text. Any other "
        "encoding codec (cef, line with a format, ...) writes each record.")
    message_key: str | None = Field(
        None, description="Record key (template); records with the same key go to the same partition.")
    acks: Literal["0", "1", "all"] = Field(
        "all", description="Acknowledgements the leader waits for: all (every in-sync replica), 1 "
        "(leader only) or 0 (none; delivery is not confirmed).")
    enable_idempotence: bool = Field(
        True, description="Broker-side de-duplication of producer retries; needs acks all.")
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none", description="Compression of record batches.")
    linger_ms: int = Field(5, ge=0, description="How long the producer waits to fill a record batch.")
    batch_size: int = Field(
        16384, ge=1024, description="Most bytes in one record batch for one partition.")
    max_request_size: int = Field(
        1024 * 1024, ge=1024, description="Largest request (and so largest record) sent to a broker.")
    client_id: str = Field("logpipe", description="Client name shown in broker logs and quotas.")
    request_timeout_ms: int = Field(
        30_000, ge=1000, description="How long a record may wait for its acknowledgement.")
    retries: int = Field(
        3, ge=0, description="Times failed records of a batch are sent again before the batch fails.")
    retry_backoff_ms: int = Field(100, ge=0, description="Pause before sending failed records again.")

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _idempotence_needs_all(self) -> KafkaOutputConfig:
        if self.enable_idempotence and self.acks != "all":
            raise ValueError("enable_idempotence needs acks: all (or set enable_idempotence: false)")
        return self

def _retriable(exc: BaseException) -> bool:
    return bool(getattr(exc, "retriable", True)) if isinstance(exc, KafkaError) else True


class KafkaOutput(Output):
    Config = KafkaOutputConfig
    config: KafkaOutputConfig

    def writes(self) -> Writes:
        """It reads events and never changes them."""
        return Writes.nothing()

    async def start(self) -> None:
        cfg = self.config
        if cfg.compression_type != "none" and not _COMPRESSION_AVAILABLE[cfg.compression_type]():
            raise ConfigError(f"compression_type {cfg.compression_type} needs the cramjam package")
        self._producer: AIOKafkaProducer | None = None
        self._connect_lock = asyncio.Lock()
        self._topic = compile_template(cfg.topic_id) if is_template(cfg.topic_id) else None
        self._codec = cfg.codec.build().check("encode")
        self._key = compile_template(cfg.message_key) if cfg.message_key else None
        try:
            await self._connect()
        except DeliveryError as exc:
            self.log.error("%s; will retry on the first batch", exc)

    async def _connect(self) -> AIOKafkaProducer:
        async with self._connect_lock:
            if self._producer is not None:
                return self._producer
            cfg = self.config
            producer = AIOKafkaProducer(
                bootstrap_servers=cfg.bootstrap_servers,
                client_id=cfg.client_id,
                acks="all" if cfg.acks == "all" else int(cfg.acks),
                enable_idempotence=cfg.enable_idempotence,
                compression_type=None if cfg.compression_type == "none" else cfg.compression_type,
                linger_ms=cfg.linger_ms,
                max_batch_size=cfg.batch_size,
                max_request_size=cfg.max_request_size,
                request_timeout_ms=cfg.request_timeout_ms,
                retry_backoff_ms=cfg.retry_backoff_ms,
                **client_kwargs(cfg),
            )
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                await producer.stop()
                raise DeliveryError(f"cannot connect to Kafka at {cfg.bootstrap_servers}: {exc}",
                                    retriable=True) from exc
            self.log.info("producing to %s at %s (%s)", cfg.topic_id, cfg.bootstrap_servers, describe(cfg))
            self._producer = producer
            return producer

    def _encode(self, events: list[Event], unwritable: dict[int, str] | None = None
                ) -> tuple[list[str], list[bytes], list[bytes | None]]:
        """Topics, values and keys; an event its codec cannot encode gets an empty
        value and its reason in ``unwritable``."""
        cfg = self.config
        n = len(events)
        topics = [self._topic(e) for e in events] if self._topic else [cfg.topic_id] * n
        if cfg.codec == "json":
            values = []
            for i, e in enumerate(events):
                try:
                    values.append(dumps(e.data))
                except TypeError as exc:
                    if unwritable is None:
                        raise
                    unwritable[i] = str(exc)
                    values.append(b"")
        elif cfg.codec == "plain":
            values = [str(e.data.get("message", "")).encode() for e in events]
        else:
            encode = self._codec.encode
            values = []
            for i, e in enumerate(events):
                try:
                    values.append(encode(e))
                except (TypeError, ValueError) as exc:
                    if unwritable is None:
                        raise
                    unwritable[i] = str(exc)
                    values.append(b"")
        key_of = self._key
        keys: list[bytes | None] = [key_of(e).encode() for e in events] if key_of else [None] * n
        return topics, values, keys

    async def send(self, events: list[Event]) -> Delivery | None:
        if not events:
            return None
        producer = self._producer or await self._connect()
        unwritable: dict[int, str] = {}
        topics, values, keys = self._encode(events, unwritable)
        delivery = Delivery()
        for i, why in unwritable.items():
            delivery.reject(i, f"serialization_error: the event cannot be written as JSON: {why}")
        todo = [i for i in range(len(events)) if i not in unwritable]
        attempts = self.config.retries + 1
        failed: list[tuple[int, BaseException]] = []
        for attempt in range(attempts):
            if not todo:
                break
            failed = await self._send_once(producer, todo, topics, values, keys)
            for i, exc in failed:
                if not _retriable(exc):
                    delivery.reject(i, f"{type(exc).__name__}: Kafka refused the record: {exc!r}")
            failed = [(i, exc) for i, exc in failed if _retriable(exc)]
            todo = [i for i, _ in failed]
            if todo and attempt + 1 < attempts:
                self.log.warning("%d of %d records not acknowledged (%r); sending them again",
                                 len(failed), len(events), failed[0][1])
                await asyncio.sleep(self.config.retry_backoff_ms / 1000)
        if todo:
            reason = (f"{len(todo)} of {len(events)} records not acknowledged by Kafka after "
                      f"{attempts} attempts: {failed[0][1]!r}")
            for i in todo:
                delivery.retry_later(i, reason)
        return None if delivery.complete else delivery

    async def _send_once(self, producer: AIOKafkaProducer, todo: list[int], topics: list[str],
                         values: list[bytes], keys: list[bytes | None]) -> list[tuple[int, BaseException]]:
        """Send the records at ``todo``; the (index, error) of those that failed."""
        failed: list[tuple[int, BaseException]] = []
        sent: list[tuple[int, asyncio.Future[Any]]] = []
        for n, i in enumerate(todo):
            try:
                sent.append((i, await producer.send(topics[i], values[i], key=keys[i])))
            except KafkaError as exc:
                if _retriable(exc):
                    # Metadata or buffer timeouts: the rest would each wait as long again.
                    failed.extend((j, exc) for j in todo[n:])
                    break
                failed.append((i, exc))
        results = await asyncio.gather(*(f for _, f in sent), return_exceptions=True)
        for (i, _), result in zip(sent, results):
            if isinstance(result, BaseException):
                failed.append((i, result))
        return failed

    async def stop(self) -> None:
        producer, self._producer = getattr(self, "_producer", None), None
        if producer is not None:
            await producer.stop()
