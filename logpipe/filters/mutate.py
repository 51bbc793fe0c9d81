"""``mutate``: rename, replace, convert and reshape fields, as Logstash's mutate does.

Operations run in Logstash's documented order, each over the whole batch:
coerce, rename, update, replace, convert, gsub, uppercase, capitalize,
lowercase, strip, split, join, merge, copy; then the common options
(``add_field``, ``remove_field``, ``add_tag``, ``remove_tag``). Use two mutate
entries when another order is needed.

When an operation fails on an event (a value that does not convert, an
object merged with a list, a ``gsub`` pattern built from a field that is no
valid regex) that event keeps its
current values, gets ``tag_on_failure`` and skips the remaining operations and
the common options; the other events carry on. This is Logstash's rule, applied
to boolean conversion too (Logstash passes an unconvertible boolean through
without a tag; here it is tagged so it can be found).
"""
from __future__ import annotations

import copy as _copy
import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable, ClassVar, Literal

import orjson
import regex
from pydantic import Field, field_validator

from logpipe.core.event import METADATA, Event, reader
from logpipe.core.fieldref import Path, parse
from logpipe.core.memo import Generations
from logpipe.core.native import left_over, native_module
from logpipe.core.plugin import Filter, PluginContext
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import TAGS_CHANGE, Writes, changes, moves, sets
from logpipe.errors import ConfigError
from logpipe.filters.common import (CommonActions, CommonOptions, PathOf, StrList, ValueOf,
                                    common_writes, path_of, value_of)
from logpipe.filters.fieldaccess import setter
from logpipe.filters.mutate_native import native_gsub
from logpipe.filters.rubytext import to_s as ruby_to_s

_MISSING: Any = object()
Conversion = Literal["integer", "integer_eu", "float", "float_eu", "string", "boolean"]


class MutateConfig(CommonOptions):
    """Settings of the mutate filter (Logstash names)."""

    logstash_hashes: ClassVar[tuple[str, ...]] = (
        "coerce", "rename", "update", "replace", "convert", "split", "join", "merge", "copy")

    coerce: dict[str, Any] = Field(default_factory=dict, description=(
        "field -> default: set the default (a %{field} template) when the field exists "
        "but is null."))
    rename: dict[str, str] = Field(default_factory=dict, description=(
        "old -> new: move a field; an existing destination is overwritten, a missing "
        "source is skipped. Both names may be %{field} templates."))
    update: dict[str, Any] = Field(default_factory=dict, description=(
        "field -> value: overwrite a field only when it exists (value is a template)."))
    replace: dict[str, Any] = Field(default_factory=dict, description=(
        "field -> value: set a field, creating it when missing (value is a template)."))
    convert: dict[str, Conversion] = Field(default_factory=dict, description=(
        "field -> integer | integer_eu | float | float_eu | string | boolean. Lists are "
        "converted element by element; objects and nulls are left alone."))
    gsub: list[Any] = Field(default_factory=list, description=(
        "Regex substitutions: a flat list [field, pattern, replacement, ...] or a list of "
        "[field, pattern, replacement] triples. Applies to strings and lists of strings; "
        "\\1 or \\k<name> in the replacement insert groups."))
    uppercase: StrList = Field(default_factory=list, description="Fields to upper-case.")
    capitalize: StrList = Field(default_factory=list, description=(
        "Fields to capitalize (first letter upper, the rest lower)."))
    lowercase: StrList = Field(default_factory=list, description="Fields to lower-case.")
    strip: StrList = Field(default_factory=list, description=(
        "Fields to strip of leading and trailing whitespace."))
    split: dict[str, str] = Field(default_factory=dict, description=(
        "field -> separator: split a string into a list (trailing empty items dropped)."))
    join: dict[str, str] = Field(default_factory=dict, description=(
        "field -> separator: join a list into a string."))
    merge: dict[str, str | list[str]] = Field(default_factory=dict, description=(
        "destination -> source(s): append list or string sources to the destination "
        "list, or merge an object into an object."))
    copy_: dict[str, str] = Field(default_factory=dict, alias="copy", description=(
        "source -> destination: deep-copy a field, overwriting the destination."))
    tag_on_failure: str = Field(default="_mutate_error", description=(
        "Tag added to an event on which an operation failed."))

    @field_validator("gsub")
    @classmethod
    def _gsub_shape(cls, value: list[Any]) -> list[Any]:
        if value and all(isinstance(v, (list, tuple)) for v in value):
            triples = [list(v) for v in value]
        else:
            if len(value) % 3:
                raise ValueError("gsub takes [field, pattern, replacement] in threes")
            triples = [value[i:i + 3] for i in range(0, len(value), 3)]
        for triple in triples:
            if len(triple) != 3 or not all(isinstance(x, str) for x in triple):
                raise ValueError(f"gsub entry {triple!r} must be three strings: "
                                 "field, pattern, replacement")
        return triples


