"""The ``brygge`` command: the data owners' commands (click), and the server's, loaded lazily.

``brygge serve|migrate|token|publish|deploy`` hand their arguments to ``catalogue.cli``, which
is imported only then: ``brygge upload`` and the other client commands load no server code.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from brygge import config
from brygge.client import TERMINAL_RUN_STATUSES, Client
from brygge.resources import ClientError, Resource

SERVER_COMMANDS = {
    "serve": "run the API (applies migrations first)",
    "migrate": "apply pending migrations",
    "token": "create, list and revoke API tokens",
    "publish": "publish public datasets and the DCAT-AP feed as open data",
    "deploy": "AWS deployment plan (makes no AWS calls)",
}
FORMATS = click.Choice(["table", "json", "csv"])


@dataclass
class Context:
    """What every command shares: where the API is, and where output goes."""

    url: str | None
    profile: str | None
    console: Console
    errors: Console

    def client(self) -> Client:
        return Client(self.url, profile=self.profile)


pass_context = click.make_pass_decorator(Context)


# -- addressing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Uri:
    """``ds:<id>[/<version>[/<edition>]]``."""

    dataset: str
    version: str | None = None
    edition: str | None = None

    def __str__(self) -> str:
        return "ds:" + "/".join(part for part in (self.dataset, self.version, self.edition) if part)


def parse_uri(text: str) -> Uri:
    """Read a dataset URI; raises click.BadParameter naming the expected shape."""
    body = text.removeprefix("ds:")
    parts = body.split("/")
    if not body or len(parts) > 3 or not all(parts):
        raise click.BadParameter(f"{text!r} is not ds:<id>[/<version>[/<edition>]]")
    return Uri(*parts)


class UriType(click.ParamType):
    name = "ds:<id>[/<version>[/<edition>]]"

    def convert(self, value: Any, param: Any, ctx: Any) -> Uri:
        if isinstance(value, Uri):
            return value
        try:
            return parse_uri(str(value))
        except click.BadParameter as error:
            self.fail(error.message, param, ctx)


URI = UriType()


# -- output --------------------------------------------------------------------------------


def render(
    ctx: Context, rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str
) -> None:
    """Print rows as a table, JSON (a list of the full objects) or CSV (the columns)."""
    items = list(rows)
    if fmt == "json":
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(item.get(column)) for column in columns] for item in items)
        click.echo(buffer.getvalue(), nl=False)
        return
    table = Table(*columns, box=None, header_style="bold")
    for item in items:
        table.add_row(*(cell(item.get(column)) for column in columns))
    ctx.console.print(table)


def render_one(ctx: Context, item: Mapping[str, Any], fmt: str) -> None:
    """Print one resource: every field as ``name  value`` lines, or JSON / CSV."""
    if fmt == "json":
        click.echo(json.dumps(item, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        render(ctx, [item], list(item), "csv")
    else:
        table = Table(box=None, show_header=False)
        for name, value in item.items():
            table.add_row(f"[bold]{name}[/bold]", cell(value))
        ctx.console.print(table)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return ", ".join(value)
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def format_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default="table",
        show_default=True,
        help="table for people, json (stable) or csv for scripts.",
    )(function)


def read_json_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"{path}: {error}") from None


# -- the group -----------------------------------------------------------------------------


class BryggeGroup(click.Group):
    """The client's commands, plus the server's, listed under their own heading."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        client_rows = [
            (name, (self.commands[name].get_short_help_str(60)))
            for name in sorted(self.commands)
            if name not in SERVER_COMMANDS
        ]
        with formatter.section("Data owners' commands"):
            formatter.write_dl(client_rows)
        with formatter.section("Server commands (need the server install)"):
            formatter.write_dl(sorted(SERVER_COMMANDS.items()))


