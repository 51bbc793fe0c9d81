"""The typed plugin context: services instead of a ``shared`` dict, submit instead of the queue,
the pipeline's own scrubber instead of a process global, no plugin importing ``logpipe.runtime``."""
from __future__ import annotations

import ast
import asyncio
import dataclasses
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import logpipe
from logpipe.config import load_text
from logpipe.core.pipeline import Pipeline
from logpipe.core.plugin import InputContext, PluginContext
from logpipe.core.services import DeadLetter, DeadLetters, Resources
from logpipe.core.telemetry import MetricsRegistry
from logpipe.core.event import Event
from tests.unit.filters.test_scrub import digest

from .conftest import CountingInput

PACKAGE = Path(logpipe.__file__).parent


def test_the_context_offers_typed_services_and_no_shared_dict() -> None:
    names = {f.name for f in dataclasses.fields(PluginContext)}
    assert "shared" not in names
    assert {"metrics", "dead_letters", "scrubber", "logger", "data_dir", "resources"} <= names
    ctx = PluginContext()
    assert isinstance(ctx.metrics, MetricsRegistry)
    assert isinstance(ctx.dead_letters, DeadLetters)
    assert isinstance(ctx.resources, Resources)


def test_inputs_get_submit_and_try_submit_not_the_queue() -> None:
    async def scenario() -> InputContext:
        p = Pipeline(load_text("inputs: [{type: counting, batches: 1, batch: 1}]\noutputs: "
                               "[{type: recording}]", source="t.yaml"))
        return p._context_for(p.inputs[0])

    ctx = asyncio.run(scenario())
    assert not hasattr(ctx, "queue")
    assert callable(ctx.submit) and callable(ctx.try_submit)
    assert ctx.pipeline_full is False


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("kind", ["inputs", "filters", "outputs"])
def test_no_plugin_imports_the_runtime_or_uses_a_shared_dict(kind: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / kind).rglob("*.py")):
        if any(m == "logpipe.runtime" or m.startswith("logpipe.runtime.") for m in _imports(path)):
            offenders.append(f"{path.relative_to(PACKAGE)} imports logpipe.runtime")
        if "context.shared" in path.read_text(encoding="utf-8"):
            offenders.append(f"{path.relative_to(PACKAGE)} uses context.shared")
    assert offenders == []


def test_scrubbing_has_no_process_global() -> None:
    import logpipe.filters.scrub.scrubber as scrubber_module

    for name in ("default_scrubber", "set_default_scrubber", "offer_default_scrubber", "_default"):
        assert not hasattr(scrubber_module, name), name


def test_each_pipeline_dead_letters_with_its_own_scrub_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pipelines in one process with different scrub keys: each one's dead letters are
    hashed with its own key (before: whichever scrub filter started first set a global)."""
    monkeypatch.setenv("KEY_A", "key-of-a")
    monkeypatch.setenv("KEY_B", "key-of-b")

    def build(name: str, env: str) -> Pipeline:
        return Pipeline(load_text(f"""
settings: {{dead_letter_queue: {{scrub: true}}}}
inputs: [{{type: counting, batches: 1, batch: 1}}]
filters: [{{type: scrub, key_env: {env}}}]
outputs: [{{type: recording}}]
""", source=f"{name}.yaml", name=name))

    async def scenario() -> tuple[dict, dict]:
        a, b = build("a", "KEY_A"), build("b", "KEY_B")
        await a.start()
        await b.start()
        try:
            letter = lambda: DeadLetter(Event({"user": {"email": "x@y.io"}}), "es", "elasticsearch",  # noqa: E731
                                        "mapper_parsing_exception: bad")
            return a.dead_letters.record(letter()).data(), b.dead_letters.record(letter()).data()
        finally:
            a.stopping.set()
            b.stopping.set()
            await a.shutdown(5)
            await b.shutdown(5)

    rec_a, rec_b = asyncio.run(scenario())
    assert rec_a["event"]["user"]["email"] == digest("x@y.io", b"key-of-a")
    assert rec_b["event"]["user"]["email"] == digest("x@y.io", b"key-of-b")
    assert rec_a["pipeline"] == "a" and rec_b["pipeline"] == "b"


def test_plugins_list_and_describe_print_settings_from_the_config_models() -> None:
    from logpipe.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["plugins", "list"]) == 0
    listing = out.getvalue()
    for name in ("beats", "grok", "dissect", "elasticsearch", "kafka", "file"):
        assert f"  {name} " in listing
    assert "Bulk-index events into Elasticsearch." in listing

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["plugins", "describe", "output/elasticsearch"]) == 0
    text = out.getvalue()
    from logpipe.outputs.elasticsearch.config import ElasticsearchConfig

    for field_name, info in ElasticsearchConfig.model_fields.items():
        assert f"  {field_name}: " in text
        assert info.description and info.description in text
    assert main(["plugins", "describe", "no-such-plugin"]) == 2


def test_counting_input_is_registered() -> None:
    assert CountingInput.plugin_name == "counting"
