"""Lines per module of the application (tests left out), now and at a git revision.

Counts every ``.py`` file under ``catalogue/``, ``pipelines/`` and ``brygge/`` in the work tree
and at ``--ref`` (default ``main``), and prints one line per module that is over ``--limit``
lines in either, largest first, with both counts and the target:

    catalogue/store/dynamodb.py before 647 after 442 target <= 450 ok

The ASL validator's rule table (``pipelines/asl/validate.py``) is the one module allowed over
the limit. Run with ``.venv/bin/python bench/lines.py [--ref REV] [--limit N]``.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("catalogue", "pipelines", "brygge")
EXEMPT = {"pipelines/asl/validate.py"}


def lines_now() -> dict[str, int]:
    """Lines of each module in the work tree."""
    return {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def lines_at(ref: str) -> dict[str, int]:
    """Lines of each module at the git revision ``ref``."""
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "--", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    counts = {}
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(
                ["git", "show", f"{ref}:{name}"], cwd=ROOT, capture_output=True, check=True
            ).stdout
            counts[name] = len(text.decode().splitlines())
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", default="main", help="the revision to compare with")
    parser.add_argument("--limit", type=int, default=450, help="lines a module may have")
    args = parser.parse_args()
    before, after = lines_at(args.ref), lines_now()
    over = [
        name
        for name in before.keys() | after.keys()
        if max(before.get(name, 0), after.get(name, 0)) > args.limit
    ]
    misses = 0
    for name in sorted(over, key=lambda name: (-after.get(name, 0), name)):
        count = after.get(name, 0)
        ok = count <= args.limit or name in EXEMPT
        misses += not ok
        status = "ok" if ok else "MISS"
        if name in EXEMPT:
            status += " (exempt: the ASL validator's rule table)"
        print(
            f"{name} before {before.get(name, '-')} after {count or '-'} "
            f"target <= {args.limit} {status}"
        )
    total_before, total_after = sum(before.values()), sum(after.values())
    print(
        f"total {len(before)} modules {total_before} lines before, "
        f"{len(after)} modules {total_after} lines after"
    )
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
