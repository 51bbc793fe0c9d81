"""The grok filter: named-pattern parsing of text fields into structured fields."""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson

from logpipe.core.event import METADATA, TAGS, Event
from logpipe.core.native import native_module
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.writes import TAGS_CHANGE, Writes, change_paths
from logpipe.core.sprintf import is_template
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions, common_writes
from logpipe.filters.fieldaccess import Getter, getter
from logpipe.filters.grok.capture import to_int
from logpipe.filters.grok.config import GrokConfig
from logpipe.filters.grok.engine import GrokTimeout
from logpipe.filters.grok.matcher import Compiler, Expression
from logpipe.filters.grok.memo import UNKNOWN as _UNKNOWN
from logpipe.filters.grok.memo import ResultMemo
from logpipe.filters.grok.metrics import ParseFailureMetrics
from logpipe.filters.grok.native import native_plan_matcher

_TIMEOUT_LOG_EVERY = 1000
#: ``ok`` of an event whose native matcher also applied the common actions.
_ACTED = 2
#: What ``logpipe_native.PlanBatch.run`` answers an event still needs: matched (the
#: actions to apply), the plan to store its groups, failed, the Python loop, the
#: Python loop after a ValueError from a native matcher.
_BATCH_MATCHED, _BATCH_GROUPS, _BATCH_FAILED, _BATCH_PYTHON, _BATCH_VALUE_ERROR = range(5)


