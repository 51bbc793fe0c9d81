"""The options every Logstash filter accepts: ``add_field``, ``add_tag``,
``remove_field`` and ``remove_tag``, applied only to events the filter handled
successfully.

A filter's ``Config`` subclasses :class:`CommonOptions`; the filter builds one
:class:`CommonActions` in ``__init__`` (templates and paths compiled there) and
calls ``apply(events)`` on the events that succeeded. The order is Logstash's:
add fields, remove fields, add tags, remove tags.
"""
from __future__ import annotations

import copy
from typing import Annotated, Any, Callable, ClassVar, Iterable

from pydantic import BeforeValidator, Field

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.native import native_module
from logpipe.core.plugin import PluginConfig
from logpipe.core.sprintf import compile_template, is_template
from logpipe.core.writes import TAGS_CHANGE, Writes, changes, sets

_MISSING: Any = object()


def _as_list(value: Any) -> Any:
    """Logstash takes a lone string wherever it takes a list of strings."""
    return [value] if isinstance(value, str) else value


#: A list of strings that also accepts one bare string.
StrList = Annotated[list[str], BeforeValidator(_as_list)]


def hash_from_pairs(value: Any) -> Any:
    """Logstash takes ``[k1, v1, k2, v2]`` wherever it takes a hash; here it is the hash."""
    if isinstance(value, list) and len(value) % 2 == 0 and all(
            isinstance(k, str) for k in value[::2]):
        return {value[i]: value[i + 1] for i in range(0, len(value), 2)}
    return value


#: Options every Logstash filter has that change nothing in the documents:
#: metrics are always on here, and no logpipe filter buffers events to flush.
LOGSTASH_NO_EFFECT = ("enable_metric", "periodic_flush")


