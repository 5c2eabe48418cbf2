"""Runs: start one over an edition's objects, read, list, abort, redrive and rerun."""

from __future__ import annotations

from flask import redirect
from werkzeug.wrappers import Response as WerkzeugResponse

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.api.transfers import output_location
from catalogue.auth.permissions import READ, WRITE, require
from catalogue.auth.principal import current_principal
from catalogue.links import link_to
from catalogue.runs.service import run_outputs
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.runs import RunPageSchema, RunRequestSchema, RunSchema, RunSummarySchema
from catalogue.services import services

blp = Blueprint("runs", __name__, description="Pipeline runs")


@blp.route("/datasets/<dataset_id>/versions/<version>/editions/<edition>/runs")
class EditionRuns(MethodView):
    @blp.arguments(RunRequestSchema)
    @blp.response(202, RunSchema)
    def post(self, data: dict, dataset_id: str, version: str, edition: str) -> tuple:
        """Run the dataset's pipeline over objects; the same objects again find the same run."""
        require(dataset_id, WRITE)
        run = services().runs.start_run(
            dataset_id, version, edition, data["input"]["keys"], principal=current_principal()
        )
        return run, 202, {"Location": link_to("runs.RunById", run_id=run["id"])}

    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, RunPageSchema)
    def get(self, query: dict, dataset_id: str, version: str, edition: str) -> dict:
        """List an edition's runs, newest first (reruns included)."""
        require(dataset_id, READ)
        page = services().runs.list_for_edition(dataset_id, version, edition, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/datasets/<dataset_id>/runs")
class DatasetRuns(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, RunPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """List a dataset's runs, newest first."""
        require(dataset_id, READ)
        page = services().runs.list(dataset_id, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/runs/<run_id>")
class RunById(MethodView):
    @blp.response(200, RunSchema)
    def get(self, run_id: str) -> dict:
        """Read a run with each step and the objects it wrote."""
        require(services().runs.dataset_of(run_id), READ, hidden=f"run {run_id!r} not found")
        return with_output_links(services().runs.get(run_id))


@blp.route("/runs/<run_id>/outputs/<int(min=1):n>/download")
class RunOutputDownload(MethodView):
    @blp.doc(responses={"302": {"description": "Redirect to a short-lived download URL."}})
    def get(self, run_id: str, n: int) -> WerkzeugResponse:
        """Redirect to a short-lived URL of the run's ``n``-th output (an intermediate file
        or the validate step's rejects), numbered from 1 as ``GET /runs/{id}`` lists them."""
        return redirect(output_location(services(), run_id, n), 302)


def with_output_links(run: dict) -> dict:
    """Number the run's outputs and add each one's download link."""
    for n, output in enumerate(run_outputs(run), start=1):
        output["n"] = n
        output["download"] = link_to("runs.RunOutputDownload", run_id=run["id"], n=n)
    return run


@blp.route("/runs/<run_id>/abort")
class RunAbort(MethodView):
    @blp.response(200, RunSummarySchema)
    def post(self, run_id: str) -> dict:
        """Abort a waiting or running run; one that has ended is 409."""
        require(services().runs.dataset_of(run_id), WRITE, hidden=f"run {run_id!r} not found")
        return services().runs.abort(run_id)


@blp.route("/runs/<run_id>/redrive")
class RunRedrive(MethodView):
    @blp.response(202, RunSchema)
    def post(self, run_id: str) -> dict:
        """Run a failed run again from the step that failed, with the same input and settings.

        Steps that succeeded are kept (Step Functions' redrive): for transient errors.
        """
        require(services().runs.dataset_of(run_id), WRITE, hidden=f"run {run_id!r} not found")
        return services().runs.redrive(run_id)


@blp.route("/runs/<run_id>/rerun")
class RunRerun(MethodView):
    @blp.response(202, RunSchema)
    def post(self, run_id: str) -> tuple:
        """Start a new run of a failed run's upload with the dataset's current pipeline.

        The new run has ``rerunOf``; the old one gets ``rerunBy``. For errors that corrected
        settings (``PUT /datasets/{id}/pipeline``) fix.
        """
        require(services().runs.dataset_of(run_id), WRITE, hidden=f"run {run_id!r} not found")
        run = services().runs.rerun(run_id, principal=current_principal())
        return run, 202, {"Location": link_to("runs.RunById", run_id=run["id"])}
