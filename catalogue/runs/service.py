"""Start and track runs: on Brygge's engine in a worker pool (local) or on Step Functions (aws).

A run is one execution of a dataset's pipeline over uploaded objects. Its id is also the
execution name, derived from the objects (``pipelines.runs.run_id_for``), so starting the
same run twice starts one execution: the store moves a run from WAITING to RUNNING once, and
Step Functions refuses a second execution of the same name. Local runs are driven by the
service's ``LocalWorkers`` (``catalogue.runs.local``).
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import Conflict, HasChildren, NotFound
from catalogue.object_stores import object_store
from catalogue.repositories.runs import ENDED, RunRepository
from catalogue.runs.recorder import StoreRecorder
from catalogue.store.base import Page
from pipelines.compiler import task_steps
from pipelines.object_keys import check_edition_keys
from pipelines.runs.execution_history import merge_outcome
from pipelines.runs.executions import (
    ExecutionMissing,
    execution_end,
    run_machine,
    start_or_deploy,
    start_payload,
)
from pipelines.runs.ids import run_id_for
from pipelines.runs.steps import StepRegistry
from pipelines.stepfunctions import stop_execution
from pipelines.timestamps import timestamp

log = logging.getLogger(__name__)

# Error name of a run whose upload never came, and who removes what such runs leave.
UPLOAD_EXPIRED = "Brygge.UploadExpired"
SWEEPER = "service:sweep"
# Error name of a run whose Step Functions execution cannot be found, or is another run's.
EXECUTION_LOST = "Brygge.ExecutionLost"
# A run is RUNNING a moment before StartExecution answers: until this long after its start
# (or redrive), a missing execution may still be starting.
EXECUTION_START_GRACE = timedelta(minutes=5)

if TYPE_CHECKING:
    from catalogue.repositories import Repositories
    from catalogue.repositories.pipeline_templates import PipelineRepository
    from catalogue.runs.local import LocalWorkers
    from catalogue.services import Services
    from catalogue.settings import Settings
    from catalogue.store.base import ItemStore
    from pipelines.objects import ObjectStore


class RunService:
    """Creates, starts, tracks, aborts, redrives and resumes runs."""

    def __init__(
        self,
        settings: Settings,
        store: ItemStore,
        repositories: Repositories,
        pipelines: PipelineRepository,
        clock: Callable[[], datetime],
        *,
        registry: StepRegistry | None = None,
        objects: ObjectStore | None = None,
        recorder: StoreRecorder | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.repositories = repositories
        self.pipelines = pipelines
        self.clock = clock
        self.repository = RunRepository(store, clock)
        self.registry = registry or StepRegistry()
        self._objects = objects
        self._recorder = recorder
        self.sleep = sleep
        # Marks the runs this process drives; a run resumed elsewhere stops here.
        self.owner = uuid.uuid4().hex
        self.workers: LocalWorkers | None = None
        if self.is_local:
            # The engine and its worker processes load only where runs run in this process:
            # the api function on AWS never imports them.
            from catalogue.runs.local import LocalWorkers

            self.workers = LocalWorkers(self)

    @property
    def is_local(self) -> bool:
        return self.settings.backend != "aws"

    @property
    def objects(self) -> ObjectStore:
        if self._objects is None:
            self._objects = object_store(self.settings)
        return self._objects

    @property
    def recorder(self) -> StoreRecorder:
        if self._recorder is None:
            self._recorder = StoreRecorder(lambda: self.store, self.clock)
        return self._recorder

    def now(self) -> str:
        """The service clock's time as the store keeps it."""
        return timestamp(self.clock())

    # Creating and starting --------------------------------------------------------------

    def create_waiting(
        self,
        dataset: str,
        version: str,
        edition: str,
        key: str,
        *,
        principal: str,
        upload_expires: str | None = None,
        made_edition: bool = False,
    ) -> dict[str, Any]:
        """A run in state WAITING for one object (which may not be uploaded yet).

        The dataset's pipeline is pinned now (``pipeline`` is None when it has none). The
        same object again returns the existing run, kept until the later ``upload_expires``.
        ``made_edition`` says the upload made the edition, so the sweep may remove it when
        the upload never comes. Raises NotFound for an unknown edition.
        """
        upload = {"uploadExpires": upload_expires, "madeEdition": made_edition}
        run = self.create(dataset, version, edition, [key], principal=principal, extra=upload)
        if upload_expires and run["status"] == "WAITING":
            return self.extend_upload(run["id"], upload_expires)
        return run

    def create(
        self,
        dataset: str,
        version: str,
        edition: str,
        keys: Sequence[str],
        *,
        principal: str,
        extra: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Like ``create_waiting``, over several objects; ``extra`` fields go on a new run.

        Raises InvalidValue(input.keys) for a key that is not an object of this edition.
        """
        path = self.repositories.editions.resolve([dataset, version, edition])
        self.repositories.editions.get(path)
        incarnation = self.repositories.datasets.get_item(dataset).get("incarnation")
        dataset, version, edition = path
        access_rights = self.repositories.datasets.get_item(dataset)["accessRights"]
        check_edition_keys(list(keys), access_rights, dataset, version, edition)
        run_id = run_id or run_id_for(dataset, version, edition, list(keys))
        existing = self.repository.find_run(run_id)
        if existing is not None:
            return existing
        pipeline = self.pipelines.find_dataset_pipeline(dataset)
        if pipeline is None:
            # An event dataset's batch windows run json_to_parquet → publish by default.
            from catalogue.runs.event_pipeline import default_event_pipeline

            pipeline = default_event_pipeline(
                self.pipelines, self.repositories.datasets.get_item(dataset)
            )
        now = self.now()
        run = {
            "id": run_id,
            "dataset": dataset,
            "version": version,
            "edition": edition,
            "pipeline": (
                {"template": pipeline["template"], "version": pipeline["version"]}
                if pipeline
                else None
            ),
            "taskConfig": pipeline["taskConfig"] if pipeline else {},
            "status": "WAITING",
            "created": now,
            "startedAt": None,
            "endedAt": None,
            "input": {"keys": list(keys)},
            "output": None,
            "error": None,
            "principal": principal,
            "executions": [],
            **(extra or {}),
        }
        if incarnation is not None:
            run["incarnation"] = incarnation
        created, _ = self.repository.create(run)
        return created

    def start(self, run_id: str) -> bool:
        """Start a WAITING run; False when it was already started (or has ended).

        A run without a pipeline publishes its objects as they are and succeeds; one whose
        objects are missing fails (``ObjectNotFound``).
        """
        before = self.repository.get_run(run_id)
        if before["status"] != "WAITING":
            return False
        problem = self._publish_as_is(before) if before["pipeline"] is None else None
        refused = self._lookup_error(before)
        now = self.now()
        owner = self.owner
        # Tells this call's write from a racing one of the same process and second.
        token = uuid.uuid4().hex

        def begin(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "WAITING":
                return None
            run.update(startedAt=now, owner=owner, resumes=0, startToken=token)
            if run["pipeline"] is None and problem is not None:
                run.update(status="FAILED", endedAt=now, error=problem)
            elif run["pipeline"] is None:
                run.update(status="SUCCEEDED", endedAt=now, output=run["input"])
            elif refused is not None:
                run.update(status="FAILED", endedAt=now, error=refused)
            else:
                run["status"] = "RUNNING"
                if not self.is_local:
                    run["executions"] = [run["id"]]
            return run

        after = self.repository.update_run(run_id, begin)
        if after.get("startToken") != token:
            return False
        if after["status"] != "RUNNING":
            return True
        if self.workers is not None:
            self.workers.submit(run_id, dataset=after["dataset"])
        else:
            self._start_execution(after, after["id"], None)
        return True

    def _publish_as_is(self, run: Mapping[str, Any]) -> dict[str, str] | None:
        """Publish a pipeline-less run's objects unchanged; the run's error, or None.

        Idempotent (same target keys, distribution ids from run and key), so a start that
        races another, or follows a crash, publishes each object once.
        """
        from pipelines.object_keys import parse_object_key
        from pipelines.objects import ObjectNotFound
        from pipelines.steps.publish import PublishConfig, publish_object
        from pipelines.steps.tables import workdir

        with workdir() as directory:
            for key in run["input"]["keys"]:
                target = str(parse_object_key(key).published())
                try:
                    distribution, _ = publish_object(
                        self.objects, key, target, run["id"], PublishConfig(), directory
                    )
                except ObjectNotFound as error:
                    return {"error": "ObjectNotFound", "cause": str(error)}
                self.recorder.register_distribution(
                    run["dataset"], run["version"], run["edition"], distribution
                )
        return None

    def start_run(
        self, dataset: str, version: str, edition: str, keys: Sequence[str], *, principal: str
    ) -> dict[str, Any]:
        """Create (or find) the run over ``keys`` and start it if it waits; return it."""
        run = self.create(dataset, version, edition, keys, principal=principal)
        self.start(run["id"])
        return self.get(run["id"])

    def _lookup_error(self, run: Mapping[str, Any]) -> dict[str, str] | None:
        """Why the run may not start because of its pipeline's lookups; None if it may."""
        if run["pipeline"] is None:
            return None
        from catalogue.repositories.lookups import run_lookup_error

        template = self.pipelines.get_version(
            run["pipeline"]["template"], run["pipeline"]["version"]
        )
        return run_lookup_error(self.store, run, template["definition"])

    # Reading ----------------------------------------------------------------------------

    def get(self, run_id: str) -> dict[str, Any]:
        """The run with its steps; on AWS a running run is first brought up to date."""
        if not self.is_local:
            run = self.repository.get_run(run_id)
            if run["status"] == "RUNNING":
                self.sync_execution(run)
        return self.repository.get(run_id)

    def dataset_of(self, run_id: str) -> str:
        """The dataset a run belongs to (for permission checks); raises NotFound."""
        return str(self.repository.get_run(run_id)["dataset"])

    def list(self, dataset: str, *, limit: int, cursor: str | None) -> Page:
        """A dataset's runs, newest first; raises NotFound for an unknown dataset."""
        self.repositories.datasets.get_item(dataset)
        return self.repository.list_for_dataset(dataset, limit=limit, cursor=cursor)

    # Abort and redrive ------------------------------------------------------------------

    def abort(self, run_id: str) -> dict[str, Any]:
        """Stop a waiting or running run (ABORTED); Conflict when it has ended."""
        now = self.now()

        def stop(run: dict[str, Any]) -> dict[str, Any]:
            if run["status"] in ENDED:
                raise Conflict(f"run {run_id!r} has already ended ({run['status']})")
            run.update(status="ABORTED", endedAt=now)
            return run

        before = self.repository.get_run(run_id)
        after = self.repository.update_run(run_id, stop)
        if self.workers is not None:
            self.workers.stop(run_id)
        elif before["status"] == "RUNNING" and after.get("executions"):
            stop_execution(self._machine(after), after["executions"][-1], "aborted by a user")
        return self.get(run_id)

    def redrive(self, run_id: str) -> dict[str, Any]:
        """Run a failed or aborted run again from the step that failed, with its input.

        Steps that had succeeded are not run again. Conflict unless the run is FAILED or
        ABORTED and knows where it stopped.
        """
        owner = self.owner
        now = self.now()
        restart: dict[str, Any] = {}

        def again(run: dict[str, Any]) -> dict[str, Any]:
            if run["status"] not in ("FAILED", "ABORTED") or run.get("pipeline") is None:
                raise Conflict(f"run {run_id!r} is {run['status']}: only a failed run redrives")
            where = run.get("failedState") or run.get("position")
            if not where:
                raise Conflict(f"run {run_id!r} never entered a state: start it again instead")
            restart.update(where)
            run.update(
                status="RUNNING",
                endedAt=None,
                error=None,
                output=None,
                failedState=None,
                owner=owner,
                redrives=int(run.get("redrives") or 0) + 1,
                redrivenAt=now,
            )
            if not self.is_local:
                run["executions"] = [*run.get("executions", []), f"{run_id}-r{run['redrives']}"]
            return run

        after = self.repository.update_run(run_id, again)
        if self.workers is not None:
            self.workers.submit(
                run_id,
                restart["state"],
                restart["input"],
                restart.get("variables"),
                dataset=after["dataset"],
            )
        else:
            self._start_execution(after, after["executions"][-1], restart)
        return self.get(run_id)

    # Stale uploads -----------------------------------------------------------------------

    def extend_upload(self, run_id: str, expires: str) -> dict[str, Any]:
        """Keep a WAITING run until ``expires`` (a newer upload URL for its object)."""

        def extend(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "WAITING" or (run.get("uploadExpires") or "") >= expires:
                return None
            run["uploadExpires"] = expires
            return run

        return self.repository.update_run(run_id, extend)

    def expire_stale_uploads(
        self, grace: timedelta
    ) -> tuple[builtins.list[str], builtins.list[str]]:
        """End (EXPIRED) each WAITING run whose upload URL expired ``grace`` ago unused.

        An edition the upload made, still empty and used by no other run, is removed.
        Returns the run ids expired and the paths of the editions removed.
        """
        now = self.clock()
        until = timestamp(now - grace)
        ended = timestamp(now)
        objects = object_store(self.settings)
        expired: builtins.list[str] = []
        removed: builtins.list[str] = []
        for waiting in self.repository.waiting_until(until):
            key = waiting["input"]["keys"][0]
            if objects.exists(key):
                # The file landed but its run never started (a failed trigger): not stale.
                log.warning("run %s waits although %s has landed", waiting["id"], key)
                continue

            def expire(run: dict[str, Any]) -> dict[str, Any] | None:
                if run["status"] != "WAITING" or (run.get("uploadExpires") or "~") > until:
                    return None
                run.update(
                    status="EXPIRED",
                    endedAt=ended,
                    error={
                        "error": UPLOAD_EXPIRED,
                        "cause": f"the upload URL expired at {run['uploadExpires']} unused",
                    },
                )
                return run

            after = self.repository.update_run(waiting["id"], expire)
            if after["status"] != "EXPIRED" or after.get("endedAt") != ended:
                continue
            expired.append(after["id"])
            if after.get("madeEdition") and self._remove_empty_edition(after):
                removed.append(f"{after['dataset']}/{after['version']}/{after['edition']}")
        return expired, removed

    def _remove_empty_edition(self, run: Mapping[str, Any]) -> bool:
        """Delete the run's edition if it has no distributions and no other live run."""
        path = [run["dataset"], run["version"], run["edition"]]
        for other in self.repository.all_for_dataset(run["dataset"]):
            same = (other["version"], other["edition"]) == (run["version"], run["edition"])
            if same and other["id"] != run["id"] and other["status"] != "EXPIRED":
                return False
        try:
            self.repositories.editions.delete(path, if_match=None, cascade=False, principal=SWEEPER)
        except (HasChildren, NotFound):
            return False
        return True

    # Rerun ------------------------------------------------------------------------------

    def rerun(self, run_id: str, *, principal: str) -> dict[str, Any]:
        """Start a new run over a failed or aborted run's objects with the dataset's current
        pipeline and taskConfig; the new run has ``rerunOf``, the old one ``rerunBy``.

        Unlike a redrive (same input, from the failed state), a rerun starts from the top
        with settings corrected since. Conflict unless the run is FAILED or ABORTED, when it
        was rerun already (the message names the new run), when the dataset has no
        pipeline or when an uploaded object is gone; NotFound when its edition is gone.
        """
        old = self.repository.get_run(run_id)
        new_id = run_id_for(
            old["dataset"],
            old["version"],
            old["edition"],
            [*old["input"]["keys"], f"rerun-of:{run_id}"],
        )
        if old["status"] not in ("FAILED", "ABORTED"):
            raise Conflict(f"run {run_id!r} is {old['status']}: only a failed run is rerun")
        if old.get("rerunBy") and self.repository.find_run(old["rerunBy"]) is not None:
            raise Conflict(
                f"run {run_id!r} was rerun as {old['rerunBy']!r}; rerun that one instead"
            )
        if self.pipelines.find_dataset_pipeline(old["dataset"]) is None:
            raise Conflict(f"dataset {old['dataset']!r} has no pipeline to rerun")
        objects = object_store(self.settings)
        for key in old["input"]["keys"]:
            if not objects.exists(key):
                raise Conflict(f"the uploaded object {key} no longer exists", field="input")

        def link(run: dict[str, Any]) -> dict[str, Any] | None:
            if run.get("rerunBy") == new_id:
                return None
            if run["status"] not in ("FAILED", "ABORTED") or run.get("rerunBy"):
                raise Conflict(f"run {run_id!r} changed while being rerun; try again")
            run["rerunBy"] = new_id
            return run

        # The link first: a rerun interrupted here is finished by asking again.
        self.repository.update_run(run_id, link)
        self.create(
            old["dataset"],
            old["version"],
            old["edition"],
            old["input"]["keys"],
            principal=principal,
            extra={"rerunOf": run_id},
            run_id=new_id,
        )
        self.start(new_id)
        return self.get(new_id)

    def list_for_edition(
        self, dataset: str, version: str, edition: str, *, limit: int, cursor: str | None
    ) -> Page:
        """An edition's runs, newest first; raises NotFound for an unknown edition."""
        path = self.repositories.editions.resolve([dataset, version, edition])
        self.repositories.editions.get(path)
        return self.repository.list_for_edition(*path, limit=limit, cursor=cursor)

    # Local execution --------------------------------------------------------------------

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no run is executing in this process; False on timeout (tests, tools)."""
        return self.workers is None or self.workers.wait_idle(timeout_s)

    def shutdown(self) -> None:
        """Stop taking runs and wait for those executing."""
        if self.workers is not None:
            self.workers.shutdown()

    def resume_interrupted(self) -> builtins.list[str]:
        """Take over every RUNNING run (after a crash or restart) and resume or fail it.

        Local mode only; start-up calls it once (``recover_at_startup``, ``catalogue.wsgi``).
        Returns the run ids.
        """
        if self.workers is None:
            return []
        return self.workers.resume_interrupted()

    # Step Functions ---------------------------------------------------------------------

    def _machine(self, run: Mapping[str, Any]) -> str:
        return run_machine(self.settings.state_machine_prefix, run)

    def _start_execution(
        self, run: Mapping[str, Any], execution: str, restart: Mapping[str, Any] | None
    ) -> None:
        template = self.pipelines.get_version(
            run["pipeline"]["template"], run["pipeline"]["version"]
        )
        start_or_deploy(
            self._machine(run),
            execution,
            start_payload(run, template["definition"], restart),
            template["definition"],
            function_name=self.settings.steps_function,
            role_arn=self.settings.state_machine_role_arn,
        )

    def sync_execution(
        self, run: Mapping[str, Any], described: Mapping[str, Any] | None = None
    ) -> bool:
        """Copy the end of a RUNNING run's execution from Step Functions into the store.

        ``described`` is the execution as DescribeExecution (or a status change event) gave
        it; without it Step Functions is asked. A missing or foreign execution ends the
        run FAILED with ``Brygge.ExecutionLost``, once it is past its start grace. Returns
        whether the run ended here.
        """

        def steps() -> dict[str, str]:
            template = self.pipelines.get_version(
                run["pipeline"]["template"], run["pipeline"]["version"]
            )
            return task_steps(template["definition"])

        execution = run["executions"][-1]
        try:
            ended = execution_end(
                self._machine(run), execution, steps, run_id=run["id"], described=described
            )
        except ExecutionMissing as lost:
            return self._lose_execution(run, str(lost))
        if ended is None:
            return False
        for name, outcome in ended.steps.items():
            self.repository.update_step(run["id"], name, merge_outcome(outcome))
        return self._end_execution(
            run,
            status=ended.status,
            endedAt=ended.ended or self.now(),
            output=ended.output,
            error=ended.error,
            failedState=ended.failed_state,
        )

    def _lose_execution(self, run: Mapping[str, Any], cause: str) -> bool:
        started = max(run.get("startedAt") or "", run.get("redrivenAt") or "")
        if started > timestamp(self.clock() - EXECUTION_START_GRACE):
            return False
        log.warning("run %s lost its execution: %s", run["id"], cause)
        error = {"error": EXECUTION_LOST, "cause": cause}
        return self._end_execution(
            run, status="FAILED", endedAt=self.now(), output=None, error=error, failedState=None
        )

    def _end_execution(self, run: Mapping[str, Any], **end: Any) -> bool:
        """End the run as ``end`` says, unless it ended or moved to another execution."""

        def finish(current: dict[str, Any]) -> dict[str, Any] | None:
            if current["status"] != "RUNNING" or current.get("executions") != run["executions"]:
                return None
            current.update(end)
            return current

        after = self.repository.update_run(run["id"], finish)
        return after["status"] != "RUNNING" and after.get("endedAt") == end["endedAt"]

    def reconcile(self) -> dict[str, builtins.list[str]]:
        """Bring every RUNNING aws run up to date with Step Functions (for missed events).

        Returns the runs that ended and those whose sync failed; one failure stops nothing.
        """
        report: dict[str, builtins.list[str]] = {"checked": [], "ended": [], "failed": []}
        if self.is_local:
            return report
        for run in self.repository.running():
            if not run.get("executions") or run.get("pipeline") is None:
                continue
            report["checked"].append(run["id"])
            try:
                if self.sync_execution(run):
                    report["ended"].append(run["id"])
            except Exception:
                log.exception("reconciling run %s failed", run["id"])
                report["failed"].append(run["id"])
        return report


def run_outputs(run: Mapping[str, Any]) -> builtins.list[dict[str, Any]]:
    """A run's outputs in the order ``GET /runs/{id}`` lists them: output ``n`` is [n - 1]."""
    return [output for step in run["steps"] for output in step["outputs"]]


def run_service(services: Services) -> RunService:
    """The run service of an application's Services.

    Making it resumes nothing: start-up does that, once (``catalogue.runs.recovery``).
    """
    return RunService(
        services.settings,
        services.store,
        services.repositories,
        services.pipelines,
        services.clock,
    )
