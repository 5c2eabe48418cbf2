"""What the deploy tests share: the scripts of deploy/ loaded as modules, and an extension."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import markupsafe

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# A compiled extension of this venv that its wheel ships with a symbol table.
EXTENSION = next(Path(markupsafe.__file__).parent.glob("_speedups.*.so"))
EXTENSION_MEMBER = f"markupsafe/{EXTENSION.name}"


def load_script(filename: str) -> ModuleType:
    """A script of deploy/ (which is not a package), loaded as a module."""
    name = f"brygge_deploy_{Path(filename).stem}"
    spec = importlib.util.spec_from_file_location(name, DEPLOY / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is made.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def fake_venv(folder: Path) -> Path:
    """A build venv whose interpreter is this one (the scripts run with the venv's)."""
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(sys.executable)
    return folder
