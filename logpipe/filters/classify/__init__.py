"""Error classification and security detection (tags plus ECS event fields).

Signature lists are the ``*.txt`` files in this package; see :mod:`.signatures`
for how users extend them.
"""
from logpipe.filters.classify.config import BruteForceConfig, ClassifyConfig
from logpipe.filters.classify.filter import ClassifyFilter

__all__ = ["BruteForceConfig", "ClassifyConfig", "ClassifyFilter"]
