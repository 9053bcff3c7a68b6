"""AWS Batch: a month's jobs on compute environments EC2, SPOT, FARGATE and FARGATE_SPOT.

Batch adds no fee: the cost is the instances or Fargate tasks it runs, only while jobs run. EC2 and
SPOT environments pack job replicas onto one node type and run as many nodes as the deadline needs,
for whole waves of jobs; Fargate environments run one task per job, billed for its run time (one
minute at least). Commitments AWS sells for that usage are priced too: Savings Plans (Compute, and EC2
Instance for EC2 environments) and regional Reserved Instances, each paid every hour of its term
although Batch scales to zero between runs (so they win only when the jobs keep the nodes busy).
"""

from __future__ import annotations

import dataclasses

from advisor.candidates import jobs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Context, Generated
from advisor.candidates.containers import (
    _fargate_candidates,
    _fargate_shared_lines,
    fargate_size,
    node_generate,
)
from advisor.candidates.frontiers import OptionRules
from models.workload import Service, Workload

SERVICE = Service.batch
EC2_ENVIRONMENT = {"on_demand": "EC2", "spot": "SPOT", "savings_plan": "EC2", "reserved": "EC2"}
FARGATE_ENVIRONMENT = {"on_demand": "FARGATE", "spot": "FARGATE_SPOT", "savings_plan": "FARGATE"}


def generate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    g = Generated()
    name = SERVICE.value
    if (rejection := gate(SERVICE, w)) is not None:
        return g.reject(rejection.service, rejection.option, rejection.reason, rejection.message)
    if not w.job_shaped:
        return g.reject(name, None, "no_job_profile",
                        "Batch runs jobs: give jobs_per_month and job_duration_minutes to compare it")
    plan = jobs.plan(w)
    if isinstance(plan, str):
        return g.reject(name, None, "job_longer_than_deadline", plan)
    options = ec2_environment_options(w)
    spot_ok = options.spot
    if not spot_ok:
        g.reject(name, "spot", "spot_needs_interruptible" if not w.interruptible else "spot_stateful",
                 "SPOT and FARGATE_SPOT environments can stop jobs with a 2-minute notice; "
                 "set interruptible=true (and stateful=false) to use them")
    # Batch runs its compute environment's instances itself: no other workload's pods share them
    nodes = node_generate(SERVICE, w, ctx, exhaustive=exhaustive, options=options, ops_effort="low",
                          shared_nodes=False)
    g.rejections.extend(nodes.rejections)
    g.candidates.extend(_environment(c, EC2_ENVIRONMENT) for c in nodes.candidates)
    g.extend(_fargate(w, ctx, plan, spot_ok))
    return g


def ec2_environment_options(w: Workload) -> OptionRules:
    """The EC2 and SPOT environments' options: on-demand or Spot (interruptible, stateless jobs), and the
    commitments that cover any EC2 usage (Compute and EC2 Instance Savings Plans, regional Reserved
    Instances), paid every hour of their term; no Capacity Reservations."""
    return OptionRules(spot=w.interruptible and not w.stateful, no_capacity_reservation=True)


def _fargate(w: Workload, ctx: Context, plan: jobs.JobPlan, spot_ok: bool) -> Generated:
    g = Generated()
    if w.gpus > 0:
        return g.reject(SERVICE.value, "fargate", "gpu_unsupported", "FARGATE environments have no GPUs")
    size = fargate_size(ctx.catalog, w.vcpu, w.memory_gib, w.os.value)
    if size is None:
        return g.reject(SERVICE.value, "fargate", "fargate_size_exceeded",
                        f"{w.vcpu:g} vCPU / {w.memory_gib:g} GiB is over the largest Fargate size")
    minimum = ctx.catalog.facts.value("fargate.minimum_billing_seconds") / 3600.0
    billed_hours = plan.jobs * max(plan.duration_hours, minimum)
    slots = max(plan.concurrency, 1)
    hours = billed_hours / slots
    shared = _fargate_shared_lines(ctx, w, slots, hours, eks=False)
    arches = {"any": ["x86_64", "arm64"], "x86_64": ["x86_64"], "arm64": ["arm64"]}[w.arch.value]
    for arch in arches:
        for cand in _fargate_candidates(ctx, w, Service.ecs_fargate, size, arch, slots, hours, spot_ok, shared):
            if cand.purchase_option in FARGATE_ENVIRONMENT:
                g.candidates.append(_environment(dataclasses.replace(
                    cand, service=SERVICE.value, ops_effort="low"), FARGATE_ENVIRONMENT))
    return g


def _environment(c: Candidate, names: dict[str, str]) -> Candidate:
    return dataclasses.replace(c, config={**c.config, "compute_environment": names[c.purchase_option]})
