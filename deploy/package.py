"""Build the Lambda packages of a stage with ``zappa package`` and check their sizes.

Usage: ``python deploy/package.py [--stage dev] [--output dist] [--python PATH]
[--build-dir DIR] [--keep]``

Creates a fresh Python 3.12 venv (Lambda's runtime: native wheels must match it) under a
build folder, installs Zappa and Brygge's runtime requirements into it, runs
``zappa package <stage>_api`` and ``zappa package <stage>_steps`` from the project folder,
strips the symbol tables of the zips' compiled extensions (``deploy/shared_objects.py``),
adds bytecode (``deploy/bytecode.py``), prints the zip and unzipped sizes against the limits
and, when both fit, writes the zips to the output folder (``dist/<stage>_api.zip``,
``dist/<stage>_steps.zip``): the files that ``brygge deploy plan`` deploys, so what runs on
Lambda is what was measured here. Exits 1 when a limit is exceeded (and writes no zip).
Needs no AWS account: Zappa only wants credentials and a region to exist, so fake ones are
set when none are.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZAPPA_REQUIREMENT = "zappa>=0.63,<0.64"
# The api zip stays small for cold starts: cryptography (RS256 tokens) is about 4.6 MB of it
# stripped, the bytecode of what a cold start loads 2.7 MB (it saves compiling ~400 modules).
API_ZIP_LIMIT_BYTES = 10_000_000
# Lambda's limit on the unzipped deployment package: 250 MiB.
UNZIPPED_LIMIT_BYTES = 262_144_000


@dataclass(frozen=True, slots=True)
class PackageSize:
    """Sizes of one built package."""

    stage: str
    zip_bytes: int
    unzipped_bytes: int
    files: int


def package_size(stage: str, path: Path) -> PackageSize:
    """Measure a zip: its own size and the sum of its members' uncompressed sizes."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    return PackageSize(
        stage=stage,
        zip_bytes=path.stat().st_size,
        unzipped_bytes=sum(member.file_size for member in members),
        files=len(members),
    )


def limit_problems(size: PackageSize) -> list[str]:
    """The limits a package exceeds, as sentences; empty when it fits."""
    problems = []
    if size.stage.endswith("_api") and size.zip_bytes > API_ZIP_LIMIT_BYTES:
        problems.append(f"{size.stage}: zip {size.zip_bytes} B > {API_ZIP_LIMIT_BYTES} B")
    if size.unzipped_bytes > UNZIPPED_LIMIT_BYTES:
        problems.append(
            f"{size.stage}: unzipped {size.unzipped_bytes} B > {UNZIPPED_LIMIT_BYTES} B"
        )
    return problems


def size_line(size: PackageSize) -> str:
    """One printable line per package: sizes, limits and verdict."""
    mib = 1024 * 1024
    limit = f"zip <= {API_ZIP_LIMIT_BYTES / 1e6:.0f} MB, " if size.stage.endswith("_api") else ""
    verdict = "ok" if not limit_problems(size) else "TOO LARGE"
    return (
        f"{size.stage:<12} zip {size.zip_bytes / mib:6.1f} MiB ({size.zip_bytes / 1e6:.2f} MB)"
        f"  unzipped {size.unzipped_bytes / mib:6.1f} MiB  {size.files} files"
        f"  target {limit}unzipped <= 250 MiB  {verdict}"
    )


def runtime_requirements(setup_cfg: Path) -> list[str]:
    """``install_requires`` of setup.cfg: the project itself is zipped from its folder."""
    parser = configparser.ConfigParser()
    parser.read(setup_cfg, encoding="utf-8")
    lines = parser["options"]["install_requires"].splitlines()
    return [line.strip() for line in lines if line.strip()]


def find_python(explicit: str | None) -> str:
    """A Python 3.12 interpreter: the given one, else ``python3.12`` on PATH or pyenv's."""
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("python3.12") or ""]
    candidates += [
        str(path) for path in sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python"))
    ]
    for candidate in filter(None, candidates):
        # A pyenv shim exists on PATH even when it has no 3.12 to run: ask the interpreter.
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    sys.exit("no Python 3.12 found: pass --python /path/to/python3.12")


def create_venv(python: str, venv: Path) -> None:
    """Create ``venv`` with ``python`` and install Zappa and the runtime requirements."""
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    requirements = [ZAPPA_REQUIREMENT, *runtime_requirements(ROOT / "setup.cfg")]
    subprocess.run([*pip, "install", "--quiet", *requirements], check=True)


