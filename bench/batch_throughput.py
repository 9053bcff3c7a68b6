"""End-to-end throughput of `advisor evaluate` on synthetic estates, low-diversity and all-distinct, in one run.

Two estates per size, each a fresh process (`advisor evaluate IN.csv -o OUT.parquet --workers 2`):
- low-diversity: bench/synthetic.py `write` (CMDB-like rows from a few dozen standard profiles);
- diverse: bench/synthetic.py `write_diverse` (every row distinct: measured hours, odd sizes, many
  OSes, regions, tenancies, packagings, request and job profiles, pinned services, budgets);
- diverse-ec2: the same rows pinned to plain EC2 (the first class the vectorized path covered).
Each is run with the current path (vectorized where it covers, per shape elsewhere) and, for the sizes
in --old-sizes, with the old path (`--per-shape`) on the same file; the outputs must be identical.
Reported: rows/s, distinct shapes, rows the vectorized path answered, peak resident memory (the evaluate
process and its workers together), the ratio
new/old, and the load average at the start of each run (2 shared cores: figures vary with load).

Run: python bench/batch_throughput.py [--sizes 10000 100000] [--old-sizes 10000] [--workers 2]
     [--estates low-diversity diverse diverse-ec2] [--share-max 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402

ESTATES = {"low-diversity": synthetic.write, "diverse": synthetic.write_diverse,
           "diverse-ec2": lambda path, rows: synthetic.write_diverse(path, rows, ec2_only=True)}


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MiB; 0 once it is gone."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        with contextlib.suppress(OSError, ValueError):
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")),
                              0))  # a process that has exited but not yet been waited for has no VmRSS
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
    return total / 1024


def run(path: Path, workers: int, per_shape: bool) -> tuple[float, float, Path]:
    """Seconds and the peak resident memory of the whole process tree (the evaluate process and its
    workers, summed; sampled every 0.1 s)."""
    out = path.with_suffix(".old.parquet" if per_shape else ".new.parquet")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "advisor.cli", "evaluate", str(path), "-o", str(out),
                             "--workers", str(workers), *(["--per-shape"] if per_shape else [])],
                            stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mib(proc.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0
    rows = pl.scan_parquet(out).select(pl.len()).collect().item()
    assert rows == pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
    return seconds, peak, out


def vectorized_rows(path: Path) -> int:
    """Rows of the file whose shape the vectorized path answers (counted in-process, for the report)."""
    from advisor.batch import CONTRACT_FIELDS, SHAPE_FIELDS, answer_vectorized
    from advisor.catalog.store import load_catalog

    frame = pl.read_csv(path, infer_schema=False)
    shape_cols = [c for c in SHAPE_FIELDS if c in frame.columns]
    frame = frame.with_columns([pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(
        pl.col(c).str.strip_chars()).alias(c) for c in CONTRACT_FIELDS if c in frame.columns])
    counts = frame.group_by(shape_cols).len()
    keys = [tuple(zip(shape_cols, row[:-1], strict=True)) for row in counts.iter_rows()]
    answered = answer_vectorized(keys, load_catalog(), False)
    return sum(n for key, n in zip(keys, counts["len"], strict=True) if key in answered)


def baseline_rows_per_second(path: Path, sample: int) -> float:
    """Row-by-row: validate and recommend every row, no grouping, no bulk work."""
    from pydantic import ValidationError

    from advisor.candidates.memo import FRONTIERS
    from advisor.catalog.store import load_catalog
    from advisor.recommend import recommend
    from models.workload import Workload

    catalog = load_catalog()
    rows = pl.read_csv(path, infer_schema=False, n_rows=sample).to_dicts()
    start = time.perf_counter()
    for row in rows:
        FRONTIERS.__init__()  # no reuse between rows: each row is solved on its own
        data = {k: v for k, v in row.items() if v not in (None, "") and k not in ("team", "cost_center")}
        with contextlib.suppress(ValidationError):
            recommend(Workload.model_validate(data), catalog=catalog)
    return len(rows) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--old-sizes", type=int, nargs="*", default=[10_000],
                        help="sizes also run with the old per-shape path (slow on the diverse estate)")
    parser.add_argument("--estates", nargs="+", default=["low-diversity", "diverse"], choices=list(ESTATES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--share-max", type=int, default=100_000,
                        help="largest size whose vectorized share is counted (an extra in-process pass)")
    parser.add_argument("--baseline-sample", type=int, default=0, help="rows for the row-by-row baseline (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for estate in args.estates:
                path = ESTATES[estate](Path(tmp) / f"{estate}-{size}.csv", size)
                shapes = (pl.scan_csv(path, infer_schema=False).drop("id", "team", "cost_center").unique()
                          .select(pl.len()).collect().item())
                load = os.getloadavg()[0]
                seconds, peak, new_out = run(path, args.workers, per_shape=False)
                line = (f"{estate:>13} {size:>9,} rows, {shapes:>9,} shapes: {seconds:7.1f} s, "
                        f"{size / seconds:8,.0f} rows/s, peak {peak:,.0f} MiB (load {load:.1f})")
                if size in args.old_sizes:
                    load = os.getloadavg()[0]
                    old_seconds, old_peak, old_out = run(path, args.workers, per_shape=True)
                    same = pl.read_parquet(new_out).equals(pl.read_parquet(old_out))
                    line += (f"; old path {old_seconds:7.1f} s, {size / old_seconds:8,.0f} rows/s, peak "
                             f"{old_peak:,.0f} MiB (load {load:.1f}): new/old {old_seconds / seconds:.2f}x, "
                             f"identical output: {same}")
                print(line, flush=True)
                if size <= args.share_max:
                    print(f"{'':>13} vectorized path answered {vectorized_rows(path) / size:.1%} of the rows",
                          flush=True)
        if args.baseline_sample:
            sample = Path(tmp) / "sample.csv"
            synthetic.write(sample, args.baseline_sample)
            base = baseline_rows_per_second(sample, args.baseline_sample)
            print(f"row by row with recommend(), no grouping or bulk work: {base:,.0f} rows/s")


if __name__ == "__main__":
    main()