@click.group(
    cls=BryggeGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Examples:\n\n\b\n  brygge login --url https://brygge.example.org\n"
    "  brygge datasets ls --owner team:miljo\n  brygge upload data.csv ds:luftkvalitet --wait\n"
    "  brygge runs watch luftkvalitet-0a1b2c\n\nShell completion: "
    'eval "$(_BRYGGE_COMPLETE=bash_source brygge)"',
)
@click.option("--url", envvar="BRYGGE_URL", help="The API (default: BRYGGE_URL, else the profile).")
@click.option("--profile", envvar="BRYGGE_PROFILE", help="Profile of ~/.config/brygge/config.toml.")
@click.version_option("0.1.0", prog_name="brygge")
@click.pass_context
def cli(click_ctx: click.Context, url: str | None, profile: str | None) -> None:
    """Brygge for data owners: datasets, uploads, runs and downloads."""
    click_ctx.obj = Context(url, profile, Console(), Console(stderr=True))


def server_command(name: str) -> click.Command:
    @click.command(
        name,
        help=SERVER_COMMANDS[name],
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def forward(args: tuple[str, ...]) -> None:
        sys.exit(run_server_command([name, *args]))

    return forward


def run_server_command(argv: list[str]) -> int:
    """Hand ``argv`` to the server's argparse command; a client-only install says so."""
    try:
        from catalogue import cli as server_cli
    except ImportError:
        click.secho(
            f"brygge {argv[0]}: a server command; install the server (pip install brygge)",
            fg="red",
            err=True,
        )
        return 2
    return int(server_cli.main(argv))


for _name in SERVER_COMMANDS:
    cli.add_command(server_command(_name))


# -- login ---------------------------------------------------------------------------------


@cli.command(epilog="Example:\n\n  brygge login --url https://brygge.example.org --profile prod")
@click.option("--url", "login_url", help="The API's URL (default: the profile's, or BRYGGE_URL).")
@click.option("--profile", "login_profile", default=None, help="Profile name (default: default).")
@click.option("--token", envvar="BRYGGE_TOKEN", help="The token (asked for when not given).")
@pass_context
def login(
    ctx: Context, login_url: str | None, login_profile: str | None, token: str | None
) -> None:
    """Check a token with GET /me and store it in a profile (a 0600 file)."""
    name = login_profile or ctx.profile or config.DEFAULT_PROFILE
    path = config.config_path()
    stored = config.read_profile(name, path)
    url = login_url or ctx.url or (stored.url if stored else None)
    if not url:
        url = click.prompt("Brygge URL")
    if token is None:
        token = click.prompt(
            "Token (input hidden)", hide_input=True, default="", show_default=False
        )
    with Client(url, token or "") as client:
        me = client.me()
    config.save_profile(name, config.Profile(url, token or None), path)
    ctx.errors.print(f"logged in to {url} as {me.get('principal')} (profile {name}, {path})")


# -- datasets ------------------------------------------------------------------------------

DATASET_COLUMNS = ["id", "title", "accessRights", "owner", "state", "modified"]


@cli.group()
def datasets() -> None:
    """List, show, create, edit and delete datasets (URIs: ds:<id>[/<version>[/<edition>]])."""


@datasets.command(
    "ls",
    epilog="Examples:\n\n\b\n  brygge datasets ls --owner team:miljo --format csv\n"
    "  brygge datasets ls ds:luftkvalitet        (its versions)\n"
    "  brygge datasets ls ds:luftkvalitet/1      (its editions)\n"
    "  brygge datasets ls ds:luftkvalitet/1/latest   (the distributions)",
)
@click.argument("uri", type=URI, required=False)
@click.option("--owner", help="Only this owner team (team:<name>).")
@click.option("--keyword", help="Only datasets with this keyword.")
@click.option("--theme", help="Only datasets of this EU data theme code.")
@click.option("--q", help="Full-text search.")
@format_option
@pass_context
def datasets_ls(
    ctx: Context,
    uri: Uri | None,
    owner: str | None,
    keyword: str | None,
    theme: str | None,
    q: str | None,
    fmt: str,
) -> None:
    """List datasets; or a dataset's versions, a version's editions, an edition's files."""
    with ctx.client() as client:
        if uri is None:
            rows = client.datasets(owner=owner, keyword=keyword, theme=theme, q=q)
            render(ctx, rows, DATASET_COLUMNS, fmt)
        elif uri.version is None:
            render(ctx, client.versions(uri.dataset), ["version", "description"], fmt)
        elif uri.edition is None:
            rows = client.editions(uri.dataset, uri.version)
            render(ctx, rows, ["edition", "description", "created", "run"], fmt)
        else:
            rows = client.distributions(uri.dataset, uri.version, uri.edition)
            render(ctx, rows, ["id", "filenames", "format", "byteSize", "created"], fmt)


@datasets.command("show", epilog="Example:\n\n  brygge datasets show ds:luftkvalitet/1/latest")
@click.argument("uri", type=URI)
@format_option
@pass_context
def datasets_show(ctx: Context, uri: Uri, fmt: str) -> None:
    """Show a dataset, a version or an edition."""
    with ctx.client() as client:
        render_one(ctx, fetch(client, uri), fmt)


def fetch(client: Client, uri: Uri) -> Resource:
    if uri.edition:
        return client.edition(uri.dataset, str(uri.version), uri.edition)
    if uri.version:
        return client.version(uri.dataset, uri.version)
    return client.dataset(uri.dataset)


@datasets.command(
    "create",
    epilog="Examples:\n\n\b\n  brygge datasets create            (asks, with defaults)\n"
    "  brygge datasets create --file dataset.json",
)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), help="JSON body.")
@format_option
@pass_context
def datasets_create(ctx: Context, file: str | None, fmt: str) -> None:
    """Create a dataset from a file, or by answering questions (non-public unless chosen)."""
    body = read_json_file(file) if file else ask_dataset(ctx)
    with ctx.client() as client:
        created = client.create_dataset(body)
    ctx.errors.print(f"created {Uri(created['id'])}")
    render_one(ctx, created, fmt)


