"""Import direction: pure layers load no frameworks, the API loads no data libraries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest


def loaded_after(statement: str, modules: list[str]) -> dict[str, bool]:
    code = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "statement",
    [
        "import catalogue.domain.ids, catalogue.domain.changes, catalogue.domain.datasets",
        "import catalogue.domain.object_keys, catalogue.domain.errors",
        "import pipelines.asl",
    ],
)
def test_pure_layers_load_no_framework(statement: str) -> None:
    loaded = loaded_after(statement, ["flask", "boto3", "botocore", "polars", "marshmallow"])
    assert not any(loaded.values()), loaded


def test_the_api_app_loads_no_data_library() -> None:
    loaded = loaded_after(
        "from catalogue.app import create_app\ncreate_app()",
        ["polars", "pandas", "pyarrow", "fastexcel", "rdflib", "boto3"],
    )
    assert not any(loaded.values()), loaded


def test_checking_pipelines_loads_no_data_library(tmp_path) -> None:
    """GET /steps and a check of every step's example options run without polars."""
    statement = (
        "from catalogue.app import create_app\n"
        "from catalogue.settings import Settings\n"
        f"app = create_app(Settings(home={str(tmp_path)!r}, auth='off'))\n"
        "client = app.test_client()\n"
        "steps = client.get('/steps').json['items']\n"
        "for step in steps:\n"
        "    state = next(iter(step['example']))\n"
        "    definition = {'StartAt': state, 'States': {state: {\n"
        "        'Type': 'Task', 'Resource': step['resource'], 'End': True}}}\n"
        "    body = {'definition': definition, 'taskConfig': step['example']}\n"
        "    assert client.post('/pipelines/validate', json=body).json == {'valid': True}\n"
        "assert len(steps) > 5"
    )
    loaded = loaded_after(statement, ["polars", "pandas", "pyarrow", "fastexcel", "boto3"])
    assert not any(loaded.values()), loaded


def test_importing_the_app_factory_touches_no_file(tmp_path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        [sys.executable, "-c", "from catalogue.app import create_app; create_app()"],
        check=True,
        env={"BRYGGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert not home.exists()


# The import graph, read from the source ------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("catalogue", "pipelines")
# What pipelines/* may import of the catalogue at module level: pure domain code, the settings.
PIPELINES_MAY_IMPORT = ("catalogue.domain", "catalogue.settings")
# The functions that build a Lambda-side environment: there pipelines/* may import more of the
# catalogue (the store-backed recorder, the application's services), lazily.
LAMBDA_ENVIRONMENTS = {
    ("pipelines.steps.runtime", "_environment_from_settings"),
    ("pipelines.trigger", "_lambda_services"),
}


@dataclass(frozen=True)
class Import:
    """One import of a project module, as written in ``module``."""

    module: str
    target: str
    line: int
    function: str | None  # the enclosing function; None when it runs at import time
    type_only: bool  # under ``if TYPE_CHECKING:``, never executed

    @property
    def at_import_time(self) -> bool:
        return self.function is None and not self.type_only

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else ""
        return f"{self.module}:{self.line}{where} imports {self.target}"


def project_modules() -> dict[str, Path]:
    """Every module under the project's packages, by dotted name (packages by their name)."""
    modules = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: Collection[str]
) -> list[str]:
    """The modules an import statement loads: each named module and the packages above it."""
    named: list[str] = []
    if isinstance(node, ast.Import):
        named = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            named.append(submodule if submodule in modules else base)
    loaded = []
    for name in named:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            # The importer's own packages are already being imported when it runs.
            if prefix in modules and not (module + ".").startswith(prefix + "."):
                loaded.append(prefix)
    return loaded


def imports_of(module: str, path: Path, modules: Collection[str]) -> list[Import]:
    """Every import of a project module in ``module``'s source, with where it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None, type_only: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _imported_names(module, is_package, node, modules):
                if target != module:
                    found.append(Import(module, target, node.lineno, function, type_only))
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, function, True)
            for child in node.orelse:
                visit(child, function, type_only)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # Decorators and defaults run where the function is defined; the body when called.
            inner = node.name if function is None else f"{function}.{node.name}"
            for child in [*node.decorator_list, node.args]:
                visit(child, function, type_only)
            for child in node.body:
                visit(child, inner, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, function, type_only)

    visit(tree, None, False)
    return found


def find_cycles(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each strongly connected group of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for next_node in sorted(graph.get(node, ())):
            if next_node not in index:
                connect(next_node)
                low[node] = min(low[node], low[next_node])
            elif next_node in on_stack:
                low[node] = min(low[node], index[next_node])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)

    cycles = []
    for group in groups:
        members = set(group)
        start = group[0]
        # Shortest way from start back to itself inside the group.
        paths: dict[str, list[str]] = {start: [start]}
        queue = [start]
        cycle: list[str] | None = None
        while queue and cycle is None:
            node = queue.pop(0)
            for next_node in sorted(graph.get(node, ())):
                if next_node == start:
                    cycle = [*paths[node], start]
                    break
                if next_node in members and next_node not in paths:
                    paths[next_node] = [*paths[node], next_node]
                    queue.append(next_node)
        assert cycle is not None
        cycles.append(cycle)
    return cycles


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    modules = project_modules()
    return [found for name, path in modules.items() for found in imports_of(name, path, modules)]


def test_the_import_scanner_sees_where_imports_run(project_imports: list[Import]) -> None:
    def where(module: str, target: str) -> set[tuple[str | None, bool]]:
        return {
            (found.function, found.type_only)
            for found in project_imports
            if (found.module, found.target) == (module, target)
        }

    assert where("catalogue.runs.service", "pipelines.runs.executions") == {(None, False)}
    assert where("pipelines.steps.runtime", "catalogue.runs.recorder") == {
        ("_environment_from_settings", False)
    }
    assert where("pipelines.trigger", "catalogue.services") == {
        (None, True),
        ("_lambda_services", False),
    }
    # A relative import, and the package it loads first.
    assert where("catalogue.repositories.runs", "catalogue.repositories.records") == {(None, False)}
    assert where("catalogue.runs.service", "pipelines.runs") == {(None, False)}


def test_find_cycles_names_each_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_asl_imports_nothing_of_the_project(project_imports: list[Import]) -> None:
    outside = [
        str(found)
        for found in project_imports
        if (found.module + ".").startswith("pipelines.asl.")
        and not (found.target + ".").startswith("pipelines.asl.")
    ]
    assert outside == []


def test_pipelines_import_only_pure_catalogue_modules(project_imports: list[Import]) -> None:
    """At import time pipelines/* load of the catalogue only its domain and settings; the rest
    only inside the functions building a Lambda-side environment.
    """
    wrong = []
    for found in project_imports:
        if not (found.module + ".").startswith("pipelines.") or found.type_only:
            continue
        if not (found.target + ".").startswith("catalogue."):
            continue
        if found.target == "catalogue" or found.target.startswith(PIPELINES_MAY_IMPORT):
            continue
        if found.function is None or (found.module, found.function) not in LAMBDA_ENVIRONMENTS:
            wrong.append(str(found))
    assert wrong == []


def test_no_import_cycle_at_import_time(project_imports: list[Import]) -> None:
    graph: dict[str, set[str]] = {name: set() for name in project_modules()}
    for found in project_imports:
        if found.at_import_time:
            graph[found.module].add(found.target)
    cycles = find_cycles(graph)
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)
