"""deploy/package.py: measuring a package and judging it against Lambda's limits."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.scripts import EXTENSION, EXTENSION_MEMBER, fake_venv, load_script

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package() -> ModuleType:
    return load_script("package.py")


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_size_counts_the_zip_and_every_member_unzipped(package: ModuleType, tmp_path: Path) -> None:
    path = make_zip(tmp_path / "dev_api.zip", {"a.py": b"x" * 1000, "b/c.py": b"\0" * 5000})
    size = package.package_size("dev_api", path)
    assert (size.unzipped_bytes, size.files) == (6000, 2)
    assert size.zip_bytes == path.stat().st_size < 6000


@pytest.mark.parametrize(
    ("stage", "zip_bytes", "unzipped_bytes", "problems"),
    [
        ("dev_api", 9_900_000, 30_000_000, 0),
        ("dev_api", 10_000_001, 30_000_000, 1),
        ("dev_steps", 90_000_000, 262_144_000, 0),  # a large zip is fine for steps
        ("dev_steps", 90_000_000, 262_144_001, 1),
        ("prod_api", 11_000_000, 300_000_000, 2),
    ],
)
def test_limits_are_10_mb_zipped_for_api_and_250_mib_unzipped(
    package: ModuleType, stage: str, zip_bytes: int, unzipped_bytes: int, problems: int
) -> None:
    size = package.PackageSize(stage, zip_bytes, unzipped_bytes, files=1)
    assert len(package.limit_problems(size)) == problems
    assert package.size_line(size).endswith("ok" if problems == 0 else "TOO LARGE")


def test_build_venv_gets_the_runtime_requirements(package: ModuleType) -> None:
    requirements = package.runtime_requirements(REPO_ROOT / "setup.cfg")
    names = {requirement.split(">")[0].split("[")[0].lower() for requirement in requirements}
    assert {"flask", "flask-smorest", "polars", "pyjwt"} <= names
    assert "pytest" not in names  # the dev extra stays out of the packages


def test_strip_native_reports_what_it_stripped(package: ModuleType, tmp_path: Path) -> None:
    if shutil.which("strip") is None:
        pytest.skip("binutils' strip is not installed (tests/deploy/test_shared_objects.py)")
    zip_path = make_zip(tmp_path / "api.zip", {EXTENSION_MEMBER: EXTENSION.read_bytes()})
    report = package.strip_native(zip_path, fake_venv(tmp_path / "venv"))
    assert report.startswith("1 shared objects stripped: ")
    with zipfile.ZipFile(zip_path) as archive:
        assert b".symtab" not in archive.read(EXTENSION_MEMBER)


def test_strip_native_without_binutils_keeps_the_zip(
    package: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = make_zip(tmp_path / "api.zip", {"a.so": b"\x7fELF not really"})
    before = zip_path.read_bytes()
    monkeypatch.setattr(package.shutil, "which", lambda name: None)
    report = package.strip_native(zip_path, tmp_path / "venv")
    assert "kept whole" in report and "binutils" in report
    assert zip_path.read_bytes() == before


def test_strip_native_where_strip_fails_keeps_the_zip(
    package: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = make_zip(tmp_path / "api.zip", {EXTENSION_MEMBER: EXTENSION.read_bytes()})
    before = zip_path.read_bytes()
    failing = tmp_path / "strip"
    failing.write_text("#!/bin/sh\necho 'unknown type [0x13] section .relr.dyn' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(package.shutil, "which", lambda name: str(failing))
    report = package.strip_native(zip_path, fake_venv(tmp_path / "venv"))
    assert report == (
        f"shared objects kept whole: strip failed on {EXTENSION_MEMBER}: "
        "unknown type [0x13] section .relr.dyn"
    )
    assert zip_path.read_bytes() == before