def ask_dataset(ctx: Context) -> dict[str, Any]:
    """The questions of ``datasets create``; public only when chosen and confirmed."""
    title = click.prompt("Title")
    description = click.prompt("Description", default="", show_default=False)
    owner = click.prompt("Owner team (team:<name>)")
    access = click.prompt(
        "Access rights",
        type=click.Choice(["non-public", "restricted", "public"]),
        default="non-public",
    )
    if access == "public":
        ctx.errors.print(
            "[yellow]warning: public datasets are open to everyone and published as open "
            "data; access rights cannot be changed later[/yellow]"
        )
        if not click.confirm("Make it public?", default=False):
            access = "non-public"
    keywords = click.prompt("Keywords (comma-separated)", default="", show_default=False)
    body: dict[str, Any] = {"title": title, "owner": owner, "accessRights": access}
    if description:
        body["description"] = description
    if keywords.strip():
        body["keywords"] = [word.strip() for word in keywords.split(",") if word.strip()]
    return body


@datasets.command(
    "edit",
    epilog="Examples:\n\n\b\n  brygge datasets edit ds:luftkvalitet --title 'Luftkvalitet i Oslo'\n"
    "  brygge datasets edit ds:luftkvalitet --file changes.json",
)
@click.argument("uri", type=URI)
@click.option("--title")
@click.option("--description")
@click.option("--keyword", "keywords", multiple=True, help="Replaces the keywords; repeatable.")
@click.option("--state", type=click.Choice(["active", "deprecated"]))
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), help="Merge patch.")
@format_option
@pass_context
def datasets_edit(
    ctx: Context,
    uri: Uri,
    title: str | None,
    description: str | None,
    keywords: tuple[str, ...],
    state: str | None,
    file: str | None,
    fmt: str,
) -> None:
    """Change a dataset with a merge patch, only if nobody changed it meanwhile (If-Match)."""
    changes: dict[str, Any] = dict(read_json_file(file)) if file else {}
    flags = {"title": title, "description": description, "state": state}
    changes.update({name: value for name, value in flags.items() if value is not None})
    if keywords:
        changes["keywords"] = list(keywords)
    if not changes:
        raise click.UsageError("nothing to change: give --title, --description, ... or --file")
    with ctx.client() as client:
        current = client.dataset(uri.dataset)
        updated = client.update_dataset(uri.dataset, changes, etag=current.etag)
    render_one(ctx, updated, fmt)


