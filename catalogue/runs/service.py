"""Start and track runs: on Brygge's engine in a worker pool (local) or on Step Functions (aws).

A run is one execution of a dataset's pipeline over uploaded objects. Its id is also the
execution name, derived from the objects (``pipelines.runs.run_id_for``), so starting the
same run twice starts one execution: the store moves a run from WAITING to RUNNING once, and
Step Functions refuses a second execution of the same name. Local runs are driven by the
service's ``LocalWorkers`` (``catalogue.runs.local``); aws runs' executions are kept in
step by ``catalogue.runs.execution_sync``. Abort, redrive and rerun are in
``catalogue.runs.interventions``, expired uploads in ``catalogue.runs.upload_expiry``.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from catalogue.object_stores import object_store
from catalogue.repositories.runs import RunRepository
from catalogue.runs.execution_sync import ExecutionSync
from catalogue.runs.interventions import Interventions
from catalogue.runs.recorder import StoreRecorder
from catalogue.runs.templates import TEMPLATE_DELETED, template_deleted
from catalogue.runs.upload_expiry import UploadExpiry
from catalogue.store.base import Page
from pipelines.object_keys import check_edition_keys
from pipelines.runs.ids import run_id_for
from pipelines.runs.steps import StepRegistry
from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.repositories import Repositories
    from catalogue.repositories.pipeline_templates import PipelineRepository
    from catalogue.runs.local import LocalWorkers
    from catalogue.services import Services
    from catalogue.settings import Settings
    from catalogue.store.base import ItemStore
    from pipelines.objects import ObjectStore


class RunService(ExecutionSync, Interventions, UploadExpiry):
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
        event_schema: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A run in state WAITING for one object (which may not be uploaded yet).

        The dataset's pipeline is pinned now (``pipeline`` is None when it has none). The
        same object again returns the existing run, kept until the later ``upload_expires``.
        ``made_edition`` says the upload made the edition, so the sweep may remove it when
        the upload never comes. ``event_schema`` types the Parquet of an event dataset's
        default pipeline (the schema a batch window's events were accepted under). Raises
        NotFound for an unknown edition.
        """
        upload = {"uploadExpires": upload_expires, "madeEdition": made_edition}
        run = self.create(
            dataset,
            version,
            edition,
            [key],
            principal=principal,
            extra=upload,
            event_schema=event_schema,
        )
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
        event_schema: Mapping[str, Any] | None = None,
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
                self.pipelines, self.repositories.datasets.get_item(dataset), event_schema
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

    def start(self, run_id: str) -> dict[str, Any] | None:
        """Start a WAITING run; None when it was already started (or has ended).

        Returns the run as this start wrote it: RUNNING, or already ended. A run without a
        pipeline publishes its objects as they are and succeeds; one whose objects are
        missing (``ObjectNotFound``) or cannot be described (``InputError``) fails, as does
        one whose pipeline may not run (``_lookup_error``). A RUNNING run may since have
        ended: reading it back would not tell why this start let it go on.
        """
        before = self.repository.get_run(run_id)
        if before["status"] != "WAITING":
            return None
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
            return None
        if after["status"] != "RUNNING":
            return after
        if self.workers is not None:
            self.workers.submit(run_id, dataset=after["dataset"])
        else:
            self._start_execution(after, after["id"], None)
        return after

    def _publish_as_is(self, run: Mapping[str, Any]) -> dict[str, str] | None:
        """Publish a pipeline-less run's objects unchanged; the run's error, or None.

        Idempotent (same target keys, distribution ids from run and key), so a start that
        races another, or follows a crash, publishes each object once.
        """
        from pipelines.object_keys import parse_object_key
        from pipelines.objects import ObjectNotFound
        from pipelines.steps.contract import InputError
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
                except InputError as error:
                    # A file its description cannot read (not UTF-8, ragged rows): the run
                    # ends saying so, rather than staying WAITING until its URL expires, and
                    # the copy made before the description goes (no distribution names it).
                    self.objects.delete_many([target])
                    return {"error": "InputError", "cause": str(error)}
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
        """Why the run may not start because of its pipeline (its template version deleted
        since, or a lookup it may not read); None if it may."""
        if run["pipeline"] is None:
            return None
        from catalogue.repositories.lookups import run_lookup_error

        template = self.pipelines.find_version(
            run["pipeline"]["template"], run["pipeline"]["version"]
        )
        if template is None:
            return {"error": TEMPLATE_DELETED, "cause": template_deleted(run)}
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
