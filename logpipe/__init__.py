"""logpipe: a log-processing pipeline that replaces Logstash.

The package root re-exports the small public surface that plugin authors use;
everything else lives in private-by-convention submodules.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
