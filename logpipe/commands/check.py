"""``logpipe check``: validate a pipeline and print its plan.

For a Logstash configuration it also lists the Logstash defaults it applies
where a YAML pipeline would get logpipe's own; ``--compat DIR`` reports every
place a directory of Logstash configurations is refused, with counts per plugin.
"""
from __future__ import annotations

import argparse

from logpipe.commands._common import add_pipeline_args, load_pipeline


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate a pipeline and print its plan")
    add_pipeline_args(p, required=False)
    p.add_argument("--compat", metavar="DIR",
                   help="migration report: every refused place in the .conf files under DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    if args.compat:
        from logpipe.config.logstash.compat import check_directory
        report = check_directory(args.compat)
        print(report.render())
        return 1 if report.refusals else 0
    from logpipe.commands import pipelines
    several = pipelines.pipelines_file(args)
    if several is not None:
        return pipelines.check(args, several)
    spec = load_pipeline(args)
    print(spec.describe())
    if spec.notes:
        print("Logstash defaults in effect that differ from a YAML pipeline's:")
        for note in spec.notes:
            print(f"  {note}")
    print("configuration OK")
    return 0
