"""Options and helpers shared by subcommands."""
from __future__ import annotations

import argparse
import os
import tempfile

from logpipe.config.loader import PipelineSpec, load_file, resolve


def add_pipeline_args(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--pipeline", "-p", metavar="NAME|PATH",
                       help="pipelines/NAME.yaml, or a path to a pipeline file (.yaml, or a "
                            "Logstash .conf)")
    group.add_argument("-f", "--path.config", dest="path_config", metavar="PATH",
                       help="Logstash configuration: a .conf file, a directory or a glob "
                            "(files concatenated in lexical order)")
    group.add_argument("-e", "--config.string", dest="config_string", metavar="STRING",
                       help="a Logstash configuration given inline, as `logstash -e`")
    parser.add_argument("--config-dir", metavar="DIR", help="where to look for pipelines/NAME.yaml")
    parser.add_argument("--path.settings", dest="path_settings", metavar="DIR",
                        help="where pipelines.yml is, when no pipeline is named (default: the "
                             "current directory)")
    parser.add_argument("-w", "--pipeline.workers", dest="ls_workers", type=int, metavar="N",
                        help="Logstash pipeline.workers for -f/-e (logpipe: pipeline_workers)")
    parser.add_argument("-b", "--pipeline.batch.size", dest="ls_batch_size", type=int, metavar="N",
                        help="Logstash pipeline.batch.size for -f/-e")
    parser.add_argument("-u", "--pipeline.batch.delay", dest="ls_batch_delay", type=float,
                        metavar="MS", help="Logstash pipeline.batch.delay for -f/-e")
    parser.add_argument("--pipeline.ordered", dest="ls_ordered", choices=("auto", "true", "false"),
                        help="Logstash pipeline.ordered for -f/-e")
    parser.add_argument("--config.support_escapes", dest="ls_escapes", action="store_true",
                        default=None, help="decode \\n \\t \\\" ... in .conf strings (as Logstash's "
                                           "setting of that name; off by default there too)")


def logstash_settings(args: argparse.Namespace) -> dict[str, object]:
    from logpipe.config.logstash import settings_from_logstash
    return settings_from_logstash({
        "pipeline.workers": getattr(args, "ls_workers", None),
        "pipeline.batch.size": getattr(args, "ls_batch_size", None),
        "pipeline.batch.delay": getattr(args, "ls_batch_delay", None),
        "pipeline.ordered": getattr(args, "ls_ordered", None),
        "config.support_escapes": getattr(args, "ls_escapes", None)})


def config_source(args: argparse.Namespace) -> str:
    """The pipeline's source path (``-e`` text has none: see :func:`materialize_config_string`)."""
    path_config = getattr(args, "path_config", None)
    if path_config is not None:
        return str(path_config)
    return str(resolve(args.pipeline, getattr(args, "config_dir", None)))


def materialize_config_string(args: argparse.Namespace, spec: PipelineSpec) -> None:
    """``logpipe run -e``: the text goes to a private ``.conf`` file (removed at exit) so that
    reloads and worker processes read it like any other file."""
    if getattr(args, "config_string", None) is None:
        return
    import atexit

    fd, path = tempfile.mkstemp(prefix="logpipe-e-", suffix=".conf")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(args.config_string)
    def remove() -> None:
        if os.path.exists(path):
            os.unlink(path)
    atexit.register(remove)
    spec.source = path


def load_pipeline(args: argparse.Namespace) -> PipelineSpec:
    settings = logstash_settings(args)
    if getattr(args, "config_string", None) is not None:
        from logpipe.config.logstash import load_logstash_text
        return load_logstash_text(args.config_string, source="<config string>", name="main",
                                  settings=settings)
    source = config_source(args)
    from logpipe.config.loader import is_logstash_source
    if is_logstash_source(source):
        from logpipe.config.logstash import load_path
        return load_path(source, settings=settings)
    if settings:
        raise_settings_need_conf()
    return load_file(source)


def export_logstash_settings(args: argparse.Namespace) -> None:
    """Hand -w/-b/-u/--pipeline.ordered to worker processes and reloads (``logpipe run``)."""
    import json

    from logpipe.config.logstash import SETTINGS_ENV
    settings = logstash_settings(args)
    if settings:
        os.environ[SETTINGS_ENV] = json.dumps(settings)


def raise_settings_need_conf() -> None:
    from logpipe.errors import ConfigError
    raise ConfigError("--pipeline.* options apply to Logstash configurations (-f, -e, .conf); "
                      "a YAML pipeline sets them in its settings")
