"""The ``elasticsearch`` output: events in, bulk requests out, every document settled.

``send`` returns when every document of the batch is written (or was already
there) or dead-lettered. Documents Elasticsearch can take later are retried,
with backoff, for as long as it takes (unless ``max_retries`` is set): the
worker stays in ``send``, the queue fills, and inputs slow down.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from logpipe.core.event import Event
from logpipe.core.plugin import Output
from logpipe.dlq.record import DeadLetterRecord, build_record
from logpipe.dlq.writer import DeadLetterWriter
from logpipe.errors import DeliveryError
from logpipe.outputs.elasticsearch.config import ElasticsearchConfig
from logpipe.outputs.elasticsearch.ids import deterministic, id_factory
from logpipe.outputs.elasticsearch.request_builder import RequestBuilder
from logpipe.outputs.elasticsearch.retry import RetryPolicy
from logpipe.outputs.elasticsearch.service import (BulkService, Counters, Failed, acquire_client,
                                                   release_client)
from logpipe.outputs.elasticsearch.metrics import BulkMetrics
from logpipe.outputs.index_names import IndexNameCheck, screen_chunks
from logpipe.runtime.metrics import metrics_for


class ElasticsearchOutput(Output):
    Config = ElasticsearchConfig
    config: ElasticsearchConfig

    async def start(self) -> None:
        cfg = self.config
        self._client_key: str | None
        self._client_key, client = await acquire_client(self.context.shared, cfg)
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
                                        worker=ctx.worker_index if ctx.worker_count > 1 else None)
            await self.dlq.start()
        self._names = IndexNameCheck()
        self.service.metrics = BulkMetrics(metrics_for(self.context), self.id)
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

    async def send(self, events: list[Event]) -> None:
        if not events:
            return
        # Names built from event fields are checked before sending: a crafted value could
        # otherwise write to a hidden index or address several at once.
        refused: list[Failed] = []
        failed = await self.service.deliver_all(
            screen_chunks(self.builder.chunks(events), refused, self._names))
        if refused:
            self.service.settled(rejected=len(refused))
            failed = refused + failed
        if failed:
            await self._rejected(events, failed)

    async def _rejected(self, events: list[Event], failed: list[Failed]) -> None:
        if self.dlq is not None:
            await self.dlq.write([self._record(f) for f in failed])
            metrics = self.service.metrics
            if metrics is not None:
                for reason, count in Counter(f.rejection.error_type for f in failed).items():
                    metrics.dead_lettered(reason or "unknown", count)
            self.log.warning("%d documents rejected by Elasticsearch went to the dead-letter "
                             "queue %s (first: %s)", len(failed), self.dlq.topic, _summary(failed[0]))
            return
        if self.config.on_rejected == "drop_with_log":
            for f in failed:
                self.log.error("dropped document %s for index %s: %s", f.item.doc_id, f.item.index,
                               _summary(f))
            return
        raise DeliveryError(f"{len(failed)} documents rejected by Elasticsearch and no "
                            f"dead_letter_queue is set (first: {_summary(failed[0])})",
                            retriable=False)

    def _record(self, f: Failed) -> DeadLetterRecord:
        cfg = self.config
        doc: bytes | dict[str, Any] = f.item.doc
        if cfg.dead_letter_queue is not None and cfg.dead_letter_queue.scrub:
            from logpipe.filters.scrub import scrub_event
            doc = scrub_event(orjson.loads(f.item.doc))
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
            await release_client(self.context.shared, key)


def _summary(f: Failed) -> str:
    return f"{f.rejection.status} {f.rejection.error_type}: {f.rejection.reason}"

