"""``brygge pipelines`` (templates and dataset pipelines) and ``brygge steps``."""

from __future__ import annotations

import click

from brygge.cli.context import (
    URI,
    Context,
    Uri,
    format_option,
    parse_uri,
    pass_context,
    read_json_file,
    render,
    render_one,
)
from brygge.resources import Resource


@click.group()
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
    body = read_json_file(file, "--file")
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
    body = read_json_file(file, "FILE")
    task_config = read_json_file(config_file, "--config") if config_file else None
    with ctx.client() as client:
        if dataset:
            client.validate_dataset_pipeline(
                dataset.dataset, body.get("template"), task_config or body.get("taskConfig")
            )
        else:
            definition = body.get("definition", body)
            client.validate_pipeline(definition, task_config or body.get("taskConfig"))
    ctx.console.print(f"[green]{file} is valid[/green]")


@click.command(epilog="Examples:\n\n\b\n  brygge steps\n  brygge steps csv_to_parquet")
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
