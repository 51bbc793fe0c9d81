"""Replays recorded Logstash spec cases (see tests/conformance/data/) through logpipe's grok.

A case names an input event and the grok filters Logstash ran over it, with
Logstash's option names (``match => ["message", "%{X}"]`` or a hash, ``overwrite``,
``target`` ...), and lists expectations: what is read from the result, a matcher
and its arguments, as RSpec states them. The readers and matchers here follow
RSpec's and Logstash's meaning: ``include`` of a hash compares nested hashes
whole unless the spec says ``hash_including``; ``event.include?`` ignores
fields holding nil; ``to_s`` renders values as Ruby would.

A case may carry ``known_difference`` (the reason, see docs/compatibility.md)
with ``logpipe_expectations``: what logpipe gives instead, asserted in place of
the Logstash expectations that differ.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.filters.grok import GrokFilter
from tests.conformance.logstash_conf import build_filter as filter_from_conf

DATA = Path(__file__).with_name("data")
_MISSING = object()


KNOWN_DIFFERENCES = "known_differences.yaml"


def load_cases(suite: str) -> list[tuple[str, dict[str, Any]]]:
    """Every case of a suite; ``known_differences.yaml`` annotates cases by id."""
    folder = DATA / suite
    differences: dict[str, Any] = {}
    known = folder / KNOWN_DIFFERENCES
    if known.exists():
        differences = yaml.safe_load(known.read_text(encoding="utf-8")) or {}
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == KNOWN_DIFFERENCES:
            continue
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            case_id = f"{path.stem}: {case['id']}"
            if case_id in differences:
                case = {**case, "known_difference": differences.pop(case_id)}
                case_id += " [known difference]"
            cases.append((case_id, case))
    if differences:
        raise AssertionError(f"known differences for unknown cases: {sorted(differences)}")
    return cases


_filters: dict[str, GrokFilter] = {}


def build_filter(options: dict[str, Any], ecs: str | None) -> GrokFilter:
    """A grok filter from Logstash options, loaded as a ``.conf``; no mode given means
    ``disabled``, as the specs ran."""
    key = repr((sorted(options.items(), key=lambda kv: kv[0]), ecs))
    cached = _filters.get(key)
    if cached is None:
        conf_options = dict(options)
        conf_options.setdefault("ecs_compatibility", ecs or "disabled")
        built = filter_from_conf("grok", conf_options)
        assert isinstance(built, GrokFilter)
        cached = built
        _filters[key] = cached
    return cached


class Result(dict):  # type: ignore[type-arg]
    """An event's fields (``to_hash``); ``metadata`` holds ``@metadata``, which to_hash leaves out."""

    metadata: dict[str, Any]


