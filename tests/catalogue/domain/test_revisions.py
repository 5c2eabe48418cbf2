"""Write conditions: If-Match and If-None-Match against a stored item (RFC 9110 13.1)."""

from __future__ import annotations

import pytest

from catalogue.domain.errors import PreconditionFailed
from catalogue.domain.revisions import Condition, Revision, check_fresh

ITEM = {"rev": 3, "incarnation": "abc"}
AT = Revision(3, "abc")
OLD = Revision(2, "abc")
ELSEWHERE = Revision(3, "other")


@pytest.mark.parametrize(
    ("condition", "item", "holds"),
    [
        (None, ITEM, True),
        (None, None, True),
        (Condition(match=(AT,)), ITEM, True),
        (Condition(match=(OLD, AT)), ITEM, True),
        (Condition(match=(OLD, ELSEWHERE)), ITEM, False),
        (Condition(match=(AT,)), None, False),
        (Condition(match_any=True), ITEM, True),
        (Condition(match_any=True), None, False),
        (Condition(none_match_any=True), ITEM, False),
        (Condition(none_match_any=True), None, True),
        (Condition(none_match=(OLD, AT)), ITEM, False),
        (Condition(none_match=(OLD, ELSEWHERE)), ITEM, True),
        (Condition(none_match=(AT,)), None, True),
        (Condition(match=(AT,), none_match=(AT,)), ITEM, False),
        (Condition(match=(AT,), none_match=(OLD,)), ITEM, True),
    ],
)
def test_check_fresh(condition, item, holds) -> None:  # type: ignore[no-untyped-def]
    if holds:
        check_fresh(condition, item, "dataset 'air'")
    else:
        with pytest.raises(PreconditionFailed, match="dataset 'air'"):
            check_fresh(condition, item, "dataset 'air'")
