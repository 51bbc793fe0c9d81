"""The ``cef`` codec (ArcSight Common Event Format)."""
from logpipe.codecs.cef.codec import CefCodec, CefConfig

__all__ = ["CefCodec", "CefConfig"]
