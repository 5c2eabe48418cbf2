"""The ItemStore contract: every test runs on SQLite, moto and DynamoDB Local alike."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable

import pytest

from catalogue.domain.errors import AlreadyExists, InvalidValue, NotFound, PreconditionFailed
from catalogue.store.base import (
    MAX_ITEM_BYTES,
    MAX_PK_BYTES,
    MAX_SEARCH_TERMS,
    MAX_SK_BYTES,
    MAX_TERM_BYTES,
    MAX_TRANSACTION_OPS,
    Check,
    CountListed,
    Create,
    Delete,
    Find,
    Item,
    ItemStore,
    Op,
    Put,
    PutNewer,
    Query,
    Replace,
    query_all,
)

VALUES: Item = {
    "text": "Blåbærsyltetøy på Grünerløkka — 東京 🚲",
    "empty_text": "",
    "integer": 42,
    "negative": -7,
    "big": 12345678901234567890,
    "zero": 0,
    "floats": [1.5, -0.25, 0.1, 3.141592653589793, 1e-10, 6.02214076e-23, 2.5e-5],
    "true": True,
    "false": False,
    "nothing": None,
    "empty_list": [],
    "empty_object": {},
    "nested": {"a": [1, {"b": [None, "c", {"d": 2.75, "e": []}]}], "é": {"ü": "ø"}},
}


def create(store: ItemStore, pk: str, sk: str, **data: object) -> None:
    store.write(Create({"pk": pk, "sk": sk, **data}))


def read_pages(read: Callable[[str | None], object]) -> tuple[list[Item], int]:
    """Follow cursors to the end; return every item read and the number of pages."""
    items: list[Item] = []
    cursor, pages = None, 0
    while True:
        page = read(cursor)
        pages += 1
        items.extend(page.items)  # type: ignore[attr-defined]
        cursor = page.next_cursor  # type: ignore[attr-defined]
        if cursor is None:
            return items, pages
        assert pages < 100, "cursor never ends"


# -- single items ------------------------------------------------------------------------


def test_created_item_round_trips_every_value_type(store: ItemStore) -> None:
    store.write(Create({"pk": "p", "sk": "s", **VALUES}))

    item = store.get("p", "s")

    assert item == {"pk": "p", "sk": "s", "rev": 1, **VALUES}
    assert all(isinstance(number, float) for number in item["floats"])
    assert isinstance(item["integer"], int) and isinstance(item["true"], bool)


# Integers as wide as a DynamoDB number holds (38 digits), past 64 bits both ways, beside
# digits in text that look like one.
WIDE_INTEGERS: Item = {
    "past_u64": 2**64,
    "below_i64": -(2**63) - 1,
    "digits_38": 10**37 + 1,
    "negative_30": -(10**29) - 7,
    "nested": {"list": [2**70, 1.5, "12345678901234567890123"]},
    "text": "a 19-digit run 1234567890123456789 in text",
}


def test_integers_past_64_bits_round_trip_as_integers(store: ItemStore) -> None:
    store.write(Create({"pk": "p", "sk": "s", **WIDE_INTEGERS}))
    create(store, "p", "t", number=1)

    read = [
        store.get("p", "s"),
        store.get_many([("p", "s"), ("p", "t")])[0],
        store.query(Query("p"), limit=10).items[0],
    ]

    for item in read:
        assert item == {"pk": "p", "sk": "s", "rev": 1, **WIDE_INTEGERS}
        assert all(type(item[name]) is int for name in ("past_u64", "below_i64", "digits_38"))
        assert type(item["nested"]["list"][0]) is int


# The edges of what a DynamoDB number holds: 38 significant digits, magnitudes from 1E-130
# to 9.99...E+125.
EDGE_NUMBERS: Item = {"huge": 10**125, "tiny": 1e-130, "wide": -(10**37 + 1), "float": -2.5e-100}


def test_numbers_at_the_edges_of_what_dynamodb_holds_round_trip(store: ItemStore) -> None:
    store.write(Create({"pk": "p", "sk": "s", **EDGE_NUMBERS}))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "rev": 1, **EDGE_NUMBERS}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("digits", 10**38 + 1),
        ("huge", 10**126),
        ("nested", {"preview": [1, {"mean": 1.5e300}]}),
        ("tiny", 1e-131),
    ],
)
def test_a_number_dynamodb_cannot_hold_is_invalid_value_naming_its_field(
    store: ItemStore, name: str, value: object
) -> None:
    with pytest.raises(InvalidValue) as refused:
        store.transact(
            [Create({"pk": "p", "sk": "other"}), Create({"pk": "p", "sk": "s", name: value})]
        )

    assert refused.value.field == name
    assert store.query(Query("p"), limit=5).items == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("schema", {"primaryKey": {"": "id"}}),
        ("rows", [["a", {"x": [{"": None}]}]]),
        ("", "an attribute without a name"),
    ],
)
def test_an_object_with_an_empty_key_is_invalid_value_naming_its_field(
    store: ItemStore, name: str, value: object
) -> None:
    # DynamoDB takes no empty attribute name, in a map either; empty strings as values, and
    # empty lists and maps, are kept (VALUES).
    with pytest.raises(InvalidValue) as refused:
        store.transact(
            [Create({"pk": "p", "sk": "other"}), Create({"pk": "p", "sk": "s", name: value})]
        )

    assert refused.value.field == name
    assert "empty" in refused.value.reason
    assert store.query(Query("p"), limit=5).items == []


# From 2**53 on every float is a whole number, and a JSON body's 1.2345678901234567e19 is
# read as one; DynamoDB keeps numbers as decimals, so the number stored is the integer its
# decimal text names, not the float's binary value (12345678901234567168).
WHOLE_FLOATS: Item = {
    "past_2_53": 1.2345678901234567e19,
    "from_2_53": float(2**53),
    "negative": -9.007199254740996e15,
    "power": 1e100,
    "nested": {"list": [1.2345678901234567e19, {"map": 3e25}], "small": 2.5},
}
WHOLE_FLOATS_STORED: Item = {
    "past_2_53": 12345678901234567000,
    "from_2_53": 2**53,
    "negative": -9007199254740996,
    "power": 10**100,
    "nested": {"list": [12345678901234567000, {"map": 3 * 10**25}], "small": 2.5},
}


def test_whole_floats_past_2_53_are_kept_as_the_integer_their_text_names(
    store: ItemStore,
) -> None:
    store.write(Create({"pk": "p", "sk": "s", **WHOLE_FLOATS}))
    store.write(Put({"pk": "p", "sk": "t", "value": 1.2345678901234567e19}))

    for item in (store.get("p", "s"), store.query(Query("p"), limit=1).items[0]):
        assert item == {"pk": "p", "sk": "s", "rev": 1, **WHOLE_FLOATS_STORED}
        assert type(item["past_2_53"]) is int
        assert type(item["nested"]["list"][0]) is int
    assert store.get("p", "t")["value"] == 12345678901234567000


# A whole float keeps its type: a client that sent 2.0 reads 2.0 back, as a float, on every
# store (DynamoDB keeps numbers as decimals and answers "2").
WHOLE_FLOATS_BELOW_2_53: Item = {
    "two": 2.0,
    "negative": -40.0,
    "zero": 0.0,
    "largest": float(2**53 - 1),
    "nested": {"list": [1.0, 1, {"map": 3.0, "int": 3}], "empty": {}, "mixed": [2.5, 7.0]},
}


def test_whole_floats_below_2_53_come_back_as_floats(store: ItemStore) -> None:
    item = {"pk": "p", "sk": "s", "gsi1pk": "g", "gsi1sk": "s", **WHOLE_FLOATS_BELOW_2_53}
    store.write(Create(item))
    store.write(Put({"pk": "p", "sk": "t", "value": 5.0, "list": [5.0, 5]}))

    read = [
        store.get("p", "s"),
        store.get_many([("p", "s")])[0],
        store.query(Query("p"), limit=1).items[0],
        store.query(Query("g", index="gsi1"), limit=1).items[0],
    ]

    for found in read:
        assert found == {**item, "rev": 1}
        assert all(type(found[name]) is float for name in ("two", "negative", "zero", "largest"))
        listed = found["nested"]["list"]
        assert [type(listed[0]), type(listed[1])] == [float, int]
        assert [type(listed[2]["map"]), type(listed[2]["int"])] == [float, int]
        assert type(found["nested"]["mixed"][1]) is float
    other = store.get("p", "t")
    assert [type(other["value"]), *map(type, other["list"])] == [float, float, int]


def test_negative_zero_is_kept_as_zero_on_every_store(store: ItemStore) -> None:
    # DynamoDB has no negative zero: it answers 0 for -0.0.
    store.write(Create({"pk": "p", "sk": "s", "value": -0.0, "list": [-0.0]}))

    item = store.get("p", "s")

    assert repr(item["value"]) == "0.0" and repr(item["list"][0]) == "0.0"


def test_whole_floats_count_towards_the_size_limit_on_every_store(store: ItemStore) -> None:
    # DynamoDB keeps where an item's whole floats are beside them, in the item itself.
    fitting = {"pk": "p", "sk": "fits", "readings": [1.0] * 20_000}
    too_large = {"pk": "p", "sk": "s", "title": "Wide", "readings": [1.0] * 60_000}

    store.write(Create(fitting))
    with pytest.raises(InvalidValue) as refused:
        store.write(Create(too_large))

    assert refused.value.field == "readings"
    assert str(MAX_ITEM_BYTES) in refused.value.reason
    assert store.get("p", "s") is None
    assert store.get("p", "fits")["readings"] == fitting["readings"]


def test_get_of_missing_item_is_none(store: ItemStore) -> None:
    create(store, "p", "s")

    assert store.get("p", "other") is None
    assert store.get("other", "s") is None


def test_create_of_existing_key_is_already_exists_naming_the_key(store: ItemStore) -> None:
    create(store, "p", "s", value=1)

    with pytest.raises(AlreadyExists) as raised:
        create(store, "p", "s", value=2)

    assert raised.value.key == ("p", "s")
    assert store.get("p", "s")["value"] == 1


def test_store_owns_rev_whatever_the_item_says(store: ItemStore) -> None:
    store.write(Create({"pk": "p", "sk": "s", "rev": 99}))

    assert store.get("p", "s")["rev"] == 1


def test_replace_increments_rev_and_overwrites_every_attribute(store: ItemStore) -> None:
    create(store, "p", "s", old="x", kept="y")

    store.write(Replace({"pk": "p", "sk": "s", "kept": "z"}, rev=1))
    store.write(Replace({"pk": "p", "sk": "s", "kept": "w", "rev": 1}, rev=2))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "kept": "w", "rev": 3}


def test_replace_with_stale_rev_is_precondition_failed(store: ItemStore) -> None:
    create(store, "p", "s", value=1)
    store.write(Replace({"pk": "p", "sk": "s", "value": 2}, rev=1))

    with pytest.raises(PreconditionFailed) as raised:
        store.write(Replace({"pk": "p", "sk": "s", "value": 3}, rev=1))

    assert raised.value.key == ("p", "s")
    assert store.get("p", "s") == {"pk": "p", "sk": "s", "value": 2, "rev": 2}


def test_replace_of_missing_item_is_not_found(store: ItemStore) -> None:
    with pytest.raises(NotFound) as raised:
        store.write(Replace({"pk": "p", "sk": "s"}, rev=1))

    assert raised.value.key == ("p", "s")
    assert store.get("p", "s") is None


def test_put_creates_at_rev_1_and_overwrites_at_the_next_rev(store: ItemStore) -> None:
    store.write(Put({"pk": "p", "sk": "s", "value": 1}))
    assert store.get("p", "s") == {"pk": "p", "sk": "s", "value": 1, "rev": 1}
    store.write(Replace({"pk": "p", "sk": "s", "value": 2}, rev=1))
    store.write(Put({"pk": "p", "sk": "s", "value": 3}))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "value": 3, "rev": 3}


def test_put_newer_creates_and_overwrites_only_with_a_later_value(store: ItemStore) -> None:
    at = "2026-06-01T12:00:00Z"
    store.write(PutNewer({"pk": "p", "sk": "s", "at": at, "value": 1}, "at"))
    store.write(PutNewer({"pk": "p", "sk": "s", "at": "2026-06-01T12:05:00Z", "value": 2}, "at"))

    assert store.get("p", "s") == {
        "pk": "p", "sk": "s", "at": "2026-06-01T12:05:00Z", "value": 2, "rev": 2
    }  # fmt: skip


@pytest.mark.parametrize("late", ["2026-06-01T11:59:59Z", "2026-06-01T12:00:00Z"])
def test_put_newer_with_an_earlier_or_equal_value_fails_and_keeps_the_item(
    store: ItemStore, late: str
) -> None:
    store.write(PutNewer({"pk": "p", "sk": "s", "at": "2026-06-01T12:00:00Z", "v": 1}, "at"))

    with pytest.raises(PreconditionFailed) as raised:
        store.write(PutNewer({"pk": "p", "sk": "s", "at": late, "v": 2}, "at"))

    assert raised.value.key == ("p", "s")
    assert store.get("p", "s") == {
        "pk": "p",
        "sk": "s",
        "at": "2026-06-01T12:00:00Z",
        "v": 1,
        "rev": 1,
    }


def test_put_newer_compares_numbers_as_numbers(store: ItemStore) -> None:
    store.write(PutNewer({"pk": "p", "sk": "s", "at": 9}, "at"))
    store.write(PutNewer({"pk": "p", "sk": "s", "at": 10}, "at"))

    with pytest.raises(PreconditionFailed):
        store.write(PutNewer({"pk": "p", "sk": "s", "at": 9.5}, "at"))
    assert store.get("p", "s")["at"] == 10


@pytest.mark.parametrize("stored", [12345678901234567000, 12345678901234567100])
def test_put_newer_compares_a_float_from_2_53_as_the_number_stored(
    store: ItemStore, stored: int
) -> None:
    # The float 1.2345678901234567e19 is stored as 12345678901234567000 (the number its
    # text names), not its binary value 12345678901234567168: it is not after either.
    store.write(PutNewer({"pk": "p", "sk": "s", "at": stored}, "at"))

    with pytest.raises(PreconditionFailed):
        store.write(PutNewer({"pk": "p", "sk": "s", "at": 1.2345678901234567e19, "v": 2}, "at"))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "at": stored, "rev": 1}


@pytest.mark.parametrize(("stored", "new"), [(1780000000, "2026-06-01T12:00:00Z"), ("b", 1)])
def test_put_newer_over_a_value_of_another_kind_overwrites_it(
    store: ItemStore, stored: object, new: object
) -> None:
    # A string and a number do not compare: the stored value was written under another
    # ordering (an event source whose time field changed type), and counts as before.
    store.write(PutNewer({"pk": "p", "sk": "s", "at": stored, "v": 1}, "at"))
    store.write(PutNewer({"pk": "p", "sk": "s", "at": new, "v": 2}, "at"))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "at": new, "v": 2, "rev": 2}


def test_write_each_applies_every_operation_its_condition_allows(store: ItemStore) -> None:
    store.write(PutNewer({"pk": "p", "sk": "newer", "at": "b"}, "at"))
    store.write(Create({"pk": "p", "sk": "taken"}))

    results = store.write_each(
        [
            PutNewer({"pk": "p", "sk": "new", "at": "a"}, "at"),
            PutNewer({"pk": "p", "sk": "newer", "at": "a"}, "at"),
            Create({"pk": "p", "sk": "taken", "v": 2}),
            PutNewer({"pk": "p", "sk": "later", "at": "c", "v": 3}, "at"),
        ]
    )

    assert [type(result).__name__ if result else None for result in results] == [
        None,
        "PreconditionFailed",
        "AlreadyExists",
        None,
    ]
    assert results[1].key == ("p", "newer")  # type: ignore[union-attr]
    assert store.get("p", "newer")["at"] == "b"  # type: ignore[index]
    assert "v" not in store.get("p", "taken")  # type: ignore[operator]
    assert store.get("p", "later")["v"] == 3  # type: ignore[index]
    assert store.get("p", "new")["rev"] == 1  # type: ignore[index]


def test_put_newer_failing_in_a_transaction_writes_nothing(store: ItemStore) -> None:
    store.write(PutNewer({"pk": "p", "sk": "s", "at": "b"}, "at"))

    with pytest.raises(PreconditionFailed):
        store.transact(
            [Create({"pk": "p", "sk": "other"}), PutNewer({"pk": "p", "sk": "s", "at": "a"}, "at")]
        )

    assert store.get("p", "other") is None


def test_put_newer_refuses_an_attribute_it_cannot_compare(store: ItemStore) -> None:
    with pytest.raises(ValueError):
        store.write(PutNewer({"pk": "p", "sk": "s", "at": None}, "at"))
    with pytest.raises(ValueError):
        store.write(PutNewer({"pk": "p", "sk": "s", "at": "x"}, "rev"))


def test_racing_put_newer_writers_leave_the_latest_value(store: ItemStore) -> None:
    count = 6
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            store.write(PutNewer({"pk": "p", "sk": "s", "at": f"2026-01-0{index + 1}"}, "at"))
        except PreconditionFailed:
            pass  # an older value lost the race: as it should
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.get("p", "s")["at"] == f"2026-01-0{count}"


def test_delete_removes_the_item(store: ItemStore) -> None:
    create(store, "p", "a")
    create(store, "p", "b")
    store.write(Replace({"pk": "p", "sk": "b"}, rev=1))

    store.write(Delete("p", "a"))
    store.write(Delete("p", "b", rev=2))

    assert store.get("p", "a") is None and store.get("p", "b") is None


def test_delete_of_missing_item_is_not_found(store: ItemStore) -> None:
    with pytest.raises(NotFound) as raised:
        store.write(Delete("p", "s"))

    assert raised.value.key == ("p", "s")


def test_delete_with_stale_rev_is_precondition_failed(store: ItemStore) -> None:
    create(store, "p", "s")
    store.write(Replace({"pk": "p", "sk": "s"}, rev=1))

    with pytest.raises(PreconditionFailed) as raised:
        store.write(Delete("p", "s", rev=1))

    assert raised.value.key == ("p", "s")
    assert store.get("p", "s") is not None


def test_check_passes_or_fails_without_writing(store: ItemStore) -> None:
    create(store, "p", "s", value=1)

    store.write(Check("p", "s"))
    store.write(Check("p", "s", rev=1))
    with pytest.raises(PreconditionFailed):
        store.write(Check("p", "s", rev=2))
    with pytest.raises(NotFound):
        store.write(Check("p", "missing"))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "value": 1, "rev": 1}


def test_check_expects_attribute_values_and_absent_attributes(store: ItemStore) -> None:
    create(store, "p", "s", incarnation="a", deleting=True)

    store.write(Check("p", "s", expect={"incarnation": "a", "missing": None}))
    for expect in ({"incarnation": "b"}, {"deleting": None}, {"missing": "x"}):
        with pytest.raises(PreconditionFailed) as raised:
            store.write(Check("p", "s", expect=expect))
        assert raised.value.key == ("p", "s")
    with pytest.raises(NotFound):
        store.write(Check("p", "missing", expect={"deleting": None}))


def test_expect_compares_a_float_as_the_number_stored(store: ItemStore) -> None:
    # 1.2345678901234567e19 is stored as 12345678901234567000, not its binary value.
    create(store, "p", "s", big=12345678901234567000, odd=12345678901234567168, whole=2.0)

    store.write(Check("p", "s", expect={"big": 1.2345678901234567e19, "whole": 2}))
    store.write(Check("p", "s", expect={"whole": 2.0}))
    for expect in ({"odd": 1.2345678901234567e19}, {"whole": 2.5}):
        with pytest.raises(PreconditionFailed):
            store.write(Check("p", "s", expect=expect))


def test_expect_never_takes_a_boolean_for_a_number(store: ItemStore) -> None:
    create(store, "p", "s", flag=True, one=1, zero=0, off=False)

    store.write(Check("p", "s", expect={"flag": True, "one": 1, "zero": 0, "off": False}))
    for expect in ({"flag": 1}, {"one": True}, {"zero": False}, {"off": 0}):
        with pytest.raises(PreconditionFailed):
            store.write(Check("p", "s", expect=expect))


def test_a_failed_expect_in_a_transaction_writes_nothing(store: ItemStore) -> None:
    create(store, "parent", "s", deleting=True)

    with pytest.raises(PreconditionFailed) as raised:
        store.transact(
            [
                Check("parent", "s", expect={"deleting": None}),
                Create({"pk": "parent", "sk": "child"}),
            ]
        )

    assert raised.value.key == ("parent", "s")
    assert store.get("parent", "child") is None


def test_replace_and_delete_expect_attributes_even_at_the_same_rev(store: ItemStore) -> None:
    # An item deleted and made again starts at rev 1 again: only ``expect`` tells them apart.
    create(store, "p", "s", incarnation="old")
    store.write(Delete("p", "s"))
    create(store, "p", "s", incarnation="new")

    with pytest.raises(PreconditionFailed):
        store.write(Replace({"pk": "p", "sk": "s", "x": 1}, rev=1, expect={"incarnation": "old"}))
    with pytest.raises(PreconditionFailed):
        store.write(Delete("p", "s", rev=1, expect={"incarnation": "old"}))
    assert store.get("p", "s") == {"pk": "p", "sk": "s", "incarnation": "new", "rev": 1}

    store.write(Replace({"pk": "p", "sk": "s", "x": 1}, rev=1, expect={"incarnation": "new"}))
    store.write(Delete("p", "s", rev=2, expect={"x": 1}))
    assert store.get("p", "s") is None


@pytest.mark.parametrize(
    "expect", [{"rev": 1}, {"pk": "p"}, {"": 1}, {"x": [1]}, ["x"], {"x": float("nan")}]
)
def test_unusable_expect_is_value_error(store: ItemStore, expect: object) -> None:
    create(store, "p", "s")
    with pytest.raises(ValueError):
        store.write(Check("p", "s", expect=expect))  # type: ignore[arg-type]


def test_creates_racing_a_parent_being_marked_never_land_under_the_mark(store: ItemStore) -> None:
    # The shape of every cascade delete: a child create checks its parent unmarked in its
    # own transaction, so once the mark is written no child can appear beside it.
    for round_ in range(5):
        parent = f"parent{round_}"
        create(store, parent, "s")

        def attempt(index: int, parent: str = parent) -> None:
            if index == 0:
                store.write(Replace({"pk": parent, "sk": "s", "deleting": True}, rev=1))
                return
            store.transact(
                [
                    Check(parent, "s", expect={"deleting": None}),
                    Create({"pk": parent, "sk": f"child{index}"}),
                ]
            )

        outcomes = race(6, attempt)

        assert outcomes[0] is None
        made = {item["sk"] for item in store.query(Query(parent, prefix="child"), limit=10).items}
        failed = {f"child{index}" for index in range(1, 6) if outcomes[index] is not None}
        assert made | failed == {f"child{index}" for index in range(1, 6)}
        assert not made & failed
        assert all(
            isinstance(outcomes[index], PreconditionFailed)
            for index in range(1, 6)
            if outcomes[index] is not None
        )
        # Children read after the mark are all there are: none can be created later.
        with pytest.raises(PreconditionFailed):
            store.transact(
                [
                    Check(parent, "s", expect={"deleting": None}),
                    Create({"pk": parent, "sk": "late"}),
                ]
            )


@pytest.mark.parametrize(
    "item",
    [
        {"pk": "", "sk": "s"},
        {"pk": "p", "sk": ""},
        {"pk": "p"},
        {"pk": 1, "sk": "s"},
        {"pk": "p", "sk": "s", "gsi1pk": ""},
        {"pk": "p", "sk": "s", "gsi1sk": 5},
    ],
)
def test_item_with_unusable_keys_is_value_error(store: ItemStore, item: Item) -> None:
    with pytest.raises(ValueError):
        store.write(Create(item))


@pytest.mark.parametrize(
    "read",
    [
        lambda store: store.get("", "s"),
        lambda store: store.get("p", ""),
        lambda store: store.get_many([("p", "s"), ("p", "")]),
        lambda store: store.query(Query(""), limit=1),
        lambda store: store.search("", "word", limit=1),
    ],
)
def test_read_with_unusable_keys_is_value_error(
    store: ItemStore, read: Callable[[ItemStore], object]
) -> None:
    with pytest.raises(ValueError):
        read(store)


def test_get_many_returns_existing_items_in_the_order_asked(store: ItemStore) -> None:
    for sk in ("a", "b", "c"):
        create(store, "p", sk, name=sk)

    items = store.get_many([("p", "c"), ("p", "missing"), ("q", "a"), ("p", "a")])

    assert [item["name"] for item in items] == ["c", "a"]
    assert store.get_many([]) == []


def test_get_many_reads_more_keys_than_one_batch(store: ItemStore) -> None:
    keys = [("p", f"{index:03}") for index in range(130)]
    for start in range(0, len(keys), 50):
        store.transact([Create({"pk": pk, "sk": sk}) for pk, sk in keys[start : start + 50]])

    items = store.get_many(list(reversed(keys)))

    assert [item["sk"] for item in items] == [sk for _, sk in reversed(keys)]


# -- transactions ------------------------------------------------------------------------


def test_transaction_applies_every_operation(store: ItemStore) -> None:
    create(store, "p", "replace")
    create(store, "p", "delete")
    create(store, "p", "check")

    store.transact(
        [
            Create({"pk": "p", "sk": "new"}),
            Replace({"pk": "p", "sk": "replace", "value": 1}, rev=1),
            Put({"pk": "p", "sk": "put"}),
            Delete("p", "delete", rev=1),
            Check("p", "check", rev=1),
        ]
    )

    assert [item["sk"] for item in query_all(store, Query("p"))] == [
        "check",
        "new",
        "put",
        "replace",
    ]
    assert store.get("p", "replace")["rev"] == 2


@pytest.mark.parametrize(
    ("ops", "error", "key"),
    [
        (
            [Create({"pk": "p", "sk": "new"}), Create({"pk": "p", "sk": "existing"})],
            AlreadyExists,
            ("p", "existing"),
        ),
        (
            [Create({"pk": "p", "sk": "new"}), Replace({"pk": "p", "sk": "existing"}, rev=7)],
            PreconditionFailed,
            ("p", "existing"),
        ),
        (
            [Replace({"pk": "p", "sk": "missing"}, rev=1), Create({"pk": "p", "sk": "existing"})],
            NotFound,
            ("p", "missing"),
        ),
        (
            [Create({"pk": "p", "sk": "existing"}), Delete("p", "missing")],
            AlreadyExists,
            ("p", "existing"),
        ),
        (
            [Put({"pk": "p", "sk": "new"}), Check("p", "existing", rev=2), Delete("p", "x")],
            PreconditionFailed,
            ("p", "existing"),
        ),
        (
            [Check("p", "missing"), Check("p", "existing", rev=2)],
            NotFound,
            ("p", "missing"),
        ),
        (
            [Create({"pk": "p", "sk": "new"}), Check("p", "existing"), Check("p", "missing")],
            NotFound,
            ("p", "missing"),
        ),
    ],
)
def test_failed_transaction_writes_nothing_and_names_the_first_failing_operation(
    store: ItemStore, ops: list[Op], error: type[Exception], key: tuple[str, str]
) -> None:
    create(store, "p", "existing", value=1)

    with pytest.raises(error) as raised:
        store.transact(ops)

    assert raised.value.key == key  # type: ignore[attr-defined]
    assert list(query_all(store, Query("p"))) == [
        {"pk": "p", "sk": "existing", "value": 1, "rev": 1}
    ]


def test_transaction_with_two_operations_on_one_item_is_value_error(store: ItemStore) -> None:
    with pytest.raises(ValueError):
        store.transact([Create({"pk": "p", "sk": "s"}), Check("p", "s")])

    assert store.get("p", "s") is None


def test_transaction_of_the_maximum_size_applies(store: ItemStore) -> None:
    store.transact(
        [Create({"pk": "p", "sk": f"{index:03}"}) for index in range(MAX_TRANSACTION_OPS)]
    )

    assert len(list(query_all(store, Query("p")))) == MAX_TRANSACTION_OPS


def test_transaction_over_the_maximum_size_is_value_error(store: ItemStore) -> None:
    with pytest.raises(ValueError):
        store.transact(
            [Create({"pk": "p", "sk": f"{index:03}"}) for index in range(MAX_TRANSACTION_OPS + 1)]
        )
    with pytest.raises(ValueError):
        store.transact([])

    assert store.query(Query("p"), limit=1).items == []


# Two bytes of UTF-8 each: an item is measured in bytes, as DynamoDB measures it.
WIDE = "ø"


def test_an_item_up_to_the_size_limit_is_stored(store: ItemStore) -> None:
    blob = WIDE * ((MAX_ITEM_BYTES - 100) // 2)
    store.write(Create({"pk": "p", "sk": "s", "blob": blob}))

    assert store.get("p", "s") == {"pk": "p", "sk": "s", "blob": blob, "rev": 1}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("blob", WIDE * (MAX_ITEM_BYTES // 2 + 10)),
        # Each element of a list costs a byte besides its own: 140,000 x 3 bytes.
        ("names", ["ab"] * 140_000),
        (
            "schema",
            {"fields": [{"name": f"c{index}", "title": "x" * 400} for index in range(1000)]},
        ),
    ],
)
def test_an_item_over_the_size_limit_is_invalid_value_naming_its_largest_field(
    store: ItemStore, name: str, value: object
) -> None:
    store.write(Create({"pk": "p", "sk": "kept", "note": "before"}))
    big = {"pk": "p", "sk": "s", "title": "Wide", name: value}

    with pytest.raises(InvalidValue) as created:
        store.transact([Create({"pk": "p", "sk": "other"}), Create(big)])
    with pytest.raises(InvalidValue) as replaced:
        store.write(Replace({**big, "sk": "kept"}, rev=1))

    for error in (created.value, replaced.value):
        assert error.field == name
        assert str(MAX_ITEM_BYTES) in error.reason
    assert [item["sk"] for item in query_all(store, Query("p"))] == ["kept"]
    assert store.get("p", "kept") == {"pk": "p", "sk": "kept", "note": "before", "rev": 1}


def test_search_index_changes_do_not_count_towards_the_transaction_size(
    store: ItemStore,
) -> None:
    old = " ".join(f"old{index}" for index in range(MAX_SEARCH_TERMS))
    new = " ".join(f"new{index}" for index in range(MAX_SEARCH_TERMS))
    others = MAX_TRANSACTION_OPS - 1
    store.write(Create({"pk": "s", "sk": "s", "search_scope": "doc", "search_text": old}))

    # Every term of the searchable item changes beside the largest number of other writes.
    store.transact(
        [Replace({"pk": "s", "sk": "s", "search_scope": "doc", "search_text": new}, rev=1)]
        + [Create({"pk": "p", "sk": f"{index:03}"}) for index in range(others)]
    )

    assert len(list(query_all(store, Query("p")))) == others
    assert [item["sk"] for item in store.search("doc", "new7", limit=5).items] == ["s"]
    assert store.search("doc", "old7", limit=5).items == []


def test_a_refused_transaction_leaves_search_as_it_was(store: ItemStore) -> None:
    old = " ".join(f"old{index}" for index in range(MAX_SEARCH_TERMS))
    new = " ".join(f"new{index}" for index in range(MAX_SEARCH_TERMS))
    store.write(Create({"pk": "s", "sk": "s", "search_scope": "doc", "search_text": old}))
    store.write(Create({"pk": "p", "sk": "taken"}))

    with pytest.raises(AlreadyExists):
        store.transact(
            [Replace({"pk": "s", "sk": "s", "search_scope": "doc", "search_text": new}, rev=1)]
            + [Create({"pk": "p", "sk": f"{index:03}"}) for index in range(60)]
            + [Create({"pk": "p", "sk": "taken"})]
        )

    assert store.search("doc", "new7", limit=5).items == []
    assert [item["sk"] for item in store.search("doc", "old7 old39", limit=5).items] == ["s"]
    assert store.get("s", "s")["rev"] == 1


# The longest keys DynamoDB holds, in bytes of UTF-8 (two bytes to a character here).
LONGEST_PK, LONGEST_SK = WIDE * (MAX_PK_BYTES // 2), WIDE * (MAX_SK_BYTES // 2)


def test_a_searchable_item_with_the_longest_key_is_indexed(store: ItemStore) -> None:
    searchable = {"search_scope": "doc", "search_text": "fjord " + "x" * (MAX_TERM_BYTES - 1)}
    store.transact([Create({"pk": LONGEST_PK, "sk": LONGEST_SK, **searchable})])

    assert [item["sk"] for item in store.search("doc", "fjord", limit=5).items] == [LONGEST_SK]
    store.write(
        Replace({"pk": LONGEST_PK, "sk": LONGEST_SK, **searchable, "search_text": "fell"}, rev=1)
    )
    assert store.search("doc", "fjord", limit=5).items == []
    assert [item["sk"] for item in store.search("doc", "fell", limit=5).items] == [LONGEST_SK]
    store.write(Delete(LONGEST_PK, LONGEST_SK))
    assert store.search("doc", "fell", limit=5).items == []


@pytest.mark.parametrize(
    ("pk", "sk"),
    [(LONGEST_PK + "p", "s"), ("p", LONGEST_SK + "s"), ("p", "s" * (MAX_SK_BYTES + 1))],
)
def test_a_key_longer_than_dynamodb_holds_is_value_error(
    store: ItemStore, pk: str, sk: str
) -> None:
    with pytest.raises(ValueError, match="bytes"):
        store.write(Create({"pk": pk, "sk": sk, "search_scope": "doc", "search_text": "fjord"}))
    with pytest.raises(ValueError, match="bytes"):
        store.get(pk, sk)

    assert store.search("doc", "fjord", limit=5).items == []


def test_load_applies_many_transactions_in_order(store: ItemStore) -> None:
    def item(number: int, text: str) -> dict[str, object]:
        return {"pk": f"doc#{number}", "sk": "d", "search_scope": "doc", "search_text": text}

    # Hundreds, so a store that loads in batches spreads them over several: a later
    # transaction overwrites and deletes what an earlier batch wrote.
    transactions: list[list[Op]] = [
        [Create(item(number, f"filler{number}"))] for number in range(300)
    ]
    transactions[0] = [Create(item(0, "alpha"))]
    transactions[150] = [Replace(item(0, "beta"), rev=1), Create(item(150, "filler150"))]
    transactions[299] = [Delete("doc#1", "d"), Create(item(299, "filler299"))]

    assert store.load(transactions) == 300

    replaced = store.get("doc#0", "d")
    assert replaced is not None and replaced["rev"] == 2 and replaced["search_text"] == "beta"
    assert store.get("doc#1", "d") is None
    assert [item["pk"] for item in store.search("doc", "alpha", limit=10).items] == []
    assert [item["pk"] for item in store.search("doc", "beta", limit=10).items] == ["doc#0"]
    # "filler1" is also the start of filler10..filler199: a prefix.
    prefixed = store.search("doc", "filler1", limit=200).items
    assert "doc#1" not in [item["pk"] for item in prefixed] and len(prefixed) == 110
    assert [item["pk"] for item in store.search("doc", "filler299", limit=10).items] == ["doc#299"]


def test_load_raises_the_first_failing_transaction_and_applies_none_after_it(
    store: ItemStore,
) -> None:
    transactions: list[list[Op]] = [
        [Create({"pk": f"doc#{number}", "sk": "d"})] for number in range(250)
    ]
    transactions[230] = [Create({"pk": "doc#5", "sk": "d"})]

    with pytest.raises(AlreadyExists):
        store.load(transactions)

    for number in (230, 231, 249):
        assert store.get(f"doc#{number}", "d") is None


# -- queries -----------------------------------------------------------------------------

# In UTF-8 byte order, which is code-point order: DynamoDB's order for strings.
SORT_KEYS = ["A", "Z", "a", "a#1", "a#10", "a#2", "b", "z", "~", "é", "ø", "東", "🚲"]


def test_query_returns_one_partition_in_utf8_byte_order(store: ItemStore) -> None:
    for sk in reversed(SORT_KEYS):
        create(store, "p", sk)
    create(store, "other", "a")

    forward = store.query(Query("p"), limit=100)
    backward = store.query(Query("p", descending=True), limit=100)

    assert [item["sk"] for item in forward.items] == SORT_KEYS
    assert [item["sk"] for item in backward.items] == SORT_KEYS[::-1]
    assert forward.next_cursor is None and backward.next_cursor is None


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("a", ["a", "a#1", "a#10", "a#2"]), ("a#1", ["a#1", "a#10"]), ("é", ["é"]), ("x", [])],
)
def test_query_with_prefix_reads_only_matching_sort_keys(
    store: ItemStore, prefix: str, expected: list[str]
) -> None:
    for sk in SORT_KEYS:
        create(store, "p", sk)

    forward = store.query(Query("p", prefix=prefix), limit=100)
    backward = store.query(Query("p", prefix=prefix, descending=True), limit=100)

    assert [item["sk"] for item in forward.items] == expected
    assert [item["sk"] for item in backward.items] == expected[::-1]


def test_query_after_reads_only_later_sort_keys_in_the_querys_order(store: ItemStore) -> None:
    for sk in SORT_KEYS:
        create(store, "p", sk)
    store.transact(
        [Create({"pk": f"i{sk}", "sk": "x", "gsi1pk": "g", "gsi1sk": sk}) for sk in SORT_KEYS[:4]]
    )

    forward = store.query(Query("p", after="a#10"), limit=100)
    backward = store.query(Query("p", after="a#10", descending=True), limit=100)
    index = store.query(Query("g", index="gsi1", after=SORT_KEYS[1]), limit=100)
    paged, _ = read_pages(lambda cursor: store.query(Query("p", after="a"), limit=2, cursor=cursor))

    assert [item["sk"] for item in forward.items] == [sk for sk in SORT_KEYS if sk > "a#10"]
    assert [item["sk"] for item in backward.items] == [sk for sk in SORT_KEYS if sk < "a#10"][::-1]
    assert [item["gsi1sk"] for item in index.items] == SORT_KEYS[2:4]
    assert [item["sk"] for item in paged] == [sk for sk in SORT_KEYS if sk > "a"]
    with pytest.raises(ValueError, match="prefix or an after"):
        store.query(Query("p", prefix="a", after="a#1"), limit=1)


@pytest.mark.parametrize("count", [21, 25])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_read_every_item_exactly_once(store: ItemStore, count: int, descending: bool) -> None:
    sks = [f"item#{index:03}" for index in range(count)]
    store.transact([Create({"pk": "p", "sk": sk}) for sk in sks])
    query = Query("p", prefix="item#", descending=descending)

    items, pages = read_pages(lambda cursor: store.query(query, limit=7, cursor=cursor))

    assert [item["sk"] for item in items] == (sks[::-1] if descending else sks)
    assert pages == -(-count // 7)


def test_gsi1_query_orders_by_gsi1sk_and_pages_through_ties(store: ItemStore) -> None:
    expected = []
    for index in range(12):
        # Three items per gsi1sk: ties must neither repeat nor vanish across pages.
        gsi1sk = f"owner#{index // 3}"
        pk = f"dataset#{11 - index}"
        create(store, pk, "dataset", gsi1pk="datasets", gsi1sk=gsi1sk)
        expected.append((gsi1sk, pk))
    create(store, "dataset#x", "dataset", gsi1pk="others", gsi1sk="owner#0")
    create(store, "dataset#y", "dataset", gsi1pk="datasets")  # no gsi1sk: not in the index
    create(store, "dataset#z", "dataset")

    items, pages = read_pages(
        lambda cursor: store.query(Query("datasets", index="gsi1"), limit=5, cursor=cursor)
    )

    assert pages == 3
    assert sorted((item["gsi1sk"], item["pk"]) for item in items) == sorted(expected)
    assert [item["gsi1sk"] for item in items] == sorted(gsi1sk for gsi1sk, _ in expected)
    assert len({item["pk"] for item in items}) == 12
    owner_2 = store.query(Query("datasets", index="gsi1", prefix="owner#2"), limit=10)
    assert sorted(item["pk"] for item in owner_2.items) == ["dataset#3", "dataset#4", "dataset#5"]


def test_where_filters_without_counting_rejected_items(store: ItemStore) -> None:
    store.transact(
        [Create({"pk": "p", "sk": f"{index:03}", "number": index}) for index in range(60)]
    )
    query = Query("p", where=lambda item: item["number"] % 7 == 0)

    items, pages = read_pages(lambda cursor: store.query(query, limit=3, cursor=cursor))

    assert [item["number"] for item in items] == list(range(0, 60, 7))
    assert pages == 3


def test_where_rejecting_everything_gives_one_empty_last_page(store: ItemStore) -> None:
    store.transact([Create({"pk": "p", "sk": f"{index:03}"}) for index in range(30)])

    page = store.query(Query("p", where=lambda item: False), limit=5)

    assert page.items == [] and page.next_cursor is None


def test_last_page_of_an_exact_multiple_has_no_cursor(store: ItemStore) -> None:
    store.transact([Create({"pk": "p", "sk": f"{index}"}) for index in range(4)])

    first = store.query(Query("p"), limit=2)
    second = store.query(Query("p"), limit=2, cursor=first.next_cursor)

    assert first.next_cursor is not None
    assert len(second.items) == 2 and second.next_cursor is None


def test_empty_partition_is_one_empty_page(store: ItemStore) -> None:
    assert store.query(Query("nothing"), limit=10).items == []
    assert store.query(Query("nothing"), limit=10).next_cursor is None


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "!!!", "", _cursor([1, 2]), _cursor({"q": "x"}), _cursor("text"), "e30"],
)
def test_malformed_cursor_is_invalid_value(store: ItemStore, cursor: str) -> None:
    create(store, "p", "s")

    with pytest.raises(InvalidValue) as raised:
        store.query(Query("p"), limit=1, cursor=cursor)

    assert raised.value.field == "cursor"


def test_cursor_of_another_query_is_invalid_value(store: ItemStore) -> None:
    for sk in ("a", "b", "c"):
        create(store, "p", sk, search_scope="doc", search_text="word", gsi1pk="g", gsi1sk=sk)
        create(store, "q", sk)
    cursor = store.query(Query("p"), limit=1).next_cursor
    search_cursor = store.search("doc", "word", limit=1).next_cursor
    assert cursor is not None and search_cursor is not None

    others = [
        lambda: store.query(Query("q"), limit=1, cursor=cursor),
        lambda: store.query(Query("p", descending=True), limit=1, cursor=cursor),
        lambda: store.query(Query("p", prefix="b"), limit=1, cursor=cursor),
        lambda: store.query(Query("g", index="gsi1"), limit=1, cursor=cursor),
        lambda: store.search("doc", "word", limit=1, cursor=cursor),
        lambda: store.search("doc", "other", limit=1, cursor=search_cursor),
        lambda: store.query(Query("p"), limit=1, cursor=search_cursor),
    ]
    for read in others:
        with pytest.raises(InvalidValue) as raised:
            read()
        assert raised.value.field == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_outside_the_allowed_range_is_value_error(store: ItemStore, limit: int) -> None:
    with pytest.raises(ValueError):
        store.query(Query("p"), limit=limit)


# -- search ------------------------------------------------------------------------------


def doc(store: ItemStore, sk: str, text: str, scope: str = "doc", **data: object) -> None:
    create(store, "docs", sk, search_scope=scope, search_text=text, **data)


def found(store: ItemStore, text: str, scope: str = "doc") -> list[str]:
    items, _ = read_pages(lambda cursor: store.search(scope, text, limit=2, cursor=cursor))
    return sorted(item["sk"] for item in items)


def test_search_finds_items_holding_every_term(store: ItemStore) -> None:
    doc(store, "1", "Bysykkel trips in Oslo")
    doc(store, "2", "Oslo air quality")
    doc(store, "3", "Bergen bysykkel trips")
    create(store, "docs", "4", search_text="Oslo without a scope")

    assert found(store, "oslo") == ["1", "2"]
    assert found(store, "trips bysykkel") == ["1", "3"]
    assert found(store, "oslo trips") == ["1"]
    assert found(store, "oslo bergen") == []
    assert found(store, "osl trips") == []  # whole words but the last


def test_search_matches_the_last_word_as_a_prefix_of_two_or_more_letters(
    store: ItemStore,
) -> None:
    doc(store, "1", "Luftkvalitet i Oslo")
    doc(store, "2", "Luft og vann")
    doc(store, "3", "Oslo lufthavn")

    assert found(store, "luft") == ["1", "2", "3"]
    assert found(store, "LUFTK") == ["1"]
    assert found(store, "oslo luft") == ["1", "3"]
    assert found(store, "luft osl") == []  # luft is whole: no item has the word
    assert found(store, "vann luft") == ["2"]
    assert found(store, "luft og") == ["2"]
    assert found(store, "lu osl") == []  # only the last word is a prefix
    assert found(store, "o") == []  # one letter matches whole only
    assert found(store, "i") == ["1"]


def test_search_folds_o_slash_and_ae_both_ways(store: ItemStore) -> None:
    doc(store, "1", "Badeplasser på Sørenga")
    doc(store, "2", "Ærfugl ved Sorenga")

    assert found(store, "Sorenga") == ["1", "2"]
    assert found(store, "sørenga") == ["1", "2"]
    assert found(store, "aerfugl") == ["2"]
    assert found(store, "ærf") == ["2"]


def ranked(store: ItemStore, text: str, limit: int = 2, **options: object) -> list[str]:
    items, _ = read_pages(
        lambda cursor: store.search("doc", text, limit=limit, cursor=cursor, **options)
    )
    return [item["sk"] for item in items]


def test_search_ranks_title_over_keywords_over_description(store: ItemStore) -> None:
    doc(store, "a", "Bysykkel\x1fmobilitet\x1fTrips across Oslo")
    doc(store, "b", "Trips\x1foslo mobilitet\x1fBysykkel data")
    doc(store, "c", "Oslo trips\x1fbysykkel\x1fCity bikes")
    doc(store, "d", "Bysykkel\x1fbysykkel\x1fbysykkel everywhere")

    assert ranked(store, "oslo") == ["c", "b", "a"]
    assert ranked(store, "bysykkel") == ["d", "a", "c", "b"]
    assert ranked(store, "bysykkel oslo") == ["c", "a", "b"]
    assert ranked(store, "mob") == ["a", "b"]


def test_search_ranking_pages_every_match_exactly_once_in_one_order(store: ItemStore) -> None:
    for number in range(23):
        words = " ".join(["filler"] * (number % 7))
        doc(store, f"{number:02d}", f"Lake {words}\x1f{'lake ' * (number % 3)}\x1fdescription")

    whole = ranked(store, "lake", limit=1000)
    assert sorted(whole) == [f"{number:02d}" for number in range(23)]
    for limit in (1, 2, 5):
        assert ranked(store, "lake", limit=limit) == whole
        assert ranked(store, "la", limit=limit) == whole


def test_search_ranking_ignores_items_the_caller_may_not_see(store: ItemStore) -> None:
    for sk, text in [("v1", "Oslo\x1f\x1fdata"), ("v2", "Oslo data sets\x1foslo\x1f")]:
        doc(store, sk, text)
        create(store, "alone", sk, search_scope="alone", search_text=text)
    for number in range(6):
        doc(store, f"h{number}", "Oslo " + "word " * 40 + "\x1f" + "oslo " * 9, hidden=True)

    visible = ranked(store, "oslo", where=lambda item: not item.get("hidden"))
    items, _ = read_pages(lambda cursor: store.search("alone", "oslo", limit=2, cursor=cursor))
    assert visible == [item["sk"] for item in items]
    assert sorted(visible) == ["v1", "v2"]


def test_search_ignores_case_diacritics_and_punctuation(store: ItemStore) -> None:
    doc(store, "1", "Café in Zürich, ÅRHUS and São-Paulo; Straße")
    doc(store, "2", "DATA-lake: naïve façade")

    assert found(store, "CAFE zurich") == ["1"]
    assert found(store, "arhus sao paulo") == ["1"]
    assert found(store, "STRASSE") == ["1"]
    assert found(store, "naive Façade data lake") == ["2"]
    assert found(store, "data_lake") == ["2"]  # "_" separates terms like any punctuation
    assert found(store, "datalake") == []
    doc(store, "3", "Grünerløkka 東京都")
    assert found(store, "grunerløkka") == ["3"]
    assert found(store, "grunerlokka") == ["3"]
    assert found(store, "løkka") == [] and found(store, "東京") == ["3"]  # word starts only


def test_search_is_confined_to_its_scope(store: ItemStore) -> None:
    doc(store, "1", "shared word", scope="doc")
    doc(store, "2", "shared word", scope="other")

    assert found(store, "shared", scope="doc") == ["1"]
    assert found(store, "shared", scope="other") == ["2"]


def test_search_of_text_without_terms_matches_nothing(store: ItemStore) -> None:
    doc(store, "1", "anything")

    page = store.search("doc", " -- !! ", limit=10)

    assert page.items == [] and page.next_cursor is None


def test_search_sees_replacements_puts_and_deletes(store: ItemStore) -> None:
    doc(store, "1", "old title")
    doc(store, "2", "old news")
    doc(store, "3", "old friend")

    store.write(
        Replace({"pk": "docs", "sk": "1", "search_scope": "doc", "search_text": "new title"}, rev=1)
    )
    store.write(Put({"pk": "docs", "sk": "2", "search_scope": "doc", "search_text": "new old"}))
    store.write(Delete("docs", "3"))
    store.write(Replace({"pk": "docs", "sk": "2", "search_scope": "doc"}, rev=2))

    assert found(store, "old") == []
    assert found(store, "new") == ["1"]
    assert found(store, "title") == ["1"]
    assert found(store, "friend") == []
    assert store.get("docs", "1") == {
        "pk": "docs",
        "sk": "1",
        "search_scope": "doc",
        "search_text": "new title",
        "rev": 2,
    }


def test_search_indexes_only_the_first_terms(store: ItemStore) -> None:
    words = [f"word{index}" for index in range(MAX_SEARCH_TERMS + 5)]
    doc(store, "1", " ".join(words))

    assert found(store, words[0]) == ["1"]
    assert found(store, words[MAX_SEARCH_TERMS - 1]) == ["1"]
    assert found(store, words[MAX_SEARCH_TERMS]) == []


def test_search_leaves_out_words_too_long_for_the_index(store: ItemStore) -> None:
    # A gene sequence or an encoded blob in a description is one very long word; DynamoDB
    # keys hold at most 1,024 bytes, so such words are not indexed on any backend.
    sequence = "acgt" * 300
    kilometres = "\u3316" * 200  # NFKD makes each of these six letters: 3,600 bytes
    doc(store, "1", f"Sequence {sequence} read by the lab")

    assert found(store, "sequence lab") == ["1"]
    assert found(store, sequence) == []
    assert found(store, f"lab {sequence}") == []
    assert found(store, kilometres) == []
    assert store.find(Find("doc", kilometres, limit=5)).page.items == []


def test_search_pages_read_every_match_exactly_once(store: ItemStore) -> None:
    for index in range(23):
        colour = "green" if index % 2 else "red"
        doc(store, f"{index:02}", f"dataset number{index} {colour}", number=index)

    everything, pages = read_pages(
        lambda cursor: store.search("doc", "dataset", limit=4, cursor=cursor)
    )
    red, _ = read_pages(lambda cursor: store.search("doc", "red dataset", limit=3, cursor=cursor))
    big_green, _ = read_pages(
        lambda cursor: store.search(
            "doc", "GREEN", limit=2, cursor=cursor, where=lambda item: item["number"] > 10
        )
    )

    assert sorted(item["number"] for item in everything) == list(range(23))
    assert pages == 6
    assert sorted(item["number"] for item in red) == list(range(0, 23, 2))
    assert sorted(item["number"] for item in big_green) == list(range(11, 23, 2))


def test_search_order_is_stable_across_pages(store: ItemStore) -> None:
    for index in range(9):
        doc(store, f"{index}", "same words")

    first, _ = read_pages(lambda cursor: store.search("doc", "same", limit=2, cursor=cursor))
    second, _ = read_pages(lambda cursor: store.search("doc", "words", limit=5, cursor=cursor))

    assert [item["sk"] for item in first] == [item["sk"] for item in second]


def test_search_cursor_serves_the_same_terms_in_any_order(store: ItemStore) -> None:
    for index in range(5):
        doc(store, f"{index}", "oslo city data")

    # The last word is the prefix: the words before it may come in any order.
    first = store.search("doc", "oslo city data", limit=2)
    rest, _ = read_pages(
        lambda cursor: store.search(
            "doc", "City, OSLO data", limit=2, cursor=cursor or first.next_cursor
        )
    )

    assert sorted(item["sk"] for item in first.items + rest) == ["0", "1", "2", "3", "4"]


# -- concurrency -------------------------------------------------------------------------


def race(count: int, attempt: Callable[[int], None]) -> list[BaseException | None]:
    """Run ``attempt(index)`` on ``count`` threads released together; collect outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list[BaseException | None] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            attempt(index)
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_writers_racing_on_one_revision_leave_exactly_one_winner(store: ItemStore) -> None:
    doc(store, "s", "first version", writer=None)

    outcomes = race(
        6,
        lambda index: store.write(
            Replace(
                {
                    "pk": "docs",
                    "sk": "s",
                    "search_scope": "doc",
                    "search_text": f"version by writer{index}",
                    "writer": index,
                },
                rev=1,
            )
        ),
    )

    winners = [index for index, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, PreconditionFailed) for outcome in outcomes if outcome)
    item = store.get("docs", "s")
    assert item["writer"] == winners[0] and item["rev"] == 2
    assert found(store, "version") == ["s"]
    assert found(store, f"writer{winners[0]}") == ["s"]
    assert found(store, "first") == []


