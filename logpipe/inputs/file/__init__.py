"""``file`` input: tail or read files; positions saved only for delivered events."""
from __future__ import annotations

from logpipe.inputs.file.config import FileInputConfig
from logpipe.inputs.file.input import FileInput

__all__ = ["FileInput", "FileInputConfig"]
