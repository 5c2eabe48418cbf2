"""What a local server puts right when it starts, after a crash left things half done.

``recover_at_startup`` is the one place for it: it runs in ``brygge serve`` before the first
request, when no upload or step of this home can be in progress. Each part is its own
function, so more can be added (an expiry sweep of WAITING runs, say) without touching the
others.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalogue.services import Services

log = logging.getLogger(__name__)

# LocalObjectStore.put writes ``.put-<random>.part`` beside the object, then renames it.
PART_PATTERN = ".put-*.part"


@dataclass
class Recovery:
    """What start-up recovery did: files removed, uploads finished, runs resumed."""

    removed: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    # Runs of event batch windows a crash left buffered, closed now.
    windows: list[str] = field(default_factory=list)


def recover_at_startup(services: Services) -> Recovery:
    """Remove a crash's leftovers, finish interrupted uploads, resume interrupted runs,
    and close the batch windows of event datasets a dead server left buffered.

    Local mode only (on AWS, S3 and Lambda keep no such state); returns what was done.
    """
    done = Recovery()
    if services.settings.backend != "local":
        return done
    done.removed += remove_partial_objects(services.settings.objects_dir)
    done.removed += remove_step_folders(step_temp_root(services.settings.home))
    done.uploads += finish_interrupted_uploads(services)
    done.resumed += services.runs.resume_interrupted()
    # Accepted events of a server that died before it flushed them: no event is lost.
    done.windows += services.event_history.flush()
    return done


def step_temp_root(home: Path) -> Path:
    """Where local steps keep their temporary folders (one per worker process)."""
    return home / "tmp" / "steps"


def remove_partial_objects(root: Path, under: str = "") -> list[str]:
    """Delete the half-written ``.put-*.part`` files below ``root / under``; their paths."""
    base = root / under
    if not base.is_dir():
        return []
    removed = []
    for part in base.rglob(PART_PATTERN):
        part.unlink(missing_ok=True)
        removed.append(str(part))
    return removed


def remove_step_folders(root: Path) -> list[str]:
    """Delete every folder steps left below ``root`` (a step's own folder goes when it ends)."""
    if not root.is_dir():
        return []
    removed = []
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
        removed.append(str(child))
    return removed


def finish_interrupted_uploads(services: Services) -> list[str]:
    """Trigger the WAITING runs whose objects were all stored before the crash; run ids.

    The upload arrived but the process stopped before its run started (or, without a
    pipeline, before it was published): what the object-created hook would have done is
    done now. Runs whose objects are missing keep waiting.
    """
    runs = services.runs
    finished = []
    for run in runs.repository.waiting():
        keys = list((run.get("input") or {}).get("keys") or [])
        if not keys or not all(runs.objects.exists(key) for key in keys):
            continue
        try:
            runs.start(run["id"])
        except Exception:
            log.exception("the interrupted upload of run %s could not be finished", run["id"])
            continue
        finished.append(str(run["id"]))
    return finished
