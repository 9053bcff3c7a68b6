"""EC2: every instance type that fits one replica, x every purchase option, x the tenancy required.

One replica runs on one instance. Shared tenancy prices on-demand, spot, 12 reserved instances,
savings plans and capacity reservations; dedicated tenancy adds the per-region fee; host tenancy
and BYOL licences price Dedicated Hosts of the family (instances per host from data/facts).
Scheduled Instances are always rejected: AWS no longer sells them.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from advisor.candidates import costs, jobs
from advisor.candidates.applicability import gate
from advisor.candidates.base import Candidate, Compute, Context, Generated, Line, RunsOn, vcpu_quota
from advisor.candidates.describe import option_words, rate_words
from advisor.candidates.frontiers import (
    InstanceSpec,
    OptionRules,
    instance_frontiers,
)
from advisor.candidates.hosts import HostSpec, host_frontier
from advisor.candidates.instances import filter_steps, offered, replica_fit_steps
from advisor.candidates.load import carrying
from advisor.candidates.memo import FRONTIERS
from advisor.candidates.spread import min_nodes
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, money
from models.workload import Service, Workload

SERVICE = Service.ec2


def usage(w: Workload) -> tuple[int, float] | str:
    """(instances, hours each per month): replicas x schedule, or for jobs the units the deadline needs."""
    if not w.job_shaped:
        return w.replicas, w.hours_per_month
    job_plan = jobs.plan(w)
    if isinstance(job_plan, str):
        return job_plan
    if job_plan.jobs == 0:
        return 0, 0.0
    return job_plan.concurrency, job_plan.hours_each(job_plan.concurrency)


def fitting_types(ctx: Context, w: Workload, g: Generated, service: str) -> pl.DataFrame | None:
    """Types that fit one replica, or None after recording which requirement removed them all.

    Previous-generation types are left out unless the workload allows them or no current type fits."""
    key = ("fit", ctx.catalog.version, w.region, w.os.value, w.arch.value, w.vcpu, w.memory_gib, w.gpus,
           w.gpu_model, w.allow_previous_generation)
    frame, rejection = FRONTIERS.get(key, lambda: _fit(ctx.catalog, w))
    if rejection is not None:
        g.reject(service, None, *rejection)
        return None
    return frame


def _fit(catalog: Catalog, w: Workload) -> tuple[pl.DataFrame | None, tuple[str, str] | None]:
    types = offered(catalog, w.region, w.os.value)
    if types.is_empty():
        return None, ("region_unsupported",
                      f"the catalog has no {w.os.value} instance types in {w.region}; check the region code")
    fit = filter_steps(types, replica_fit_steps(w, w.region, catalog.facts.value("gpus.default_vendor")))
    if fit.removed_by:
        return None, (fit.removed_by, fit.message or "")
    current = fit.frame.filter(pl.col("current_generation").fill_null(True))
    return (fit.frame if w.allow_previous_generation or current.is_empty() else current), None


def previous_generation_allowed(types: pl.DataFrame) -> bool:
    """True when the fitting types include previous-generation ones (asked for, or nothing current fits)."""
    return not types.is_empty() and not types["current_generation"].fill_null(True).all()


def generate(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    g = Generated()
    g.reject(SERVICE.value, "scheduled", "scheduled_no_longer_sold",
             "AWS no longer sells Scheduled Instances (AWS: \""
             + ctx.catalog.facts.value("scheduled_instances.api_statement")
             + "\"); reserve capacity with an On-Demand Capacity Reservation, or get the discount with a "
               "Savings Plan")
    if (rejection := gate(SERVICE, w)) is not None:
        g.rejections.insert(0, rejection)
        return g
    plan = usage(w)
    if isinstance(plan, str):
        return g.reject(SERVICE.value, None, "job_longer_than_deadline", plan)
    count, hours = plan
    types = fitting_types(ctx, w, g, SERVICE.value)
    if types is None:
        return g
    _reject_options(w, g, SERVICE.value)
    balanced = costs.needs_load_balancer(w, count)
    return instance_candidates(SERVICE.value, w, ctx, g, types, count, hours, allowed_options(w),
                               ops_effort="high", exhaustive=exhaustive,
                               extra_lines=costs.load_balancer_lines(ctx.catalog, w) if balanced else None,
                               config={"load_balancer": "alb"} if balanced else None)


def instance_candidates(service: str, w: Workload, ctx: Context, g: Generated, types: pl.DataFrame, count: int,
                        hours: float, options: OptionRules, *, ops_effort: str, exhaustive: bool,
                        extra_lines: list[Line] | None = None, config: dict | None = None) -> Generated:
    """One replica per instance: every fitting type x the purchase options allowed, costed and pruned.

    Costs are computed per instance (frontiers.py, memoized per spec) and scaled by the instance
    count: scaling every row of a group by the same positive count keeps the same frontier.
    Dedicated Hosts do not scale (hosts = ceil(instances / instances per host)).
    """
    hosts = None
    if w.needs_host or (w.tenancy.value == "dedicated" and service == SERVICE.value):
        # A Dedicated Host satisfies dedicated tenancy too (the whole server is the customer's): both are
        # priced and the cheaper wins. Hosts are billed every hour, so only always-on fleets use them.
        hosts = host_frontier(ctx.catalog, host_spec(w, types, count, exhaustive), options)
    frame = EMPTY
    if not w.needs_host:
        spec = instance_spec(w, hours, options, exhaustive, previous_generation_allowed(types))
        frame = FRONTIERS.get(("instances", ctx.catalog.version, spec),
                              lambda: instance_frontiers(ctx.catalog, [spec])[spec], placeholder=EMPTY)
        if frame is EMPTY and hosts is None:
            return g
    if frame.is_empty() and (hosts is None or hosts.is_empty()):
        return g.reject(service, None, "no_fitting_instance",
                        "no fitting type can be bought with the options this workload allows")
    if not frame.is_empty():
        g.candidates.extend(to_candidates(ctx, w, frame, service, hours, ops_effort=ops_effort,
                                          extra_lines=extra_lines, config=config, count=count))
    if hosts is not None and not hosts.is_empty():
        g.candidates.extend(to_candidates(ctx, w, hosts, service, hours, ops_effort=ops_effort,
                                          extra_lines=extra_lines, config=config, count=None))
    return g


EMPTY = pl.DataFrame()
SCALED = ["compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "ipv4_monthly", "monthly_total", "upfront_start"]


def instance_spec(w: Workload, hours: float, options: OptionRules, exhaustive: bool,
                  previous_generation: bool = False) -> InstanceSpec:
    """Everything the per-instance frontier depends on (and nothing it does not: count, storage, egress)."""
    return InstanceSpec(
        region=w.region, os=w.os.value, arch=w.arch.value,
        tenancy="dedicated" if w.tenancy.value == "dedicated" else "shared",
        vcpu=w.vcpu, memory_gib=w.memory_gib, gpus=w.gpus, gpu_model=w.gpu_model, scratch_gib=w.scratch_gib,
        sustained_vcpu=w.vcpu * w.cpu_utilization, hours=hours, horizon=w.horizon_months, options=options,
        frontier=w.max_upfront_usd is not None, public=costs.internet_facing(w.egress_gib_month),
        exhaustive=exhaustive, previous_generation=previous_generation)


def host_spec(w: Workload, types: pl.DataFrame, count: int, exhaustive: bool) -> HostSpec:
    """What the Dedicated Host frontier of `count` instances of `w` (fitting `types`) reads."""
    return HostSpec(instance_spec(w, HOURS_PER_MONTH, OptionRules(), exhaustive), w.byol,
                    w.allow_previous_generation, count, min_nodes(w, count), types)


def scale(row: dict, count: int) -> dict:
    """A per-unit row's costs x count (the frontier of a group is the same at any positive count)."""
    return {**row, "count": count, **{c: row[c] * count for c in SCALED}}


