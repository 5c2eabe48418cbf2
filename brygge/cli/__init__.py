"""The ``brygge`` command: the data owners' commands (click), and the server's, loaded lazily.

``brygge serve|migrate|token|publish|deploy`` hand their arguments to ``catalogue.cli``, which
is imported only then: ``brygge upload`` and the other client commands load no server code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.console import Console

from brygge import config
from brygge.cli import datasets, downloads, grants, pipeline_templates, runs
from brygge.cli.context import Context, output_console, pass_context
from brygge.client import Client
from brygge.resources import ClientError

SERVER_COMMANDS = {
    "serve": "run the API (applies migrations first)",
    "migrate": "apply pending migrations",
    "token": "create, list and revoke API tokens",
    "publish": "publish public datasets and the DCAT-AP feed as open data",
    "deploy": "AWS deployment: plan (no AWS calls) and verify (calls AWS)",
}

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
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds an API call may take in all, retries included; for a file transfer (upload, "
    "download), which takes as long as its bytes need, the longest wait between bytes "
    "(default: BRYGGE_TIMEOUT, else no limit beyond 30 s an attempt and 4 retries for a "
    "call, 10 minutes between bytes for a transfer).",
)
@click.version_option("0.1.0", prog_name="brygge")
@click.pass_context
def cli(
    click_ctx: click.Context, url: str | None, profile: str | None, timeout_s: float | None
) -> None:
    """Brygge for data owners: datasets, uploads, runs and downloads."""
    click_ctx.obj = Context(url, profile, output_console(), Console(stderr=True), timeout_s)


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


for _command in (
    datasets.datasets,
    grants.grants,
    runs.upload,
    runs.runs,
    downloads.download,
    pipeline_templates.pipelines,
    pipeline_templates.steps,
):
    cli.add_command(_command)


# -- entry point ---------------------------------------------------------------------------


def advice(error: ClientError) -> str:
    """What to do about a failure the API cannot advise on: where the token and URL come from."""
    if error.status == 401:
        return " (brygge login stores a new token; BRYGGE_TOKEN overrides the profile's)"
    if error.status == 0 and error.message.startswith("cannot reach"):
        return " (is the server running? the URL comes from --url, BRYGGE_URL or brygge login)"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``brygge``: one red line and a non-zero exit for any failure, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SERVER_COMMANDS:
        return run_server_command(args)
    try:
        cli.main(args, prog_name="brygge", standalone_mode=False)
    except ClientError as error:
        Console(stderr=True).print(
            f"brygge: {error.describe()}{advice(error)}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    except click.exceptions.Abort as abort:
        # click turns Ctrl-C into Abort too; a shell tells an interrupt by 128 + SIGINT.
        if isinstance(abort.__context__, KeyboardInterrupt):
            click.secho("brygge: interrupted", fg="red", err=True)
            return 130
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
