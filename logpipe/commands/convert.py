"""``logpipe convert``: a Logstash configuration as the equivalent YAML pipeline.

Logstash's defaults and option names are resolved on the way (each plugin's
``logstash_defaults`` and ``from_logstash``), so the YAML gives the same
documents as the ``.conf`` when run by logpipe.
"""
from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="print the YAML pipeline equivalent to a Logstash .conf")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="a .conf file, a directory or a glob (files joined in lexical order)")
    p.add_argument("-e", "--config.string", dest="config_string", metavar="STRING",
                   help="a Logstash configuration given inline")
    p.add_argument("-o", "--output", metavar="FILE", help="write the YAML here instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from logpipe.config.loader import build_spec
    from logpipe.config.logstash import read_sources
    from logpipe.config.logstash.emit import to_yaml
    from logpipe.config.logstash.parser import Source, parse_sources
    from logpipe.config.logstash.translate import translate
    from logpipe.errors import ConfigError

    if (args.path is None) == (args.config_string is None):
        raise ConfigError("convert takes a PATH or -e STRING")
    sources = ([Source("<config string>", args.config_string)] if args.config_string is not None
               else read_sources(args.path))
    config = parse_sources(sources)
    checked = translate(config)   # with the environment: every error shows here
    build_spec(checked.document, checked.where, source=sources[0].name, name="main")
    # Written out with ${VAR} references kept, so the YAML reads the environment when run.
    text = to_yaml(translate(config, keep_env=True), config)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0
