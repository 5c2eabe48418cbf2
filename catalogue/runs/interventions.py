"""What a user does to a started run: abort it, redrive it from where it failed, rerun it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import Conflict
from catalogue.object_stores import object_store
from catalogue.repositories.runs import ENDED
from catalogue.runs.templates import template_deleted
from pipelines.runs.ids import run_id_for
from pipelines.stepfunctions import stop_execution

if TYPE_CHECKING:
    from catalogue.repositories.pipeline_templates import PipelineRepository
    from catalogue.repositories.runs import RunRepository
    from catalogue.runs.local import LocalWorkers
    from catalogue.settings import Settings


class Interventions:
    """RunService's abort, redrive and rerun; the service inherits them."""

    settings: Settings
    pipelines: PipelineRepository
    repository: RunRepository
    workers: LocalWorkers | None
    owner: str
    is_local: bool
    now: Callable[[], str]
    get: Callable[[str], dict[str, Any]]
    create: Callable[..., dict[str, Any]]
    start: Callable[[str], bool]
    _machine: Callable[[Mapping[str, Any]], str]
    _start_execution: Callable[[Mapping[str, Any], str, Mapping[str, Any] | None], None]
    _remove_empty_edition: Callable[[Mapping[str, Any]], bool]

    def abort(self, run_id: str) -> dict[str, Any]:
        """Stop a waiting or running run (ABORTED); Conflict when it has ended.

        A waiting run is an upload given up (a cancelled ``brygge upload``): the edition
        the upload made goes with it, when nothing else has filled or used it, as the sweep
        removes it when an upload URL expires unused; else it would be the newest edition,
        empty, until then.
        """
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
        if before["status"] == "WAITING" and after.get("madeEdition"):
            self._remove_empty_edition(after)
        return self.get(run_id)

    def redrive(self, run_id: str) -> dict[str, Any]:
        """Run a failed or aborted run again from the step that failed, with its input.

        Steps that had succeeded are not run again. Conflict unless the run is FAILED or
        ABORTED and knows where it stopped, and when the template version it ran was deleted.
        """
        owner = self.owner
        now = self.now()
        restart: dict[str, Any] = {}
        pinned = self.repository.get_run(run_id)
        if pinned.get("pipeline") is not None and (
            self.pipelines.find_version(
                pinned["pipeline"]["template"], pinned["pipeline"]["version"]
            )
            is None
        ):
            raise Conflict(template_deleted(pinned))

        def again(run: dict[str, Any]) -> dict[str, Any]:
            if run["status"] not in ("FAILED", "ABORTED") or run.get("pipeline") is None:
                raise Conflict(f"run {run_id!r} is {run['status']}: only a failed run redrives")
            # A rerun took this run's place: both would write the edition's distributions.
            if run.get("rerunBy") and self.repository.find_run(run["rerunBy"]) is not None:
                raise Conflict(
                    f"run {run_id!r} was rerun as {run['rerunBy']!r}; redrive or rerun that "
                    "one instead"
                )
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
