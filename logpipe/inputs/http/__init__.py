"""``http`` input: JSON, NDJSON and text lines over HTTP/1.1, answered after delivery."""
from __future__ import annotations

from logpipe.inputs.http.config import HttpConfig
from logpipe.inputs.http.plugin import HttpInput

__all__ = ["HttpConfig", "HttpInput"]