def allowed_options(w: Workload) -> OptionRules:
    """Purchase options the workload's own requirements allow."""
    return OptionRules(spot=w.interruptible and not w.stateful, reservation_only=w.capacity_guarantee)


def _reject_options(w: Workload, g: Generated, service: str) -> None:
    """Purchase options the workload's own requirements rule out, each with its reason."""
    if not w.interruptible:
        g.reject(service, "spot", "spot_needs_interruptible",
                 "Spot can be reclaimed with a 2-minute notice; set interruptible=true if the work can be retried")
    elif w.stateful:
        g.reject(service, "spot", "spot_stateful",
                 "Spot instances can be reclaimed with a 2-minute notice and lose local state; "
                 "keep state elsewhere (stateful=false) to use Spot")
    if w.capacity_guarantee:
        for option in ("on_demand", "spot", "savings_plan"):
            g.reject(service, option, "capacity_guarantee_unmet",
                     f"{option.replace('_', ' ')} does not reserve capacity; capacity_guarantee needs an "
                     "On-Demand Capacity Reservation or a zonal Reserved Instance")
    if w.needs_host:
        g.reject(service, "shared and dedicated instances", "needs_dedicated_host",
                 "BYOL per-socket/per-core licences and host tenancy need a whole Dedicated Host")
    elif w.tenancy.value == "dedicated":
        g.reject(service, "spot", "tenancy_unsupported", "Spot is priced here for shared tenancy only")


