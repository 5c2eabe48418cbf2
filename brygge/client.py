"""The SDK: ``Client`` over Brygge's REST API, one method per operation.

Every call goes through ``brygge.session.Session``: it has a timeout; idempotent calls (GET,
PUT, DELETE) are retried with backoff on 429/502/503/504 and on connection errors, and any
call on 429 or a refused connection; every failure raises ``ClientError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from brygge.resources import ClientError, Resource, path_of
from brygge.session import RETRY_STATUSES, Session

# EXPIRED: the upload URL expired unused, so the run never ran and never will.
TERMINAL_RUN_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "EXPIRED"})


class Client(Session):
    """Brygge's API at ``url`` as ``token``; both default to BRYGGE_URL/BRYGGE_TOKEN, then to
    the profile (BRYGGE_PROFILE, else ``default``) of ``~/.config/brygge/config.toml``.

    Raises ClientError when no URL is known.
    """

    # -- who am I ------------------------------------------------------------------------------

    def me(self) -> Resource:
        """The caller's principal, teams and grants (``GET /me``); 401 for a bad token."""
        return self.get("/me")

    # -- datasets ------------------------------------------------------------------------------

    def datasets(
        self,
        *,
        owner: str | None = None,
        keyword: str | None = None,
        theme: str | None = None,
        q: str | None = None,
        access_rights: str | None = None,
        state: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Resource]:
        params = {
            "owner": owner,
            "keyword": keyword,
            "theme": theme,
            "q": q,
            "accessRights": access_rights,
            "state": state,
        }
        return self.pages("/datasets", params, page_size=page_size)

    def dataset(self, dataset_id: str) -> Resource:
        return self.get(path_of("datasets", dataset_id))

    def create_dataset(self, dataset: Mapping[str, Any]) -> Resource:
        return self.resource("POST", "/datasets", json=dict(dataset))

    def update_dataset(
        self, dataset_id: str, changes: Mapping[str, Any], *, etag: str | None = None
    ) -> Resource:
        """Merge-patch a dataset; with ``etag``, only if nobody changed it since (else 412)."""
        return self.update(path_of("datasets", dataset_id), changes, etag=etag)

    def delete_dataset(self, dataset_id: str, *, cascade: bool = False) -> None:
        self.request("DELETE", path_of("datasets", dataset_id), params={"cascade": cascade or None})

    def update(self, path: str, changes: Mapping[str, Any], *, etag: str | None = None) -> Resource:
        """PATCH ``path`` with a merge patch, sending ``If-Match: etag`` when given.

        With an ETag the patch is conditional, so repeating it is safe: it is retried.
        """
        headers = {"If-Match": etag} if etag else None
        return self.resource(
            "PATCH", path, json=dict(changes), headers=headers, idempotent=etag is not None
        )

    def history(self, dataset_id: str) -> Iterator[Resource]:
        return self.pages(path_of("datasets", dataset_id, "history"))

    # -- versions, editions, distributions ------------------------------------------------------

    def versions(self, dataset_id: str) -> Iterator[Resource]:
        return self.pages(path_of("datasets", dataset_id, "versions"))

    def version(self, dataset_id: str, version: str) -> Resource:
        return self.get(path_of("datasets", dataset_id, "versions", version))

    def create_version(self, dataset_id: str, version: Mapping[str, Any]) -> Resource:
        return self.resource("POST", path_of("datasets", dataset_id, "versions"), json=version)

    def delete_version(self, dataset_id: str, version: str, *, cascade: bool = False) -> None:
        path = path_of("datasets", dataset_id, "versions", version)
        self.request("DELETE", path, params={"cascade": cascade or None})

    def editions(self, dataset_id: str, version: str) -> Iterator[Resource]:
        return self.pages(path_of("datasets", dataset_id, "versions", version, "editions"))

    def edition(self, dataset_id: str, version: str, edition: str) -> Resource:
        return self.get(path_of("datasets", dataset_id, "versions", version, "editions", edition))

    def create_edition(
        self, dataset_id: str, version: str, edition: Mapping[str, Any] | None = None
    ) -> Resource:
        path = path_of("datasets", dataset_id, "versions", version, "editions")
        return self.resource("POST", path, json=dict(edition or {}))

    def delete_edition(
        self, dataset_id: str, version: str, edition: str, *, cascade: bool = False
    ) -> None:
        path = path_of("datasets", dataset_id, "versions", version, "editions", edition)
        self.request("DELETE", path, params={"cascade": cascade or None})

    def distributions(self, dataset_id: str, version: str, edition: str) -> Iterator[Resource]:
        return self.pages(
            path_of("datasets", dataset_id, "versions", version, "editions", edition)
            + "/distributions"
        )

    def distribution(
        self, dataset_id: str, version: str, edition: str, distribution: str
    ) -> Resource:
        return self.get(distribution_path(dataset_id, version, edition, distribution))

    # -- pipelines and steps --------------------------------------------------------------------

    def pipelines(self) -> Iterator[Resource]:
        return self.pages("/pipelines")

    def pipeline(self, template_id: str) -> Resource:
        return self.get(path_of("pipelines", template_id))

    def create_pipeline(self, template: Mapping[str, Any]) -> Resource:
        return self.resource("POST", "/pipelines", json=dict(template))

    def put_pipeline(self, template_id: str, template: Mapping[str, Any]) -> Resource:
        return self.resource("PUT", path_of("pipelines", template_id), json=dict(template))

    def validate_pipeline(
        self, definition: Mapping[str, Any], task_config: Mapping[str, Any] | None = None
    ) -> Resource:
        """The server's checks of a template (and taskConfig), nothing saved; 422 lists all.

        Without ``task_config`` the template is checked alone, as saving it would be.
        """
        body: dict[str, Any] = {"definition": dict(definition)}
        if task_config is not None:
            body["taskConfig"] = dict(task_config)
        return self.resource("POST", "/pipelines/validate", json=body, idempotent=True)

    def dataset_pipeline(self, dataset_id: str) -> Resource:
        return self.get(path_of("datasets", dataset_id, "pipeline"))

    def set_dataset_pipeline(
        self, dataset_id: str, template: str, task_config: Mapping[str, Any] | None = None
    ) -> Resource:
        body = {"template": template, "taskConfig": dict(task_config or {})}
        return self.resource("PUT", path_of("datasets", dataset_id, "pipeline"), json=body)

    def validate_dataset_pipeline(
        self, dataset_id: str, template: str, task_config: Mapping[str, Any] | None = None
    ) -> Resource:
        body = {"template": template, "taskConfig": dict(task_config or {})}
        path = path_of("datasets", dataset_id, "pipeline", "validate")
        return self.resource("POST", path, json=body, idempotent=True)

    def steps(self) -> list[Resource]:
        """The step catalogue: each step with the JSON Schema of its options."""
        return [Resource(step) for step in self.get("/steps").get("items", [])]

    def step(self, name: str) -> Resource:
        return self.get(path_of("steps", name))

    # -- runs ----------------------------------------------------------------------------------

    def runs(self, dataset_id: str) -> Iterator[Resource]:
        """A dataset's runs, newest first."""
        return self.pages(path_of("datasets", dataset_id, "runs"))

    def run(self, run_id: str) -> Resource:
        return self.get(path_of("runs", run_id))

    def start_run(self, dataset_id: str, version: str, edition: str, keys: list[str]) -> Resource:
        # The same objects find the same run, so a repeated start is safe to retry.
        path = path_of("datasets", dataset_id, "versions", version, "editions", edition, "runs")
        return self.resource("POST", path, json={"input": {"keys": keys}}, idempotent=True)

    def abort_run(self, run_id: str) -> Resource:
        return self.resource("POST", path_of("runs", run_id, "abort"))

    def redrive_run(self, run_id: str) -> Resource:
        """Run a failed run again from the step that failed."""
        return self.resource("POST", path_of("runs", run_id, "redrive"))

    def rerun(self, run_id: str) -> Resource:
        """Run a run's input again from the start with the dataset's current pipeline."""
        return self.resource("POST", path_of("runs", run_id, "rerun"))

    def watch(
        self,
        run_id: str,
        *,
        interval_s: float = 1.0,
        max_lost_polls: int = 120,
        on_lost: Callable[[ClientError, int], None] | None = None,
    ) -> Iterator[RunEvent]:
        """Yield each change of the run's or a step's status until the run ends.

        A server that restarts (or a connection that drops) mid-watch is waited for, up to
        ``max_lost_polls`` polls in a row without an answer, each told to ``on_lost(error,
        polls lost so far)``; then ClientError. A server that never answered the first poll
        is a ClientError at once: a wrong URL or a stopped server is not a restart.
        """
        seen: dict[str, str] = {}
        lost = 0
        while True:
            try:
                run = self.run(run_id)
            except ClientError as error:
                lost += 1
                if not seen or error.status not in (0, *RETRY_STATUSES) or lost > max_lost_polls:
                    raise
                if on_lost is not None:
                    on_lost(error, lost)
                self.sleep(interval_s)
                continue
            lost = 0
            for step in run.get("steps") or []:
                state = step_state(step)
                if seen.get(f"step:{step['name']}") != state:
                    seen[f"step:{step['name']}"] = state
                    yield RunEvent(run, step)
            if seen.get("run") != run.get("status"):
                seen["run"] = str(run.get("status"))
                yield RunEvent(run, None)
            if run.get("status") in TERMINAL_RUN_STATUSES:
                return
            self.sleep(interval_s)

    def wait(self, run_id: str, *, interval_s: float = 1.0) -> Resource:
        """Wait for the run to end and return it (its steps included)."""
        last: Resource | None = None
        for event in self.watch(run_id, interval_s=interval_s):
            last = event.run
        assert last is not None  # watch yields at least the run's status
        return last

    # -- permissions ---------------------------------------------------------------------------

    def permissions(self, dataset_id: str) -> Iterator[Resource]:
        return self.pages(path_of("datasets", dataset_id, "permissions"))

    def grant(self, dataset_id: str, principal: str, scopes: list[str]) -> Resource:
        path = path_of("datasets", dataset_id, "permissions", principal)
        return self.resource("PUT", path, json={"scopes": scopes})

    def revoke(self, dataset_id: str, principal: str) -> None:
        self.request("DELETE", path_of("datasets", dataset_id, "permissions", principal))

    # -- the catalogue -------------------------------------------------------------------------

    def catalog(self, *, rdf_format: str = "turtle") -> str:
        """The DCAT-AP catalogue of public datasets as RDF text."""
        response = self.request("GET", "/catalog", params={"format": rdf_format})
        return response.text

    def publishability(self, dataset_id: str) -> Resource:
        return self.get(path_of("datasets", dataset_id, "publishability"))

    # -- files ---------------------------------------------------------------------------------

    def upload(
        self,
        dataset_id: str,
        path: str | Path,
        version: str = "1",
        edition: str | None = None,
        *,
        content_type: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        state_dir: Path | None = None,
    ) -> Resource:
        """Upload one file, streamed; returns the upload (its ``edition``, ``key``, ``run``).

        ``progress(sent, total)`` is called as bytes go out. Multipart uploads keep a small
        state file (under ``state_dir``), so the same call after a crash resumes them.
        """
        from brygge import transfers

        return transfers.upload(
            self,
            dataset_id,
            Path(path),
            version,
            edition,
            content_type=content_type,
            progress=progress,
            state_dir=state_dir,
        )

    def download(
        self,
        dataset_id: str,
        version: str,
        edition: str,
        distribution: str,
        directory: str | Path,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Download a distribution's file into ``directory``, streamed; returns its path."""
        from brygge import transfers

        path = distribution_path(dataset_id, version, edition, distribution) + "/download"
        return transfers.download(self, path, Path(directory), progress=progress)

    def download_output(
        self,
        run_id: str,
        number: int,
        directory: str | Path,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Download output ``number`` of a run (an intermediate or rejects file), streamed."""
        from brygge import transfers

        path = path_of("runs", run_id, "outputs", str(number), "download")
        return transfers.download(self, path, Path(directory), progress=progress)


def distribution_path(dataset_id: str, version: str, edition: str, distribution: str) -> str:
    return path_of(
        "datasets",
        dataset_id,
        "versions",
        version,
        "editions",
        edition,
        "distributions",
        distribution,
    )


def step_state(step: Mapping[str, Any]) -> str:
    return f"{step.get('status')}/{step.get('attempts')}"


class RunEvent:
    """One change seen by ``watch``: a step's (``step`` set) or the run's (``step`` None)."""

    def __init__(self, run: Resource, step: Mapping[str, Any] | None) -> None:
        self.run = run
        self.step = dict(step) if step is not None else None

    @property
    def status(self) -> str:
        source = self.step if self.step is not None else self.run
        return str(source.get("status"))

    def __repr__(self) -> str:
        name = self.step["name"] if self.step else "run"
        return f"RunEvent({name}={self.status})"
