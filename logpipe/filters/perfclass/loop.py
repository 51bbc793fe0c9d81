"""The ``perfclass`` batch loop, written out for the filter's own sources.

A filter may have several duration sources, tried in order. Walking a tuple of
readers for every event (unpacking each, testing its kind) cost about as much
as all the rest of the loop, so the loop is generated once per filter with the
sources' reads written out in order, each the one or two ``dict`` operations
its shape needs: ``[@metadata][key]``, ``[outer][inner]`` in the data, or the
general reader for anything else. The rest of the loop is the same for every
filter and reads its settings from the filter.

What the loop must answer is :meth:`PerfClassFilter.process_each` (the
filter's tests hold it to that on every shape of event).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from logpipe.core.event import Event

if TYPE_CHECKING:
    from logpipe.filters.perfclass.filter import PerfClassFilter

Loop = Callable[["PerfClassFilter", list[Event]], list[Event]]

#: How a duration source is read (the filter's ``_IN_META``, ``_IN_DATA``, ``_GENERAL``).
IN_META, IN_DATA, GENERAL = range(3)

_HEAD = '''\
def loop(self, events):
    put_duration = self._put_duration
    get_method = self._get_method
    request_path = self._request_path
    memo = self._memo
    no_route = self._outcomes[-1]
    url_key = self._url_key
    method_keys = self._method_keys
    target_keys = self._target_keys
    target_outer, target_inner = target_keys if target_keys is not None else ("", "")
    tag_breach = self._tag_breach
    share = self.share_memo
    for event in events:
        data = event.data
'''

_BODY = '''\
        # to_nanoseconds, with its two common cases written out
        raw_type = type(raw)
        if raw_type is float and 0 <= raw and raw * factor < _INF:
            ns = round(raw * factor)
        elif raw_type is int and raw >= 0:
            ns = raw * factor
        else:
            found = to_nanoseconds(raw, unit)
            if found is None:
                if self._tag_failure:
                    event.add_tag(*self._tag_failure)
                continue
            ns = found
        # put_duration(event, ns), inline when the target's parent is a plain dict or absent
        if target_keys is not None:
            node = data.get(target_outer)
            if type(node) is dict:
                node[target_inner] = ns
            elif node is None:
                data[target_outer] = {target_inner: ns}
            else:
                put_duration(event, ns)
        else:
            put_duration(event, ns)
        # the path as it is written (the memo answers for it, query and all)
        if url_key is not None:
            url = data.get(_URL)
            if type(url) is dict:
                raw_path = url.get(url_key)
                if type(raw_path) is not str:
                    raw_path = url.get(_ORIGINAL_KEY)
                    if type(raw_path) is not str:
                        raw_path = None
            else:
                raw_path = request_path(event, cut=False)
        else:
            raw_path = request_path(event, cut=False)
        if raw_path is None:
            outcome = no_route
        else:
            remembered = memo.get(raw_path)
            if remembered is None:
                remembered = self._remember(raw_path)
            if type(remembered) is not dict:
                outcome = remembered
            else:
                # a path whose route depends on the method: read it
                if method_keys is not None:
                    node = data.get(method_keys[0])
                    if type(node) is dict:
                        node = node.get(method_keys[1])
                        method = node.get(method_keys[2]) if type(node) is dict else (
                            None if node is None else get_method(event))
                    else:
                        method = None if node is None else get_method(event)
                else:
                    method = get_method(event)
                if type(method) is not str:
                    method = None
                by_method = remembered.get(method)
                if by_method is None:
                    by_method = self._remember_method(raw_path, method, remembered)
                outcome = by_method
        _, fast, normal, slow, budget, perfs = outcome
        ms = ns / 1_000_000
        breach = ms > budget
        perf = perfs[(ms >= fast) + (ms >= normal) + (ms >= slow) + 4 * breach]
        if breach and tag_breach:
            event.add_tag(*tag_breach)
        existing = data.get(_PERF)
        if type(existing) is dict:
            existing.update(perf)
        else:
            data[_PERF] = perf if share else perf.copy()
    return events
'''


def _reads(readers: tuple[tuple[int, str, str, Any, int, str], ...]) -> tuple[str, dict[str, Any]]:
    """The loop's lines that set ``raw``, ``factor`` and ``unit`` from the first source
    that has a value (``continue`` when none has), and the names they use."""
    lines: list[str] = []
    names: dict[str, Any] = {}
    pad = " " * 8
    for i, (kind, outer, inner, read, factor, unit) in enumerate(readers):
        names.update({f"outer_{i}": outer, f"inner_{i}": inner, f"read_{i}": read,
                      f"factor_{i}": factor, f"unit_{i}": unit})
        if kind == IN_META:
            lines.append(f"{pad}raw = event.metadata.get(inner_{i})")
        elif kind == IN_DATA:
            lines += [f"{pad}node = data.get(outer_{i})",
                      f"{pad}if type(node) is dict:",
                      f"{pad}    raw = node.get(inner_{i})",
                      f"{pad}elif node is None:",
                      f"{pad}    raw = None",
                      f"{pad}else:",
                      f"{pad}    raw = read_{i}(event)"]
        else:
            lines.append(f"{pad}raw = read_{i}(event)")
        lines += [f"{pad}if raw is not None:",
                  f"{pad}    factor = factor_{i}",
                  f"{pad}    unit = unit_{i}",
                  f"{pad}else:"]
        pad += "    "
    lines.append(f"{pad}continue")
    return "\n".join(lines) + "\n", names


def build_loop(readers: tuple[tuple[int, str, str, Any, int, str], ...],
               names: dict[str, Any]) -> Loop:
    """The filter's batch loop for these sources; ``names`` gives the module-level
    helpers and constants it uses (``to_nanoseconds``, ``_INF``, ``_URL``, ...)."""
    reads, read_names = _reads(readers)
    namespace: dict[str, Any] = {**names, **read_names}
    source = _HEAD + reads + _BODY
    exec(compile(source, "<perfclass loop>", "exec"), namespace)  # noqa: S102 - our own text
    loop: Loop = namespace["loop"]
    return loop
