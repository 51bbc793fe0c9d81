"""Grok: parse text into fields with a library of named regular expressions.

Public names: :class:`GrokFilter` (the ``grok`` filter) and, for tools such as
the ``logpipe grok`` debugger, :class:`Compiler`, :class:`Expression` and
:class:`GrokTimeout`.
"""
from __future__ import annotations

from logpipe.filters.grok.compiler import GrokSyntaxError
from logpipe.filters.grok.config import GrokConfig
from logpipe.filters.grok.engine import GrokTimeout
from logpipe.filters.grok.filter import GrokFilter
from logpipe.filters.grok.matcher import Compiler, Expression

__all__ = ["Compiler", "Expression", "GrokConfig", "GrokFilter", "GrokSyntaxError", "GrokTimeout"]
