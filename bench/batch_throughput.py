"""End-to-end throughput of `advisor evaluate` on synthetic estates of 10k, 100k and 1M rows.

Each size is a fresh process (`advisor evaluate IN.csv -o OUT.parquet --workers 2`) on a CSV from
bench/synthetic.py (CMDB-like, 1 % broken rows). Reported: rows/s end to end, distinct shapes,
and the peak resident memory of the largest process. Baseline in the same run: answering rows one
by one with recommend() (no grouping of identical shapes, no bulk frontiers) on a sample.

Run: python bench/batch_throughput.py [--sizes 10000 100000 1000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402


def run(path: Path, workers: int) -> tuple[float, float]:
    out = path.with_suffix(".out.parquet")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "advisor.cli", "evaluate", str(path), "-o", str(out),
                    "--workers", str(workers)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    rows = pl.scan_parquet(out).select(pl.len()).collect().item()
    assert rows == pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
    return seconds, peak


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
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=300)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = synthetic.write(Path(tmp) / f"estate-{size}.csv", size)
            shapes = (pl.scan_csv(path, infer_schema=False).drop("id", "team", "cost_center").unique()
                      .select(pl.len()).collect().item())
            seconds, peak = run(path, args.workers)
            results.append(size / seconds)
            print(f"{size:>9,} rows, {shapes:,} distinct shapes: {seconds:7.1f} s, {size / seconds:8,.0f} rows/s, "
                  f"peak memory {peak:,.0f} MiB")
        base = baseline_rows_per_second(Path(tmp) / f"estate-{args.sizes[0]}.csv", args.baseline_sample)
        ratios = ", ".join(f"{s:,}: {r / base:,.0f}x" for s, r in zip(args.sizes, results, strict=True))
        print(f"baseline, row by row without grouping or bulk work: {base:,.0f} rows/s; ratio ({ratios})")


if __name__ == "__main__":
    main()
