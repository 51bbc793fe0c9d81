"""The xml filter: XML text into fields, or XPath results into fields."""
from __future__ import annotations

from logpipe.filters.xml.config import XmlConfig
from logpipe.filters.xml.filter import XmlFilter

__all__ = ["XmlConfig", "XmlFilter"]
