"""'As written': what a workload costs the way its file says it runs, priced from the catalog like everything else.

EC2 instances and node groups: the catalog's rate table (`advisor.catalog.rates`) for the type, region, OS and
tenancy, on-demand and Spot counts x hours a month (a dedicated instance adds the per-region fee line).
Kubernetes pods pinned to a node type: nodes = ceil(replicas / pods per node), pods per node from the type's
EKS allocatable vCPU and memory and max pods less the 2 system pods (the same facts EKS nodes use in the advice),
priced as if the pods had the nodes to themselves (said so). Fargate tasks and Lightsail bundles: through their
candidate generators (`advisor.candidates.containers`, `.lightsail`), so one rule prices both sides.
Anything that cannot be priced from the facts raises `NotPriced` with the reason: unknown, never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from advisor.candidates import costs, lightsail
from advisor.candidates.base import Context, Line
from advisor.candidates.containers import SYSTEM_PODS, fargate_generate
from advisor.candidates.regional import regional
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.inputs.model import AsWritten, Imported
from advisor.pricing import money
from models.workload import Service, Workload

# Lightsail's API bundle ids ("medium_3_0", "large_win_3_0"; API reference, Bundle.bundleId) name a size; the
# facts list each size's bundle by its memory (Lightsail bundles page: nano 0.5 GB ... 4xlarge 64 GB).
LIGHTSAIL_SIZE_GIB = {"nano": 0.5, "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
                      "4xlarge": 64}


class NotPriced(Exception):
    """The as-written cost cannot be computed from the facts (the reason says which fact or value is missing)."""


@dataclass(frozen=True)
class Current:
    """The as-written cost: its lines (each one's arithmetic), their sum, and what it prices."""

    description: str
    lines: tuple[Line, ...]

    @property
    def monthly_usd(self) -> float:
        return money(sum(money(line.monthly_usd) for line in self.lines))

    @property
    def estimate(self) -> bool:
        return any(line.estimate for line in self.lines)


def spec(catalog: Catalog, instance_type: str) -> dict:
    rows = catalog.specs.filter(pl.col("instance_type") == instance_type)
    if rows.is_empty():
        raise NotPriced(f"instance type {instance_type} is not in the catalog")
    return rows.row(0, named=True)


def lightsail_bundle(catalog: Catalog, bundle_id: str, os: str) -> dict:
    size = bundle_id.split("_")[0]
    gib = LIGHTSAIL_SIZE_GIB.get(size)
    kind_os = "windows" if "_win_" in bundle_id else os
    found = [b for b in catalog.facts.value("lightsail.bundles")
             if b["os"] == kind_os and b["kind"] == "general" and gib is not None and b["memory_gib"] == gib]
    if not found:
        raise NotPriced(f"Lightsail bundle {bundle_id} is not among the bundles the facts list")
    return found[0]


def sized(item: Imported, catalog: Catalog) -> dict:
    """The workload's fields, with vCPU and memory taken from what it runs on when the file says only that
    (an instance type or a Lightsail bundle): the need is taken to be what was provisioned."""
    fields = dict(item.fields)
    w = item.written
    if w is None or ("vcpu" in fields and "memory_gib" in fields):
        return fields
    if w.service in ("ec2", "eks_ec2") and w.instance_type:
        s = spec(catalog, w.instance_type)
        fields.update(vcpu=float(s["vcpu"]), memory_gib=float(s["memory_gib"]))
        fields.setdefault("arch", s["arch"])
        if s["gpus"]:
            fields.setdefault("gpus", int(s["gpus"]))
    elif w.service == "lightsail" and w.instance_type:
        b = lightsail_bundle(catalog, w.instance_type, fields.get("os", "linux"))
        fields.update(vcpu=float(b["vcpu"]), memory_gib=float(b["memory_gib"]))
    return fields


def price(written: AsWritten, workload: Workload, catalog: Catalog) -> Current:
    if written.service in ("ec2", "eks_ec2") and written.on_demand is None:
        return _packed(written, workload, catalog)
    if written.service in ("ec2", "eks_ec2"):
        return _instances(written, workload, catalog, written.on_demand or 0, written.spot)
    if written.service == "ecs_fargate":
        return _fargate(written, workload, catalog)
    if written.service == "lightsail":
        return _lightsail(written, workload, catalog)
    raise NotPriced(f"{written.service} as written is not priced (its load is not in the file)")


def _rate(catalog: Catalog, w: Workload, instance_type: str, option: str, tenancy: str) -> dict:
    table = rates.rate_table(catalog, w.region, w.os.value, tenancy)
    rows = table.filter((pl.col("instance_type") == instance_type) & (pl.col("purchase_option") == option)
                        & pl.col("term").is_null())
    if rows.is_empty():
        raise NotPriced(f"no {option} price for {instance_type} ({w.os.value}, {tenancy}) in {w.region}")
    return rows.row(0, named=True)


def _instances(written: AsWritten, w: Workload, catalog: Catalog, on_demand: int, spot: int) -> Current:
    if written.tenancy == "host":
        raise NotPriced("Dedicated Host tenancy as written depends on how instances are placed on hosts")
    itype, hours = written.instance_type or "", w.hours_per_month
    lines = []
    for option, count in (("on_demand", on_demand), ("spot", spot)):
        if count:
            r = _rate(catalog, w, itype, option, written.tenancy)
            word = "on-demand" if option == "on_demand" else "Spot"
            lines.append(Line(f"{itype} x{count} {word} ${r['usd_per_hour']:g}/h x {hours:g} h",
                              r["usd_per_hour"] * count * hours, r["quality"] == "estimate"))
    if written.tenancy == "dedicated":
        lines.append(costs.dedicated_fee_line(catalog, hours))
    return Current(written.describe(), tuple(lines))


def _packed(written: AsWritten, w: Workload, catalog: Catalog) -> Current:
    s = spec(catalog, written.instance_type or "")
    per_node = min(math.floor(s["eks_allocatable_vcpu"] / w.vcpu), math.floor(s["eks_allocatable_memory_gib"]
                                                                              / w.memory_gib),
                   int(s["eks_max_pods"]) - SYSTEM_PODS)
    if per_node < 1:
        raise NotPriced(f"one pod ({w.vcpu:g} vCPU / {w.memory_gib:g} GiB) does not fit a {written.instance_type} "
                        "node after its reservations")
    nodes = math.ceil(w.replicas / per_node)
    spot = written.market == "spot"
    current = _instances(written, w, catalog, 0 if spot else nodes, nodes if spot else 0)
    return Current(f"eks_ec2 {written.instance_type} x{nodes} {written.market} nodes ({per_node} pods per node; "
                   "as if the pods had the nodes to themselves)", current.lines)


def _fargate(written: AsWritten, w: Workload, catalog: Catalog) -> Current:
    """Per-task prices from the Fargate generator for the written size and architecture, on-demand and Spot."""
    shaped = Workload.model_validate({**w.model_dump(), "vcpu": written.task_vcpu,
                                      "memory_gib": written.task_memory_gib,
                                  "arch": written.arch or "x86_64", "interruptible": bool(written.spot),
                                  "allowed_services": None, "max_monthly_usd": None, "max_upfront_usd": None,
                                  "egress_gib_month": 0.0, "storage_gib": 0.0, "scratch_gib": 0.0,
                                      "requests_per_month": None, "avg_duration_ms": None})
    generated = fargate_generate(Service.ecs_fargate, shaped, Context(catalog))
    by_option = {c.purchase_option: c for c in generated.candidates}
    if not by_option:
        reasons = "; ".join(r.message for r in generated.rejections)
        raise NotPriced(f"the task size as written cannot be priced on Fargate: {reasons}")
    lines = []
    for option, count in (("on_demand", written.on_demand or 0), ("spot", written.spot)):
        if not count:
            continue
        candidate = by_option.get(option)
        if candidate is None:
            raise NotPriced(f"no Fargate {option} price for this task")
        size = candidate.config
        if (size["task_vcpu"], size["task_memory_gib"]) != (written.task_vcpu, written.task_memory_gib):
            raise NotPriced(f"{written.task_vcpu:g} vCPU / {written.task_memory_gib:g} GB is not a valid Fargate "
                            "task size")
        per_task = candidate.lines[0].monthly_usd / candidate.count
        word = "Fargate" if option == "on_demand" else "Fargate Spot"
        lines.append(Line(f"{word} task {written.task_vcpu:g} vCPU / {written.task_memory_gib:g} GB "
                          f"{size['arch']} x{count} at ${per_task:.4f}/task-month ({candidate.lines[0].item})",
                          per_task * count, candidate.lines[0].estimate))
    return Current(written.describe(), tuple(lines))


def _lightsail(written: AsWritten, w: Workload, catalog: Catalog) -> Current:
    bundle = lightsail_bundle(catalog, written.instance_type or "", w.os.value)
    rate = regional(catalog, "lightsail.overage_usd_per_gb", w.region)
    one = Workload.model_validate({**w.model_dump(), "replicas": written.on_demand or 1, "peak_replicas": None})
    candidate = lightsail.candidate(one, Context(catalog), bundle, rate)
    return Current(f"lightsail {written.instance_type} ({bundle['id']}) x{one.replicas}", candidate.lines)