def zappa_environment(venv: Path, region: str) -> dict[str, str]:
    """The environment ``zappa package`` runs in: the build venv active, some credentials."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV")
    }
    # Zappa zips the site-packages of the active venv; without one it takes the system's.
    environment["VIRTUAL_ENV"] = str(venv)
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    environment.setdefault("AWS_DEFAULT_REGION", region)
    if "AWS_ACCESS_KEY_ID" not in environment and "AWS_PROFILE" not in environment:
        environment["AWS_ACCESS_KEY_ID"] = "packaging-only"
        environment["AWS_SECRET_ACCESS_KEY"] = "packaging-only"
    return environment


def build(stage: str, venv: Path, output: Path, environment: dict[str, str]) -> PackageSize:
    """Run ``zappa package`` for one Zappa stage and measure the result."""
    zip_path = output / f"{stage}.zip"
    subprocess.run(
        [str(venv / "bin" / "zappa"), "package", stage, "-o", str(zip_path)],
        cwd=ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return package_size(stage, zip_path)


# Every probe runs in a fresh interpreter on the unzipped package, with the package and the
# runtime's boto3 on sys.path (argv), and reports the package's modules it loaded and those
# it had to compile from source (none, once the zip carries their bytecode).
PROBE_HEAD = """
import importlib.machinery, json, os, sys
root, runtime = sys.argv[1:3]
sys.path[:0] = [root, runtime]
compiled = []
_source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def _counted(self, data, path, *args, **kwargs):
    compiled.append(path)
    return _source_to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = _counted
"""
PROBE_TAIL = """
def _inside(path):
    return os.path.relpath(path, root).replace(os.sep, "/")
loaded = sorted(
    _inside(module.__file__)
    for module in list(sys.modules.values())
    if (getattr(module, "__file__", None) or "").startswith(root + os.sep)
    and module.__file__.endswith(".py")
)
print(json.dumps({
    "answer": answer,
    "modules": loaded,
    "compiled": sorted(_inside(path) for path in compiled if path.startswith(root + os.sep)),
}))
"""
API_SMOKE = """
from catalogue.apigateway import handler as lambda_handler  # the api stage's lambda_handler

def get(path):
    event = {
        "httpMethod": "GET", "path": path, "headers": {"Host": "example.org"},
        "queryStringParameters": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"stage": "dev_api", "identity": {"sourceIp": "203.0.113.9"}},
    }
    return lambda_handler(event, None)

response = get("/health")
assert response["statusCode"] == 200, response
data_libraries = {"polars", "pandas", "pyarrow", "yaml", "isal"}
loaded_libraries = sorted({m.split(".")[0] for m in sys.modules} & data_libraries)
assert not loaded_libraries, loaded_libraries
answer = response["body"]
# What later requests load: the whole API (its OpenAPI document), the step catalogue, feeds.
for path in ("/openapi.json", "/steps"):
    assert get(path)["statusCode"] == 200, path
import catalogue.dcat.statements, catalogue.dcat.serialization  # DCAT feeds, on demand
import catalogue.store.dynamodb, jwt.algorithms  # the store and RS256 tokens, on first use
# The stripped extensions still run: a token signed and verified through cryptography.
from cryptography.hazmat.primitives.asymmetric import ec
import jwt
key = ec.generate_private_key(ec.SECP256R1())
token = jwt.encode({"sub": "probe"}, key, algorithm="ES256")
assert jwt.decode(token, key.public_key(), algorithms=["ES256"]) == {"sub": "probe"}
"""
STEPS_SMOKE = """
import handler, polars, fastexcel
import pipelines.steps.csv_to_parquet, pipelines.steps.excel_to_csv, catalogue.runs.arrival
import catalogue.runs.steps_function
import catalogue.dcat.open_data
# The stripped extensions still run: a query through polars' engine.
assert polars.DataFrame({"a": [1, 2]}).lazy().select(polars.col("a").sum()).collect().item() == 3
answer = f"polars {polars.__version__}"
"""
# Brygge's own modules all get bytecode: a request may import any of them later.
OWN_PACKAGES = ("catalogue/", "pipelines/", "migrations/")


def extract(zip_path: Path, folder: Path) -> Path:
    """Unzip ``zip_path`` into a fresh ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return folder


def runtime_provided(venv: Path, build_dir: Path) -> Path:
    """A folder with what the Lambda runtime provides (boto3 and its kin), from the build venv."""
    runtime = build_dir / "runtime-provided"
    runtime.mkdir(exist_ok=True)
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        link = runtime / name
        if not link.exists():
            link.symlink_to(site_packages / name)
    return runtime