class CommonOptions(PluginConfig):
    """Settings shared by every filter."""

    #: Settings that Logstash types as hashes, accepted as flat pairs under ``.conf``.
    logstash_hashes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_logstash(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Logstash's shapes: flat ``[key, value, ...]`` lists for hashes; the options
        that have no effect here (``enable_metric``, ``periodic_flush``) dropped."""
        out = {k: v for k, v in options.items() if k not in LOGSTASH_NO_EFFECT}
        for name in ("add_field", *cls.logstash_hashes):
            if name in out:
                out[name] = hash_from_pairs(out[name])
        return out

    add_field: dict[str, Any] = Field(default_factory=dict, description=(
        "Fields to add when the filter succeeds: name -> value, both %{field} templates. "
        "A field that already exists becomes a list and gets the value appended; a list "
        "value adds each element."))
    add_tag: StrList = Field(default_factory=list, description=(
        "Tags to add when the filter succeeds (%{field} templates allowed)."))
    remove_field: StrList = Field(default_factory=list, description=(
        "Fields to remove when the filter succeeds (%{field} templates allowed in names)."))
    remove_tag: StrList = Field(default_factory=list, description=(
        "Tags to remove when the filter succeeds (%{field} templates allowed)."))


# --- compiled helpers, also used by filters for their own settings ------------------
PathOf = Callable[[Event], Path]
ValueOf = Callable[[Event], Any]
TextOf = Callable[[Event], str]


def path_of(ref: str) -> PathOf:
    """A field name that may hold ``%{...}``: a function giving the event's path."""
    if is_template(ref):
        render = compile_template(ref)
        return lambda event: parse(render(event))
    path = parse(ref)
    return lambda _event: path


def text_of(template: str) -> TextOf:
    """A ``%{...}`` template as a function of the event (constant text costs nothing)."""
    return compile_template(template)


def value_of(value: Any) -> ValueOf:
    """A configured value: strings are templates, lists are rendered element-wise,
    other values are copied so events never share a mutable object."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, list):
        parts = [value_of(v) for v in value]
        return lambda event: [part(event) for part in parts]
    if isinstance(value, dict):
        return lambda _event: copy.deepcopy(value)
    return lambda _event: value


def _static(items: Iterable[str]) -> bool:
    return not any(is_template(item) for item in items)


class CommonActions:
    """The common options of one filter, compiled once."""

    __slots__ = ("_adders", "_add_one", "_remove_field", "_add_tag", "_remove_tag",
                 "_static_add_tags", "_static_remove_tags", "active")

    def __init__(self, config: CommonOptions) -> None:
        #: One function per ``add_field`` entry, in order.
        self._adders = [_adder(name, value) for name, value in config.add_field.items()]
        #: The batch form of a lone ``add_field`` entry (the usual case: one field).
        self._add_one = (_batch_adder(*next(iter(config.add_field.items())))
                         if len(config.add_field) == 1 else None)
        self._remove_field = [path_of(name) for name in config.remove_field]
        self._static_add_tags = tuple(config.add_tag) if _static(config.add_tag) else None
        self._static_remove_tags = tuple(config.remove_tag) if _static(config.remove_tag) else None
        self._add_tag = [text_of(t) for t in config.add_tag]
        self._remove_tag = [text_of(t) for t in config.remove_tag]
        #: False when no common option is set, so filters can skip the call.
        self.active = bool(self._adders or self._remove_field or self._add_tag
                           or self._remove_tag)

    def apply(self, events: list[Event]) -> None:
        if not self.active or not events:
            return
        if self._adders:
            adders = self._adders
            if self._add_one is not None:
                self._add_one(events)
            else:
                for event in events:
                    for add in adders:
                        add(event)
        if self._remove_field:
            for event in events:
                for path_fn in self._remove_field:
                    event.delete_path(path_fn(event))
        if self._add_tag:
            tags = self._static_add_tags
            for event in events:
                event.add_tag(*(tags if tags is not None else
                                [render(event) for render in self._add_tag]))
        if self._remove_tag:
            tags = self._static_remove_tags
            for event in events:
                event.remove_tag(*(tags if tags is not None else
                                   [render(event) for render in self._remove_tag]))


def _adder(name: str, value: Any) -> Callable[[Event], None]:
    """One ``add_field`` entry as a function of the event: what rendering the path, then
    each value, and :func:`_add_value` for each would do, with the usual shapes (a fixed
    path, constant text) taking no calls for what they do not need."""
    items = value if isinstance(value, list) else [value]
    if is_template(name):
        path_fn = path_of(name)
        value_fns = [value_of(v) for v in items]

        def add_rendered(event: Event) -> None:
            path = path_fn(event)
            for value_fn in value_fns:
                _add_value(event, path, value_fn(event))
        return add_rendered
    put = field_adder(parse(name))
    if len(items) == 1:
        item = items[0]
        if isinstance(item, (str, int, float, bool)) and not (isinstance(item, str) and is_template(item)):
            constant = item   # immutable: every event may share it

            def add_constant(event: Event) -> None:
                put(event, constant)
            return add_constant
        value_fn = value_of(item)

        def add_one(event: Event) -> None:
            put(event, value_fn(event))
        return add_one
    value_fns = [value_of(v) for v in items]

    def add_each(event: Event) -> None:
        for value_fn in value_fns:
            put(event, value_fn(event))
    return add_each


def _native_adder(path: Path, constant: Any) -> Any:
    """``logpipe_native.ConstantAdder`` for a constant at a fixed path (the walk of
    :func:`field_adder`, natively), or None: no native module, or a path it does
    not take (``@metadata`` itself, a key that is not text)."""
    native = native_module()
    in_meta = path[0] == METADATA
    keys = list(path[1:] if in_meta else path)
    if native is None or not keys or not all(type(key) is str for key in keys):
        return None
    return native.ConstantAdder(Event, in_meta, keys, constant)


def _batch_adder(name: str, value: Any) -> Callable[[list[Event]], None]:
    """One ``add_field`` entry over a batch: :func:`_adder` for each event, with a constant
    value on a fixed path written straight, without a call per event for the entry."""
    items = value if isinstance(value, list) else [value]
    if not is_template(name) and len(items) == 1:
        item = items[0]
        if isinstance(item, (str, int, float, bool)) and not (isinstance(item, str) and is_template(item)):
            path = parse(name)
            put = field_adder(path)
            constant = item   # immutable: every event may share it
            native = _native_adder(path, constant)
            if native is not None:
                run = native.run

                def add_constant_native(events: list[Event]) -> None:
                    # The native walk stops at an event it leaves to ``put``; in order.
                    i, n = 0, len(events)
                    while i < n:
                        i = run(events, i)
                        if i < n:
                            put(events[i], constant)
                            i += 1
                return add_constant_native

            def add_constant_all(events: list[Event]) -> None:
                for event in events:
                    put(event, constant)
            return add_constant_all
    add = _adder(name, value)

    def add_all(events: list[Event]) -> None:
        for event in events:
            add(event)
    return add_all


def field_adder(path: Path) -> Callable[[Event, Any], None]:
    """``_add_value(event, path, value)`` for a fixed path, walking it once.

    Parents that are dicts are followed and missing (or null) ones made, as
    ``set_path`` would make them; anything else on the way (a list, a scalar, a dict
    subclass) takes :func:`_add_value`. That can only happen before anything was made,
    so the fallback starts from the same event.
    """
    if path[0] == METADATA:
        if len(path) == 1:
            return lambda event, value: _add_value(event, path, value)
        in_meta, keys = True, path[1:]
    else:
        in_meta, keys = False, path
    parents, leaf = keys[:-1], keys[-1]

    def add(event: Event, value: Any) -> None:
        node = event.metadata if in_meta else event.data
        for key in parents:
            child = node.get(key)
            if type(child) is not dict:
                if child is not None:
                    _add_value(event, path, value)
                    return
                child = node[key] = {}
            node = child
        current = node.get(leaf, _MISSING)
        if current is _MISSING:
            node[leaf] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            node[leaf] = [current, value]
    return add


def _add_value(event: Event, path: Path, value: Any) -> None:
    current = event.get_path(path, _MISSING)
    if current is _MISSING:
        event.set_path(path, value)
    elif isinstance(current, list):
        current.append(value)
    else:
        event.set_path(path, [current, value])


def common_writes(config: CommonOptions) -> Writes:
    """What the common options may write: ``add_field`` changes its field (an existing
    list gets the value appended), ``remove_field`` removes one, the tag options
    change the tags. Values are rendered or deep-copied: nothing is aliased."""
    out = changes(*config.add_field) + sets(*config.remove_field)
    if config.add_tag or config.remove_tag:
        out = out + TAGS_CHANGE
    return out


def apply_common(events: list[Event], config: CommonOptions) -> None:
    """One-off form of :class:`CommonActions` (compiles on every call: prefer the class)."""
    CommonActions(config).apply(events)
