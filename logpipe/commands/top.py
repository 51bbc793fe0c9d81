"""``logpipe top``: a live view of a running instance, read from its /stats endpoint.

Rates are differences between two snapshots (a few seconds apart in the live
view) divided by the time between them, so they are true per-second figures for the whole cluster even
when workers restart (the supervisor keeps exited workers' counts).
``--once`` takes two snapshots ``--interval`` apart, prints one table and exits.
"""
from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Any

DEFAULT_URL = "http://127.0.0.1:9600"
RATE_WINDOW = 3.0
#: Width of the table when the output is not a terminal (a pipe, a file, a CI log).
PIPE_WIDTH = 120


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("top", help="live view of a running instance")
    p.add_argument("--url", default=DEFAULT_URL, help=f"status endpoint of the instance (default {DEFAULT_URL})")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    p.add_argument("--once", action="store_true", help="print one table and exit")
    p.set_defaults(func=run)


def fetch(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url.rstrip("/") + "/stats", timeout=timeout) as resp:  # noqa: S310
        return json.loads(resp.read())


def _rate(new: float, old: float | None, seconds: float) -> float | None:
    if old is None or seconds <= 0:
        return None
    return max(0.0, (new - old) / seconds)


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.1f}{suffix}{unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}{unit}"
    return f"{int(value)}{unit}"


def render(current: dict[str, Any], previous: dict[str, Any] | None, url: str) -> Any:
    """The screen: a summary line, one row per plugin, one row per worker."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    seconds = current.get("time", 0) - previous.get("time", 0) if previous else 0.0
    totals = current.get("totals", {})
    ptotals = (previous or {}).get("totals", {})
    queue = totals.get("queue", {})
    acked_rate = _rate(totals.get("events_acked", 0), ptotals.get("events_acked") if previous else None,
                       seconds)
    ready = "ready" if current.get("ready") else f"not ready ({current.get('ready_reason', '')})"
    header = Text.assemble(
        ("logpipe top ", "bold"), f"{url}  pipeline ", (str(current.get("pipeline", "?")), "bold cyan"),
        f"  generation {current.get('generation', '?')}  workers "
        f"{current.get('workers_running', 0)}/{current.get('workers_expected', 0)}  {ready}\n",
        f"acked {_num(totals.get('events_acked', 0))} ({_num(acked_rate, '/s')})  "
        f"failed {_num(totals.get('events_failed', 0))}  unacked {_num(totals.get('unacknowledged', 0))}  "
        f"queue {_num(queue.get('events', 0))}/{_num(queue.get('max_events', 0))} events "
        f"{_num(queue.get('bytes', 0), 'B')}  restarts {current.get('restarts', 0)}  "
        f"reloads {current.get('reloads', {}).get('success', 0)} ok "
        f"{current.get('reloads', {}).get('failure', 0)} refused")

    plugins = Table(title="plugins", expand=True)
    for col in ("id", "kind", "type"):
        plugins.add_column(col, no_wrap=True)
    for col in ("in/s", "out/s", "in", "out", "failures", "ms/event"):
        plugins.add_column(col, justify="right")
    before = ({(p.get("pipeline"), p["kind"], p["id"]): p for p in ptotals.get("plugins", ())}
              if previous else {})
    for p in totals.get("plugins", ()):
        old = before.get((p.get("pipeline"), p["kind"], p["id"]))
        ms = p["seconds"] * 1000 / p["events_in"] if p.get("events_in") else None
        # With pipelines.yml, ids are per pipeline: shown as pipeline/id.
        name = f"{p['pipeline']}/{p['id']}" if p.get("pipeline") else p["id"]
        plugins.add_row(
            name, p["kind"], p["type"] or "-",
            _num(_rate(p["events_in"], old["events_in"] if old else None, seconds)) if p["kind"] != "input" else "-",
            _num(_rate(p["events_out"], old["events_out"] if old else None, seconds)),
            _num(p["events_in"]) if p["kind"] != "input" else "-", _num(p["events_out"]),
            Text(_num(p["failures"]), style="red" if p["failures"] else ""),
            f"{ms:.3f}" if ms is not None else "-")

    workers = Table(title="workers", expand=True)
    for col in ("worker", "pid", "generation", "state", "ready", "restarts", "acked", "queue"):
        workers.add_column(col, justify="right" if col not in ("state",) else "left")
    for w in current.get("workers", ()):
        workers.add_row(str(w["index"]), str(w.get("pid") or "-"), str(w.get("generation") or "-"),
                        w.get("state", "?"), "yes" if w.get("ready") else "no", str(w.get("restarts", 0)),
                        _num(w.get("events_acked", 0)), _num(w.get("queue_events", 0)))
    parts: list[Any] = [header, plugins, workers]
    extra = totals.get("metrics") or []
    if extra:
        table = Table(title="plugin metrics", expand=True)
        table.add_column("metric")
        table.add_column("value", justify="right")
        for family in extra:
            for labels, value in family.get("samples", ()):
                label = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
                shown = value.get("count", 0) if isinstance(value, dict) else value
                table.add_row(f"{family['name']}{{{label}}}", _num(shown))
        parts.append(table)
    return Group(*parts)


def make_console() -> Any:
    """A console for the screen. Rich assumes 80 columns when the output is not a
    terminal, which cuts the numbers of the plugin table short ("1.…"); a pipe or a
    file gets PIPE_WIDTH columns instead, unless COLUMNS says otherwise."""
    import os

    from rich.console import Console

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=PIPE_WIDTH)
    return console


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.live import Live

    console = make_console()
    try:
        previous = fetch(args.url)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"logpipe top: cannot read {args.url}/stats: {exc}", file=sys.stderr)
        return 1
    if args.once:
        time.sleep(args.interval)
        try:
            current = fetch(args.url)
        except (urllib.error.URLError, OSError, ValueError):
            current, previous = previous, None  # type: ignore[assignment]
        console.print(render(current, previous, args.url))
        return 0
    # Workers report once a second in steps: rates are taken over a few seconds so they do not flicker.
    history: deque[dict[str, Any]] = deque([previous])
    try:
        with Live(render(previous, None, args.url), console=console, refresh_per_second=4,
                  screen=console.is_terminal) as live:
            while True:
                time.sleep(args.interval)
                try:
                    current = fetch(args.url)
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    live.update(f"[red]cannot read {args.url}/stats: {exc}[/red]")
                    continue
                while len(history) > 1 and current.get("time", 0) - history[1].get("time", 0) >= RATE_WINDOW:
                    history.popleft()
                live.update(render(current, history[0], args.url))
                history.append(current)
    except KeyboardInterrupt:
        return 0