def test_creators_racing_on_one_key_leave_exactly_one_winner(store: ItemStore) -> None:
    outcomes = race(6, lambda index: create(store, "p", "s", writer=index))

    winners = [index for index, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, AlreadyExists) for outcome in outcomes if outcome)
    assert store.get("p", "s")["writer"] == winners[0]


# -- paging backwards --------------------------------------------------------------------


def read_back(read: Callable[[str | None], object], cursor: str) -> list[list[Item]]:
    """Follow ``previous_cursor`` from ``cursor`` to the start; the pages, in reading order."""
    pages: list[list[Item]] = []
    while cursor is not None:
        page = read(cursor)
        pages.append(page.items)  # type: ignore[attr-defined]
        cursor = page.previous_cursor  # type: ignore[attr-defined]
        assert len(pages) < 100, "previous cursor never ends"
    return pages


def forward_pages(read: Callable[[str | None], object]) -> list[object]:
    pages, cursor = [], None
    while True:
        page = read(cursor)
        pages.append(page)
        cursor = page.next_cursor  # type: ignore[attr-defined]
        if cursor is None:
            return pages


@pytest.mark.parametrize("count", [21, 25])
@pytest.mark.parametrize("descending", [False, True])
def test_previous_cursors_walk_back_through_the_same_pages(
    store: ItemStore, count: int, descending: bool
) -> None:
    sks = [f"item#{index:03}" for index in range(count)]
    store.transact([Create({"pk": "p", "sk": sk}) for sk in sks])
    query = Query("p", prefix="item#", descending=descending)

    def read(cursor: str | None) -> object:
        return store.query(query, limit=7, cursor=cursor)

    forward = forward_pages(read)
    back = read_back(read, forward[-1].previous_cursor)  # type: ignore[attr-defined]

    assert forward[0].previous_cursor is None  # type: ignore[attr-defined]
    assert back == [page.items for page in forward[-2::-1]]  # type: ignore[attr-defined]
    # A page read backwards leads forwards again to the page after it.
    second = read(forward[2].previous_cursor)  # type: ignore[attr-defined]
    assert read(second.next_cursor).items == forward[2].items  # type: ignore[attr-defined]


