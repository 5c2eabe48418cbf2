"""Benchmark: the step library against bare polars and fastexcel, on the same data in one run.

Generates its data from a fixed seed in a temporary folder: 2 M rows x 10 columns of CSV
(about 190 MB, 1 % of the rows invalid), files of 6 and 12 times as many rows (about 1 GB and
2 GB, every row distinct), and a 100k-row .xlsx. Prints one line per figure, each beside
its baseline:

    csv_to_parquet brygge 2.41 s baseline polars 2.25 s ratio 0.93x target >= 0.9x ok

Timings alternate Brygge and the baseline, median of ``runs`` (default 3). The baselines
do the same job in bare polars: csv_to_parquet's reads the CSV with the schema's types and
writes the same Parquet file (``typed_scan``); validate's is the issue's figure, polars
scanning the file as text and sinking it again, and a second line sets validate beside
polars running validate's own checks (``checked_scan``), which shows what the checks
themselves cost, and a third beside polars scanning and sinking in the 1 MB chunks the steps
read CSV in (polars' default is 32 MB, ``tables.small_csv_chunks``).
Peak memory is measured in a fresh subprocess per run, which reports its own VmHWM (peak
RSS) and its peak anonymous RSS (``RssAnon``, sampled every 10 ms); each figure is the median
of ``runs``. The targets apply to the
anonymous part: polars memory-maps its input, and clean file pages it has touched count in RSS
until the kernel drops them. Growth is taken from 1 GB to the largest file, 2 GB by default;
``validate_keyed`` is validate with a primaryKey (keys spilled to disk).
``--size 10G`` measures memory only, of csv_to_parquet and validate at 1 GB and on a file of
about 10 GB (the first file's rows repeated, written to disk and deleted afterwards; it needs
about twice its size free, since validate writes the valid rows back), with the growth from
1 GB to it, the issue's figure.
It takes long on a shared machine.

Every file, the steps' work folders included, lives in one temporary folder named after the
process, removed on exit, on SIGTERM, SIGHUP and Ctrl-C; a run killed outright (SIGKILL) leaves
it behind, and the next run removes the folders of runs no longer alive.

Run with ``.venv/bin/python bench/steps.py [runs] [--size 10G]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# BRYGGE_BENCH_SCALE shrinks the data for a quick check of the script itself.
SCALE = float(os.environ.get("BRYGGE_BENCH_SCALE", "1"))
ROWS = int(2_000_000 * SCALE)
XLSX_ROWS = int(100_000 * SCALE)
BIG_REPEATS = 6  # six times 2 M rows: about 1 GB
HUGE_REPEATS = 12  # about 2 GB
SEED = 20240101
EDITION = "20240101T000000"
PREFIX = f"raw/green/bench/version=1/edition={EDITION}/"
STATIONS = [f"station-{n:02d}" for n in range(50)]
CATEGORIES = ["air", "water", "soil", "noise", "traffic"]
TEMP_PREFIX = "brygge-bench-steps-"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_VARIABLE = "BRYGGE_BENCH_PARENT_PID"
RSS_TARGET_MB = 600
FLAT_TARGET = 1.1
PARQUET_TARGET = 0.9
VALIDATE_TARGET = 0.8
EXCEL_TARGET = 0.7

SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "minimum": 0}},
        {"name": "station", "type": "string", "constraints": {"pattern": "station-[0-9]{2}"}},
        {
            "name": "temperature",
            "type": "number",
            "constraints": {"minimum": -60, "maximum": 85},
        },
        {"name": "day", "type": "date", "format": "%Y-%m-%d"},
        {"name": "at", "type": "datetime", "format": "%Y-%m-%d %H:%M:%S"},
        {"name": "count", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "category", "type": "string", "constraints": {"enum": CATEGORIES}},
        {"name": "flag", "type": "boolean"},
        {"name": "note", "type": "string", "constraints": {"maxLength": 40}},
        {"name": "value", "type": "number"},
    ]
}


def generate_csv(path: Path, rows: int, batches: int = 1) -> None:
    """Write ``batches`` times ``rows`` rows; 1 % of temperatures are 999 (invalid).

    Every row differs (ids count on across batches), except that one id in a million is
    repeated, for the primaryKey figure.
    """
    with path.open("wb") as out:
        for batch in range(batches):
            rows_of(batch * rows, rows).write_csv(
                out, include_header=batch == 0, datetime_format="%Y-%m-%d %H:%M:%S"
            )


def repeat_csv(source: Path, target: Path, times: int) -> None:
    """Write the source's header once and its data rows ``times`` times."""
    with source.open("rb") as reader:
        header = reader.readline()
        body_start = reader.tell()
    with target.open("wb") as writer:
        writer.write(header)
        for _ in range(times):
            with source.open("rb") as reader:
                reader.seek(body_start)
                shutil.copyfileobj(reader, writer, 16 * 1024 * 1024)


