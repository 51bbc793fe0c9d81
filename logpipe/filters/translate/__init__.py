"""The translate filter: look a field's value up in a dictionary."""
from __future__ import annotations

from logpipe.filters.translate.config import TranslateConfig
from logpipe.filters.translate.filter import TranslateFilter

__all__ = ["TranslateConfig", "TranslateFilter"]
