"""Scenario "regex": Vector's public "Regex Parsing Performance" case, run here.

Apache-common-like lines go in over TCP; the subject parses each with the
harness's regular expression into named fields and writes JSON lines out over
TCP to a consumer. The figure is MiB/s of input, from the first byte sent to the
last line received. Subjects, measured in the same run:

- ``logpipe``: ``logpipe run`` with a tcp input, a grok filter holding the
  harness expression, and a tcp output (all workers);
- ``bare``: a straight asyncio loop in one process (read, split, regex, orjson,
  write), the yardstick for framework cost;
- ``syslog-ng``: Debian's syslog-ng with the same expression in a regexp-parser,
  when it is installed.
"""
from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HARNESS_REGEX = (r'^(?P<host>[\w\.]+) - (?P<user>[\w]+) (?P<bytes_in>[\d]+) \[(?P<timestamp>.*)\] '
                 r'"(?P<method>[\w]+) (?P<path>.*)" (?P<status>[\d]+) (?P<bytes_out>[\d]+)$')
# The same expression with Oniguruma-style group names, as grok users write them.
GROK_REGEX = HARNESS_REGEX.replace("(?P<", "(?<")
BARE = Path(__file__).with_name("bare_regex.py")


def make_lines(count: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    users = ["alice", "bob", "carol", "dave", "-" if False else "erin"]
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"subject exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"subject did not listen on {port} in time")


@dataclass
class Result:
    subject: str
    mib_per_s: float
    lines: int
    seconds: float


async def _drive(in_port: int, out_port_server: asyncio.AbstractServer, payload: bytes, lines: int,
                 received: list[int], done: asyncio.Event, connections: int) -> float:
    chunk = len(payload) // connections
    parts = [payload[i * chunk:(i + 1) * chunk if i < connections - 1 else len(payload)] for i in range(connections)]
    # Cut on line boundaries.
    fixed = []
    carry = b""
    for part in parts:
        part = carry + part
        cut = part.rfind(b"\n") + 1
        fixed.append(part[:cut])
        carry = part[cut:]
    fixed[-1] += carry
    started = time.perf_counter()

    async def push(data: bytes) -> None:
        _, w = await asyncio.open_connection("127.0.0.1", in_port)
        view = memoryview(data)
        step = 1 << 20
        for i in range(0, len(data), step):
            w.write(view[i:i + step])
            await w.drain()
        w.close()
        await w.wait_closed()

    await asyncio.gather(*(push(p) for p in fixed))
    await asyncio.wait_for(done.wait(), timeout=600)
    return time.perf_counter() - started


def measure(subject: str, start_subject: "callable", payload: bytes, lines: int, connections: int = 4) -> Result:  # type: ignore[valid-type]
    async def main() -> Result:
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
        try:
            await asyncio.get_running_loop().run_in_executor(None, wait_port, in_port, proc)
            seconds = await _drive(in_port, server, payload, lines, received, done, connections)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.close()
        return Result(subject, len(payload) / seconds / (1 << 20), received[0], seconds)

    return asyncio.run(main())


def start_logpipe(workers: int, tmp: Path) -> "callable":  # type: ignore[valid-type]
    def start(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
        conf = tmp / "regex.yaml"
        regex_yaml = GROK_REGEX.replace("'", "''")
        conf.write_text(f"""
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
""")
        return subprocess.Popen([sys.executable, "-m", "logpipe", "run", "--pipeline", str(conf),
                                 "--workers", str(workers), "--log-level", "warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def start_bare(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(BARE), str(in_port), str(out_port), HARNESS_REGEX])


def start_syslog_ng(tmp: Path) -> "callable":  # type: ignore[valid-type]
    def start(in_port: int, out_port: int) -> subprocess.Popen[bytes]:
        conf = tmp / "syslog-ng.conf"
        pattern = HARNESS_REGEX.replace("\\", "\\\\").replace('"', '\\"')
        conf.write_text(f"""@version: 3.38
options {{ threaded(yes); log-fifo-size(100000); flush-lines(1000); }};
source s_in {{ network(ip("127.0.0.1") port({in_port}) transport("tcp") flags(no-parse) max-connections(64) log-iw-size(100000)); }};
parser p_re {{ regexp-parser(patterns("{pattern}") prefix("")); }};
destination d_out {{ network("127.0.0.1" port({out_port}) transport("tcp")
  template("$(format-json host=${{host}} user=${{user}} bytes_in=${{bytes_in}} timestamp=${{timestamp}} method=${{method}} path=${{path}} status=${{status}} bytes_out=${{bytes_out}} message=${{MESSAGE}})\\n")); }};
log {{ source(s_in); parser(p_re); destination(d_out); }};
""")
        return subprocess.Popen(["syslog-ng", "-F", "-f", str(conf), "-R", str(tmp / "sng.persist"),
                                 "-p", str(tmp / "sng.pid"), "-c", str(tmp / "sng.ctl")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def run(lines: int = 1_000_000, workers: int | None = None, subjects: tuple[str, ...] = ("logpipe", "bare", "syslog-ng")
        ) -> list[Result]:
    workers = workers or os.cpu_count() or 1
    payload = make_lines(lines)
    results = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for subject in subjects:
            if subject == "logpipe":
                results.append(measure(f"logpipe ({workers} workers)", start_logpipe(workers, tmp), payload, lines))
            elif subject == "bare":
                results.append(measure("bare asyncio loop (1 process)", start_bare, payload, lines))
            elif subject == "syslog-ng" and shutil.which("syslog-ng"):
                results.append(measure("syslog-ng", start_syslog_ng(tmp), payload, lines))
    return results


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    for r in run(n):
        print(f"{r.subject:32} {r.mib_per_s:8.1f} MiB/s  {r.lines} lines in {r.seconds:.2f}s")
