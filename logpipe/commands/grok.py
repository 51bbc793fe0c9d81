"""``logpipe grok PATTERN``: try a grok expression on lines from stdin.

Each input line gives one JSON object on stdout: the captures, nested by their
field references; ``{"tags": ["_grokparsefailure"]}`` when the line does not
match and ``{"tags": ["_groktimeout"]}`` when matching ran out of time. A bad
expression (unknown pattern, invalid regex) exits with status 2 and one line
on stderr.

Also runnable as ``python -m logpipe.commands.grok``.
"""
from __future__ import annotations

import argparse
import sys
from typing import BinaryIO

_FAILURE = b'{"tags":["_grokparsefailure"]}\n'
_TIMEOUT = b'{"tags":["_groktimeout"]}\n'


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", metavar="PATTERN", help="the grok expression, e.g. '%%{COMBINEDAPACHELOG}'")
    p.add_argument("--patterns-dir", action="append", default=[], metavar="DIR",
                   help="extra pattern files (NAME regex per line); may be repeated")
    p.add_argument("--timeout-ms", type=int, default=1000, metavar="N",
                   help="time budget per line in milliseconds (default 1000; 0: none)")
    p.add_argument("--ecs-compatibility", choices=("v8", "v1", "disabled"), default="v8",
                   help="field names of the bundled patterns (default v8)")
    p.set_defaults(func=run)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grok", help="try a grok expression on lines from stdin",
                       description="Match each stdin line against PATTERN and print its "
                                   "captures as one JSON object per line.")
    _configure(p)


def run(args: argparse.Namespace, *, stdin: BinaryIO | None = None,
        stdout: BinaryIO | None = None) -> int:
    import orjson

    from logpipe.core.event import TIMESTAMP, Event
    from logpipe.errors import ConfigError
    from logpipe.filters.grok import Compiler, GrokTimeout

    if args.timeout_ms < 0:
        print("logpipe grok: --timeout-ms must be 0 or more", file=sys.stderr)
        return 2
    try:
        expression = Compiler(ecs_compatibility=args.ecs_compatibility,
                              patterns_dir=args.patterns_dir).compile(args.pattern)
    except ConfigError as exc:
        print(f"logpipe grok: {exc}", file=sys.stderr)
        return 2
    source = stdin if stdin is not None else sys.stdin.buffer
    sink = stdout if stdout is not None else sys.stdout.buffer
    interactive = source.isatty() if hasattr(source, "isatty") else False
    timeout = args.timeout_ms / 1000.0 if args.timeout_ms else None
    for raw in source:
        line = raw.decode("utf-8", "replace")
        if line.endswith("\n"):
            line = line[:-1]
            if line.endswith("\r"):
                line = line[:-1]
        event = Event({TIMESTAMP: None})
        del event.data[TIMESTAMP]
        try:
            matched = expression.match_into(event, line, timeout)
        except GrokTimeout:
            sink.write(_TIMEOUT)
        else:
            sink.write(orjson.dumps(event.data, option=orjson.OPT_APPEND_NEWLINE
                                    | orjson.OPT_NON_STR_KEYS) if matched else _FAILURE)
        if interactive:
            sink.flush()
    sink.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logpipe grok", description=__doc__.splitlines()[0])
    _configure(parser)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