@pytest.mark.parametrize("descending", [False, True])
def test_last_cursor_reads_the_final_items_and_pages_back_to_the_start(
    store: ItemStore, descending: bool
) -> None:
    sks = [f"{index:03}" for index in range(25)]
    store.transact([Create({"pk": "p", "sk": sk}) for sk in sks])
    create(store, "q", "999")
    query = Query("p", descending=descending)
    ordered = sks[::-1] if descending else sks

    def read(cursor: str | None) -> object:
        return store.query(query, limit=7, cursor=cursor)

    last = read(store.last_cursor(query))
    back = read_back(read, store.last_cursor(query))

    assert [item["sk"] for item in last.items] == ordered[-7:]  # type: ignore[attr-defined]
    assert last.next_cursor is None  # type: ignore[attr-defined]
    assert [len(items) for items in back] == [7, 7, 7, 4]
    assert [item["sk"] for items in back[::-1] for item in items] == ordered


def test_last_cursor_serves_any_limit(store: ItemStore) -> None:
    store.transact([Create({"pk": "p", "sk": f"{index}"}) for index in range(5)])
    cursor = store.last_cursor(Query("p"))

    everything = store.query(Query("p"), limit=10, cursor=cursor)
    two = store.query(Query("p"), limit=2, cursor=cursor)

    assert [item["sk"] for item in everything.items] == ["0", "1", "2", "3", "4"]
    assert everything.previous_cursor is None and everything.next_cursor is None
    assert [item["sk"] for item in two.items] == ["3", "4"]
    before = store.query(Query("p"), limit=2, cursor=two.previous_cursor)
    assert [item["sk"] for item in before.items] == ["1", "2"]


