"""Catalog load time: cold (compile from libcloud + data/) versus warm (Parquet cache), all regions and OS.

Run: python bench/catalog_load.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = "import time; t=time.perf_counter(); from advisor.catalog.store import load_catalog; " \
        "c=load_catalog(); print(time.perf_counter()-t, c.on_demand.height, c.version)"


def _run(home: str) -> tuple[float, int, str]:
    env = dict(os.environ, ADVISOR_HOME=home)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    seconds, rows, version = out.stdout.split()
    return float(seconds), int(rows), version


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        cold, rows, version = _run(home)
        warm = [_run(home)[0] for _ in range(args.repeat)]
    median = statistics.median(warm)
    print(f"catalog {version}: {rows} on-demand prices (all regions, 4 OS)")
    print(f"cold load (compile + write cache): {cold * 1000:.0f} ms")
    print(f"warm load (Parquet cache), median of {args.repeat}: {median * 1000:.0f} ms (target < 1000 ms)")
    print(f"cold / warm ratio: {cold / median:.1f}x")


if __name__ == "__main__":
    main()
