"""split and clone: the filters that make events, which must follow their origin."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from logpipe.core.event import Event
from logpipe.filters.clone import CloneFilter
from logpipe.filters.split import SplitFilter
from tests.unit.filters._filter_helpers import build, fields


def process(cls: Any, events: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    return [fields(e) for e in build(cls, **options).process([Event(e) for e in events])]


def test_split_lines_in_place_and_in_order() -> None:
    out = process(SplitFilter, [{"message": "a\nb\n\nc", "n": 1}, {"message": "z", "n": 2}])
    assert out == [{"message": "a", "n": 1}, {"message": "b", "n": 1},
                   {"message": "c", "n": 1}, {"message": "z", "n": 2}]


def test_split_custom_terminator_target_and_common_options() -> None:
    out = process(SplitFilter, [{"csv": "x,y"}], field="csv", terminator=",", target="item",
                  add_tag="split")
    assert out == [{"csv": "x,y", "item": "x", "tags": ["split"]},
                   {"csv": "x,y", "item": "y", "tags": ["split"]}]


def test_split_array_gives_independent_copies() -> None:
    f = build(SplitFilter, field="items")
    out = f.process([Event({"items": [{"id": 1}, {"id": 2}], "shared": {"k": 1}})])
    assert [e.data["items"] for e in out] == [{"id": 1}, {"id": 2}]
    out[0].data["shared"]["k"] = 9
    assert out[1].data["shared"]["k"] == 1


def test_split_leaves_missing_and_unsplit_text_and_tags_other_types() -> None:
    out = process(SplitFilter, [{"other": 1}, {"message": "one line"}, {"message": 5}],
                  add_tag="split")
    assert out == [{"other": 1}, {"message": "one line"},
                   {"message": 5, "tags": ["_split_type_failure"]}]


def test_clone_ecs_adds_tags_copies_follow_original() -> None:
    out = process(CloneFilter, [{"m": 1}, {"m": 2}], clones=["a", "b"], add_field={"copy": "yes"})
    assert out == [{"m": 1}, {"m": 1, "tags": ["a"], "copy": "yes"},
                   {"m": 1, "tags": ["b"], "copy": "yes"},
                   {"m": 2}, {"m": 2, "tags": ["a"], "copy": "yes"},
                   {"m": 2, "tags": ["b"], "copy": "yes"}]


def test_clone_without_ecs_sets_type() -> None:
    out = process(CloneFilter, [{"m": 1, "type": "orig"}], clones="copy",
                  ecs_compatibility="disabled")
    assert out == [{"m": 1, "type": "orig"}, {"m": 1, "type": "copy"}]


def test_clone_copies_metadata_deeply() -> None:
    events = build(CloneFilter, clones=["c"]).process([Event({"m": 1}, {"k": {"v": 1}})])
    events[1].metadata["k"]["v"] = 2
    assert events[0].metadata == {"k": {"v": 1}}


def test_clone_empty_list_and_required() -> None:
    assert process(CloneFilter, [{"m": 1}], clones=[]) == [{"m": 1}]
    with pytest.raises(ValidationError):
        CloneFilter.Config()


# --- cases of logstash-filter-split's spec -----------------------------------------------
def test_split_spec_trailing_terminator_and_tab() -> None:
    assert process(SplitFilter, [{"message": "big\n"}]) == [{"message": "big"}]
    assert [e["message"] for e in process(SplitFilter, [{"message": "big\tbird\tsesame street"}],
                                          terminator="\t")] == ["big", "bird", "sesame street"]


def test_split_spec_custom_field_leaves_others() -> None:
    out = process(SplitFilter, [{"custom": "big\nbird", "do_not_touch": "1\n2\n3"}],
                  field="custom")
    assert out == [{"custom": "big", "do_not_touch": "1\n2\n3"},
                   {"custom": "bird", "do_not_touch": "1\n2\n3"}]


def test_split_spec_arrays_skip_nulls_and_empties_keep_numbers() -> None:
    assert [e["array"] for e in process(SplitFilter, [{"array": ["big", None, "bird", None]}],
                                        field="array")] == ["big", "bird"]
    assert [e["element"] for e in process(SplitFilter, [{"array": [1, 2, "three", ""]}],
                                          field="array", target="element")] == [1, 2, "three"]
    assert process(SplitFilter, [{"array": ["single-element"], "u": 1}], field="array") == [
        {"array": "single-element", "u": 1}]
    assert process(SplitFilter, [{"array": []}], field="array") == []   # nothing to emit