def rows_of(first: int, rows: int) -> Any:
    """The benchmark rows ``first`` to ``first + rows`` as a polars DataFrame."""
    import polars as pl

    i = pl.col("i")

    def pick(seed: int, modulo: int) -> pl.Expr:
        return (i.hash(SEED + seed) % modulo).cast(pl.Int64)

    start = dt.datetime(2020, 1, 1)
    return pl.select(pl.int_range(first, first + rows, dtype=pl.Int64).alias("i")).select(
        pl.when(i % 1_000_003 == 7).then(i - 1).otherwise(i).alias("id"),
        pl.concat_str(
            pl.lit("station-"), pick(1, len(STATIONS)).cast(pl.String).str.zfill(2)
        ).alias("station"),
        pl.when(pick(2, 100) == 0)
        .then(999.0)
        .otherwise(((pick(3, 8500) - 4000) / 100).round(2))
        .alias("temperature"),
        (pl.lit(start.date()) + pl.duration(days=pick(4, 1500))).alias("day"),
        (pl.lit(start) + pl.duration(seconds=pick(5, 86_400 * 1500))).alias("at"),
        pick(6, 100_000).alias("count"),
        pick(7, len(CATEGORIES))
        .replace_strict(dict(enumerate(CATEGORIES)), return_dtype=pl.String)
        .alias("category"),
        (pick(8, 2) == 0).alias("flag"),
        pl.concat_str(pl.lit("note "), pick(9, 1_000_000).cast(pl.String)).alias("note"),
        (pick(10, 10_000_000) / 1000).round(3).alias("value"),
    )


def generate_xlsx(path: Path, rows: int) -> None:
    """A 100k-row workbook of numbers, text and dates."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("Data")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["id", "station", "temperature", "day", "count", "category"])
    start = dt.datetime(2020, 1, 1)
    for n in range(1, rows + 1):
        sheet.write_number(n, 0, n)
        sheet.write_string(n, 1, STATIONS[n % len(STATIONS)])
        sheet.write_number(n, 2, (n % 8500 - 4000) / 100)
        sheet.write_datetime(n, 3, start + dt.timedelta(days=n % 1500), date)
        sheet.write_number(n, 4, n * 7 % 1000)
        sheet.write_string(n, 5, CATEGORIES[n % len(CATEGORIES)])
    book.close()


def step_run(step: str, root: Path, key: str) -> dict[str, Any]:
    """Run one step's ``run`` over a local object store; returns its summary."""
    from pipelines.object_keys import parse_object_key
    from pipelines.objects import LocalObjectStore
    from pipelines.steps import csv_to_parquet, excel_to_csv, validate
    from pipelines.steps.contract import build_config

    objects = LocalObjectStore(root)

    def out(source: str, filename: str) -> str:
        return str(parse_object_key(source).for_step(step, filename))

    if step == "csv_to_parquet":
        parquet_config = build_config(csv_to_parquet.CsvToParquetConfig, {"schema": SCHEMA})
        return csv_to_parquet.run(objects, parquet_config, [key], out).summary
    if step.startswith("validate"):
        # quarantine: the figure is validate + rejects (drop writes no rejects file).
        # validate_keyed adds a primaryKey, found by spilling keys to disk.
        schema = SCHEMA | {"primaryKey": ["id"]} if step == "validate_keyed" else SCHEMA
        validate_config = build_config(
            validate.ValidateConfig, {"schema": schema, "onInvalid": "quarantine"}
        )
        return validate.run(objects, validate_config, [key], out).summary
    excel_config = build_config(excel_to_csv.ExcelToCsvConfig, {})
    return excel_to_csv.run(objects, excel_config, [key], out).summary


def baseline_run(step: str, root: Path, key: str) -> None:
    """The same job in bare polars or fastexcel, no store, no checks."""
    import polars as pl

    source = root / key
    target = root / "baseline"
    target.mkdir(exist_ok=True)
    if step == "csv_to_parquet":
        typed_scan(source).sink_parquet(target / "out.parquet")
    elif step == "validate_checks":
        checked_scan(source).sink_csv(target / "out.csv")
    elif step == "validate_small_chunks":
        from pipelines.steps.tables import small_csv_chunks

        with small_csv_chunks():
            pl.scan_csv(source, infer_schema=False).sink_csv(target / "out.csv")
    elif step.startswith("validate"):
        pl.scan_csv(source, infer_schema=False).sink_csv(target / "out.csv")
    else:
        import fastexcel

        frame = fastexcel.read_excel(source).load_sheet(0).to_polars()
        frame.write_csv(target / "out.csv")


