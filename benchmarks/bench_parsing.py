"""Parsing filter throughput next to a plain-Python reference on the same lines.

    python benchmarks/bench_parsing.py [--lines N] [--repeat R]

For each case it prints lines per second of the logpipe filter (``process``
over batches of fresh events) and of the reference loop doing the same
extraction with no framework: the stdlib ``re`` with the same expanded
expression (``search`` + ``groupdict``) for grok, ``str.split`` for dissect.
The ratio is logpipe / reference; both are measured in the same run, so the
ratio is what to compare between machines.

A second table compares the engines grok could use for COMBINEDAPACHELOG, and
the cost of one hostile line (the catastrophic ``^(\\w+\\s?)*$`` case) for each:
the reason the filter gates with RE2 and extracts with ``re``.
"""
from __future__ import annotations

import argparse
import random
import re
import time
from typing import Callable

import regex
import re2
from re2 import _re2

from logpipe.core.event import Event
from logpipe.filters.dissect import DissectFilter
from logpipe.filters.grok import Compiler, GrokFilter

BATCH = 1000


def apache_lines(n: int, rng: random.Random) -> list[str]:
    paths = ["/api/v1/memories", "/api/v1/search?q=graph+db&limit=20", "/static/app.3f2a.js",
             "/health", "/api/v1/memories/8f14e45f-ceea-467f-a8c2-1b5c6e1e3b2a"]
    agents = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0 Safari/537.36", "curl/8.4.0", "python-httpx/0.27.0"]
    out = []
    for _ in range(n):
        out.append('%s - %s [15/Jan/2024:10:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d "%s" "%s"' % (
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            rng.choice(["-", "alice", "bob"]), rng.randint(0, 59), rng.randint(0, 59),
            rng.choice(["GET", "GET", "POST", "PUT"]), rng.choice(paths),
            rng.choice([200, 200, 201, 304, 404, 500]), rng.randint(0, 90000),
            rng.choice(["-", "https://app.example.com/"]), rng.choice(agents)))
    return out


