"""``brygge upload`` and ``brygge runs``: send a file, follow its run, act on runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console, Group
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
from rich.text import Text

from brygge.cli.context import (
    URI,
    Context,
    Uri,
    format_option,
    pass_context,
    render,
    render_one,
)
from brygge.client import TERMINAL_RUN_STATUSES, Client
from brygge.resources import ClientError, Resource
from brygge.transfers import UploadCancelled


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


@click.command(
    epilog="Examples:\n\n\b\n  brygge upload målinger.csv ds:luftkvalitet --wait\n"
    "  brygge upload data.xlsx ds:luftkvalitet/2/20260101T000000",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("uri", type=URI)
@click.option("--wait", is_flag=True, help="Follow the run; exit 0 if it succeeds, 3 if not.")
@click.option("--content-type", help="Media type (default: guessed from the name).")
@format_option
@pass_context
def upload(
    ctx: Context, file: Path, uri: Uri, wait: bool, content_type: str | None, fmt: str
) -> None:
    """Upload a file to a dataset (a new edition unless the URI names one)."""
    with ctx.client() as client:
        try:
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
        except UploadCancelled as cancelled:
            ctx.errors.print(cancelled_notice(cancelled), markup=False, highlight=False)
            raise
        run_id = answer["run"]["id"]
        ctx.errors.print(f"uploaded to {Uri(uri.dataset, uri.version or '1', answer['edition'])}")
        if not wait:
            render_one(
                ctx, {"edition": answer["edition"], "key": answer["key"], "run": run_id}, fmt
            )
            return
        run = follow(ctx, client, run_id)
    finish(ctx, run, fmt)


def cancelled_notice(cancelled: UploadCancelled) -> str:
    """What became of an upload given up with Ctrl-C."""
    run_id = (cancelled.answer.get("run") or {}).get("id")
    if cancelled.told:
        return f"upload cancelled: run {run_id} aborted, with any edition the upload made"
    return (
        f"upload cancelled, but the server could not be told: run {run_id} waits until its "
        f"upload URL expires (brygge runs abort {run_id} ends it now)"
    )


def follow(ctx: Context, client: Client, run_id: str) -> Resource:
    """Show the run live, a line per step, until it ends; returns the ended run.

    Ctrl-C stops only the following: the run goes on, and the message says how to follow
    or stop it again.
    """
    run: Resource | None = None
    try:
        try:
            with Live(
                run_table(Resource({"id": run_id})), console=ctx.errors, auto_refresh=False
            ) as live:
                for event in client.watch(run_id, on_lost=lost_notice(ctx)):
                    run = event.run
                    live.update(run_table(run), refresh=True)
        finally:
            if not ctx.errors.is_terminal:
                ctx.errors.line()  # a Live that is not on a terminal leaves its last line open
    except KeyboardInterrupt:
        ctx.errors.print(
            f"stopped following; run {run_id} goes on:\n  brygge runs watch {run_id}\n"
            f"  brygge runs abort {run_id}   (to stop it)",
            markup=False,
        )
        raise
    assert run is not None  # watch yields at least the run's status
    return run


def lost_notice(ctx: Context) -> Callable[[ClientError, int], None]:
    """What a watch says when the server stops answering: once, as it begins."""

    def notice(error: ClientError, lost: int) -> None:
        if lost == 1:
            ctx.errors.print(
                f"no answer ({error.describe()}); the run goes on on the server: watching "
                "again when it answers",
                style="yellow",
                markup=False,
            )

    return notice


STATUS_STYLES = {"SUCCEEDED": "green", "FAILED": "red", "ABORTED": "red", "RUNNING": "yellow"}


def run_table(run: Mapping[str, Any]) -> Group:
    """The live view of a run: its id and status on a line, then a line per step.

    The heading is a line of its own, not the table's title: a title wraps at the table's
    width, which would split the run id a reader copies into ``brygge runs ...``.
    """
    status = str(run.get("status") or "...")
    style = STATUS_STYLES.get(status, "")
    heading = Text(f"run {run.get('id')}  ")
    heading.append(status, style=style)
    table = Table(box=None)
    for column in ("step", "status", "duration", "rows"):
        table.add_column(column, justify="right" if column in ("duration", "rows") else "left")
    for step in run.get("steps") or []:
        step_style = STATUS_STYLES.get(str(step.get("status")), "")
        table.add_row(
            step.get("name", ""),
            f"[{step_style}]{step.get('status')}[/{step_style}]"
            if step_style
            else str(step.get("status")),
            duration(step.get("startedAt"), step.get("endedAt")),
            step_rows(step),
        )
    return Group(heading, table)


def step_rows(step: Mapping[str, Any]) -> str:
    """The rows a step wrote, and how many it rejected.

    A rejects file holds a line per broken rule, not a row: its lines are no rows of the
    data (a step that kept 2 rows of 3 showed 3).
    """
    summary = step.get("summary") or {}
    rejects = set(summary.get("rejectsKeys") or ())
    rows = [
        output.get("rows")
        for output in step.get("outputs") or []
        if output.get("key") not in rejects
    ]
    written = [row for row in rows if row is not None]
    text = str(sum(written)) if written else ""
    rejected = summary.get("rejected")
    if isinstance(rejected, int) and rejected:
        text += f" ({rejected:,} rejected)"
    return text


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


def print_failure(console: Console, run: Mapping[str, Any]) -> None:
    """Where a run that did not succeed stopped, with its error and cause."""
    failed = [step for step in run.get("steps") or [] if step.get("status") == "FAILED"]
    error = (failed[0].get("error") if failed else None) or run.get("error") or {}
    where = f" in step {failed[0]['name']}" if failed else ""
    console.print(f"run {run['id']} {run.get('status')}{where}", style="red", markup=False)
    if error:
        console.print(f"  error: {error.get('error')}", markup=False)
        if error.get("cause"):
            console.print(f"  cause: {readable_cause(error['cause'])}", markup=False)


def finish(ctx: Context, run: Mapping[str, Any], fmt: str, *, wanted: str = "SUCCEEDED") -> None:
    """Exit 0 for a run that ended as ``wanted``; else print why and how to run it again,
    exit ``RUN_NOT_SUCCEEDED``.

    ``json`` prints the whole run, ``csv`` its summary line, on standard output.
    """
    if fmt == "json":
        click.echo(json.dumps(run, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        render_one(ctx, {key: run.get(key) for key in RUN_COLUMNS}, "csv")
    if run.get("status") == wanted:
        ctx.errors.print(f"[green]run {run['id']} {wanted}[/green]")
        return
    print_failure(ctx.errors, run)
    dataset = Uri(str(run.get("dataset") or "<id>"))
    if run.get("status") == "EXPIRED":
        # No file ever came: there is nothing to run again, only a file to send.
        ctx.errors.print(f"upload the file again:\n  brygge upload FILE {dataset}", markup=False)
    elif run.get("status") != "ABORTED":
        ctx.errors.print(
            f"after fixing the settings (brygge pipelines create --dataset {dataset} "
            f"--file ...), run it again from the start:\n  brygge runs rerun {run['id']}\n"
            f"(brygge runs redrive {run['id']} retries the failed step with the same settings)\n"
            f"after fixing the file, upload it again:\n  brygge upload FILE {dataset}",
            markup=False,
        )
    sys.exit(RUN_NOT_SUCCEEDED)


# The exit status of a command whose run ended and did not succeed, so a script tells it from
# a command that failed itself (1: refused, unreachable) and from a usage error (2).
RUN_NOT_SUCCEEDED = 3
RUN_COLUMNS = ["id", "status", "edition", "created", "endedAt"]


@click.group()
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
        show_run(ctx, run)
    else:
        render_one(ctx, run, fmt)


def show_run(ctx: Context, run: Mapping[str, Any]) -> None:
    """A run for a person: its steps, the files they wrote, and why it failed."""
    ctx.console.print(run_table(run))
    outputs = [
        {
            "step": step.get("name"),
            "n": output.get("n"),
            "file": str(output.get("key", "")).rpartition("/")[2],
            "rows": output.get("rows"),
            "bytes": output.get("bytes"),
        }
        for step in run.get("steps") or []
        for output in step.get("outputs") or []
    ]
    if outputs:
        dataset = Uri(str(run.get("dataset") or "<id>"))
        ctx.console.print(
            f"\nfiles (brygge download {dataset} DIR --outputs {run.get('id')}):", markup=False
        )
        render(ctx, outputs, ["step", "n", "file", "rows", "bytes"], "table")
    if run.get("status") in ("FAILED", "ABORTED", "EXPIRED"):
        ctx.console.print()
        print_failure(ctx.console, run)


@runs.command("watch", epilog="Example:\n\n  brygge runs watch luftkvalitet-0a1b2c")
@click.argument("run_id")
@format_option
@pass_context
def runs_watch(ctx: Context, run_id: str, fmt: str) -> None:
    """Follow a run until it ends; exit 0 if it succeeded, 3 if not."""
    with ctx.client() as client:
        if fmt == "table":
            run = follow(ctx, client, run_id)
        else:
            run = None
            for event in client.watch(run_id, on_lost=lost_notice(ctx)):
                run = event.run
                if fmt == "json" and event.step is not None:
                    click.echo(json.dumps({"step": event.step["name"], "status": event.status}))
    assert run is not None
    # json has streamed each change already; csv prints the run's line as it ends.
    finish(ctx, run, "csv" if fmt == "csv" else "table")


def run_action(
    name: str,
    summary: str,
    call: Callable[[Client, str], Resource],
    *,
    wanted: str = "SUCCEEDED",
) -> None:
    """A ``brygge runs NAME RUN [--wait]`` command; with --wait it exits 0 when the run ends
    as ``wanted`` (an abort that aborted did what was asked)."""

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
                finish(ctx, run, fmt, wanted=wanted)
                return
        render_one(ctx, {key: run.get(key) for key in RUN_COLUMNS}, fmt)


run_action("redrive", "Run a failed run again from the step that failed.", Client.redrive_run)
run_action(
    "rerun", "Run a run's input again from the start with the current pipeline.", Client.rerun
)
run_action("abort", "Abort a waiting or running run.", Client.abort_run, wanted="ABORTED")