def typed_scan(source: Path) -> Any:
    """The CSV read as bare polars would to write the Parquet file csv_to_parquet writes.

    Numbers and text are typed by the reader; dates and datetimes are parsed with their
    formats and booleans mapped after it, as the step's output has them. A plain
    ``scan_csv`` infers types from the first rows and keeps dates as text: less work, and
    not the same file.
    """
    import polars as pl

    native = {"integer": pl.Int64, "number": pl.Float64}
    fields = SCHEMA["fields"]
    after = []
    for field in fields:
        column = pl.col(field["name"])
        # No cache, as the step: a cache of every distinct datetime grows with the file.
        if field["type"] == "date":
            after.append(column.str.to_date(field["format"], cache=False))
        elif field["type"] == "datetime":
            after.append(column.str.to_datetime(field["format"], time_unit="us", cache=False))
        elif field["type"] == "boolean":
            # when/then, as the step: replace_strict grew to 2.2 GB of anonymous memory on
            # the 1 GB file (375 MB with when/then) and was killed for memory at 10 GB.
            after.append(pl.when(column == "true").then(True).when(column == "false").then(False))
    frame = pl.scan_csv(
        source,
        schema_overrides={f["name"]: native.get(f["type"], pl.String) for f in fields},
    )
    return frame.with_columns(after)


def checked_scan(source: Path) -> Any:
    """The CSV as text, less the rows any of validate's checks rejects: the checks' own cost.

    The expressions are validate's (``schema_checks.plan``), run in bare polars: no row
    numbers, no rejects, no counts, no store.
    """
    import polars as pl

    from pipelines.steps.schema_checks import plan
    from pipelines.steps.table_schema import parse_schema

    frame = pl.scan_csv(source, infer_schema=False)
    checked = plan(parse_schema(SCHEMA), frame.collect_schema(), pl.lit(0))
    names = frame.collect_schema().names()
    fails = pl.any_horizontal(check.fails for check in checked.checks)
    return frame.with_columns(checked.prepare).filter(~fails).select(names)


