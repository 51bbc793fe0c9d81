"""Store captured text in the event the way Logstash's grok does.

For each capture that matched something (an empty string counts only with
``keep_empty_captures``, which also stores a null for an optional capture that
took no part in the match, as Logstash does): a field listed in ``overwrite`` is replaced; a missing
field is set; an existing list gets the value appended; an existing string is
turned into a two-element list ``[old, new]``; a field holding anything else
(a number, an object) is left as it is.

Everything that does not depend on the line (the field path, the type
conversion, whether the field may be overwritten, whether it is a top-level
key) is worked out once per capture when the plan is built.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import Path, parse
from logpipe.filters.grok.compiler import CaptureSpec


_LEADING_INT = re.compile(r"\s*([+-]?[0-9]+)")
_LEADING_FLOAT = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+))")


def to_int(text: str) -> int:
    """Ruby's ``String#to_i``, which Logstash's grok applies: the leading integer, else 0.

    "12.7" gives 12, "42abc" gives 42, "abc" gives 0.
    """
    try:
        return int(text)               # the common case: the whole text is a number
    except ValueError:
        m = _LEADING_INT.match(text)
        return int(m.group(1)) if m else 0


def to_float(text: str) -> float:
    """Ruby's ``String#to_f``: the leading decimal number ("0.001\\t-" gives 0.001), else 0.0."""
    try:
        value = float(text)            # the common case; but "inf"/"nan" are not numbers to Ruby
        if value - value == 0.0:
            return value
    except ValueError:
        pass
    m = _LEADING_FLOAT.match(text)
    if not m:
        return 0.0
    try:
        return float(m.group(1))
    except OverflowError:
        return float("inf")


_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})