@datasets.command(
    "delete", epilog="Example:\n\n  brygge datasets delete ds:old-data --cascade --yes"
)
@click.argument("uri", type=URI)
@click.option("--cascade", is_flag=True, help="Also delete its versions, editions and files.")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_context
def datasets_delete(ctx: Context, uri: Uri, cascade: bool, yes: bool) -> None:
    """Delete a dataset, a version or an edition."""
    if not yes:
        click.confirm(f"Delete {uri}{' and everything in it' if cascade else ''}?", abort=True)
    with ctx.client() as client:
        if uri.edition:
            client.delete_edition(uri.dataset, str(uri.version), uri.edition)
        elif uri.version:
            client.delete_version(uri.dataset, uri.version)
        else:
            client.delete_dataset(uri.dataset, cascade=cascade)
    ctx.errors.print(f"deleted {uri}")


# -- upload and runs -----------------------------------------------------------------------


def transfer_progress(console: Console) -> Progress:
    """A bar with bytes, rate and time left, as rich's downloader example."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@cli.command(
    epilog="Examples:\n\n\b\n  brygge upload målinger.csv ds:luftkvalitet --wait\n"
    "  brygge upload data.xlsx ds:luftkvalitet/2/20260101T000000",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("uri", type=URI)
@click.option("--wait", is_flag=True, help="Follow the run; exit 0 if it succeeds, 1 if not.")
@click.option("--content-type", help="Media type (default: guessed from the name).")
@format_option
@pass_context
def upload(
    ctx: Context, file: Path, uri: Uri, wait: bool, content_type: str | None, fmt: str
) -> None:
    """Upload a file to a dataset (a new edition unless the URI names one)."""
    with ctx.client() as client:
        with transfer_progress(ctx.errors) as bar:
            task = bar.add_task(file.name, total=file.stat().st_size)
            answer = client.upload(
                uri.dataset,
                file,
                uri.version or "1",
                uri.edition,
                content_type=content_type,
                progress=lambda sent, _total: bar.update(task, completed=sent),
            )
        run_id = answer["run"]["id"]
        ctx.errors.print(f"uploaded to {Uri(uri.dataset, uri.version or '1', answer['edition'])}")
        if not wait:
            render_one(
                ctx, {"edition": answer["edition"], "key": answer["key"], "run": run_id}, fmt
            )
            return
        run = follow(ctx, client, run_id)
    finish(ctx, run, fmt)


def follow(ctx: Context, client: Client, run_id: str) -> Resource:
    """Show the run live, a line per step, until it ends; returns the ended run."""
    run: Resource | None = None
    with Live(run_table(Resource({"id": run_id})), console=ctx.errors, auto_refresh=False) as live:
        for event in client.watch(run_id):
            run = event.run
            live.update(run_table(run), refresh=True)
    if not ctx.errors.is_terminal:
        ctx.errors.line()  # a Live that is not on a terminal leaves its last line open
    assert run is not None  # watch yields at least the run's status
    return run


STATUS_STYLES = {"SUCCEEDED": "green", "FAILED": "red", "ABORTED": "red", "RUNNING": "yellow"}


def run_table(run: Mapping[str, Any]) -> Table:
    """The live view of a run: its status, then a line per step."""
    status = str(run.get("status") or "...")
    style = STATUS_STYLES.get(status, "")
    table = Table(
        title=f"run {run.get('id')}  [{style}]{status}[/{style}]"
        if style
        else f"run {run.get('id')}  {status}",
        box=None,
        title_justify="left",
    )
    for column in ("step", "status", "duration", "rows"):
        table.add_column(column, justify="right" if column in ("duration", "rows") else "left")
    for step in run.get("steps") or []:
        step_style = STATUS_STYLES.get(str(step.get("status")), "")
        rows = [output.get("rows") for output in step.get("outputs") or []]
        table.add_row(
            step.get("name", ""),
            f"[{step_style}]{step.get('status')}[/{step_style}]"
            if step_style
            else str(step.get("status")),
            duration(step.get("startedAt"), step.get("endedAt")),
            str(sum(row for row in rows if row is not None))
            if any(row is not None for row in rows)
            else "",
        )
    return table


def duration(started: str | None, ended: str | None) -> str:
    from datetime import datetime

    if not started or not ended:
        return ""
    try:
        seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    return f"{seconds:.1f} s"


def readable_cause(cause: str) -> str:
    """A run's cause as a person reads it: Lambda's JSON error payload becomes its message."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
        return payload["errorMessage"]
    return cause


