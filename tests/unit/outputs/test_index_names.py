"""Index names built from event fields: what is refused, and how refused items leave a bulk."""
from __future__ import annotations

import pytest

from logpipe.core.event import Event
from logpipe.outputs.elasticsearch.ids import id_factory
from logpipe.outputs.elasticsearch.request_builder import RequestBuilder
from logpipe.outputs.index_names import REASON, IndexNameCheck, index_name_problem, screen_chunks


@pytest.mark.parametrize("name", [
    "logs-graphmemory-access-2025.03.14", "gm_app", "a", "x" * 255, "logs-é-2025", "logs.2025-03",
    "metrics-1+1", "logs-[api]",
])
def test_ordinary_names_pass(name: str) -> None:
    assert index_name_problem(name) is None


@pytest.mark.parametrize("name, words", [
    ("", "empty"),
    (".", "reserved"),
    ("..", "reserved"),
    ("_all", "every index"),
    ("*", "'*'"),
    ("logs-*", "'*'"),
    ("logs-?", "'?'"),
    (".security", "starts with '.'"),
    (".kibana_1", "starts with '.'"),
    ("-logs", "starts with '-'"),
    ("_internal", "starts with '_'"),
    ("+logs", "starts with '+'"),
    ("Logs", "uppercase"),
    ("logs-API", "uppercase"),
    ("logs/../secrets", "'/'"),
    ("logs..secrets", "'..'"),
    ("logs access", "' '"),
    ("logs\taccess", "'\\t'"),
    ("logs,secrets", "','"),
    ("logs#1", "'#'"),
    ("remote:logs", "':'"),
    ('logs"x', "'\"'"),
    ("logs|x", "'|'"),
    ("logs<x>", "'<>'"),
    ("logs\\x", "'\\\\'"),
    ("x" * 256, "256 bytes"),
    ("é" * 128, "256 bytes"),  # 128 characters, 256 bytes
    ("logs-%{[service][name]}", "field reference"),
])
def test_dangerous_or_invalid_names_are_refused_with_the_reason(name: str, words: str) -> None:
    problem = index_name_problem(name)
    assert problem is not None and words in problem, problem


def test_the_memoized_check_gives_the_same_answers_and_stays_bounded() -> None:
    check = IndexNameCheck()
    names = [f"logs-{i}" for i in range(5000)] + ["_all", "Logs"]
    assert [check(n) for n in names] == [index_name_problem(n) for n in names]
    assert len(check._seen) <= 4096  # noqa: SLF001 - the bound is the point


def test_screening_takes_bad_items_out_of_the_bulk_and_reports_them() -> None:
    builder = RequestBuilder(index="%{[service]}", action="create", ids=id_factory("content_hash"),
                             batch_size=3)
    services = ["logs-api", "_all", "logs-web", ".security", "API", "logs-db", "*"]
    events = [Event({"service": s, "n": n}) for n, s in enumerate(services)]
    events.append(Event({"n": 7}))  # no service field: the reference stays unfilled
    rejected: list = []
    chunks = list(screen_chunks(builder.chunks(events), rejected))
    sent = [item.index for chunk in chunks for item in chunk]
    assert sent == ["logs-api", "logs-web", "logs-db"]
    assert all(chunk for chunk in chunks)  # a chunk left empty is not sent at all
    assert [f.item.index for f in rejected] == ["_all", ".security", "API", "*", "%{[service]}"]
    assert {f.rejection.error_type for f in rejected} == {REASON}
    assert {f.rejection.status for f in rejected} == {400}
    # The rejected item keeps its serialized document, as the dead-letter record needs it.
    assert b'"n":1' in rejected[0].item.doc


def test_a_name_that_is_only_bad_after_rendering_is_caught() -> None:
    builder = RequestBuilder(index="%{[tenant]}-logs", action="create", ids=id_factory("content_hash"))
    rejected: list = []
    events = [Event({"tenant": "acme"}), Event({"tenant": ".."}), Event({"tenant": "x,_all"}),
              Event({"tenant": "a/../b"}), Event({"tenant": "Acme"})]
    sent = [i.index for c in screen_chunks(builder.chunks(events), rejected) for i in c]
    assert sent == ["acme-logs"]
    assert [f.item.index for f in rejected] == ["..-logs", "x,_all-logs", "a/../b-logs", "Acme-logs"]