def test_paging_backwards_skips_items_where_rejects(store: ItemStore) -> None:
    store.transact(
        [Create({"pk": "p", "sk": f"{index:03}", "number": index}) for index in range(60)]
    )
    query = Query("p", where=lambda item: item["number"] % 7 == 0)

    def read(cursor: str | None) -> object:
        return store.query(query, limit=3, cursor=cursor)

    last = read(store.last_cursor(query))
    back = read_back(read, store.last_cursor(query))
    forward = forward_pages(read)
    from_end = read_back(read, forward[-1].previous_cursor)  # type: ignore[attr-defined]

    assert [item["number"] for item in last.items] == [42, 49, 56]  # type: ignore[attr-defined]
    assert [[item["number"] for item in items] for items in back] == [
        [42, 49, 56],
        [21, 28, 35],
        [0, 7, 14],
    ]
    assert from_end == [page.items for page in forward[-2::-1]]  # type: ignore[attr-defined]


def test_gsi1_pages_back_through_ties(store: ItemStore) -> None:
    for index in range(12):
        create(store, f"dataset#{11 - index}", "dataset", gsi1pk="g", gsi1sk=f"t#{index // 4}")
    create(store, "dataset#x", "dataset", gsi1pk="other", gsi1sk="t#0")
    query = Query("g", index="gsi1")

    def read(cursor: str | None) -> object:
        return store.query(query, limit=5, cursor=cursor)

    forward = [item["pk"] for page in forward_pages(read) for item in page.items]  # type: ignore[attr-defined]
    back = read_back(read, store.last_cursor(query))

    assert len(set(forward)) == 12
    assert [item["pk"] for items in back[::-1] for item in items] == forward
    assert [len(items) for items in back] == [5, 5, 2]


