"""pipelines/graphmemory.conf, the flagship pipeline in Logstash's language, gives the
same documents (and the same routing metadata) as pipelines/graphmemory.yaml on
generated traffic."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logpipe.config.loader import load_file

ROOT = Path(__file__).resolve().parents[2]
COUNT = 1500


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gm") / "traffic.log"
    proc = subprocess.run([sys.executable, "-m", "logpipe", "generate", "--count", str(COUNT),
                           "--seed", "7", "--to", f"file:{path}", "--no-progress"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return path


def now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_same_documents_through_logpipe_filter(traffic: Path) -> None:
    env = {**os.environ, "LOGPIPE_SCRUB_KEY": "k"}
    lines = traffic.read_text()
    runs = []
    for args in (["--pipeline", "pipelines/graphmemory.yaml"], ["-f", "pipelines/graphmemory.conf"]):
        started = now()
        proc = subprocess.run([sys.executable, "-m", "logpipe", "filter", *args], input=lines,
                              capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
        assert proc.returncode == 0, proc.stderr
        runs.append((started, [json.loads(line) for line in proc.stdout.splitlines()]))
    (yaml_start, yaml_docs), (conf_start, conf_docs) = runs
    # Sampling thins both the same way: its decisions follow the events, not the run.
    assert 0 < len(yaml_docs) < COUNT and len(conf_docs) == len(yaml_docs)
    for y, c in zip(yaml_docs, conf_docs):
        ty, tc = y.pop("@timestamp"), c.pop("@timestamp")
        # Equal, or both the moment the line was read (no time in the line itself).
        assert ty == tc or (ty >= yaml_start and tc >= conf_start)
        assert c == y


def test_same_documents_and_metadata_in_process(traffic: Path, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """The YAML, the .conf and the YAML that `logpipe convert` makes of the .conf."""
    import asyncio

    from logpipe.core.event import Event
    from logpipe.core.pipeline import Pipeline

    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    from logpipe.cli import main
    from logpipe.config.loader import load_text

    lines = traffic.read_text().splitlines()
    converted = tmp_path / "converted.yaml"
    assert main(["convert", str(ROOT / "pipelines" / "graphmemory.conf"), "-o", str(converted)]) == 0
    specs = [load_file(ROOT / "pipelines" / "graphmemory.yaml"),
             load_file(ROOT / "pipelines" / "graphmemory.conf"),
             load_text(converted.read_text(), source="converted.yaml")]
    results = []
    for spec in specs:
        pipeline = Pipeline(spec)

        async def run(pipeline: Pipeline = pipeline) -> list[Event]:
            for plugin in pipeline.filters:
                await plugin.start()
            out: list[Event] = []
            for start in range(0, len(lines), 200):
                events = [Event({"message": line, "@timestamp": "fixed"}) for line in lines[start:start + 200]]
                for stage in pipeline.filter_stages:
                    events = stage.run(events)
                out.extend(events)
            for plugin in pipeline.filters:
                await plugin.stop()
            return out

        results.append([(e.data, e.metadata) for e in asyncio.run(run())])
    yaml_events, conf_events, converted_events = results
    assert 0 < len(yaml_events) < COUNT  # sampled, the same way in all three
    categories = {m.get("category") for _d, m in yaml_events}
    assert {"access", "app"} <= categories
    assert conf_events == yaml_events
    assert converted_events == yaml_events


def test_the_conf_outputs_match_the_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPE_SCRUB_KEY", "k")
    yaml_spec = load_file(ROOT / "pipelines" / "graphmemory.yaml")
    conf_spec = load_file(ROOT / "pipelines" / "graphmemory.conf")
    assert [(e.id, e.type, e.config) for e in conf_spec.inputs] == [
        (e.id, e.type, e.config) for e in yaml_spec.inputs]
    assert [(e.id, e.type, e.config) for e in conf_spec.outputs] == [
        (e.id, e.type, e.config) for e in yaml_spec.outputs]