def finish(ctx: Context, run: Mapping[str, Any], fmt: str) -> None:
    """Exit 0 for a run that succeeded; else print why and how to run it again, exit 1."""
    if fmt == "json":
        click.echo(json.dumps(run, indent=2, ensure_ascii=False))
    if run.get("status") == "SUCCEEDED":
        ctx.errors.print(f"[green]run {run['id']} SUCCEEDED[/green]")
        return
    failed = [step for step in run.get("steps") or [] if step.get("status") == "FAILED"]
    error = (failed[0].get("error") if failed else None) or run.get("error") or {}
    where = f"step {failed[0]['name']}" if failed else "the run"
    ctx.errors.print(f"[red]run {run['id']} {run.get('status')} in {where}[/red]")
    if error:
        ctx.errors.print(f"  error: {error.get('error')}")
        if error.get("cause"):
            ctx.errors.print(f"  cause: {readable_cause(error['cause'])}", markup=False)
    dataset = Uri(str(run.get("dataset") or "<id>"))
    ctx.errors.print(
        f"after fixing the settings (brygge pipelines create --dataset {dataset} "
        f"--file ...), run it again from the start:\n  brygge runs rerun {run['id']}\n"
        f"(brygge runs redrive {run['id']} retries the failed step with the same settings)",
        markup=False,
    )
    sys.exit(1)


RUN_COLUMNS = ["id", "status", "edition", "created", "endedAt"]


@cli.group()
def runs() -> None:
    """Follow and steer pipeline runs."""


@runs.command("ls", epilog="Example:\n\n  brygge runs ls ds:luftkvalitet --format json")
@click.argument("uri", type=URI)
@format_option
@pass_context
def runs_ls(ctx: Context, uri: Uri, fmt: str) -> None:
    """List a dataset's runs, newest first."""
    with ctx.client() as client:
        render(ctx, client.runs(uri.dataset), RUN_COLUMNS, fmt)


@runs.command("show", epilog="Example:\n\n  brygge runs show luftkvalitet-0a1b2c")
@click.argument("run_id")
@format_option
@pass_context
def runs_show(ctx: Context, run_id: str, fmt: str) -> None:
    """Show a run and each of its steps."""
    with ctx.client() as client:
        run = client.run(run_id)
    if fmt == "table":
        ctx.console.print(run_table(run))
    else:
        render_one(ctx, run, fmt)


@runs.command("watch", epilog="Example:\n\n  brygge runs watch luftkvalitet-0a1b2c")
@click.argument("run_id")
@format_option
@pass_context
def runs_watch(ctx: Context, run_id: str, fmt: str) -> None:
    """Follow a run until it ends; exit 0 if it succeeded, 1 if not."""
    with ctx.client() as client:
        if fmt == "table":
            run = follow(ctx, client, run_id)
        else:
            run = None
            for event in client.watch(run_id):
                run = event.run
                if fmt == "json" and event.step is not None:
                    click.echo(json.dumps({"step": event.step["name"], "status": event.status}))
    assert run is not None
    finish(ctx, run, "table")


def run_action(name: str, summary: str, call: Callable[[Client, str], Resource]) -> None:
    @runs.command(name, help=summary, epilog=f"Example:\n\n  brygge runs {name} RUN --wait")
    @click.argument("run_id")
    @click.option("--wait", is_flag=True, help="Follow the run until it ends.")
    @format_option
    @pass_context
    def action(ctx: Context, run_id: str, wait: bool, fmt: str) -> None:
        with ctx.client() as client:
            run = call(client, run_id)
            if wait:
                if run.get("status") not in TERMINAL_RUN_STATUSES:
                    run = follow(ctx, client, run["id"])
                finish(ctx, run, fmt)
                return
        render_one(ctx, {key: run.get(key) for key in RUN_COLUMNS}, fmt)


