"""At start, check that an index template covers each index the output will write.

Without one, Elasticsearch creates the index on the first document with dynamic
mappings: ``source.ip`` becomes text, ``source.geo.location`` two floats, and
every later document that disagrees is refused. Logstash guards against this by
managing a template itself (``manage_template``); here ``logpipe setup`` installs
them, and the output makes a missing one loud: a warning naming the index and the
command that fixes it, or, with ``template_required: true``, a refusal to start.

The names come from :func:`logpipe.setup.targets.written_indices` over the running
pipeline's filters. A write alias is checked through its write index (the one the
template was applied to); a plain name is simulated as a new index.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from logpipe.errors import ConfigError
from logpipe.setup.targets import IndexTargets, written_indices


def targets_for(index: str, context: Any) -> IndexTargets:
    """The names ``index`` takes in the pipeline this output runs in. Outside a pipeline
    (``logpipe dlq replay``) only a fixed name can be known; a template is left alone."""
    filters: Iterable[Any] | None = getattr(context, "filter_configs", None)
    if filters is None:
        return IndexTargets([] if "%{" in index else [index])
    return written_indices(index, filters)


async def _covered(client: Any, name: str) -> bool:
    target = name
    if (await client.indices.exists_alias(name=name)).body:
        aliases = (await client.indices.get_alias(name=name)).body
        writes = [idx for idx, body in aliases.items()
                  if (body.get("aliases", {}).get(name) or {}).get("is_write_index")]
        target = (writes or sorted(aliases))[0]
    return bool(await _simulate(client, target))


async def _simulate(client: Any, name: str) -> dict[str, Any]:
    response = await client.indices.simulate_index_template(name=name)
    body = response.body
    return body.get("template") or {} if isinstance(body, dict) else {}


async def check_templates(client: Any, index: str, context: Any, *, required: bool,
                          log: logging.Logger) -> list[str]:
    """The names without a template (warned about, or refused when ``required``)."""
    targets = targets_for(index, context)
    for ref in targets.unresolved:
        log.warning("index %r depends on %%{%s}, which no filter sets to a fixed value: "
                    "cannot check that index templates cover what this output writes", index, ref)
    client = client.options(request_timeout=10, max_retries=0)
    missing = []
    for name in targets.names:
        if not await _covered(client, name):
            missing.append(name)
    if missing:
        text = (f"no index template covers {', '.join(missing)}: Elasticsearch would create "
                "them with dynamic mappings (source.ip as text, source.geo.location as two "
                "floats). Run `logpipe setup --pipeline <this pipeline>` with the same "
                "environment first")
        if required:
            raise ConfigError(text + " (template_required: true)")
        log.warning("%s", text)
    return missing
