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
    by_id = {w.id: w for w in portfolio.workloads}
    clusters = plan["shared"]["clusters"]
    in_cluster = {w for cluster in clusters for w in cluster["members"]}
    if c.max_monthly_usd is not None and totals["monthly_usd"] > c.max_monthly_usd + TOLERANCE_USD:
        problems.append(f"monthly ${totals['monthly_usd']} is over max_monthly_usd ${c.max_monthly_usd}")
    # Hosts and cluster nodes are shared: their upfront is counted per host and per node bought.
    for cluster in clusters:
        for field in ("monthly", "upfront"):
            summed = sum(g["count"] * g[f"{field}_usd_per_node"] for g in cluster["nodes"])
            if abs(summed - cluster[f"{field}_usd"]) > TOLERANCE_USD:
                problems.append(f"{cluster['id']}: node groups add to ${summed:.2f} {field}, "
                                f"not ${cluster[f'{field}_usd']}")
    upfront = round(sum(p["choice"]["upfront_usd"] for p in plan["placements"]
                        if p["choice"]["tenancy"] != "host" and p["workload_id"] not in in_cluster)
                    + sum(cluster["upfront_usd"] for cluster in clusters)
                    + sum(h["count"] * h["upfront_usd_per_host"] for h in plan["shared"]["hosts"]), 2)
    if abs(upfront - totals["upfront_usd"]) > TOLERANCE_USD:
        problems.append(f"upfront adds to {upfront}, not {totals['upfront_usd']}")
    if c.max_upfront_usd is not None and upfront > c.max_upfront_usd + TOLERANCE_USD:
        problems.append(f"upfront ${upfront} is over max_upfront_usd ${c.max_upfront_usd}")
    specs = {r["instance_type"]: r for r in catalog.specs.select("instance_type", "vcpu", "family").to_dicts()}
    total = spot = 0.0
    for p in plan["placements"]:
        choice = p["choice"]
        if p["workload_id"] in in_cluster:   # pods on shared nodes: the vCPU they request
            v = choice["config"].get("replicas", by_id[p["workload_id"]].replicas) * by_id[p["workload_id"]].vcpu
        elif choice["instance_type"] and choice["tenancy"] != "host" and choice["instance_type"] in specs:
            v = specs[choice["instance_type"]]["vcpu"] * choice["count"]
        else:
            v = choice["config"].get("task_vcpu", 0) * choice["count"]
        total += v
        spot += v if choice["purchase_option"] == "spot" else 0
    if c.max_spot_share is not None and total and spot / total > c.max_spot_share + 1e-9:
        problems.append(f"spot share {spot / total:.3f} is over max_spot_share {c.max_spot_share}")
    problems += _quotas(plan, portfolio, catalog, specs, in_cluster)
    fees = sum(f["monthly_usd"] for f in plan["shared"]["fees"])
    if abs(fees - totals["shared_fees_monthly_usd"]) > TOLERANCE_USD:
        problems.append("shared fees do not add up")
    return problems


STANDARD_FAMILIES = set("acdhimrtz")    # AWS's "Standard (A, C, D, H, I, M, R, T, Z) instances" quota
INSTANCE_SERVICES = {"ec2", "ecs_ec2", "eks_ec2", "beanstalk", "batch"}


def _quotas(plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog, specs: dict, in_cluster: set) -> list[str]:
    """vCPU of standard-family instances and cluster nodes per region, on-demand and Spot, within the quotas."""
    c = portfolio.constraints
    used: dict[tuple[str, str], float] = {}
    region_of = {w.id: w.region for w in portfolio.workloads}

    def count(region: str, instance_type: str, option: str, n: float) -> None:
        spec = specs.get(instance_type)
        if spec and str(spec["family"])[:1] in STANDARD_FAMILIES:
            kind = "spot" if option == "spot" else "on_demand"
            used[(region, kind)] = used.get((region, kind), 0.0) + spec["vcpu"] * n

    for p in plan["placements"]:
        choice = p["choice"]
        if (p["workload_id"] not in in_cluster and choice["service"] in INSTANCE_SERVICES and choice["instance_type"]
                and choice["tenancy"] != "host"):
            count(region_of[p["workload_id"]], choice["instance_type"], choice["purchase_option"], choice["count"])
    for cluster in plan["shared"]["clusters"]:
        for g in cluster["nodes"]:
            count(cluster["region"], g["instance_type"], g["purchase_option"], g["count"])
    problems = []
    for (region, kind), vcpu in sorted(used.items()):
        given = c.vcpu_quotas.get(region)
        quota = getattr(given, kind, None) if given else None
        if quota is None and kind == "on_demand" and c.default_quotas:
            quota = catalog.facts.value("quotas.on_demand_standard_default_vcpus")
        if quota is not None and vcpu > quota + 1e-6:
            problems.append(f"{region} {kind} standard vCPU {vcpu:g} is over the quota {quota:g}")
    return problems
