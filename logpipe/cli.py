"""The ``logpipe`` command line.

Each subcommand is a module in ``logpipe.commands`` with ``add_parser``; they
import their heavy dependencies inside ``run`` so ``logpipe --help`` stays fast.
Exit codes: 0 success, 2 bad usage or configuration, 1 failure.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from logpipe.errors import ConfigError

COMMANDS = ("run", "check", "filter", "convert", "test", "grok", "setup", "dlq", "generate", "bench", "top",
            "plugins", "version")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logpipe", description="A log-processing pipeline.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module_name = f"logpipe.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"logpipe: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
