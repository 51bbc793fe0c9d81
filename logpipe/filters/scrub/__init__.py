"""Sensitive-data scrubbing: hashed e-mails, removed secret fields, masked secrets in text.

:func:`scrub_event` and :class:`Scrubber` are for outputs that must scrub what
they write (dead-letter queue, debug output) without running the filter.
"""
from logpipe.filters.scrub.config import ScrubConfig, TruncateIp
from logpipe.filters.scrub.filter import ScrubFilter
from logpipe.filters.scrub.patterns import luhn_valid
from logpipe.filters.scrub.scrubber import Scrubber, scrub_event

__all__ = ["ScrubConfig", "ScrubFilter", "Scrubber", "TruncateIp", "luhn_valid", "scrub_event"]
