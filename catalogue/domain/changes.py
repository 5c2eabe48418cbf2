"""Rules for changing resources: JSON merge patch, immutable fields and audit diffs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalogue.domain.errors import ImmutableField


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7396 JSON merge patch and return a new document.

    ``null`` removes a member; objects merge recursively; anything else replaces.
    """
    result = dict(target)
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, Mapping):
            current = result.get(name)
            base = current if isinstance(current, Mapping) else {}
            result[name] = merge_patch(base, value)
        else:
            result[name] = value
    return result


def check_immutable(
    old: Mapping[str, Any], patch: Mapping[str, Any], fields: Iterable[str]
) -> None:
    """Raise ImmutableField for the first of ``fields`` the patch would change."""
    for name in fields:
        if name in patch and patch[name] != old.get(name):
            raise ImmutableField(name)


def changed_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Return ``{field: {"before": ..., "after": ...}}`` for every field that differs."""
    skipped = set(ignore)
    names = (set(old) | set(new)) - skipped
    return {
        name: {"before": old.get(name), "after": new.get(name)}
        for name in sorted(names)
        if old.get(name) != new.get(name)
    }
