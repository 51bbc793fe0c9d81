"""The dissect filter: split text on literal delimiters (see :mod:`.pattern`)."""
from __future__ import annotations

from logpipe.filters.dissect.filter import DissectConfig, DissectFilter
from logpipe.filters.dissect.pattern import Dissector

__all__ = ["DissectConfig", "DissectFilter", "Dissector"]
