"""``brygge download``: an edition's files, or a run's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from brygge.cli.context import (
    URI,
    Context,
    Uri,
    cell,
    format_option,
    pass_context,
    render,
)
from brygge.cli.runs import transfer_progress
from brygge.client import Client
from brygge.resources import ClientError, Resource


@click.command(
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