def to_candidates(ctx: Context, w: Workload, frame: pl.DataFrame, service: str, hours: float,
                  ops_effort: str, extra_lines: list[Line] | None = None,
                  config: dict | None = None, count: int | None = None,
                  shared_nodes: bool = False) -> list[Candidate]:
    """Build Candidate objects (with every cost line) for the kept rows; per-unit rows are scaled by `count`
    (`shared_nodes`: the rows are ECS/EKS node groups whose nodes other workloads' pods may share)."""
    catalog = ctx.catalog
    shared_lines = [*(extra_lines or [])]
    storage = costs.ebs_line(catalog, w.region, w.storage_gib, w.replicas, "EBS gp3 (storage_gib)")
    egress = costs.egress_line(catalog, w.region, w.egress_gib_month, ctx.include_free_tier)
    shared_lines += [x for x in (storage, egress) if x]
    risk_of = FRONTIERS.get(("risk", catalog.version, w.region, w.os.value),
                            lambda: dict(rates.interruption(catalog, w.region, w.os.value).iter_rows()))
    default_risk = rates.default_interruption(catalog)
    out = []
    for row in frame.iter_rows(named=True):
        if count is not None:
            row = scale(row, count)
        out.append(_candidate(ctx, w, row, service, hours, ops_effort, shared_lines, risk_of, default_risk,
                              config or {}, shared_nodes))
    return out