def probe(stage: str, unzipped: Path, venv: Path, runtime: Path) -> dict:
    """Use an unzipped package as Lambda would: only the stdlib, the package and boto3.

    The api package answers ``GET /health`` through the stage's handler without loading a data
    library, then its OpenAPI document and step catalogue, and imports what DCAT feeds, the
    DynamoDB store and RS256 tokens need; the steps package imports polars and the handlers.
    No bytecode is written (``/var/task`` is read-only on Lambda). Raises CalledProcessError.
    """
    script = API_SMOKE if stage.endswith("_api") else STEPS_SMOKE
    result = subprocess.run(
        # -S: no site-packages, as on Lambda where only the package and the runtime exist.
        [
            str(venv / "bin" / "python"),
            "-S",
            "-c",
            PROBE_HEAD + script + PROBE_TAIL,
            str(unzipped),
            str(runtime),
        ],
        cwd=unzipped,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "packaging-only",
            "AWS_SECRET_ACCESS_KEY": "packaging-only",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def strip_native(zip_path: Path, venv: Path) -> str:
    """Strip the symbol tables of the zip's shared objects (deploy/shared_objects.py);
    returns what was done, for the size report. Without binutils' ``strip``, or where it
    fails on one of them, the zip stays as it was (its limits are checked all the same)."""
    strip = shutil.which("strip")
    if strip is None:
        return "shared objects kept whole: no strip program (install binutils)"
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            str(ROOT / "deploy" / "shared_objects.py"),
            str(zip_path),
            strip,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 1:
        return f"shared objects kept whole: strip failed on {result.stderr.strip()}"
    result.check_returncode()
    count, saved = result.stdout.split()
    return f"{count} shared objects stripped: {int(saved) / 2**20:.1f} MiB less unzipped"


def ship_bytecode(size: PackageSize, zip_path: Path, venv: Path, build_dir: Path) -> str:
    """Add bytecode for what the package's probe loads and Brygge's own modules, then probe
    the result again: it must load without compiling a module of the package.

    Returns the probe's answer and the bytecode count, for the size report.
    """
    runtime = runtime_provided(venv, build_dir)
    unzipped = extract(zip_path, build_dir / f"{size.stage}-unzipped")
    first = probe(size.stage, unzipped, venv, runtime)
    with zipfile.ZipFile(zip_path) as archive:
        own = {name for name in archive.namelist() if name.startswith(OWN_PACKAGES)}
    listing = build_dir / f"{size.stage}-modules.json"
    # What was compiled: a module that replaces itself in sys.modules is not listed as loaded.
    needed = set(first["modules"]) | set(first["compiled"]) | own
    listing.write_text(json.dumps(sorted(needed)), encoding="utf-8")
    added = subprocess.run(
        [
            str(venv / "bin" / "python"),
            str(ROOT / "deploy" / "bytecode.py"),
            str(zip_path),
            str(listing),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    unzipped = extract(zip_path, unzipped)
    second = probe(size.stage, unzipped, venv, runtime)
    if second["compiled"]:
        raise RuntimeError(
            f"{size.stage}: compiled from source despite the bytecode: {second['compiled'][:5]}"
        )
    answer = second["answer"].strip()
    return f"{answer} ({added} modules' bytecode, {len(second['modules'])} loaded)"


def main(argv: list[str] | None = None) -> int:
    """Build both packages of a stage, print their sizes; 1 if a limit is exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="deployment stage (dev, prod)")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "dist", help="folder the checked zips go to"
    )
    parser.add_argument("--python", help="Python 3.12 interpreter for the build venv")
    parser.add_argument("--build-dir", type=Path, help="folder for the venv and the zips")
    parser.add_argument("--keep", action="store_true", help="keep the build folder")
    args = parser.parse_args(argv)

    settings = json.loads((ROOT / "zappa_settings.json").read_text(encoding="utf-8"))
    region = settings["base"]["aws_region"]
    build_dir = args.build_dir or Path(tempfile.mkdtemp(prefix="brygge-package-"))
    build_dir.mkdir(parents=True, exist_ok=True)
    try:
        venv = build_dir / "venv"
        if not (venv / "bin" / "zappa").exists():
            create_venv(find_python(args.python), venv)
        environment = zappa_environment(venv, region)
        sizes = [
            build(f"{args.stage}_{function}", venv, build_dir, environment)
            for function in ("api", "steps")
        ]
        stripped = {
            size.stage: strip_native(build_dir / f"{size.stage}.zip", venv) for size in sizes
        }
        # The probes below load the stripped extensions: what is deployed is what ran.
        smoke = {
            size.stage: ship_bytecode(size, build_dir / f"{size.stage}.zip", venv, build_dir)
            for size in sizes
        }
        # Measured with the bytecode in: what is deployed is what was measured.
        sizes = [package_size(size.stage, build_dir / f"{size.stage}.zip") for size in sizes]
        problems = [problem for size in sizes for problem in limit_problems(size)]
        if not problems:
            args.output.mkdir(parents=True, exist_ok=True)
            for size in sizes:
                shutil.copyfile(build_dir / f"{size.stage}.zip", args.output / f"{size.stage}.zip")
    finally:
        if not args.keep and args.build_dir is None:
            shutil.rmtree(build_dir, ignore_errors=True)
    for size in sizes:
        print(size_line(size))
        print(f"{size.stage:<12} {stripped[size.stage]}")
        print(f"{size.stage:<12} unzipped and run: {smoke[size.stage]}")
    for problem in problems:
        print(f"limit exceeded: {problem}", file=sys.stderr)
    if problems:
        return 1
    for size in sizes:
        print(f"{size.stage:<12} written to {args.output / f'{size.stage}.zip'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
