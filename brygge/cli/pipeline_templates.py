"""``brygge pipelines`` (templates and dataset pipelines) and ``brygge steps``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
from brygge.resources import ClientError, Resource


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
    "  brygge pipelines create --file template.json --replace   (a new version)\n"
    "  brygge pipelines create --file pipeline.json --dataset ds:luftkvalitet",
)
@click.option("--file", "file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", type=URI, help="Set this dataset's pipeline ({template, taskConfig}).")
@click.option(
    "--replace",
    is_flag=True,
    help="Save the template as a new version of the one with its id (datasets keep theirs).",
)
@format_option
@pass_context
def pipelines_create(ctx: Context, file: str, dataset: Uri | None, replace: bool, fmt: str) -> None:
    """Save a template, or a dataset's pipeline (replacing the one it had)."""
    body = read_json_file(file, "--file")
    with ctx.client() as client:
        if dataset:
            saved = client.set_dataset_pipeline(
                dataset.dataset, pipeline_template(body, file, "--file"), body.get("taskConfig")
            )
        elif replace:
            if not body.get("id"):
                raise click.BadParameter("the template has no id to replace", param_hint="--file")
            template = {name: value for name, value in body.items() if name != "id"}
            saved = client.put_pipeline(str(body["id"]), template)
            ctx.errors.print(
                f"saved {saved.get('id')} version {saved.get('version')}; datasets keep the "
                "version they run until their pipeline names this one "
                f'("version": {saved.get("version")}, brygge pipelines create --dataset ...)',
                markup=False,
            )
        else:
            try:
                saved = client.create_pipeline(body)
            except ClientError as error:
                if error.status != 409:
                    raise
                raise ClientError(
                    409,
                    f"{error.message}: brygge pipelines create --file {file} --replace "
                    "saves this one as its new version",
                    code=error.code,
                ) from None
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
@format_option
@pass_context
def pipelines_validate(
    ctx: Context, file: str, config_file: str | None, dataset: Uri | None, fmt: str
) -> None:
    """Check a template (and taskConfig) with the server's rules, saving nothing.

    Exits 1 when the server refuses it. With --format json or csv the problems go to
    standard output, each with the field it is about, for a script to read.
    """
    body = read_json_file(file, "FILE")
    task_config = read_json_file(config_file, "--config") if config_file else None
    try:
        with ctx.client() as client:
            if dataset:
                client.validate_dataset_pipeline(
                    dataset.dataset,
                    pipeline_template(body, file, "FILE"),
                    task_config or body.get("taskConfig"),
                )
            else:
                definition = body.get("definition", body)
                client.validate_pipeline(definition, task_config or body.get("taskConfig"))
    except ClientError as error:
        # Only the server's verdict on the file is an answer; no answer at all stays an error.
        if fmt == "table" or error.status not in (400, 422):
            raise
        problems = error.field_errors or {"": [error.message]}
        _render_verdict(ctx, file, problems, fmt)
        raise SystemExit(1) from None
    if fmt == "table":
        ctx.console.print(f"[green]{file} is valid[/green]")
    else:
        _render_verdict(ctx, file, {}, fmt)


def _render_verdict(ctx: Context, file: str, problems: Mapping[str, list[str]], fmt: str) -> None:
    if fmt == "json":
        render_one(ctx, {"file": file, "valid": not problems, "problems": dict(problems)}, fmt)
        return
    rows = [
        {"field": field, "problem": reason}
        for field, reasons in problems.items()
        for reason in reasons
    ]
    render(ctx, rows, ["field", "problem"], fmt)


def pipeline_template(body: Mapping[str, Any], path: str, option: str) -> str:
    """The template a dataset's pipeline file names; raises click.BadParameter saying what
    the file must hold when it names none (a template file, given by mistake)."""
    template = body.get("template")
    if isinstance(template, str) and template:
        return template
    example = json.dumps(body.get("id") or "<template id>")
    raise click.BadParameter(
        f'{path}: has no "template": with --dataset it holds the dataset\'s pipeline, '
        f'{{"template": {example}, "taskConfig": {{...}}}}',
        param_hint=option,
    )


@click.command(epilog="Examples:\n\n\b\n  brygge steps\n  brygge steps csv_to_parquet")
@click.argument("name", required=False)
@format_option
@pass_context
def steps(ctx: Context, name: str | None, fmt: str) -> None:
    """The step catalogue; with NAME, that step's options and an example taskConfig."""
    with ctx.client() as client:
        if name:
            step = client.step(name)
        else:
            listed = client.steps()
    if name is None:
        # A table shows each step's one-line summary; json and csv carry the description whole.
        if fmt == "table":
            render(ctx, step_rows(listed), ["name", "summary"], fmt)
        else:
            render(ctx, listed, ["name", "description"], fmt)
        return
    if fmt != "table":
        render_one(ctx, step, fmt)
        return
    show_step(ctx, step)


def show_step(ctx: Context, step: Mapping[str, Any]) -> None:
    """A step for people: what it does, its options and what each means, an example."""
    console = ctx.console
    console.print(f"{step.get('name')}: {step.get('summary') or ''}", markup=False)
    if step.get("description"):
        console.print(f"\n{step['description']}\n", markup=False)
    render(ctx, option_rows(step), ["option", "type", "required", "default", "values"], "table")
    # The options' meanings are the config's own words, one paragraph for all of them.
    meanings = (step.get("options") or {}).get("description")
    if meanings:
        console.print(f"\n{meanings}", markup=False)
    if step.get("example"):
        console.print("\nexample taskConfig:")
        console.print_json(data=step["example"])


def step_rows(listed: list[Resource]) -> list[dict[str, str]]:
    """A line per step: its name and one-line summary (else its description's first line)."""
    return [
        {
            "name": str(step.get("name")),
            "summary": step.get("summary") or first_line(step.get("description")),
        }
        for step in listed
    ]


def option_rows(step: Mapping[str, Any]) -> list[dict[str, str]]:
    """A line per option of a step, read from the JSON Schema of its options."""
    options = step.get("options") or {}
    required = set(options.get("required") or [])
    return [
        {
            "option": option,
            "type": type_name(spec),
            "required": "yes" if option in required else "",
            "default": json.dumps(spec["default"], ensure_ascii=False) if "default" in spec else "",
            "values": ", ".join(str(value) for value in spec.get("enum") or []),
        }
        for option, spec in (options.get("properties") or {}).items()
    ]


def type_name(spec: Mapping[str, Any]) -> str:
    """A JSON Schema's type as a person reads it: its title, its types, or its alternatives'."""
    if spec.get("title"):
        return str(spec["title"])
    if "anyOf" in spec:
        return ", ".join(type_name(alternative) for alternative in spec["anyOf"])
    kind = spec.get("type", "")
    return ", ".join(kind) if isinstance(kind, list) else str(kind)


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0]
