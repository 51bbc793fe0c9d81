"""The ``elasticsearch`` output: bulk indexing with retries and a dead-letter queue.

Modules, one concern each: ``config`` (settings), ``ids`` (deterministic
document ids), ``request_builder`` (bulk bodies), ``retry`` (what to retry and
when), ``response`` (what a bulk response says about each document),
``service`` (client and requests), ``sink`` (the output plugin).
"""
from logpipe.outputs.elasticsearch.config import ElasticsearchConfig
from logpipe.outputs.elasticsearch.sink import ElasticsearchOutput

__all__ = ["ElasticsearchConfig", "ElasticsearchOutput"]
