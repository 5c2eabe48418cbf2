"""The ``brygge`` command."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence

from catalogue import __version__
from catalogue.auth import cli as token_cli
from catalogue.settings import Settings, SettingsError

Command = Callable[[argparse.Namespace, Settings], int]


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations, then serve the API until interrupted."""
    from werkzeug.serving import make_server

    from catalogue.app import create_app
    from catalogue.runs.sweep import start_periodic_sweep, sweep
    from catalogue.server import RequestHandler
    from catalogue.store import migrations

    for applied in migrations.apply(settings):
        print(f"applied migration {applied}")
    app = create_app(settings)
    services = app.extensions["brygge"]
    if settings.backend == "local":
        from catalogue.runs.recovery import recover_at_startup
        from catalogue.store.sqlite_checkpoints import start_checkpoints

        # Requests commit without waiting for the disk to take in the WAL.
        start_checkpoints(services.store)

        # Before any request comes in: a crash's leftovers go, interrupted uploads are
        # finished and interrupted runs go on (or fail).
        recover_at_startup(services)
    # Uploads that expired while the server was down end now, then every interval.
    sweep(services)
    start_periodic_sweep(services, settings.sweep_interval_s)
    from catalogue.events.worker import start_delivery_worker

    # Webhooks: what the outbox holds from before a restart goes out first.
    start_delivery_worker(services)
    history = None
    if settings.backend == "local":
        # Batch windows of event datasets close on time (or when full) into editions.
        history = services.event_history
        history.start_timer(settings.event_flush_interval_s)
    # SIGTERM stops the server as Ctrl-C does, so open batch windows are flushed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=RequestHandler)
    print(
        f"Brygge {__version__} ({settings.backend}) on http://{args.host}:{server.port}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if history is not None:
            history.stop()
    return 0


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply (or with --dry-run, list) pending migrations."""
    from catalogue.store import migrations

    if args.dry_run:
        pending = migrations.pending(settings)
        for migration in pending:
            print(f"would apply {migration.id}: {migration.description}")
        if not pending:
            print("nothing to apply")
        return 0
    applied = migrations.apply(settings)
    for migration_id in applied:
        print(f"applied {migration_id}")
    if not applied:
        print("nothing to apply")
    return 0


def publish(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the public datasets to the open-data location and print what changed."""
    from catalogue.dcat.open_data import run_publishing

    if not settings.catalog_contact_email:
        # The feed is still written; a DCAT-AP-NO harvester will flag the catalogue itself.
        print(
            "warning: BRYGGE_CATALOG_CONTACT_EMAIL is not set; DCAT-AP-NO requires the "
            "catalogue's contact point",
            file=sys.stderr,
        )
    try:
        report = run_publishing(settings)
    except SettingsError as error:
        print(f"brygge publish: {error}", file=sys.stderr)
        return 2
    for name in report.published:
        print(f"published {name}")
    for name in report.withdrawn:
        print(f"withdrew {name} ({report.reasons.get(name, 'no longer published')})")
    for skipped in report.skipped:
        fields = ", ".join(sorted({problem["field"] for problem in skipped["problems"]}))
        kept = "; its published files stay" if skipped.get("kept") else ""
        print(f"skipped {skipped['dataset']}: lacks or has invalid {fields}{kept}")
    print(
        f"published {len(report.published)}, withdrawn {len(report.withdrawn)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}"
    )
    return 0


def deploy_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Print the stack parameters, the resources and the commands of a deployment, in order."""
    import os

    from catalogue.deploy import DeployConfigError, plan_text

    try:
        print(plan_text(args.stage, os.environ), end="")
    except DeployConfigError as error:
        print(f"brygge deploy plan: {error}", file=sys.stderr)
        return 2
    return 0


def deploy_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Run the after-deploying checklist against the account; 1 when a check fails."""
    import os
    from pathlib import Path

    from catalogue.deploy import DeployConfigError
    from catalogue.deploy_verify import report_text, verify

    try:
        checks = verify(
            args.stage,
            root=Path.cwd(),
            api_url=args.api_url,
            token=os.environ.get("BRYGGE_TOKEN"),
        )
    except DeployConfigError as error:
        print(f"brygge deploy verify: {error}", file=sys.stderr)
        return 2
    print(report_text(checks), end="")
    return 0 if all(check.ok for check in checks) else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="brygge", description="Brygge data-lake control plane")
    root.add_argument("--version", action="version", version=f"brygge {__version__}")
    commands = root.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser(
        "serve",
        help="run the API (applies migrations first)",
        description="Apply pending migrations, resume runs interrupted by a restart, then "
        "serve the API (and, in local mode, run the pipelines) until Ctrl-C or SIGTERM.",
    )
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve_parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on; 0 picks a free one (default: 8000)",
    )
    serve_parser.set_defaults(handler=serve)

    migrate_parser = commands.add_parser(
        "migrate",
        help="apply pending migrations",
        description="Apply pending migrations to the store the settings name (SQLite under "
        "BRYGGE_HOME, or the DynamoDB table).",
    )
    migrate_parser.add_argument("--dry-run", action="store_true", help="list, apply nothing")
    migrate_parser.set_defaults(handler=migrate)

    publish_parser = commands.add_parser(
        "publish",
        help="publish public datasets and the DCAT-AP feed as open data",
        description="Write the public datasets' files and the DCAT-AP feed to the open-data "
        "location (BRYGGE_OPEN_DATA_BUCKET, else BRYGGE_OPEN_DATA_DIR), only what changed, and "
        "withdraw what is no longer published. Needs BRYGGE_BASE_URL and "
        "BRYGGE_OPEN_DATA_BASE_URL.",
    )
    publish_parser.set_defaults(handler=publish)

    token_cli.add_parser(commands)

    deploy_parser = commands.add_parser(
        "deploy",
        help="AWS deployment: plan and verify",
        description="AWS deployment: plan prints what to create (no AWS calls); verify checks "
        "a deployed stage (calls AWS).",
    )
    deploy_commands = deploy_parser.add_subparsers(dest="deploy_command", required=True)
    plan_parser = deploy_commands.add_parser(
        "plan",
        help="print what a deployment does",
        description="Print the stack parameters, the resources and the commands of a "
        "deployment, in order (makes no AWS calls).",
    )
    plan_parser.add_argument("stage", choices=("dev", "prod"))
    plan_parser.set_defaults(handler=deploy_plan)
    verify_parser = deploy_commands.add_parser(
        "verify",
        help="run the after-deploying checklist against the account (calls AWS)",
        description="Run the after-deploying checklist against the account (calls AWS); "
        "exit 1 when a check fails.",
    )
    verify_parser.add_argument("stage", choices=("dev", "prod"))
    verify_parser.add_argument("--api-url", help="the API's URL (default: BRYGGE_BASE_URL)")
    verify_parser.set_defaults(handler=deploy_verify)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"brygge: {error}", file=sys.stderr)
        return 2
    handler: Command = args.handler
    try:
        return handler(args, settings)
    except Exception as error:
        problem = aws_start_up_problem(error)
        if problem is None:
            raise
        print(f"brygge: {problem}", file=sys.stderr)
        return 2


def aws_start_up_problem(error: Exception) -> str | None:
    """One line naming what to set or check for an AWS failure; None for any other error.

    A misconfigured aws mode fails in botocore, deep in the first call: its traceback says
    nothing a newcomer can act on.
    """
    if "botocore" not in sys.modules:  # local mode never loads it
        return None
    from botocore import exceptions as aws

    if isinstance(error, aws.NoRegionError):
        return "BRYGGE_BACKEND=aws needs an AWS region: set AWS_DEFAULT_REGION (e.g. eu-north-1)"
    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return (
            "BRYGGE_BACKEND=aws needs AWS credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        )
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError):
        endpoint = error.kwargs.get("endpoint_url", "")
        return f"cannot reach AWS at {endpoint}: check the network and AWS_ENDPOINT_URL*"
    if isinstance(error, aws.ClientError):
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "")
        return (
            f"AWS refused {operation}: {details.get('Code', '')}: {details.get('Message', '')}"
            " (check the credentials, their permissions and BRYGGE_DYNAMODB_TABLE)"
        )
    if isinstance(error, aws.BotoCoreError):
        return f"AWS call failed: {error}"
    return None


if __name__ == "__main__":
    sys.exit(main())