# --- value conversions ----------------------------------------------------------------
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", ""})


def to_text(value: Any) -> str:
    """How a value reads as text: Logstash's spelling of booleans, JSON for containers."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ruby_to_s(value)     # 1.0e+16, as Ruby writes floats
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _number_text(value: str, eu: bool) -> str:
    text = value.strip()
    if "_" in text:   # Python would read 1_000; Logstash would not
        raise ValueError(f"{value!r} is not a number")
    if eu:
        text = text.translate({ord(","): ".", ord("."): ","})
    return text.replace(",", "")


def _hex(text: str) -> float | int | None:
    """``0x7b`` (an integer) or ``0x1.edcdp6`` (a C99 hex float), signed; else None."""
    bare = text.lstrip("+-")
    if bare[:2].lower() != "0x":
        return None
    sign = -1 if text.startswith("-") else 1
    if "." in bare or "p" in bare.lower():
        return sign * float.fromhex(bare)
    return sign * int(bare, 16)


def _to_float(value: Any, eu: bool = False) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = _number_text(value, eu)
        hexed = _hex(text)
        number = float(hexed) if hexed is not None else float(text)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    raise ValueError(f"cannot convert {type(value).__name__} to a number")


def _to_int(value: Any, eu: bool = False) -> int:
    if type(value) is str and not eu and "_" not in value:
        try:
            return int(value)   # the common case: plain digits
        except ValueError:
            pass
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = _number_text(value, eu)
        hexed = _hex(text)
        if hexed is not None:
            return int(hexed)
        try:
            number = Decimal(text)     # exact: "9007199254740993.0" stays ...993
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return int(number)             # truncates, as Logstash does
    as_float = _to_float(value, eu)
    if not math.isfinite(as_float):
        raise ValueError(f"{value!r} is not a finite number")
    return int(as_float)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = to_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_int,
    "integer_eu": lambda v: _to_int(v, eu=True),
    "float": _to_float,
    "float_eu": lambda v: _to_float(v, eu=True),
    "string": to_text,
    "boolean": _to_bool,
}


# --- gsub -----------------------------------------------------------------------------
def _python_replacement(template: str) -> str:
    """Translate Ruby-style group references (``\\1``, ``\\0``, ``\\k<name>``, ``\\&``)
    into Python's template syntax; every other backslash is literal."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "\\" and i + 1 < n:
            nxt = template[i + 1]
            if nxt.isdigit():
                out.append(f"\\g<{nxt}>")
                i += 2
                continue
            if nxt == "&":
                out.append("\\g<0>")
                i += 2
                continue
            if nxt == "k" and template.startswith("<", i + 2) and ">" in template[i + 3:]:
                end = template.index(">", i + 3)
                out.append(f"\\g<{template[i + 3:end]}>")
                i = end + 1
                continue
            if nxt == "\\":
                out.append("\\\\")
                i += 2
                continue
        out.append("\\\\" if c == "\\" else c)
        i += 1
    return "".join(out)


_GROUP_REF = regex.compile(r"\\g<([^>]*)>")


