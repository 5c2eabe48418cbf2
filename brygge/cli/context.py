"""What every command shares: the context, dataset URIs, and output as table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table

from brygge.client import Client
from brygge.session import Retry

FORMATS = click.Choice(["table", "json", "csv"])


@dataclass
class Context:
    """What every command shares: where the API is, and where output goes."""

    url: str | None
    profile: str | None
    console: Console
    errors: Console
    # The longest a call and its retries may take (--timeout); None: BRYGGE_TIMEOUT, else none.
    timeout_s: float | None = None

    def client(self) -> Client:
        return Client(
            self.url, profile=self.profile, total_timeout_s=self.timeout_s, on_retry=self.retrying
        )

    def retrying(self, retry: Retry) -> None:
        """Say on stderr that a call goes again and after how long: a server that does not
        answer must not look like a command that hangs."""
        self.errors.print(
            f"brygge: {retry.describe()}",
            style="yellow",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


pass_context = click.make_pass_decorator(Context)

# Wide enough for any row: output read by grep, a pager or a file has no width to fit.
PIPED_WIDTH = 10_000


def output_console(file: IO[str] | None = None) -> Console:
    """The console of a command's output: a terminal's width, else (piped or redirected,
    unless COLUMNS says otherwise) wide enough that no table cell is cut to 80 columns."""
    console = Console(file=file)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


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
    table = Table(box=None, header_style="bold")
    cells = [[cell(item.get(column)) for column in columns] for item in items]
    # The first column is what other commands take (an id): never cut, whatever the width.
    widest = max((len(row[0]) for row in cells), default=0)
    table.add_column(columns[0], no_wrap=True, min_width=max(widest, len(columns[0])))
    for column in columns[1:]:
        table.add_column(column)
    for row in cells:
        table.add_row(*row)
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


def read_json_file(path: str, option: str) -> dict[str, Any]:
    """The JSON object in ``path``; raises click.BadParameter naming ``option`` and the file
    when it cannot be read, is not JSON, or holds anything but an object."""
    try:
        # utf-8-sig: Windows editors save "UTF-8 with BOM"; RFC 8259 §8.1 lets us skip it.
        value = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"{path}: {error}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter(
            f"{path}: must hold a JSON object ({{...}}), not {type(value).__name__}",
            param_hint=option,
        )
    return value