def as_text(value: Any) -> str:
    """What a non-string field is matched as (Logstash matches ``value.to_s``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def constant_actions(config: GrokConfig) -> tuple[list[tuple[str, Path, Any]], list[str]] | None:
    """The common actions as (root, keys, value) fields and tags, when they are what
    a native matcher may apply itself after the captures: constant values (immutable,
    no template) at fixed paths, none of them a prefix of another or under ``tags``,
    fixed tags, nothing removed. None for anything else."""
    if config.remove_field or config.remove_tag or any(is_template(t) for t in config.add_tag):
        return None
    fields: list[tuple[str, Path, Any]] = []
    paths: list[Path] = []
    for name, value in config.add_field.items():
        if is_template(name) or not isinstance(value, (str, int, float, bool)) or (
                isinstance(value, str) and is_template(value)):
            return None
        path = parse(name)
        if path[0] == METADATA:
            if len(path) == 1:
                return None
            fields.append(("meta", path[1:], value))
        else:
            if path[0] == TAGS:
                return None
            fields.append(("data", path, value))
        paths.append(path)
    if any(a[:len(b)] == b for i, a in enumerate(paths) for j, b in enumerate(paths) if i != j):
        return None
    return fields, list(config.add_tag)


def _native_fields(plan: Any, groups: list[int]) -> list[tuple[int, list[str], bool]] | str:
    """(group, field path, as integer) per capture for the native route, or why the
    plan stores something the route does not write."""
    if plan.keep_empty:
        return "keeps empty captures"
    out: list[tuple[int, list[str], bool]] = []
    for group, (parents, leaf, _path, convert, overwrite, via_event) in zip(groups, plan.slots):
        full = (*parents, leaf)
        if overwrite or via_event:
            return "overwrites fields or stores into @metadata"
        if convert is not None and convert is not to_int:
            return "converts captures to float or bool"
        if full[0] in ("message", "@timestamp", "tags"):
            return f"stores into {full[0]}"
        out.append((group, list(full), convert is not None))
    paths = [tuple(p) for _, p, _ in out]
    known = set(paths)
    if len(known) != len(paths) or any(p[:i] in known for p in paths for i in range(1, len(p))):
        return "stores two captures into one field"
    return out


class GrokFilter(Filter):
    """Match fields against grok expressions; store the captures; tag what fails."""

    Config = GrokConfig
    config: GrokConfig

    def __init__(self, config: GrokConfig, *, id: str, context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        compiler = Compiler(ecs_compatibility=config.ecs_compatibility,
                            patterns_dir=config.patterns_dir,
                            patterns_files_glob=config.patterns_files_glob,
                            pattern_definitions=config.pattern_definitions,
                            named_captures_only=config.named_captures_only)
        self._fields: list[tuple[Path, str | None, tuple[Expression, ...]]] = []
        for field, texts in config.match.items():
            try:
                path = parse(field)
                exprs = tuple(compiler.compile(t, overwrite=config.overwrite, target=config.target,
                                               keep_empty_captures=config.keep_empty_captures)
                              for t in texts)
            except ConfigError as exc:
                raise exc.located(path=f"match.{field}") from None
            top = path[0] if len(path) == 1 and path[0] != "@metadata" else None
            self._fields.append((path, top, exprs))
        #: An expression on the ``regex`` module (the ``gated-timeout`` and ``timeout``
        #: engines) may take as long as its timeout on a hostile line, and lets go of
        #: the GIL meanwhile: such a grok runs in the pipeline's filter thread, so the
        #: event loop keeps serving (logpipe.core.filter_runner). The ``gated`` engine
        #: (a linear RE2 gate, then ``re`` on a line known to match) costs a bounded
        #: factor of the line.
        self.runs_on_event_loop = all(e.program.engine == "gated"
                                      for _, _, exprs in self._fields for e in exprs)
        self._break = config.break_on_match
        self._failure_tags = tuple(config.tag_on_failure)
        self._timeout_tag = config.tag_on_timeout
        self._timeout = config.timeout_millis / 1000.0 if config.timeout_millis else None
        self._event_scope = config.timeout_scope == "event" and self._timeout is not None
        self._actions = CommonActions(config)
        self._timeouts = 0
        self._failure_metrics = ParseFailureMetrics(self.context, id)
        # The common shape, one field (``message``, ``[url][original]``) with
        # break_on_match and a per-pattern budget, gets a loop of its own: no per-event
        # walk over fields, values and deadlines.
        self._single: tuple[Getter, tuple[tuple[Any, Any, Any], ...]] | None = None
        if len(self._fields) == 1 and self._break and not self._event_scope:
            self._single = (getter(self._fields[0][0]),
                            tuple((e.search_into, e.program.search, e.plan.apply)
                                  for e in self._fields[0][2]))
        #: Whether the single-field loop's native matchers apply the common actions
        #: too (they answer True only when they did).
        self._acted = False
        if self._single is not None and self._actions.active:
            self._single, self._acted = self._acting(self._single)
        #: Off until the single-field loop shows that its values repeat; never on for
        #: one expression whose native matcher stores into any event it can (see
        #: ``_remembers``).
        self._memo = ResultMemo(enabled=self._single is not None and self._remembers())
        #: The single-field loop in Rust for a batch, when every expression has a
        #: native matcher (see ``_single_batch``).
        self._batch: Any = self._native_batch()

    def writes(self) -> Writes:
        """Each capture's field (an existing list gets the text appended), the tags,
        the common options."""
        prefix = parse(self.config.target) if self.config.target else ()
        paths = {prefix + c.path for _, _, exprs in self._fields
                 for e in exprs for c in e.program.translation.captures}
        return change_paths(*sorted(paths)) + TAGS_CHANGE + common_writes(self.config)

    def _native_batch(self) -> Any:
        """A ``logpipe_native.PlanBatch`` running the single-field loop's native
        matchers over a whole batch, or None (no single-field loop, a field under
        ``@metadata``, an expression without a native matcher, no native module)."""
        if self._single is None:
            return None
        path = self._fields[0][0]
        matchers = [getattr(into, "__self__", None) for into, _, _ in self._single[1]]
        plan_batch = getattr(native_module(), "PlanBatch", None)
        if plan_batch is None or path[0] == METADATA or any(m is None for m in matchers):
            return None
        try:
            return plan_batch(matchers, list(path))
        except (TypeError, ValueError):
            return None

    def _remembers(self) -> bool:
        """Whether the single-field loop should keep a memo of results per value.

        A hit saves the match and pays for the capture plan's Python store. With one
        expression whose native matcher also stores into events that hold some of the
        captures' fields (``split_url``: the ``url`` it reads from), a miss is one
        native call that matches and stores, which costs no more than a hit: the memo
        would only add its lookups and insertions."""
        exprs = self._fields[0][2]
        return not (len(exprs) == 1 and exprs[0].search_into is not None and exprs[0].plan.walk)

    def _acting(self, single: tuple[Getter, tuple[tuple[Any, Any, Any], ...]]
                ) -> tuple[tuple[Getter, tuple[tuple[Any, Any, Any], ...]], bool]:
        """The single-field loop with native matchers that also apply the common
        actions, when every expression has one and the actions allow it."""
        actions = constant_actions(self.config)
        exprs = self._fields[0][2]
        if actions is None or any(e.search_into is None for e in exprs):
            return single, False
        intos = []
        for e in exprs:
            translation = e.program.translation
            into = native_plan_matcher(translation.regex, [c.group for c in translation.captures],
                                       e.plan.tree, *actions, walk=e.plan.walk)  # type: ignore[arg-type]
            if into is None:
                return single, False
            intos.append(into)
        return (single[0], tuple((into, search, apply) for into, (_, search, apply)
                                 in zip(intos, single[1]))), True

    def packed_lines(self) -> tuple[Any, str]:
        """This filter as a native transform of packed line batches (see
        logpipe.core.packed), or None and why not.

        Offered for the shape whose result the native engine reproduces exactly:
        expressions on ``message`` only, each run by the gated engine (its
        repetitions from the audited library, so extraction by backtracking is
        cheap on a line the linear-time gate passed), captures stored as text or
        ``:int`` in new fields (nested ones too, ``target`` included) that do
        not overlap, and no common actions (add_field, add_tag, ...).
        """
        from logpipe.core.native import native_module
        from logpipe.filters.grok.native import Refused, native_expression

        logpipe_native = native_module()
        if logpipe_native is None:
            return None, "the native module is not installed"
        if self._actions.active:
            return None, "it has add_field, add_tag, remove_field or remove_tag"
        if len(self._fields) != 1 or self._fields[0][0] != ("message",):
            return None, "it matches fields other than message"
        exprs = self._fields[0][2]
        if not self._break and len(exprs) > 1:
            return None, "break_on_match is false"
        if len(set(self._failure_tags)) != len(self._failure_tags):
            return None, "tag_on_failure repeats a tag"
        programs = []
        for expr in exprs:
            if expr.engine != "gated":
                return None, f"expression {expr.text!r} needs the {expr.engine} engine"
            translation = expr.program.translation
            try:
                native = native_expression(translation.regex)
            except Refused as exc:
                return None, f"expression {expr.text!r} uses {exc}"
            fields = _native_fields(expr.plan, [native.names[c.group] for c in translation.captures])
            if isinstance(fields, str):
                return None, f"expression {expr.text!r} {fields}"
            programs.append((native.gate, native.extract, fields))
        try:
            return logpipe_native.LineGrok(programs, list(self._failure_tags)), ""
        except ValueError as exc:
            return None, f"the native engine refused it: {exc}"

    def packed_done(self, failed: int) -> None:
        """Counts of a packed batch (see ``packed_lines``)."""
        self._failure_metrics.add(failed)

    @property
    def engines(self) -> dict[str, list[str]]:
        """Which engine runs each expression (for ``logpipe check`` and tests)."""
        return {"".join(f"[{k}]" for k in path): [e.engine for e in exprs]
                for path, _, exprs in self._fields}

    def process(self, events: list[Event]) -> list[Event]:
        matched: list[Event] = []
        if self._single is None:
            failed = self._walk(events, matched)
        elif self._memo.on:
            failed = self._single_memo(events, matched)
        else:
            if self._batch is not None and type(events) is list:
                failed = self._single_batch(events, matched)
            else:
                failed = self._single_loop(events, matched)
            self._memo.passed(len(events))
        self._failure_metrics.add(failed)
        if self._actions.active:
            self._actions.apply(matched)
        return events

    def _walk(self, events: list[Event], matched: list[Event]) -> int:
        """The general case: several fields, lists, the per-event time budget."""
        failures: list[Event] = []
        for event in events:
            try:
                ok = self._grok(event)
            except GrokTimeout as exc:
                self._timed_out(event, exc)
                continue
            if ok:
                matched.append(event)
            else:
                failures.append(event)
        return self._tag_failures(failures)

    def _single_loop(self, events: list[Event], matched: list[Event]) -> int:
        """One field, break_on_match: each expression's native matcher stores the
        captures itself when it can (``Expression.search_into``)."""
        failures: list[Event] = []
        get_text, exprs = self._single  # type: ignore[misc]
        timeout = self._timeout
        grok = self._grok
        #: What ``ok`` is for an event whose matcher stored everything, actions included.
        done: Any = _ACTED if self._acted else True
        for event in events:
            try:
                text = get_text(event)
                if type(text) is not str:
                    ok = grok(event)  # lists, numbers, absent: the general walk
                else:
                    ok = False
                    for into, search, apply in exprs:
                        if into is not None:
                            try:
                                groups = into(text, event.data, event.metadata)
                            except ValueError:
                                groups = search(text, timeout)
                            if groups is None:
                                continue
                            if groups is True:
                                ok = done
                                break
                            if groups is not False:   # False: stored, actions to do
                                apply(event, groups)
                        else:
                            groups = search(text, timeout)
                            if groups is None:
                                continue
                            apply(event, groups)
                        ok = True
                        break
            except GrokTimeout as exc:
                self._timed_out(event, exc)
                continue
            if ok:
                if ok is not _ACTED:
                    matched.append(event)
            else:
                failures.append(event)
        return self._tag_failures(failures)

    def _single_batch(self, events: list[Event], matched: list[Event]) -> int:
        """``_single_loop`` with the loop in Rust (logpipe_native.PlanBatch): it
        answers only the events that still need Python, in order, and this finishes
        them as the loop would have."""
        entries, error = self._batch.run(events, self._actions.active and not self._acted)
        failures: list[Event] = []
        exprs = self._single[1]  # type: ignore[index]
        for i, what, k, groups in entries:
            event = events[i]
            if what == _BATCH_MATCHED:
                matched.append(event)
            elif what == _BATCH_GROUPS:
                exprs[k][2](event, groups)
                matched.append(event)
            elif what == _BATCH_FAILED:
                failures.append(event)
            else:
                self._finish(event, k if what == _BATCH_VALUE_ERROR else 0,
                             k if what == _BATCH_VALUE_ERROR else -1, matched, failures)
        if error is not None:
            raise error
        return self._tag_failures(failures)

    def _finish(self, event: Event, start: int, failed_into: int, matched: list[Event],
                failures: list[Event]) -> None:
        """``_single_loop``'s body for one event, from expression ``start`` on; the
        native matcher of expression ``failed_into`` raised ValueError for it, so
        that expression is asked through ``search``."""
        get_text, exprs = self._single  # type: ignore[misc]
        timeout = self._timeout
        done: Any = _ACTED if self._acted else True
        try:
            text = get_text(event)
            if type(text) is not str:
                ok = self._grok(event)
            else:
                ok = False
                for n in range(start, len(exprs)):
                    into, search, apply = exprs[n]
                    if into is not None and n != failed_into:
                        try:
                            groups = into(text, event.data, event.metadata)
                        except ValueError:
                            groups = search(text, timeout)
                        if groups is None:
                            continue
                        if groups is True:
                            ok = done
                            break
                        if groups is not False:
                            apply(event, groups)
                    else:
                        groups = search(text, timeout)
                        if groups is None:
                            continue
                        apply(event, groups)
                    ok = True
                    break
        except GrokTimeout as exc:
            self._timed_out(event, exc)
            return
        if ok:
            if ok is not _ACTED:
                matched.append(event)
        else:
            failures.append(event)

    def _single_memo(self, events: list[Event], matched: list[Event]) -> int:
        """``_single_loop`` for a field whose values repeat (see ResultMemo): the
        matching expression's plan and capture texts per value, remembered."""
        failures: list[Event] = []
        get_text, exprs = self._single  # type: ignore[misc]
        timeout = self._timeout
        grok = self._grok
        memo = self._memo
        known = memo.results
        hits = 0
        for event in events:
            try:
                text = get_text(event)
                if type(text) is not str:
                    ok = grok(event)
                else:
                    found = known.get(text, _UNKNOWN)
                    if found is _UNKNOWN:
                        found = None
                        for _into, search, apply in exprs:
                            groups = search(text, timeout)
                            if groups is not None:
                                found = (apply, groups)
                                break
                        memo.remember(text, found)
                    else:
                        hits += 1
                    if found is None:
                        ok = False
                    else:
                        found[0](event, found[1])
                        ok = True
            except GrokTimeout as exc:
                self._timed_out(event, exc)
                continue
            if ok:
                matched.append(event)
            else:
                failures.append(event)
        memo.judge(len(events), hits)
        return self._tag_failures(failures)

    def _tag_failures(self, failures: list[Event]) -> int:
        """Tag the events no expression matched (after the loop: nothing else happens
        to them in between); their number."""
        failure_tags = self._failure_tags
        if failure_tags:
            for event in failures:
                event.add_tag(*failure_tags)
        return len(failures)

    def _timed_out(self, event: Event, exc: GrokTimeout) -> None:
        event.add_tag(self._timeout_tag)
        self._timeouts += 1
        if self._timeouts % _TIMEOUT_LOG_EVERY == 1:
            self.log.warning("grok expression %r ran out of time (%d timeouts so far)",
                             str(exc), self._timeouts)

    def _grok(self, event: Event) -> bool:
        brk = self._break
        timeout = self._timeout
        deadline = time.monotonic() + timeout if self._event_scope else None  # type: ignore[operator]
        matched = False
        for path, top, exprs in self._fields:
            value = event.data.get(top) if top is not None else event.get_path(path)
            values = value if type(value) is list else (value,)
            field_matched = False
            for item in values:
                text = item if type(item) is str else as_text(item)
                for expr in exprs:
                    if deadline is not None:
                        timeout = max(deadline - time.monotonic(), 1e-6)
                    if expr.match_into(event, text, timeout):
                        field_matched = True
                        if brk:
                            break
            if field_matched:
                matched = True
                if brk:
                    break
        return matched
