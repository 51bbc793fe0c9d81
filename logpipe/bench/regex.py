"""Scenario "regex": Vector's public "Regex Parsing Performance" case, run here.

Apache-common-like lines go in over TCP; the subject parses each with the
harness's regular expression into named fields and writes JSON lines out over
TCP to a consumer. The figure is MiB/s of input, from the first byte sent to
the last line received. Subjects, measured back to back in the same run:

- ``logpipe``: ``logpipe run`` with a tcp input, a grok filter holding the
  harness expression and a tcp output, with all workers (SO_REUSEPORT);
- ``bare``: a straight asyncio loop in one process (read, split, regex, orjson,
  write): the yardstick for framework cost;
- ``syslog-ng``: Debian's syslog-ng with the same expression in a regexp-parser;
- ``rsyslog``: Debian's rsyslog, the same fields parsed by mmnormalize.

The peers are installed when missing (:mod:`.peers`) and run on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from logpipe.bench.peers import Peer

from logpipe.bench import peers
from logpipe.bench.common import (Options, Row, ScenarioResult, Target, child_env, free_port, stop_process,
                                  wait_port)

HARNESS_REGEX = (r'^(?P<host>[\w\.]+) - (?P<user>[\w]+) (?P<bytes_in>[\d]+) \[(?P<timestamp>.*)\] '
                 r'"(?P<method>[\w]+) (?P<path>.*)" (?P<status>[\d]+) (?P<bytes_out>[\d]+)$')
#: The same expression with Oniguruma-style group names, as grok users write them.
GROK_REGEX = HARNESS_REGEX.replace("(?P<", "(?<")
CONNECTIONS = 8
#: A subject that sends nothing for this long after its input ended has lost lines.
STALL_SECONDS = 15.0

Starter = Callable[[int, int], "subprocess.Popen[bytes]"]


def make_lines(count: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "erin"]
    methods = ["GET", "POST", "PUT", "DELETE"]
    out = []
    for _ in range(count):
        host = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        out.append(
            f'{host} - {rng.choice(users)} {rng.randint(100, 9999)} [26/Nov/2026:16:{rng.randint(10, 59)}:'
            f'{rng.randint(10, 59)} +0000] "{rng.choice(methods)} /api/v{rng.randint(1, 3)}/items/'
            f'{rng.randint(1, 99999)}?page={rng.randint(1, 50)}" {rng.choice([200, 200, 201, 404, 500])} '
            f"{rng.randint(100, 65000)}\n")
    return "".join(out).encode()


@dataclass
class Measured:
    subject: str
    mib_per_s: float
    lines: int
    seconds: float


def _split(payload: bytes, parts: int) -> list[bytes]:
    """``parts`` pieces of about equal size, each ending at a line boundary."""
    chunk = len(payload) // parts
    out: list[bytes] = []
    start = 0
    for i in range(parts):
        end = len(payload) if i == parts - 1 else payload.rfind(b"\n", start, start + chunk) + 1
        if end <= start:
            end = start
        out.append(payload[start:end])
        start = end
    return [p for p in out if p]


async def _measure(start_subject: Starter, payload: bytes, lines: int, ready: Callable[[int], None]
                   ) -> tuple[float, int]:
    received = [0]
    done = asyncio.Event()

    async def consume(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(1 << 20)
                if not data:
                    break
                received[0] += data.count(b"\n")
                if received[0] >= lines:
                    done.set()
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(consume, "127.0.0.1", 0)
    out_port = server.sockets[0].getsockname()[1]
    in_port = free_port()
    proc = start_subject(in_port, out_port)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, wait_port, in_port, proc)
        await loop.run_in_executor(None, ready, in_port)

        async def push(data: bytes) -> None:
            _, w = await asyncio.open_connection("127.0.0.1", in_port)
            view = memoryview(data)
            for i in range(0, len(data), 1 << 20):
                w.write(view[i:i + (1 << 20)])
                await w.drain()
            w.close()
            await w.wait_closed()

        started = time.perf_counter()
        await asyncio.gather(*(push(p) for p in _split(payload, CONNECTIONS)))
        # Wait for the rest; give up once nothing has arrived for a while (a subject
        # that dropped lines would otherwise be waited for forever).
        last, last_change = received[0], time.perf_counter()
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), timeout=0.5)
            except TimeoutError:
                if received[0] != last:
                    last, last_change = received[0], time.perf_counter()
                elif time.perf_counter() - last_change > STALL_SECONDS:
                    break
        return (time.perf_counter() - started) if done.is_set() else float("nan"), received[0]
    finally:
        await loop.run_in_executor(None, stop_process, proc)
        server.close()


def measure(subject: str, start_subject: Starter, payload: bytes, lines: int,
            ready: Callable[[int], None] = lambda _port: None) -> Measured:
    seconds, got = asyncio.run(_measure(start_subject, payload, lines, ready))
    return Measured(subject, len(payload) / seconds / (1 << 20), got, seconds)


# --- subjects ----------------------------------------------------------------------------
def logpipe_pipeline(in_port: int, out_port: int) -> str:
    regex_yaml = GROK_REGEX.replace("'", "''")
    return f"""
