"""Cascade deletes that also remove the objects: raw, intermediate and processed files.

With ``?cascade=true`` a dataset, version, edition or distribution takes its objects with
it. The objects go in step 3 of ``repositories.deletion.delete_tree``: after the resource is
marked as being deleted (so no run, upload or create below it can add anything), before its
catalogue entries. A delete that fails part-way leaves the entries in place, so repeating
it lists what is left and finishes the job (a repeat after the objects are gone only
deletes the entries). The open-data location
withdraws the deleted files at the next ``brygge publish``, which no longer finds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import Unavailable
from catalogue.domain.revisions import Condition, check_fresh
from catalogue.object_stores import object_store
from catalogue.repositories.datasets import ExtraOps
from catalogue.repositories.deletion import BeforeRemoval
from catalogue.store.base import Item, Op
from pipelines.object_keys import STAGES, ZONES
from pipelines.objects import ObjectStore

if TYPE_CHECKING:
    from catalogue.services import Services

# Path lengths: dataset, version, edition, distribution.
LEVELS = ("dataset", "version", "edition", "distribution")


def delete_resource(
    svc: Services,
    path: Sequence[str],
    *,
    if_match: Condition | None,
    cascade: bool,
    principal: str,
    extra_ops: ExtraOps | None = None,
) -> None:
    """Delete the resource at ``path``; with ``cascade``, its objects and everything below.

    Raises NotFound, PreconditionFailed (stale ``If-Match``, checked before anything
    goes), HasChildren without ``cascade``, Conflict when the resource is being deleted,
    and Unavailable when some objects could not be deleted (the catalogue keeps the
    resource, marked; repeat the delete).
    """
    repositories = svc.repositories
    level = LEVELS[len(path) - 1]
    if level == "dataset":
        dataset = repositories.datasets.get(path[0])
        current, what = dataset, f"dataset {path[0]!r}"
    else:
        repository = getattr(repositories, f"{level}s")
        path = repository.resolve(path)
        current = repository.get(path)
        what = f"{level} {repository.resource_path(path)}"
        dataset = repositories.datasets.get(path[0])
    hooks: list[BeforeRemoval] = []
    if cascade:
        check_fresh(if_match, current, what)

        def remove_objects(item: Item, removals: Sequence[Op]) -> None:
            objects = object_store(svc.settings)
            if level == "distribution":
                keys: Iterable[str] = distribution_keys(svc, path, current)
            else:
                keys = (
                    info.key
                    for prefix in object_prefixes(dataset["accessRights"], path)
                    for info in objects.list(prefix)
                )
            delete_objects(objects, keys)

        hooks.append(remove_objects)
    if level == "dataset":
        repositories.datasets.delete(
            path[0],
            if_match=if_match,
            cascade=cascade,
            principal=principal,
            extra_ops=extra_ops,
            before_removal=hooks,
        )
    else:
        repository.delete(
            path, if_match=if_match, cascade=cascade, principal=principal, before_removal=hooks
        )


def object_prefixes(access_rights: str, path: Sequence[str]) -> list[str]:
    """The key prefixes of every object of a dataset, version or edition, in each stage."""
    parts = [ZONES[access_rights], path[0]]
    parts += [
        f"{name}={value}" for name, value in zip(("version", "edition"), path[1:3], strict=False)
    ]
    return ["/".join([stage, *parts, ""]) for stage in STAGES]


def distribution_keys(svc: Services, path: Sequence[str], distribution: dict[str, Any]) -> set[str]:
    """A distribution's file and, unless another distribution of the edition came from the
    same run, the upload and intermediate files of the run that made it."""
    keys = {distribution["key"]} if distribution.get("key") else set()
    run_id = distribution.get("run")
    if not run_id:
        return keys
    cursor: str | None = None
    while True:
        page = svc.repositories.distributions.list(path[:3], limit=100, cursor=cursor)
        if any(item["id"] != path[3] and item.get("run") == run_id for item in page.items):
            return keys
        cursor = page.next_cursor
        if cursor is None:
            break
    run = svc.runs.repository.find_run(run_id)
    if run is None:
        return keys
    keys.update(run["input"]["keys"])
    for step in svc.runs.repository.get(run_id)["steps"]:
        keys.update(output["key"] for output in step["outputs"])
    return keys


def delete_objects(objects: ObjectStore, keys: Iterable[str]) -> None:
    """Delete ``keys`` (in batches, every page); Unavailable naming what failed, if any."""
    failures = objects.delete_many(keys)
    if failures:
        first = failures[0]
        raise Unavailable(
            f"could not delete {len(failures)} object(s), e.g. {first.key}: {first.code} "
            f"{first.message}; nothing else was deleted, repeat the delete to finish"
        )
