"""Logstash's common input options (type, tags, add_field) applied by the engine to the
events an input submits, for YAML pipelines and .conf alike."""
from __future__ import annotations

import asyncio

import pytest

from logpipe.config import load_text
from logpipe.config.logstash import load_logstash_text
from logpipe.core import registry
from logpipe.core.event import Event
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import Output, PluginConfig
from logpipe.errors import ConfigError


class Keeping(Output):
    Config = PluginConfig

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.events: list[Event] = []

    async def send(self, events: list[Event]) -> None:
        self.events.extend(events)


@pytest.fixture(autouse=True)
def keeping() -> None:
    registry.register("output", "keeping", Keeping)

YAML = """
settings: {pipeline_workers: 1}
inputs:
  - type: generator
    count: 3
    lines: ["a", "b"]
    event_type: web
    tags: [shipped]
    add_field: {"[meta][line]": "%{message}", "env": "prod"}
  - type: generator
    count: 1
    message: "plain"
filters:
  - type: mutate
    if: '[type] == "web" and "shipped" in [tags]'
    add_tag: [routed]
outputs:
  - type: keeping
"""


def run(spec) -> list[dict]:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(spec)
    asyncio.run(pipeline.run())
    out = next(o for o in pipeline.outputs if isinstance(o, Keeping))
    return [{k: v for k, v in e.data.items() if k != "@timestamp"} for e in out.events]


def test_yaml_input_options_decorate_each_event() -> None:
    docs = run(load_text(YAML, source="p.yaml"))
    decorated = sorted((d for d in docs if d.get("type") == "web"), key=lambda d: d["sequence"])
    assert [(d["message"], d["meta"]["line"], d["env"], d["tags"]) for d in decorated] == [
        ("a", "a", "prod", ["shipped", "routed"]), ("b", "b", "prod", ["shipped", "routed"]),
        ("a", "a", "prod", ["shipped", "routed"])]
    [plain] = [d for d in docs if d.get("type") != "web"]
    assert "tags" not in plain and "env" not in plain


def test_conf_input_options_decorate_each_event() -> None:
    spec = load_logstash_text('input { generator { count => 2 message => "m" type => "syslog" '
                              'tags => ["x"] } } output { keeping { } }', env={})
    docs = run(spec)
    assert [(d["type"], d["tags"]) for d in docs] == [("syslog", ["x"]), ("syslog", ["x"])]


@pytest.mark.parametrize(("option", "message"), [
    ("tags: 5", "p.yaml:5: inputs[0].tags: tags must be a list of strings"),
    ("add_field: [a]", "p.yaml:5: inputs[0].add_field: add_field must be a mapping"),
    ("event_type: [a]", "p.yaml:5: inputs[0].event_type: event_type must be a string"),
])
def test_bad_input_options_point_at_their_line(option: str, message: str) -> None:
    text = f"inputs:\n  - type: generator\n    count: 1\n\n    {option}\n"
    with pytest.raises(ConfigError) as info:
        load_text(text, source="p.yaml")
    assert str(info.value).startswith(message)


def test_an_offer_refused_by_a_full_queue_is_decorated_once_when_taken() -> None:
    """An input offers a batch, the full queue refuses it, the input offers it again (the
    Kafka input does): add_field must not turn the value into a list of two."""
    async def go() -> None:
        pipeline = Pipeline(load_text(YAML.replace("pipeline_workers: 1", "pipeline_workers: 1, "
                                                   "queue_max_events: 1"), source="p.yaml"))
        ctx = pipeline._context_for(pipeline.inputs[0])
        assert ctx.try_submit([Event({"message": "first"})]) is not None
        again = [Event({"message": "again"})]
        assert ctx.try_submit(again) is None
        assert await ctx.submit_within(again, 0.001) is None
        await pipeline.queue.get_many(10, 0)
        assert await ctx.submit_within(again, 0.001) is not None
        assert again[0].data["env"] == "prod" and again[0].data["tags"] == ["shipped"]

    asyncio.run(go())
