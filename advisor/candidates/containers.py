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

import polars as pl

from advisor.candidates import costs, jobs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Context, Generated, Line
from advisor.candidates.ec2 import _reject_options, allowed_options, options_key, row_extras, to_candidates
from advisor.candidates.instances import (
    OPTION_GROUP,
    cost_columns,
    filter_steps,
    node_fit_steps,
    offered,
    pareto,
    with_rates,
)
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.regional import regional
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, commitment_cost, usage_cost
from models.workload import Service, Workload

OPS = {Service.ecs_ec2: "medium", Service.eks_ec2: "high", Service.ecs_fargate: "low", Service.eks_fargate: "medium"}
SYSTEM_PODS = 2  # aws-node and kube-proxy run on every EKS node (host network)


# ----------------------------------------------------------------------------- EC2 nodes
def eks_allocatable(catalog: Catalog, nodes: pl.DataFrame) -> pl.DataFrame:
    """Add max_pods, alloc_vcpu and alloc_memory_gib for EKS nodes (kubelet and eviction reservations)."""
    facts = catalog.facts
    small = facts.value("eks.max_pods_prefix_delegation_small")
    large = facts.value("eks.max_pods_prefix_delegation_large")
    threshold = facts.value("eks.max_pods_vcpu_threshold")
    mem = facts.value("eks.kube_reserved_memory_formula")
    eviction = facts.value("eks.eviction_hard_memory_mib")
    reserved_cpu = pl.lit(0.0)
    for step in facts.value("eks.kube_reserved_cpu_millicores_steps"):
        upper = step["cores_to"]
        cores = pl.col("vcpu").cast(pl.Float64)
        in_step = (cores.clip(upper_bound=upper) if upper is not None else cores) - step["cores_from"]
        reserved_cpu = reserved_cpu + in_step.clip(lower_bound=0.0) * step["share"]
    max_pods = pl.when(pl.col("vcpu") <= threshold).then(pl.lit(small)).otherwise(pl.lit(large))
    return nodes.with_columns(max_pods=max_pods).with_columns(
        alloc_vcpu=pl.col("vcpu") - reserved_cpu,
        alloc_memory_gib=pl.col("memory_gib")
        - (pl.col("max_pods") * mem["per_pod_mib"] + mem["base_mib"] + eviction) / 1024.0,
        pod_slots=pl.col("max_pods") - SYSTEM_PODS,
    )


def ecs_allocatable(nodes: pl.DataFrame) -> pl.DataFrame:
    return nodes.with_columns(alloc_vcpu=pl.col("vcpu").cast(pl.Float64), alloc_memory_gib=pl.col("memory_gib"),
                              pod_slots=pl.lit(10_000), max_pods=pl.lit(None, pl.Int64))


def replicas_per_node(w: Workload) -> pl.Expr:
    per = pl.min_horizontal(
        (pl.col("alloc_vcpu") / w.vcpu + 1e-9).floor(),
        (pl.col("alloc_memory_gib") / w.memory_gib + 1e-9).floor(),
        pl.col("pod_slots").cast(pl.Float64),
    )
    if w.gpus > 0:
        per = pl.min_horizontal(per, (pl.col("gpus") / w.gpus).floor())
    return per.cast(pl.Int64)


