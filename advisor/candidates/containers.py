"""Containers: ECS and EKS on EC2 nodes (replicas packed onto one node type), and on Fargate.

Nodes: replicas per node = the fewest of allocatable vCPU / replica vCPU, allocatable memory /
replica memory, pods the node may run, and node GPUs / replica GPUs. EKS nodes keep the kubelet's
reservations (AL2 bootstrap: 11 MiB x max pods + 255 MiB, the CPU steps, 100 MiB eviction) and
VPC CNI prefix delegation's max pods (110 up to 30 vCPU, 250 above); ECS nodes are counted whole.
Burstable types are not used as nodes (their CPU credits are shared by unrelated replicas).

Fargate: each replica is a task sized up to a valid Fargate size (EKS adds 256 MiB first); Fargate
Spot where the workload is interruptible; a Compute Savings Plan where the facts price one.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from advisor.candidates import costs, jobs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Compute, Context, Generated, Line, RunsOn
from advisor.candidates.ec2 import _reject_options, allowed_options, to_candidates
from advisor.candidates.frontiers import NodeSpec, OptionRules, node_frontiers
from advisor.candidates.instances import (
    filter_steps,
    node_fit_steps,
    offered,
)
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.regional import regional
from advisor.candidates.service_plans import compute_plan_rates
from advisor.candidates.spread import max_per_node
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, commitment_cost, money, usage_cost
from models.workload import Service, Workload

OPS = {Service.ecs_ec2: "medium", Service.eks_ec2: "high", Service.ecs_fargate: "low", Service.eks_fargate: "medium"}
SYSTEM_PODS = 2  # aws-node and kube-proxy run on every EKS node (host network)


# ----------------------------------------------------------------------------- EC2 nodes
def node_generate(service: Service, w: Workload, ctx: Context, *, exhaustive: bool = False,
                  options: OptionRules | None = None, ops_effort: str | None = None,
                  shared_nodes: bool = True) -> Generated:
    """Replicas packed onto each fitting node type, x purchase options (`options`, default: what `w` allows);
    `shared_nodes`: other workloads' pods may share the nodes (an ECS/EKS node group)."""
    g = Generated()
    name = service.value
    if (rejection := gate(service, w)) is not None:
        return g.reject(rejection.service, rejection.option, rejection.reason, rejection.message)
    spec = node_spec(service, w, options, exhaustive)
    if isinstance(spec, str):
        return g.reject(name, None, "job_longer_than_deadline", spec)
    if options is None:
        _reject_options(w, g, name)
    rows = _node_rows(ctx, spec)
    if rows is not EMPTY and rows.is_empty() and not spec.previous_generation:
        # No current-generation node type fits: previous-generation types are the only way to run it.
        spec = dataclasses.replace(spec, previous_generation=True)
        rows = _node_rows(ctx, spec)
    if rows is EMPTY:
        return g
    if rows.is_empty():
        return g.reject(name, None, *_why_no_node(ctx, w))
    extra = _control_plane(ctx.catalog, w) if service is Service.eks_ec2 else []
    config = {"replicas": spec.units}
    if costs.needs_load_balancer(w, spec.units):
        extra = [*extra, *costs.load_balancer_lines(ctx.catalog, w)]
        config["load_balancer"] = "alb"
    g.candidates.extend(to_candidates(ctx, w, rows, name, 0.0, ops_effort=ops_effort or OPS[service],
                                      extra_lines=extra, config=config, shared_nodes=shared_nodes))
    return g


def _node_rows(ctx: Context, spec: NodeSpec) -> pl.DataFrame:
    return FRONTIERS.get(("nodes", ctx.catalog.version, spec),
                         lambda: node_frontiers(ctx.catalog, [spec])[spec], placeholder=EMPTY)


def node_spec(service: Service, w: Workload, options: OptionRules | None, exhaustive: bool) -> NodeSpec | str:
    """Everything a node frontier depends on; a string when the jobs cannot meet their deadline."""
    job_plan = jobs.plan(w) if w.job_shaped else None
    if isinstance(job_plan, str):
        return job_plan
    units = max(job_plan.concurrency, 1) if job_plan else w.replicas
    return NodeSpec(
        service=service.value, region=w.region, os=w.os.value,
        arch=w.arch.value, tenancy="dedicated" if w.tenancy.value == "dedicated" else "shared", vcpu=w.vcpu,
        memory_gib=w.memory_gib, gpus=w.gpus, gpu_model=w.gpu_model, units=units, replicas=w.replicas,
        hours=w.hours_per_month, jobs=job_plan.jobs if job_plan else None,
        job_hours=job_plan.duration_hours if job_plan else None, scratch_gib=w.scratch_gib,
        horizon=w.horizon_months, options=options or allowed_options(w), frontier=w.max_upfront_usd is not None,
        public=costs.internet_facing(w.egress_gib_month), exhaustive=exhaustive,
        previous_generation=w.allow_previous_generation, max_per_node=max_per_node(w, units))


