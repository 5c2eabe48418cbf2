"""A failed command's one red line also says what to do about it."""

from __future__ import annotations

import http.server
import json
from pathlib import Path

import pytest

from brygge import Client, ClientError
from brygge.cli import main
from tests.brygge.test_client import scripted  # noqa: F401 (the fixture)


@pytest.fixture
def dataset_file(tmp_path: Path) -> Path:
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"title": "Luft", "owner": "team:miljo"}))
    return path


def test_a_refused_token_says_how_to_give_another(
    scripted: http.server.ThreadingHTTPServer,  # noqa: F811 (the fixture above)
    dataset_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted.script[:] = [401]  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{scripted.server_port}"
    assert main(["--url", url, "datasets", "create", "--file", str(dataset_file)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("brygge: 401 answer 401")
    assert "brygge login" in line
    assert "BRYGGE_TOKEN" in line


def test_a_server_that_does_not_answer_is_named_with_where_the_url_came_from(
    scripted: http.server.ThreadingHTTPServer,  # noqa: F811 (the fixture above)
    dataset_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = scripted.server_port
    scripted.shutdown()
    scripted.server_close()
    url = f"http://127.0.0.1:{port}"
    assert main(["--url", url, "datasets", "create", "--file", str(dataset_file)]) == 1
    # Each retry says so as it waits; the failure is one line at the end.
    *retries, line = capsys.readouterr().err.strip().splitlines()
    assert len(retries) == 4 and all("trying again in" in retry for retry in retries)
    assert f"cannot reach {url}" in line
    assert "is the server running" in line
    assert "--url" in line


def test_a_profile_file_that_is_not_toml_is_one_line_naming_the_file(
    client_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = client_home / ".config" / "brygge" / "config.toml"
    path.parent.mkdir(parents=True)
    # Edited by hand: the URL without its quotes.
    path.write_text("[default]\nurl = http://127.0.0.1:8000\n")

    assert main(["datasets", "ls"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in line
    assert f"{path} is not valid TOML" in line
    assert "line 2" in line


def test_a_url_without_its_scheme_is_refused_at_once_saying_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_retries(_seconds: float) -> None:
        raise AssertionError("a URL that can never work was retried")

    with pytest.raises(ClientError) as refused:
        Client("127.0.0.1:8000", sleep=no_retries)
    assert "http://" in refused.value.message
    assert "127.0.0.1:8000" in refused.value.message

    assert main(["--url", "localhost:8000", "datasets", "ls"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "must start with http:// or https://" in line
    assert "is the server running" not in line
