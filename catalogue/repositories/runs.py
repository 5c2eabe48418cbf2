"""Runs, their step records and the objects each step wrote, over any ItemStore.

A run's state is one item changed by read-modify-write under the store's revision check,
so the API (abort), the worker (transitions) and step handlers (records) never lose each
other's writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from catalogue.domain.change_events import RUN_ACTIONS, STEP_FINISHED, STEP_STARTED, TYPE_PREFIX
from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.store import keys
from catalogue.store.base import (
    Create,
    Delete,
    Item,
    ItemStore,
    Op,
    Page,
    Put,
    Query,
    Replace,
    query_all,
)
from pipelines.timestamps import timestamp

from .change_events import event_ops
from .deletion import ancestor_failure, live_ancestors
from .records import resource, with_ordered_text

STATUSES = ("WAITING", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "EXPIRED")
ENDED = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "EXPIRED"})
STEP_ENDED = frozenset({"SUCCEEDED", "FAILED"})
# Read-modify-write attempts before a writer gives up; contention is a handful of writers.
MAX_UPDATE_ATTEMPTS = 50
# What run and step events carry: the run as GET /runs/{id} shows it (without its steps),
# and a step as it shows each one; the other fields are the worker's bookkeeping (owner,
# startToken, position, resumes, ...), which subscribers must not come to rely on.
RUN_EVENT_FIELDS = (
    "id",
    "dataset",
    "version",
    "edition",
    "pipeline",
    "status",
    "created",
    "startedAt",
    "endedAt",
    "input",
    "output",
    "error",
    "uploadExpires",
    "rerunOf",
    "rerunBy",
    "redrives",
)
STEP_EVENT_FIELDS = ("name", "status", "attempts", "startedAt", "endedAt", "error", "summary")

Change = Callable[[dict[str, Any]], dict[str, Any] | None]


def run_removals(store: ItemStore, dataset: str) -> list[Op]:
    """Deletes of every run of a dataset (run, steps, outputs) and of its listing entries."""
    removals: list[Op] = []
    for listing in query_all(store, Query(keys.dataset_runs_pk(dataset))):
        removals.extend(
            Delete(item["pk"], item["sk"])
            for item in query_all(store, Query(keys.run_pk(listing["id"])))
        )
        removals.append(Delete(listing["pk"], listing["sk"]))
    return removals


class RunRepository:
    """Reads and writes runs; the rules of when a run may change live in catalogue.runs."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def now(self) -> str:
        return timestamp(self.clock())

    # Runs -------------------------------------------------------------------------------

    def _run_item(self, run: Mapping[str, Any]) -> Item:
        item = with_ordered_text({k: v for k, v in run.items() if k != "rev"})
        item.update(pk=keys.run_pk(run["id"]), sk=keys.RUN_SK, kind="run")
        # Only running and waiting runs are in the index: a restart finds them without a scan.
        if run["status"] == "RUNNING":
            item.update(gsi1pk=keys.RUNNING_RUNS, gsi1sk=run["id"])
        elif run["status"] == "WAITING":
            # Waiting runs by expiry: the sweep reads only those whose upload URL expired;
            # a run without one sorts last ("~") and never expires. Start-up reads them all.
            expires = run.get("uploadExpires") or "~"
            item.update(gsi1pk=keys.WAITING_RUNS, gsi1sk=f"{expires}#{run['id']}")
        return item

    def create(self, run: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a new run: (the run, True), or (the existing run, False) when its id is taken.

        Conditional on its edition, version and dataset (the incarnation in ``run``)
        existing and none being deleted: NotFound or Conflict otherwise.
        """
        path = [run["dataset"], run["version"], run["edition"]]
        listing = {
            "pk": keys.dataset_runs_pk(run["dataset"]),
            "sk": f"{run['created']}#{run['id']}",
            "kind": "run-listing",
            "id": run["id"],
            "version": run["version"],
            "edition": run["edition"],
        }
        live = live_ancestors(path, run.get("incarnation"))
        try:
            self.store.transact([*live, Create(self._run_item(run)), Create(listing)])
        except AlreadyExists:
            return self.get_run(run["id"]), False
        except (NotFound, PreconditionFailed) as error:
            raise ancestor_failure(error, path) from None
        return self.get_run(run["id"]), True

    def find_run(self, run_id: str) -> dict[str, Any] | None:
        item = self.store.get(keys.run_pk(run_id), keys.RUN_SK)
        return resource(item) if item is not None else None

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run item alone (no steps); raises NotFound."""
        run = self.find_run(run_id)
        if run is None:
            raise NotFound(f"run {run_id!r} not found")
        return run

    def update_run(self, run_id: str, change: Change) -> dict[str, Any]:
        """Apply ``change`` to the run until the write wins; return the run as stored.

        ``change`` gets a copy of the run and returns the new run, or None to write
        nothing. It may raise to abandon the update. A new status that has an event
        (``RUN_ACTIONS``) writes it in the same transaction. Raises NotFound.
        """
        for _ in range(MAX_UPDATE_ATTEMPTS):
            current = self.get_run(run_id)
            new = change(dict(current))
            if new is None:
                return current
            ops: list[Op] = [Replace(self._run_item(new), rev=current["rev"])]
            status = new.get("status")
            if status != current.get("status") and status in RUN_ACTIONS:
                ops.extend(self._run_events(run_id, current, new))
            try:
                self.store.transact(ops)
            except PreconditionFailed:
                continue
            return {**new, "rev": current["rev"] + 1}
        raise PreconditionFailed(f"run {run_id!r} is changing too often to update")

    def list_for_dataset(self, dataset: str, *, limit: int, cursor: str | None) -> Page:
        """A dataset's runs, newest first (run items alone)."""
        page = self.store.query(
            Query(keys.dataset_runs_pk(dataset), descending=True), limit=limit, cursor=cursor
        )
        found = self.store.get_many([(keys.run_pk(i["id"]), keys.RUN_SK) for i in page.items])
        return Page([resource(item) for item in found], page.next_cursor)

    def list_for_edition(
        self, dataset: str, version: str, edition: str, *, limit: int, cursor: str | None
    ) -> Page:
        """An edition's runs, newest first (run items alone)."""

        def in_edition(item: Item) -> bool:
            return item.get("version") == version and item.get("edition") == edition

        query = Query(keys.dataset_runs_pk(dataset), descending=True, where=in_edition)
        page = self.store.query(query, limit=limit, cursor=cursor)
        found = self.store.get_many([(keys.run_pk(i["id"]), keys.RUN_SK) for i in page.items])
        return Page([resource(item) for item in found], page.next_cursor)

    def all_for_dataset(self, dataset: str) -> list[dict[str, Any]]:
        """Every run of a dataset (run items alone), over all pages."""
        listing = query_all(self.store, Query(keys.dataset_runs_pk(dataset)))
        found = self.store.get_many([(keys.run_pk(i["id"]), keys.RUN_SK) for i in listing])
        return [resource(item) for item in found]

    def waiting_until(self, until: str) -> list[dict[str, Any]]:
        """The WAITING runs whose upload URL expired at or before ``until``, oldest first."""
        query = Query(keys.WAITING_RUNS, index=keys.GSI1)
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.store.query(query, limit=100, cursor=cursor)
            for item in page.items:
                if item["gsi1sk"] > f"{until}#~":
                    return found
                found.append(resource(item))
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def running(self) -> list[dict[str, Any]]:
        """Every run in state RUNNING (one index partition, all pages)."""
        query = Query(keys.RUNNING_RUNS, index=keys.GSI1)
        return [resource(item) for item in query_all(self.store, query)]

    def waiting(self) -> list[dict[str, Any]]:
        """Every run in state WAITING (one index partition, all pages)."""
        query = Query(keys.WAITING_RUNS, index=keys.GSI1)
        return [resource(item) for item in query_all(self.store, query)]

    def _run_events(
        self, run_id: str, current: Mapping[str, Any], new: Mapping[str, Any]
    ) -> list[Op]:
        """The events of a run's new status: ``run.<action>`` (``RUN_ACTIONS``).

        A run that ends in the write that starts it (refused at its start, published as it
        is, failed by the sweep) gets its ``run.started`` first, as it stood starting, so
        that every ended run that started was started first, as its steps are.
        """
        dataset = self._dataset_of(new)
        subject = f"/runs/{run_id}"
        ops: list[Op] = []
        now = self.clock()
        if new["status"] in ENDED and new.get("startedAt") and not current.get("startedAt"):
            starting = {
                **_shown(new, RUN_EVENT_FIELDS),
                "status": "RUNNING",
                "endedAt": None,
                "output": None,
                "error": None,
            }
            started = f"{TYPE_PREFIX}run.{RUN_ACTIONS['RUNNING']}"
            ops += event_ops(started, subject=subject, data=starting, dataset=dataset, now=now)
            # Events of one time are ordered by their random ids: the end must come after.
            now = max(self.clock(), now + timedelta(microseconds=1))
        ops += event_ops(
            f"{TYPE_PREFIX}run.{RUN_ACTIONS[new['status']]}",
            subject=subject,
            data=_shown(new, RUN_EVENT_FIELDS),
            dataset=dataset,
            now=now,
        )
        return ops

    # Steps and outputs ------------------------------------------------------------------

    def _dataset_of(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """The dataset a run's events concern (who may read them depends on it)."""
        dataset = self.store.get(keys.dataset_pk(run["dataset"]), keys.DATASET_SK) or {}
        return {
            "id": run["dataset"],
            "incarnation": run.get("incarnation"),
            "accessRights": dataset.get("accessRights"),
        }

    def update_step(self, run_id: str, step: str, change: Change) -> dict[str, Any]:
        """Apply ``change`` to a step record (``{}`` when there is none yet) until it wins.

        A step that starts or ends writes its ``step.started`` or ``step.finished`` event
        with it (``_step_events``).
        """
        pk, sk = keys.run_pk(run_id), keys.step_sk(step)
        for _ in range(MAX_UPDATE_ATTEMPTS):
            item = self.store.get(pk, sk)
            current = resource(item) if item is not None else {"name": step}
            current.pop("rev", None)
            new = change(dict(current))
            if new is None:
                return current
            body = {**new, "pk": pk, "sk": sk, "kind": "run-step", "name": step}
            ops: list[Op] = [Create(body) if item is None else Replace(body, rev=item["rev"])]
            ops.extend(self._step_events(run_id, step, current, new))
            try:
                self.store.transact(ops)
            except (AlreadyExists, PreconditionFailed):
                continue
            return new
        raise PreconditionFailed(f"step {step!r} of run {run_id!r} is changing too often")

    def _step_events(
        self, run_id: str, step: str, current: Mapping[str, Any], new: Mapping[str, Any]
    ) -> list[Op]:
        """The events of a step record's change: ``step.started`` when it starts running,
        ``step.finished`` when it ends (SUCCEEDED or FAILED).

        A step that ends without its start having been recorded (its end copied from Step
        Functions, say) gets both, so every finished step was started first.
        """
        before, after = current.get("status"), new.get("status")
        ended = after in STEP_ENDED and after != before
        started = (after == "RUNNING" and before != "RUNNING") or (
            ended and before not in ("RUNNING", *STEP_ENDED)
        )
        # A step record of no known run (a crafted step event) has no dataset to tell.
        run = self.find_run(run_id) if started or ended else None
        if run is None:
            return []
        dataset = self._dataset_of(run)
        subject = f"/runs/{run_id}/steps/{step}"
        # Which attempt of the run the step ran in: a redrive runs a failed step again.
        redriven = {"redrives": run["redrives"]} if run.get("redrives") else {}
        ops: list[Op] = []
        now = self.clock()
        if started:
            # As it stood running (an end recorded with its start leaves out how it ended).
            running = {
                name: value
                for name, value in _shown(new, STEP_EVENT_FIELDS).items()
                if name not in ("endedAt", "error", "summary")
            }
            running["status"] = "RUNNING"
            ops += event_ops(
                STEP_STARTED,
                subject=subject,
                data={"run": run_id, **redriven, **running},
                dataset=dataset,
                now=now,
            )
            # Events of one time are ordered by their random ids: the end must come after.
            now = max(self.clock(), now + timedelta(microseconds=1))
        if ended:
            ops += event_ops(
                STEP_FINISHED,
                subject=subject,
                data={"run": run_id, **redriven, **_shown(new, STEP_EVENT_FIELDS)},
                dataset=dataset,
                now=now,
            )
        return ops

    def put_output(self, run_id: str, step: str, output: Mapping[str, Any]) -> None:
        """Record an object a step wrote; the same key again replaces the record."""
        self.store.write(
            Put(
                {
                    **output,
                    "pk": keys.run_pk(run_id),
                    "sk": keys.output_sk(step, output["key"]),
                    "kind": "run-output",
                    "step": step,
                }
            )
        )

    def get(self, run_id: str) -> dict[str, Any]:
        """The run with its steps (in the order they started) and their outputs."""
        run: dict[str, Any] | None = None
        steps: dict[str, dict[str, Any]] = {}
        outputs: dict[str, list[dict[str, Any]]] = {}
        for item in query_all(self.store, Query(keys.run_pk(run_id))):
            if item["sk"] == keys.RUN_SK:
                run = resource(item)
            elif item["sk"].startswith(keys.step_sk()):
                step = resource(item)
                step.pop("rev", None)
                steps[step["name"]] = step
            elif item["sk"].startswith(keys.output_sk()):
                output = resource(item)
                for name in ("rev", "step"):
                    output.pop(name, None)
                outputs.setdefault(item["step"], []).append(output)
        if run is None:
            raise NotFound(f"run {run_id!r} not found")
        for name in outputs:
            steps.setdefault(name, {"name": name})
        ordered = sorted(
            steps.values(), key=lambda s: (s.get("order") or s.get("startedAt") or "~", s["name"])
        )
        for step in ordered:
            step["outputs"] = outputs.get(step["name"], [])
            step.setdefault("status", "RUNNING")
            step.setdefault("attempts", 0)
        run["steps"] = ordered
        return run


def _shown(record: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a run or step record an event carries, those it has."""
    return {name: record[name] for name in fields if name in record}
