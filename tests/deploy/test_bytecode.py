"""deploy/bytecode.py: the zip carries bytecode that Python loads from a read-only folder."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.scripts import load_script

# Counts the modules Python compiles from source while importing ``pkg.b`` from the unzipped
# folder, and reports the file name the bytecode names (tracebacks show it).
IMPORT_PROBE = """
import importlib.machinery, json, sys
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def counted(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counted
sys.path.insert(0, sys.argv[1])
import pkg.b
print(json.dumps({"compiled": compiled, "filename": pkg.b.where.__code__.co_filename,
                  "value": pkg.b.VALUE}))
"""


@pytest.fixture(scope="module")
def bytecode() -> ModuleType:
    return load_script("bytecode.py")


def make_package_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/b.py", "from pkg.c import VALUE\ndef where():\n    pass\n")
        archive.writestr("pkg/c.py", "VALUE = 42\n")
        archive.writestr("pkg/data.json", "{}")
    return path


def import_from_read_only(zip_path: Path, folder: Path) -> dict:
    """Unzip and import ``pkg.b`` writing no bytecode, as from Lambda's read-only /var/task.

    (A read-only folder would not stop root from writing, PYTHONDONTWRITEBYTECODE does.)
    """
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(folder)],
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_without_bytecode_every_import_compiles_from_source(tmp_path: Path) -> None:
    report = import_from_read_only(make_package_zip(tmp_path / "api.zip"), tmp_path / "task")
    names = sorted(Path(path).name for path in report["compiled"])
    assert names == ["__init__.py", "b.py", "c.py"]


def test_the_listed_modules_load_from_their_bytecode(bytecode: ModuleType, tmp_path: Path) -> None:
    zip_path = make_package_zip(tmp_path / "api.zip")
    added = bytecode.add_bytecode(
        zip_path, {"pkg/__init__.py", "pkg/b.py", "pkg/missing.py", "pkg/data.json"}
    )
    assert added == 2  # pkg/c.py was not listed; missing and non-Python members are skipped
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert {f"pkg/__pycache__/__init__.{tag}.pyc", f"pkg/__pycache__/b.{tag}.pyc"} <= names
    assert "pkg/b.py" in names  # sources stay, for tracebacks
    report = import_from_read_only(zip_path, tmp_path / "task")
    assert [Path(path).name for path in report["compiled"]] == ["c.py"]
    assert report["value"] == 42
    # Tracebacks name the source file where it was unzipped, whose lines they can show.
    assert report["filename"] == str(tmp_path / "task" / "pkg" / "b.py")


def test_adding_twice_adds_nothing_more(bytecode: ModuleType, tmp_path: Path) -> None:
    zip_path = make_package_zip(tmp_path / "api.zip")
    assert bytecode.add_bytecode(zip_path, {"pkg/b.py"}) == 1
    assert bytecode.add_bytecode(zip_path, {"pkg/b.py"}) == 0
    with zipfile.ZipFile(zip_path) as archive:
        assert len(archive.namelist()) == 5


def test_a_source_that_does_not_compile_stops_the_build(
    bytecode: ModuleType, tmp_path: Path
) -> None:
    zip_path = tmp_path / "api.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("broken.py", "def (:\n")
    with pytest.raises(bytecode.py_compile.PyCompileError):
        bytecode.add_bytecode(zip_path, {"broken.py"})


def test_bytecode_names_follow_the_import_system(bytecode: ModuleType) -> None:
    assert bytecode.bytecode_name("a/b.py", "cpython-312") == "a/__pycache__/b.cpython-312.pyc"
    assert bytecode.bytecode_name("top.py", "cpython-312") == "__pycache__/top.cpython-312.pyc"
    assert importlib.util.cache_from_source("a/b.py").endswith(bytecode.bytecode_name("b.py"))
