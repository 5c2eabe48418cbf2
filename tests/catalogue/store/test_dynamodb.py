"""What only the DynamoDB store can be asked: its index items, its requests, its retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalogue.store.base import MAX_SEARCH_TERMS, Create, Delete, Put, Query, Replace
from catalogue.store.dynamodb import DynamoDbStore, dynamodb_client
from catalogue.store.dynamodb_codec import from_dynamodb, to_dynamodb


@pytest.fixture
def store(moto_store: DynamoDbStore) -> DynamoDbStore:
    return moto_store


@pytest.fixture
def calls(store: DynamoDbStore) -> Iterator[list[str]]:
    """The names of the DynamoDB operations the test makes."""
    names: list[str] = []

    def record(model: Any, **_: Any) -> None:
        names.append(model.name)

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb", record)
    yield names
    client.meta.events.unregister("before-call.dynamodb", record)


def raw_partition(store: DynamoDbStore, pk: str) -> list[dict[str, Any]]:
    response = dynamodb_client().query(
        TableName=store.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": pk}},
    )
    return response["Items"]


def test_no_operation_scans_the_table(store: DynamoDbStore, calls: list[str]) -> None:
    item = {"pk": "d#1", "sk": "d", "gsi1pk": "all", "gsi1sk": "1", "search_scope": "doc"}
    store.write(Create({**item, "search_text": "Oslo bysykkel"}))
    store.transact(
        [Replace({**item, "search_text": "Oslo trips"}, rev=1), Put({"pk": "x", "sk": "y"})]
    )
    store.get("d#1", "d")
    store.get_many([("d#1", "d"), ("x", "y")])
    store.query(Query("all", index="gsi1", where=lambda item: True), limit=1)
    store.query(Query("d#1", prefix="d", descending=True), limit=1)
    store.search("doc", "oslo trips", limit=1, where=lambda item: True)
    store.write(Delete("d#1", "d"))

    assert "Scan" not in calls
    assert {"Query", "TransactWriteItems", "BatchGetItem"} <= set(calls)


def test_term_items_follow_the_item_in_the_same_table(store: DynamoDbStore) -> None:
    store.write(
        Create({"pk": "d#1", "sk": "d", "search_scope": "doc", "search_text": "Øl og Oslo"})
    )

    assert raw_partition(store, "term#doc#oslo") == [
        {
            "pk": {"S": "term#doc#oslo"},
            "sk": {"S": '["d#1","d"]'},
            "item_pk": {"S": "d#1"},
            "item_sk": {"S": "d"},
            "item_rev": {"N": "1"},
        }
    ]
    # Prefix items: one per term of two or more letters, by its first two letters.
    assert [raw["sk"]["S"] for raw in raw_partition(store, "term#doc#os*")] == ['oslo ["d#1","d"]']
    assert raw_partition(store, "term#doc#os*")[0]["item_pk"] == {"S": "d#1"}
    assert [term["S"] for term in raw_partition(store, "d#1")[0]["_terms"]["L"]] == [
        "ol",  # ø folds to o: "Sorenga" finds "Sørenga"
        "og",
        "oslo",
    ]
    assert "_terms" not in store.get("d#1", "d")

    store.write(Replace({"pk": "d#1", "sk": "d", "search_scope": "doc", "search_text": "Oslo"}, 1))
    assert raw_partition(store, "term#doc#ol") == []
    assert raw_partition(store, "term#doc#ol*") == []
    assert len(raw_partition(store, "term#doc#oslo")) == 1
    assert len(raw_partition(store, "term#doc#os*")) == 1

    store.write(Delete("d#1", "d"))
    assert raw_partition(store, "term#doc#oslo") == []
    assert raw_partition(store, "term#doc#os*") == []


def test_index_writes_that_do_not_fit_go_around_the_transaction(store: DynamoDbStore) -> None:
    old = " ".join(f"old{index}" for index in range(MAX_SEARCH_TERMS))
    new = " ".join(f"new{index}" for index in range(MAX_SEARCH_TERMS))
    store.write(Create({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": old}))

    store.transact(
        [Replace({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": new}, rev=1)]
        + [Create({"pk": "p", "sk": f"{index:02}"}) for index in range(60)]
    )

    # No term item of the old text is left, and each new one names the revision it is for.
    for index in (0, 1, MAX_SEARCH_TERMS // 2, MAX_SEARCH_TERMS - 1):
        assert raw_partition(store, f"term#doc#old{index}") == []
    assert raw_partition(store, "term#doc#ol*") == []
    assert len(raw_partition(store, "term#doc#ne*")) == MAX_SEARCH_TERMS
    assert raw_partition(store, "term#doc#new3")[0]["item_rev"] == {"N": "2"}


def test_put_retries_when_a_racing_writer_changes_the_item(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(Create({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": "first"}))
    snapshot = store._snapshot
    raced = []

    def snapshot_then_race(keys: list[tuple[str, str]]) -> dict[Any, Any]:
        state = snapshot(keys)
        if not raced:  # another writer slips in between our read and our write
            raced.append(True)
            store.write(
                Replace({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": "racer"}, 1)
            )
        return state

    monkeypatch.setattr(store, "_snapshot", snapshot_then_race)

    store.write(Put({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": "mine"}))

    assert store.get("d", "d")["search_text"] == "mine"
    for stale in ("first", "racer"):
        assert raw_partition(store, f"term#doc#{stale}") == []
    assert len(raw_partition(store, "term#doc#mine")) == 1


def test_item_over_dynamodb_size_limit_is_value_error(store: DynamoDbStore) -> None:
    with pytest.raises(ValueError):
        store.write(Create({"pk": "p", "sk": "s", "text": "x" * 500_000}))


@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        (0.1, {"N": "0.1"}),
        (1e-10, {"N": "1e-10"}),
        (10**30, {"N": "1" + "0" * 30}),
        (True, {"BOOL": True}),
        (None, {"NULL": True}),
        ([1, "a"], {"L": [{"N": "1"}, {"S": "a"}]}),
        ({"a": {}}, {"M": {"a": {"M": {}}}}),
    ],
)
def test_values_map_to_dynamodb_attributes_and_back(value: Any, attribute: dict[str, Any]) -> None:
    assert to_dynamodb({"v": value}) == {"v": attribute}
    assert from_dynamodb({"v": attribute}) == {"v": value}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "a"}, {"a"}, b"bytes"])
def test_values_dynamodb_cannot_hold_are_value_errors(value: Any) -> None:
    with pytest.raises(ValueError):
        to_dynamodb({"v": value})


@pytest.fixture
def fetched(store: DynamoDbStore) -> Iterator[list[tuple[str, str]]]:
    """The keys of the items the test's BatchGetItem calls ask for."""
    keys: list[tuple[str, str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        for request in params["RequestItems"].values():
            keys.extend((key["pk"]["S"], key["sk"]["S"]) for key in request["Keys"])

    client = dynamodb_client()
    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", record)
    yield keys
    client.meta.events.unregister("provide-client-params.dynamodb.BatchGetItem", record)


def test_find_fetches_only_the_candidates_holding_every_term(
    store: DynamoDbStore, fetched: list[tuple[str, str]]
) -> None:
    from catalogue.store.base import Find

    for number in range(30):
        text = "Commonword " + ("rare" if number % 10 == 0 else "other")
        store.write(
            Create(
                {"pk": "docs", "sk": f"{number:02d}", "search_scope": "doc", "search_text": text}
            )
        )

    for text in ("commonword rare", "rare commonword", "commonword rar"):
        fetched.clear()
        found = store.find(Find("doc", text, limit=10))
        assert sorted(item["sk"] for item in found.page.items) == ["00", "10", "20"]
        # The longest term's 30 candidates are narrowed by the other term's three.
        assert sorted(sk for _, sk in fetched) == ["00", "10", "20"]
    fetched.clear()
    assert len(store.find(Find("doc", "commonword", limit=10)).page.items) == 10
    assert len(fetched) == 30
