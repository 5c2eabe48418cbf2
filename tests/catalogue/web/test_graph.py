"""The pipeline graph: rows by distance from StartAt, Choice branches, Parallel and Map groups."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from catalogue.web.graph import layout, ranks, svg

CHOICE = {
    "StartAt": "Read",
    "States": {
        "Read": {
            "Type": "Task",
            "Resource": "brygge:step:validate",
            "Next": "Valid?",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rejected"}],
        },
        "Valid?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Both"}],
            "Default": "Read",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "B",
                    "States": {
                        "B": {"Type": "Pass", "Next": "C"},
                        "C": {"Type": "Pass", "End": True},
                    },
                },
            ],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
            "End": True,
        },
        "Rejected": {"Type": "Fail", "Error": "Rejected"},
    },
}


def test_states_are_ranked_by_distance_from_the_start() -> None:
    assert ranks(CHOICE) == [["Read"], ["Valid?", "Rejected"], ["Both"], ["Each"]]


def test_groups_hold_their_branches_and_transitions_cover_every_kind() -> None:
    drawing = layout(CHOICE, {"Read": "succeeded", "A": "failed"})
    nodes = {node.name: node for node in drawing.nodes}
    both, a, c = nodes["Both"], nodes["A"], nodes["C"]
    assert both.is_group and not a.is_group
    for inner in (a, c):
        assert both.x < inner.x and inner.x + inner.width < both.x + both.width
        assert both.y < inner.y and inner.y + inner.height < both.y + both.height
    assert nodes["Each"].is_group and nodes["Each"].y < nodes["Item"].y
    labels = {edge.label for edge in drawing.edges}
    assert {"rule 1", "default", "catch States.ALL"} <= labels
    # Valid? -> Read goes back up: drawn on the right.
    assert [edge.is_back for edge in drawing.edges if edge.label == "default"] == [True]
    assert nodes["Read"].status == "succeeded" and nodes["A"].status == "failed"
    assert nodes["Both"].status == "idle"


def test_the_svg_is_well_formed_and_escapes_state_names() -> None:
    machine = {"StartAt": "<x>&", "States": {"<x>&": {"Type": "Pass", "End": True}}}
    drawn = str(svg(machine, {}, 'Run "1"'))
    root = ElementTree.fromstring(drawn)
    assert root.tag.endswith("svg")
    assert "&lt;x&gt;&amp;" in drawn and "<x>" not in drawn
    assert len(re.findall(r'class="state ', str(svg(CHOICE, {}, "t")))) == 9
