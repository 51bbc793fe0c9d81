"""``logpipe dlq``: where brokers, topic and the replay target come from."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from logpipe.commands.dlq import _pipeline_output, dlq_config
from logpipe.dlq.replay import ID_FROM_RECORD, INDEX_FROM_RECORD, replay_config, to_event
from logpipe.dlq.reader import Entry
from logpipe.errors import ConfigError

PIPELINE = """
inputs: [{type: generator, count: 1}]
outputs:
  - type: elasticsearch
    id: es-plain
    hosts: ["http://es-a:9200"]
  - type: elasticsearch
    id: es-gm
    hosts: ["http://es-b:9200"]
    user: elastic
    password: secret
    index: "logs-graphmemory.%{[event][dataset]}"
    dead_letter_queue:
      bootstrap_servers: "kafka-1:9092,kafka-2:9092"
      topic: graphmemory-dlq
"""


def _args(tmp_path: Path, **kw: object) -> argparse.Namespace:
    path = tmp_path / "gm.yaml"
    path.write_text(PIPELINE)
    base = {"pipeline": str(path), "config_dir": None, "output_id": None, "bootstrap_servers": None,
            "topic": None}
    base.update(kw)
    return argparse.Namespace(**base)


def test_the_output_with_a_dead_letter_queue_is_chosen(tmp_path: Path) -> None:
    args = _args(tmp_path)
    entry = _pipeline_output(args)
    assert entry.id == "es-gm"
    cfg = dlq_config(args, entry)
    assert cfg.servers() == ["kafka-1:9092", "kafka-2:9092"] and cfg.topic == "graphmemory-dlq"


def test_command_line_overrides_the_pipeline(tmp_path: Path) -> None:
    args = _args(tmp_path, bootstrap_servers="localhost:9092", topic="other")
    cfg = dlq_config(args, _pipeline_output(args))
    assert cfg.servers() == ["localhost:9092"] and cfg.topic == "other"
    with pytest.raises(ConfigError):
        _pipeline_output(_args(tmp_path, output_id="nope"))
    with pytest.raises(ConfigError):
        dlq_config(argparse.Namespace(bootstrap_servers=None, topic=None), None)


def test_replay_keeps_cluster_and_credentials_but_routes_by_the_record(tmp_path: Path) -> None:
    entry = _pipeline_output(_args(tmp_path))
    cfg = replay_config(entry.config)
    assert cfg.hosts == ["http://es-b:9200"] and cfg.user == "elastic"
    assert cfg.index == INDEX_FROM_RECORD and cfg.document_id == ID_FROM_RECORD
    assert cfg.dead_letter_queue is None and cfg.on_rejected == "fail"
    own = replay_config(entry.config, use_output_index=True, to_es="http://elsewhere:9200",
                        skip_rejected=True)
    assert own.index == "logs-graphmemory.%{[event][dataset]}"
    assert own.hosts == ["http://elsewhere:9200"] and own.on_rejected == "drop_with_log"


def test_a_record_becomes_the_event_it_held_with_its_routing() -> None:
    record = {"event": {"@timestamp": "2025-03-14T09:00:00.123Z", "message": "m"},
              "error": {"type": "document_parsing_exception"}, "index": "logs-x",
              "document_id": "t:0:5", "ingest_pipeline": None}
    event = to_event(Entry(0, 5, 0, "t:0:5", record))
    assert event is not None
    assert event.data["@timestamp"].year == 2025 and event.data["message"] == "m"
    assert event.get("[@metadata][dlq][index]") == "logs-x"
    assert event.get("[@metadata][dlq][document_id]") == "t:0:5"
    assert to_event(Entry(0, 6, 0, None, {"event": None, "event_truncated": {}})) is None
