"""The python filter: user code over each event.

Inline ``code`` runs with ``event`` (a :class:`ScriptEvent`) and ``emit`` in
its globals; events handed to ``emit`` follow their origin. A script at
``path`` defines ``filter(event)`` returning the events to pass on. Either
way an exception is the event's: it is tagged and the batch carries on.
"""
from __future__ import annotations

from typing import Any

from logpipe.core.event import Event
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions
from logpipe.filters.python.config import PythonConfig, compile_source
from logpipe.filters.python.event import ScriptEvent

#: Where the text of an exception raised by user code is kept.
EXCEPTION_METADATA = "python_exception"


class PythonFilter(Filter):
    """Runs the configured code or script over each event."""

    Config = PythonConfig
    config: PythonConfig

    def __init__(self, config: PythonConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._globals: dict[str, Any] = {"__name__": f"logpipe_python_{id}",
                                         "Event": ScriptEvent, "logger": self.log}
        self._emitted: list[ScriptEvent] = []
        self._code: Any = None
        self._filter: Any = None
        if config.path is not None:
            self._load_script(config.path)
        else:
            self._code = compile_source(config.code or "", f"<python filter {id} code>")
            self._globals["emit"] = self._emit
            if config.init:
                self._run_once(compile_source(config.init, f"<python filter {id} init>"),
                               "init")
        self._actions = CommonActions(config)

    def _run_once(self, code: Any, what: str) -> None:
        try:
            exec(code, self._globals)
        except (Exception, SystemExit) as exc:
            raise ConfigError(f"{what} failed: {type(exc).__name__}: {exc}",
                              path=what) from None

    def _load_script(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as handle:
                code = compile_source(handle.read(), path)
        except (OSError, ValueError) as exc:
            raise ConfigError(str(exc), path="path") from None
        self._globals["__file__"] = path
        self._run_once(code, "path")
        self._filter = self._globals.get("filter")
        if not callable(self._filter):
            raise ConfigError(f"script {path} does not define filter(event)", path="path")
        register = self._globals.get("register")
        if callable(register):
            try:
                register(dict(self.config.script_params))
            except (Exception, SystemExit) as exc:
                raise ConfigError(f"register() of {path} failed: "
                                  f"{type(exc).__name__}: {exc}", path="script_params") from None

    def _emit(self, event: Any) -> None:
        if not isinstance(event, ScriptEvent):
            event = ScriptEvent(event)
        self._emitted.append(event)

    def _failed(self, event: Event, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"
        self.log.debug("python filter %s raised %s", self.id, text)
        event.add_tag(self.config.tag_on_exception)
        if self.config.tag_with_exception_message:
            event.add_tag(text)
        event.metadata[EXCEPTION_METADATA] = text

    def process(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        matched: list[Event] = []
        run = self._run_code if self._code is not None else self._run_script
        for event in events:
            run(event, out, matched)
        self._actions.apply(matched)
        return out

    def _run_code(self, event: Event, out: list[Event], matched: list[Event]) -> None:
        wrapped = ScriptEvent(event)
        self._emitted = []
        self._globals["event"] = wrapped
        try:
            exec(self._code, self._globals)
        except (Exception, SystemExit) as exc:
            self._failed(event, exc)
            out.append(event)
            return
        finally:
            self._globals.pop("event", None)
        if not wrapped.cancelled:
            out.append(event)
            matched.append(event)
        for new in self._emitted:
            if not new.cancelled:
                out.append(new.event)
                matched.append(new.event)

    def _run_script(self, event: Event, out: list[Event], matched: list[Event]) -> None:
        try:
            results = self._filter(ScriptEvent(event))
            if isinstance(results, ScriptEvent):
                results = [results]
            if not isinstance(results, (list, tuple)):
                raise TypeError(f"filter() must return a list of events, "
                                f"not {type(results).__name__}")
            produced = []
            for item in results:
                if not isinstance(item, ScriptEvent):
                    raise TypeError(f"filter() returned a {type(item).__name__} among "
                                    "its events")
                if not item.cancelled:
                    produced.append(item.event)
        except (Exception, SystemExit) as exc:
            self._failed(event, exc)
            out.append(event)
            return
        out.extend(produced)
        matched.extend(produced)