def syslog_lines(n: int, rng: random.Random) -> list[str]:
    progs = [("sshd", True), ("CRON", True), ("kernel", False), ("systemd", True)]
    msgs = ["Accepted publickey for deploy from 10.0.0.7 port 52114 ssh2",
            "pam_unix(cron:session): session opened for user root by (uid=0)",
            "eth0: link up, 1000Mbps, full-duplex", "Started Daily apt upgrade and clean activities."]
    out = []
    for _ in range(n):
        prog, pid = rng.choice(progs)
        tag = f"{prog}[{rng.randint(100, 65000)}]" if pid else prog
        out.append(f"Jan {rng.randint(1, 28):2d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                   f"{rng.randint(0, 59):02d} web-{rng.randint(1, 9):02d} {tag}: {rng.choice(msgs)}")
    return out


def best_rate(n: int, run: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def filter_rate(flt, lines: list[str], repeat: int) -> float:
    batches: list[list[Event]] = []

    def setup() -> None:
        batches[:] = [[Event({"message": line}) for line in lines[i:i + BATCH]]
                      for i in range(0, len(lines), BATCH)]

    def run() -> None:
        for batch in batches:
            flt.process(batch)

    return best_rate(len(lines), run, repeat, setup)


def re_reference(expression: str, lines: list[str], repeat: int) -> float:
    rx = re.compile(Compiler().compile(expression).program.translation.regex, re.ASCII)

    def run() -> None:
        for line in lines:
            m = rx.search(line)
            if m is not None:
                m.groupdict()

    return best_rate(len(lines), run, repeat)


def grok_case(expression: str, lines: list[str], repeat: int) -> tuple[float, float]:
    flt = GrokFilter(GrokFilter.Config(match={"message": expression}), id="bench")
    return filter_rate(flt, lines, repeat), re_reference(expression, lines, repeat)


def dissect_case(lines: list[str], repeat: int) -> tuple[float, float]:
    flt = DissectFilter(DissectFilter.Config(
        mapping={"message": "%{ts->} %{+ts} %{+ts} %{host} %{program}: %{msg}"}), id="bench")

    def reference() -> None:
        for line in lines:
            month, day, rest = line.split(" ", 2)
            day_rest = rest.lstrip(" ") if not day else rest
            if not day:                       # space-padded day
                day, day_rest = day_rest.split(" ", 1)
            clock, host, tail = day_rest.split(" ", 2)
            program, msg = tail.split(": ", 1)
            {"ts": f"{month} {day} {clock}", "host": host, "program": program, "msg": msg}

    return filter_rate(flt, lines, repeat), best_rate(len(lines), reference, repeat)


def engine_study(lines: list[str], repeat: int) -> list[tuple[str, float, float]]:
    """COMBINEDAPACHELOG on each engine, plus the cost of one hostile line."""
    translation = Compiler().compile("%{COMBINEDAPACHELOG}").program.translation
    py = re.compile(translation.regex, re.ASCII)
    rx = regex.compile(translation.regex, regex.ASCII)
    wrapped = re2.compile(translation.re2)
    low = _re2.RE2(translation.re2.encode(), re2.Options())
    unanchored = _re2.RE2.Anchor.UNANCHORED
    gated = GrokFilter(GrokFilter.Config(match={"message": "%{COMBINEDAPACHELOG}"}), id="g")
    program = gated._fields[0][2][0].program

    def low_level() -> None:
        for line in lines:
            data = line.encode()
            spans = low.Match(unanchored, data, 0, len(data))
            [line[a:b] if a >= 0 else None for a, b in spans[1:]]

    rows = [
        ("stdlib re (no bound)", lambda: [py.search(s).groups() for s in lines]),
        ("regex + timeout", lambda: [rx.search(s, timeout=30.0).groups() for s in lines]),
        ("RE2 (python wrapper)", lambda: [wrapped.search(s).groups() for s in lines]),
        ("RE2 (low-level Match)", low_level),
        ("RE2 gate + re (chosen)", lambda: [program.search(s, 30.0) for s in lines]),
    ]
    hostile_expr = r"^(\w+\s?)*$"
    short, long_ = "a" * 22 + "!", "a" * 50_000 + "!"
    h_re, h_rx = re.compile(hostile_expr), regex.compile(r"^(?=a)(\w+\s?)*$")
    h_gate = Compiler().compile(hostile_expr).program

    def timed(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        try:
            fn()
        except TimeoutError:
            pass
        return time.perf_counter() - start

    hostile = [timed(lambda: h_re.search(short)),                       # 22 chars
               timed(lambda: h_rx.search(long_, timeout=1.0)),          # stopped by its timeout
               timed(lambda: re2.search(hostile_expr, long_)),
               timed(lambda: _re2.RE2(hostile_expr.encode(), re2.Options()).Match(
                   unanchored, long_.encode(), 0, len(long_))),
               timed(lambda: h_gate.search(long_, 1.0))]
    return [(name, best_rate(len(lines), fn, repeat), cost)
            for (name, fn), cost in zip(rows, hostile)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    apache, syslog = apache_lines(args.lines, rng), syslog_lines(args.lines, rng)

    print(f"{'case':<34}{'logpipe lines/s':>16}{'reference lines/s':>19}{'ratio':>8}  reference")
    for name, (ours, ref), what in (
        ("grok %{COMBINEDAPACHELOG}", grok_case("%{COMBINEDAPACHELOG}", apache, args.repeat),
         "re.search + groupdict"),
        ("grok %{SYSLOGLINE}", grok_case("%{SYSLOGLINE}", syslog, args.repeat),
         "re.search + groupdict"),
        ("dissect syslog mapping", dissect_case(syslog, args.repeat), "str.split"),
    ):
        print(f"{name:<34}{ours:>16,.0f}{ref:>19,.0f}{ours / ref:>8.2f}  {what}")

    print()
    print("COMBINEDAPACHELOG match + groups only, per engine; and one hostile line, ^(\\w+\\s?)*$")
    rows = engine_study(apache, args.repeat)
    base = rows[0][1]
    print(f"{'engine':<26}{'lines/s':>12}{'vs re':>8}{'hostile line':>16}")
    notes = ["22 chars", "50k chars, 1 s timeout", "50k chars", "50k chars", "50k chars"]
    for (name, rate, cost), note in zip(rows, notes):
        print(f"{name:<26}{rate:>12,.0f}{rate / base:>8.2f}{cost * 1000:>12.1f} ms  ({note})")


if __name__ == "__main__":
    main()
