"""Pipeline templates, versioned state machines (dataset_pipelines: the pipeline a dataset runs)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from catalogue.domain.change_events import event_type
from catalogue.domain.changes import changed_fields
from catalogue.domain.errors import (
    AlreadyExists,
    InvalidValue,
    NotFound,
)
from catalogue.domain.ids import incarnation_id
from catalogue.domain.revisions import Condition, check_fresh
from catalogue.store import keys
from catalogue.store.base import (
    Create,
    Delete,
    Item,
    ItemStore,
    Op,
    Page,
    Query,
    Replace,
    query_all,
)
from pipelines.timestamps import timestamp

from .audit import AuditRepository, audit_entry
from .change_events import event_ops, public_data
from .dataset_pipelines import DatasetPipelines
from .deletion import (
    check_live,
    delete_tree,
    same_incarnation,
)
from .pipeline_checks import check_json_size
from .records import read_modify_write, resource, with_ordered_text

TEMPLATE_FIELDS = ("id", "title", "description", "definition")
# What a template's audit entries compare (the version number changes with every PUT).
AUDITED_FIELDS = ("owner", "title", "description", "definition", "version")

# A version's item, and its audit entry and change event (an update's hold the old and the
# new definition), each keep the definition in one DynamoDB item of at most 400 KB.
MAX_DEFINITION_BYTES = 128 * 1024

# Called with (template id, version, definition) after a template version is stored: aws
# mode creates or updates that version's state machine there.
OnTemplateSaved = Callable[[str, int, Mapping[str, Any]], None]


def audited_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {before, after}}`` of the AUDITED_FIELDS that differ (audit and events)."""
    return changed_fields(
        {name: old[name] for name in AUDITED_FIELDS if name in old},
        {name: new[name] for name in AUDITED_FIELDS if name in new},
    )


def check_definition(definition: Any) -> None:
    """Raise InvalidValue(definition) listing every problem of a template definition."""
    from pipelines.runs.steps import definition_problems

    check_json_size("definition", definition, MAX_DEFINITION_BYTES, "a template")
    problems = definition_problems(definition)
    if problems:
        raise InvalidValue("definition", "; ".join(problems))


