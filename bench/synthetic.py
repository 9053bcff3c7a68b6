"""Synthetic workload estates for benchmarks: CMDB-like rows drawn from standard profiles, some broken.

Real estates repeat themselves: a few dozen t-shirt sizes, a handful of regions, OSes and policies.
Rows here are drawn from such palettes (seeded, so every run writes the same file), with about 1 %
broken rows of every kind the CSV path must report (wrong type, negative, unknown enum, empty id,
duplicate id, out-of-range hours).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SIZES = [(0.5, 1), (1, 2), (1, 4), (2, 4), (2, 8), (2, 16), (4, 8), (4, 16), (4, 32), (8, 16), (8, 32), (8, 64),
         (16, 64), (16, 128), (32, 128), (48, 192), (64, 256)]
HEADER = ["id", "team", "region", "os", "arch", "vcpu", "memory_gib", "gpus", "replicas", "hours_per_month",
          "horizon_months", "cpu_utilization", "interruptible", "stateful", "orchestrator", "requests_per_month",
          "avg_duration_ms", "jobs_per_month", "job_duration_minutes", "deadline_hours", "storage_gib",
          "egress_gib_month", "tenancy", "capacity_guarantee"]


def row(rng: random.Random, i: int) -> dict:
    vcpu, mem = rng.choice(SIZES)
    r = {
        "id": f"wl-{i:07d}", "team": rng.choice(["payments", "search", "ml", "web", "data", "=SUM(A1)"]),
        "region": rng.choices(["us-east-1", "eu-west-1", "ap-southeast-2"], [7, 2, 1])[0],
        "os": rng.choices(["linux", "windows", "rhel"], [16, 3, 1])[0], "arch": "any",
        "vcpu": vcpu, "memory_gib": mem, "gpus": 0,
        "replicas": rng.choice([1, 1, 2, 3, 4, 6]),
        "hours_per_month": rng.choices([730, 200], [4, 1])[0],
        "horizon_months": rng.choice([12, 36]),
        "cpu_utilization": rng.choices([1.0, 0.2], [4, 1])[0],
        "interruptible": rng.choices(["false", "true"], [4, 1])[0],
        "stateful": "false", "orchestrator": "none",
        "requests_per_month": "", "avg_duration_ms": "", "jobs_per_month": "", "job_duration_minutes": "",
        "deadline_hours": "", "storage_gib": rng.choice([0, 20, 100]), "egress_gib_month": rng.choice([0, 50]),
        "tenancy": rng.choices(["shared", "dedicated"], [40, 1])[0], "capacity_guarantee": "false",
    }
    kind = rng.random()
    if kind < 0.08:
        r.update(requests_per_month=rng.choice([1e5, 3e6, 5e7]), avg_duration_ms=rng.choice([50, 200, 1000]))
    elif kind < 0.12:
        r.update(jobs_per_month=rng.choice([100, 2000]), job_duration_minutes=rng.choice([10, 60]),
                 deadline_hours=rng.choice([12, 48]))
    elif kind < 0.16:
        r.update(orchestrator=rng.choice(["ecs", "kubernetes"]))
    return r


BROKEN = [("vcpu", "abc"), ("vcpu", "-2"), ("os", "plan9"), ("id", ""), ("id", "DUP"), ("hours_per_month", "800")]


def write(path: Path, rows: int, seed: int = 7, broken_share: float = 0.01) -> Path:
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=HEADER)
        out.writeheader()
        for i in range(rows):
            r = row(rng, i)
            if rng.random() < broken_share:
                field, value = rng.choice(BROKEN)
                r[field] = "wl-0000000" if value == "DUP" else value
            out.writerow(r)
    return path


if __name__ == "__main__":
    import sys

    print(write(Path(sys.argv[1]), int(sys.argv[2])))
