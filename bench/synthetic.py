"""Synthetic workload estates for benchmarks: CMDB-like rows drawn from standard profiles, some broken.

Real estates repeat themselves: an inventory export has one row per VM or service, drawn from a few
dozen standard sizes and policies, in a handful of regions and OSes. Rows here are drawn from such
palettes with skewed (Zipf-like) frequencies, seeded so every run writes the same file, with about
1 % broken rows of every kind the CSV path must report (wrong type, negative, unknown enum, empty
id, duplicate id, out-of-range hours). `team` and `cost_center` are pass-through columns.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HEADER = ["id", "team", "cost_center", "region", "os", "vcpu", "memory_gib", "replicas", "hours_per_month",
          "horizon_months", "cpu_utilization", "interruptible", "orchestrator", "requests_per_month",
          "avg_duration_ms", "jobs_per_month", "job_duration_minutes", "deadline_hours", "storage_gib",
          "egress_gib_month"]

# (vcpu, memory_gib, cpu_utilization, interruptible, storage_gib, egress_gib_month, extra)
PROFILES = [
    (v, m, u, i, s, e, x)
    for (v, m) in [(1, 2), (2, 4), (2, 8), (4, 8), (4, 16), (8, 32), (16, 64), (2, 16), (8, 64), (32, 128)]
    for (u, i, s, e, x) in [(1.0, "false", 50, 0, ""), (0.2, "false", 20, 50, ""), (1.0, "true", 0, 0, ""),
                            (1.0, "false", 100, 100, "ecs"), (1.0, "false", 0, 0, "kubernetes"),
                            (0.5, "false", 0, 20, "requests")]
]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def _zipf(rng: random.Random, n: int) -> int:
    """An index in [0, n) with probability proportional to 1 / (index + 1)."""
    weights = [1 / (k + 1) for k in range(n)]
    return rng.choices(range(n), weights)[0]


def row(rng: random.Random, i: int) -> dict:
    v, m, u, inter, s, e, extra = PROFILES[_zipf(rng, len(PROFILES))]
    r = {
        "id": f"wl-{i:07d}", "team": rng.choice(["payments", "search", "ml", "web", "data", "=SUM(A1)"]),
        "cost_center": f"cc-{rng.randint(100, 999)}",
        "region": REGIONS[_zipf(rng, 3)], "os": rng.choices(["linux", "windows", "rhel"], [16, 3, 1])[0],
        "vcpu": v, "memory_gib": m, "replicas": 1,
        "hours_per_month": rng.choices([730, 200], [9, 1])[0], "horizon_months": rng.choices([36, 12], [3, 1])[0],
        "cpu_utilization": u, "interruptible": inter, "orchestrator": "none",
        "requests_per_month": "", "avg_duration_ms": "", "jobs_per_month": "", "job_duration_minutes": "",
        "deadline_hours": "", "storage_gib": s, "egress_gib_month": e,
    }
    if extra in ("ecs", "kubernetes"):
        r.update(orchestrator=extra, replicas=3)
    elif extra == "requests":
        r.update(requests_per_month=3e6, avg_duration_ms=120)
    if i % 97 == 13:
        r.update(jobs_per_month=2000, job_duration_minutes=20, deadline_hours=12, interruptible="true")
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


DIVERSE_HEADER = [*HEADER, "arch", "tenancy", "packaging", "stateful", "scratch_gib", "allowed_services",
                  "max_monthly_usd", "capacity_guarantee"]
DIVERSE_REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
                   "ap-northeast-1", "sa-east-1"]


def diverse_row(rng: random.Random, i: int) -> dict:
    """A row as a CMDB or planning-tool export has them: measured sizes and hours, many teams' settings.

    vCPU and memory come from real VMs (fractional vCPU for containers, odd memory sizes), hours are
    measured to the hundredth, horizons to the month; OS, region, tenancy, packaging, orchestrator,
    request and job profiles, pinned services and budgets vary. Every row differs (continuous values).
    """
    vcpu = round(rng.lognormvariate(1.2, 0.9), 2)
    r = {
        "id": f"vm-{i:07d}", "team": f"team-{rng.randint(1, 400)}", "cost_center": f"cc-{rng.randint(100, 999)}",
        "region": rng.choice(DIVERSE_REGIONS),
        "os": rng.choices(["linux", "windows", "rhel", "suse"], [60, 15, 17, 8])[0],
        "vcpu": min(max(vcpu, 0.25), 96), "memory_gib": round(min(max(vcpu * rng.uniform(1.5, 9), 0.5), 700), 3),
        "replicas": rng.choices([1, 2, 3, 4, 6], [70, 12, 10, 5, 3])[0],
        "hours_per_month": round(rng.uniform(30, 730), 2) if rng.random() < 0.4 else 730,
        "horizon_months": rng.randint(1, 60), "cpu_utilization": round(rng.uniform(0.03, 1), 3),
        "interruptible": rng.choices(["false", "true"], [85, 15])[0], "orchestrator": "none",
        "requests_per_month": "", "avg_duration_ms": "", "jobs_per_month": "", "job_duration_minutes": "",
        "deadline_hours": "", "storage_gib": round(rng.uniform(0, 2000), 1), "egress_gib_month": round(
            rng.expovariate(1 / 200), 1) if rng.random() < 0.5 else 0,
        "arch": rng.choices(["any", "x86_64", "arm64"], [60, 35, 5])[0],
        "tenancy": rng.choices(["shared", "dedicated"], [95, 5])[0],
        "packaging": rng.choices(["any", "vm", "container"], [50, 35, 15])[0],
        "stateful": rng.choices(["false", "true"], [60, 40])[0], "scratch_gib": "", "allowed_services": "",
        "max_monthly_usd": "", "capacity_guarantee": rng.choices(["false", "true"], [95, 5])[0],
    }
    if r["packaging"] == "container":
        r["orchestrator"] = rng.choice(["none", "ecs", "kubernetes"])
    if rng.random() < 0.12:
        r["allowed_services"] = "ec2"
    if rng.random() < 0.1:
        r["scratch_gib"] = rng.choice([100, 400, 1900])
    if rng.random() < 0.05:
        r["max_monthly_usd"] = round(rng.uniform(50, 5000), 2)
    if rng.random() < 0.12 and r["os"] == "linux":
        r.update(requests_per_month=round(rng.uniform(1e5, 5e8)), avg_duration_ms=round(rng.uniform(5, 900), 1))
    elif rng.random() < 0.03 and r["os"] == "linux":
        r.update(jobs_per_month=rng.randint(10, 5000), job_duration_minutes=round(rng.uniform(1, 240), 1),
                 interruptible="true")
    return r


def write_diverse(path: Path, rows: int, seed: int = 18, broken_share: float = 0.01,
                  ec2_only: bool = False) -> Path:
    """`ec2_only`: the same rows pinned to plain EC2 (allowed_services=ec2, no request or job profile):
    the class of workload the vectorized path answers today."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=DIVERSE_HEADER)
        out.writeheader()
        for i in range(rows):
            r = diverse_row(rng, i)
            if ec2_only:
                r.update(allowed_services="ec2", tenancy="shared", requests_per_month="", avg_duration_ms="",
                         jobs_per_month="", job_duration_minutes="", deadline_hours="")
            if rng.random() < broken_share:
                field, value = rng.choice(BROKEN)
                r[field] = "vm-0000000" if value == "DUP" else value
            out.writerow(r)
    return path


if __name__ == "__main__":
    import sys

    print(write(Path(sys.argv[1]), int(sys.argv[2])))