run_action("redrive", "Run a failed run again from the step that failed.", Client.redrive_run)
run_action(
    "rerun", "Run a run's input again from the start with the current pipeline.", Client.rerun
)
run_action("abort", "Abort a waiting or running run.", Client.abort_run)


# -- download ------------------------------------------------------------------------------


@cli.command(
    epilog="Examples:\n\n\b\n  brygge download ds:luftkvalitet            (newest edition)\n"
    "  brygge download ds:luftkvalitet/1/20260101T000000 data/\n"
    "  brygge download ds:luftkvalitet out/ --outputs luftkvalitet-0a1b2c",
)
@click.argument("uri", type=URI)
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--outputs", "run_id", help="Instead, a run's intermediate and rejects files (one per step)."
)
@format_option
@pass_context
def download(ctx: Context, uri: Uri, directory: Path, run_id: str | None, fmt: str) -> None:
    """Download the files of an edition (default: the newest edition that has any)."""
    if run_id:
        render(ctx, download_outputs(ctx, run_id, directory), ["step", "n", "path"], fmt)
        return
    with ctx.client() as client:
        version = uri.version or "1"
        edition, files = edition_files(client, uri.dataset, version, uri.edition)
        saved = []
        with transfer_progress(ctx.errors) as bar:
            for distribution in files:
                name = cell(distribution.get("filenames")) or distribution["id"]
                task = bar.add_task(name, total=distribution.get("byteSize"))
                path = client.download(
                    uri.dataset,
                    version,
                    edition,
                    distribution["id"],
                    directory,
                    progress=lambda sent, _total, task=task: bar.update(task, completed=sent),
                )
                saved.append({"distribution": distribution["id"], "path": str(path)})
    render(ctx, saved, ["distribution", "path"], fmt)


def download_outputs(ctx: Context, run_id: str, directory: Path) -> list[dict[str, Any]]:
    """Every output of a run into ``directory/<step>/``."""
    saved = []
    with ctx.client() as client, transfer_progress(ctx.errors) as bar:
        for step in client.run(run_id).get("steps") or []:
            for output in step.get("outputs") or []:
                name = str(output.get("key", "")).rpartition("/")[2]
                task = bar.add_task(f"{step['name']}/{name}", total=output.get("bytes"))
                path = client.download_output(
                    run_id,
                    output["n"],
                    directory / step["name"],
                    progress=lambda sent, _total, task=task: bar.update(task, completed=sent),
                )
                saved.append({"step": step["name"], "n": output["n"], "path": str(path)})
    return saved


def edition_files(
    client: Client, dataset_id: str, version: str, edition: str | None
) -> tuple[str, list[Resource]]:
    """The edition asked for, or the newest with files, and its file distributions."""
    if edition:
        names = [edition]
    else:
        names = sorted(
            (item["edition"] for item in client.editions(dataset_id, version)), reverse=True
        )
    for name in names:
        files = [
            item
            for item in client.distributions(dataset_id, version, name)
            if item.get("type", "file") == "file"
        ]
        if files:
            return name, files
    where = f"ds:{dataset_id}/{version}" + (f"/{edition}" if edition else "")
    raise ClientError(404, f"{where} has no edition with files to download")


# -- pipelines and steps -------------------------------------------------------------------


@cli.group()
def pipelines() -> None:
    """Pipeline templates, and checking a pipeline before anything is saved."""


@pipelines.command("ls")
@format_option
@pass_context
def pipelines_ls(ctx: Context, fmt: str) -> None:
    """List pipeline templates."""
    with ctx.client() as client:
        render(ctx, client.pipelines(), ["id", "title", "modified"], fmt)


