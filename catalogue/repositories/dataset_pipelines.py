"""The pipeline each dataset runs: a template version it pins, with its taskConfig."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from catalogue.domain.changes import changed_fields
from catalogue.domain.errors import AlreadyExists, InvalidValue, NotFound, PreconditionFailed
from catalogue.domain.revisions import Condition, check_fresh
from catalogue.store import keys
from catalogue.store.base import Check, Create, Delete, ItemStore, Op, Put, Replace
from pipelines.timestamps import timestamp

from .audit import audit_entry, dataset_audit_trail
from .deletion import DELETING, ancestor_failure, live_ancestors, store_delete
from .lookups import check_pipeline_lookups
from .pipeline_checks import check_task_config
from .records import read_modify_write, resource, with_ordered_text


class DatasetPipelines:
    """PipelineRepository's dataset pipelines; the repository inherits them."""

    store: ItemStore
    clock: Callable[[], datetime]
    # The repository's own: a template's latest version, and one version of it.
    get: Callable[[str], dict[str, Any]]
    get_version: Callable[[str, int], dict[str, Any]]

    def get_dataset_pipeline(self, dataset: str) -> dict[str, Any]:
        """The pipeline of a dataset: ``{template, version, taskConfig}``; raises NotFound."""
        item = self.store.get(keys.dataset_pk(dataset), keys.DATASET_PIPELINE_SK)
        if item is None:
            raise NotFound(f"dataset {dataset!r} has no pipeline")
        return resource(item)

    def find_dataset_pipeline(self, dataset: str) -> dict[str, Any] | None:
        try:
            return self.get_dataset_pipeline(dataset)
        except NotFound:
            return None

    def check_dataset_pipeline(self, dataset: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Check a dataset pipeline as ``set_dataset_pipeline`` would; return its template.

        Raises NotFound for an unknown dataset, InvalidValue(template) for an unknown
        template, InvalidValues naming every problem of the taskConfig
        (``pipeline_checks``), and what ``check_pipeline_lookups`` raises for a lookup the
        dataset may not read.
        """
        if self.store.get(keys.dataset_pk(dataset), keys.DATASET_SK) is None:
            raise NotFound(f"dataset {dataset!r} not found")
        template = self.pinned_version(dataset, data)
        check_task_config(template, data.get("taskConfig") or {})
        check_pipeline_lookups(
            self.store, dataset, template["definition"], data.get("taskConfig") or {}
        )
        return template

    def pinned_version(self, dataset: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The template version a dataset pipeline set with ``data`` runs.

        The ``version`` given; else the version the dataset already pins when ``data``
        names the same template (a new template version never reaches a dataset unless
        its owner names it); else the template's latest. Raises InvalidValue(template)
        for an unknown template, InvalidValue(version) for a version it does not have.
        """
        try:
            latest = self.get(data["template"])
        except NotFound:
            raise InvalidValue("template", f"no pipeline template {data['template']!r}") from None
        wanted = data.get("version")
        if wanted is None:
            current = self.find_dataset_pipeline(dataset)
            if current is None or current["template"] != latest["id"]:
                return latest
            wanted = current["version"]
        if wanted == latest["version"]:
            return latest
        try:
            return self.get_version(latest["id"], int(wanted))
        except NotFound:
            raise InvalidValue(
                "version", f"pipeline template {latest['id']!r} has no version {wanted}"
            ) from None

    def set_dataset_pipeline(
        self, dataset: str, data: Mapping[str, Any], *, principal: str, if_match: Condition | None
    ) -> dict[str, Any]:
        """Set a dataset's pipeline to the latest version of a template, with its taskConfig.

        Raises what ``check_dataset_pipeline`` raises, and PreconditionFailed; without
        ``if_match`` a race lost to another writer is retried on its pipeline.
        """
        return read_modify_write(
            lambda: self._set_dataset_pipeline(dataset, data, principal, if_match),
            if_match=if_match,
            what=f"the pipeline of dataset {dataset!r}",
        )

    def _set_dataset_pipeline(
        self, dataset: str, data: Mapping[str, Any], principal: str, if_match: Condition | None
    ) -> dict[str, Any]:
        """One attempt of ``set_dataset_pipeline``: read, then write on the pipeline read."""
        pk = keys.dataset_pk(dataset)
        template = self.check_dataset_pipeline(dataset, data)
        dataset_item = self.store.get(pk, keys.DATASET_SK)
        if dataset_item is None:
            raise NotFound(f"dataset {dataset!r} not found")
        task_config = dict(data.get("taskConfig") or {})
        old_item = self.store.get(pk, keys.DATASET_PIPELINE_SK)
        check_fresh(if_match, old_item, f"the pipeline of dataset {dataset!r}")
        now = self.clock()
        pipeline = {
            "dataset": dataset,
            "template": template["id"],
            "version": template["version"],
            "taskConfig": task_config,
            "modified": timestamp(now),
        }
        item = with_ordered_text(
            {**pipeline, "pk": pk, "sk": keys.DATASET_PIPELINE_SK, "kind": "dataset-pipeline"}
        )
        if dataset_item.get("incarnation") is not None:
            item["incarnation"] = dataset_item["incarnation"]
        use = {
            "pk": keys.pipeline_pk(template["id"]),
            "sk": keys.pipeline_use_sk(dataset),
            "kind": "pipeline-use",
            "dataset": dataset,
        }
        ops: list[Op] = live_ancestors([dataset], dataset_item.get("incarnation"))
        old = {}
        if old_item is None:
            ops.append(Create(item))
        else:
            old = {
                k: v
                for k, v in resource(old_item).items()
                if k not in ("rev", "modified", "incarnation")
            }
            ops.append(Replace(item, rev=old_item["rev"]))
            if old_item["template"] != template["id"]:
                ops.append(Delete(keys.pipeline_pk(old_item["template"]), use["sk"]))
        # The template is not being deleted and still has the version pinned.
        ops.append(
            Check(keys.pipeline_pk(template["id"]), keys.PIPELINE_SK, expect={DELETING: None})
        )
        ops.append(
            Check(keys.pipeline_pk(template["id"]), keys.pipeline_version_sk(template["version"]))
        )
        ops.append(Put(use))
        new = {k: v for k, v in pipeline.items() if k != "modified"}
        ops.append(
            audit_entry(
                dataset_audit_trail(dataset_item),
                principal=principal,
                action="update" if old_item else "create",
                resource_path=f"/datasets/{dataset}/pipeline",
                changes=changed_fields(old, new),
                now=now,
            )
        )
        try:
            self.store.transact(ops)
        except AlreadyExists as error:
            if error.key != (pk, keys.DATASET_PIPELINE_SK):
                raise
            # Another writer set a pipeline after this one read none.
            raise PreconditionFailed(error.message, key=error.key) from None
        except (NotFound, PreconditionFailed) as error:
            if error.key != (pk, keys.DATASET_SK):
                raise
            raise ancestor_failure(error, [dataset]) from None
        return self.get_dataset_pipeline(dataset)

    def delete_dataset_pipeline(
        self, dataset: str, *, principal: str, if_match: Condition | None
    ) -> None:
        """Remove a dataset's pipeline: later uploads of it run nothing."""
        item = self.store.get(keys.dataset_pk(dataset), keys.DATASET_PIPELINE_SK)
        if item is None:
            raise NotFound(f"dataset {dataset!r} has no pipeline")
        check_fresh(if_match, item, f"the pipeline of dataset {dataset!r}")
        old = {
            k: v for k, v in resource(item).items() if k not in ("rev", "modified", "incarnation")
        }
        self.store.transact(
            [
                store_delete(item),
                Delete(keys.pipeline_pk(item["template"]), keys.pipeline_use_sk(dataset)),
                audit_entry(
                    keys.audit_pk(dataset, item.get("incarnation")),
                    principal=principal,
                    action="delete",
                    resource_path=f"/datasets/{dataset}/pipeline",
                    changes=changed_fields(old, {}),
                    now=self.clock(),
                ),
            ]
        )
