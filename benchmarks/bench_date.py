"""Date filter throughput per format, next to the plain-Python reading of the same text.

    python benchmarks/bench_date.py [--lines N] [--repeat R]

For each format it prints lines per second of the date filter (``process`` over
batches of fresh events, CPU time of this process, best of R rounds) and of a
reference loop that reads the same text with the standard library alone
(``datetime.fromisoformat``, ``strptime``, ``fromtimestamp``) and no checks.
Both are measured in the same run, so the ratio is what to compare between
machines; CPU time rather than wall time keeps a busy machine from blurring it.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from logpipe.core.event import Event
from logpipe.filters.date import DateFilter

UTC = timezone.utc
BATCH = 1000


_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
       "octobre", "novembre", "décembre"]
_FR_NUMBER = {name: i for i, name in enumerate(_FR, 1)}


def _read_french(text: str) -> datetime:
    day, month, year = text.split()
    return datetime(int(year), _FR_NUMBER[month], int(day))


def _times(n: int, rng: random.Random) -> list[datetime]:
    base = datetime(2024, 1, 15, tzinfo=UTC)
    return [base + timedelta(seconds=rng.randint(0, 86400 * 300), microseconds=rng.randint(0, 999999))
            for _ in range(n)]


def cases(n: int, rng: random.Random) -> list[tuple[str, list[str], list[str], dict[str, Any],
                                                   Callable[[str], Any]]]:
    t = _times(n, rng)
    return [
        ("ISO8601", [x.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" for x in t], ["ISO8601"], {},
         datetime.fromisoformat),
        ("dd/MMM/yyyy:HH:mm:ss Z", [x.strftime("%d/%b/%Y:%H:%M:%S +0000") for x in t],
         ["dd/MMM/yyyy:HH:mm:ss Z"], {}, lambda s: datetime.strptime(s, "%d/%b/%Y:%H:%M:%S %z")),
        ("MMM d HH:mm:ss, Europe/Berlin", [x.strftime("%b %e %H:%M:%S") for x in t],
         ["MMM  d HH:mm:ss", "MMM dd HH:mm:ss"], {"timezone": "Europe/Berlin"},
         lambda s: datetime.strptime(s, "%b %d %H:%M:%S")),
        ("UNIX", [f"{x.timestamp():.3f}" for x in t], ["UNIX"], {},
         lambda s: datetime.fromtimestamp(float(s), UTC)),
        ("yyyy-MM-dd HH:mm:ss,SSS", [x.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3] for x in t],
         ["yyyy-MM-dd HH:mm:ss,SSS"], {}, lambda s: datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f")),
        ("dd MMMM yyyy, locale fr", [f"{x.day:02d} {_FR[x.month - 1]} {x.year}" for x in t],
         ["dd MMMM yyyy"], {"locale": "fr"}, _read_french),
    ]


def _filter_rate(filt: DateFilter, lines: list[str]) -> float:
    events = [Event({"ts": line}) for line in lines]
    start = time.process_time()
    for i in range(0, len(events), BATCH):
        filt.process(events[i:i + BATCH])
    return len(events) / (time.process_time() - start)


def _reference_rate(read: Callable[[str], Any], lines: list[str]) -> float:
    start = time.process_time()
    for line in lines:
        try:
            read(line)
        except ValueError:      # 29 February without a year, for strptime
            pass
    return len(lines) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'format':32s} {'filter/s':>10s} {'reference/s':>12s} {'ratio':>6s}")
    for name, lines, formats, options, read in cases(args.lines, rng):
        filt = DateFilter(DateFilter.Config(match=["ts", *formats], **options), id="date")
        best_filter = best_reference = 0.0
        for _ in range(args.repeat):   # alternate the two: the machine may be shared
            best_filter = max(best_filter, _filter_rate(filt, lines))
            best_reference = max(best_reference, _reference_rate(read, lines))
        print(f"{name:32s} {best_filter:10.0f} {best_reference:12.0f} {best_filter / best_reference:6.2f}")


if __name__ == "__main__":
    main()
