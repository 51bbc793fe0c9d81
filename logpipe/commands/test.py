"""``logpipe test``: run a pipeline's own test cases, like ``vector test``.

Cases live next to the pipeline in ``NAME.tests.yaml``:

    tests:
      - name: nginx line becomes ECS fields
        input: {message: '81.2.69.142 - - [...] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0" 0.004 r-1'}
        expect:
          "[source][ip]": 81.2.69.142
          "[http][response][status_code]": 200
        absent: ["[password]"]
        tags_include: [access]
        tags_exclude: [_grokparsefailure]

Only the filters run; inputs and outputs are not started, so no server is needed.
"""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from logpipe.commands._common import add_pipeline_args
from logpipe.errors import ConfigError

if TYPE_CHECKING:
    pass


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    input: dict[str, Any] | str
    expect: dict[str, Any] = Field(default_factory=dict)
    absent: list[str] = Field(default_factory=list)
    tags_include: list[str] = Field(default_factory=list)
    tags_exclude: list[str] = Field(default_factory=list)
    dropped: bool = False


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: dict[str, str] = Field(default_factory=dict)
    tests: list[Case]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run a pipeline's test cases (NAME.tests.yaml)")
    add_pipeline_args(p)
    p.add_argument("--cases", help="test case file (default: next to the pipeline, NAME.tests.yaml)")
    p.add_argument("--verbose", "-v", action="store_true", help="print each event produced")
    p.set_defaults(func=run)


def _compare(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return abs(expected - actual) < 1e-9
    if hasattr(actual, "isoformat") and isinstance(expected, str):
        return actual.isoformat().replace("+00:00", "Z") == expected
    return bool(expected == actual)


def check_case(case: Case, events: list[Any]) -> list[str]:
    """What is wrong with the events a case produced (empty when it passes)."""
    if case.dropped:
        return [] if not events else [f"expected the event to be dropped, got {len(events)}"]
    if len(events) != 1:
        return [f"expected one event, got {len(events)}"]
    event = events[0]
    problems = []
    for ref, want in case.expect.items():
        got = event.get(ref, "<absent>")
        if not _compare(want, got):
            problems.append(f"{ref}: expected {want!r}, got {got!r}")
    for ref in case.absent:
        if event.contains(ref):
            problems.append(f"{ref}: expected absent, got {event.get(ref)!r}")
    for tag in case.tags_include:
        if not event.has_tag(tag):
            problems.append(f"tags: expected {tag!r} in {event.data.get('tags')}")
    for tag in case.tags_exclude:
        if event.has_tag(tag):
            problems.append(f"tags: {tag!r} should not be there")
    return problems


async def _run_cases(args: argparse.Namespace) -> int:
    import os

    from logpipe.config.loader import load_file, resolve
    from logpipe.core.event import Event
    from logpipe.core.metrics import PipelineStats
    from logpipe.core.pipeline import build_filter_stages, filter_plugins
    from logpipe.core.plugin import PluginContext

    pipeline_path = resolve(args.pipeline, args.config_dir)
    cases_path = Path(args.cases) if args.cases else pipeline_path.with_name(pipeline_path.stem + ".tests.yaml")
    if not cases_path.is_file():
        raise ConfigError(f"no test cases: {cases_path} not found")
    try:
        cases = CaseFile.model_validate(yaml.safe_load(cases_path.read_text()))
    except Exception as exc:
        raise ConfigError(f"bad test case file: {exc}", file=str(cases_path)) from None
    for key, value in cases.env.items():
        os.environ.setdefault(key, value)
    spec = load_file(pipeline_path)
    stats = PipelineStats()
    context = PluginContext(pipeline=spec.name, settings=spec.settings)
    stages = build_filter_stages(spec.filters, lambda e: e.cls(e.config, id=e.id, context=context),
                                 stats, ordered=True)
    plugins = filter_plugins(stages)
    for plugin in plugins:
        await plugin.start()
    failed = 0
    try:
        for case in cases.tests:
            raw = case.input if isinstance(case.input, dict) else {"message": case.input}
            events = [Event(dict(raw))]
            for stage in stages:
                events = stage.run(events)
            problems = check_case(case, events)
            if problems:
                failed += 1
                print(f"FAIL {case.name}")
                for problem in problems:
                    print(f"     {problem}")
            else:
                print(f"ok   {case.name}")
            if args.verbose:
                from logpipe.core.codec import dumps_pretty
                for e in events:
                    print(dumps_pretty(e.data).decode())
    finally:
        for plugin in plugins:
            await plugin.stop()
    passed = len(cases.tests) - failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run_cases(args))


