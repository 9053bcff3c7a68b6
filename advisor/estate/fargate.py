"""ECS and EKS on Fargate for many workloads: containers.fargate_generate's candidates as rows.

The rules are containers.py's, called per workload (each a few µs; the task size is remembered per
vCPU, memory and OS): no EBS on EKS Fargate, the ephemeral storage limits, the task size rounded up to
a valid Fargate size (`fargate_size`, EKS's pod memory overhead added first), the tasks and hours
(`_fargate_usage`: replicas x schedule, or one task per job slot), the architectures, the rates
(`_fargate_rates`: Windows adds its licence), Fargate Spot for interruptible, stateless Linux tasks on
ECS, and the lines every option shares (`_fargate_shared_lines`: ephemeral storage, EBS per ECS
task, data transfer out, public IPv4, a load balancer, the EKS control plane). The candidates are
expanded by priced.expand: on demand, Spot, and every Compute Savings Plan the facts price.
A fact a region lacks (FactMissing) drops the service for that workload, as the registry turns it
into that service's price_missing rejection.
"""

from __future__ import annotations

from functools import cache

from advisor.candidates import containers
from advisor.candidates.base import Context
from advisor.candidates.load import carrying
from advisor.candidates.regional import regional
from advisor.candidates.service_plans import compute_plan_rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.estate.gates import served
from advisor.estate.priced import Priced, empty, expand, plan_table, rounded_sum
from models.workload import Service, Workload

SERVICES = (Service.ecs_fargate, Service.eks_fargate)


def candidates(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Priced:
    """Every Fargate candidate of the workloads the hard rules leave ECS or EKS on Fargate for."""
    ctx = Context(catalog, include_free_tier=include_free_tier)
    size = cache(lambda vcpu, memory, os: containers.fargate_size(catalog, vcpu, memory, os))
    units: list[tuple] = []
    rates = Rates(catalog)
    for i, w in workloads.items():
        services = [s for s in SERVICES if s in served(w)]
        if not services:
            continue
        carried = carrying(w)
        for service in services:
            try:
                units += _units(i, service, carried, ctx, size, rates)
            except FactMissing:
                continue  # the registry's price_missing: no candidate of this service
    if not units:
        return Priced(empty())
    ratio = catalog.facts.get("fargate.compute_savings_plan_ratio")
    plans = plan_table({"fargate": compute_plan_rates(catalog, ratio.value)})
    return Priced(expand(units, plans))


class Rates:
    """The region's Fargate rates, looked up once per chunk (containers._fargate_rates and the Spot
    facts), and one priced unit: a task size on one architecture, as containers._fargate_candidates
    prices it (on demand: task rate x hours x tasks; Spot: the Spot rates, arm64's scaled by its
    on-demand ratio to x86; a Compute Savings Plan on the task rate)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.task: dict[tuple[str, str, str], tuple[float, float]] = {}
        self.spot: dict[str, tuple[float, ...]] = {}
        self.risk = f"{catalog.facts.value('spot.default_interruption_bucket')} (estimate)"

    def rates(self, w: Workload, arch: str) -> tuple[float, float]:
        key = (w.region, w.os.value, arch)
        if key not in self.task:
            self.task[key] = containers._fargate_rates(self.catalog, w, arch)[:2]
        return self.task[key]

    def spot_rates(self, region: str) -> tuple[float, ...]:
        if region not in self.spot:
            self.spot[region] = tuple(regional(self.catalog, key, region).value for key in (
                "fargate.spot_vcpu_usd_per_hour", "fargate.spot_gb_usd_per_hour", "fargate.vcpu_usd_per_hour_x86"))
        return self.spot[region]

    def unit(self, i: int, service: str, ops_effort: str, w: Workload, task: tuple[float, float], arch: str,
             tasks: int, hours: float, spot_ok: bool, fixed: float) -> tuple:
        """The unit's row (priced.UNIT_SCHEMA)."""
        vcpu_rate, gb_rate = self.rates(w, arch)
        task_rate = task[0] * vcpu_rate + task[1] * gb_rate
        spot = None
        if spot_ok:
            spot_vcpu, spot_gb, x86_vcpu = self.spot_rates(w.region)
            scale = vcpu_rate / x86_vcpu if arch == "arm64" else 1.0
            spot_rate = task[0] * spot_vcpu * scale + task[1] * spot_gb * scale
            spot = spot_rate * hours * tasks  # pricing.usage_cost
        return (i, service, ops_effort, float(task[0]), tasks, w.horizon_months, fixed, task_rate * hours * tasks,
                spot, self.risk if spot_ok else None, task_rate, tasks, "fargate")


def _units(i: int, service: Service, w: Workload, ctx: Context, size, rates: Rates) -> list[tuple]:
    """One unit per architecture (UNIT_SCHEMA rows), or none where a rule rejects the service."""
    catalog = ctx.catalog
    eks = service is Service.eks_fargate
    if eks and w.storage_gib > 0:
        return []  # no_block_storage
    max_scratch = catalog.facts.value("fargate.eks_ephemeral_max_gib" if eks else "fargate.ecs_ephemeral_max_gib")
    if w.scratch_gib > max_scratch:
        return []  # fargate_storage_exceeded
    overhead = catalog.facts.value("eks.fargate_pod_memory_overhead_mib") / 1024 if eks else 0.0
    task = size(w.vcpu, w.memory_gib + overhead, w.os.value)
    if task is None:
        return []  # fargate_size_exceeded
    tasks, hours = containers._fargate_usage(w)
    if isinstance(tasks, str):
        return []  # job_longer_than_deadline
    linux = w.os.value == "linux"
    spot_ok = w.interruptible and not w.stateful and linux and not eks
    arches = ["x86_64", "arm64"] if w.arch.value == "any" and linux else (
        ["x86_64"] if w.os.value == "windows" or w.arch.value == "x86_64" else ["arm64"])
    if eks:
        arches = [a for a in arches if a in catalog.facts.value("eks.fargate_architectures")]
    if w.os.value == "windows" and w.arch.value == "arm64":
        return []  # arch_unavailable
    fixed = rounded_sum(containers._fargate_shared_lines(ctx, w, tasks, hours, eks))
    return [rates.unit(i, service.value, containers.OPS[service], w, task, arch, tasks, hours, spot_ok, fixed)
            for arch in arches]