def _why_no_node(ctx: Context, w: Workload) -> tuple[str, str]:
    """The requirement that left no node type (checked step by step, only when none is left)."""
    types = offered(ctx.catalog, w.region, w.os.value)
    if types.is_empty():
        return "region_unsupported", f"no {w.os.value} instance types in {w.region}"
    fit = filter_steps(types, node_fit_steps(w, w.region, ctx.catalog.facts.value("gpus.default_vendor")))
    if fit.removed_by:
        return fit.removed_by, fit.message or ""
    return ("no_fitting_instance", f"no node type has room for one {w.vcpu:g} vCPU / {w.memory_gib:g} GiB replica "
            "after the node's reservations, with the purchase options allowed")


EMPTY = pl.DataFrame()


def _control_plane(catalog: Catalog, w: Workload) -> list[Line]:
    if w.existing_cluster:
        return []
    rate = catalog.facts.value("eks.control_plane_usd_per_hour_standard")
    return [Line(f"EKS control plane (standard support) ${rate:g}/h x 730 h", control_plane_usd(catalog),
                 shared_fee="eks")]


def control_plane_usd(catalog: Catalog) -> float:
    """An EKS cluster's control plane for a month (standard support, billed every hour)."""
    return catalog.facts.value("eks.control_plane_usd_per_hour_standard") * HOURS_PER_MONTH


# ----------------------------------------------------------------------------- Fargate
def fargate_size(catalog: Catalog, vcpu: float, memory_gib: float, os: str) -> tuple[float, float] | None:
    """The smallest valid (vCPU, GiB) Fargate size that holds the request (cheapest, since prices are linear)."""
    fitting = [s for s in _valid_sizes(catalog, os) if s[0] >= vcpu - 1e-9 and s[1] >= memory_gib - 1e-9]
    return min(fitting, key=lambda s: (s[0] * 10 + s[1] * 1, s)) if fitting else None


_SIZES: dict[tuple[str, str], list[tuple[float, float]]] = {}


def _valid_sizes(catalog: Catalog, os: str) -> list[tuple[float, float]]:
    """The valid (vCPU, GiB) Fargate sizes for an OS, read once per catalog version."""
    key = (catalog.version, os)
    if key not in _SIZES:
        if len(_SIZES) > 16:
            _SIZES.clear()
        sizes = [(row["vcpu"], m) for row in catalog.facts.value("fargate.valid_sizes") if os in row["os"]
                 for m in row["memory_gib"]]
        if os == "windows":
            sizes = [s for s in sizes if s[0] >= catalog.facts.value("fargate.windows_min_vcpu")]
        _SIZES[key] = sizes
    return _SIZES[key]


def _fargate_rates(catalog: Catalog, w: Workload, arch: str) -> tuple[float, float, list[str], bool]:
    """(USD per vCPU-hour, USD per GB-hour, notes, estimate) for one arch/OS in the region."""
    suffix = "windows" if w.os.value == "windows" else ("arm64" if arch == "arm64" else "x86")
    vcpu = regional(catalog, f"fargate.vcpu_usd_per_hour_{suffix}", w.region)
    gb = regional(catalog, f"fargate.gb_usd_per_hour_{suffix}", w.region)
    notes = [vcpu.note]
    vcpu_rate, estimate = vcpu.value, vcpu.estimate or gb.estimate
    if suffix == "windows":
        lic = regional(catalog, "fargate.windows_os_license_usd_per_vcpu_hour", w.region)
        vcpu_rate += lic.value
        estimate = estimate or lic.estimate
        notes.append("Windows OS licence per vCPU-hour added")
    return vcpu_rate, gb.value, notes, estimate