def test_empty_partition_read_from_the_end_is_one_empty_page(store: ItemStore) -> None:
    page = store.query(Query("nothing"), limit=10, cursor=store.last_cursor(Query("nothing")))

    assert page.items == [] and page.next_cursor is None and page.previous_cursor is None


def test_backward_cursors_of_another_query_are_invalid_value(store: ItemStore) -> None:
    for sk in ("a", "b", "c", "d"):
        create(store, "p", sk, search_scope="doc", search_text="word", gsi1pk="g", gsi1sk=sk)
        create(store, "q", sk)
    second = store.query(Query("p"), limit=2, cursor=store.query(Query("p"), limit=1).next_cursor)
    previous, last = second.previous_cursor, store.last_cursor(Query("p"))
    assert previous is not None

    for cursor in (previous, last):
        for read in [
            lambda cursor=cursor: store.query(Query("q"), limit=1, cursor=cursor),
            lambda cursor=cursor: store.query(Query("p", descending=True), limit=1, cursor=cursor),
            lambda cursor=cursor: store.query(Query("p", prefix="b"), limit=1, cursor=cursor),
            lambda cursor=cursor: store.query(Query("g", index="gsi1"), limit=1, cursor=cursor),
            lambda cursor=cursor: store.search("doc", "word", limit=1, cursor=cursor),
        ]:
            with pytest.raises(InvalidValue) as raised:
                read()
            assert raised.value.field == "cursor"


