"""The diverse estate (bench/synthetic.py write_diverse) with every row's services pinned to EC2 plus the
services the vectorized path now prices (no ECS/EKS on EC2 nodes), so part F's coverage shows without
part N. Reported: rows/s of `advisor evaluate --workers 2` with and without --per-shape (same CSV?),
and the share of rows the vectorized path answers.

Run: python bench/estate_services.py ROWS"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402
from batch_throughput import vectorized_rows  # noqa: E402

rows = int(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp:
    raw = synthetic.write_diverse(Path(tmp) / "raw.csv", rows)
    frame = pl.read_csv(raw, infer_schema=False).with_columns(
        allowed_services=pl.when(pl.col("allowed_services") == "ec2").then(pl.lit("ec2")).otherwise(
            pl.lit("ec2;lightsail;ecs_fargate;eks_fargate;lambda;batch;beanstalk")),
        packaging=pl.when(pl.col("packaging") == "vm").then(pl.lit("any")).otherwise(pl.col("packaging")),
        orchestrator=pl.lit("none"))
    path = Path(tmp) / "priced.csv"
    frame.write_csv(path)
    outs = {}
    for per_shape in (False, True):
        out = Path(tmp) / f"out-{per_shape}.csv"
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "advisor.cli", "evaluate", str(path), "-o", str(out), "--workers", "2",
                        *(["--per-shape"] if per_shape else [])], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        outs[per_shape] = out.read_bytes()
        print(f"{'per-shape' if per_shape else 'vectorized'}: {rows:,} rows in {seconds:.1f} s = "
              f"{rows / seconds:,.0f} rows/s (load {load:.1f})", flush=True)
    print("identical CSV:", outs[False] == outs[True])
    print(f"vectorized path answered {vectorized_rows(path) / rows:.1%} of the rows")