def node_generate(service: Service, w: Workload, ctx: Context, *, exhaustive: bool = False,
                  options: pl.Expr | None = None, ops_effort: str | None = None) -> Generated:
    """Replicas packed onto each fitting node type, x purchase options (`options`, default: what `w` allows)."""
    g = Generated()
    name = service.value
    if (rejection := gate(service, w)) is not None:
        return g.reject(rejection.service, rejection.option, rejection.reason, rejection.message)
    units, hours_of = _units(w)
    if isinstance(units, str):
        return g.reject(name, None, "job_longer_than_deadline", units)
    if options is None:
        _reject_options(w, g, name)
        options, key_options = allowed_options(w), options_key(w)
    else:
        key_options = f"given:{w.interruptible}:{w.stateful}"
    tenancy = "dedicated" if w.tenancy.value == "dedicated" else "shared"
    key = (ctx.catalog.version, "nodes", service.value, exhaustive, w.region, w.os.value, w.arch.value, tenancy,
           w.vcpu, w.memory_gib, w.gpus, w.gpu_model, units, w.replicas, w.hours_per_month, w.jobs_per_month,
           w.job_duration_minutes, w.deadline_hours, w.scratch_gib, w.horizon_months, key_options)
    rows, rejection = FRONTIERS.get(key, lambda: _node_frontier(service, w, ctx, units, hours_of, options, tenancy,
                                                                exhaustive))
    if rejection is not None:
        return g.reject(name, None, *rejection)
    extra = _control_plane(ctx.catalog, w) if service is Service.eks_ec2 else []
    g.candidates.extend(to_candidates(ctx, w, rows, name, 0.0, ops_effort=ops_effort or OPS[service],
                                      extra_lines=extra,
                                      config={"replicas": units}))
    return g


def _node_frontier(service: Service, w: Workload, ctx: Context, units: int, hours_of, options: pl.Expr,
                   tenancy: str, exhaustive: bool) -> tuple[pl.DataFrame | None, tuple[str, str] | None]:
    """Costed node rows (Pareto-pruned unless exhaustive), or the reason no node type can hold a replica."""
    catalog = ctx.catalog
    types = offered(catalog, w.region, w.os.value)
    if types.is_empty():
        return None, ("region_unsupported", f"no {w.os.value} instance types in {w.region}")
    fit = filter_steps(types, node_fit_steps(w, w.region))
    if fit.removed_by:
        return None, (fit.removed_by, fit.message or "")
    nodes = eks_allocatable(catalog, fit.frame) if service is Service.eks_ec2 else ecs_allocatable(fit.frame)
    nodes = nodes.with_columns(replicas_per_node=replicas_per_node(w)).filter(pl.col("replicas_per_node") >= 1)
    if nodes.is_empty():
        return None, ("no_fitting_instance",
                      f"no node type has room for one {w.vcpu:g} vCPU / {w.memory_gib:g} GiB replica "
                      "after the node's reservations")
    nodes = nodes.with_columns(count=(pl.lit(units) / pl.col("replicas_per_node")).ceil().cast(pl.Int64))
    nodes = nodes.with_columns(hours=pl.struct("count", "replicas_per_node").map_batches(
        lambda s: pl.Series([hours_of(c * r) for c, r in zip(s.struct.field("count"),
                                                             s.struct.field("replicas_per_node"), strict=True)],
                            dtype=pl.Float64)))
    rows = with_rates(catalog, nodes, w.region, w.os.value, tenancy).filter(options)
    rows = cost_columns(rows, w.horizon_months)
    gp3 = regional(catalog, "ebs.gp3_usd_per_gb_month", w.region).value
    short = pl.col("instance_store_gib") < pl.col("replicas_per_node") * w.scratch_gib
    rows = rows.with_columns(
        scratch_ebs_monthly=pl.when((w.scratch_gib > 0) & short).then(gp3 * w.scratch_gib * w.replicas).otherwise(0.0),
        surplus_monthly=pl.lit(0.0), surplus_vcpu=pl.lit(0.0),
    ).with_columns(monthly_total=pl.col("compute_monthly") + pl.col("scratch_ebs_monthly"))
    rows = row_extras(rows, ctx, w, fee_per_row=True)
    if rows.is_empty():
        return None, ("no_fitting_instance", "no node type can be bought with the options this workload allows")
    return (rows if exhaustive else pareto(rows, OPTION_GROUP)), None


