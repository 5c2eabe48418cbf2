"""What only the DynamoDB store can be asked: its index items, its requests, its retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from catalogue.domain.errors import AlreadyExists
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


def test_index_items_follow_the_item_in_the_same_table(store: DynamoDbStore) -> None:
    store.write(Create({"pk": "d#1", "sk": "d", "search_scope": "doc", "search_text": "Øl i Oslo"}))

    # One item per term, in the partition of its first two letters: it serves the whole
    # term ("oslo ") and every prefix of it.
    assert raw_partition(store, "term#doc#os*") == [
        {
            "pk": {"S": "term#doc#os*"},
            "sk": {"S": 'oslo ["d#1","d"]'},
            "item_pk": {"S": "d#1"},
            "item_sk": {"S": "d"},
            "item_rev": {"N": "1"},
        }
    ]
    assert [raw["sk"]["S"] for raw in raw_partition(store, "term#doc#i*")] == ['i ["d#1","d"]']
    assert raw_partition(store, "term#doc#oslo") == []
    assert [term["S"] for term in raw_partition(store, "d#1")[0]["_terms"]["L"]] == [
        "ol",  # ø folds to o: "Sorenga" finds "Sørenga"
        "i",
        "oslo",
    ]
    assert "_terms" not in store.get("d#1", "d")

    store.write(Replace({"pk": "d#1", "sk": "d", "search_scope": "doc", "search_text": "Oslo"}, 1))
    assert raw_partition(store, "term#doc#ol*") == []
    assert raw_partition(store, "term#doc#i*") == []
    assert len(raw_partition(store, "term#doc#os*")) == 1

    store.write(Delete("d#1", "d"))
    assert raw_partition(store, "term#doc#os*") == []


def test_a_whole_term_reads_only_its_own_index_items(store: DynamoDbStore) -> None:
    from catalogue.store.dynamodb_search import prefix_query, term_query

    for index, text in enumerate(["luft", "luftkvalitet lu", "l"]):
        store.write(
            Create({"pk": f"d#{index}", "sk": "d", "search_scope": "doc", "search_text": text})
        )

    def read(call: dict[str, Any]) -> list[str]:
        return [raw["sk"]["S"] for raw in dynamodb_client().query(**call)["Items"]]

    # The space after the term ends it: "luft " leaves "luftkvalitet" out.
    assert read(term_query(store.table_name, "doc", "luft")) == ['luft ["d#0","d"]']
    assert read(term_query(store.table_name, "doc", "lu")) == ['lu ["d#1","d"]']
    assert read(term_query(store.table_name, "doc", "l")) == ['l ["d#2","d"]']
    assert read(prefix_query(store.table_name, "doc", "luft")) == [
        'luft ["d#0","d"]',
        'luftkvalitet ["d#1","d"]',
    ]


def test_index_writes_that_do_not_fit_go_around_the_transaction(store: DynamoDbStore) -> None:
    old = " ".join(f"old{index}" for index in range(MAX_SEARCH_TERMS))
    new = " ".join(f"new{index}" for index in range(MAX_SEARCH_TERMS))
    store.write(Create({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": old}))

    store.transact(
        [Replace({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": new}, rev=1)]
        + [Create({"pk": "p", "sk": f"{index:02}"}) for index in range(60)]
    )

    # No index item of the old text is left, and each new one names the revision it is for.
    assert raw_partition(store, "term#doc#ol*") == []
    new_items = raw_partition(store, "term#doc#ne*")
    assert len(new_items) == MAX_SEARCH_TERMS
    assert {raw["item_rev"]["N"] for raw in new_items} == {"2"}


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
    assert raw_partition(store, "term#doc#fi*") == []
    assert raw_partition(store, "term#doc#ra*") == []
    assert len(raw_partition(store, "term#doc#mi*")) == 1


def test_load_plans_a_batch_over_the_writes_of_one_still_on_its_way(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.store import dynamodb_bulk

    def item(number: int, text: str) -> dict[str, Any]:
        return {"pk": f"doc#{number}", "sk": "d", "search_scope": "doc", "search_text": text}

    first = [[Create(item(number, "alpha"))] for number in range(dynamodb_bulk.PER_BATCH)]
    second = [[Replace(item(0, "beta"), rev=1)]]
    # The first batch's writes are held until the second batch has read its snapshot,
    # which therefore misses doc#0: the load must plan over the writes it sent.
    read_twice = threading.Event()
    reads = []
    batch_get, batch_write = store._batch_get, store._batch_write

    def counted_read(keys: list[tuple[str, str]]) -> dict[Any, Any]:
        found = batch_get(keys)
        reads.append(keys)
        if len(reads) == 2:
            read_twice.set()
        return found

    def held_write(requests: list[dict[str, Any]], client: Any = None) -> None:
        if any(
            request.get("PutRequest", {}).get("Item", {}).get("pk") == {"S": "doc#0"}
            for request in requests
        ):
            assert read_twice.wait(timeout=30)
        batch_write(requests, client)

    monkeypatch.setattr(store, "_batch_get", counted_read)
    monkeypatch.setattr(store, "_batch_write", held_write)

    assert store.load(first + second) == dynamodb_bulk.PER_BATCH + 1

    assert reads[1] == [("doc#0", "d")]
    replaced = store.get("doc#0", "d")
    assert replaced is not None and replaced["rev"] == 2
    assert [found["pk"] for found in store.search("doc", "beta", limit=10).items] == ["doc#0"]
    assert "doc#0" not in [found["pk"] for found in store.search("doc", "alpha", limit=200).items]
    assert raw_partition(store, "term#doc#al*")[0]["sk"]["S"] == 'alpha ["doc#1","d"]'


def test_load_writes_the_batches_before_a_failing_transaction(store: DynamoDbStore) -> None:
    from catalogue.store import dynamodb_bulk

    size = dynamodb_bulk.PER_BATCH
    transactions = [[Create({"pk": f"doc#{number}", "sk": "d"})] for number in range(3 * size)]
    transactions[2 * size + 10] = [Create({"pk": "doc#5", "sk": "d"})]

    with pytest.raises(AlreadyExists):
        store.load(transactions)

    assert store.get(f"doc#{2 * size - 1}", "d") is not None
    assert store.get(f"doc#{2 * size}", "d") is None


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


# -- answers kept under the search generation ---------------------------------------------


def generation(store: DynamoDbStore) -> int:
    from catalogue.store.dynamodb_answers import GENERATION_KEY

    raw = dynamodb_client().get_item(TableName=store.table_name, Key=GENERATION_KEY)
    return int(raw.get("Item", {}).get("v", {}).get("N", "0"))


def searchable(number: int, text: str = "Oslo lake") -> dict[str, Any]:
    return {
        "pk": f"dataset#{number}",
        "sk": "dataset",
        "search_scope": "doc",
        "search_text": text,
        "search_meta": {"access": "public", "recency": 0.0, "title": str(number)},
    }


def test_a_repeated_search_reads_only_the_search_generation(
    store: DynamoDbStore, calls: list[str]
) -> None:
    from catalogue.store.base import CountListed, Find

    store.transact(
        [Create(searchable(1)), Create({"pk": "filter#theme#ENVI", "sk": "1", "values": {}})]
    )
    asks = {
        "find": lambda: store.find(Find("doc", "oslo la", limit=10, facets=("theme",))),
        "count_listed": lambda: store.count_listed(
            CountListed(
                "filter#theme#ENVI",
                visible=lambda entry: True,
                values=lambda entry: entry["values"],
                facets=("theme",),
            )
        ),
        "facet_counts": lambda: store.facet_counts("doc"),
    }
    for name, ask in asks.items():
        calls.clear()
        first = ask()
        assert len(calls) > 1, name
        calls.clear()
        assert ask() == first, name
        assert calls == ["GetItem"], name


def test_only_writes_of_what_searches_read_advance_the_generation(store: DynamoDbStore) -> None:
    start = generation(store)
    store.write(Create({"pk": "run#1", "sk": "run", "state": "RUNNING"}))
    store.write(Put({"pk": "run#1", "sk": "run", "state": "SUCCEEDED"}))
    assert generation(store) == start

    store.write(Create(searchable(1)))
    store.write(Create({"pk": "filter#theme#ENVI", "sk": "1"}))
    store.write(Put({**searchable(1), "label": "renamed"}))
    store.write(Delete("dataset#1", "dataset"))
    store.write(Delete("filter#theme#ENVI", "1"))
    assert generation(store) == start + 5


def test_a_full_transaction_advances_the_generation_after_it(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.store.base import MAX_TRANSACTION_OPS, Find

    sent: list[int] = []
    client = dynamodb_client()
    original = client.transact_write_items

    def counted(**arguments: Any) -> Any:
        sent.append(len(arguments["TransactItems"]))
        return original(**arguments)

    monkeypatch.setattr(client, "transact_write_items", counted)
    oslo = Find("doc", "oslo", limit=200)
    assert store.find(oslo).page.items == []
    start = generation(store)

    # 100 operations leave no room for the generation's Update in the transaction.
    store.transact(
        [Create(searchable(number, f"Oslo {number}")) for number in range(MAX_TRANSACTION_OPS)]
    )

    assert sent[-1] == MAX_TRANSACTION_OPS
    assert generation(store) == start + 1
    assert len(store.find(oslo).page.items) == MAX_TRANSACTION_OPS


def test_a_load_advances_the_generation_once(store: DynamoDbStore) -> None:
    from catalogue.store.base import Find

    oslo = Find("doc", "oslo", limit=10)
    assert store.find(oslo).page.items == []
    start = generation(store)

    store.load([[Create(searchable(number))] for number in range(3)])

    assert generation(store) == start + 1
    assert len(store.find(oslo).page.items) == 3


def test_an_answer_is_not_kept_past_its_age(store: DynamoDbStore, calls: list[str]) -> None:
    from catalogue.store.answer_cache import AnswerCache
    from catalogue.store.base import Find

    now = [0.0]
    store._answers = AnswerCache(max_age=600.0, clock=lambda: now[0])
    store.write(Create(searchable(1)))
    oslo = Find("doc", "oslo", limit=10)
    store.find(oslo)
    now[0] = 600.0
    calls.clear()
    store.find(oslo)
    assert calls == ["GetItem"]

    now[0] = 600.5
    calls.clear()
    store.find(oslo)
    assert "Query" in calls


def test_a_filtered_query_reads_its_page_and_little_more(store: DynamoDbStore) -> None:
    for number in range(60):
        store.write(Create({"pk": "list", "sk": f"{number:02d}", "hidden": number % 5 == 4}))
    limits: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        limits.append(params["Limit"])

    client = dynamodb_client()
    client.meta.events.register("provide-client-params.dynamodb.Query", record)
    try:
        page = store.query(Query("list", where=lambda item: not item["hidden"]), limit=10)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", record)

    assert [item["sk"] for item in page.items] == [
        f"{number:02d}" for number in range(12) if number % 5 != 4
    ]
    # Twice the page and one more first: 18 of the 22 are visible, so one round trip.
    assert limits == [22]


def test_an_answer_read_through_the_index_is_kept_once_the_index_settled(
    store: DynamoDbStore, calls: list[str]
) -> None:
    import time

    from catalogue.store.dynamodb_answers import GENERATION_KEY, INDEX_SETTLE_SECONDS

    store.write(Create({**searchable(1), "gsi1pk": "all", "gsi1sk": "1"}))

    def listed() -> list[str]:
        return [item["pk"] for item in store.query(Query("all", index="gsi1"), limit=10).items]

    def table_only() -> list[str]:
        return [item["pk"] for item in store.query(Query("dataset#1"), limit=10).items]

    # Just written: the index may not show the write yet, so its answer is not kept.
    for _ in range(2):
        calls.clear()
        assert store.kept(("listed",), listed, len) == ["dataset#1"]
        assert calls == ["GetItem", "Query"]
    # The table is read consistently: kept at once.
    store.kept(("table",), table_only, len)
    calls.clear()
    assert store.kept(("table",), table_only, len) == ["dataset#1"]
    assert calls == ["GetItem"]

    settled = time.time() - INDEX_SETTLE_SECONDS - 1
    dynamodb_client().update_item(
        TableName=store.table_name,
        Key=GENERATION_KEY,
        UpdateExpression="SET changed_at = :t",
        ExpressionAttributeValues={":t": {"N": repr(settled)}},
    )
    store.kept(("listed",), listed, len)
    calls.clear()
    assert store.kept(("listed",), listed, len) == ["dataset#1"]
    assert calls == ["GetItem"]


def test_a_transaction_throttled_every_time_is_unavailable_not_a_conflict(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from catalogue.domain.errors import Unavailable
    from catalogue.store import dynamodb

    store.write(Create({"pk": "d", "sk": "d", "title": "first"}))
    client = dynamodb_client()
    attempts = []

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def transact_write_items(self, **arguments: Any) -> Any:
            attempts.append(arguments)
            reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the limit"}]
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons * len(arguments["TransactItems"]),
                },
                "TransactWriteItems",
            )

    monkeypatch.setattr(dynamodb, "dynamodb_client", Throttled)
    monkeypatch.setattr(dynamodb.random, "uniform", lambda low, high: 0.0)  # no back-off

    with pytest.raises(Unavailable, match="throttl"):
        store.write(Replace({"pk": "d", "sk": "d", "title": "second"}, rev=1))

    assert len(attempts) == dynamodb.MAX_ATTEMPTS
    monkeypatch.undo()
    assert store.get("d", "d")["title"] == "first"


def test_a_search_index_write_refused_in_the_transaction_is_value_error(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from catalogue.store import dynamodb

    client = dynamodb_client()
    attempts = []

    class RefusesIndexItems:
        def __getattr__(self, name: str) -> Any:
            return getattr(client, name)

        def transact_write_items(self, **arguments: Any) -> Any:
            attempts.append(arguments)
            # The item's own write passes; the index item beside it is refused.
            reasons = [{"Code": "None"}] * len(arguments["TransactItems"])
            reasons[-1] = {"Code": "ValidationError", "Message": "range key too long"}
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )

    monkeypatch.setattr(dynamodb, "dynamodb_client", RefusesIndexItems)

    with pytest.raises(ValueError, match="range key too long"):
        store.write(Create({"pk": "d", "sk": "d", "search_scope": "doc", "search_text": "fjord"}))

    assert len(attempts) == 1
