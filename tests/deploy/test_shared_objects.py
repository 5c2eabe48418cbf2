"""deploy/shared_objects.py: a zip's extensions lose their symbol tables and still load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import markupsafe
import pytest

from tests.deploy.scripts import DEPLOY, EXTENSION, EXTENSION_MEMBER, load_script

SCRIPT = DEPLOY / "shared_objects.py"
# Loads the unzipped markupsafe (its compiled escape, not the pure-Python fallback).
LOAD_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import markupsafe, markupsafe._speedups
assert markupsafe.__file__.startswith(sys.argv[1]), markupsafe.__file__
assert markupsafe._speedups.__file__.startswith(sys.argv[1])
print(markupsafe._speedups._escape_inner("<a & b>"))
"""


@pytest.fixture(scope="module")
def shared_objects() -> ModuleType:
    return load_script("shared_objects.py")


@pytest.fixture(scope="module")
def strip() -> str:
    found = shutil.which("strip")
    if found is None:
        reason = "binutils' strip is not installed (apt-get install -y binutils)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the packaging tests must run)")
        pytest.skip(reason)
    return found


def package(path: Path) -> Path:
    """A zip as Zappa writes one: an extension, its package's sources, a stored member and
    a file named like a shared object that is none."""
    markupsafe_folder = Path(markupsafe.__file__).parent
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(EXTENSION_MEMBER, date_time=(2026, 12, 1, 8, 30, 0))
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, EXTENSION.read_bytes())
        for source in sorted(markupsafe_folder.glob("*.py")):
            archive.write(source, f"markupsafe/{source.name}")
        archive.writestr("notes/not-elf.so", b"plain text named .so")
        archive.writestr(
            zipfile.ZipInfo("data/stored.bin", date_time=(2025, 1, 2, 3, 4, 6)), b"x" * 4096
        )
    return path


def test_stripped_extension_is_smaller_and_still_loads(
    shared_objects: ModuleType, strip: str, tmp_path: Path
) -> None:
    original = EXTENSION.read_bytes()
    assert b".symtab" in original  # the premise: the wheel ships its symbol table
    zip_path = package(tmp_path / "api.zip")
    with zipfile.ZipFile(zip_path) as archive:
        before = {info.filename: info for info in archive.infolist()}
        contents = {name: archive.read(name) for name in before}

    done = shared_objects.strip_shared_objects(zip_path, strip)

    with zipfile.ZipFile(zip_path) as archive:
        after = {info.filename: info for info in archive.infolist()}
        stripped = archive.read(EXTENSION_MEMBER)
        others = {name: archive.read(name) for name in after if name != EXTENSION_MEMBER}
        archive.extractall(tmp_path / "unzipped")
    assert done.count == 1  # the text file named .so is no ELF object
    assert done.saved_bytes == len(original) - len(stripped) > 0
    assert b".symtab" not in stripped
    assert list(after) == list(before)  # same members, same order
    assert others == {name: data for name, data in contents.items() if name != EXTENSION_MEMBER}
    for name, info in after.items():
        assert info.date_time == before[name].date_time
        assert info.external_attr == before[name].external_attr
        assert info.compress_type == before[name].compress_type
    assert after["data/stored.bin"].compress_type == zipfile.ZIP_STORED
    # The stripped extension loads and runs in a fresh interpreter.
    loaded = subprocess.run(
        [sys.executable, "-S", "-c", LOAD_PROBE, str(tmp_path / "unzipped")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "&lt;a &amp; b&gt;"


def test_a_failing_strip_leaves_the_zip_as_it_was(
    shared_objects: ModuleType, tmp_path: Path
) -> None:
    zip_path = package(tmp_path / "api.zip")
    before = zip_path.read_bytes()
    with pytest.raises(shared_objects.StripFailed, match=f"^{EXTENSION_MEMBER}: exit 1$"):
        shared_objects.strip_shared_objects(zip_path, "/bin/false")
    assert zip_path.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["api.zip"]


def test_script_prints_the_count_and_bytes_saved(strip: str, tmp_path: Path) -> None:
    zip_path = package(tmp_path / "api.zip")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(zip_path), strip],
        capture_output=True,
        text=True,
        check=True,
    )
    count, saved = result.stdout.split()
    assert count == "1" and int(saved) > 0
