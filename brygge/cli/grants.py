"""``brygge grants``: who holds which scopes on a dataset."""

from __future__ import annotations

import click

from brygge.cli.context import URI, Context, Uri, format_option, pass_context, render, render_one

SCOPES = click.Choice(["read", "update", "write", "admin"])


@click.group()
def grants() -> None:
    """List, set and revoke who may read, update, write or administer a dataset."""


@grants.command("ls", epilog="Example:\n\n  brygge grants ls ds:luftkvalitet")
@click.argument("uri", type=URI)
@format_option
@pass_context
def grants_ls(ctx: Context, uri: Uri, fmt: str) -> None:
    """List a dataset's grants: each principal or team and its scopes."""
    with ctx.client() as client:
        render(ctx, client.permissions(uri.dataset), ["principal", "scopes"], fmt)


@grants.command(
    "set",
    epilog="Examples:\n\n\b\n  brygge grants set ds:luftkvalitet user:kari --scope read\n"
    "  brygge grants set ds:luftkvalitet team:analyse --scope read --scope write",
)
@click.argument("uri", type=URI)
@click.argument("principal")
@click.option(
    "--scope",
    "scopes",
    type=SCOPES,
    multiple=True,
    required=True,
    help="read, update (metadata, pipeline), write (uploads, runs) or admin; repeatable.",
)
@format_option
@pass_context
def grants_set(ctx: Context, uri: Uri, principal: str, scopes: tuple[str, ...], fmt: str) -> None:
    """Give PRINCIPAL (user:<name>, team:<name> or client:<name>) exactly these scopes."""
    with ctx.client() as client:
        granted = client.grant(uri.dataset, principal, list(scopes))
    render_one(ctx, granted, fmt)


@grants.command("revoke", epilog="Example:\n\n  brygge grants revoke ds:luftkvalitet user:kari")
@click.argument("uri", type=URI)
@click.argument("principal")
@pass_context
def grants_revoke(ctx: Context, uri: Uri, principal: str) -> None:
    """Take every scope PRINCIPAL holds on the dataset."""
    with ctx.client() as client:
        client.revoke(uri.dataset, principal)
    ctx.errors.print(f"revoked the grant of {principal} on {Uri(uri.dataset)}", markup=False)
