"""The ``brygge`` commands as data owners run them, against a real ``brygge serve``."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from brygge import Client
from brygge.cli import cli
from brygge.cli.runs import run_table, transfer_progress
from brygge.config import config_path
from tests.brygge.conftest import csv_dataset
from tests.e2e.conftest import Server, brygge_command, start_server, stop_server

CSV = "station;value\nAlna;1\nBygdøy;2\n".encode()


def brygge(
    *args: str, url: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``brygge`` as a person would, with this test's HOME."""
    environment = {**os.environ, **(env or {})}
    if url:
        environment["BRYGGE_URL"] = url
    return subprocess.run(
        [*brygge_command(), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
    )


def test_upload_with_wait_exits_0_and_the_files_download(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    source = tmp_path / "målinger.csv"
    source.write_bytes(CSV)

    uploaded = brygge("upload", str(source), f"ds:{dataset_id}", "--wait", url=brygge_server.url)
    assert uploaded.returncode == 0, uploaded.stderr
    assert "SUCCEEDED" in uploaded.stderr
    assert "ToParquet" in uploaded.stderr

    listed = brygge("runs", "ls", f"ds:{dataset_id}", "--format", "json", url=brygge_server.url)
    [run] = json.loads(listed.stdout)
    assert run["status"] == "SUCCEEDED"
    fetched = brygge(
        "download",
        f"ds:{dataset_id}",
        str(tmp_path / "out"),
        "--format",
        "csv",
        url=brygge_server.url,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "out" / "målinger.parquet").exists()
    assert fetched.stdout.splitlines()[0] == "distribution,path"


def test_a_failing_run_exits_non_zero_then_is_rerun_after_brygge_pipelines_fixes_it(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    schema = {
        "fields": [{"name": "station", "type": "string"}, {"name": "value", "type": "integer"}]
    }
    dataset_id = csv_dataset(client, schema=schema)
    source = tmp_path / "data.csv"
    source.write_bytes(b"station;value\nAlna;many\n")

    uploaded = brygge("upload", str(source), f"ds:{dataset_id}", "--wait", url=brygge_server.url)
    # 3: the run failed, told apart from an upload refused (1), as for a dataset not there.
    assert uploaded.returncode == 3
    nowhere = brygge("upload", str(source), "ds:no-such-dataset", "--wait", url=brygge_server.url)
    assert nowhere.returncode == 1 and "404" in nowhere.stderr
    assert "FAILED in step ToParquet" in uploaded.stderr
    assert "'many' is not a valid integer" in uploaded.stderr
    [run] = client.runs(dataset_id)
    assert f"brygge runs rerun {run['id']}" in uploaded.stderr
    assert "Traceback" not in uploaded.stderr

    fixed = tmp_path / "pipeline.json"
    text_value = {
        "fields": [{"name": "station", "type": "string"}, {"name": "value", "type": "string"}]
    }
    fixed.write_text(
        json.dumps(
            {
                "template": "csv-to-parquet",
                "taskConfig": {"ToParquet": {"delimiter": ";", "schema": text_value}},
            }
        )
    )
    saved = brygge(
        "pipelines",
        "create",
        "--file",
        str(fixed),
        "--dataset",
        f"ds:{dataset_id}",
        url=brygge_server.url,
    )
    assert saved.returncode == 0, saved.stderr
    rerun = brygge("runs", "rerun", run["id"], "--wait", url=brygge_server.url)
    assert rerun.returncode == 0, rerun.stderr
    assert "SUCCEEDED" in rerun.stderr

    newest = next(client.runs(dataset_id))
    assert newest["id"] != run["id"]
    outputs = brygge(
        "download",
        f"ds:{dataset_id}",
        str(tmp_path / "outputs"),
        "--outputs",
        newest["id"],
        "--format",
        "json",
        url=brygge_server.url,
    )
    assert outputs.returncode == 0, outputs.stderr
    steps = {item["step"] for item in json.loads(outputs.stdout)}
    assert "ToParquet" in steps
    assert (tmp_path / "outputs" / "ToParquet" / "data.parquet").exists()


def test_a_failure_is_one_red_line_and_a_non_zero_exit(brygge_server: Server) -> None:
    shown = brygge("datasets", "show", "ds:nowhere", url=brygge_server.url)
    assert shown.returncode == 1
    assert shown.stderr.strip().splitlines() == ["brygge: 404 dataset 'nowhere' not found"]

    unreachable = brygge("datasets", "ls", url="http://127.0.0.1:9")
    assert unreachable.returncode == 1
    # Each retry is told as it waits; the failure itself is the one last line.
    *retries, failure = unreachable.stderr.strip().splitlines()
    assert all("trying again in" in retry for retry in retries)
    assert "cannot reach http://127.0.0.1:9" in failure


def test_an_expired_token_is_refused_in_one_line(tmp_path: Path) -> None:
    from catalogue.repositories.tokens import TokenRepository
    from catalogue.settings import Settings
    from catalogue.store.factory import open_store

    server = start_server(tmp_path, BRYGGE_AUTH="on")
    try:
        settings = Settings.from_env(
            {"BRYGGE_HOME": str(server.home), "BRYGGE_SECRET_KEY": "e2e-secret"}
        )
        # Made an hour ago to last a minute: expired now.
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        token, _record = TokenRepository(open_store(settings), lambda: an_hour_ago).create(
            "user:ola", expires_in=timedelta(minutes=1)
        )
        refused = brygge("datasets", "ls", url=server.url, env={"BRYGGE_TOKEN": token})
    finally:
        stop_server(server)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("brygge: 401")


def test_server_commands_still_work_through_the_same_brygge(tmp_path: Path) -> None:
    migrated = brygge("migrate", "--dry-run", env={"BRYGGE_HOME": str(tmp_path / "home")})
    assert migrated.returncode == 0, migrated.stderr
    assert "would apply" in migrated.stdout


def test_login_checks_the_token_and_stores_a_private_profile(brygge_server: Server) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["login", "--url", brygge_server.url], input="my-token\n")
    assert result.exit_code == 0, result.output
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Client().url == brygge_server.url
    assert Client().token == "my-token"


def test_interactive_create_is_non_public_by_default_and_warns_before_public(
    brygge_server: Server,
) -> None:
    runner = CliRunner()
    base = ["--url", brygge_server.url, "datasets", "create", "--format", "json"]
    answers = "Bysykkel\n\nteam:mobilitet\n\nsykkel, turer\n"
    created = runner.invoke(cli, base, input=answers)
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout[created.stdout.index("{") :])
    assert body["accessRights"] == "non-public"
    assert body["keywords"] == ["sykkel", "turer"]

    public = runner.invoke(cli, base, input="Luft\nMålinger\nteam:miljo\npublic\ny\n\n")
    assert public.exit_code == 0, public.output
    assert "warning: public datasets are open to everyone" in public.output
    assert json.loads(public.stdout[public.stdout.index("{") :])["accessRights"] == "public"

    declined = runner.invoke(cli, base, input="Skjult\n\nteam:miljo\npublic\nn\n\n")
    assert json.loads(declined.stdout[declined.stdout.index("{") :])["accessRights"] == (
        "non-public"
    )


def test_pipelines_validate_names_the_bad_option(brygge_server: Server, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text(
        json.dumps(
            {
                "definition": {
                    "StartAt": "ToParquet",
                    "States": {
                        "ToParquet": {
                            "Type": "Task",
                            "Resource": "brygge:step:csv_to_parquet",
                            "End": True,
                        }
                    },
                }
            }
        )
    )
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"ToParquet": {"delimiter": ";"}}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ToParquet": {"delimeter": ";"}}))
    assert (
        brygge(
            "pipelines", "validate", str(template), "--config", str(good), url=brygge_server.url
        ).returncode
        == 0
    )
    refused = brygge(
        "pipelines", "validate", str(template), "--config", str(bad), url=brygge_server.url
    )
    assert refused.returncode == 1
    assert "taskConfig.ToParquet" in refused.stderr

    # For a script: the problems by field on standard output, the verdict in the exit code.
    as_json = brygge(
        "pipelines",
        "validate",
        str(template),
        "--config",
        str(bad),
        "--format",
        "json",
        url=brygge_server.url,
    )
    assert as_json.returncode == 1
    verdict = json.loads(as_json.stdout)
    assert verdict["valid"] is False
    assert any(field.startswith("taskConfig.ToParquet") for field in verdict["problems"])
    as_csv = brygge(
        "pipelines",
        "validate",
        str(template),
        "--config",
        str(bad),
        "--format",
        "csv",
        url=brygge_server.url,
    )
    assert as_csv.returncode == 1
    assert as_csv.stdout.splitlines()[0] == "field,problem"
    assert "taskConfig.ToParquet" in as_csv.stdout
    valid = brygge(
        "pipelines",
        "validate",
        str(template),
        "--config",
        str(good),
        "--format",
        "json",
        url=brygge_server.url,
    )
    assert valid.returncode == 0
    assert json.loads(valid.stdout) == {"file": str(template), "valid": True, "problems": {}}


def test_the_progress_bar_shows_name_bytes_and_completion_at_a_fixed_width() -> None:
    output = io.StringIO()
    console = Console(file=output, width=80, color_system=None)
    with transfer_progress(console) as bar:
        task = bar.add_task("data.csv", total=2 * 1024 * 1024)
        bar.update(task, completed=1024 * 1024)
        bar.update(task, completed=2 * 1024 * 1024)
    last = output.getvalue().splitlines()[-1]
    assert "data.csv" in last
    assert "2.1/2.1 MB" in last
    assert all(len(line) <= 80 for line in output.getvalue().splitlines())


def test_the_run_view_has_a_line_per_step_with_status_duration_and_rows() -> None:
    run = {
        "id": "luft-1",
        "status": "FAILED",
        "steps": [
            {
                "name": "ToParquet",
                "status": "SUCCEEDED",
                "startedAt": "2026-01-01T00:00:00+00:00",
                "endedAt": "2026-01-01T00:00:02.5+00:00",
                "outputs": [{"rows": 120}],
            },
            {"name": "Publish", "status": "FAILED", "outputs": []},
        ],
    }
    output = io.StringIO()
    Console(file=output, width=60, color_system=None).print(run_table(run))
    lines = [line.split() for line in output.getvalue().splitlines()]
    assert ["run", "luft-1", "FAILED"] in lines
    assert ["ToParquet", "SUCCEEDED", "2.5", "s", "120"] in lines
    assert ["Publish", "FAILED"] in lines


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_every_list_renders_in_each_format(client: Client, brygge_server: Server, fmt: str) -> None:
    client.create_dataset({"title": "A, with comma", "accessRights": "public", "owner": "team:a"})
    listed = brygge("datasets", "ls", "--format", fmt, url=brygge_server.url)
    assert listed.returncode == 0, listed.stderr
    if fmt == "json":
        assert json.loads(listed.stdout)[0]["title"] == "A, with comma"
    elif fmt == "csv":
        assert '"A, with comma"' in listed.stdout
    else:
        assert "A, with comma" in listed.stdout


def test_delete_cascade_removes_an_edition_or_a_version_with_its_files(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    source = tmp_path / "data.csv"
    source.write_bytes(CSV)
    first = client.upload(dataset_id, source)
    client.wait(first["run"]["id"], interval_s=0.05)
    second = client.upload(dataset_id, source)
    client.wait(second["run"]["id"], interval_s=0.05)
    runner = CliRunner()
    base = ["--url", brygge_server.url, "datasets", "delete"]

    refused = runner.invoke(cli, [*base, f"ds:{dataset_id}/1/{first['edition']}", "--yes"])
    assert refused.exit_code == 1
    assert "--cascade" in str(refused.exception)

    edition = f"ds:{dataset_id}/1/{first['edition']}"
    deleted = runner.invoke(cli, [*base, edition, "--cascade", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert [item["edition"] for item in client.editions(dataset_id, "1")] == [second["edition"]]

    deleted = runner.invoke(cli, [*base, f"ds:{dataset_id}/1", "--cascade", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert list(client.versions(dataset_id)) == []


def test_grants_are_listed_set_and_revoked(client: Client, brygge_server: Server) -> None:
    client.create_dataset(
        {"id": "skjult", "title": "Skjult", "accessRights": "non-public", "owner": "team:miljo"}
    )
    runner = CliRunner()
    base = ["--url", brygge_server.url, "grants"]

    granted = runner.invoke(
        cli, [*base, "set", "ds:skjult", "user:kari", "--scope", "read", "--scope", "write"]
    )
    assert granted.exit_code == 0, granted.output
    listed = runner.invoke(cli, [*base, "ls", "ds:skjult", "--format", "json"])
    assert {item["principal"]: item["scopes"] for item in json.loads(listed.stdout)} == {
        "team:miljo": ["read", "update", "write", "admin"],
        "user:kari": ["read", "write"],
    }
    refused = runner.invoke(cli, [*base, "set", "ds:skjult", "kari", "--scope", "read"])
    assert refused.exit_code == 1
    assert "user:<name>" in str(refused.exception)

    revoked = runner.invoke(cli, [*base, "revoke", "ds:skjult", "user:kari"])
    assert revoked.exit_code == 0, revoked.output
    assert [item["principal"] for item in client.permissions("skjult")] == ["team:miljo"]


def test_abort_with_wait_exits_0_when_the_run_is_aborted(
    client: Client, brygge_server: Server
) -> None:
    dataset_id = csv_dataset(client)
    # An upload URL asked for and not used: its run waits for the file.
    upload = client.resource(
        "POST", f"/datasets/{dataset_id}/versions/1/uploads", json={"filename": "januar.csv"}
    )
    run_id = upload["run"]["id"]
    aborted = brygge("runs", "abort", run_id, "--wait", url=brygge_server.url)
    assert aborted.returncode == 0, aborted.stderr
    assert f"run {run_id} ABORTED" in aborted.stderr
    assert "rerun" not in aborted.stderr
    assert client.run(run_id)["status"] == "ABORTED"


def test_datasets_ls_filters_by_access_rights_and_state(
    client: Client, brygge_server: Server
) -> None:
    client.create_dataset({"title": "Open", "accessRights": "public", "owner": "team:a"})
    closed = client.create_dataset(
        {"title": "Closed", "accessRights": "non-public", "owner": "team:a"}
    )
    client.update_dataset(closed["id"], {"state": "deprecated"})

    def titles(*options: str) -> list[str]:
        listed = brygge("datasets", "ls", *options, "--format", "json", url=brygge_server.url)
        assert listed.returncode == 0, listed.stderr
        return sorted(item["title"] for item in json.loads(listed.stdout))

    assert titles() == ["Closed", "Open"]
    assert titles("--access-rights", "non-public") == ["Closed"]
    assert titles("--state", "active") == ["Open"]
    refused = brygge("datasets", "ls", "--access-rights", "secret", url=brygge_server.url)
    assert refused.returncode == 2
    assert "secret" in refused.stderr


def test_a_saved_template_is_replaced_with_replace_and_the_clash_says_so(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    template = tmp_path / "kommune-csv.json"
    states = {"ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "End": True}}
    body = {"id": "kommune-csv", "title": "Kommunal CSV", "definition": {"StartAt": "ToParquet"}}
    body["definition"]["States"] = states
    template.write_text(json.dumps(body))
    runner = CliRunner()
    base = ["--url", brygge_server.url, "pipelines", "create", "--file", str(template)]
    assert runner.invoke(cli, base).exit_code == 0

    body["title"] = "Kommunal CSV, semikolon"
    template.write_text(json.dumps(body))
    clash = brygge(*base[2:], url=brygge_server.url)
    assert clash.returncode == 1
    [line] = clash.stderr.strip().splitlines()
    assert "already exists" in line
    assert f"brygge pipelines create --file {template} --replace" in line

    replaced = brygge(*base[2:], "--replace", "--format", "json", url=brygge_server.url)
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout)["version"] == 2
    assert "datasets keep the version they run" in replaced.stderr
    assert client.pipeline("kommune-csv")["title"] == "Kommunal CSV, semikolon"


def test_interactive_create_asks_again_for_an_owner_that_is_not_a_team(
    brygge_server: Server,
) -> None:
    runner = CliRunner()
    base = ["--url", brygge_server.url, "datasets", "create", "--format", "json"]
    # "miljo" where team:miljo was meant: asked again, the other answers kept.
    created = runner.invoke(cli, base, input="Bydelsfakta\nTall per bydel\nmiljo\nteam:miljo\n\n\n")
    assert created.exit_code == 0, created.output
    assert "team:<name>" in created.output
    body = json.loads(created.stdout[created.stdout.index("{") :])
    assert (body["owner"], body["description"]) == ("team:miljo", "Tall per bydel")


def test_datasets_publishability_lists_why_publishing_would_leave_a_dataset_out(
    client: Client, brygge_server: Server
) -> None:
    client.create_dataset(
        {"id": "skjult", "title": "Skjult", "accessRights": "non-public", "owner": "team:x"}
    )
    runner = CliRunner()
    base = ["--url", brygge_server.url, "datasets", "publishability"]

    shown = runner.invoke(cli, [*base, "ds:skjult"])
    as_json = runner.invoke(cli, [*base, "ds:skjult", "--format", "json"])

    assert shown.exit_code == 0, shown.output
    # The server's one publish gate decides; the command shows each reason by its field.
    gate = client.publishability("skjult")
    assert not gate["publishable"]
    fields = [problem["field"] for problem in gate["missing"]]
    assert {"accessRights", "license", "publisher", "themes"} <= set(fields)
    assert "not published" in shown.stdout
    for problem in gate["missing"]:
        assert problem["field"] in shown.stdout
    assert "only public datasets are published as open data" in shown.stdout
    assert json.loads(as_json.stdout) == dict(gate)


def test_datasets_publishability_says_so_when_nothing_is_missing(
    client: Client, brygge_server: Server
) -> None:
    client.create_dataset(
        {
            "id": "apen",
            "title": "Åpen",
            "description": "Målinger",
            "accessRights": "public",
            "owner": "team:x",
            "publisher": "Oslo kommune",
            "contactPoint": {"name": "Kari", "email": "kari@example.org"},
            "themes": ["ENVI"],
            "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
        }
    )
    shown = CliRunner().invoke(
        cli, ["--url", brygge_server.url, "datasets", "publishability", "ds:apen"]
    )
    assert shown.exit_code == 0, shown.output
    assert "ds:apen is publishable" in shown.stdout