def _candidate(ctx: Context, w: Workload, row: dict, service: str, hours: float, ops_effort: str,
               shared_lines: list[Line], risk_of: dict, default_risk: str, config: dict,
               shared_nodes: bool = False) -> Candidate:
    catalog = ctx.catalog
    is_host = row["tenancy"] == "host"
    unit = f"{row['host_family']} Dedicated Host" if is_host else row["instance_type"]
    count = int(row["count"])
    lines = [Line(f"{unit} {option_words(row)} x{count}: {rate_words(row, w.horizon_months, row['hours'])}",
                  row["compute_monthly"], row["quality"] == "estimate")]
    cfg = dict(config, price_quality=row["quality"])
    if row.get("replicas_per_node"):
        cfg.update(nodes=count, replicas_per_node=row["replicas_per_node"])
        if row.get("max_pods"):
            cfg["max_pods"] = row["max_pods"]
    if is_host:
        cfg.update(hosts=count, instances_per_host=row["per_host"], host_family=row["host_family"],
                   instance_type_on_host=row["instance_type"])
    if row["scratch_ebs_monthly"]:
        lines.append(Line(f"EBS gp3 scratch {w.scratch_gib:g} GiB x{count} (instance store too small)",
                          row["scratch_ebs_monthly"]))
    elif w.scratch_gib > 0:
        cfg["scratch"] = "instance_store"
    if row["surplus_monthly"]:
        lines.append(Line(f"burstable unlimited-mode surplus {row['surplus_vcpu']:g} vCPU x {hours:g} h x{count}",
                          row["surplus_monthly"]))
        cfg["credit_mode"] = "unlimited"
    lines += shared_lines
    if row.get("ipv4_monthly"):
        held = HOURS_PER_MONTH if row["purchase_option"] == "capacity_reservation" else row["hours"]
        rate = catalog.facts.value("network.public_ipv4_usd_per_hour")
        lines.append(Line(f"public IPv4 x{count} x ${rate:g}/h x {held:g} h", row["ipv4_monthly"]))
    if row["tenancy"] == "dedicated":
        fee = costs.dedicated_fee_line(catalog, row["hours"])
        lines.append(fee if row.get("fee_monthly") is None else dataclasses.replace(fee,
                                                                                 monthly_usd=row["fee_monthly"]))
    if row["purchase_option"] == "reserved" and w.capacity_guarantee:
        cfg["scope"] = "zonal"
    risk = "none"
    if row["purchase_option"] == "spot":
        risk = risk_of.get(row["instance_type"]) or default_risk
    estimates = sorted({ln.item.split(":")[0] for ln in lines if ln and ln.estimate})
    return Candidate(
        service=service, purchase_option=row["purchase_option"], lines=tuple(x for x in lines if x),
        upfront_usd=money(row["upfront_start"]), instance_type=row["instance_type"], count=count,
        term=row["term"], offering_class=row["offering_class"], plan_type=row["plan_type"],
        payment=row["payment"], tenancy=row["tenancy"], interruption_risk=risk, ops_effort=ops_effort,
        config=cfg, estimates=tuple(estimates), unit_size=float(row["vcpu"]),
        compute=Compute(RunsOn.DEDICATED_HOSTS, 0.0) if is_host else Compute(
            RunsOn.NODE_GROUP if shared_nodes else RunsOn.INSTANCES, float(row["vcpu"]) * count,
            vcpu_quota(row["instance_type"])))


def baseline(w: Workload, ctx: Context) -> Candidate | None:
    """The yardstick every answer is compared with: on-demand EC2 that meets the same hard requirements.

    Same tenancy (Dedicated Instances or Dedicated Hosts for `dedicated`, hosts for `host` and BYOL),
    OS, architecture, GPUs, the replicas the load needs, spread, and a load balancer where the service
    needs one; On-Demand Capacity Reservations (the on-demand rate every hour) when capacity is to be
    guaranteed. Only what the requirements do not fix is plain: no Spot, no commitment, no other service.
    """
    plain = carrying(w).model_copy(update={"interruptible": False, "allowed_services": None})
    if plain.vcpu is None or plain.memory_gib is None:
        return None
    plan = usage(plain)
    if isinstance(plan, str):
        return None
    g = Generated()
    types = fitting_types(ctx, plain, g, SERVICE.value)
    if types is None:
        return None
    count, hours = plan
    options = OptionRules(capacity_reservation_only=True) if plain.capacity_guarantee else OptionRules(
        on_demand_only=True)
    balanced = costs.needs_load_balancer(plain, count)
    instance_candidates(SERVICE.value, plain, ctx, g, types, count, hours, options, ops_effort="high",
                        exhaustive=False,
                        extra_lines=costs.load_balancer_lines(ctx.catalog, plain) if balanced else None)
    return min(g.candidates, key=lambda c: c.sort_key) if g.candidates else None


def baseline_description(w: Workload) -> str:
    tenancy = {"shared": "shared tenancy", "dedicated": "Dedicated Instances or Hosts",
               "host": "Dedicated Hosts"}[w.tenancy.value]
    if w.byol:
        tenancy = "Dedicated Hosts (BYOL)"
    option = "On-Demand Capacity Reservations" if w.capacity_guarantee else "on-demand"
    arch = "" if w.arch.value == "any" else f", {w.arch.value}"
    return f"{option} EC2, {tenancy}, {w.os.value}{arch}, cheapest fitting type (same requirements as the answer)"
