"""Strip the symbol tables of the shared objects in a Lambda zip.

Usage: ``python deploy/shared_objects.py ZIP STRIP`` (``STRIP``: the ``strip`` program)

The wheels of cryptography, polars, fastexcel and others ship their compiled extensions with
the static symbol table (``.symtab``) and sometimes debug information: a fifth of polars'
171 MB and a tenth of cryptography's zipped 4.8 MB. Loading and calling an extension needs
neither (the dynamic symbols stay); only a native crash's backtrace names fewer functions.
``strip --strip-unneeded`` removes them, as Lambda packaging tools commonly do.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

# ``name.so``, ``name.cpython-312-x86_64-linux-gnu.so``, ``libfoo.so.1.2`` (wheels' .libs).
SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")
ELF_MAGIC = b"\x7fELF"
# The zip is written once and read at every cold start: the smallest deflate is worth its time.
ZIP_LEVEL = 9


class StripFailed(Exception):
    """``strip`` refused a member (an extension built with a newer toolchain, say)."""


@dataclass(frozen=True, slots=True)
class Stripped:
    """What stripping a zip did: how many shared objects, and the bytes it took off them."""

    count: int
    saved_bytes: int


def strip_shared_objects(zip_path: Path, strip: str) -> Stripped:
    """Rewrite ``zip_path`` with every ELF shared object in it stripped by ``strip``.

    Each member keeps its name, date, permissions and compression method; the deflated ones
    are deflated again, at level 9.
    Raises StripFailed, naming the member, when ``strip`` fails on one (the zip is left
    unchanged).
    """
    rewritten = zip_path.with_name(zip_path.name + ".stripping")
    count = saved = 0
    try:
        with tempfile.TemporaryDirectory(prefix="brygge-strip-") as folder:
            member_file = Path(folder) / "member.so"
            with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(rewritten, "w") as target:
                for info in source.infolist():
                    data = source.read(info)
                    if SHARED_OBJECT.search(info.filename) and data.startswith(ELF_MAGIC):
                        member_file.write_bytes(data)
                        stripping = subprocess.run(
                            [strip, "--strip-unneeded", str(member_file)],
                            capture_output=True,
                            text=True,
                            check=False,
                        )
                        if stripping.returncode != 0:
                            reason = stripping.stderr.strip() or f"exit {stripping.returncode}"
                            raise StripFailed(f"{info.filename}: {reason}")
                        stripped = member_file.read_bytes()
                        count += 1
                        saved += len(data) - len(stripped)
                        data = stripped
                    # A member's own level is not kept by zipfile: each is deflated again.
                    target.writestr(info, data, compresslevel=ZIP_LEVEL)
    except BaseException:
        rewritten.unlink(missing_ok=True)
        raise
    rewritten.replace(zip_path)
    return Stripped(count, saved)


def main(argv: list[str] | None = None) -> int:
    """Strip the shared objects of ZIP with STRIP; print how many, and the bytes saved.
    1, the zip unchanged, when ``strip`` fails on one (named on stderr)."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    try:
        done = strip_shared_objects(Path(arguments[0]), arguments[1])
    except StripFailed as error:
        print(error, file=sys.stderr)
        return 1
    print(done.count, done.saved_bytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