def median_seconds(
    brygge: Callable[[], Any], baseline: Callable[[], Any], runs: int
) -> tuple[float, float]:
    """Alternate the two, ``runs`` times each; return the median seconds of each."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        for sink, job in ((theirs, baseline), (ours, brygge)):
            started = time.perf_counter()
            job()
            sink.append(time.perf_counter() - started)
    return statistics.median(ours), statistics.median(theirs)


def peak_rss_mb(kind: str, step: str, root: Path, key: str) -> tuple[float, float]:
    """Peak RSS and peak anonymous RSS (MB) of a fresh interpreter that runs one job.

    The child reports its own VmHWM: ``getrusage`` (and ``wait4``) would also count the pages
    of this large parent that the child shared between fork and exec. polars memory-maps the
    CSV, so RSS includes file pages the kernel has not yet dropped; the anonymous part (heap,
    sampled every 10 ms) is what the step itself holds.
    """
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, step, str(root), key],
        capture_output=True,
        text=True,
        check=False,
        # The step's work folder (its valid rows: GBs) goes inside the run's folder.
        env={**os.environ, "TMPDIR": str(root / "tmp"), PARENT_VARIABLE: str(os.getpid())},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} {step} failed: {result.stderr[-2000:]}")
    peak_kb, anon_kb = result.stdout.split()[-2:]
    return int(peak_kb) / 1024, int(anon_kb) / 1024


def status_kb(field: str) -> int:
    """A ``kB`` field of /proc/self/status."""
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith(field + ":"):
            return int(text.split()[1])
    return 0


def run_child(kind: str, step: str, root: Path, key: str) -> None:
    """Run one job, sampling anonymous RSS; print peak RSS and peak anonymous RSS in kB."""
    import threading

    peak_anon = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak_anon[0] = max(peak_anon[0], status_kb("RssAnon"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if kind == "brygge":
        step_run(step, root, key)
    else:
        baseline_run(step, root, key)
    done.set()
    sampler.join()
    print(status_kb("VmHWM"), max(peak_anon[0], status_kb("RssAnon")))


def line(name: str, ours: str, theirs: str, ratio: float, target: str, ok: bool) -> str:
    return f"{name} brygge {ours} baseline {theirs} ratio {ratio:.2f}x target {target} " + (
        "ok" if ok else "MISS"
    )


def size_bytes(text: str) -> int:
    """``10G`` or ``512M`` as bytes."""
    units = {"G": 10**9, "M": 10**6}
    return int(float(text[:-1]) * units[text[-1].upper()])


def time_figures(root: Path, csv_key: str, xlsx_key: str, runs: int) -> None:
    """Throughput of each step beside its baseline, one line each."""
    ours, theirs = median_seconds(
        lambda: step_run("csv_to_parquet", root, csv_key),
        lambda: baseline_run("csv_to_parquet", root, csv_key),
        runs,
    )
    ratio = theirs / ours
    print(
        line(
            "csv_to_parquet",
            f"{ours:.2f} s",
            f"polars {theirs:.2f} s",
            ratio,
            f">= {PARQUET_TARGET}x",
            ratio >= PARQUET_TARGET,
        ),
        flush=True,
    )
    for step, key, rows, unit, scale, baseline in (
        ("validate", csv_key, ROWS, "M/s", 1e6, "polars scan->sink_csv"),
        ("excel_to_csv", xlsx_key, XLSX_ROWS, "k/s", 1e3, "fastexcel"),
    ):
        ours, theirs = median_seconds(
            lambda step=step, key=key: step_run(step, root, key),
            lambda step=step, key=key: baseline_run(step, root, key),
            runs,
        )
        rate, base_rate = rows / ours, rows / theirs
        target = VALIDATE_TARGET if step == "validate" else EXCEL_TARGET
        print(
            line(
                f"{step}_rows_per_s",
                f"{rate / scale:.2f} {unit}",
                f"{baseline} {base_rate / scale:.2f} {unit}",
                rate / base_rate,
                f">= {target}x",
                rate / base_rate >= target,
            ),
            flush=True,
        )
    # Not targets: how much of validate's time the checks themselves take in polars, and
    # validate beside polars reading in the steps' 1 MB chunks (tables.small_csv_chunks),
    # which polars' default of 32 MB is not.
    for name, baseline, described, note in (
        (
            "validate_vs_same_checks",
            "validate_checks",
            "polars running validate's checks, scan->filter->sink_csv",
            "the checks' ceiling, no target",
        ),
        (
            "validate_vs_small_chunk_scan",
            "validate_small_chunks",
            "polars scan->sink_csv in the steps' 1 MB chunks",
            "no target",
        ),
    ):
        ours, theirs = median_seconds(
            lambda: step_run("validate", root, csv_key),
            lambda baseline=baseline: baseline_run(baseline, root, csv_key),
            runs,
        )
        print(
            f"{name} brygge {ROWS / ours / 1e6:.2f} M/s baseline {described} "
            f"{ROWS / theirs / 1e6:.2f} M/s ratio {theirs / ours:.2f}x ({note})",
            flush=True,
        )


def clear_outputs(root: Path) -> None:
    """Delete what the steps and baselines wrote: the large runs need the disk space."""
    for folder in ("intermediate", "baseline"):
        shutil.rmtree(root / folder, ignore_errors=True)


def median_peaks(kind: str, step: str, root: Path, key: str, runs: int) -> tuple[float, float]:
    """The median peak RSS and the median peak anonymous RSS of ``runs`` runs, in MB.

    A step's peak varies from run to run by about a tenth (how many batches the engine's
    threads hold at once), and a ten-times longer run meets its highest more often: one run
    per size made the growth figure read anywhere from 0.93x to 1.18x on unchanged code.
    """
    peaks = []
    for _ in range(runs):
        peaks.append(peak_rss_mb(kind, step, root, key))
        clear_outputs(root)  # a 10 GB file's valid rows: not twice on disk
    return statistics.median(p for p, _ in peaks), statistics.median(a for _, a in peaks)


def memory_figures(
    root: Path, sizes: dict[str, tuple[str, float]], steps: list[str], runs: int
) -> None:
    """Peak memory of each step per file size (the median of ``runs``), and its growth from
    1 GB to the largest."""
    largest = list(sizes)[-1]
    for step in steps:
        anon, base_anon = {}, {}
        for label, (key, size) in sizes.items():
            ours_mb, anon[label] = median_peaks("brygge", step, root, key, runs)
            theirs_mb, base_anon[label] = median_peaks("baseline", step, root, key, runs)
            print(
                line(
                    f"{step}_peak_rss_{label}",
                    f"anon {anon[label]:.0f} MB (rss {ours_mb:.0f} MB)",
                    f"polars anon {base_anon[label]:.0f} MB (rss {theirs_mb:.0f} MB), "
                    f"{size:.0f} MB file, median of {runs}",
                    anon[label] / base_anon[label],
                    f"anon <= {RSS_TARGET_MB} MB",
                    anon[label] <= RSS_TARGET_MB,
                ),
                flush=True,
            )
        growth = anon[largest] / anon["1gb"]
        data = sizes[largest][1] / sizes["1gb"][1]
        print(
            f"{step}_anon_rss_growth brygge {anon['1gb']:.0f} MB -> {anon[largest]:.0f} MB "
            f"for {data:.1f}x the data ratio {growth:.3f}x (polars {base_anon['1gb']:.0f} -> "
            f"{base_anon[largest]:.0f} MB, {base_anon[largest] / base_anon['1gb']:.2f}x) "
            f"target <= {FLAT_TARGET}x " + ("ok" if growth <= FLAT_TARGET else "MISS"),
            flush=True,
        )


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so ``with`` blocks remove their files."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, leave)


def end_with_parent() -> None:
    """Ask Linux to send this child SIGTERM when the benchmark dies, even killed outright."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the child finishes its one job on its own
    if str(os.getppid()) != os.environ.get(PARENT_VARIABLE):
        raise SystemExit(1)  # the parent died before the request


