"""Every common access format reaches the same ECS fields through the graphmemory
pipeline; a line that looks like an access line but matches no format is tagged,
counted and kept."""
from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from logpipe.generate.traffic import ACCESS_FORMATS, Record, TrafficModel
from tests.unit.graphmemory_support import Chain


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain(LOGPIPE_SAMPLE_RATE="1")


@pytest.fixture(scope="module")
def records() -> dict[str, list[Record]]:
    by_kind: dict[str, list[Record]] = {}
    for r in TrafficModel(seed=5, run_id="fmt", formats="all", attack_share=0, pii_share=0).take(6000):
        by_kind.setdefault("graphmemory" if r.kind == "nginx" else r.kind, []).append(r)
    return by_kind


def test_the_generator_produces_every_format(records: dict[str, list[Record]]) -> None:
    assert set(ACCESS_FORMATS) <= set(records)


@pytest.mark.parametrize("kind", sorted(ACCESS_FORMATS))
@pytest.mark.parametrize("shape", ["line", "object"])
def test_each_format_gives_the_same_ecs_fields(chain: Chain, records: dict[str, list[Record]],
                                               kind: str, shape: str) -> None:
    for r in records[kind][:40]:
        # Beats ships raw text in message; HTTP, Kafka and Redis carry objects.
        (e,) = chain.run([{"message": r.as_text()} if shape == "line" else r.as_object()])
        method, path, status = r.request  # type: ignore[misc]
        assert e.has_tag("access") and not e.has_tag("_grokparsefailure"), e.data
        assert e.get("[event][dataset]") == "graphmemory.access"
        assert e.get("[http][request][method]") == method and e.get("[url][original]") == path
        assert e.get("[http][response][status_code]") == status
        assert e.get("[url][path]") == path.split("?")[0]
        assert isinstance(e.get("[source][ip]"), str) and e.get("[source][ip]") in r.as_text()
        assert e.get("[http][route]")
        assert e.get("[@metadata][category]") in ("access", "perf", "security")
        if kind != "uvicorn":  # uvicorn's default line carries no time
            stamp = e.data["@timestamp"]
            assert isinstance(stamp, datetime)
            text = r.as_text()
            assert stamp.strftime("%d/%b/%Y:%H:%M:%S") in text or stamp.strftime("%Y-%m-%dT%H:%M:%S") in text


def test_optional_fields_of_each_format() -> None:
    chain = Chain(LOGPIPE_SAMPLE_RATE="1")
    main, common, gm, js = chain.run([
        {"message": '89.160.20.112 - - [01/Dec/2026:10:00:00 +0000] "GET /api/memories HTTP/1.1" 200 10 '
                    '"https://graphmemory.io/" "curl/8.5.0" "203.0.113.7, 10.0.0.1"'},
        {"message": '89.160.20.112 - frank [01/Dec/2026:10:00:00 -0700] "GET /a.gif HTTP/1.0" 200 -'},
        {"message": '89.160.20.112 - - [01/Dec/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "curl/8.0" '
                    '0.250 req-9'},
        orjson.loads(orjson.dumps({"remote_addr": "89.160.20.112", "status": "201", "request_method": "POST",
                                   "request_uri": "/api/memories", "server_protocol": "HTTP/2.0",
                                   "body_bytes_sent": "31", "request_time": "0.045",
                                   "time_iso8601": "2026-12-01T10:00:00+00:00", "request_id": "j-1"})),
    ])
    assert main.get("[network][forwarded_ip]") == "203.0.113.7"
    assert main.get("[http][request][referrer]") == "https://graphmemory.io/"
    assert main.get("[user_agent][name]") == "curl"
    assert common.get("[user][name]") == "frank" and common.get("[http][version]") == "1.0"
    assert common.get("[http][response][body][bytes]") is None
    assert common.data["@timestamp"].isoformat() == "2026-12-01T17:00:00+00:00"
    assert gm.get("[event][duration]") == 250_000_000 and gm.get("[http][request][id]") == "req-9"
    assert js.get("[http][response][status_code]") == 201 and js.get("[http][version]") == "2.0"
    assert js.get("[event][duration]") == 45_000_000 and js.get("[http][request][id]") == "j-1"
    assert js.get("[http][response][body][bytes]") == 31
    assert "remote_addr" not in js.data and "status" not in js.data


def test_an_access_line_no_format_matches_is_tagged_counted_and_kept() -> None:
    chain = Chain()  # sampling on: a parse failure is always kept
    lines = [
        '81.2.69.160 - - [01/Dec/2026:10:00:00 +0000] "GET /x HTTP/1.1" abc 12',  # status not a number
        '2026-12-01 10:00:00 W3SVC1 GET /default.htm - 80 - 81.2.69.160 HTTP/1.1 Mozilla 200',  # IIS-like
        'INFO:     81.2.69.160:51234 - "BREW /pot HTCPCP/1.0" 418',
    ]
    plain = "worker started with 4 threads"
    events = chain.run([{"message": line} for line in [*lines, plain]])
    assert len(events) == 4
    failed = [e for e in events if e.has_tag("_grokparsefailure")]
    assert sorted(e.data["message"] for e in failed) == sorted(lines)
    assert all(e.get("[@metadata][category]") == "access" for e in failed)
    (other,) = [e for e in events if e.data["message"] == plain]
    assert not other.has_tag("_grokparsefailure") and other.get("[@metadata][category]") == "app"
    assert chain.counter("logpipe_parse_failures_total", pipeline="graphmemory", plugin="parse_access") == 3
