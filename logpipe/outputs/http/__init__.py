"""``http`` output: events to a URL as JSON, JSON batches, forms or text, with retries."""
from __future__ import annotations

from logpipe.outputs.http.config import HttpOutputConfig
from logpipe.outputs.http.output import HttpOutput

__all__ = ["HttpOutput", "HttpOutputConfig"]
