"""Pipeline files: loading, environment substitution and validation."""
from __future__ import annotations

from logpipe.config.loader import PipelineSpec, PluginEntry, load_file, load_text, resolve
from logpipe.config.models import Settings

__all__ = ["PipelineSpec", "PluginEntry", "Settings", "load_file", "load_text", "resolve"]
