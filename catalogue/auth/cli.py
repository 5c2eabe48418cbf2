"""``brygge token create|list|revoke``: API tokens from the command line, in either mode."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from catalogue.settings import Settings


def add_parser(commands: Any) -> None:
    """Add the ``token`` command and its subcommands to the ``brygge`` parser."""
    token = commands.add_parser(
        "token",
        help="create, list and revoke API tokens",
        description="Create, list and revoke API tokens in the store BRYGGE_HOME (or the AWS "
        "table) names; the server need not run.",
    )
    actions = token.add_subparsers(dest="token_command", required=True)

    create = actions.add_parser(
        "create",
        help="create a token; it is printed once",
        description="Create a token for a principal and print it once on standard output "
        "(only its hash is stored); its id goes to standard error.",
    )
    create.add_argument("--principal", required=True, help="user:<name> or client:<name>")
    create.add_argument(
        "--team", action="append", default=[], help="team:<name> the principal belongs to"
    )
    create.add_argument("--expires", help="lifetime such as 30d, 12h or 90m (default: none)")
    create.set_defaults(handler=create_token)

    listing = actions.add_parser(
        "list",
        help="list tokens (never their secrets)",
        description="List tokens (never their secrets).",
    )
    listing.set_defaults(handler=list_tokens)

    revoke = actions.add_parser(
        "revoke",
        help="revoke a token by its id",
        description="Revoke a token by its id (brygge token list shows the ids).",
    )
    revoke.add_argument("token_id", help="the id brygge token create and list show")
    revoke.set_defaults(handler=revoke_token)


def _repository(settings: Settings) -> Any:
    from catalogue.repositories.tokens import TokenRepository
    from catalogue.services import utc_now
    from catalogue.store import migrations
    from catalogue.store.factory import open_store

    # Tokens may be made before the first `brygge serve`, so the store must exist.
    migrations.apply(settings)
    return TokenRepository(open_store(settings), utc_now)


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    """Create a token and print it once; only its hash is stored."""
    from catalogue.domain.access import TEAM, is_principal
    from catalogue.domain.tokens import parse_duration

    if not is_principal(args.principal) or args.principal.startswith("team:"):
        print("brygge: --principal must be user:<name> or client:<name>", file=sys.stderr)
        return 2
    bad_teams = [team for team in args.team if not TEAM.match(team)]
    if bad_teams:
        print(f"brygge: --team must be team:<name>, not {bad_teams[0]!r}", file=sys.stderr)
        return 2
    try:
        expires_in = parse_duration(args.expires) if args.expires else None
    except ValueError as error:
        print(f"brygge: --expires: {error}", file=sys.stderr)
        return 2
    token, record = _repository(settings).create(
        args.principal, teams=args.team, expires_in=expires_in
    )
    print(token)
    print(
        f"id {record['id']} principal {record['principal']} teams {','.join(record['teams'])} "
        f"expires {record['expires'] or 'never'} (the token is shown only now)",
        file=sys.stderr,
    )
    return 0


def list_tokens(args: argparse.Namespace, settings: Settings) -> int:
    """Print one line per token: id, principal, teams, created, expires, revoked."""
    repository = _repository(settings)
    cursor = None
    while True:
        page = repository.list(limit=500, cursor=cursor)
        for record in page.items:
            print(
                f"{record['id']}  {record['principal']}  teams={','.join(record['teams'])}  "
                f"created={record['created']}  expires={record['expires'] or 'never'}  "
                f"revoked={record['revoked'] or 'no'}"
            )
        if page.next_cursor is None:
            return 0
        cursor = page.next_cursor


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token; it stops working on the next request."""
    from catalogue.domain.errors import NotFound

    try:
        record = _repository(settings).revoke(args.token_id)
    except NotFound as error:
        print(f"brygge: {error.message}", file=sys.stderr)
        return 1
    print(f"revoked {record['id']} ({record['principal']}) at {record['revoked']}")
    return 0
