"""Logstash plugin names that logpipe spells differently, and what to use instead of
plugins it does not have."""
from __future__ import annotations

#: (kind, Logstash name) -> logpipe's registered name.
ALIASES: dict[tuple[str, str], str] = {
    ("output", "null"): "blackhole",
}

#: (kind, Logstash name) -> what to do instead, for plugins logpipe refuses.
INSTEAD: dict[tuple[str, str], str] = {
    ("filter", "multiline"): "use codec => multiline { ... } on the input instead",
    ("filter", "metrics"): "logpipe counts every plugin's events itself: scrape /metrics",
    ("filter", "environment"): 'use add_field => { "[field]" => "${VAR}" } instead',
    ("filter", "elasticsearch"): "lookups against live services are not supported: export the "
                                 "data to a translate dictionary file",
    ("filter", "jdbc_streaming"): "lookups against live services are not supported: export the "
                                  "data to a translate dictionary file",
    ("filter", "jdbc_static"): "export the table to a translate dictionary file",
    ("filter", "memcached"): "export the data to a translate dictionary file",
    ("filter", "sleep"): "no equivalent (throttling belongs to the outputs' backpressure)",
    ("output", "null"): "blackhole",
}


def python_skeleton(code: str | None, init: str | None, path: str | None) -> str:
    """The ``python`` filter to write in place of a ``ruby`` one, with the Ruby as comments."""
    lines = ["a 'ruby' filter cannot run in logpipe: rewrite it as a 'python' filter, e.g.", ""]
    if path:
        lines += ["  python {",
                  f'    path => "{path.rsplit(".", 1)[0]}.py"   # def register(params): ...',
                  "                                # def filter(event): ... return [event]",
                  "  }"]
    else:
        lines += ["  python {"]
        if init:
            lines += ['    init => "..."   # runs once; was Ruby:']
            lines += [f"    #   {line}" for line in init.strip().splitlines()]
        lines += ['    code => "',
                  "      # event.get('[field]'), event.set('[field]', value), event.remove('[field]'),",
                  "      # event.includes('[field]'), event.tag('name'), event.cancel(), event.to_dict()",
                  '    "',
                  "  }"]
        if code:
            lines += ["  # the Ruby code was:"]
            lines += [f"  #   {line}" for line in code.strip().splitlines()]
    return "\n".join(lines)
