"""Settings of the ``python`` filter: logpipe's stand-in for Logstash's ``ruby`` filter."""
from __future__ import annotations

import os
from typing import Any

from pydantic import Field, model_validator

from logpipe.filters.common import CommonOptions


def compile_source(text: str, filename: str) -> Any:
    """Compile user code; a syntax error becomes a ValueError naming line and column."""
    try:
        return compile(text, filename, "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise ValueError(f"syntax error in {filename} at {where}: {exc.msg}") from None


class PythonConfig(CommonOptions):
    """Run Python code on each event (inline `code`, or a script at `path`).

    The code sees `event`, whose methods follow Logstash's Ruby event API:
    `event.get("[a][b]")`, `event.set("[a][b]", value)`, `event.remove(field)`,
    `event.includes(field)` (Ruby's `include?`), `event.tag("x")`, `event.cancel()`,
    `event.cancelled`, `event.to_dict()` / `event.to_hash()`, `event.sprintf("%{f}")`,
    `event.clone()`, `event.timestamp`; `[@metadata][...]` fields work in every method.
    New events: `Event({"message": "..."})` or `event.clone()`, handed to `emit(e)` in
    inline code, or returned from `filter(event)` in a script.

    An exception raised by the code tags the event (`tag_on_exception`) and stores
    `ExceptionType: message` in `[@metadata][python_exception]`; the pipeline carries
    on. A syntax error, a missing script or a failing `init`/`register` fails at load.
    State kept in variables lives in each worker process separately.
    """

    code: str | None = Field(None, description=(
        "Python statements run for each event, with `event` and `emit` in scope. Names "
        "they assign persist between events (as module globals do)."))
    init: str | None = Field(None, description=(
        "Python statements run once when the filter starts (per worker process), before "
        "any event; names they define (imports, lookup tables) are visible to `code`."))
    path: str | None = Field(None, description=(
        "A Python script defining `filter(event)` -> list of events to pass on (return "
        "`[event]` to keep it, `[]` to drop it, more to add events) and optionally "
        "`register(params)`, called once with `script_params`."))
    script_params: dict[str, Any] = Field(default_factory=dict, description=(
        "Passed to the script's `register(params)`."))
    tag_on_exception: str = Field("_pythonexception", description=(
        "Tag added to an event on which the code raised an exception."))
    tag_with_exception_message: bool = Field(False, description=(
        "Also add the exception's text as a tag."))

    @model_validator(mode="after")
    def _code_or_path(self) -> PythonConfig:
        if (self.code is None) == (self.path is None):
            raise ValueError("set exactly one of `code` (inline) and `path` (a script)")
        if self.path is not None:
            if self.init is not None:
                raise ValueError("`init` goes with `code`; a script at `path` uses "
                                 "`register(params)` instead")
            if not os.path.isfile(self.path):
                raise ValueError(f"script {self.path!r} does not exist or is not a file")
            with open(self.path, encoding="utf-8") as handle:
                compile_source(handle.read(), self.path)
        else:
            if self.script_params:
                raise ValueError("`script_params` goes with `path`")
            compile_source(self.code or "", "<python filter code>")
            if self.init is not None:
                compile_source(self.init, "<python filter init>")
        return self