settings: {{batch_size: 2000, batch_delay_ms: 5, pipeline_workers: 2, queue_max_events: 40000}}
inputs:
  - type: tcp
    port: {in_port}
    read_bytes: 262144
filters:
  - type: grok
    match: {{message: '{regex_yaml}'}}
    ecs_compatibility: disabled
outputs:
  - type: tcp
    port: {out_port}
"""


def start_logpipe(workers: int, tmp: Path, status_port: int) -> Starter:
    def start(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
        conf = tmp / "regex.yaml"
        conf.write_text(logpipe_pipeline(in_port, out_port))
        return subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(conf),
                                 "--workers", str(workers), "--metrics-port", str(status_port),
                                 "--log-level", "warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
    return start


def wait_ready(status_port: int, timeout: float = 60.0) -> Callable[[int], None]:
    """Every worker listening before the clock starts (else the first takes all connections)."""
    def ready(_in_port: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{status_port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("logpipe workers did not become ready in time")
    return ready


def start_bare(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "logpipe.bench.bare_regex", str(in_port), str(out_port),
                             HARNESS_REGEX], env=child_env())


def start_syslog_ng(peer: Peer, tmp: Path) -> Starter:
    """Large windows and fetch limits (the fastest of the settings tried here), and
    flow control so that it slows its readers instead of dropping lines."""
    def start(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
        conf = tmp / "syslog-ng.conf"
        pattern = HARNESS_REGEX.replace("\\", "\\\\").replace('"', '\\"')
        conf.write_text(f"""@version: 3.38
options {{ threaded(yes); log-fifo-size(1000000); flush-lines(10000); }};
source s_in {{ network(ip("127.0.0.1") port({in_port}) transport("tcp") flags(no-parse)
  max-connections(64) log-iw-size(1000000) log-fetch-limit(10000)); }};
parser p_re {{ regexp-parser(patterns("{pattern}") prefix("")); }};
destination d_out {{ network("127.0.0.1" port({out_port}) transport("tcp")
  template("$(format-json host=${{host}} user=${{user}} bytes_in=${{bytes_in}} timestamp=${{timestamp}} method=${{method}} path=${{path}} status=${{status}} bytes_out=${{bytes_out}} message=${{MESSAGE}})\\n")); }};
log {{ source(s_in); parser(p_re); destination(d_out); flags(flow-control); }};
""")
        return subprocess.Popen([peer.binary, *peer.args, "-F", "-f", str(conf), "-R", str(tmp / "sng.persist"),
                                 "-p", str(tmp / "sng.pid"), "-c", str(tmp / "sng.ctl")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **peer.env})
    return start


#: liblognorm's rule for the harness lines: the fields of HARNESS_REGEX, in its order.
RSYSLOG_RULE = ('rule=:%host:word% - %user:word% %bytes_in:number% [%timestamp:char-to{"extradata":"]"}%] '
                '"%method:word% %path:char-to{"extradata":"\\""}%" %status:number% %bytes_out:number%')


def start_rsyslog(peer: Peer, tmp: Path) -> Starter:
    """imptcp in (plain lines: no octet-counted framing), mmnormalize on the raw line,
    every parsed field as one JSON line out with omfwd."""
    def start(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
        work = tmp / "rsyslog"
        work.mkdir(exist_ok=True)
        (work / "rules.rb").write_text(f"version=2\n{RSYSLOG_RULE}\n")
        conf = work / "rsyslog.conf"
        conf.write_text(f"""global(workDirectory="{work}" maxMessageSize="64k")
