"""Taking over the RUNNING runs a stopped process left: resume each, or fail it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogue.runs.service import RunService

# A run interrupted this often is failed rather than resumed again (a step that kills
# the process would otherwise restart it for ever).
MAX_RESUMES = 3
# Error name of a run failed for being interrupted too often, or twice in the same step.
INTERRUPTED = "Brygge.Interrupted"


class Resumption:
    """LocalWorkers' resuming of interrupted runs; the workers inherit it."""

    service: RunService
    _lock: threading.Lock
    _resumed: bool
    submit: Callable[..., None]

    def resume_interrupted(self) -> list[str]:
        """Take over every RUNNING run (after a crash or restart) and resume or fail it.

        Once per process; later calls return []. Returns the run ids resumed.
        """
        with self._lock:
            if self._resumed:
                return []
            self._resumed = True
        taken: list[str] = []
        for found in self.service.repository.running():
            resumed = self._take_over(found["id"], self._step_in_flight(found["id"]))
            if resumed is None:
                continue
            position = resumed.get("position")
            if position:
                self.submit(
                    found["id"],
                    position["state"],
                    position["input"],
                    position.get("variables"),
                    dataset=found["dataset"],
                )
            else:
                self.submit(found["id"], dataset=found["dataset"])
            taken.append(found["id"])
        return taken

    def _step_in_flight(self, run_id: str) -> str | None:
        """The step a run was running when its process stopped, if it was in one."""
        run = self.service.repository.get(run_id)
        state = (run.get("position") or {}).get("state")
        for step in run.get("steps") or []:
            if step.get("name") == state and step.get("status") == "RUNNING":
                return str(state)
        return None

    def _take_over(self, run_id: str, in_flight: str | None = None) -> dict[str, Any] | None:
        """Claim a RUNNING run for this process; None when it is failed instead (or gone).

        ``in_flight`` names the step the run was in when its process stopped. A run whose
        process stopped twice in the same step is failed: the step may be what stops it.
        """
        now = self.service.now()
        owner = self.service.owner

        def take(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "RUNNING":
                return None
            resumes = int(run.get("resumes") or 0) + 1
            run.update(owner=owner, resumes=resumes)
            if in_flight is not None and run.get("resumedInStep") == in_flight:
                run.update(
                    status="FAILED",
                    endedAt=now,
                    error={
                        "error": INTERRUPTED,
                        "cause": f"the server stopped twice while step {in_flight} was "
                        "running; it is not resumed again; redrive the run to try again",
                    },
                    failedState=run.get("position"),
                )
                return run
            run["resumedInStep"] = in_flight
            if resumes > MAX_RESUMES or run.get("pipeline") is None:
                where = (run.get("position") or {}).get("state", "its start")
                run.update(
                    status="FAILED",
                    endedAt=now,
                    error={
                        "error": INTERRUPTED,
                        "cause": f"the run was interrupted {resumes} times, last in state "
                        f"{where}; redrive it to try again",
                    },
                    failedState=run.get("position"),
                )
            return run

        after = self.service.repository.update_run(run_id, take)
        if after.get("owner") != owner or after["status"] != "RUNNING":
            return None
        return after