class PipelineRepository(DatasetPipelines):
    """Templates (each PUT a new version) and dataset pipelines pinning one version."""

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], datetime],
        *,
        on_saved: OnTemplateSaved | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_saved = on_saved

    # Templates --------------------------------------------------------------------------

    def _head_item(self, template: str) -> Item:
        item = self.store.get(keys.pipeline_pk(template), keys.PIPELINE_SK)
        if item is None:
            raise NotFound(f"pipeline template {template!r} not found")
        return item

    def get(self, template: str) -> dict[str, Any]:
        """The latest version of a template, with ``version`` and ``rev``; raises NotFound."""
        return resource(self._head_item(template))

    def audit(self, template: str, *, limit: int, cursor: str | None) -> Page:
        """The audit trail of a template (this incarnation of its id), newest first."""
        head = self._head_item(template)
        partition = keys.template_audit_pk(template, head.get("incarnation"))
        return AuditRepository(self.store, self.clock).list(partition, limit=limit, cursor=cursor)

    def _audit(
        self,
        template: Mapping[str, Any],
        action: str,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        principal: str,
    ) -> Op:
        return audit_entry(
            keys.template_audit_pk(template["id"], template.get("incarnation")),
            principal=principal,
            action=action,
            resource_path=f"/pipelines/{template['id']}",
            changes=audited_changes(old, new),
            now=self.clock(),
        )

    def _event(self, action: str, template: Mapping[str, Any], data: Mapping[str, Any]) -> list[Op]:
        """The change event of a template's create, update or delete (seen by every reader,
        as templates are)."""
        return event_ops(
            event_type("pipeline-template", action),
            subject=f"/pipelines/{template['id']}",
            data=public_data(data),
            dataset=None,
            now=self.clock(),
        )

    def get_version(self, template: str, version: int) -> dict[str, Any]:
        """One stored version of a template (kept while a dataset pipeline pins it)."""
        found = self.find_version(template, version)
        if found is None:
            raise NotFound(f"pipeline template {template!r} has no version {version}")
        return found

    def find_version(self, template: str, version: int) -> dict[str, Any] | None:
        """One stored version of a template, or None once the template was deleted."""
        item = self.store.get(keys.pipeline_pk(template), keys.pipeline_version_sk(version))
        if item is None:
            return None
        found = resource(item)
        found.pop("rev", None)
        return found

    def list(self, *, limit: int, cursor: str | None) -> Page:
        page = self.store.query(
            Query(keys.ALL_PIPELINES, index=keys.GSI1), limit=limit, cursor=cursor
        )
        return Page([resource(item) for item in page.items], page.next_cursor)

    def _items(self, template: dict[str, Any]) -> tuple[Item, Item]:
        pk = keys.pipeline_pk(template["id"])
        head = {
            **template,
            "pk": pk,
            "sk": keys.PIPELINE_SK,
            "kind": "pipeline",
            "gsi1pk": keys.ALL_PIPELINES,
            "gsi1sk": template["id"],
        }
        version = {
            **template,
            "pk": pk,
            "sk": keys.pipeline_version_sk(template["version"]),
            "kind": "pipeline-version",
        }
        return with_ordered_text(head), with_ordered_text(version)

    def _latest_version(self, template: str) -> int:
        """The highest stored version (versions outlive a deleted head while pinned)."""
        page = self.store.query(
            Query(keys.pipeline_pk(template), prefix="version#", descending=True), limit=1
        )
        return int(page.items[0]["version"]) if page.items else 0

    def create(
        self, data: Mapping[str, Any], *, owner: str | None, principal: str
    ) -> dict[str, Any]:
        """Register a template as version 1 (or the next one after a deleted template's).

        ``owner`` is the team whose members may change it (None: site admins only); the
        create is audited in its transaction. Raises AlreadyExists for an existing id,
        InvalidValue for a bad definition.
        """
        check_definition(data["definition"])
        moment = self.clock()
        now = timestamp(moment)
        template: dict[str, Any] = {name: data.get(name) for name in TEMPLATE_FIELDS}
        template["description"] = template["description"] or ""
        template.update(
            owner=owner,
            # Like a dataset's: the audit trail and ETags of a template made again with a
            # deleted one's id are its own.
            incarnation=incarnation_id(moment, secrets.token_bytes(4)),
            version=self._latest_version(data["id"]) + 1,
            created=now,
            modified=now,
        )
        head, version = self._items(template)
        audit = self._audit(template, "create", {}, template, principal)
        try:
            self.store.transact(
                [Create(head), Create(version), audit, *self._event("create", template, template)]
            )
        except AlreadyExists:
            raise AlreadyExists(
                f"pipeline template {data['id']!r} already exists", field="id"
            ) from None
        if self.on_saved is not None:
            self.on_saved(template["id"], template["version"], template["definition"])
        return self.get(template["id"])

    def update(
        self,
        template_id: str,
        data: Mapping[str, Any],
        *,
        if_match: Condition | None,
        principal: str,
    ) -> dict[str, Any]:
        """Store a new version of a template, audited; the versions datasets pinned stay.

        ``owner`` in ``data`` hands it to another team; absent, the owner stays. Without
        ``if_match`` a PUT that lost a race with another is stored after it.
        """
        check_definition(data["definition"])
        template = read_modify_write(
            lambda: self._add_version(template_id, data, if_match, principal),
            if_match=if_match,
            what=f"pipeline template {template_id!r}",
        )
        if self.on_saved is not None:
            self.on_saved(template_id, template["version"], template["definition"])
        return self.get(template_id)

    def _add_version(
        self, template_id: str, data: Mapping[str, Any], if_match: Condition | None, principal: str
    ) -> dict[str, Any]:
        head_item = self._head_item(template_id)
        check_fresh(if_match, head_item, f"pipeline template {template_id!r}")
        check_live(head_item, f"pipeline template {template_id!r}")
        old = resource(head_item)
        template: dict[str, Any] = {
            name: data.get(name) for name in TEMPLATE_FIELDS if name != "id"
        }
        template.update(
            id=template_id,
            owner=data.get("owner") or old.get("owner"),
            incarnation=old.get("incarnation"),
            description=template.get("description") or "",
            version=int(head_item["version"]) + 1,
            created=head_item["created"],
            modified=timestamp(self.clock()),
        )
        head, version = self._items(template)
        audit = self._audit(template, "update", old, template, principal)
        self.store.transact(
            [
                Replace(head, rev=head_item["rev"], expect=same_incarnation(head_item)),
                Create(version),
                audit,
                *self._event("update", template, audited_changes(old, template)),
            ]
        )
        return template

    def delete(self, template_id: str, *, if_match: Condition | None, principal: str) -> None:
        """Delete a template and its versions, audited; HasChildren while a dataset uses it.

        In the order of ``deletion.delete_tree``: once the template is marked, no dataset
        pipeline can pin it, so none is left pinning a deleted version.
        """
        head_item = self._head_item(template_id)
        check_fresh(if_match, head_item, f"pipeline template {template_id!r}")
        pk = keys.pipeline_pk(template_id)
        users = Query(pk, prefix=keys.pipeline_use_sk())

        def in_use() -> bool:
            return bool(self.store.query(users, limit=1).items)

        names = ", ".join(item["dataset"] for item in self.store.query(users, limit=5).items)
        names = names or "a dataset"
        old = resource(head_item)
        delete_tree(
            self.store,
            head_item,
            cascade=False,
            has_children=in_use,
            children=lambda: [
                [Delete(item["pk"], item["sk"])]
                for item in query_all(self.store, Query(pk, prefix="version#"))
            ],
            last=lambda: [
                self._audit(old, "delete", old, {}, principal),
                *self._event("delete", old, old),
            ],
            not_empty=f"pipeline template {template_id!r} is used by datasets: {names}; "
            "remove their pipelines first",
        )
