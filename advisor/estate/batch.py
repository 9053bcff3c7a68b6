"""AWS Batch in the vectorized path: its FARGATE and FARGATE_SPOT environments.

Batch has candidates only for a job profile (else batch.generate's only answer is no_job_profile,
so a workload without jobs is answered here with no Batch candidate). For jobs it has two kinds of
compute environment. Its FARGATE environments run one task per job, billed for at least the minimum
(batch._fargate's rules: the job plan, `fargate_size` without EKS's overhead, the billed hours spread
over the slots the deadline needs, the Fargate shared lines, both architectures for `arch: any`),
priced here as ECS on Fargate is (estate/fargate.py's rates, priced.expand). Its EC2 and SPOT
environments pack job replicas onto node types (containers.node_generate, shared_nodes=False): those
rows come from estate/nodes.py, with the options batch.generate passes (`ec2_environment_options`).
"""

from __future__ import annotations

from functools import cache

from advisor.candidates import containers, jobs
from advisor.candidates.base import Context
from advisor.candidates.batch import FARGATE_ENVIRONMENT
from advisor.candidates.load import carrying
from advisor.candidates.service_plans import compute_plan_rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.estate.fargate import Rates
from advisor.estate.gates import served
from advisor.estate.priced import Priced, empty, expand, plan_table, rounded_sum
from models.workload import Service, Workload

SERVICE = Service.batch
OPS_EFFORT = "low"  # batch.generate's, for every environment (its node rows too: estate/nodes.py)
ARCHES = {"any": ["x86_64", "arm64"], "x86_64": ["x86_64"], "arm64": ["arm64"]}  # batch._fargate's


def candidates(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Priced:
    """The FARGATE and FARGATE_SPOT environments' candidates of the job-shaped workloads Batch is served for."""
    ctx = Context(catalog, include_free_tier=include_free_tier)
    size = cache(lambda vcpu, memory, os: containers.fargate_size(catalog, vcpu, memory, os))
    rates = Rates(catalog)
    units: list[tuple] = []
    missing: set[int] = set()
    for i, w in workloads.items():
        if SERVICE not in served(w) or not w.job_shaped or w.gpus > 0:
            continue
        try:
            units += _units(i, carrying(w), ctx, size, rates)
        except FactMissing:  # the registry drops all of Batch (price_missing), its EC2 environments too
            missing.add(i)
    if not units:
        return Priced(empty(), missing)
    ratio = catalog.facts.get("fargate.compute_savings_plan_ratio")
    got = expand(units, plan_table({"fargate": compute_plan_rates(catalog, ratio.value)}))
    return Priced(got.filter(got["purchase_option"].is_in(list(FARGATE_ENVIRONMENT))), missing)


def _units(i: int, w: Workload, ctx: Context, size, rates: Rates) -> list[tuple]:
    plan = jobs.plan(w)
    if isinstance(plan, str):
        return []  # job_longer_than_deadline
    task = size(w.vcpu, w.memory_gib, w.os.value)
    if task is None:
        return []  # fargate_size_exceeded
    minimum = ctx.catalog.facts.value("fargate.minimum_billing_seconds") / 3600.0
    billed_hours = plan.jobs * max(plan.duration_hours, minimum)
    slots = max(plan.concurrency, 1)
    hours = billed_hours / slots
    spot_ok = w.interruptible and not w.stateful
    fixed = rounded_sum(containers._fargate_shared_lines(ctx, w, slots, hours, eks=False))
    return [rates.unit(i, SERVICE.value, OPS_EFFORT, w, task, arch, slots, hours, spot_ok, fixed)
            for arch in ARCHES[w.arch.value]]
