"""A pipeline drawn as SVG from its Amazon States Language definition, on the server.

States are laid out in rows by their distance from ``StartAt`` (breadth first); a Parallel
state is a group holding its branches side by side, a Map state a group holding its item
processor. Transitions run downwards; one back to an earlier row (a retry loop through a
Choice) is drawn as a curve on the right. Each state is coloured by its outcome in the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

NODE_WIDTH, NODE_HEIGHT = 180, 44
GAP_X, GAP_Y, PADDING, GROUP_HEADER = 28, 44, 14, 24
MAX_LABEL = 22


@dataclass(slots=True)
class Node:
    name: str
    kind: str
    x: float
    y: float
    width: float
    height: float
    status: str
    is_group: bool = False


@dataclass(slots=True)
class Edge:
    start: tuple[float, float]
    end: tuple[float, float]
    label: str = ""
    is_catch: bool = False
    is_back: bool = False


@dataclass(slots=True)
class Drawing:
    width: float
    height: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def moved(self, dx: float, dy: float) -> Drawing:
        nodes = [
            Node(n.name, n.kind, n.x + dx, n.y + dy, n.width, n.height, n.status, n.is_group)
            for n in self.nodes
        ]
        edges = [
            Edge(
                (e.start[0] + dx, e.start[1] + dy),
                (e.end[0] + dx, e.end[1] + dy),
                e.label,
                e.is_catch,
                e.is_back,
            )
            for e in self.edges
        ]
        return Drawing(self.width, self.height, nodes, edges)


def transitions(state: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """The states ``state`` may go to: (target, label, is_catch)."""
    found: list[tuple[str, str, bool]] = []
    for n, rule in enumerate(state.get("Choices") or [], start=1):
        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
            found.append((rule["Next"], f"rule {n}", False))
    if isinstance(state.get("Default"), str):
        found.append((state["Default"], "default", False))
    if isinstance(state.get("Next"), str):
        found.append((state["Next"], "", False))
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
            errors = ", ".join(catcher.get("ErrorEquals") or [])
            found.append((catcher["Next"], f"catch {errors}".strip(), True))
    return found


def ranks(machine: Mapping[str, Any]) -> list[list[str]]:
    """States by their breadth-first distance from StartAt; unreachable ones come last."""
    states = machine.get("States") or {}
    start = machine.get("StartAt")
    depth: dict[str, int] = {}
    queue = [start] if start in states else []
    if queue:
        depth[start] = 0
    while queue:
        name = queue.pop(0)
        for target, _, _ in transitions(states[name]):
            if target in states and target not in depth:
                depth[target] = depth[name] + 1
                queue.append(target)
    last = max(depth.values(), default=-1)
    for name in states:
        depth.setdefault(name, last + 1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name, row in sorted(depth.items(), key=lambda item: item[1]):
        rows[row].append(name)
    return rows


def layout(machine: Mapping[str, Any], status: Mapping[str, str]) -> Drawing:
    """Place the states of ``machine``; ``status`` gives each state's outcome by name."""
    states = machine.get("States") or {}
    boxes = {name: _box(name, states[name], status) for name in states}
    rows = ranks(machine)
    row_widths = [sum(boxes[name].width for name in row) + GAP_X * (len(row) - 1) for row in rows]
    width = max(row_widths, default=NODE_WIDTH)
    drawing = Drawing(width, 0)
    where: dict[str, Node] = {}
    y = 0.0
    for row, row_width in zip(rows, row_widths, strict=True):
        x = (width - row_width) / 2
        height = max(boxes[name].height for name in row)
        for name in row:
            box = boxes[name].moved(x, y)
            drawing.nodes.extend(box.nodes)
            drawing.edges.extend(box.edges)
            where[name] = box.nodes[0]
            x += box.width + GAP_X
        y += height + GAP_Y
    drawing.height = y - GAP_Y if rows else 0
    row_of = {name: n for n, row in enumerate(rows) for name in row}
    for name, state in states.items():
        for target, label, is_catch in transitions(state):
            if target in where:
                drawing.edges.append(
                    _edge(where[name], where[target], label, is_catch, row_of, name, target)
                )
    return drawing