def _units(w: Workload):
    """Replica slots needed and, for a number of slots, the hours each runs a month."""
    if not w.job_shaped:
        return w.replicas, lambda slots: w.hours_per_month
    plan = jobs.plan(w)
    if isinstance(plan, str):
        return plan, None
    return max(plan.concurrency, 1), plan.hours_each


def _control_plane(catalog: Catalog, w: Workload) -> list[Line]:
    if w.existing_cluster:
        return []
    rate = catalog.facts.value("eks.control_plane_usd_per_hour_standard")
    return [Line(f"EKS control plane (standard support) ${rate:g}/h x 730 h", rate * HOURS_PER_MONTH)]


# ----------------------------------------------------------------------------- Fargate
def fargate_size(catalog: Catalog, vcpu: float, memory_gib: float, os: str) -> tuple[float, float] | None:
    """The smallest valid (vCPU, GiB) Fargate size that holds the request (cheapest, since prices are linear)."""
    sizes = [(row["vcpu"], m) for row in catalog.facts.value("fargate.valid_sizes") if os in row["os"]
             for m in row["memory_gib"]]
    if os == "windows":
        sizes = [s for s in sizes if s[0] >= catalog.facts.value("fargate.windows_min_vcpu")]
    fitting = [s for s in sizes if s[0] >= vcpu - 1e-9 and s[1] >= memory_gib - 1e-9]
    return min(fitting, key=lambda s: (s[0] * 10 + s[1] * 1, s)) if fitting else None


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
    if w.gpus > 0:
        return g.reject(name, None, "gpu_unsupported", "Fargate has no GPUs; use EC2 nodes (ecs_ec2/eks_ec2)")
    if w.capacity_guarantee:
        return g.reject(name, None, "capacity_guarantee_unmet",
                        "Fargate capacity cannot be reserved; capacity_guarantee needs EC2 capacity reservations")
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
    spot_ok = w.interruptible and not w.stateful and w.os.value == "linux"
    if not w.interruptible:
        g.reject(name, "spot", "spot_needs_interruptible",
                 "Fargate Spot tasks can be stopped with a 2-minute notice; set interruptible=true to use it")
    elif w.stateful:
        g.reject(name, "spot", "spot_stateful", "Fargate Spot tasks lose local state when stopped")
    elif w.os.value != "linux":
        g.reject(name, "spot", "os_unsupported", "Fargate Spot runs Linux tasks only")
    arches = ["x86_64", "arm64"] if w.arch.value == "any" and w.os.value == "linux" else (
        ["x86_64"] if w.os.value == "windows" or w.arch.value == "x86_64" else ["arm64"])
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
    sp = commitment_cost(task_rate * ratio.value, 0.0, "1yr", w.horizon_months, tasks)
    out.append(_fargate_candidate(service, "savings_plan", tasks, [
        Line(f"{what} x{tasks} on a compute savings plan 1yr no upfront: ${task_rate:g}/h x {ratio.value:g} "
             "x 730 h (committed every hour)", sp.monthly_usd, True), *shared], cfg,
        term="1yr", plan_type="compute", payment="no_upfront", estimates=[ratio.key]))
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
                       risk: str = "none", estimates: list[str] | None = None, **terms: str) -> Candidate:
    return Candidate(service=service.value, purchase_option=option, lines=tuple(lines), count=tasks,
                     ops_effort=OPS[service], interruption_risk=risk, config=dict(cfg),
                     estimates=tuple(sorted(set(estimates or []))), unit_size=float(cfg["task_vcpu"]), **terms)


def generate_ecs_ec2(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return node_generate(Service.ecs_ec2, w, ctx, exhaustive=exhaustive)


def generate_eks_ec2(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return node_generate(Service.eks_ec2, w, ctx, exhaustive=exhaustive)


def generate_ecs_fargate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return fargate_generate(Service.ecs_fargate, w, ctx, exhaustive=exhaustive)


def generate_eks_fargate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    return fargate_generate(Service.eks_fargate, w, ctx, exhaustive=exhaustive)

