"""The pipeline most reliability scenarios run: Kafka in, Elasticsearch out.

Every such scenario has the same skeleton: one consumer-group ``kafka`` input
reading JSON from the earliest offset (so nothing produced before the pipeline
joined is missed) and one ``elasticsearch`` output with the id ``es`` (the id
the scenarios look up counters by). What differs is the tuning, and there it
differs on purpose: batch sizes, commit and retry intervals, timeouts and the
dead-letter queue are sized to the fault each scenario provokes. Building the
text here keeps the skeleton in one place and leaves in each test only what
that scenario chose.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import yaml


def kafka_to_es(*, bootstrap: str, topic: str, group: str, es_url: str, index: str,
                settings: Mapping[str, Any], kafka: Mapping[str, Any], es: Mapping[str, Any],
                more_outputs: Sequence[Mapping[str, Any]] = ()) -> str:
    """The text of a pipeline from ``topic`` (consumer group ``group``) to ``index``.

    ``settings`` are the pipeline settings; ``kafka`` and ``es`` are added to the
    input's and the output's own options; ``more_outputs`` are further outputs
    after the Elasticsearch one (a witness file, say).
    """
    config = {
        "settings": dict(settings),
        "inputs": [{"type": "kafka", "bootstrap_servers": bootstrap, "topics": [topic], "group_id": group,
                    "auto_offset_reset": "earliest", "codec": "json", **kafka}],
        "outputs": [{"type": "elasticsearch", "id": "es", "hosts": [es_url], "index": index, **es},
                    *(dict(output) for output in more_outputs)],
    }
    return yaml.safe_dump(config, sort_keys=False)