def _with_files(value: Any, folder: str) -> Any:
    """Options naming ``$FILES`` (a case's pattern files) get the folder they were written to."""
    if isinstance(value, str):
        return value.replace("$FILES", folder)
    if isinstance(value, list):
        return [_with_files(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _with_files(v, folder) for k, v in value.items()}
    return value


def run_case_source(case: dict[str, Any], data: dict[str, Any],
                    filters: list[dict[str, Any]]) -> Result:
    files = case.get("files")
    if not files:
        return run_source(data, filters)
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            target = Path(folder, name)
            if text is None:
                target.mkdir()
            else:
                target.write_text(text, encoding="utf-8")
        return run_source(data, _with_files(filters, folder))


def run_source(data: dict[str, Any], filters: list[dict[str, Any]]) -> Result:
    event = Event(_copy(data))
    event.data.pop("@timestamp", None)
    event.data.setdefault("@version", "1")    # every Logstash event carries it
    for spec in filters:
        build_filter(spec["options"], spec.get("ecs_compatibility")).process([event])
    result = Result(event.data)
    result.metadata = event.metadata
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- reading the result ----------------------------------------------------------------
def _ruby_s(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return "[" + ", ".join(_ruby_inspect(v) for v in value) + "]"
    return str(value)


def _ruby_inspect(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "nil"
    return _ruby_s(value)


def read(result: dict[str, Any], ops: list[list[Any]]) -> Any:
    value: Any = result
    for op in ops:
        name, args = op[0], op[1:]
        if name == "get":
            key = args[0]
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int):
                value = value[key] if -len(value) <= key < len(value) else None
            elif isinstance(value, str) and isinstance(key, int):
                value = value[key] if -len(value) <= key < len(value) else None
            else:
                value = None
        elif name == "path":
            path = parse(args[0])
            if path and path[0] == "@metadata" and isinstance(value, Result):
                value = _get_path(value.metadata, "".join(f"[{k}]" for k in path[1:])) \
                    if len(path) > 1 else value.metadata
            else:
                value = _get_path(value, args[0])
        elif name == "keys":
            value = list(value) if isinstance(value, dict) else []
        elif name == "last":
            value = value[-1] if value else None
        elif name == "first":
            value = value[0] if value else None
        elif name == "to_s":
            value = _ruby_s(value)
        elif name == "to_i":
            value = _to_i(value)
        elif name == "to_f":
            value = float(value) if value is not None else 0.0
        elif name == "has":
            value = isinstance(value, dict) and args[0] in value
        elif name == "event":
            value = {k: v for k, v in value.items() if v is not None}
        else:
            raise AssertionError(f"unknown reader {name!r}")
    return value


def _to_i(value: Any) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    m = re.match(r"\s*[+-]?\d+", str(value or ""))
    return int(m.group()) if m else 0


def _get_path(value: Any, ref: str) -> Any:
    for key in parse(ref):
        if isinstance(value, dict):
            value = value.get(key, None)
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", key):
            i = int(key)
            value = value[i] if -len(value) <= i < len(value) else None
        else:
            return None
    return value


# --- matchers ---------------------------------------------------------------------------
def values_match(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and "__partial__" in expected:
        return isinstance(actual, dict) and all(
            k in actual and values_match(v, actual[k]) for k, v in expected["__partial__"].items())
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and set(actual) == set(expected)
                and all(values_match(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(values_match(e, a) for e, a in zip(expected, actual)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def _include(actual: Any, args: list[Any]) -> bool:
    for arg in args:
        if isinstance(actual, dict):
            if isinstance(arg, dict):
                if not all(k in actual and values_match(v, actual[k]) for k, v in arg.items()):
                    return False
            elif arg not in actual:
                return False
        elif isinstance(actual, list):
            if not any(values_match(arg, item) for item in actual):
                return False
        elif isinstance(actual, str):
            if not isinstance(arg, str) or arg not in actual:
                return False
        else:
            return False
    return True


_KINDS = {"Hash": dict, "Array": list, "String": str, "Float": float, "Integer": int,
          "Fixnum": int}


def matches(matcher: str, args: list[Any], actual: Any, result: dict[str, Any] | None) -> bool:
    if matcher == "include":
        return _include(actual, args)
    if matcher == "eq":
        return values_match(args[0], actual)
    if matcher == "truthy":
        return actual is not None and actual is not False
    if matcher == "falsey":
        return actual is None or actual is False
    if matcher == "empty":
        return actual is not None and len(actual) == 0
    if matcher == "kind":
        kind = _KINDS[args[0]]
        return isinstance(actual, kind) and not isinstance(actual, bool)
    if matcher == "start_with":
        return isinstance(actual, (str, list)) and actual[:len(args[0])] == args[0]
    if matcher == "end_with":
        return isinstance(actual, (str, list)) and len(actual) >= len(args[0]) \
            and actual[len(actual) - len(args[0]):] == args[0]
    if matcher == "contain_exactly":
        rest = list(actual or [])
        for arg in args:
            for i, item in enumerate(rest):
                if values_match(arg, item):
                    del rest[i]
                    break
            else:
                return False
        return not rest
    if matcher == "pass":
        return isinstance(actual, dict) and "tags" not in actual
    if matcher == "have_key":
        return isinstance(actual, dict) and args[0] in actual
    if matcher == "regexp":
        return isinstance(actual, str) and re.search(args[0], actual) is not None
    if matcher == "pattern_matches":
        data = run_source({"message": args[0]},
                          [{"options": {"match": ["message", f"%{{{actual}}}"]},
                            "ecs_compatibility": args[1] if len(args) > 1 else None}])
        return "tags" not in data
    if matcher == "only_namespaces":
        extra = set(actual) - {"@timestamp", "@version", "message"} - set(args)
        return not extra
    if matcher == "all":
        return all(matches(m["matcher"], m["args"], actual, result) for m in args)
    raise AssertionError(f"unknown matcher {matcher!r}")


def check(case: dict[str, Any]) -> list[str]:
    """The expectations of ``case`` that logpipe does not meet (empty: the case passes)."""
    failures = []
    expectations = case["expectations"]
    difference = case.get("known_difference")
    if difference:
        expectations = difference["logpipe_expectations"]
    results: dict[str, dict[str, Any]] = {}
    for item in expectations:
        if "read" in item:
            data = item.get("event", case.get("event"))
            filters = item.get("filters", case.get("filters"))
            key = repr((data, filters))
            if key not in results:
                results[key] = run_case_source(case, data, filters)
            result = results[key]
            actual = read(result, item["read"])
        else:
            result = None
            actual = item["value"]
        ok = matches(item["expect"], item["args"], actual, result)
        if item.get("negated"):
            ok = not ok
        if not ok:
            failures.append(f"{'not ' if item.get('negated') else ''}{item['expect']} "
                            f"{item['args']!r} on {item.get('read', 'value')}: got {actual!r}")
    return failures