def _compile_pattern(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ConfigError(f"bad gsub pattern {pattern!r}: {exc}", path="gsub") from None


@lru_cache(maxsize=256)
def _event_pattern(pattern: str) -> regex.Pattern[str]:
    """Patterns built from event fields, cached as the same few values recur."""
    return regex.compile(pattern)


def _check_groups(pattern: regex.Pattern[str], replacement: str) -> None:
    for ref in _GROUP_REF.findall(replacement):
        known = int(ref) <= pattern.groups if ref.isdigit() else ref in pattern.groupindex
        if not known:
            raise ConfigError(f"gsub replacement refers to group {ref!r}, which pattern "
                              f"{pattern.pattern!r} does not have", path="gsub")


#: Distinct input texts whose substitution one fixed ``gsub`` remembers, per generation.
#: The memory keeps two: when the newer is full it becomes the older and the oldest is
#: dropped, so a value that keeps coming back survives the turnover (emptying one dict
#: when full lost every frequent route at once), and at most twice this many are held.
_GSUB_RESULTS = 8192
#: Only texts up to this length are remembered: short values (routes, levels, hosts)
#: repeat; long ones (messages) rarely do, and would make the memory large.
_GSUB_REMEMBERED_LENGTH = 256


class _Gsub:
    """One substitution; pattern and replacement may be templates."""

    __slots__ = ("path", "fixed", "read", "pattern", "pattern_of", "replacement", "replacement_of",
                 "results", "write", "native")

    def __init__(self, field: str, pattern: str, replacement: str) -> None:
        self.path = path_of(field)
        #: The field's path when it is no template, read without get_path's generality.
        self.fixed = None if is_template(field) else parse(field)
        self.read = None if self.fixed is None else reader(self.fixed)
        self.write = None if self.fixed is None else setter(self.fixed)
        dynamic = is_template(pattern)
        self.pattern = None if dynamic else _compile_pattern(pattern)
        self.pattern_of = compile_template(pattern) if dynamic else None
        self.replacement = None if is_template(replacement) else _python_replacement(replacement)
        self.replacement_of = compile_template(replacement)
        if self.pattern is not None and self.replacement is not None:
            _check_groups(self.pattern, self.replacement)
        #: Input text -> its substituted text, when pattern and replacement are fixed: the
        #: answer depends on nothing else, and values repeat (routes, levels, hosts).
        self.results: Generations[str, str] | None = (
            Generations(_GSUB_RESULTS) if self.pattern is not None and self.replacement is not None
            else None)
        #: The batch form in Rust (logpipe.filters.mutate_native), for a fixed data field,
        #: pattern and replacement that it takes: one call reads, substitutes and writes
        #: the field of every plain event, with no memo to keep.
        self.native: Any = None
        if self.results is not None and self.fixed is not None and self.fixed[0] != METADATA:
            self.native = native_gsub(pattern, self.replacement, self.fixed)  # type: ignore[arg-type]

    def _substituted(self, value: str) -> str:
        """The substitution of a text the newer generation does not hold (remembered)."""
        assert self.results is not None and self.pattern is not None and self.replacement is not None
        return self.results.recall(value, self._substitute)

    def _substitute(self, value: str) -> str:
        return self.pattern.sub(self.replacement, value)  # type: ignore[union-attr]

    def apply(self, event: Event) -> None:
        path = self.fixed
        if path is not None:
            value = self.read(event)  # type: ignore[misc]
        else:
            path = self.path(event)
            value = event.get_path(path)
        results = self.results
        if results is not None and type(value) is str and len(value) <= _GSUB_REMEMBERED_LENGTH:
            changed = results.newer.get(value)
            if changed is None:
                changed = self._substituted(value)
            if changed != value:
                if self.write is not None:
                    self.write(event, changed)
                else:
                    event.set_path(path, changed)
            return
        if not isinstance(value, (str, list)):
            return
        pattern = self.pattern or _event_pattern(self.pattern_of(event))  # type: ignore[misc]
        repl = self.replacement
        if repl is None:
            repl = _python_replacement(self.replacement_of(event))
        if isinstance(value, str):
            changed = pattern.sub(repl, value)
            if changed != value:   # nothing replaced: the field already holds this text
                event.set_path(path, changed)
        else:
            event.set_path(path, [pattern.sub(repl, v) if isinstance(v, str) else v
                                  for v in value])

    def run(self, events: list[Event], failed: list[tuple[Event, Exception]]) -> None:
        """``apply`` over a batch, the failures collected: for a fixed field, pattern and
        replacement the remembered case is written out here, with no call per event,
        or done in Rust (``native``) for all but the events it hands back."""
        native = self.native
        if native is not None and type(events) is list:
            apply = self.apply
            for i in native.run(events, self.results, _GSUB_REMEMBERED_LENGTH):
                try:
                    apply(events[i])
                except Exception as exc:   # the event's failure (see MutateFilter.process)
                    failed.append((events[i], exc))
            return
        read, write = self.read, self.write
        if self.results is None or read is None or write is None:
            apply = self.apply
            for event in events:
                try:
                    apply(event)
                except Exception as exc:   # the event's failure (see MutateFilter.process)
                    failed.append((event, exc))
            return
        longest = _GSUB_REMEMBERED_LENGTH
        substituted = self._substituted
        path = self.fixed
        if path is not None and len(path) == 2 and path[0] != METADATA:
            # ``[http][route]``: the reader's and the setter's dict steps written out;
            # anything unusual on the way goes to ``apply``.
            outer, inner = path
            for event in events:
                try:
                    node = event.data.get(outer)
                    if type(node) is dict:
                        value = node.get(inner)
                        if type(value) is str and len(value) <= longest:
                            changed = self.results.newer.get(value)
                            if changed is None:
                                changed = substituted(value)
                            if changed != value:
                                node[inner] = changed
                            continue
                    self.apply(event)
                except Exception as exc:   # the event's failure (see MutateFilter.process)
                    failed.append((event, exc))
            return
        for event in events:
            try:
                value = read(event)
                if type(value) is str and len(value) <= longest:
                    changed = self.results.newer.get(value)
                    if changed is None:
                        changed = substituted(value)
                    if changed != value:
                        write(event, changed)
                else:
                    self.apply(event)
            except Exception as exc:   # the event's failure (see MutateFilter.process)
                failed.append((event, exc))


# --- the filter -----------------------------------------------------------------------
_REFERENCE = regex.compile(r"%\{([^}+][^}]*)\}")


def _reference(value: Any) -> Path | None:
    """The field a configured value names when it is exactly one ``%{[a][b]}`` (its
    rendering is that field's text when the field holds one), else None."""
    if not isinstance(value, str):
        return None
    m = _REFERENCE.fullmatch(value)
    if m is None:
        return None
    try:
        return parse(m.group(1))
    except ConfigError:
        return None


Op = Callable[[Event], None]
#: An operation over a whole batch: it appends (event, exception) for each event it failed on.
BatchOp = Callable[[list[Event], list[tuple[Event, Exception]]], None]



def _per_string(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    def transform(value: Any) -> Any:
        if isinstance(value, str):
            return fn(value)
        if isinstance(value, list):
            return [fn(v) if isinstance(v, str) else v for v in value]
        return _MISSING
    return transform


def _split_text(value: str, sep: str) -> list[str]:
    """Ruby's ``String#split``: a single space splits on runs of whitespace, ignoring
    leading whitespace; trailing empty items are dropped."""
    if sep == " ":
        return value.split()
    parts = list(value) if sep == "" else value.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


class MutateFilter(Filter):
    """General field surgery; see the module docstring for order and failures."""

    Config = MutateConfig
    runs_on_event_loop = True

    def __init__(self, config: MutateConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self.config: MutateConfig = config
        self._ops: list[tuple[str, Op]] = self._build(config)
        #: Per operation, its batch form when it has one: one call per batch instead of
        #: one per event (the one-operation entries, ``route``'s replace or a gsub).
        self._batches: list[BatchOp | None] = [getattr(op, "batch", None) for _, op in self._ops]
        self._common = CommonActions(config)

    def writes(self) -> Writes:
        """Per operation: renames move (an alias), coerce, update, replace, convert and
        copy set (copy and merge deep-copy what they take: no alias), the in-place
        edits change, then the failure tag and the common options."""
        c = self.config
        out = sets(*c.coerce, *c.update, *c.replace, *c.convert, *c.copy_.values())
        for old, new in c.rename.items():
            out = out + moves(old, new)
        edited = [triple[0] for triple in c.gsub]
        for name in ("uppercase", "capitalize", "lowercase", "strip"):
            edited += getattr(c, name)
        out = out + changes(*edited, *c.split, *c.join, *c.merge)
        return out + TAGS_CHANGE + common_writes(c)

    # -- building ---------------------------------------------------------------------
    def _build(self, c: MutateConfig) -> list[tuple[str, Op]]:
        ops: list[tuple[str, Op]] = []
        if c.coerce:
            ops.append(("coerce", self._coerce([(path_of(k), value_of(v))
                                                for k, v in c.coerce.items()])))
        if c.rename:
            ops.append(("rename", self._rename([(path_of(k), path_of(v))
                                                for k, v in c.rename.items()])))
        if c.update:
            ops.append(("update", self._set([(path_of(k), value_of(v))
                                             for k, v in c.update.items()], only_existing=True)))
        if c.replace:
            ops.append(("replace", self._set([(path_of(k), value_of(v))
                                              for k, v in c.replace.items()], only_existing=False,
                                             fixed=[None if is_template(k) else parse(k)
                                                    for k in c.replace],
                                             sources=[_reference(v) for v in c.replace.values()])))
        if c.convert:
            ops.append(("convert", self._convert([(path_of(k), _CONVERTERS[t])
                                                  for k, t in c.convert.items()])))
        if c.gsub:
            subs = [_Gsub(*triple) for triple in c.gsub]
            ops.append(("gsub", self._each(subs)))
            # A pattern on the ``regex`` module may backtrack without end on a hostile
            # value, letting go of the GIL meanwhile: such a mutate runs in the filter
            # thread (logpipe.core.filter_runner). The native form is linear-time.
            self.runs_on_event_loop = all(sub.native is not None for sub in subs)
        for name, fn in (("uppercase", str.upper), ("capitalize", str.capitalize),
                         ("lowercase", str.lower), ("strip", str.strip)):
            fields = getattr(c, name)
            if fields:
                ops.append((name, self._transform([path_of(f) for f in fields], _per_string(fn))))
        if c.split:
            ops.append(("split", self._transform_each(
                [(path_of(k), sep) for k, sep in c.split.items()],
                lambda v, sep: _split_text(v, sep) if isinstance(v, str) else _MISSING)))
        if c.join:
            ops.append(("join", self._transform_each(
                [(path_of(k), sep) for k, sep in c.join.items()],
                lambda v, sep: sep.join(map(to_text, v)) if isinstance(v, list) else _MISSING)))
        if c.merge:
            ops.append(("merge", self._merge([
                (path_of(dest), [path_of(s) for s in ([src] if isinstance(src, str) else src)])
                for dest, src in c.merge.items()])))
        if c.copy_:
            ops.append(("copy", self._copy([(path_of(k), path_of(v)) for k, v in c.copy_.items()])))
        return ops

    @staticmethod
    def _coerce(items: list[tuple[PathOf, ValueOf]]) -> Op:
        def op(event: Event) -> None:
            for path_fn, value_fn in items:
                path = path_fn(event)
                if event.get_path(path, _MISSING) is None:
                    event.set_path(path, value_fn(event))
        return op

    @staticmethod
    def _rename(items: list[tuple[PathOf, PathOf]]) -> Op:
        def op(event: Event) -> None:
            for old_fn, new_fn in items:
                old = old_fn(event)
                value = event.get_path(old, _MISSING)
                if value is not _MISSING:
                    new = new_fn(event)
                    event.delete_path(old)
                    event.set_path(new, value)
        return op

    @staticmethod
    def _set(items: list[tuple[PathOf, ValueOf]], *, only_existing: bool,
             fixed: list[Path | None] | None = None, sources: list[Path | None] | None = None) -> Op:
        if not only_existing and fixed is not None and len(items) == 1 and fixed[0] is not None:
            # ``replace`` of one named field (``%{[url][path]}`` into ``[http][route]``).
            path, (_, value_fn) = fixed[0], items[0]
            write = setter(path)

            def replace_one(event: Event) -> None:
                write(event, value_fn(event))

            def replace_each(events: list[Event], failed: list[tuple[Event, Exception]]) -> None:
                for event in events:
                    try:
                        write(event, value_fn(event))
                    except Exception as exc:   # the event's failure (see process)
                        failed.append((event, exc))

            replace_one.batch = replace_each  # type: ignore[attr-defined]
            source = sources[0] if sources else None
            if (len(path) == 2 and path[0] != METADATA and source is not None and len(source) == 2
                    and source[0] != METADATA):
                # ``%{[url][path]}`` into ``[http][route]``: the template's read of a text
                # and the setter's dict step written out in the loop; anything else is
                # the template's to render and the setter's to store.
                outer, inner = path
                src_outer, src_inner = source
                native = native_module()
                copy_text = native.copy_text if native is not None else None

                def replace_inline(events: list[Event], failed: list[tuple[Event, Exception]]) -> None:
                    todo = events
                    if copy_text is not None and type(events) is list:
                        # The usual event (a text there, an object here) natively; the
                        # loop below takes the others, each as it would have.
                        todo = left_over(events, copy_text(events, src_outer, src_inner, outer, inner))
                    for event in todo:
                        try:
                            data = event.data
                            held = data.get(src_outer)
                            value = held.get(src_inner) if type(held) is dict else None
                            if type(value) is not str:
                                value = value_fn(event)
                            node = data.get(outer)
                            if type(node) is dict:
                                node[inner] = value
                            else:
                                write(event, value)
                        except Exception as exc:   # the event's failure (see process)
                            failed.append((event, exc))
                replace_one.batch = replace_inline  # type: ignore[attr-defined]
            return replace_one

        def op(event: Event) -> None:
            for path_fn, value_fn in items:
                path = path_fn(event)
                if only_existing and event.get_path(path, _MISSING) is _MISSING:
                    continue
                event.set_path(path, value_fn(event))
        return op

    @staticmethod
    def _convert(items: list[tuple[PathOf, Callable[[Any], Any]]]) -> Op:
        def op(event: Event) -> None:
            for path_fn, convert in items:
                path = path_fn(event)
                value = event.get_path(path)
                if value is None or isinstance(value, dict):
                    continue
                if isinstance(value, list):
                    event.set_path(path, [None if v is None else convert(v) for v in value])
                else:
                    event.set_path(path, convert(value))
        return op

    @staticmethod
    def _each(subs: list[_Gsub]) -> Op:
        if len(subs) == 1:
            sub = subs[0]

            def gsub_one(event: Event) -> None:
                sub.apply(event)
            gsub_one.batch = sub.run  # type: ignore[attr-defined]
            return gsub_one

        def op(event: Event) -> None:
            for sub in subs:
                sub.apply(event)
        return op

    @staticmethod
    def _transform(paths: list[PathOf], fn: Callable[[Any], Any]) -> Op:
        def op(event: Event) -> None:
            for path_fn in paths:
                path = path_fn(event)
                result = fn(event.get_path(path))
                if result is not _MISSING:
                    event.set_path(path, result)
        return op

    @staticmethod
    def _transform_each(items: list[tuple[PathOf, str]], fn: Callable[[Any, str], Any]) -> Op:
        def op(event: Event) -> None:
            for path_fn, arg in items:
                path = path_fn(event)
                result = fn(event.get_path(path), arg)
                if result is not _MISSING:
                    event.set_path(path, result)
        return op

    @staticmethod
    def _merge(items: list[tuple[PathOf, list[PathOf]]]) -> Op:
        def op(event: Event) -> None:
            for dest_fn, source_fns in items:
                dest = dest_fn(event)
                for source_fn in source_fns:
                    added = event.get_path(source_fn(event), _MISSING)
                    if added is _MISSING:
                        continue
                    current = event.get_path(dest)
                    if current is not None and isinstance(current, dict) != isinstance(added, dict):
                        raise TypeError("cannot merge an object with a non-object")
                    if isinstance(added, dict):
                        if current is None:
                            event.set_path(dest, _copy.deepcopy(added))
                        else:
                            current.update(_copy.deepcopy(added))
                        continue
                    merged = ([] if current is None else
                              list(current) if isinstance(current, list) else [current])
                    merged.extend(_copy.deepcopy(added) if isinstance(added, list) else [added])
                    event.set_path(dest, merged)
        return op

    @staticmethod
    def _copy(items: list[tuple[PathOf, PathOf]]) -> Op:
        def op(event: Event) -> None:
            for src_fn, dst_fn in items:
                value = event.get_path(src_fn(event))
                if value is not None:    # Logstash skips absent and null sources alike
                    event.set_path(dst_fn(event), _copy.deepcopy(value))
        return op

    # -- running ----------------------------------------------------------------------
    def process(self, events: list[Event]) -> list[Event]:
        alive = events
        tag = self.config.tag_on_failure
        for (name, op), batch in zip(self._ops, self._batches):
            failed: list[Event] | None = None
            if batch is not None:
                errors: list[tuple[Event, Exception]] = []
                batch(alive, errors)
                if errors:
                    failed = []
                    for event, exc in errors:
                        self.log.debug("mutate %s failed on an event: %s", name, exc)
                        failed.append(event)
            else:
                for event in alive:
                    try:
                        op(event)
                    except Exception as exc:   # any failure is the event's, never the pipeline's
                        self.log.debug("mutate %s failed on an event: %s", name, exc)
                        if failed is None:
                            failed = []
                        failed.append(event)
            if failed:
                for event in failed:
                    event.add_tag(tag)
                dropped = {id(e) for e in failed}
                alive = [e for e in alive if id(e) not in dropped]
        self._common.apply(alive)
        return events
