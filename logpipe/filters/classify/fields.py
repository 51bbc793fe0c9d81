"""Field readers for fields that are usually absent.

The classifier reads a dozen fields per event and most are missing from any
one event (an access line has no ``error.*``, an app log no ``url.*``).
``Event.get_path`` is tuned for present fields and pays for an exception on
absent ones; these readers walk with ``dict.get`` instead, for plain object
paths. Paths into ``@metadata`` or through list indexes use ``get_path``.
"""
from __future__ import annotations

from typing import Any, Callable

from logpipe.core.event import METADATA, Event
from logpipe.core.fieldref import parse
from logpipe.core.native import native_module

Reader = Callable[[Event], Any]


def reader(ref: str) -> Reader:
    path = parse(ref)
    if path[0] == METADATA or any(key.isdigit() for key in path):
        return lambda event: event.get_path(path)
    if len(path) == 1:
        key = path[0]
        return lambda event: event.data.get(key)
    if len(path) == 2:
        first, second = path

        def two(event: Event) -> Any:
            cur = event.data.get(first)
            return cur.get(second) if type(cur) is dict else None
        return two

    def walk(event: Event) -> Any:
        cur: Any = event.data
        for key in path:
            if type(cur) is not dict:
                return None
            cur = cur.get(key)
            if cur is None:
                return None
        return cur
    return walk


def fields_reader(refs: list[str]) -> Callable[[Event], tuple[Any, ...]]:
    """One function reading every field in ``refs`` at once, as :func:`reader` reads each.

    The classifier reads a dozen fields per event; read one by one, each pays a
    call and walks again from the top, and most are absent. Generated as one
    function over the paths' shared prefixes, an absent ``error`` or ``url``
    costs one ``dict.get`` for all the fields under it. Paths that :func:`reader`
    leaves to ``Event.get_path`` (into ``@metadata``, through list indexes) are
    read that way here too.
    """
    trie: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for i, ref in enumerate(refs):
        path = parse(ref)
        if path[0] == METADATA or any(key.isdigit() for key in path):
            namespace[f"_slow{i}"] = reader(ref)
            continue
        node = trie
        for depth, key in enumerate(path):
            leaves, children = node.setdefault(key, ([], {}))
            if depth == len(path) - 1:
                leaves.append(i)
            node = children
    src = ["def read(event):", "    data = event.data"]
    src += [f"    v{i} = None" for i in range(len(refs))]
    src += [f"    v{i} = _slow{i}(event)" for i in range(len(refs)) if f"_slow{i}" in namespace]
    counter = [0]

    def emit(parent: str, node: dict[str, Any], indent: str) -> None:
        for key, (leaves, children) in node.items():
            counter[0] += 1
            var = f"n{counter[0]}"
            src.append(f"{indent}{var} = {parent}.get({key!r})")
            src.extend(f"{indent}v{i} = {var}" for i in leaves)
            if children:
                src.append(f"{indent}if type({var}) is dict:")
                emit(var, children, indent + "    ")
    emit("data", trie, "    ")
    src.append("    return (" + "".join(f"v{i}, " for i in range(len(refs))) + ")")
    exec(compile("\n".join(src), "<classify field reader>", "exec"), namespace)  # noqa: S102
    read: Callable[[Event], tuple[Any, ...]] = namespace["read"]
    return read


def columns_reader(refs: list[str]) -> Callable[[list[Event]], list[tuple[Any, ...]]]:
    """A function reading every field in ``refs`` of many events: one tuple per field
    (``columns[i][j]`` is field ``i`` of event ``j``), as :func:`fields_reader` reads them.

    The native module reads plain object paths in one call for the whole batch
    (logpipe_native.classify_columns); paths into ``@metadata`` or through list
    indexes, or no native module, read event by event with :func:`fields_reader`.
    """
    layout = native_layout(refs)
    native = native_module()
    if layout is not None and native is not None:
        read_columns = native.classify_columns
        keys, shared, where = layout

        def read_native(events: list[Event]) -> list[tuple[Any, ...]]:
            columns = read_columns(events, keys, shared)
            return [columns[i] for i in where]
        return read_native
    read = fields_reader(refs)
    return lambda events: list(zip(*map(read, events)))


Layout = tuple[list[list[str]], list[int], list[int]]


def native_layout(refs: list[str]) -> Layout | None:
    """How the native column readers take ``refs``: (paths, shared, where), or None
    when some path is beyond them (into ``@metadata`` or through list indexes).

    Each distinct path is read once, in an order that puts shared prefixes side by
    side (``shared[i]``: the leading keys path ``i`` has in common with path
    ``i - 1``), so that the native walk looks each object up once per event; the
    column of ``refs[k]`` is native column ``where[k]``."""
    paths = [parse(ref) for ref in refs]
    if any(path[0] == METADATA or any(key.isdigit() for key in path) for path in paths):
        return None
    unique = sorted(set(paths))
    shared = [0] + [min(_common(a, b), len(a) - 1, len(b) - 1) for a, b in zip(unique, unique[1:])]
    return [list(path) for path in unique], shared, [unique.index(path) for path in paths]


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
