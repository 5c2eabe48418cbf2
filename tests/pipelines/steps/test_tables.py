"""The polars settings steps run their queries with, and how they are put back."""

from __future__ import annotations

import os
import threading

import polars as pl
import pytest

from pipelines.steps import tables

BUDGET = "POLARS_OOC_MEMORY_BUDGET_MB"


def test_the_budget_is_set_for_the_queries_inside_and_removed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BUDGET, raising=False)
    loaded = []
    load = pl.Config.load

    def recording(cfg: str) -> pl.Config:
        loaded.append(cfg)
        return load(cfg)

    # polars reads the variable only when it loads its configuration again.
    monkeypatch.setattr(pl.Config, "load", recording)
    with tables.memory_budget():
        assert os.environ[BUDGET] == str(tables.MEMORY_BUDGET_MB)
        assert len(loaded) == 1
    assert BUDGET not in os.environ
    assert len(loaded) == 2


def test_an_operator_budget_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET, "4096")
    with tables.memory_budget():
        assert os.environ[BUDGET] == "4096"
    assert os.environ[BUDGET] == "4096"


def test_steps_in_threads_keep_the_settings_until_the_last_leaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BUDGET, raising=False)
    monkeypatch.delenv("POLARS_CSV_CHUNK_SIZE", raising=False)
    inside, leave = threading.Event(), threading.Event()

    def other_step() -> None:
        with tables.small_csv_chunks(), tables.memory_budget():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other_step)
    thread.start()
    assert inside.wait(10)
    with tables.small_csv_chunks(), tables.memory_budget():
        pass
    # The first step to leave did not take them from the one still running.
    assert os.environ[BUDGET] == str(tables.MEMORY_BUDGET_MB)
    assert os.environ["POLARS_CSV_CHUNK_SIZE"] == str(tables.CSV_CHUNK_BYTES)
    leave.set()
    thread.join(10)
    assert BUDGET not in os.environ and "POLARS_CSV_CHUNK_SIZE" not in os.environ
