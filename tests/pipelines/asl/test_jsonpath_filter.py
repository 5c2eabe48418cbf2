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


NAMES = {"names": ["Åse", "bob", "٤٢", "42", "1+1", "a\rb", "O'Brien-Smith"]}


@pytest.mark.parametrize(
    ("regex", "matches"),
    [
        # Java's \w, \d and case-insensitive matching are ASCII without the u or U flag.
        (r"/\w+/", ["bob", "42"]),
        (r"/\w+/U", ["Åse", "bob", "٤٢", "42"]),
        (r"/\d+/", ["42"]),
        (r"/\d+/U", ["٤٢", "42"]),
        (r"/åse/i", []),
        (r"/åse/iu", ["Åse"]),
        # Java's '.' stops at \r as at \n.
        (r"/a.b/", []),
        (r"/a.b/s", ["a\rb"]),
        (r"/\p{L}+/", ["Åse", "bob"]),
        (r"/\p{Lu}\p{Ll}+/", ["Åse"]),
        (r"/\pN+/", ["٤٢", "42"]),
        (r"/[\p{L}'\p{Pd}]+/", ["Åse", "bob", "O'Brien-Smith"]),
        (r"/\P{L}+/", ["٤٢", "42", "1+1"]),
        (r"/\p{Alpha}+/", ["bob"]),
        (r"/\p{IsLetter}+/", ["Åse", "bob"]),
        (r"/\Q1+1\E/", ["1+1"]),
        (r"/(?<first>b)o\k<first>/", ["bob"]),
        (r"/a\x{0D}b/", ["a\rb"]),
    ],
)
def test_regex_is_read_as_java_reads_it(regex: str, matches: list[str]) -> None:
    assert evaluate(f"$.names[?(@ =~ {regex})]", NAMES) == matches


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        (r"/[a-z&&[^e]]+/", "intersects classes (&&)"),
        (r"/[a-z[0-9]]+/", "holds another class"),
        (r"/\p{IsLatin}+/", r"\p{IsLatin} is not supported"),
        (r"/\p{Alpha}+/U", r"\p{Alpha} under the U flag"),
        (r"/(?P<first>b)ob/", "(?P...) is Python's syntax"),
        (r"/\Gbob/", r"\G is not supported"),
        (r"/\j/", r"\j is not an escape Java knows"),
    ],
)
def test_regex_construct_python_cannot_match_as_java_does_is_refused_by_name(
    regex: str, construct: str
) -> None:
    with pytest.raises(PathError, match="unsupported regular expression") as raised:
        compile_path(f"$.names[?(@ =~ {regex})]")
    assert construct in str(raised.value)
