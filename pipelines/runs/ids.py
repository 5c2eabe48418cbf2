"""Run ids: the same objects of an edition, the same run (and execution name)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

# What a run id may look like: a Step Functions execution name.
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def run_id_for(dataset: str, version: str, edition: str, key: str | Sequence[str]) -> str:
    """The run (and execution) id for objects of an edition: the same objects, the same id.

    ``<dataset, at most 50 chars>-<20 hex of sha256>``: at most 71 characters of
    ``[A-Za-z0-9-_]``, as Step Functions execution names allow.
    """
    objects = [key] if isinstance(key, str) else sorted(key)
    digest = hashlib.sha256("\n".join([dataset, version, edition, *objects]).encode()).hexdigest()
    return f"{dataset[:50]}-{digest[:20]}"
