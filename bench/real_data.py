"""The advisor on real public workload data (read from ../shared/datasets, never copied).

* Azure Functions 2019 sample (500 functions, one day; vhive-serverless/invitro, Azure Public
  Dataset, CC-BY-4.0): each function becomes a request-shaped row, requests_per_month = the day's
  invocations x 30, avg_duration_ms = its average execution time, function_memory_mb = its app's
  average allocated memory. So that always-on services can compete, each row also carries the
  smallest replica that holds that memory (vCPU = memory / 1,769 MB, at least 0.25; memory rounded
  up to 0.5 GiB).
* Azure VM table V1 (2017; huaweicloud/trace_generation_rnn processed flavours and lifetimes,
  Azure Public Dataset, CC-BY-4.0): each VM becomes a row with its flavour's vCPU and memory; a VM
  that finished after L hours runs min(L, 730) hours a month for ceil(L / 730) months; a VM still
  running at the end of the trace is taken to live 12 months (an assumption: its lifetime is unknown).
  The rows are packaged as VMs (lift and shift): EC2 and Lightsail are the candidates.

Reported: the service mix chosen, the total against all on-demand EC2, and errors by reason.
Run: python bench/real_data.py [--datasets ../shared/datasets] [--vms 0 for all]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import polars as pl

from advisor.batch import Evaluator
from advisor.catalog.store import load_catalog

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def functions(root: Path) -> pl.DataFrame:
    folder = root / "azure_functions_2019_sample"
    inv = pl.read_csv(folder / "500_inv.csv")
    minutes = [c for c in inv.columns if c.endswith("_minute")]
    day = inv.select("HashFunction", "HashApp", invocations=pl.sum_horizontal(minutes))
    run = pl.read_csv(folder / "500_run.csv").select("HashFunction", avg_duration_ms=pl.col("Average"))
    mem = pl.read_csv(folder / "500_mem.csv").select("HashApp", memory_mb=pl.col("AverageAllocatedMb"))
    rows = (day.join(run, on="HashFunction", how="left").join(mem, on="HashApp", how="left")
            .filter(pl.col("invocations") > 0))
    memory_mb = pl.col("memory_mb").fill_null(128).clip(128, 10240).ceil()
    return rows.select(
        id=pl.lit("fn-") + pl.col("HashFunction").str.slice(0, 12),
        requests_per_month=(pl.col("invocations") * 30).cast(pl.String),
        avg_duration_ms=pl.col("avg_duration_ms").clip(1).cast(pl.String),
        function_memory_mb=memory_mb.cast(pl.Int64).cast(pl.String),
        vcpu=((memory_mb / 1769 / 0.25).ceil() * 0.25).clip(0.25).cast(pl.String),
        memory_gib=((memory_mb / 1024 / 0.5).ceil() * 0.5).cast(pl.String),
        horizon_months=pl.lit("12"),
    ).unique("id", keep="first", maintain_order=True)


def vms(root: Path, limit: int) -> pl.DataFrame:
    folder = root / "azure_vm_v1_flavors"
    flavours = {}
    for line in (folder / "flav_map.txt").read_text().split("\n"):
        if line.strip():
            size, letter = line.split()
            vcpu, gb = size.split(",")
            flavours[letter] = (float(vcpu), float(gb))
    bins: dict[int, list[int]] = {}
    for line in (folder / "v1.interval_map.txt").read_text().split("\n"):
        if line.strip():
            seconds, index = map(int, line.split())
            bins.setdefault(index, []).append(seconds)
    mid_hours = {k: (min(v) + max(v)) / 2 / 3600 for k, v in bins.items()}
    rows = []
    flav_lines = (folder / "v1.dev.txt").read_text().split("\n")
    dur_lines = (folder / "v1.dev.c2100000.txt").read_text().split("\n")
    for flav_line, dur_line in zip(flav_lines, dur_lines, strict=False):
        if not flav_line.strip():
            continue
        letters = [x for x in flav_line.split()[1].split(",") if x not in ("|", "")]
        durations = [x for x in dur_line.split()[1].split(",") if x not in ("|", "")]
        for letter, duration in zip(letters, durations, strict=False):
            vcpu, gb = flavours[letter]
            still_running = duration.startswith("C")
            hours = mid_hours[int(duration[1:])]
            lifetime_months = 12 if still_running else max(1, math.ceil(hours / 730))
            rows.append({"id": f"vm-{len(rows):06d}", "packaging": "vm", "vcpu": str(vcpu), "memory_gib": str(gb),
                         "hours_per_month": str(730 if still_running else round(min(max(hours, 1), 730), 1)),
                         "horizon_months": str(lifetime_months)})
            if limit and len(rows) >= limit:
                return pl.DataFrame(rows)
    return pl.DataFrame(rows)


def evaluate(name: str, frame: pl.DataFrame, workers: int) -> dict:
    start = time.perf_counter()
    with Evaluator(load_catalog(), workers=workers) as evaluator:
        for i in range(0, frame.height, 100_000):
            evaluator.evaluate(frame.slice(i, 100_000), i)
        summary = evaluator.summary.as_dict()
    seconds = time.perf_counter() - start
    print(f"\n{name}: {frame.height:,} rows in {seconds:.1f} s")
    for service, entry in summary["services"].items():
        print(f"  {service:12s} {entry['rows']:7,} rows  ${entry['monthly_usd']:>14,.2f}/month")
    print(f"  purchase options: {summary['purchase_options']}")
    base, total = summary["baseline_all_on_demand_monthly_usd"], summary["total_monthly_usd"]
    print(f"  total ${total:,.2f}/month; all on-demand EC2 baseline ${base:,.2f} for the rows that have one; "
          f"savings ${summary['savings_vs_baseline_usd']:,.2f}")
    if summary["errors_by_reason"]:
        print(f"  errors: {summary['errors_by_reason']}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=Path, default=DEFAULT)
    parser.add_argument("--vms", type=int, default=0, help="at most this many VM rows (0: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write both summaries here")
    args = parser.parse_args()
    out = {"azure_functions_2019": evaluate("Azure Functions 2019 sample (request-shaped)",
                                            functions(args.datasets), args.workers),
           "azure_vm_v1": evaluate("Azure VM table V1 flavours and lifetimes (VM rows)",
                                   vms(args.datasets, args.vms), args.workers)}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    print("\nSources: Azure Public Dataset (CC-BY-4.0) via vhive-serverless/invitro and "
          "huaweicloud/trace_generation_rnn; see ../shared/datasets/SOURCES.md.")


if __name__ == "__main__":
    main()
