"""Rules for changing resources: RFC 7396 merge patch, immutable fields, audit diffs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.domain.changes import changed_fields, check_immutable, merge_patch
from catalogue.domain.errors import ImmutableField

NAMES = st.sampled_from(["a", "b", "c", "title", "keywords"])
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(NAMES, JSON, max_size=4)


# RFC 7396, Appendix A (the cases whose target and patch are objects).
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": "b"}, {}, {"a": "b"}),
        ({"a": 1}, {"a": {"b": None}}, {"a": {}}),
    ],
)
def test_merge_patch(target: dict[str, Any], patch: dict[str, Any], result: dict[str, Any]) -> None:
    assert merge_patch(target, patch) == result


@given(DOCUMENTS, DOCUMENTS)
def test_applying_a_patch_twice_changes_nothing_more(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@given(DOCUMENTS, DOCUMENTS)
def test_merge_patch_leaves_its_inputs_alone(target: dict[str, Any], patch: dict[str, Any]) -> None:
    before = (repr(target), repr(patch))
    merge_patch(target, patch)
    assert (repr(target), repr(patch)) == before


@given(DOCUMENTS, DOCUMENTS)
def test_a_patched_document_holds_the_patch_and_no_nulls_from_it(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    result = merge_patch(target, patch)
    for name, value in patch.items():
        if value is None:
            assert name not in result
        elif not isinstance(value, dict):
            assert result[name] == value


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"accessRights": "public"}, "accessRights"),
        ({"id": "other", "accessRights": "restricted"}, "id"),
        ({"id": "air", "accessRights": "restricted", "title": "New"}, None),
        ({"title": "New"}, None),
    ],
)
def test_check_immutable(patch: dict[str, Any], field: str | None) -> None:
    old = {"id": "air", "accessRights": "restricted", "title": "Air"}
    if field is None:
        check_immutable(old, patch, ("id", "accessRights"))
    else:
        with pytest.raises(ImmutableField) as error:
            check_immutable(old, patch, ("id", "accessRights"))
        assert error.value.field == field


def test_changed_fields_lists_each_difference_in_name_order() -> None:
    old = {"title": "Air", "keywords": ["a"], "modified": "1", "gone": 1}
    new = {"title": "Air", "keywords": ["b"], "modified": "2", "added": None, "new": 2}
    assert changed_fields(old, new, ignore=("modified",)) == {
        "gone": {"before": 1, "after": None},
        "keywords": {"before": ["a"], "after": ["b"]},
        "new": {"before": None, "after": 2},
    }