@pytest.mark.parametrize(
    "payload", [{"q": "x", "p": None}, {"q": "x", "p": ["a"], "b": 2}, {"q": "x", "p": 3, "b": 1}]
)
def test_malformed_backward_cursor_is_invalid_value(store: ItemStore, payload: dict) -> None:
    create(store, "p", "s")
    # Take the real fingerprint from a cursor this store handed out.
    real = store.last_cursor(Query("p"))
    query_id = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))["q"]

    with pytest.raises(InvalidValue) as raised:
        store.query(Query("p"), limit=1, cursor=_cursor({**payload, "q": query_id}))

    assert raised.value.field == "cursor"


def test_pages_tell_whether_they_were_read_backwards(store: ItemStore) -> None:
    store.transact([Create({"pk": "p", "sk": f"{index}"}) for index in range(5)])
    first = store.query(Query("p"), limit=2)
    second = store.query(Query("p"), limit=2, cursor=first.next_cursor)
    before = store.query(Query("p"), limit=2, cursor=second.previous_cursor)
    last = store.query(Query("p"), limit=2, cursor=store.last_cursor(Query("p")))
    empty = store.query(Query("e"), limit=2, cursor=store.last_cursor(Query("e")))

    assert [first.backwards, second.backwards] == [False, False]
    assert [before.backwards, last.backwards, empty.backwards] == [True, True, True]


# -- facet counters ----------------------------------------------------------------------


def counted(scope: str, **values: list[str]) -> dict[str, object]:
    return {"facet_scope": scope, "facet_values": values}


def test_facet_counts_follow_creates_replaces_puts_and_deletes(store: ItemStore) -> None:
    store.transact(
        [
            Create({"pk": "d", "sk": "1", **counted("a", theme=["ENVI", "TRAN"], owner=["x"])}),
            Create({"pk": "d", "sk": "2", **counted("a", theme=["ENVI"], owner=["y"])}),
            Create({"pk": "d", "sk": "3", **counted("b", theme=["ENVI"])}),
            Create({"pk": "d", "sk": "4", "facet_values": {"theme": ["ENVI"]}}),
        ]
    )
    assert store.facet_counts("a") == {
        "theme": {"ENVI": 2, "TRAN": 1},
        "owner": {"x": 1, "y": 1},
    }
    assert store.facet_counts("b") == {"theme": {"ENVI": 1}}

    store.write(Replace({"pk": "d", "sk": "1", **counted("a", theme=["TRAN"], owner=["y"])}, 1))
    store.write(Put({"pk": "d", "sk": "2", **counted("b", theme=["ECON"])}))
    store.write(Delete("d", "3"))

    assert store.facet_counts("a") == {"theme": {"TRAN": 1}, "owner": {"y": 1}}
    assert store.facet_counts("b") == {"theme": {"ECON": 1}}
    assert store.facet_counts("never") == {}
    # The counted attributes round-trip as data.
    assert store.get("d", "1")["facet_values"] == {"theme": ["TRAN"], "owner": ["y"]}


def test_a_refused_transaction_leaves_facet_counts_as_they_were(store: ItemStore) -> None:
    store.write(Create({"pk": "d", "sk": "1", **counted("a", theme=["ENVI"])}))
    store.write(Create({"pk": "p", "sk": "taken"}))

    with pytest.raises(AlreadyExists):
        store.transact(
            [
                Replace({"pk": "d", "sk": "1", **counted("a", theme=["TRAN"])}, rev=1),
                Create({"pk": "d", "sk": "2", **counted("a", theme=["TRAN"])}),
                Create({"pk": "p", "sk": "taken"}),
            ]
        )
    with pytest.raises(PreconditionFailed):
        store.write(Delete("d", "1", rev=7))

    assert store.facet_counts("a") == {"theme": {"ENVI": 1}}


