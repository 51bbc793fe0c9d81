"""The error tree of logpipe.

    LogpipeError
    ├── ConfigError          a pipeline file or plugin setting is wrong (exit code 2)
    │   └── ConditionError   an ``if:`` expression does not parse (carries its column)
    ├── PluginNotFound       no plugin is registered under a ``type``
    ├── DecodeError          input bytes could not be turned into events
    └── DeliveryError        an output could not deliver; ``retriable`` tells retry code
                             whether trying again later can succeed

Retry code reads attributes, never messages.
"""
from __future__ import annotations


class LogpipeError(Exception):
    """Root of every error logpipe raises on purpose."""


class ConfigError(LogpipeError):
    """A configuration problem, reported as ``file:line: path: message``."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None, column: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        #: 1-based column, when the source gives one (``.conf`` files do).
        self.col = column
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + (
                f":{self.col}" if self.line and self.col else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"

    def located(self, *, file: str | None = None, line: int | None = None,
                path: str | None = None) -> ConfigError:
        """Return a copy with location filled in where this one has none."""
        err = ConfigError(self.message, file=self.file or file, line=self.line or line,
                          path=self.path or path, column=self.col)
        return err


class ConditionError(ConfigError):
    """An ``if:`` expression that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, *, expression: str, column: int) -> None:
        self.expression = expression
        self.column = column
        super().__init__(f"{message} at column {column} of {expression!r}")


class PluginNotFound(ConfigError):
    """No plugin of the given kind is registered under that name."""


class DecodeError(LogpipeError):
    """Bytes from a client could not be decoded into events."""


class DeliveryError(LogpipeError):
    """An output failed to deliver a batch.

    ``retriable`` is True when the same request may succeed later (connection
    errors, 429, 5xx); False when it never will (mapping errors, 400).
    """

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable
