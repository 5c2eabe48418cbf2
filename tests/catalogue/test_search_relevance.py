"""Search relevance on a fixed corpus: 30 queries with judged results, NDCG@10 as a floor.

``tests/fixtures/search/corpus.json`` holds 500 datasets (Norwegian and English titles;
no synonyms; made by ``make_corpus.py`` there). For each of 15 information needs three
datasets are judged relevant: the query's words in the title (grade 3), the subject in the
title and the place as a keyword (2), both only in a short description (1); a long
description that mentions both in passing is judged not relevant (0) and must rank below
them. Each need is asked twice: as written, and as typed (the last word cut short, ø and æ
written as o and ae). The other datasets are background from the same subject areas and
places. Ranking is shared by both stores (``catalogue.store.ranking``; the contract suite
proves they agree), so this runs on SQLite.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalogue.repositories.datasets import DatasetRepository
from catalogue.store.base import ItemStore

FIXTURES = Path(__file__).parents[1] / "fixtures" / "search"
# The mean NDCG@10 the ranking reached when this set was written: it must not fall.
NDCG_FLOOR = 1.0


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatasetRepository]:
    from catalogue.store import migrations
    from catalogue.store.factory import open_store
    from tests.fixtures.stores import sqlite_settings

    settings = sqlite_settings(tmp_path_factory.mktemp("relevance") / "home")
    migrations.apply(settings)
    store: ItemStore = open_store(settings)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = iter(range(10**6))
    datasets = DatasetRepository(store, lambda: start + timedelta(seconds=next(ticks)))
    for dataset in json.loads((FIXTURES / "corpus.json").read_text()):
        datasets.create(
            {**dataset, "owner": "team:data", "accessRights": "public"}, principal="user:test"
        )
    yield datasets
    store.close()


QUERIES = json.loads((FIXTURES / "queries.json").read_text())


def top(repository: DatasetRepository, text: str, count: int) -> list[str]:
    page = repository.list({"q": text}, limit=count, cursor=None)
    return [dataset["id"] for dataset in page.items]


def ndcg(ranked: list[str], grades: dict[str, int], depth: int = 10) -> float:
    """Normalised discounted cumulative gain of ``ranked`` at ``depth``."""

    def gain(values: list[int]) -> float:
        return sum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(values))

    ideal = gain(sorted(grades.values(), reverse=True)[:depth])
    return gain([grades.get(dataset, 0) for dataset in ranked[:depth]]) / ideal


def test_the_set_has_30_queries_over_500_datasets() -> None:
    corpus = json.loads((FIXTURES / "corpus.json").read_text())
    assert len(QUERIES) == 30 and len(corpus) == 500
    assert len({dataset["id"] for dataset in corpus}) == 500


@pytest.mark.parametrize("case", QUERIES, ids=[case["q"] for case in QUERIES])
def test_expected_top_3(repository: DatasetRepository, case: dict) -> None:
    assert top(repository, case["q"], 3) == case["top3"]


def test_mean_ndcg_at_10_does_not_fall(repository: DatasetRepository) -> None:
    scores = [ndcg(top(repository, case["q"], 10), case["grades"]) for case in QUERIES]
    mean = sum(scores) / len(scores)
    print(f"mean NDCG@10 over {len(scores)} queries: {mean:.4f}")
    assert mean >= NDCG_FLOOR
