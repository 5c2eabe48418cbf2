"""Which lookups a dataset's pipeline may read: checked on save, at run start, and per step.

A pipeline reads with the rights of its dataset's owner team: a lookup dataset must be one
that team may read (as ``can_see`` decides for a caller of the API), and a lookup key must
be an object of the pipeline's own dataset. A lookup dataset that does not exist and one
the team may not read get the same answer, so a pipeline cannot probe for hidden datasets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from catalogue.domain.access import ANONYMOUS, Identity, can_see, effective_scopes
from catalogue.domain.errors import Forbidden, InvalidValue, NotFound
from catalogue.store import keys
from catalogue.store.base import ItemStore

from .permissions import PermissionRepository

# Error name of a run whose pipeline names a lookup it may not read.
LOOKUP_NOT_ALLOWED = "Brygge.LookupNotAllowed"


def _epoch() -> datetime:
    return datetime.fromtimestamp(0, UTC)


def owner_team_readable(store: ItemStore, dataset: str, lookups: Iterable[str]) -> dict[str, str]:
    """The access rights of each of ``lookups`` the owner team of ``dataset`` may read.

    Datasets that team may not read and datasets that do not exist are left out alike; an
    unknown ``dataset`` reads nothing.
    """
    item = store.get(keys.dataset_pk(dataset), keys.DATASET_SK)
    if item is None:
        return {}
    owner = item.get("owner")
    identity = Identity(owner) if owner else ANONYMOUS
    # Reads grants only; the clock is never used.
    permissions = PermissionRepository(store, _epoch)
    readable: dict[str, str] = {}
    for lookup in dict.fromkeys(lookups):
        found = store.get(keys.dataset_pk(lookup), keys.DATASET_SK)
        if found is None:
            continue
        access_rights = found.get("accessRights", "non-public")
        scopes = frozenset()
        if identity.is_authenticated and access_rights == "non-public":
            scopes = effective_scopes(permissions.scopes_of(found, identity.grantees))
        if can_see(access_rights, identity, scopes):
            readable[lookup] = access_rights
    return readable


def check_pipeline_lookups(
    store: ItemStore,
    dataset: str,
    definition: Mapping[str, Any],
    task_config: Mapping[str, Any],
) -> None:
    """Check every lookup of a dataset's pipeline; the first one not allowed raises.

    Raises InvalidValue(taskConfig) (422) for a lookup of the wrong shape or a key outside
    the dataset, and Forbidden (403) for a dataset its owner team may not read (or that does
    not exist). Each message names the Task state and the lookup.
    """
    from pipelines.compiler import task_steps
    from pipelines.steps.lookups import key_lookup_problem, step_lookups

    lookups = step_lookups(task_steps(definition), task_config)
    for state, lookup in lookups.items():
        if lookup.key is not None:
            problem = key_lookup_problem(lookup.key, dataset)
            if problem:
                raise InvalidValue("taskConfig", f"state {state!r}: {problem}")
    wanted = [lookup.dataset for lookup in lookups.values() if lookup.dataset is not None]
    readable = owner_team_readable(store, dataset, wanted)
    for state, lookup in lookups.items():
        if lookup.dataset is not None and lookup.dataset not in readable:
            raise Forbidden(
                f"taskConfig: state {state!r}: lookup dataset {lookup.dataset!r} does not "
                f"exist or the owner team of dataset {dataset!r} may not read it"
            )


def run_lookup_error(
    store: ItemStore, run: Mapping[str, Any], definition: Mapping[str, Any]
) -> dict[str, str] | None:
    """The error a run fails with when its pinned pipeline names a lookup it may not read.

    None when every lookup is allowed now (grants may have changed since the pipeline was
    saved, hence the second check at run start).
    """
    try:
        check_pipeline_lookups(store, run["dataset"], definition, run.get("taskConfig") or {})
    except (InvalidValue, Forbidden, NotFound) as error:
        return {"error": LOOKUP_NOT_ALLOWED, "cause": error.message}
    return None
