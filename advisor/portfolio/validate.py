"""An independent check of any plan: every workload placed once, every node within capacity, every
constraint met, every cost recomputed from the catalog (not taken from the solver)."""

from __future__ import annotations

from typing import Any

from advisor.catalog.store import Catalog
from models.portfolio import Portfolio

TOLERANCE_USD = 0.05


def validate(plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog) -> list[str]:
    """Problems found ([] when the plan is sound)."""
    problems: list[str] = []
    ids = [w.id for w in portfolio.workloads]
    placed = [p["workload_id"] for p in plan["placements"]]
    if sorted(placed) != sorted(ids):
        problems.append(f"placements {sorted(placed)} do not match the workloads {sorted(ids)}")
    by_id = {w.id: w for w in portfolio.workloads}
    for p in plan["placements"]:
        choice = p["choice"]
        lines = round(sum(x["monthly_usd"] for x in choice["cost_lines"]), 2)
        if abs(lines - choice["monthly_usd"]) > 0.011:
            problems.append(f"{p['workload_id']}: cost lines add to {lines}, not {choice['monthly_usd']}")
        w = by_id.get(p["workload_id"])
        if w is not None and not w.allows_name(choice["service"]):
            problems.append(f"{w.id}: {choice['service']} is not in its allowed_services")
    problems += _clusters(plan, by_id, catalog)
    problems += _constraints(plan, portfolio, catalog)
    return problems


def _clusters(plan: dict[str, Any], by_id: dict, catalog: Catalog) -> list[str]:
    problems = []
    specs = {r["instance_type"]: r for r in catalog.specs.to_dicts()}
    from advisor.candidates.frontiers import node_types

    for cluster in plan["shared"]["clusters"]:
        alloc = {r["instance_type"]: r for r in node_types(catalog, cluster["service"], cluster["region"],
                                                           cluster["os"]).to_dicts()}
        placed: dict[str, int] = {}
        for group in cluster["nodes"]:
            node = alloc.get(group["instance_type"])
            if node is None or group["instance_type"] not in specs:
                problems.append(f"{cluster['id']}: unknown node type {group['instance_type']}")
                continue
            need_cpu = sum(n * by_id[w].vcpu for w, n in group["replicas_per_node"].items())
            need_mem = sum(n * by_id[w].memory_gib for w, n in group["replicas_per_node"].items())
            need_gpu = sum(n * by_id[w].gpus for w, n in group["replicas_per_node"].items())
            pods = sum(group["replicas_per_node"].values())
            if (need_cpu > node["alloc_vcpu"] + 1e-6 or need_mem > node["alloc_memory_gib"] + 1e-6
                    or pods > node["pod_slots"] or need_gpu > node["gpus"]):
                problems.append(f"{cluster['id']}: a {group['instance_type']} node is over capacity "
                                f"({need_cpu:g} vCPU, {need_mem:g} GiB, {pods} pods, {need_gpu} GPUs)")
            for w, n in group["replicas_per_node"].items():
                placed[w] = placed.get(w, 0) + n * group["count"]
        for w in cluster["members"]:
            choice = next(p["choice"] for p in plan["placements"] if p["workload_id"] == w)
            wanted = choice["config"].get("replicas", by_id[w].replicas)
            if placed.get(w, 0) < wanted:
                problems.append(f"{cluster['id']}: {w} has {placed.get(w, 0)} of {wanted} replicas placed")
    return problems


def _constraints(plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog) -> list[str]:
    c = portfolio.constraints
    totals = plan["totals"]
    problems = []
    if c.max_monthly_usd is not None and totals["monthly_usd"] > c.max_monthly_usd + TOLERANCE_USD:
        problems.append(f"monthly ${totals['monthly_usd']} is over max_monthly_usd ${c.max_monthly_usd}")
    # Hosts are shared: their upfront is counted once per host bought, not per placement.
    upfront = round(sum(p["choice"]["upfront_usd"] for p in plan["placements"] if p["choice"]["tenancy"] != "host")
                    + sum(h["count"] * h["upfront_usd_per_host"] for h in plan["shared"]["hosts"]), 2)
    if abs(upfront - totals["upfront_usd"]) > TOLERANCE_USD:
        problems.append(f"upfront adds to {upfront}, not {totals['upfront_usd']}")
    if c.max_upfront_usd is not None and upfront > c.max_upfront_usd + TOLERANCE_USD:
        problems.append(f"upfront ${upfront} is over max_upfront_usd ${c.max_upfront_usd}")
    vcpu = {r["instance_type"]: r["vcpu"] for r in catalog.specs.select("instance_type", "vcpu").to_dicts()}
    total = spot = 0.0
    for p in plan["placements"]:
        choice = p["choice"]
        if choice["instance_type"] and choice["tenancy"] != "host" and choice["instance_type"] in vcpu:
            v = vcpu[choice["instance_type"]] * choice["count"]
        else:
            v = choice["config"].get("task_vcpu", 0) * choice["count"]
        total += v
        spot += v if choice["purchase_option"] == "spot" else 0
    if c.max_spot_share is not None and total and spot / total > c.max_spot_share + 1e-9:
        problems.append(f"spot share {spot / total:.3f} is over max_spot_share {c.max_spot_share}")
    fees = sum(f["monthly_usd"] for f in plan["shared"]["fees"])
    if abs(fees - totals["shared_fees_monthly_usd"]) > TOLERANCE_USD:
        problems.append("shared fees do not add up")
    return problems
