"""Results as a table on the terminal and as JSON for tracking over time."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from logpipe.bench.common import ScenarioResult, machine


def document(results: list[ScenarioResult], *, quick: bool) -> dict[str, Any]:
    return {
        "version": 1,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "scenarios": {r.name: r.to_json() for r in results},
    }


def write_json(path: str, doc: dict[str, Any]) -> None:
    data = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"
    if path == "-":
        import sys
        sys.stdout.buffer.write(data)
        return
    target = Path(path)
    if target.parent != Path(""):
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _figure(value: float, unit: str) -> str:
    if unit in ("events/s", "docs/s", "events/CPU-s"):
        return f"{value:,.0f} {unit}"
    if unit in ("MiB/s",):
        return f"{value:,.1f} {unit}"
    if unit in ("ms", "MB", "%"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.3g} {unit}".strip()


def print_results(results: list[ScenarioResult], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="logpipe bench", show_lines=False)
    table.add_column("scenario")
    table.add_column("subject")
    table.add_column("figure", justify="right")
    table.add_column("vs yardstick", justify="right")
    table.add_column("detail")
    for res in results:
        if res.skipped:
            table.add_row(res.name, "[yellow]skipped[/yellow]", "", "", res.skipped)
            table.add_section()
            continue
        for i, row in enumerate(res.rows):
            table.add_row(res.name if i == 0 else "", row.subject, _figure(row.value, row.unit),
                          "" if row.ratio is None else f"{row.ratio:.2f}", row.detail)
        table.add_section()
    console.print(table)

    targets = Table(title="targets")
    targets.add_column("scenario")
    targets.add_column("target")
    targets.add_column("measured", justify="right")
    targets.add_column("goal", justify="right")
    targets.add_column("")
    for res in results:
        for t in res.targets:
            goal = f"{t.op} {_figure(t.goal, t.unit)}"
            mark = "[green]met[/green]" if t.met else "[red]not met[/red]"
            targets.add_row(res.name, t.name, _figure(t.figure, t.unit), goal, mark)
    if targets.row_count:
        console.print(targets)
    for res in results:
        for note in res.notes:
            console.print(f"[dim]{res.name}: {note}[/dim]")