def to_bool(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


CONVERTERS: dict[str, Callable[[str], Any]] = {"int": to_int, "float": to_float, "bool": to_bool}

# One capture's destination: (parent keys, leaf key, full path, converter, overwrite,
# whether it goes through the event's accessors (``@metadata``)).
Slot = tuple[Path, str, Path, "Callable[[str], Any] | None", bool, bool]


class CapturePlan:
    """How the captures of one expression land in an event.

    ``apply`` is generated as Python source once per plan: one straight block
    per capture with its keys as constants, so a line costs no loop over slots,
    no tuple unpacking and no lookups that the plan already knows.
    """

    __slots__ = ("slots", "keep_empty", "apply", "tree", "walk")

    def __init__(self, captures: Sequence[CaptureSpec], *, overwrite: Sequence[str] = (),
                 target: str | None = None, keep_empty: bool = False) -> None:
        protected = {parse(ref) for ref in overwrite}
        prefix = parse(target) if target else ()
        slots: list[Slot] = []
        for capture in captures:
            path = prefix + capture.path
            convert = CONVERTERS[capture.type] if capture.type else None
            slots.append((path[:-1], path[-1], path, convert, capture.path in protected,
                          path[0] == METADATA))
        self.slots = tuple(slots)
        self.keep_empty = keep_empty
        self.apply: Callable[[Event, Sequence[str | None]], None] = _generate(self.slots, keep_empty)
        #: Per capture (root: "data" or "meta", keys below it, converter) when the
        #: plan has the "fresh tree" branch (see ``_fresh_tree``), which a native
        #: matcher may then take on its own; else None.
        self.tree: tuple[tuple[str, Path, Callable[[str], Any] | None], ...] | None = None
        if self.slots and not keep_empty and _tree_shaped(self.slots):
            self.tree = tuple((*_rooted(path), convert) for _, _, path, convert, _, _ in self.slots)
        #: Whether a native matcher with ``tree`` may also store into an event that
        #: holds some of the captures' top-level data fields, by the general rules
        #: below: when no capture overwrites its field.
        self.walk = self.tree is not None and not any(s[4] for s in self.slots)


def _generate(slots: Sequence[Slot], keep_empty: bool) -> Callable[[Event, Sequence[str | None]], None]:
    namespace: dict[str, Any] = {"_descend": _descend, "_via_event": _store_via_event}
    src = ["def apply(event, groups):", "    data = event.data"]
    leaves = [leaf for _, leaf, _, _, _, _ in slots]
    if slots and not keep_empty and len(set(leaves)) == len(leaves) and all(
            not parents and convert is None and not overwrite and not via_event
            for parents, _, _, convert, overwrite, via_event in slots):
        # Flat text captures (the harness-style ``(?<host>...)`` expressions): when every
        # group captured something and none of the fields exists yet, the rules below
        # all come down to "set it", so that is all this branch does.
        namespace["_fresh"] = frozenset(leaves).isdisjoint
        namespace["_all"] = all
        src.append("    if _all(groups) and _fresh(data):")
        src.extend(f"        data[{leaf!r}] = groups[{i}]" for i, leaf in enumerate(leaves))
        src.append("        return None")
    elif slots and not keep_empty and _tree_shaped(slots):
        src.extend(_fresh_tree(slots, namespace))
    if keep_empty:
        namespace["_keep_unset"] = _keep_unset
    for i, (parents, leaf, path, convert, overwrite, via_event) in enumerate(slots):
        src.append(f"    v = groups[{i}]")
        if keep_empty:
            # An optional group that did not take part in the match still names its
            # field, which Logstash stores as nil (JSON null).
            namespace[f"_path{i}"] = path
            src.append("    if v is None:")
            src.append(f"        _keep_unset(event, _path{i})")
        src.append("    if v is not None:" if keep_empty else "    if v:")
        src.extend(_converted(i, convert, namespace, "        "))
        if via_event:
            namespace[f"_path{i}"] = path
            src.append(f"        _via_event(event, _path{i}, v, {overwrite!r})")
            continue
        src.append("        node = data")
        for key in parents:
            src.append(f"        child = node.get({key!r})")
            src.append("        if type(child) is not dict:")
            src.append(f"            child = _descend(node, {key!r}, child)")
            src.append("        node = child")
        if overwrite:
            src.append(f"        node[{leaf!r}] = v")
            continue
        src.append(f"        old = node.get({leaf!r})")
        src.append("        if old is None:")
        src.append(f"            node[{leaf!r}] = v")
        src.append("        elif type(old) is list:")
        src.append("            old.append(v)")
        src.append("        elif type(old) is str:")
        src.append(f"            node[{leaf!r}] = [old, v]")
    if not slots:
        src.append("    return None")
    exec(compile("\n".join(src), "<grok capture plan>", "exec"), namespace)  # noqa: S102
    return namespace["apply"]


def _converted(i: int, convert: Callable[[str], Any] | None, namespace: dict[str, Any],
               indent: str) -> list[str]:
    """Lines that convert ``v`` in place. ``to_int`` starts with ``int(v)`` and only
    looks further when that fails, so the common case is written out without a call."""
    if convert is None:
        return []
    namespace[f"_convert{i}"] = convert
    if convert is to_int:
        return [f"{indent}try:", f"{indent}    v = int(v)", f"{indent}except ValueError:",
                f"{indent}    v = _convert{i}(v)"]
    return [f"{indent}v = _convert{i}(v)"]


def _rooted(path: Path) -> tuple[str, Path]:
    """(the dict a path starts from: "data" or "meta", the keys below it)."""
    if path[0] == METADATA:
        return "meta", path[1:]
    return "data", path


def _tree_shaped(slots: Sequence[Slot]) -> bool:
    """Whether the captures land in distinct fields, none inside another.

    Then, on an event that holds none of their top-level fields, every rule of
    the module comes down to "create the objects on the way and set the field",
    which :func:`_fresh_tree` writes out. (Two captures into one field make a
    list; a capture into a field under another's is the "leave it" rule: both
    keep the careful path.)
    """
    paths = set()
    for _, _, path, _, _, via_event in slots:
        root, keys = _rooted(path)
        if not keys or (via_event and root != "meta"):
            return False
        paths.add((root, *keys))
    if len(paths) != len(slots):
        return False
    return not any(p[:n] in paths for p in paths for n in range(2, len(p)))


def _fresh_tree(slots: Sequence[Slot], namespace: dict[str, Any]) -> list[str]:
    """The branch for an event that holds none of the captures' top-level fields.

    Each object on the way to a field is created by the first capture that
    reaches it, in capture order, exactly as the walk below would create it;
    the objects are kept in local variables, so no capture looks up a key an
    earlier one created. A node that no earlier capture can have created is
    created without a check.
    """
    roots: dict[str, set[str]] = {"data": set(), "meta": set()}
    for _, _, path, _, _, _ in slots:
        root, keys = _rooted(path)
        roots[root].add(keys[0])
    names: dict[tuple[str, ...], str] = {("data",): "data", ("meta",): "meta"}
    touched: set[tuple[str, ...]] = set()
    body: list[str] = []
    checked: list[str] = []
    for i, (_, _, path, convert, _, _) in enumerate(slots):
        root, keys = _rooted(path)
        body.append(f"        v = groups[{i}]")
        body.append("        if v:")
        body.extend(_converted(i, convert, namespace, "            "))
        parent: tuple[str, ...] = (root,)
        for key in keys[:-1]:
            node = parent + (key,)
            if node not in names:
                names[node] = f"n{len(names)}"
            if node in touched:
                if names[node] not in checked:
                    checked.append(names[node])
                body.append(f"            if {names[node]} is None:")
                body.append(f"                {names[node]} = {names[parent]}[{key!r}] = {{}}")
            else:
                body.append(f"            {names[node]} = {names[parent]}[{key!r}] = {{}}")
            touched.add(node)
            parent = node
        body.append(f"            {names[parent]}[{keys[-1]!r}] = v")
    head = []
    test = []
    if roots["data"]:
        namespace["_fresh_data"] = frozenset(roots["data"]).isdisjoint
        test.append("_fresh_data(data)")
    if roots["meta"]:
        namespace["_fresh_meta"] = frozenset(roots["meta"]).isdisjoint
        head.append("    meta = event.metadata")
        test.append("_fresh_meta(meta)")
    head.append(f"    if {' and '.join(test)}:")
    head.extend(f"        {name} = None" for name in checked)
    return head + body + ["        return None"]


def _keep_unset(event: Event, path: Path) -> None:
    """``keep_empty_captures``: a capture that matched nothing leaves a null field (if none is there)."""
    if event.get_path(path) is None:
        event.set_path(path, None)


def _descend(node: dict[str, Any], key: str, child: Any) -> dict[str, Any]:
    """The dict under ``key``, replacing whatever non-object value was there."""
    if isinstance(child, dict):
        return child
    fresh: dict[str, Any] = {}
    node[key] = fresh
    return fresh


def _store_via_event(event: Event, path: Path, value: Any, overwrite: bool) -> None:
    if overwrite:
        event.set_path(path, value)
        return
    old = event.get_path(path)
    if old is None:
        event.set_path(path, value)
    elif isinstance(old, list):
        old.append(value)
    elif isinstance(old, str):
        event.set_path(path, [old, value])