@pipelines.command(
    "show",
    epilog="Examples:\n\n\b\n  brygge pipelines show csv-to-parquet\n"
    "  brygge pipelines show ds:luftkvalitet   (the dataset's pipeline)",
)
@click.argument("name")
@format_option
@pass_context
def pipelines_show(ctx: Context, name: str, fmt: str) -> None:
    """Show a template, or (for ds:<id>) a dataset's pipeline."""
    with ctx.client() as client:
        if name.startswith("ds:"):
            item = client.dataset_pipeline(parse_uri(name).dataset)
        else:
            item = client.pipeline(name)
    render_one(ctx, item, "json" if fmt == "table" else fmt)


@pipelines.command(
    "create",
    epilog="Examples:\n\n\b\n  brygge pipelines create --file template.json\n"
    "  brygge pipelines create --file pipeline.json --dataset ds:luftkvalitet",
)
@click.option("--file", "file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", type=URI, help="Set this dataset's pipeline ({template, taskConfig}).")
@format_option
@pass_context
def pipelines_create(ctx: Context, file: str, dataset: Uri | None, fmt: str) -> None:
    """Save a template, or a dataset's pipeline (replacing the one it had)."""
    body = read_json_file(file)
    with ctx.client() as client:
        if dataset:
            saved = client.set_dataset_pipeline(
                dataset.dataset, body.get("template"), body.get("taskConfig")
            )
        else:
            saved = client.create_pipeline(body)
    render_one(ctx, saved, "json" if fmt == "table" else fmt)


@pipelines.command(
    "validate",
    epilog="Examples:\n\n\b\n  brygge pipelines validate template.json --config config.json\n"
    "  brygge pipelines validate pipeline.json --dataset ds:luftkvalitet",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A taskConfig to check against the template.",
)
@click.option("--dataset", type=URI, help="Check FILE as this dataset's {template, taskConfig}.")
@pass_context
def pipelines_validate(
    ctx: Context, file: str, config_file: str | None, dataset: Uri | None
) -> None:
    """Check a template (and taskConfig) with the server's rules, saving nothing."""
    body = read_json_file(file)
    task_config = read_json_file(config_file) if config_file else None
    with ctx.client() as client:
        if dataset:
            client.validate_dataset_pipeline(
                dataset.dataset, body.get("template"), task_config or body.get("taskConfig")
            )
        else:
            definition = body.get("definition", body) if isinstance(body, dict) else body
            client.validate_pipeline(definition, task_config or body.get("taskConfig"))
    ctx.console.print(f"[green]{file} is valid[/green]")


@cli.command(epilog="Examples:\n\n\b\n  brygge steps\n  brygge steps csv_to_parquet")
@click.argument("name", required=False)
@format_option
@pass_context
def steps(ctx: Context, name: str | None, fmt: str) -> None:
    """The step catalogue; with NAME, that step's options and their JSON Schema."""
    with ctx.client() as client:
        if name:
            step = client.step(name)
            if fmt != "table":
                render_one(ctx, step, fmt)
                return
            properties = (step.get("options") or {}).get("properties") or {}
            rows = [
                {
                    "option": option,
                    "type": spec.get("type", ""),
                    "description": spec.get("description", ""),
                }
                for option, spec in properties.items()
            ]
            render(ctx, rows, ["option", "type", "description"], fmt)
        else:
            listed = client.steps()
            if fmt == "table":
                # A table shows the description's first line; json and csv carry it whole.
                listed = [
                    Resource(step, description=first_line(step.get("description")))
                    for step in listed
                ]
            render(ctx, listed, ["name", "description"], fmt)


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brygge``: one red line and a non-zero exit for any failure, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SERVER_COMMANDS:
        return run_server_command(args)
    try:
        cli.main(args, prog_name="brygge", standalone_mode=False)
    except ClientError as error:
        Console(stderr=True).print(
            f"[red]brygge: {error.describe()}[/red]", markup=True, highlight=False, soft_wrap=True
        )
        return 1
    except click.exceptions.Abort:
        click.secho("brygge: aborted", fg="red", err=True)
        return 1
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except OSError as error:
        click.secho(f"brygge: {error}", fg="red", err=True)
        return 1
    except KeyboardInterrupt:
        click.secho("brygge: interrupted", fg="red", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
