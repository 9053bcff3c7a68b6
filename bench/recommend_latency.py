"""Latency of one recommendation through the Python entry point, full catalog, warm process.

"cold" clears the frontier memo before every call (a workload never seen before); "repeat" asks the
same workload again (the memo answers the heavy part). Baseline in the same run: the same workloads
answered by brute force over every candidate without pruning. Target: median <= 50 ms (cold).

Run: python bench/recommend_latency.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from advisor.candidates.base import Context
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.registry import generate_all
from advisor.catalog.store import load_catalog
from advisor.recommend import recommend
from models.workload import Workload

WORKLOADS = [
    Workload(id="api", vcpu=2, memory_gib=8, replicas=3, horizon_months=36, egress_gib_month=200),
    Workload(id="batch", vcpu=4, memory_gib=16, jobs_per_month=3000, job_duration_minutes=15, deadline_hours=24,
             interruptible=True),
    Workload(id="fn", requests_per_month=5e7, avg_duration_ms=80, function_memory_mb=256),
    Workload(id="site", vcpu=1, memory_gib=1, cpu_utilization=0.05, storage_gib=20, egress_gib_month=5),
    Workload(id="gpu", vcpu=8, memory_gib=32, gpus=1, gpu_model="A10G", hours_per_month=300),
    Workload(id="win", vcpu=4, memory_gib=16, os="windows", replicas=2, byol=True),
    Workload(id="k8s", vcpu=0.5, memory_gib=1, replicas=20, orchestrator="kubernetes", interruptible=True),
]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    catalog = load_catalog()
    for w in WORKLOADS:  # warm the per-region rate tables once, as a long-running server would
        recommend(w, catalog=catalog)
    ctx = Context(catalog)
    print(f"catalog {catalog.version}; {len(WORKLOADS)} workloads x {args.repeat} runs")
    all_ours, all_brute, all_repeat = [], [], []

    def cold(w: Workload) -> None:
        FRONTIERS.__init__()
        recommend(w, catalog=catalog)

    for w in WORKLOADS:
        ours = timed(lambda w=w: cold(w), args.repeat)
        repeat = timed(lambda w=w: recommend(w, catalog=catalog), args.repeat)
        all_repeat += repeat
        brute = timed(lambda w=w: min(generate_all(w, ctx, exhaustive=True).candidates,
                                      key=lambda c: c.sort_key, default=None), max(2, args.repeat // 5))
        all_ours += ours
        all_brute += brute
        print(f"  {w.id:6s} recommend cold median {statistics.median(ours) * 1000:6.1f} ms, repeat "
              f"{statistics.median(repeat) * 1000:5.1f} ms | "
              f"brute force over every candidate {statistics.median(brute) * 1000:7.1f} ms")
    med = statistics.median(all_ours) * 1000
    p95 = sorted(all_ours)[int(0.95 * len(all_ours))] * 1000
    brute = statistics.median(all_brute) * 1000
    print(f"recommend, cold: median {med:.1f} ms, p95 {p95:.1f} ms (target median <= 50 ms); "
          f"repeat: median {statistics.median(all_repeat) * 1000:.1f} ms")
    print(f"brute force: median {brute:.1f} ms; ratio brute/recommend {brute / med:.1f}x")


if __name__ == "__main__":
    main()
