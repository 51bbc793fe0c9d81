"""The ``elasticsearch`` output: events in, bulk requests out, every document settled.

``send`` returns when every document of the batch is written (or was already
there) or refused for good. Documents Elasticsearch can take later are retried,
with backoff, for as long as it takes (unless ``max_retries`` is set): the
worker stays in ``send``, the queue fills, and inputs slow down.

Refused documents (a mapping error, a 404, an invalid index name, a document
over the cluster's size limit, an event that cannot be written as JSON) are
returned as rejected outcomes: the engine puts them into the pipeline's
dead-letter queue, and the documents beside them are delivered. An output-level
``dead_letter_queue`` (a Kafka topic) still takes them here instead, and
``on_rejected: drop_with_log`` logs and drops them.

``ready()`` is False while the cluster does not answer (or answers 5xx), so
``/readyz`` takes the replica out until it is back.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import Output
from logpipe.core.writes import Writes
from logpipe.dlq.record import DeadLetterRecord, build_record
from logpipe.dlq.writer import DeadLetterWriter
from logpipe.outputs.elasticsearch.config import ElasticsearchConfig
from logpipe.outputs.elasticsearch.ids import deterministic, id_factory
from logpipe.outputs.elasticsearch.request_builder import RequestBuilder
from logpipe.outputs.elasticsearch.retry import RetryPolicy
from logpipe.outputs.elasticsearch.service import (BulkService, Counters, Failed, acquire_client,
                                                   release_client)
from logpipe.outputs.elasticsearch.metrics import BulkMetrics
from logpipe.outputs.index_names import IndexNameCheck, screen_chunks


class ElasticsearchOutput(Output):
    Config = ElasticsearchConfig
    config: ElasticsearchConfig

    def writes(self) -> Writes:
        """It reads events; a dead letter it scrubs is a copy (the scrubber copies what it changes)."""
        return Writes.nothing()

    async def start(self) -> None:
        cfg = self.config
        self._client_key: str | None
        self._client_key, client = acquire_client(self.context.resources, cfg)
        self._client = client
        self.builder = RequestBuilder(index=cfg.index, action=cfg.action,
                                      ids=id_factory(cfg.id_strategy, cfg.document_id),
                                      pipeline=cfg.pipeline, batch_size=cfg.batch_size,
                                      batch_bytes=cfg.batch_bytes)
        policy = RetryPolicy.from_config(cfg, deterministic(cfg.id_strategy, cfg.document_id))
        self.service = BulkService(client.options(request_timeout=cfg.timeout), policy,
                                   action=cfg.action, max_in_flight=cfg.max_in_flight,
                                   compression_level=cfg.compression_level if cfg.http_compression else None,
                                   log=self.log)
        self.dlq: DeadLetterWriter | None = None
        if cfg.dead_letter_queue is not None:
            ctx = self.context
            self.dlq = DeadLetterWriter(cfg.dead_letter_queue, owner_id=self.id, log=self.log,
                                        worker=ctx.worker_index if ctx.worker_count > 1 else None,
                                        pipeline=ctx.pipeline, data_dir=str(ctx.data_dir))
            await self.dlq.start()
        self._names = IndexNameCheck()
        #: Scrubs dead letters when asked to and the pipeline has no scrub filter of its own.
        self._own_scrubber = None
        if (cfg.dead_letter_queue is not None and cfg.dead_letter_queue.scrub
                and self.context.scrubber is None):
            from logpipe.filters.scrub import ScrubConfig, Scrubber
            self._own_scrubber = Scrubber(ScrubConfig.model_validate({"allow_random_key": True}))
        self.service.metrics = BulkMetrics(self.context.metrics, self.id)
        if cfg.template_check or cfg.template_required:
            await self._check_templates(client)

    async def _check_templates(self, client: Any) -> None:
        """A missing index template is a loud warning, or a refusal (template_required)."""
        from elastic_transport import ApiError, TransportError

        from logpipe.outputs.elasticsearch.templates import check_templates

        if self.context.worker_index != 0 and not self.config.template_required:
            return  # one warning per pipeline, not one per worker
        try:
            await check_templates(client, self.config.index, self.context,
                                  required=self.config.template_required, log=self.log)
        except (ApiError, TransportError) as exc:
            if self.config.template_required:
                raise
            self.log.warning("could not check the index templates: %s", exc)

    @property
    def counters(self) -> Counters:
        return self.service.counters

    async def ready(self) -> bool:
        """Whether the cluster answers now (any answer below 500, even a refusal for lack of
        privileges, proves it is there) and this output's own dead-letter queue, if it has
        one, can be written."""
        reachable = await self.service.reachable()
        if reachable:
            self.service.healthy = True
        if self.dlq is not None and not self.dlq.ready()[0]:
            return False
        return reachable

    async def send(self, events: list[Event]) -> Delivery | None:
        if not events:
            return None
        # Names built from event fields are checked before sending: a crafted value could
        # otherwise write to a hidden index or address several at once.
        refused: list[Failed] = []
        unserializable: list[Failed] = []
        failed = await self.service.deliver_all(
            screen_chunks(self.builder.chunks(events, unserializable), refused, self._names))
        refused += unserializable
        if refused:
            self.service.settled(rejected=len(refused))
            failed = refused + failed
        if failed:
            return await self._rejected(events, failed)
        return None

    async def _rejected(self, events: list[Event], failed: list[Failed]) -> Delivery | None:
        if self.dlq is not None:
            await self.dlq.write([self._record(f, events) for f in failed])
            metrics = self.service.metrics
            if metrics is not None:
                for reason, count in Counter(f.rejection.error_type for f in failed).items():
                    metrics.dead_lettered(reason or "unknown", count)
            self.log.warning("%d documents rejected by Elasticsearch went to the dead-letter "
                             "queue %s (first: %s)", len(failed), self.dlq.topic, _summary(failed[0]))
            return None
        if self.config.on_rejected == "drop_with_log":
            for f in failed:
                self.log.error("dropped document %s for index %s: %s", f.item.doc_id, f.item.index,
                               _summary(f))
            return None
        delivery = Delivery()
        for f in failed:
            r = f.rejection
            delivery.reject(f.item.pos, f"{r.error_type}: {r.reason}", error_type=r.error_type,
                            status=r.status, index=f.item.index or None,
                            document_id=f.item.doc_id, action=self.config.action,
                            ingest_pipeline=f.item.pipeline)
        return delivery

    def _record(self, f: Failed, events: list[Event]) -> DeadLetterRecord:
        cfg = self.config
        doc: bytes | dict[str, Any] = f.item.doc or events[f.item.pos].data
        scrubber = self.context.scrubber or self._own_scrubber
        if cfg.dead_letter_queue is not None and cfg.dead_letter_queue.scrub and scrubber is not None:
            from logpipe.filters.scrub import scrub_event
            doc = scrub_event(orjson.loads(f.item.doc) if f.item.doc else dict(events[f.item.pos].data),
                              scrubber)
        return build_record(event=doc, error_type=f.rejection.error_type, reason=f.rejection.reason,
                            status=f.rejection.status, index=f.item.index, document_id=f.item.doc_id,
                            pipeline=self.context.pipeline, plugin_id=self.id,
                            plugin_type=self.plugin_name or "elasticsearch", action=cfg.action,
                            ingest_pipeline=f.item.pipeline, attempts=f.attempts)

    async def stop(self) -> None:
        if getattr(self, "dlq", None) is not None:
            await self.dlq.stop()  # type: ignore[union-attr]
            self.dlq = None
        key = getattr(self, "_client_key", None)
        if key is not None:
            self._client_key = None
            await release_client(self.context.resources, key)


def _summary(f: Failed) -> str:
    return f"{f.rejection.status} {f.rejection.error_type}: {f.rejection.reason}"

