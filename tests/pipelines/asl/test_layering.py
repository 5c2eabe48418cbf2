"""The engine stands alone: standard library only, no project code, nothing of AWS."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pipelines.asl

PACKAGE = Path(pipelines.asl.__file__).parent


def test_engine_modules_import_only_the_standard_library_and_each_other() -> None:
    foreign = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "__future__" or top in sys.stdlib_module_names:
                    continue
                if not name.startswith("pipelines.asl"):
                    foreign.append(f"{path.name}: {name}")
    assert foreign == []


def test_importing_the_engine_loads_no_aws_web_or_data_library() -> None:
    probe = (
        "import sys, pipelines.asl\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'boto3', 'botocore', 'moto', 'flask', 'polars', 'catalogue'})\n"
        "print(','.join(loaded))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent.parent,
    )
    assert finished.stdout.strip() == ""