def test_racing_writers_keep_facet_counts_exact(store: ItemStore) -> None:
    store.transact(
        [Create({"pk": "d", "sk": f"{index}", **counted("a", owner=["x"])}) for index in range(4)]
    )

    def move(index: int) -> None:
        for _attempt in range(20):
            current = store.get("d", f"{index % 4}")
            assert current is not None
            owner = "x" if current["facet_values"]["owner"] == ["y"] else "y"
            try:
                store.write(
                    Replace(
                        {"pk": "d", "sk": f"{index % 4}", **counted("a", owner=[owner])},
                        rev=current["rev"],
                    )
                )
                return
            except PreconditionFailed:
                continue
        raise AssertionError("never won the race")

    threads = [threading.Thread(target=move, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    owners = [store.get("d", f"{index}")["facet_values"]["owner"][0] for index in range(4)]
    expected = {owner: owners.count(owner) for owner in set(owners)}
    assert store.facet_counts("a") == {"owner": expected}


def test_facet_counters_count_towards_the_transaction_size(store: ItemStore) -> None:
    # Values in distinct counter shards: one counter item each on every backend.
    values = {f"f{index}": ["v"] for index in range(3)}
    ops: list[Op] = [Create({"pk": "d", "sk": "1", **counted("a", **values)})]
    fillers = [Create({"pk": "p", "sk": f"{index:03}"}) for index in range(MAX_TRANSACTION_OPS)]

    with pytest.raises(ValueError):
        store.transact(ops + fillers[: MAX_TRANSACTION_OPS - 3])
    assert store.get("d", "1") is None and store.facet_counts("a") == {}

    store.transact(ops + fillers[: MAX_TRANSACTION_OPS - 4])
    assert store.facet_counts("a") == {name: {"v": 1} for name in values}


@pytest.mark.parametrize(
    "values",
    [["x"], {"theme": "ENVI"}, {"theme": [1]}, {"theme": [""]}, {"theme": ["a", "a"]}, {"": ["a"]}],
)
def test_unusable_facet_values_are_value_error(store: ItemStore, values: object) -> None:
    with pytest.raises(ValueError):
        store.write(Create({"pk": "d", "sk": "1", "facet_scope": "a", "facet_values": values}))
    with pytest.raises(ValueError):
        store.write(Create({"pk": "d", "sk": "1", "facet_scope": 3, "facet_values": {}}))


def test_search_shows_every_match_to_observe_once_before_where(store: ItemStore) -> None:
    for sk in ("1", "2", "3"):
        doc(store, sk, f"Oslo {sk}", kept=sk != "2")
    doc(store, "4", "Bergen")
    observed: list[str] = []

    items, _ = read_pages(
        lambda cursor: store.search(
            "doc",
            "oslo",
            limit=5,
            cursor=cursor,
            where=lambda item: item["kept"],
            observe=lambda item: observed.append(item["sk"]),
        )
    )

    assert sorted(item["sk"] for item in items) == ["1", "3"]
    assert sorted(observed) == ["1", "2", "3"]


# -- find: the search a store runs whole ---------------------------------------------------


def searchable(
    store: ItemStore,
    sk: str,
    text: str,
    *,
    access: str = "public",
    grant: str | None = None,
    recency: float = 0.0,
    title: str = "",
    **values: list[str],
) -> None:
    meta = {"access": access, "recency": recency, "title": title}
    if grant is not None:
        meta["grant"] = grant
    doc(store, sk, text, search_meta=meta, facet_scope="doc", facet_values=values)


def find_all(store: ItemStore, text: str, limit: int = 2, **options: object) -> list[str]:
    items, _ = read_pages(
        lambda cursor: (
            store.find(
                Find("doc", text, limit=limit, cursor=cursor, **options)  # type: ignore[arg-type]
            ).page
        )
    )
    return [item["sk"] for item in items]


def test_find_ranks_as_search_does(store: ItemStore) -> None:
    for number in range(17):
        words = " ".join(["filler"] * (number % 5))
        text = f"Lake {words} oslo\x1f{'lake ' * (number % 3)}luftkvalitet\x1fdescription {number}"
        doc(store, f"{number:02d}", text)
    doc(store, "x", "Bysykkel\x1fbysykkel\x1fbysykkel lake lakes lakeside")

    for text in ("lake", "la", "lake oslo", "oslo lak", "luft", "description 7", "bysykkel"):
        expected = [
            item["sk"]
            for item in read_pages(
                lambda cursor, text=text: store.search("doc", text, limit=3, cursor=cursor)
            )[0]
        ]
        assert find_all(store, text) == expected, text
        assert find_all(store, text, limit=1000) == expected, text
    # A short title with the word, then the word among the keywords, twice before once.
    assert find_all(store, "lake")[:5] == ["05", "11", "10", "02", "08"]
    assert find_all(store, "lake")[-1] == "x"
    assert find_all(store, "oslo bergen") == []
    assert find_all(store, " -- ") == []


def test_find_shows_only_what_the_caller_sees_and_hidden_items_never_rank(
    store: ItemStore,
) -> None:
    texts = {"v1": "Oslo\x1f\x1fdata", "v2": "Oslo data sets\x1foslo\x1f"}
    for sk, text in texts.items():
        searchable(store, sk, text, access="restricted" if sk == "v2" else "public")
        create(store, "alone", sk, search_scope="alone", search_text=text)
    searchable(store, "mine", "Oslo\x1f\x1fdata", access="secret", grant="g1")
    for number in range(6):
        hidden = "Oslo " + "word " * 40 + "\x1f" + "oslo " * 9
        searchable(store, f"h{number}", hidden, access="secret", grant="g2")

    assert find_all(store, "oslo", classes=("public",)) == ["v1"]
    seen = find_all(store, "oslo", classes=("public", "restricted"))
    # The hidden items take no part in the length averages: the visible ones come in the
    # order of a scope holding them alone.
    alone = [item["sk"] for item in store.find(Find("alone", "oslo", limit=10)).page.items]
    assert seen == alone and sorted(seen) == ["v1", "v2"]
    granted = find_all(store, "oslo", classes=("public", "restricted"), grants=frozenset({"g1"}))
    assert sorted(granted) == ["mine", "v1", "v2"]
    assert len(find_all(store, "oslo")) == 9


def test_find_filters_and_counts_facets_disjunctively(store: ItemStore) -> None:
    searchable(store, "air", "Luftkvalitet i Oslo", theme=["ENVI"], keyword=["luft"])
    searchable(store, "noise", "Støy i Oslo", theme=["ENVI"], keyword=["støy", "luft"])
    searchable(store, "buses", "Bussruter i Oslo", theme=["TRAN"], keyword=["buss"])
    searchable(
        store, "bikes", "Bysykkel i Oslo", theme=["TRAN", "ENVI"], keyword=["sykkel"], owner=["b"]
    )
    searchable(store, "hidden", "Oslo", access="secret", theme=["ENVI"], keyword=["luft"])
    names = ("theme", "keyword", "owner")
    seen = ("public",)

    found = store.find(Find("doc", "oslo", limit=10, classes=seen, facets=names))
    assert found.counts == {
        "theme": {"ENVI": 3, "TRAN": 2},
        "keyword": {"luft": 2, "buss": 1, "støy": 1, "sykkel": 1},
        "owner": {"b": 1},
    }
    assert (found.total, found.approximate) == (4, False)
    assert list(found.counts["keyword"]) == ["luft", "buss", "støy", "sykkel"]

    filtered = store.find(
        Find("doc", "oslo", limit=10, classes=seen, facets=names, filters={"theme": "ENVI"})
    )
    assert sorted(item["sk"] for item in filtered.page.items) == ["air", "bikes", "noise"]
    # A facet ignores its own filter; the others count within it.
    assert filtered.counts["theme"] == {"ENVI": 3, "TRAN": 2}
    assert filtered.counts["keyword"] == {"luft": 2, "støy": 1, "sykkel": 1}
    assert filtered.total == 3

    both = Find(
        "doc", "oslo", limit=10, classes=seen, facets=names, filters={"theme": "ENVI", "owner": "b"}
    )
    answer = store.find(both)
    assert [item["sk"] for item in answer.page.items] == ["bikes"]
    assert answer.counts == {
        "theme": {"ENVI": 1, "TRAN": 1},
        "keyword": {"sykkel": 1},
        "owner": {"b": 1},
    }
    top = store.find(Find("doc", "oslo", limit=1, classes=seen, facets=("keyword",), top=2))
    assert top.counts == {"keyword": {"luft": 2, "buss": 1}}
    plain = store.find(Find("doc", "oslo", limit=10, classes=seen))
    assert (plain.counts, plain.total, plain.approximate) == ({}, 0, False)


def test_find_counts_and_ranks_at_most_their_limits(store: ItemStore) -> None:
    for sk in "abcde":
        searchable(store, sk, f"Oslo {sk}", theme=["ENVI" if sk in "ace" else "TRAN"])

    found = store.find(
        Find("doc", "oslo", limit=10, facets=("theme",), filters={"theme": "ENVI"}, max_counted=3)
    )
    assert found.approximate is True and found.total == 2
    assert sum(found.counts["theme"].values()) == 3
    exact = store.find(Find("doc", "oslo", limit=10, facets=("theme",), max_counted=5))
    assert exact.approximate is True and exact.total == 5
    assert store.find(Find("doc", "oslo", limit=10, facets=("theme",))).approximate is False
    ranked = store.find(Find("doc", "oslo", limit=10, max_ranked=2))
    assert len(ranked.page.items) == 2 and ranked.page.next_cursor is None


def test_find_orders_by_recency_and_title_and_pages_every_match_once(store: ItemStore) -> None:
    for number in range(11):
        searchable(
            store,
            f"{number:02d}",
            f"Park {number}" + " park" * (number % 3),
            recency=float(-(number % 4)),
            title=f"title {10 - number:02d}" if number != 5 else "title 03",
        )

    relevance = find_all(store, "park", limit=1000)
    assert find_all(store, "park", limit=3) == relevance
    # Three times the word, then ties by recency (newest first), then by key.
    assert relevance == ["02", "05", "08", "07", "10", "01", "04", "03", "06", "09", "00"]
    by_recency = find_all(store, "par", limit=3, order="recency")
    assert by_recency == ["03", "07", "02", "06", "10", "01", "05", "09", "00", "04", "08"]
    by_title = find_all(store, "park", limit=4, order="title")
    assert by_title == ["10", "09", "08", "05", "07", "06", "04", "03", "02", "01", "00"]


def test_find_refuses_cursors_of_other_requests_and_unknown_orders(store: ItemStore) -> None:
    for sk in "abc":
        searchable(store, sk, "Oslo")
    cursor = store.find(Find("doc", "oslo", limit=1)).page.next_cursor
    assert cursor is not None
    assert [
        item["sk"] for item in store.find(Find("doc", "OSLO!", limit=1, cursor=cursor)).page.items
    ] == ["b"]
    for other in (
        Find("doc", "oslo", limit=1, cursor=cursor, order="title"),
        Find("doc", "oslo", limit=1, cursor=cursor, filters={"theme": "x"}),
        Find("doc", "oslo", limit=1, cursor=cursor, classes=("public",)),
        Find("doc", "bergen", limit=1, cursor=cursor),
    ):
        with pytest.raises(InvalidValue):
            store.find(other)
    with pytest.raises(ValueError):
        store.find(Find("doc", "oslo", limit=1, order="size"))
    with pytest.raises(ValueError):
        store.find(Find("doc", "oslo", limit=0))


# Matches whose relevance turns over when long titles without keywords are added: the
# title-length average grows (titles weigh more) and the keyword-length one falls.
RANKED_KEYWORDS = [(f"k{number}", "Other\x1flake lake lake\x1f") for number in range(3)]
RANKED_TITLES = [(f"t{number}", "Lake one two three four\x1f\x1f") for number in range(3)]
ADDED_LATER = "Lake " + "word " * 40 + "\x1f\x1f"


def follow(read: Callable[[str | None], object], first: object) -> list[str]:
    """The keys of a first page and of every page its cursor leads to."""
    rest: list[Item] = []
    if first.next_cursor is not None:  # type: ignore[attr-defined]
        rest, _ = read_pages(lambda cursor: read(cursor or first.next_cursor))  # type: ignore[attr-defined]
    return [item["sk"] for item in [*first.items, *rest]]  # type: ignore[attr-defined]


def test_search_pages_by_relevance_neither_skip_nor_repeat_as_matches_are_added(
    store: ItemStore,
) -> None:
    for sk, text in RANKED_KEYWORDS + RANKED_TITLES:
        doc(store, sk, text)
    before = ranked(store, "lake", limit=100)
    assert before[:3] == ["k0", "k1", "k2"]

    def read(cursor: str | None) -> object:
        return store.search("doc", "lake", limit=2, cursor=cursor)

    first = read(None)
    for number in range(5):
        doc(store, f"z{number}", ADDED_LATER)
    read_after = follow(read, first)

    # What matched when the first page was served comes once each, in its first order.
    assert [sk for sk in read_after if not sk.startswith("z")] == before
    assert len(read_after) == len(set(read_after))


def test_find_pages_by_relevance_neither_skip_nor_repeat_as_matches_are_added(
    store: ItemStore,
) -> None:
    # Without facets, then with them (the SQLite store answers those in another statement).
    for facets in ((), ("theme",)):
        for sk, text in RANKED_KEYWORDS + RANKED_TITLES:
            searchable(store, sk, text, theme=["ENVI"])
        before = find_all(store, "lake", limit=100)
        assert before[:3] == ["k0", "k1", "k2"]

        def read(cursor: str | None, facets: tuple[str, ...] = facets) -> object:
            return store.find(Find("doc", "lake", limit=2, cursor=cursor, facets=facets)).page

        first = read(None)
        for number in range(5):
            searchable(store, f"z{number}", ADDED_LATER, theme=["ENVI"])
        read_after = follow(read, first)

        assert [sk for sk in read_after if not sk.startswith("z")] == before
        assert len(read_after) == len(set(read_after))
        for sk in before + [f"z{number}" for number in range(5)]:
            store.write(Delete("docs", sk))


def _reworked(cursor: str, change: Callable[[list], object]) -> str:
    """``cursor`` with its position changed by ``change``."""
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return _cursor({**payload, "p": change(payload["p"])})


def test_relevance_cursors_without_averages_read_on_and_forged_averages_are_refused(
    store: ItemStore,
) -> None:
    for sk, text in RANKED_KEYWORDS + RANKED_TITLES:
        searchable(store, sk, text)
    whole = find_all(store, "lake", limit=100)
    reads = {
        "search": lambda cursor: store.search("doc", "lake", limit=2, cursor=cursor),
        "find": lambda cursor: store.find(Find("doc", "lake", limit=2, cursor=cursor)).page,
    }
    for read in reads.values():
        cursor = read(None).next_cursor
        # A cursor handed out before cursors held averages: ranked with the matches' own.
        rest, _ = read_pages(
            lambda next_cursor, read=read, cursor=cursor: read(
                next_cursor or _reworked(cursor, lambda p: p[:-1])
            )
        )
        assert [item["sk"] for item in rest] == whole[2:]
        for forged in ([-1.0, 1.0, 1.0], [1.0, 1.0], [True, 1.0, 1.0], ["1", 1.0, 1.0]):
            with pytest.raises(InvalidValue) as raised:
                read(_reworked(cursor, lambda p, forged=forged: [*p[:-1], forged]))
            assert raised.value.field == "cursor"


def test_search_text_of_more_than_three_fields_is_value_error(store: ItemStore) -> None:
    with pytest.raises(ValueError):
        doc(store, "1", "a\x1fb\x1fc\x1fd")
    assert store.get("docs", "1") is None


@pytest.mark.parametrize(
    "values", [{"theme": ["a\x1eb"]}, {"theme": ["a\x1fb"]}, {"the\x1fme": ["a"]}]
)
def test_facet_values_holding_separators_are_value_error(
    store: ItemStore, values: dict[str, list[str]]
) -> None:
    with pytest.raises(ValueError):
        searchable(store, "1", "Oslo", **values)
    assert store.get("docs", "1") is None


# -- count_listed: the facets of a filter partition's datasets ----------------------------


def listed(
    store: ItemStore,
    dataset_id: str,
    partitions: tuple[str, ...],
    *,
    access: str = "public",
    grant: str | None = None,
    **values: list[str],
) -> None:
    """A searchable dataset item and its entries in ``partitions`` (as datasets are kept)."""
    meta = {"access": access, "recency": 0.0, "title": dataset_id}
    if grant is not None:
        meta["grant"] = grant
    entry = {"access": access, "grant": grant, "values": values}
    store.transact(
        [
            Create(
                {
                    "pk": f"dataset#{dataset_id}",
                    "sk": "dataset",
                    "search_scope": "doc",
                    "search_text": f"{dataset_id}\x1f\x1f",
                    "search_meta": meta,
                    "facet_scope": "doc",
                    "facet_values": values,
                }
            ),
            *(Create({"pk": partition, "sk": dataset_id, **entry}) for partition in partitions),
        ]
    )


def listed_counts(store: ItemStore, partition: str, **options: object) -> tuple[object, ...]:
    classes = options.get("classes")
    grants = options.get("grants", frozenset())

    def visible(entry: Item) -> bool:
        return classes is None or entry["access"] in classes or entry["grant"] in grants

    found = store.count_listed(
        CountListed(
            partition,
            visible=visible,
            values=lambda entry: entry["values"],
            **options,  # type: ignore[arg-type]
        )
    )
    assert found.page.items == [] and found.page.next_cursor is None
    return found.counts, found.total, found.approximate


def test_count_listed_counts_the_visible_listed_items_disjunctively(store: ItemStore) -> None:
    envi = "filter#theme#ENVI"
    listed(store, "air", (envi,), theme=["ENVI"], keyword=["luft"], owner=["a"])
    listed(store, "noise", (envi,), theme=["ENVI"], keyword=["støy", "luft"], owner=["b"])
    listed(store, "bikes", (envi,), theme=["TRAN", "ENVI"], keyword=["sykkel"], owner=["b"])
    listed(store, "buses", (), theme=["TRAN"], keyword=["buss"], owner=["b"])
    listed(store, "hidden", (envi,), access="secret", theme=["ENVI"], keyword=["luft"])
    listed(store, "mine", (envi,), access="secret", grant="g1", theme=["ENVI"], owner=["c"])
    names = ("theme", "keyword", "owner")
    seen = ("public",)

    assert listed_counts(store, envi, classes=seen, facets=names, filters={"theme": "ENVI"}) == (
        {
            "theme": {"ENVI": 3, "TRAN": 1},
            "keyword": {"luft": 2, "støy": 1, "sykkel": 1},
            "owner": {"b": 2, "a": 1},
        },
        3,
        False,
    )
    both = {"theme": "ENVI", "owner": "b"}
    counts, total, _ = listed_counts(store, envi, classes=seen, facets=names, filters=both)
    # A facet ignores its own filter; "buses" is not listed under ENVI, so never counted.
    assert counts == {
        "theme": {"ENVI": 2, "TRAN": 1},
        "keyword": {"luft": 1, "støy": 1, "sykkel": 1},
        "owner": {"b": 2, "a": 1},
    }
    assert total == 2
    granted = listed_counts(
        store, envi, classes=seen, grants=frozenset({"g1"}), facets=("owner",), top=2
    )
    assert granted == ({"owner": {"b": 2, "a": 1}}, 4, False)
    assert listed_counts(store, envi, facets=("keyword",))[1:] == (5, False)
    assert listed_counts(store, "filter#theme#none", facets=("theme",)) == ({"theme": {}}, 0, False)


def test_count_listed_counts_the_first_listed_items_in_sort_key_order(store: ItemStore) -> None:
    envi = "filter#theme#ENVI"
    for number, sk in enumerate("edcba"):
        listed(store, sk, (envi,), theme=["ENVI"], owner=[f"o{number % 2}"])

    counts, total, approximate = listed_counts(store, envi, facets=("owner",), max_counted=3)
    # a, b and c: the first three by sort key, whatever the order they were written in.
    assert (counts, total, approximate) == ({"owner": {"o0": 2, "o1": 1}}, 3, True)
    assert listed_counts(store, envi, facets=("owner",), max_counted=5)[2] is True
    assert listed_counts(store, envi, facets=("owner",), max_counted=6)[2] is False


def test_query_within_other_partitions_reads_what_where_alone_reads(store: ItemStore) -> None:
    ops: list[Op] = []
    for number in range(40):
        sk = f"{number:03}"
        ops.append(Create({"pk": "theme", "sk": sk, "number": number}))
        if number % 3 == 0:
            ops.append(Create({"pk": "owner", "sk": sk}))
        if number % 2 == 0:
            ops.append(Create({"pk": "state", "sk": sk}))
    for start in range(0, len(ops), MAX_TRANSACTION_OPS):
        store.transact(ops[start : start + MAX_TRANSACTION_OPS])

    def wanted(item: Item) -> bool:
        return item["number"] % 6 == 0 and item["number"] != 12

    plain = Query("theme", where=wanted)
    within = Query("theme", where=wanted, within=("owner", "state"))
    for query in (plain, within):
        pages = forward_pages(
            lambda cursor, query=query: store.query(query, limit=2, cursor=cursor)
        )
        numbers = [item["number"] for page in pages for item in page.items]  # type: ignore[attr-defined]
        assert numbers == [0, 6, 18, 24, 30, 36]
        back = read_back(
            lambda cursor, query=query: store.query(query, limit=2, cursor=cursor),
            pages[-1].previous_cursor,  # type: ignore[attr-defined]
        )
        assert back == [page.items for page in pages[-2::-1]]  # type: ignore[attr-defined]
    # The hint takes no part in cursors: each query reads on from the other's.
    first = store.query(plain, limit=2)
    rest = store.query(within, limit=10, cursor=first.next_cursor)
    assert [item["number"] for item in rest.items] == [18, 24, 30, 36]
    last = store.query(within, limit=2, cursor=store.last_cursor(plain))
    assert [item["number"] for item in last.items] == [30, 36]


# -- answers after writes through another store: never stale -------------------------------
# A store may keep search answers (SQLite does, per process): a write committed through any
# other store on the same data (another connection, another process) is seen at once.

ENVI = "filter#theme#ENVI"
SEEN = ("public",)
FACET_NAMES = ("theme", "keyword")


def another_store(store: ItemStore) -> ItemStore:
    """A second store on ``store``'s data: its own connections and its own kept answers."""
    if store.backend == "sqlite":
        from catalogue.store.sqlite import SqliteStore

        return SqliteStore(store.path)  # type: ignore[attr-defined]
    from catalogue.store.dynamodb import DynamoDbStore

    return DynamoDbStore(store.table_name)  # type: ignore[attr-defined]


def dataset_item(
    dataset_id: str, text: str, *, access: str = "public", label: str = "", **values: list[str]
) -> Item:
    return {
        "pk": f"dataset#{dataset_id}",
        "sk": "dataset",
        "label": label,
        "search_scope": "doc",
        "search_text": text,
        "search_meta": {"access": access, "recency": 0.0, "title": dataset_id},
        "facet_scope": "doc",
        "facet_values": values,
    }


def dataset_ops(dataset_id: str, text: str, **values: list[str]) -> list[Op]:
    """A searchable dataset item listed under ENVI, as ``listed`` makes them."""
    entry = {"access": "public", "grant": None, "values": values}
    return [
        Create(dataset_item(dataset_id, text, **values)),
        Create({"pk": ENVI, "sk": dataset_id, **entry}),
    ]


def answers(store: ItemStore) -> tuple[object, ...]:
    """What a reader sees: a text search, a filter's counts and the counters, asked twice."""
    for _ in range(2):
        found = store.find(Find("doc", "oslo la", limit=10, classes=SEEN, facets=FACET_NAMES))
        counted = store.count_listed(
            CountListed(
                ENVI,
                visible=lambda entry: entry["access"] in SEEN,
                values=lambda entry: entry["values"],
                filters={"theme": "ENVI"},
                classes=SEEN,
                facets=FACET_NAMES,
            )
        )
        counters = store.facet_counts("doc")
        listed = store.kept(("listed",), lambda: listed_datasets(store), len)
    page = [(item["pk"], item["label"], item["rev"]) for item in found.page.items]
    return page, found.counts, found.total, counted.counts, counted.total, counters, listed


def listed_datasets(store: ItemStore) -> list[tuple[str, str, int]]:
    """The datasets ENVI lists, as a list page reads them: its entries, then their items."""
    entries = store.query(Query(ENVI), limit=10).items
    items = store.get_many([(f"dataset#{entry['sk']}", "dataset") for entry in entries])
    return [(item["pk"], item["label"], item["rev"]) for item in items]


def replaced(store: ItemStore, dataset_id: str, **changes: object) -> Replace:
    current = store.get(f"dataset#{dataset_id}", "dataset")
    assert current is not None
    return Replace({**current, **changes}, rev=current["rev"])


WRITES: dict[str, Callable[[ItemStore], None]] = {
    "create": lambda other: other.transact(dataset_ops("c", "Oslo lakes", theme=["ENVI"])),
    "load": lambda other: other.load([dataset_ops("c", "Oslo lakes", theme=["ENVI"])]),
    "text": lambda other: other.write(replaced(other, "a", search_text="Bergen lake")),
    "data": lambda other: other.write(replaced(other, "a", label="renamed")),
    "facets": lambda other: other.write(
        replaced(other, "a", facet_values={"theme": ["ENVI"], "keyword": ["vann"]})
    ),
    "visibility": lambda other: other.write(
        replaced(other, "a", search_meta={"access": "secret", "recency": 0.0, "title": "a"})
    ),
    "put": lambda other: other.write(
        Put(dataset_item("a", "Oslo lake", label="put", theme=["TRAN"]))
    ),
    "write_each": lambda other: other.write_each([replaced(other, "a", label="each")]),
    "delete": lambda other: other.transact([Delete("dataset#a", "dataset"), Delete(ENVI, "a")]),
    "filter_entry": lambda other: other.write(Delete(ENVI, "b")),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_answers_show_a_write_through_another_store_at_once(store: ItemStore, kind: str) -> None:
    store.transact(dataset_ops("a", "Oslo lake", theme=["ENVI"], keyword=["luft"]))
    store.transact(dataset_ops("b", "Oslo lakeside", theme=["ENVI", "TRAN"]))
    other, fresh = another_store(store), another_store(store)
    try:
        before = answers(store)
        assert answers(other) == before

        WRITES[kind](other)

        after = answers(store)
        assert after != before
        # What a store that never answered before reads.
        assert after == answers(fresh)
    finally:
        other.close()
        fresh.close()


def test_an_answer_kept_is_a_copy_its_caller_may_change(store: ItemStore) -> None:
    store.transact(dataset_ops("a", "Oslo lake", theme=["ENVI"]))
    oslo = Find("doc", "oslo", limit=10, facets=("theme",))
    listed = CountListed(
        ENVI,
        visible=lambda entry: True,
        values=lambda entry: entry["values"],
        classes=SEEN,
        facets=("theme",),
    )
    first = store.find(oslo)
    first.page.items[0]["search_meta"]["title"] = "changed"
    first.counts["theme"]["ENVI"] = 99
    store.count_listed(listed).counts["theme"]["ENVI"] = 99
    store.facet_counts("doc")["theme"]["ENVI"] = 99

    again = store.find(oslo)
    assert again.page.items[0]["search_meta"]["title"] == "a"
    assert again.counts == {"theme": {"ENVI": 1}}
    assert store.count_listed(listed).counts == {"theme": {"ENVI": 1}}
    assert store.facet_counts("doc") == {"theme": {"ENVI": 1}}


def test_an_answer_kept_may_be_computed_from_other_kept_answers(store: ItemStore) -> None:
    store.transact(dataset_ops("a", "Oslo lake", theme=["ENVI"]))

    def compute() -> tuple[int, dict[str, dict[str, int]]]:
        found = store.find(Find("doc", "oslo", limit=10, facets=("theme",)))
        return len(found.page.items), store.facet_counts("doc")

    expected = (1, {"theme": {"ENVI": 1}})
    assert store.kept(("outer",), compute, lambda _: 100) == expected
    assert store.kept(("outer",), compute, lambda _: 100) == expected
    store.transact(dataset_ops("b", "Oslo lakes", theme=["ENVI"]))
    assert store.kept(("outer",), compute, lambda _: 100) == (2, {"theme": {"ENVI": 2}})


def test_an_answer_for_one_visibility_is_never_given_to_another(store: ItemStore) -> None:
    store.transact(dataset_ops("open", "Oslo lake", theme=["ENVI"]))
    hidden = dataset_item("hidden", "Oslo lake", access="secret", theme=["TRAN"])
    store.transact([Create({**hidden, "search_meta": {**hidden["search_meta"], "grant": "g"}})])

    def seen(**options: object) -> tuple[list[str], dict[str, dict[str, int]]]:
        found = store.find(Find("doc", "oslo", limit=10, facets=("theme",), **options))  # type: ignore[arg-type]
        return sorted(item["pk"] for item in found.page.items), found.counts

    everyone = (["dataset#hidden", "dataset#open"], {"theme": {"ENVI": 1, "TRAN": 1}})
    public = (["dataset#open"], {"theme": {"ENVI": 1}})
    for _ in range(2):
        assert seen() == everyone
        assert seen(classes=SEEN) == public
        assert seen(classes=SEEN, grants=frozenset({"g"})) == everyone
        assert seen(classes=SEEN, grants=frozenset({"other"})) == public