def remove_stale_folders() -> None:
    """Remove the temporary folders of earlier runs whose process is gone (killed outright)."""
    for folder in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        pid = folder.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


def main(runs: int, extra_bytes: int | None) -> None:
    """Generate the data, run every figure, print one line each."""
    exit_on_signals()
    remove_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as name:
        root = Path(name)
        # Steps run here make their work folders inside the run's folder too.
        (root / "tmp").mkdir()
        tempfile.tempdir = str(root / "tmp")
        csv_key, xlsx_key = PREFIX + "readings.csv", PREFIX + "readings.xlsx"
        (root / PREFIX).mkdir(parents=True)
        started = time.perf_counter()
        generate_csv(root / csv_key, ROWS)
        generate_xlsx(root / xlsx_key, XLSX_ROWS)
        sizes = {"200mb": (csv_key, (root / csv_key).stat().st_size / 1e6)}
        repeats = {"1gb": BIG_REPEATS}
        if extra_bytes is None:
            repeats["2gb"] = HUGE_REPEATS
        else:
            free = shutil.disk_usage(root).free
            # The input and validate's valid rows, with room to spare.
            fitting = min(extra_bytes, int(free * 0.4))
            if fitting < extra_bytes:
                print(f"only {free / 1e9:.0f} GB free: the large file is {fitting / 1e9:.0f} GB")
            repeats[f"{fitting / 1e9:.0f}gb"] = max(
                round(fitting / (sizes["200mb"][1] * 1e6)), HUGE_REPEATS + 1
            )
        for label, times in repeats.items():
            key = PREFIX + f"readings-{label}.csv"
            if label in ("1gb", "2gb"):
                generate_csv(root / key, ROWS, times)
            else:
                # Copies of the first file's rows: quick to write, and the figures of the
                # large file do not read keys.
                repeat_csv(root / csv_key, root / key, times)
            sizes[label] = (key, (root / key).stat().st_size / 1e6)
        print(
            f"data: {ROWS:,} rows x 10 columns, 1 % invalid; CSV of "
            + ", ".join(f"{size:,.0f} MB" for _, size in sizes.values())
            + f"; {XLSX_ROWS:,}-row xlsx; generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        # Timed right after writing its GBs of data, a run measured the kernel flushing them
        # too, the baselines most (validate 0.60x where a run after a sync read 0.42x).
        os.sync()
        if extra_bytes is not None:
            # The large file's run: memory only, from 1 GB to it (hours of CPU otherwise).
            del sizes["200mb"]
            memory_figures(root, sizes, ["csv_to_parquet", "validate"], runs)
            return
        time_figures(root, csv_key, xlsx_key, runs)
        memory_figures(root, sizes, ["csv_to_parquet", "validate", "validate_keyed"], runs)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, step, root, key = sys.argv[2:6]
        exit_on_signals()
        end_with_parent()
        run_child(kind, step, Path(root), key)
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("runs", nargs="?", type=int, default=3, help="timed runs per figure")
        parser.add_argument(
            "--size", help="also measure memory on a CSV of this size, e.g. 10G (slow)"
        )
        arguments = parser.parse_args()
        main(arguments.runs, size_bytes(arguments.size) if arguments.size else None)
