"""Cluster packing on a real pod trace: Alibaba's openb GPU-cluster pod list (read from
../shared/datasets, never copied), packed onto one EKS cluster of on-demand EC2 nodes in us-east-1.

The trace: openb_pod_list_default.csv (alibaba/clusterdata cluster-trace-gpu-v2023, used by the
"Beware of Fragmentation" USENIX ATC'23 paper), 8,152 pods with their CPU (milli), memory (MiB) and
GPU requests. A pod becomes vcpu = cpu_milli / 1000, memory_gib = memory_mib / 1024 and gpus =
num_gpu. A pod sharing a GPU (gpu_milli < 1000, num_gpu 1) still takes one whole GPU: AWS nodes are
not shared at sub-GPU granularity here. gpu_spec is empty for every pod of the default list, so any
GPU model will do. Every pod is taken as running all month (730 hours): the trace's times are not
used; this is the cost of a cluster that holds all of them at once.

(a) the 1,088 CPU-only pods (25 shapes) on Karpenter's general-purpose node pool (`karpenter_pool`:
    c, m, r families, generation > 4, x86_64, no metal);
(b) all 8,152 pods (112 shapes): the same pool for the CPU-only pods, plus NVIDIA GPU nodes for the
    GPU pods: g4dn, g5, g6, g6e, gr6, p3, p3dn, p4d, p4de, p5 (x86_64, no metal; not g4ad, whose
    Radeon GPUs do not run CUDA, nor the Arm g5g, nor the retired-generation p2, g2, g3). CPU-only
    pods keep off GPU nodes (the usual GPU taint).

Each case runs, in the same process: `pack()` (the exact engine, 10 s budget), `ffd()` (Karpenter-
like first-fit-decreasing), `best_single_type()` (one type for every pod, FFD per type; in (b) no
single type can hold both CPU-only and GPU pods, so the best single type per part is also shown),
and the LP bound of the pattern formulation (column generation run to convergence, 60 s cap).
Ratios are to the best proven bound.

Run: python bench/packing_alibaba.py [--datasets ../shared/datasets] [--time-limit 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import polars as pl

from advisor.catalog.store import load_catalog
from advisor.portfolio.packing import (
    PackingResult,
    PodShape,
    best_single_type,
    ffd,
    karpenter_pool,
    lower_bound,
    node_types_for,
    pack,
    validate_packing,
)

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TRACE = Path("alibaba_gpu_v2023") / "openb_pod_list_default.csv"
GPU_FAMILIES = ("g4dn", "g5", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5")
REGION, OS, HOURS = "us-east-1", "linux", 730.0


def gpu_pool(row: dict) -> bool:
    return row["family"] in GPU_FAMILIES and row["arch"] == "x86_64" and not row["bare_metal"]


def with_gpus(row: dict) -> bool:
    return karpenter_pool(row) or gpu_pool(row)


def pods(root: Path) -> pl.DataFrame:
    return pl.read_csv(root / TRACE, columns=["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"])


def shapes_of(frame: pl.DataFrame) -> list[PodShape]:
    grouped = (frame.group_by("cpu_milli", "memory_mib", "num_gpu").len()
               .sort("num_gpu", "cpu_milli", "memory_mib"))
    return [PodShape(key=f"shape-{i}", vcpu=r["cpu_milli"] / 1000, memory_gib=r["memory_mib"] / 1024,
                     gpus=int(r["num_gpu"]), count=int(r["len"]))
            for i, r in enumerate(grouped.iter_rows(named=True))]


def row(name: str, result: PackingResult, bound: float) -> dict:
    feasible = result.status != "INFEASIBLE"
    return {"method": name, "status": result.status, "monthly_usd": result.monthly_usd if feasible else None,
            "nodes": result.nodes if feasible else None,
            "ratio_to_bound": result.monthly_usd / bound if feasible and bound > 0 else None,
            "seconds": round(result.seconds, 2), "reported_bound": result.lower_bound_usd,
            "types": sorted({g.instance_type for g in result.groups})}


def show(rows: list[dict]) -> None:
    print(f"  {'method':34s} {'status':10s} {'$/month':>15s} {'nodes':>6s} {'x bound':>8s} {'seconds':>8s}")
    for r in rows:
        cost = f"{r['monthly_usd']:,.2f}" if r["monthly_usd"] is not None else "-"
        ratio = f"{r['ratio_to_bound']:.4f}" if r["ratio_to_bound"] is not None else "-"
        nodes = f"{r['nodes']:,}" if r["nodes"] is not None else "-"
        print(f"  {r['method']:34s} {r['status']:10s} {cost:>15s} {nodes:>6s} {ratio:>8s} {r['seconds']:>8.2f}")


def case(name: str, shapes: list[PodShape], types, time_limit: float, parts: dict[str, list[PodShape]] | None):
    print(f"\n({name}) {sum(s.count for s in shapes):,} pods in {len(shapes)} shapes, {len(types)} node types")
    started = time.perf_counter()
    bound, patterns = lower_bound(shapes, types, 60.0)
    bound_seconds = time.perf_counter() - started
    results = {"pack": pack(shapes, types, time_limit_s=time_limit), "ffd": ffd(shapes, types),
               "best single type": best_single_type(shapes, types)}
    for key, result in results.items():
        problems = validate_packing(shapes, types, result)
        if problems and result.status != "INFEASIBLE":
            raise SystemExit(f"{key}: invalid packing: {problems[:5]}")
    best_bound = max(bound, results["pack"].lower_bound_usd)
    rows = [row(k, r, best_bound) for k, r in results.items()]
    if parts:
        singles = [best_single_type(p, types) for p in parts.values()]
        total = sum(r.monthly_usd for r in singles)
        rows.append({"method": "best single type per part", "status": "FEASIBLE", "monthly_usd": total,
                     "nodes": sum(r.nodes for r in singles), "ratio_to_bound": total / best_bound,
                     "seconds": round(sum(r.seconds for r in singles), 2), "reported_bound": 0.0,
                     "types": [t for r in singles for t in sorted({g.instance_type for g in r.groups})]})
    rows.append({"method": "LP bound (column generation)", "status": "BOUND", "monthly_usd": bound, "nodes": None,
                 "ratio_to_bound": bound / best_bound, "seconds": round(bound_seconds, 2),
                 "reported_bound": bound, "types": [], "patterns": len(patterns)})
    show(rows)
    p = results["pack"]
    f = results["ffd"]
    notes = "; " + "; ".join(p.notes) if p.notes else ""
    print(f"  pack: {p.status}, gap to its own bound {p.gap:.4%} ({p.method}){notes}")
    print(f"  ffd costs {f.monthly_usd / p.monthly_usd - 1:.1%} more than pack; pack uses "
          + ", ".join(f"{n} x {t}" for t, n in _by_type(p)))
    return rows


def _by_type(result: PackingResult) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for g in result.groups:
        counts[g.instance_type] = counts.get(g.instance_type, 0) + g.count
    return sorted(counts.items(), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    catalog = load_catalog()
    frame = pods(args.datasets)
    gpu = frame.filter(pl.col("num_gpu") > 0)
    shared = gpu.filter(pl.col("gpu_milli") < 1000).height
    print(f"trace: {frame.height:,} pods; {frame.height - gpu.height:,} CPU-only; {gpu.height:,} with GPUs, "
          f"{shared:,} of them asking for a fraction of one GPU (each given a whole GPU); "
          f"{gpu.filter(pl.col('gpu_spec').is_not_null()).height} name a GPU model")
    print(f"cores: {os.cpu_count()}; prices: on-demand {REGION} {OS} x {HOURS:g} h, catalog {catalog.version}")
    out = {}
    cpu_types = node_types_for(catalog, REGION, OS, service="eks_ec2", hours=HOURS, pool=karpenter_pool)
    cpu_shapes = shapes_of(frame.filter(pl.col("num_gpu") == 0))
    out["a"] = case("a: CPU-only pods, Karpenter pool", cpu_shapes, cpu_types, args.time_limit, None)
    all_types = node_types_for(catalog, REGION, OS, service="eks_ec2", hours=HOURS, pool=with_gpus)
    all_shapes = shapes_of(frame)
    parts = {"cpu": [s for s in all_shapes if s.gpus == 0], "gpu": [s for s in all_shapes if s.gpus > 0]}
    out["b"] = case("b: all pods, Karpenter pool + NVIDIA GPU families", all_shapes, all_types, args.time_limit,
                    parts)
    print("\nSource: alibaba/clusterdata cluster-trace-gpu-v2023 (openb_pod_list_default.csv), via "
          "hkust-adsl/kubernetes-scheduler-simulator; Weng et al., USENIX ATC 2023.")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
