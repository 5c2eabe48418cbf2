"""Liveness and readiness: ``GET /health`` and ``GET /health?deep=true``."""

from __future__ import annotations

import time
from collections.abc import Callable

import marshmallow as ma
from flask import Response, jsonify
from marshmallow import fields

from catalogue.api.errors import error_body, unavailable_reason
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.domain.errors import Unavailable
from catalogue.services import Services, services

blp = Blueprint("health", __name__, url_prefix="/health", description="Service health")


class HealthQuerySchema(ma.Schema):
    deep = fields.Boolean(
        load_default=False,
        metadata={"description": "Also check the store, the object store and Step Functions."},
    )


class CheckSchema(ma.Schema):
    status = fields.String(required=True, metadata={"description": "up or down"})
    latency_ms = fields.Float(required=True, data_key="latencyMs")
    message = fields.String()


class HealthSchema(ma.Schema):
    status = fields.String(required=True)
    backend = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema))


@blp.route("")
class Health(MethodView):
    # Probes may add their own parameters (cache busters): they are ignored here.
    @blp.arguments(HealthQuerySchema, location="query", unknown=ma.EXCLUDE)
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="A dependency is down; `checks` names it")
    def get(self, query: dict) -> dict | Response:
        """Report that the service is up; with ``deep=true``, that what it needs answers.

        Without ``deep`` nothing is called (liveness, cheap enough for every probe).
        """
        return health(services(), deep=query["deep"])


def health(app_services: Services, *, deep: bool) -> dict | Response:
    """The health answer: a dict (200), or a 503 response naming each dependency down."""
    backend = app_services.settings.backend
    if not deep:
        return {"status": "ok", "backend": backend}
    checks = {name: run_check(check) for name, check in dependency_checks(app_services).items()}
    down = [name for name, check in checks.items() if check["status"] == "down"]
    if not down:
        return {"status": "ok", "backend": backend, "checks": checks}
    message = "; ".join(f"{name} is down: {checks[name]['message']}" for name in down)
    # The error shape every status has, with the checks beside it.
    shown = HealthSchema(only=("backend", "checks")).dump({"backend": backend, "checks": checks})
    response = jsonify({**error_body(503, message), **shown})
    response.status_code = 503
    return response


def dependency_checks(app_services: Services) -> dict[str, Callable[[], None]]:
    """Name each dependency of this mode and the cheapest call that proves it answers."""
    settings = app_services.settings

    def store() -> None:
        from catalogue.store import migrations

        # Reads the applied migrations: the store answers, the table exists, it is current.
        pending = migrations.pending(settings)
        if pending:
            names = ", ".join(migration.id for migration in pending)
            raise Unavailable(f"migrations not applied: {names} (run brygge migrate)")

    def objects() -> None:
        from catalogue.object_stores import object_store

        # Listing (unlike HEAD of a key) fails on a missing bucket.
        next(iter(object_store(settings).list("raw/")), None)

    found: dict[str, Callable[[], None]] = {"store": store, "objects": objects}
    if settings.backend == "aws":

        def stepfunctions() -> None:
            from pipelines.stepfunctions import check_reachable

            check_reachable(settings.state_machine_prefix)

        found["stepfunctions"] = stepfunctions
    return found


def run_check(check: Callable[[], None]) -> dict:
    """Run one check: up or down (with why), and how long it took."""
    started = time.perf_counter()
    try:
        check()
    except Unavailable as error:
        return {"status": "down", "latency_ms": _elapsed_ms(started), "message": error.message}
    except Exception as error:
        reason = unavailable_reason(error) or f"{type(error).__name__}: {error}"
        return {"status": "down", "latency_ms": _elapsed_ms(started), "message": reason}
    return {"status": "up", "latency_ms": _elapsed_ms(started)}


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
