"""Import direction: pure layers load no frameworks, the API loads no data libraries."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_importing_the_app_factory_touches_no_file(tmp_path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        [sys.executable, "-c", "from catalogue.app import create_app; create_app()"],
        check=True,
        env={"BRYGGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert not home.exists()
