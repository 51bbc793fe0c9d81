"""The python filter: user code over events, in place of Logstash's ruby filter."""
from __future__ import annotations

from logpipe.filters.python.config import PythonConfig
from logpipe.filters.python.filter import PythonFilter

__all__ = ["PythonConfig", "PythonFilter"]
