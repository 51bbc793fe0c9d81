"""One grok expression, compiled: its program and where its captures go.

Shared by the grok filter and the ``logpipe grok`` debugger, so both parse a
line the same way.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from logpipe.core.event import Event
from logpipe.filters.grok.capture import CapturePlan
from logpipe.filters.grok.compiler import translate
from logpipe.filters.grok.engine import Program, compile_program
from logpipe.filters.grok.library import build_library, bundled
from logpipe.filters.grok.native import native_plan_matcher


class Expression:
    """A compiled grok expression bound to a capture plan."""

    __slots__ = ("text", "program", "plan", "search_into")

    def __init__(self, text: str, program: Program, plan: CapturePlan) -> None:
        self.text = text
        self.program = program
        self.plan = plan
        #: ``search_into(text, event.data, event.metadata)``: the native matcher that
        #: also stores the captures when the event holds none of their top-level
        #: fields, or, for a plan that overwrites nothing, by the plan's general rules
        #: (see logpipe_native.PlanMatcher), or None (no native module, or the
        #: program or plan has no native form). It answers None (no match), True
        #: (stored) or the capture texts for ``plan.apply``, and raises ValueError
        #: where ``program.search`` must decide instead.
        self.search_into: Any = None
        if program.native and plan.tree is not None:
            self.search_into = native_plan_matcher(
                program.translation.regex, [c.group for c in program.translation.captures], plan.tree,
                walk=plan.walk)

    @property
    def engine(self) -> str:
        return self.program.engine

    def match_into(self, event: Event, text: str, timeout: float | None) -> bool:
        """Match ``text``; on success store the captures in ``event``. Raises GrokTimeout."""
        into = self.search_into
        if into is not None:
            try:
                groups = into(text, event.data, event.metadata)
            except ValueError:
                groups = self.program.search(text, timeout)
            if groups is True or groups is False:   # False: stored, actions left to do
                return True
        else:
            groups = self.program.search(text, timeout)
        if groups is None:
            return False
        self.plan.apply(event, groups)
        return True


class Compiler:
    """Compiles expressions against one pattern library (bundled + user patterns)."""

    def __init__(self, *, ecs_compatibility: str = "v8", patterns_dir: Sequence[str] = (),
                 patterns_files_glob: str = "*",
                 pattern_definitions: Mapping[str, str] | None = None,
                 named_captures_only: bool = True) -> None:
        self.library = build_library(ecs_compatibility, patterns_dir, patterns_files_glob,
                                     pattern_definitions)
        self.audited = bundled(ecs_compatibility)
        self.named_captures_only = named_captures_only

    def compile(self, text: str, *, overwrite: Sequence[str] = (), target: str | None = None,
                keep_empty_captures: bool = False) -> Expression:
        """Raises GrokSyntaxError (a ConfigError) for unknown patterns or bad regex."""
        translation = translate(text, self.library, named_captures_only=self.named_captures_only,
                                audited_bodies=self.audited)
        program = compile_program(translation)
        plan = CapturePlan(translation.captures, overwrite=overwrite, target=target,
                           keep_empty=keep_empty_captures)
        return Expression(text, program, plan)
