"""Cold start of the api function: its import path against flask + flask-smorest + boto3.

Usage: ``python bench/coldstart.py [--runs 21]``
or ``python bench/coldstart.py --package dist/dev_api.zip --venv BUILD/venv [--runs 21]``

Each measurement is a fresh interpreter that times, from inside, one import path:

- ``baseline``: ``import flask, flask_smorest, boto3``, the least any Flask API on Lambda
  with boto3 loads;
- ``wsgi``: ``import catalogue.wsgi`` (builds the app: blueprints, schemas, OpenAPI spec);
- ``handler``: what Lambda runs on a cold start of the ``api`` function: the stage's
  ``lambda_handler`` module (``catalogue.apigateway``), then its ``load()`` of the settings
  file ``zappa save-python-settings-file`` generates, which imports ``catalogue.wsgi``;
- ``handler_request``: the same, then the ``GET /health`` request of a cold start (resource
  modules are imported by their first request: see ``catalogue/api/lazy_routes.py``);
- ``zappa_handler`` (reference): the same through Zappa's own handler module and
  ``LambdaHandler()``, which the api stage used before.

The probes alternate within each round; the script prints the median of each with its ratio
to the baseline and the target (<= 1.15x). Every probe runs with the modules the api zip
leaves out (``exclude`` of the ``api`` stage, less boto3 which the runtime provides) made
unimportable, as on Lambda: flask-smorest's optional PyYAML, for one, is not there.

With ``--package`` the probes run on the api zip as built by ``deploy/package.py`` (its build
venv, kept with ``--keep``, provides the Lambda runtime's Python and boto3), unzipped, with
no site-packages and no bytecode written, as Lambda runs it from read-only ``/var/task``:
once with the bytecode the zip carries and once with it stripped (how the zips were built
before they carried it), so both the ratio and the absolute gain of shipping it show.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.15

PROBES = {
    "baseline": "import flask, flask_smorest, boto3",
    "wsgi": "import catalogue.wsgi",
    "handler": "import catalogue.apigateway as handler; handler.load()",
    # A cold start answers a request: the resource modules load on their first request, so
    # this is load() plus what GET /health adds (its module, routing, the JSON answer).
    "handler_request": (
        "import catalogue.apigateway as handler; "
        "answer = handler.handler({'httpMethod': 'GET', 'path': '/health', "
        "'headers': {'Host': 'example.org'}, 'queryStringParameters': None, 'body': None, "
        "'isBase64Encoded': False, 'requestContext': {'stage': 'dev_api'}}, None); "
        "assert answer['statusCode'] == 200, answer"
    ),
    "zappa_handler": "from zappa.handler import LambdaHandler; LambdaHandler()",
    # Where the handler's time goes, for reference: Zappa's own module, and PyJWT with
    # cryptography (RS256), which catalogue.auth.oidc imports at module level.
    "baseline+zappa": "import flask, flask_smorest, boto3, zappa.handler",
    "baseline+jwt": "import flask, flask_smorest, boto3, jwt",
    # The handler pauses the garbage collector while it loads (catalogue/apigateway.py): the
    # same pause for the baseline's imports shows what part of the gain is the pause alone.
    "baseline_gc_paused": (
        "import gc; gc.disable(); import flask, flask_smorest, boto3; gc.freeze(); gc.enable()"
    ),
}
TARGETED = ("wsgi", "handler", "handler_request")
TIMER = """
import fnmatch, importlib.abc, sys, time

class LeftOutOfTheZip(importlib.abc.MetaPathFinder):
    # What the api zip leaves out cannot be imported on Lambda: nor here.
    def find_spec(self, name, path=None, target=None):
        if any(fnmatch.fnmatch(name.split(".")[0], pattern) for pattern in {left_out!r}):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, LeftOutOfTheZip())
