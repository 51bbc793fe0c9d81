"""The output's handling of rejected documents: dead-letter queue, fail, or drop with a log."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from logpipe.core.event import Event
from logpipe.core.outcome import Delivery
from logpipe.core.plugin import PluginContext
from logpipe.dlq.config import DeadLetterQueueConfig
from logpipe.dlq.writer import DeadLetterWriter
from logpipe.outputs.elasticsearch import ElasticsearchOutput
from tests.unit.dlq.test_writer import FakeKafka
from tests.unit.outputs.test_es_service import FakeClient


def _reject_odd(actions: list, docs: list) -> list[int]:
    return [400 if d["n"] % 2 else 201 for d in docs]


def _events(n: int) -> list[Event]:
    return [Event({"n": i, "event": {"dataset": "app"}}) for i in range(n)]


async def _output(client: FakeClient, **options: Any) -> ElasticsearchOutput:
    cfg = ElasticsearchOutput.Config(index="logs-%{[event][dataset]}", retry_initial_interval=0.001,
                                     retry_max_interval=0.002, **options)
    out = ElasticsearchOutput(cfg, id="es-app", context=PluginContext(pipeline="gm"))
    await out.start()
    out.service.client = client  # type: ignore[assignment]
    return out


def test_rejected_documents_go_to_the_dead_letter_queue(tmp_path: Path) -> None:
    kafka = FakeKafka()

    async def main() -> None:
        out = await _output(FakeClient(_reject_odd))
        dlq_cfg = DeadLetterQueueConfig(bootstrap_servers="k:9092", topic="gm-dlq",
                                        spill_path=str(tmp_path / "s.jsonl"))
        out.dlq = DeadLetterWriter(dlq_cfg, owner_id="es-app", producer_factory=kafka.producer)
        await out.dlq.start()
        await out.send(_events(6))
        await out.stop()

    asyncio.run(main())
    records = [orjson.loads(v) for _, _, v, _ in kafka.records]
    assert [r["event"]["n"] for r in records] == [1, 3, 5]
    first = records[0]
    assert first["error"]["type"] == "document_parsing_exception"
    assert first["error"]["status"] == 400
    assert (first["index"], first["pipeline"], first["plugin_id"]) == ("logs-app", "gm", "es-app")
    assert first["document_id"] and first["attempts"] == 1


def test_without_its_own_queue_rejections_are_rejected_outcomes_for_the_engine() -> None:
    async def main() -> Delivery | None:
        out = await _output(FakeClient(_reject_odd))
        try:
            return await out.send(_events(4))
        finally:
            await out.stop()

    delivery = asyncio.run(main())
    assert delivery is not None and not delivery.retry
    assert sorted(delivery.rejected) == [1, 3]
    assert delivery.rejected[1].startswith("document_parsing_exception: ")
    assert delivery.details[1]["status"] == 400


def test_drop_with_log_acknowledges_and_names_each_document(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        out = await _output(FakeClient(_reject_odd), on_rejected="drop_with_log")
        await out.send(_events(4))
        await out.stop()

    asyncio.run(main())
    dropped = [r for r in caplog.records if "dropped document" in r.getMessage()]
    assert len(dropped) == 2
    assert "document_parsing_exception" in dropped[0].getMessage()


def test_outputs_for_the_same_cluster_share_one_client() -> None:
    async def main() -> None:
        ctx = PluginContext()
        a = ElasticsearchOutput(ElasticsearchOutput.Config(index="a"), id="a", context=ctx)
        b = ElasticsearchOutput(ElasticsearchOutput.Config(index="b", batch_size=10), id="b", context=ctx)
        c = ElasticsearchOutput(ElasticsearchOutput.Config(hosts=["http://other:9200"]), id="c", context=ctx)
        for o in (a, b, c):
            await o.start()
        assert a._client is b._client and a._client is not c._client
        assert a._client_key in ctx.resources and c._client_key in ctx.resources
        for o in (a, b, c):
            await o.stop()
        assert a._client_key not in ctx.resources and c._client_key not in ctx.resources

    asyncio.run(main())


def test_config_rejects_mixed_credentials() -> None:
    with pytest.raises(ValueError):
        ElasticsearchOutput.Config(api_key="k", user="u", password="p")
    with pytest.raises(ValueError):
        ElasticsearchOutput.Config(user="u")
    with pytest.raises(ValueError):
        ElasticsearchOutput.Config(unknown_setting=1)


def test_client_options_follow_the_tls_and_credential_settings() -> None:
    from logpipe.outputs.elasticsearch.service import client_options

    opts = client_options(ElasticsearchOutput.Config(hosts=["http://es:9200", "es2:9200"], ssl_enabled=True,
                                                     user="elastic", password="pw",
                                                     ssl_verification_mode="none"))
    assert opts["hosts"] == ["https://es:9200", "https://es2:9200"]
    assert opts["basic_auth"] == ("elastic", "pw") and opts["verify_certs"] is False
    assert opts["max_retries"] == 0  # retrying is the output's job, item by item
    opts = client_options(ElasticsearchOutput.Config(api_key="abc", ssl_certificate_authorities=["/ca.pem"]))
    assert opts["api_key"] == "abc" and opts["ca_certs"] == "/ca.pem"
    assert "**********" in repr(ElasticsearchOutput.Config(api_key="abc"))


def test_requests_retries_outcomes_and_dead_letters_reach_the_metrics(tmp_path: Path) -> None:
    """/metrics gets bulk sizes, request latency, retries by reason, documents by outcome
    and dead-lettered events by reason, from the output's own registry."""
    from logpipe.runtime.metrics import MetricsRegistry

    answers = iter([(429, {"error": {"type": "es_rejected_execution_exception"}})])

    def script(actions: list, docs: list) -> Any:
        # first request: the whole bulk refused with 429; then odd documents rejected
        return next(answers, None) or _reject_odd(actions, docs)

    kafka = FakeKafka()
    registry = MetricsRegistry()

    async def main() -> None:
        cfg = ElasticsearchOutput.Config(index="logs-%{[event][dataset]}", retry_initial_interval=0.001,
                                         retry_max_interval=0.002)
        out = ElasticsearchOutput(cfg, id="es-app",
                                  context=PluginContext(pipeline="gm", metrics=registry))
        await out.start()
        out.service.client = FakeClient(script)  # type: ignore[assignment]
        out.dlq = DeadLetterWriter(DeadLetterQueueConfig(bootstrap_servers="k:9092", topic="gm-dlq",
                                                         spill_path=str(tmp_path / "s.jsonl")),
                                   owner_id="es-app", producer_factory=kafka.producer)
        await out.dlq.start()
        await out.send(_events(6))
        await out.stop()

    asyncio.run(main())
    families = {f["name"]: {tuple(sorted(labels.items())): value for labels, value in f["samples"]}
                for f in registry.snapshot()}
    es = (("id", "es-app"),)
    assert families["logpipe_output_bulk_size"][es]["count"] == 2      # the refused try and the retry
    assert families["logpipe_output_bulk_size"][es]["sum"] == 12
    assert families["logpipe_output_request_seconds"][es]["count"] == 2
    assert families["logpipe_output_retries_total"][(("id", "es-app"), ("reason", "429"))] == 1
    docs = families["logpipe_output_documents_total"]
    assert docs[(("id", "es-app"), ("result", "written"))] == 3
    assert docs[(("id", "es-app"), ("result", "rejected"))] == 3
    dlq = families["logpipe_dlq_events_total"]
    assert dlq == {(("id", "es-app"), ("reason", "document_parsing_exception")): 3}


def test_an_empty_credential_from_an_unset_variable_means_none() -> None:
    cfg = ElasticsearchOutput.Config.model_validate({"api_key": "", "user": " ", "password": ""})
    assert (cfg.api_key, cfg.user, cfg.password) == (None, None, None)
    assert ElasticsearchOutput.Config.model_validate({"api_key": "abc"}).api_key is not None