module(load="imptcp" threads="2")
module(load="mmnormalize")
template(name="fields" type="list") {{ property(name="$!all-json") constant(value="\\n") }}
input(type="imptcp" address="127.0.0.1" port="{in_port}" ruleset="bench" SupportOctetCountedFraming="off")
ruleset(name="bench" queue.type="LinkedList" queue.size="1000000" queue.dequeueBatchSize="10000") {{
  action(type="mmnormalize" rulebase="{work / 'rules.rb'}" useRawMsg="on")
  action(type="omfwd" target="127.0.0.1" port="{out_port}" protocol="tcp" template="fields")
}}
""")
        return subprocess.Popen([peer.binary, *peer.args, "-n", "-f", str(conf), "-i", str(work / "pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **peer.env})
    return start


def run(options: Options) -> ScenarioResult:
    workers = options.worker_count
    lines = 20_000 if options.quick else 1_000_000
    rounds = 1 if options.quick else options.repeat
    payload = make_lines(lines)
    result = ScenarioResult("regex", "Vector regex parsing case over TCP, MiB/s of input")
    why = peers.ensure_installed()
    if why:
        result.notes.append(why)
    found = [p for p in (peers.syslog_ng(), peers.rsyslog()) if p is not None]
    starters = {"syslog-ng": start_syslog_ng, "rsyslog": start_rsyslog}
    best: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        status_port = free_port()
        subjects: list[tuple[str, Starter, Callable[[int], None]]] = [
            (f"logpipe ({workers} workers)", start_logpipe(workers, tmp, status_port), wait_ready(status_port)),
            ("bare asyncio loop (1 process)", start_bare, lambda _p: None),
        ]
        for peer in found:
            subjects.append((peer.name, starters[peer.name](peer, tmp), lambda _p: None))
        for missing in sorted(set(starters) - {p.name for p in found}):
            result.notes.append(f"{missing} is not installed: no figure for it")
        for round_no in range(rounds):
            for name, starter, ready in (subjects if round_no % 2 == 0 else list(reversed(subjects))):
                got = measure(name, starter, payload, lines, ready)
                if got.lines < lines:
                    if name not in starters:
                        raise RuntimeError(f"{name}: only {got.lines} of {lines} lines came out")
                    result.notes.append(f"{name} delivered {got.lines} of {lines} lines in round "
                                        f"{round_no + 1}; that round is not counted")
                    continue
                if name not in best or got.mib_per_s > best[name].mib_per_s:
                    best[name] = got
    ours = best[subjects[0][0]]
    bare = best[subjects[1][0]]
    result.rows.append(Row(bare.subject, bare.mib_per_s, "MiB/s", detail=f"{bare.seconds:.2f} s"))
    result.rows.append(Row(ours.subject, ours.mib_per_s, "MiB/s", ratio=ours.mib_per_s / bare.mib_per_s,
                           detail=f"{ours.seconds:.2f} s"))
    result.targets.append(Target("logpipe vs bare loop", ours.mib_per_s / bare.mib_per_s, 0.7))
    measured_peers = [best[name] for name in starters if name in best]
    for peer_result in measured_peers:
        result.rows.append(Row(peer_result.subject, peer_result.mib_per_s, "MiB/s",
                               ratio=peer_result.mib_per_s / bare.mib_per_s,
                               detail=f"{peer_result.seconds:.2f} s; logpipe "
                                      f"{ours.mib_per_s / peer_result.mib_per_s:.2f}x"))
    if measured_peers:
        fastest = max(measured_peers, key=lambda m: m.mib_per_s)
        result.targets.append(Target(f"logpipe vs the faster peer ({fastest.subject}; "
                                     f"{len(measured_peers)} of 2 peers measured)",
                                     ours.mib_per_s / fastest.mib_per_s, 3.0))
    result.extra = {"lines": lines, "bytes": len(payload), "rounds": rounds, "workers": workers,
                    "connections": CONNECTIONS}
    return result
