"""Ctrl-C during an upload: the server is told, so no empty newest edition is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from brygge import Client
from brygge.transfers import CHUNK_BYTES
from tests.brygge.conftest import csv_dataset
from tests.e2e.conftest import Server

CSV = "station;value\nAlna;1\nBygdøy;2\n".encode()


def interrupt_after_first_chunk(sent: int, _total: int) -> None:
    raise KeyboardInterrupt  # what Ctrl-C raises mid-transfer


def test_ctrl_c_during_an_upload_aborts_its_run_and_removes_the_edition_it_made(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    first = tmp_path / "januar.csv"
    first.write_bytes(CSV)
    kept = client.upload(dataset_id, first)
    assert client.wait(kept["run"]["id"], interval_s=0.05)["status"] == "SUCCEEDED"
    big = tmp_path / "februar.csv"
    big.write_bytes(b"station;value\n" + b"Alna;1\n" * (3 * CHUNK_BYTES // 7))

    with pytest.raises(KeyboardInterrupt):
        client.upload(dataset_id, big, progress=interrupt_after_first_chunk)

    [cancelled] = [run for run in client.runs(dataset_id) if run["id"] != kept["run"]["id"]]
    assert cancelled["status"] == "ABORTED"
    # The edition the cancelled upload made is gone: latest is the last one with data again.
    editions = [edition["edition"] for edition in client.editions(dataset_id, "1")]
    assert editions == [kept["edition"]]
    assert client.edition(dataset_id, "1", "latest")["edition"] == kept["edition"]
    assert len(list(client.distributions(dataset_id, "1", "latest"))) == 1


def test_ctrl_c_during_an_upload_to_an_existing_edition_keeps_that_edition(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    edition = client.create_edition(dataset_id, "1", {"edition": "20260101T000000"})["edition"]
    big = tmp_path / "februar.csv"
    big.write_bytes(b"station;value\n" + b"Alna;1\n" * (3 * CHUNK_BYTES // 7))

    with pytest.raises(KeyboardInterrupt):
        client.upload(dataset_id, big, "1", edition, progress=interrupt_after_first_chunk)

    [run] = client.runs(dataset_id)
    assert run["status"] == "ABORTED"
    assert [e["edition"] for e in client.editions(dataset_id, "1")] == [edition]


def test_ctrl_c_during_brygge_upload_says_what_became_of_the_upload(
    client: Client,
    brygge_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from brygge import transfers
    from brygge.cli import main

    dataset_id = csv_dataset(client)
    big = tmp_path / "februar.csv"
    big.write_bytes(b"station;value\n" + b"Alna;1\n" * (3 * CHUNK_BYTES // 7))

    def ctrl_c(self: transfers.Counter, count: int) -> None:
        raise KeyboardInterrupt  # the signal, as the first chunk goes out

    monkeypatch.setattr(transfers.Counter, "add", ctrl_c)
    code = main(["--url", brygge_server.url, "upload", str(big), f"ds:{dataset_id}"])

    assert code == 130
    [run] = client.runs(dataset_id)
    assert run["status"] == "ABORTED"
    assert list(client.editions(dataset_id, "1")) == []
    err = capsys.readouterr().err
    assert f"upload cancelled: run {run['id']} aborted" in err
    assert err.strip().endswith("brygge: interrupted")
