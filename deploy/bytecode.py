"""Add compiled bytecode to a Lambda zip, for the modules a cold start loads.

Usage: ``<python of the Lambda runtime> deploy/bytecode.py ZIP MODULES_JSON``

Zappa leaves ``__pycache__`` out of its zips, and Lambda's ``/var/task`` is read-only, so
without bytecode in the zip every cold start compiles each module it imports from source:
about 280 modules for the api function, more time than importing them. This script compiles
the listed members of the zip with the interpreter running it (it must be the runtime's
Python version: bytecode is specific to it) and adds them beside their sources as
``__pycache__/<name>.<tag>.pyc``. The files are "unchecked hash" pycs: Python loads them
without comparing them to the source's timestamp, which unzipping does not keep. Sources
stay in the zip so tracebacks show their lines.
"""

from __future__ import annotations

import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath


def bytecode_name(member: str, cache_tag: str | None = None) -> str:
    """The zip member of ``member``'s bytecode: ``a/b.py`` -> ``a/__pycache__/b.<tag>.pyc``."""
    path = PurePosixPath(member)
    tag = cache_tag or sys.implementation.cache_tag
    return str(path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc")


def add_bytecode(zip_path: Path, members: set[str]) -> int:
    """Compile ``members`` (``.py`` files of the zip) and add their bytecode; how many were added.

    Members already compiled, missing from the zip or not Python source are skipped; a source
    that does not compile raises (``py_compile.PyCompileError``): the package would not run.
    """
    with zipfile.ZipFile(zip_path) as archive:
        present = set(archive.namelist())
        wanted = sorted(
            member
            for member in members
            if member.endswith(".py") and member in present and bytecode_name(member) not in present
        )
        sources = {member: archive.read(member) for member in wanted}
    added = 0
    with tempfile.TemporaryDirectory(prefix="brygge-bytecode-") as folder:
        source_file = Path(folder) / "module.py"
        compiled_file = Path(folder) / "module.pyc"
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for member, source in sources.items():
                source_file.write_bytes(source)
                py_compile.compile(
                    str(source_file),
                    cfile=str(compiled_file),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
                archive.write(compiled_file, bytecode_name(member))
                added += 1
    return added


def main(argv: list[str] | None = None) -> int:
    """Compile the members named in MODULES_JSON (a JSON list) into ZIP; print the count."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    zip_path, listing = Path(arguments[0]), Path(arguments[1])
    members = set(json.loads(listing.read_text(encoding="utf-8")))
    print(add_bytecode(zip_path, members))
    return 0


if __name__ == "__main__":
    sys.exit(main())