def fargate_generate(service: Service, w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    g = Generated()
    name = service.value
    if (rejection := gate(service, w)) is not None:
        return g.reject(rejection.service, rejection.option, rejection.reason, rejection.message)
    catalog = ctx.catalog
    eks = service is Service.eks_fargate
    if eks and w.storage_gib > 0:
        return g.reject(name, None, "no_block_storage",
                        "EKS Fargate pods cannot mount EBS volumes (EFS only); use eks_ec2 or ecs_fargate")
    max_scratch = catalog.facts.value("fargate.eks_ephemeral_max_gib" if eks else "fargate.ecs_ephemeral_max_gib")
    if w.scratch_gib > max_scratch:
        return g.reject(name, None, "fargate_storage_exceeded",
                        f"{w.scratch_gib:g} GiB of scratch is over Fargate's {max_scratch:g} GiB ephemeral storage")
    overhead = catalog.facts.value("eks.fargate_pod_memory_overhead_mib") / 1024 if eks else 0.0
    size = fargate_size(catalog, w.vcpu, w.memory_gib + overhead, w.os.value)
    if size is None:
        return g.reject(name, None, "fargate_size_exceeded",
                        f"{w.vcpu:g} vCPU / {w.memory_gib + overhead:g} GiB is over the largest Fargate size "
                        f"for {w.os.value} (16 vCPU / 120 GB on Linux); use EC2 nodes")
    tasks, hours = _fargate_usage(w)
    if isinstance(tasks, str):
        return g.reject(name, None, "job_longer_than_deadline", tasks)
    spot_ok = w.interruptible and not w.stateful and w.os.value == "linux" and not eks
    if eks:
        g.reject(name, "spot", "spot_unavailable",
                 "Fargate Spot is an ECS capacity provider only; EKS Fargate profiles have no Spot: use "
                 "ecs_fargate or Spot nodes on eks_ec2")
    elif not w.interruptible:
        g.reject(name, "spot", "spot_needs_interruptible",
                 "Fargate Spot tasks can be stopped with a 2-minute notice; set interruptible=true to use it")
    elif w.stateful:
        g.reject(name, "spot", "spot_stateful", "Fargate Spot tasks lose local state when stopped")
    elif w.os.value != "linux":
        g.reject(name, "spot", "os_unsupported", "Fargate Spot runs Linux tasks only")
    arches = ["x86_64", "arm64"] if w.arch.value == "any" and w.os.value == "linux" else (
        ["x86_64"] if w.os.value == "windows" or w.arch.value == "x86_64" else ["arm64"])
    if eks:
        arches = [a for a in arches if a in catalog.facts.value("eks.fargate_architectures")]
    if w.os.value == "windows" and w.arch.value == "arm64":
        return g.reject(name, None, "arch_unavailable", "Windows tasks on Fargate are x86_64 only")
    shared = _fargate_shared_lines(ctx, w, tasks, hours, eks)
    for arch in arches:
        g.candidates.extend(_fargate_candidates(ctx, w, service, size, arch, tasks, hours, spot_ok, shared))
    return g


def _fargate_usage(w: Workload) -> tuple[int | str, float]:
    """Tasks and hours each: replicas x schedule, or for jobs one task per job billed for its run time."""
    if not w.job_shaped:
        return w.replicas, w.hours_per_month
    plan = jobs.plan(w)
    if isinstance(plan, str):
        return plan, 0.0
    slots = max(plan.concurrency, 1)
    return slots, plan.job_hours / slots


def _fargate_shared_lines(ctx: Context, w: Workload, tasks: int, hours: float, eks: bool) -> list[Line]:
    catalog = ctx.catalog
    lines: list[Line | None] = []
    included = catalog.facts.value("fargate.ephemeral_included_gib")
    if w.scratch_gib > included:
        rate = regional(catalog, "fargate.ephemeral_usd_per_gb_hour", w.region)
        extra = w.scratch_gib - included
        lines.append(Line(f"Fargate ephemeral storage {extra:g} GB over the {included:g} included x{tasks} "
                          f"x ${rate.value:g}/GB-h x {hours:g} h", extra * rate.value * hours * tasks, rate.estimate))
    if not eks:
        lines.append(costs.ebs_line(catalog, w.region, w.storage_gib, tasks, "EBS gp3 volume per task"))
    lines.append(costs.egress_line(catalog, w.region, w.egress_gib_month, ctx.include_free_tier))
    if costs.internet_facing(w.egress_gib_month):
        lines.append(costs.ipv4_line(catalog, tasks, hours))
    if costs.needs_load_balancer(w, tasks):
        lines += costs.load_balancer_lines(catalog, w)
    if eks:
        lines += _control_plane(catalog, w)
    return [x for x in lines if x]


def _fargate_candidates(ctx: Context, w: Workload, service: Service, size: tuple[float, float], arch: str,
                        tasks: int, hours: float, spot_ok: bool, shared: list[Line]) -> list[Candidate]:
    catalog = ctx.catalog
    vcpu_rate, gb_rate, notes, estimate = _fargate_rates(catalog, w, arch)
    task_rate = size[0] * vcpu_rate + size[1] * gb_rate
    cfg = {"task_vcpu": size[0], "task_memory_gib": size[1], "arch": arch}
    what = f"Fargate task {size[0]:g} vCPU / {size[1]:g} GB {arch}"
    out = []
    od = usage_cost(task_rate, hours, tasks)
    out.append(_fargate_candidate(service, "on_demand", tasks, [
        Line(f"{what} x{tasks}: ({size[0]:g} x ${vcpu_rate:g} + {size[1]:g} x ${gb_rate:g})/h x {hours:g} h",
             od.monthly_usd, estimate), *shared], cfg, estimates=notes if estimate else []))
    ratio = catalog.facts.get("fargate.compute_savings_plan_ratio")
    for plan in compute_plan_rates(catalog, ratio.value):
        upfront = plan.upfront_usd(task_rate)
        sp = commitment_cost(task_rate * plan.hourly_ratio, upfront, plan.term, w.horizon_months, tasks)
        upfront_words = f" + ${upfront:,.2f} upfront per task" if upfront else ""
        out.append(_fargate_candidate(service, "savings_plan", tasks, [
            Line(f"{what} x{tasks} on a {plan.words()}: ${task_rate:g}/h x {plan.hourly_ratio:g} x 730 h"
                 f"{upfront_words}, every hour of {plan.term} terms, averaged over {w.horizon_months} months",
                 sp.monthly_usd, True), *shared], cfg, upfront_usd=money(sp.upfront_usd),
            term=plan.term, plan_type="compute", payment=plan.payment,
            estimates=[ratio.key, "savings_plans.ratios"]))
    if spot_ok:
        spot_vcpu = regional(catalog, "fargate.spot_vcpu_usd_per_hour", w.region)
        spot_gb = regional(catalog, "fargate.spot_gb_usd_per_hour", w.region)
        x86_vcpu = regional(catalog, "fargate.vcpu_usd_per_hour_x86", w.region).value
        scale = vcpu_rate / x86_vcpu if arch == "arm64" else 1.0  # arm64 Spot: x86 Spot x the arm/x86 ratio
        spot_rate = size[0] * spot_vcpu.value * scale + size[1] * spot_gb.value * scale
        spot = usage_cost(spot_rate, hours, tasks)
        out.append(_fargate_candidate(service, "spot", tasks, [
            Line(f"{what} x{tasks} on Fargate Spot: ${spot_rate:.6g}/h x {hours:g} h", spot.monthly_usd, True),
            *shared], cfg, risk=f"{catalog.facts.value('spot.default_interruption_bucket')} (estimate)",
            estimates=["fargate.spot_vcpu_usd_per_hour", "fargate.spot_gb_usd_per_hour"]))
    return out


def _fargate_candidate(service: Service, option: str, tasks: int, lines: list[Line], cfg: dict,
                       risk: str = "none", estimates: list[str] | None = None, upfront_usd: float = 0.0,
                       **terms: str) -> Candidate:
    return Candidate(service=service.value, purchase_option=option, lines=tuple(lines), count=tasks,
                     upfront_usd=upfront_usd,
                     ops_effort=OPS[service], interruption_risk=risk, config=dict(cfg),
                     estimates=tuple(sorted(set(estimates or []))), unit_size=float(cfg["task_vcpu"]),
                     compute=Compute(RunsOn.FARGATE_TASKS, float(cfg["task_vcpu"]) * tasks), **terms)


def generate_ecs_ec2(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return node_generate(Service.ecs_ec2, w, ctx, exhaustive=exhaustive)


def generate_eks_ec2(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return node_generate(Service.eks_ec2, w, ctx, exhaustive=exhaustive)


def generate_ecs_fargate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return fargate_generate(Service.ecs_fargate, w, ctx, exhaustive=exhaustive)


def generate_eks_fargate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return fargate_generate(Service.eks_fargate, w, ctx, exhaustive=exhaustive)

