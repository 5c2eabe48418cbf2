"""Fixtures of the client's tests: the e2e servers, and a client with no stored profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brygge import Client
from tests.e2e.conftest import Server, brygge_server, moto_server  # noqa: F401 (fixtures)
from tests.e2e.test_local_flow import TWO_STEPS


@pytest.fixture(autouse=True)
def client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own: no profile, config or upload state of the machine leaks in."""
    home = tmp_path / "client-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("BRYGGE_URL", "BRYGGE_TOKEN", "BRYGGE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def client(brygge_server: Server) -> Iterator[Client]:  # noqa: F811 (the fixture above)
    with Client(brygge_server.url, backoff_s=0.01) as sdk:
        yield sdk


def csv_dataset(client: Client, title: str = "Luftkvalitet", **task_config: object) -> str:
    """A public file dataset whose pipeline turns ``;`` CSV into Parquet and publishes it."""
    dataset_id = client.create_dataset(
        {"title": title, "accessRights": "public", "owner": "team:miljo"}
    )["id"]
    try:
        client.pipeline("csv-to-parquet")
    except Exception:
        client.create_pipeline(
            {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
        )
    config = {"delimiter": ";", **task_config}
    client.set_dataset_pipeline(dataset_id, "csv-to-parquet", {"ToParquet": config})
    return dataset_id
