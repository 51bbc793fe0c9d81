"""The ``simple`` scenario's pipeline and traffic: Apache combined lines, parsed and enriched.

The most common Logstash pipeline there is: ``%{COMBINEDAPACHELOG}`` (ECS v8
field names), the access time into ``@timestamp``, GeoIP on the client
address, the user agent parsed, into the blackhole. Lines are the nginx
lines of the GraphMemory traffic model cut back to Apache's combined format
(no request time, no request id), sent as ``{"message": line}`` records.
"""
from __future__ import annotations

import orjson
import yaml

from logpipe.bench.pool import POOL_TIME
from logpipe.config.loader import PipelineSpec, load_text
from logpipe.generate.traffic import TrafficModel

FILTERS: list[dict[str, object]] = [
    {"type": "grok", "id": "grok", "match": {"message": "%{COMBINEDAPACHELOG}"}},
    {"type": "date", "id": "date", "match": ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"]},
    {"type": "geoip", "id": "geoip", "source": "[source][address]", "target": "[source][geo]",
     "on_missing": "tag"},
    {"type": "useragent", "id": "useragent", "source": "[user_agent][original]"},
]


def pipeline_text(inputs: list[dict[str, object]], outputs: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"settings": {"batch_size": 1000, "pipeline_workers": 4},
                           "inputs": inputs, "filters": FILTERS, "outputs": outputs}, sort_keys=False)


def load(inputs: list[dict[str, object]], outputs: list[dict[str, object]]) -> PipelineSpec:
    return load_text(pipeline_text(inputs, outputs), source="simple (benchmark)", name="simple")


def make_pool(count: int, seed: int = 13) -> list[bytes]:
    model = TrafficModel(seed=seed, run_id="simple", now=POOL_TIME)
    lines = []
    for seq in range(count):
        line = model.nginx(seq).line
        assert line is not None
        lines.append(orjson.dumps({"message": line.rsplit(" ", 2)[0]}))
    return lines