def _box(name: str, state: Mapping[str, Any], status: Mapping[str, str]) -> Drawing:
    kind = str(state.get("Type", "?"))
    inner: list[Mapping[str, Any]] = []
    if kind == "Parallel":
        inner = [branch for branch in state.get("Branches") or [] if isinstance(branch, Mapping)]
    elif kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        inner = [processor] if isinstance(processor, Mapping) else []
    if not inner:
        node = Node(name, kind, 0, 0, NODE_WIDTH, NODE_HEIGHT, status.get(name, "idle"))
        return Drawing(NODE_WIDTH, NODE_HEIGHT, [node])
    parts = [layout(machine, status) for machine in inner]
    width = sum(part.width for part in parts) + GAP_X * (len(parts) - 1) + 2 * PADDING
    height = max(part.height for part in parts) + 2 * PADDING + GROUP_HEADER
    group = Node(name, kind, 0, 0, width, height, status.get(name, "idle"), is_group=True)
    drawing = Drawing(width, height, [group])
    x = PADDING
    for part in parts:
        moved = part.moved(x, PADDING + GROUP_HEADER)
        drawing.nodes.extend(moved.nodes)
        drawing.edges.extend(moved.edges)
        x += part.width + GAP_X
    return drawing


def _edge(
    source: Node,
    target: Node,
    label: str,
    is_catch: bool,
    row_of: Mapping[str, int],
    source_name: str,
    target_name: str,
) -> Edge:
    if row_of[target_name] > row_of[source_name]:
        return Edge(
            (source.x + source.width / 2, source.y + source.height),
            (target.x + target.width / 2, target.y),
            label,
            is_catch,
        )
    # Back (or sideways) to an earlier row: leave and enter on the right.
    return Edge(
        (source.x + source.width, source.y + source.height / 2),
        (target.x + target.width, target.y + target.height / 2),
        label,
        is_catch,
        is_back=True,
    )


def svg(machine: Mapping[str, Any], status: Mapping[str, str], title: str) -> Markup:
    """The SVG of ``machine`` with each state coloured by ``status`` (its CSS class)."""
    drawing = layout(machine, status)
    margin = 8
    back_room = 70 if any(edge.is_back for edge in drawing.edges) else 0
    width = drawing.width + 2 * margin + back_room
    height = drawing.height + 2 * margin
    parts = [
        f'<svg class="pipeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="{-margin} {-margin} {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'aria-label="{escape(title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>',
    ]
    for node in (n for n in drawing.nodes if n.is_group):
        parts.append(_node_svg(node))
    for edge in drawing.edges:
        parts.append(_edge_svg(edge))
    for node in (n for n in drawing.nodes if not n.is_group):
        parts.append(_node_svg(node))
    parts.append("</svg>")
    return Markup("".join(parts))


def _node_svg(node: Node) -> str:
    label = node.name if len(node.name) <= MAX_LABEL else node.name[: MAX_LABEL - 1] + "…"
    css = f"state {node.status} {'group' if node.is_group else node.kind.lower()}"
    text_y = node.y + (16 if node.is_group else node.height / 2 - 3)
    return (
        f'<g class="{escape(css)}" data-state="{escape(node.name)}">'
        f"<title>{escape(node.name)} ({escape(node.kind)}): {escape(node.status)}</title>"
        f'<rect x="{node.x:.0f}" y="{node.y:.0f}" width="{node.width:.0f}" '
        f'height="{node.height:.0f}" rx="{4 if node.is_group else 8}"/>'
        f'<text x="{node.x + node.width / 2:.0f}" y="{text_y:.0f}" text-anchor="middle">'
        f"{escape(label)}</text>"
        f'<text class="kind" x="{node.x + node.width / 2:.0f}" y="{text_y + 14:.0f}" '
        f'text-anchor="middle">{escape(node.kind)}</text></g>'
    )


def _edge_svg(edge: Edge) -> str:
    (x1, y1), (x2, y2) = edge.start, edge.end
    if edge.is_back:
        bend = max(x1, x2) + 60
        path = f"M {x1:.0f} {y1:.0f} C {bend:.0f} {y1:.0f}, {bend:.0f} {y2:.0f}, {x2:.0f} {y2:.0f}"
        label_x, label_y = bend - 10, (y1 + y2) / 2
    else:
        middle = (y1 + y2) / 2
        path = (
            f"M {x1:.0f} {y1:.0f} C {x1:.0f} {middle:.0f}, {x2:.0f} {middle:.0f}, {x2:.0f} {y2:.0f}"
        )
        label_x, label_y = (x1 + x2) / 2 + 4, middle
    css = "edge catch" if edge.is_catch else "edge"
    label = (
        f'<text class="edge-label" x="{label_x:.0f}" y="{label_y:.0f}">{escape(edge.label)}</text>'
        if edge.label
        else ""
    )
    return f'<g class="{css}"><path d="{path}" marker-end="url(#arrow)"/>{label}</g>'