start = time.perf_counter()
{probe}
elapsed = time.perf_counter() - start
assert "polars" not in sys.modules, "the api path loaded polars"
print(elapsed)
"""


def generate_settings(folder: Path) -> None:
    """Write ``zappa_settings.py`` of ``dev_api`` into ``folder``, as Zappa packages it."""
    zappa = shutil.which("zappa", path=str(Path(sys.executable).parent)) or shutil.which("zappa")
    if zappa is None:
        sys.exit("zappa is not installed: pip install -e .[dev]")
    subprocess.run(
        [
            zappa,
            "save-python-settings-file",
            "dev_api",
            "-q",
            "-o",
            str(folder / "zappa_settings.py"),
        ],
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-north-1"},
        check=True,
        capture_output=True,
    )


def left_out_of_api_zip() -> list[str]:
    """Patterns of what the api zip leaves out, less what the Lambda runtime provides."""
    settings = json.loads((ROOT / "zappa_settings.json").read_text(encoding="utf-8"))
    provided = {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six.py"}
    return sorted(set(settings["api"]["exclude"]) - provided)


def measure(probe: str, environment: dict[str, str], left_out: list[str]) -> float:
    """Seconds one fresh interpreter spends on ``probe``."""
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(probe=probe, left_out=left_out)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


PACKAGE_PROBES = {
    "baseline": "import flask, flask_smorest, boto3",
    "handler": "import catalogue.apigateway as handler; handler.load()",
}
PACKAGE_TIMER = """
import sys, time
sys.path[:0] = sys.argv[1:3]
start = time.perf_counter()
{probe}
print(time.perf_counter() - start)
"""


def unzip_package(zip_path: Path, folder: Path, *, bytecode: bool) -> Path:
    """Unzip the api package into ``folder``, with or without its ``__pycache__`` files."""
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        members = [
            name for name in archive.namelist() if bytecode or "/__pycache__/" not in f"/{name}"
        ]
        archive.extractall(folder, members)
    return folder


def deploy_package_module() -> ModuleType:
    """deploy/package.py as a module (deploy/ is not a package): its runtime folder rule."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_package", ROOT / "deploy" / "package.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def measure_package(python: Path, probe: str, package: Path, runtime: Path) -> float:
    """Seconds one fresh interpreter spends on ``probe`` in the unzipped package."""
    result = subprocess.run(
        [str(python), "-S", "-c", PACKAGE_TIMER.format(probe=probe), str(package), str(runtime)],
        cwd=package,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main_package(zip_path: Path, venv: Path, runs: int) -> int:
    """The api zip's cold start with and without its bytecode; 1 when the handler misses."""
    python = venv / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix="brygge-coldstart-package-") as folder:
        runtime = deploy_package_module().runtime_provided(venv, Path(folder))
        packages = {
            "with bytecode": unzip_package(zip_path, Path(folder) / "with", bytecode=True),
            "without bytecode": unzip_package(zip_path, Path(folder) / "without", bytecode=False),
        }
        times: dict[tuple[str, str], list[float]] = {}
        for variant, package in packages.items():
            for name, probe in PACKAGE_PROBES.items():
                measure_package(python, probe, package, runtime)  # warm the file cache
                times[(variant, name)] = []
        for _ in range(runs):
            for variant, package in packages.items():
                for name, probe in PACKAGE_PROBES.items():
                    times[(variant, name)].append(measure_package(python, probe, package, runtime))
    medians = {key: statistics.median(values) for key, values in times.items()}
    verdict = 0
    for variant in packages:
        baseline = medians[(variant, "baseline")]
        handler = medians[(variant, "handler")]
        ratio = handler / baseline
        ok = ratio <= TARGET_RATIO
        verdict = verdict if ok or variant != "with bytecode" else 1
        print(
            f"package {variant}: baseline {baseline * 1000:.0f} ms handler {handler * 1000:.0f} ms"
            f" ratio {ratio:.2f}x (median of {runs})"
        )
    saved = medians[("without bytecode", "handler")] / medians[("with bytecode", "handler")]
    print(f"package handler without bytecode / with bytecode: {saved:.2f}x")
    figures = {f"{variant} {name}": round(value, 4) for (variant, name), value in medians.items()}
    print(json.dumps(figures))
    return verdict


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print one line per path; 1 when the handler misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (median is reported)")
    parser.add_argument("--package", type=Path, help="the api zip deploy/package.py built")
    parser.add_argument("--venv", type=Path, help="deploy/package.py's build venv (with --package)")
    args = parser.parse_args(argv)
    if args.package:
        if not args.venv:
            parser.error("--package needs --venv: deploy/package.py --build-dir DIR --keep")
        return main_package(args.package, args.venv, args.runs)

    with tempfile.TemporaryDirectory(prefix="brygge-coldstart-") as folder:
        generate_settings(Path(folder))
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # The settings module sits beside Zappa's handler in the package; here, on the path.
            "PYTHONPATH": os.pathsep.join([folder, str(ROOT)]),
            "BRYGGE_HOME": str(Path(folder) / "home"),
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        left_out = left_out_of_api_zip()
        for probe in PROBES.values():  # warm the file cache and the .pyc files
            measure(probe, environment, left_out)
        times: dict[str, list[float]] = {name: [] for name in PROBES}
        for _ in range(args.runs):
            for name, probe in PROBES.items():
                times[name].append(measure(probe, environment, left_out))

    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["baseline"]
    print(
        f"import_baseline flask+flask_smorest+boto3 {baseline * 1000:.0f} ms"
        f" (median of {args.runs})"
    )
    verdict = 0
    for name in PROBES:
        if name == "baseline":
            continue
        ratio = medians[name] / baseline
        ok = ratio <= TARGET_RATIO
        if name in TARGETED and not ok:
            verdict = 1
        target = (
            f"target <= {TARGET_RATIO:.2f}x {'ok' if ok else 'MISSED'}"
            if name in TARGETED
            else "(reference)"
        )
        print(
            f"import_{name} brygge {medians[name] * 1000:.0f} ms baseline {baseline * 1000:.0f} ms"
            f" ratio {ratio:.2f}x {target}"
        )
    print(json.dumps({name: round(value, 4) for name, value in medians.items()}))
    return verdict


if __name__ == "__main__":
    sys.exit(main())
