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

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import PluginConfig
from logpipe.core.sprintf import compile_template, is_template

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

    __slots__ = ("_add_field", "_remove_field", "_add_tag", "_remove_tag",
                 "_static_add_tags", "_static_remove_tags", "active")

    def __init__(self, config: CommonOptions) -> None:
        self._add_field = [(path_of(name), [value_of(v) for v in (
            value if isinstance(value, list) else [value])])
            for name, value in config.add_field.items()]
        self._remove_field = [path_of(name) for name in config.remove_field]
        self._static_add_tags = tuple(config.add_tag) if _static(config.add_tag) else None
        self._static_remove_tags = tuple(config.remove_tag) if _static(config.remove_tag) else None
        self._add_tag = [text_of(t) for t in config.add_tag]
        self._remove_tag = [text_of(t) for t in config.remove_tag]
        #: False when no common option is set, so filters can skip the call.
        self.active = bool(self._add_field or self._remove_field or self._add_tag
                           or self._remove_tag)

    def apply(self, events: list[Event]) -> None:
        if not self.active or not events:
            return
        if self._add_field:
            for event in events:
                for path_fn, values in self._add_field:
                    path = path_fn(event)
                    for value_fn in values:
                        _add_value(event, path, value_fn(event))
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


def _add_value(event: Event, path: Path, value: Any) -> None:
    current = event.get_path(path, _MISSING)
    if current is _MISSING:
        event.set_path(path, value)
    elif isinstance(current, list):
        current.append(value)
    else:
        event.set_path(path, [current, value])


def apply_common(events: list[Event], config: CommonOptions) -> None:
    """One-off form of :class:`CommonActions` (compiles on every call: prefer the class)."""
    CommonActions(config).apply(events)
