"""``brygge datasets``: list, show, create, edit and delete datasets."""

from __future__ import annotations

from typing import Any

import click

from brygge.cli.context import (
    URI,
    Context,
    Uri,
    format_option,
    pass_context,
    read_json_file,
    render,
    render_one,
)
from brygge.client import Client
from brygge.resources import ClientError, Resource

DATASET_COLUMNS = ["id", "title", "accessRights", "owner", "state", "modified"]


@click.group()
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
@click.option(
    "--access-rights",
    type=click.Choice(["public", "restricted", "non-public"]),
    help="Only datasets of this access.",
)
@click.option(
    "--state", type=click.Choice(["active", "deprecated"]), help="Only datasets in this state."
)
@format_option
@pass_context
def datasets_ls(
    ctx: Context,
    uri: Uri | None,
    owner: str | None,
    keyword: str | None,
    theme: str | None,
    q: str | None,
    access_rights: str | None,
    state: str | None,
    fmt: str,
) -> None:
    """List datasets; or a dataset's versions, a version's editions, an edition's files."""
    with ctx.client() as client:
        if uri is None:
            rows = client.datasets(
                owner=owner,
                keyword=keyword,
                theme=theme,
                q=q,
                access_rights=access_rights,
                state=state,
            )
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


@datasets.command(
    "publishability",
    epilog="Examples:\n\n\b\n  brygge datasets publishability ds:luftkvalitet\n"
    "  brygge datasets publishability ds:luftkvalitet --format json",
)
@click.argument("uri", type=URI)
@format_option
@pass_context
def datasets_publishability(ctx: Context, uri: Uri, fmt: str) -> None:
    """Why the DCAT feed and `brygge publish` would leave a dataset out, field by field.

    The server's publish gate decides (GET /datasets/{id}/publishability), on the dataset
    and the distributions of its newest edition that has some.
    """
    with ctx.client() as client:
        gate = client.publishability(uri.dataset)
    dataset = Uri(uri.dataset)
    if fmt != "table":
        rows = gate.get("missing") or []
        if fmt == "json":
            render_one(ctx, gate, fmt)
        else:
            render(ctx, rows, ["field", "reason"], fmt)
        return
    if gate.get("publishable"):
        ctx.console.print(f"{dataset} is publishable: the DCAT feed and brygge publish take it")
        return
    ctx.console.print(f"{dataset} is not published, for these reasons:")
    render(ctx, gate.get("missing") or [], ["field", "reason"], fmt)


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
    body = read_json_file(file, "--file") if file else ask_dataset(ctx)
    with ctx.client() as client:
        created = client.create_dataset(body)
    ctx.errors.print(f"created {Uri(created['id'])}")
    render_one(ctx, created, fmt)


def ask_dataset(ctx: Context) -> dict[str, Any]:
    """The questions of ``datasets create``; public only when chosen and confirmed."""
    title = click.prompt("Title")
    description = click.prompt("Description", default="", show_default=False)
    owner = click.prompt("Owner team (team:<name>)", value_proc=team_name)
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


def team_name(text: str) -> str:
    """An answer naming a team; raises click.UsageError (click asks again) for any other,
    so a slip does not lose the answers given before it."""
    name = text.strip()
    if not name.startswith("team:") or name == "team:":
        raise click.UsageError(f"{name!r} is not a team: write team:<name>, as team:miljo")
    return name


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
    changes = read_json_file(file, "--file") if file else {}
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
        try:
            if uri.edition:
                client.delete_edition(uri.dataset, str(uri.version), uri.edition, cascade=cascade)
            elif uri.version:
                client.delete_version(uri.dataset, uri.version, cascade=cascade)
            else:
                client.delete_dataset(uri.dataset, cascade=cascade)
        except ClientError as error:
            # The API's advice names its query parameter; here it is an option.
            if error.status == 409 and "?cascade=true" in error.message:
                advice = error.message.replace("?cascade=true", "--cascade")
                raise ClientError(409, advice, code=error.code) from None
            raise
    ctx.errors.print(f"deleted {uri}")
