"""Filter expressions ``[?(...)]`` as AWS's JSONPath library (Jayway) evaluates them."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.asl.jsonpath import PathError, compile_path, evaluate

BOOKS = {
    "limit": 10,
    "books": [
        {"title": "Rees", "author": "Nigel Rees", "price": 8.95, "sizes": ["S", "M"]},
        {"title": "Waugh", "author": "Evelyn Waugh", "price": 12.99, "sizes": ["L"]},
        {"title": "Moby", "author": "Herman Melville", "price": 8.99, "isbn": "0-5", "sizes": []},
        {"title": "Rings", "author": "J. R. R. Tolkien", "price": 22.99, "isbn": "0-3"},
        {"title": "Count", "author": "Anon", "price": "10", "isbn": None},
    ],
}


@pytest.mark.parametrize(
    ("filter_", "titles"),
    [
        ("@.price < 10", ["Rees", "Moby"]),
        ("@.price >= 12.99", ["Waugh", "Rings"]),
        ("@.isbn", ["Moby", "Rings", "Count"]),
        ("!@.isbn", ["Rees", "Waugh"]),
        ("@.price < 10 && @.title == 'Moby'", ["Moby"]),
        ('@.price > 20 || @.title == "Rees"', ["Rees", "Rings"]),
        ("!(@.price > 10)", ["Rees", "Moby", "Count"]),
        ("(@.price < 9 || @.price > 20) && @.isbn", ["Moby", "Rings"]),
        ("@.title in ['Rees', 'Moby']", ["Rees", "Moby"]),
        ('@.title IN ["Rings"]', ["Rings"]),
        ("@.title nin ['Rees', 'Moby']", ["Waugh", "Rings", "Count"]),
        ("@.sizes subsetof ['S', 'M', 'L']", ["Rees", "Waugh", "Moby"]),
        ("@.sizes anyof ['M', 'L']", ["Rees", "Waugh"]),
        ("@.sizes noneof ['M']", ["Waugh", "Moby"]),
        ("@.sizes size 1", ["Waugh"]),
        ("@.title size 5", ["Waugh", "Rings", "Count"]),
        ("@.sizes empty true", ["Moby"]),
        ("@.sizes empty false", ["Rees", "Waugh"]),
        ("@.author =~ /.*REES/i", ["Rees"]),
        ("@.author =~ /Rees/", []),
        ("@.title =~ /M.*/", ["Moby"]),
        ("@.price =~ /8\\..*/", ["Rees", "Moby"]),
        ("@.price > $.limit", ["Waugh", "Rings"]),
        ("@.price <= $['limit']", ["Rees", "Moby"]),
        ("@.sizes.length() > 1", ["Rees"]),
        ("@.price == 10", ["Count"]),
        ("@.price == '8.95'", ["Rees"]),
        ("@.isbn == null", ["Count"]),
        ("@.isbn != '0-5'", ["Rees", "Waugh", "Rings", "Count"]),
        ("'M' in @.sizes", ["Rees"]),
        ("@.price === 10", []),
    ],
)
def test_filter_selects_as_jayway_does(filter_: str, titles: list[str]) -> None:
    assert evaluate(f"$.books[?({filter_})].title", BOOKS) == titles


@pytest.mark.parametrize(
    "text",
    [
        "$.books[?(@.price ~ 1)]",
        "$.books[?(@.price like 1)]",
        "$.books[?(@.title =~ /(/)]",
        "$.books[?(@.title in ['a')]",
        "$.books[?(@.price < 10 &&)]",
        "$.books[?((@.price < 10)]",
        "$.books[?('x')]",
    ],
)
def test_malformed_filter_is_rejected_naming_the_problem(text: str) -> None:
    with pytest.raises(PathError, match=r"books|filter"):
        compile_path(text)


def test_filter_on_an_object_tests_the_object_itself() -> None:
    # Jayway applies a filter to an array's items, and to an object as a whole.
    document: dict[str, Any] = {"bike": {"color": "red", "price": 19.95}}
    assert evaluate("$.bike[?(@.color == 'red')]", document) == [document["bike"]]
    assert evaluate("$.bike[?(@.color == 'blue')]", document) == []


def test_filter_after_deep_scan_finds_each_matching_object_once() -> None:
    assert evaluate("$..[?(@.price < 10)].title", BOOKS) == ["Rees", "Moby"]


@pytest.mark.parametrize(
    ("filter_", "titles"),
    [
        ("@.author =~ /Nigel R(e|a)es/", ["Rees"]),
        ("@.title =~ /[MR].*/", ["Rees", "Moby", "Rings"]),
        ("@.author =~ /.*'.*/", []),
        ("@.author =~ /.*\\]/", []),
    ],
)
def test_regex_with_brackets_parentheses_or_quotes_keeps_the_filter_whole(
    filter_: str, titles: list[str]
) -> None:
    assert evaluate(f"$.books[?({filter_})].title", BOOKS) == titles
