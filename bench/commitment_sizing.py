"""Commitment sizing on a real hourly usage curve: the exact optimum against all on-demand and
against committing at the mean (and at the peak).

The curve: concurrent vCPUs per hour of the Azure VM table V1 sample (huaweicloud/trace_generation_rnn
processed flavours and lifetimes, Azure Public Dataset, CC-BY-4.0), from each VM's arrival bin and
lifetime bin (VMs still running at the end of the trace run to its end). Rates: m5 on-demand per
vCPU-hour ($0.096 / 2 vCPU, list price) and the 1-year no-upfront EC2 Instance Savings Plan ratio
from data/facts (an estimate), so the figures are per vCPU of m5-class capacity.

Run: python bench/commitment_sizing.py [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from advisor.catalog.store import load_catalog
from advisor.portfolio.commitments import cost_at, quantile_level, size

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def usage_curve(root: Path) -> np.ndarray:
    folder = root / "azure_vm_v1_flavors"
    flavours = {}
    for line in (folder / "flav_map.txt").read_text().split("\n"):
        if line.strip():
            size_text, letter = line.split()
            flavours[letter] = float(size_text.split(",")[0])
    bins: dict[int, list[int]] = {}
    for line in (folder / "v1.interval_map.txt").read_text().split("\n"):
        if line.strip():
            seconds, index = map(int, line.split())
            bins.setdefault(index, []).append(seconds)
    mid = {k: (min(v) + max(v)) / 2 for k, v in bins.items()}
    starts, ends, cpus = [], [], []
    flav_lines = (folder / "v1.dev.txt").read_text().split("\n")
    dur_lines = (folder / "v1.dev.c2100000.txt").read_text().split("\n")
    first = None
    for flav_line, dur_line in zip(flav_lines, dur_lines, strict=False):
        if not flav_line.strip():
            continue
        stamp = int(flav_line.split()[0])
        first = stamp if first is None else first
        letters = [x for x in flav_line.split()[1].split(",") if x not in ("|", "")]
        durations = [x for x in dur_line.split()[1].split(",") if x not in ("|", "")]
        for letter, duration in zip(letters, durations, strict=False):
            start = (stamp - first) / 3600
            end = float("inf") if duration.startswith("C") else start + mid[int(duration[1:])] / 3600
            starts.append(start)
            ends.append(end)
            cpus.append(flavours[letter])
    horizon = int(np.ceil(max(starts))) + 1
    curve = np.zeros(horizon + 1)
    s = np.floor(np.array(starts)).astype(int)
    e = np.minimum(np.ceil(np.array(ends)), horizon).astype(int)
    np.add.at(curve, s, cpus)
    np.add.at(curve, e, -np.array(cpus))
    return np.cumsum(curve)[:horizon]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=Path, default=DEFAULT)
    args = parser.parse_args()
    catalog = load_catalog()
    ratio = next(r for r in catalog.facts.value("savings_plans.ratios")
                 if r.get("plan", r.get("plan_type")) == "ec2_instance" and r["term"] == "1yr"
                 and r["payment"].lower().startswith("no"))["hourly_ratio"]
    on_demand = 0.096 / 2
    committed = on_demand * ratio
    u = usage_curve(args.datasets)
    start = time.perf_counter()
    best = size(u, committed, on_demand)
    seconds = time.perf_counter() - start
    mean_level = float(np.round(u.mean()))
    at_mean = cost_at(u, mean_level, committed, on_demand)
    at_peak = cost_at(u, float(u.max()), committed, on_demand)
    print(f"usage curve: {u.size} hours, concurrent vCPUs min {u.min():,.0f}, mean {u.mean():,.0f}, "
          f"max {u.max():,.0f}")
    print(f"rates: on-demand ${on_demand:.4f}/vCPU-h, committed ${committed:.4f}/vCPU-h (ratio {ratio}, estimate)")
    quantile = quantile_level(u, committed, on_demand)
    print(f"optimal commitment: {best.level:,.0f} vCPU (the (1 - r/p) quantile: {quantile:,.0f}), "
          f"utilisation {best.utilisation:.1%}, found in {seconds * 1000:.1f} ms")
    print(f"cost over the curve: optimal ${best.cost:,.0f}; all on-demand ${best.on_demand_cost:,.0f} "
          f"(optimal saves {best.savings / best.on_demand_cost:.1%}); commit at the mean ({mean_level:,.0f}) "
          f"${at_mean:,.0f} (optimal is {1 - best.cost / at_mean:.1%} cheaper); commit at the peak ${at_peak:,.0f}")


if __name__ == "__main__":
    main()
