"""Dataset writes that span resources: a dataset and its owner team's grants, in one go.

Creating a dataset grants its owner team every scope; handing it to another team grants
that team too; deleting it removes every grant on it. Each is one store transaction with
the dataset's own write, composed here so views make one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from catalogue.cascade import delete_resource

if TYPE_CHECKING:
    from catalogue.domain.revisions import Condition
    from catalogue.repositories import Repositories
    from catalogue.services import Services


def create_dataset(
    repositories: Repositories, data: Mapping[str, Any], *, principal: str
) -> dict[str, Any]:
    """Create a dataset (and its version 1) with its owner team's grants; return it.

    Raises AlreadyExists, InvalidValue as ``DatasetRepository.create`` does.
    """
    grants = repositories.permissions
    return repositories.datasets.create(
        data,
        principal=principal,
        extra_ops=lambda dataset: grants.owner_ops(dataset, data["owner"]),
    )


def change_dataset(
    repositories: Repositories,
    dataset_id: str,
    changes: Mapping[str, Any],
    *,
    if_match: Condition | None,
    principal: str,
) -> dict[str, Any]:
    """Apply a merge patch to a dataset; a new ``owner`` team gets every scope with it.

    Raises NotFound, PreconditionFailed, ImmutableField, InvalidValue.
    """
    owner = changes.get("owner")
    grants = repositories.permissions
    return repositories.datasets.patch(
        dataset_id,
        changes,
        if_match=if_match,
        principal=principal,
        extra_ops=(
            None
            if owner is None
            else lambda dataset: grants.new_owner_ops(dataset, owner, principal=principal)
        ),
    )


def delete_dataset(
    svc: Services,
    path: Sequence[str],
    *,
    if_match: Condition | None,
    cascade: bool,
    principal: str,
) -> None:
    """Delete a dataset and every grant on it (see ``delete_resource`` for what it raises)."""
    delete_resource(
        svc,
        path,
        if_match=if_match,
        cascade=cascade,
        principal=principal,
        extra_ops=svc.repositories.permissions.removal_ops,
    )
