"""The portfolio's inputs: every workload's candidates as the choice model's options, the fees paid once, one
Dedicated Host's price per host group and the portfolio's limits (the planner's first phase, `phases.py`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from advisor.candidates.base import Candidate, Context
from advisor.candidates.registry import generate_all
from advisor.catalog.store import Catalog
from advisor.optimize.choose import OPS_WEIGHTS, cents, within_caps
from advisor.portfolio.facts import (
    compute_of,
    fee_kind,
    reserved_instances_cover,
    savings_plan_covers,
    shares_nodes,
    sp_cover_cents,
    standard_quota,
)
from advisor.portfolio.keys import HostKey
from advisor.portfolio.select import HostPrice, Limits, Option
from advisor.recommend import prefetch
from models.portfolio import Portfolio
from models.workload import MAX_USD, Workload


@dataclass(frozen=True)
class Inputs:
    """What every later phase reads: the workloads (bounded), their options and rejections, the fees, host
    prices and limits, each workload's choice alone (and as a hint), and the candidates the auditor matches."""

    portfolio: Portfolio
    catalog: Catalog
    workloads: dict[str, Workload]
    options: dict[str, list[Option]]
    rejections: dict[str, list]
    fee_cents: dict[str, int]
    host_prices: dict[HostKey, HostPrice]
    limits: Limits
    alone: dict[str, Option]
    hint: dict[str, int]
    offered: dict[str, list[Candidate]]

    @classmethod
    def of(cls, portfolio: Portfolio, catalog: Catalog) -> Inputs:
        workloads = {w.id: bounded(w, portfolio) for w in portfolio.workloads}
        options, rejections = options_for(Context(catalog), workloads)
        alone = {w: min(opts, key=lambda o: alone_key(o, workloads[w])) for w, opts in options.items() if opts}
        return cls(portfolio, catalog, workloads, options, rejections, fee_cents(options), host_prices(options),
                   limits_of(catalog, portfolio, options), alone, {w: options[w].index(alone[w]) for w in alone},
                   {w: [o.candidate for o in opts] for w, opts in options.items()})

    def without_options(self) -> list[str]:
        """Workloads none of whose candidates meet their own requirements."""
        return sorted(w for w, opts in self.options.items() if not opts)


def bounded(w: Workload, portfolio: Portfolio) -> Workload:
    """With an upfront cap on the portfolio, every workload keeps its whole monthly-vs-upfront frontier
    (an upfront cap of its own, set to the largest allowed value, turns that pruning mode on without
    excluding anything): the choice model then decides where the upfront cash goes."""
    if portfolio.constraints.max_upfront_usd is not None and w.max_upfront_usd is None:
        return w.model_copy(update={"max_upfront_usd": MAX_USD})
    return w


def options_for(ctx: Context, workloads: dict[str, Workload]) -> tuple[dict[str, list[Option]], dict[str, list]]:
    options: dict[str, list[Option]] = {}
    rejections: dict[str, list] = {}
    shapes = {wid: w.model_dump_json(exclude={"id"}) for wid, w in sorted(workloads.items())}
    first = {shape: wid for wid, shape in reversed(shapes.items())}   # one workload per shape
    prefetch([workloads[wid] for wid in sorted(first.values())], catalog=ctx.catalog)   # every frontier in bulk
    by_shape: dict[str, tuple[list, list[Option]]] = {}   # workloads alike but for their id share their options
    for wid in sorted(workloads):
        w = workloads[wid]
        shape = shapes[wid]
        if shape not in by_shape:
            generated = generate_all(w, ctx)
            kept = [c for c in sorted(generated.candidates, key=lambda c: c.sort_key)
                    if within_caps(c, w.max_monthly_usd, w.max_upfront_usd)]
            by_shape[shape] = (generated.rejections, [as_option(w, c) for c in kept])
        rejections[wid], options[wid] = by_shape[shape]
    return options, rejections


def as_option(w: Workload, c: Candidate) -> Option:
    """A candidate as the choice model sees it; every service fact read from the candidate (`facts.py`)."""
    fees, shared = [], 0.0
    for line in c.lines:
        if kind := fee_kind(line):
            fees.append(f"{kind}:{w.region}")
            shared += cents(line.monthly_usd)
    vcpu = compute_of(c).vcpu
    compute = next((x for x in c.lines), None)
    on_demand = c.purchase_option == "on_demand" and c.tenancy == "shared"
    host_key, host_milli, upfront = None, 0, cents(c.upfront_usd)
    if c.tenancy == "host":  # the hosts themselves become a shared variable of the model
        host_key = HostKey.of(w, c)
        host_milli = math.ceil(w.replicas * 1000 / c.config["instances_per_host"])
        shared += cents(compute.monthly_usd)
        upfront = 0
    clustered = shares_nodes(c)
    # A cluster's nodes may be shared with other workloads: its workloads count the vCPU their pods request in
    # the spot share, the quota counts the nodes, and owned commitments are applied to instances outside clusters.
    quota_milli = round(vcpu * 1000) if clustered else None
    if clustered:
        vcpu = int(c.config.get("replicas", w.replicas)) * w.vcpu
    covered = on_demand and compute is not None and not clustered
    ri_key = (c.instance_type, w.region) if covered and reserved_instances_cover(c) else None
    return Option(
        candidate=c, cost_cents=sum(cents(x.monthly_usd) for x in c.lines) - int(shared),
        upfront_cents=upfront, vcpu_milli=round(vcpu * 1000), host_key=host_key, host_milli=host_milli,
        spot=c.purchase_option == "spot" and vcpu > 0, quota=standard_quota(c), region=w.region,
        fees=tuple(sorted(set(fees))), ri_key=ri_key,
        ri_unit_cents=cents(compute.monthly_usd) // max(c.count, 1) if ri_key else 0,
        sp_cents=cents(compute.monthly_usd) if covered and savings_plan_covers(c) else 0, quota_milli=quota_milli)


def host_prices(options: dict[str, list[Option]]) -> dict[HostKey, HostPrice]:
    """One host's monthly cost and upfront per host key (from any candidate of that key: all agree)."""
    prices: dict[HostKey, HostPrice] = {}
    for opts in options.values():
        for o in opts:
            if o.host_key and o.host_key not in prices:
                c = o.candidate
                hosts = c.config["hosts"]
                prices[o.host_key] = HostPrice(cents(c.lines[0].monthly_usd / hosts), cents(c.upfront_usd / hosts))
    return prices


def fee_cents(options: dict[str, list[Option]]) -> dict[str, int]:
    fees: dict[str, int] = {}
    for opts in options.values():
        for o in opts:
            for line in o.candidate.lines:
                if kind := fee_kind(line):
                    key = f"{kind}:{o.region}"
                    fees[key] = max(fees.get(key, 0), cents(line.monthly_usd))
    return fees


def limits_of(catalog: Catalog, portfolio: Portfolio, options: dict[str, list[Option]]) -> Limits:
    c = portfolio.constraints
    quotas: dict[tuple[str, str], int] = {}
    regions = {o.region for opts in options.values() for o in opts}
    for region in sorted(regions):
        given = c.vcpu_quotas.get(region)
        if given and given.on_demand is not None:
            quotas[(region, "on_demand")] = given.on_demand
        elif c.default_quotas:
            quotas[(region, "on_demand")] = int(catalog.facts.value("quotas.on_demand_standard_default_vcpus"))
        if given and given.spot is not None:
            quotas[(region, "spot")] = given.spot
    owned = defaultdict(int)
    for holding in c.existing_commitments.reserved:
        owned[(holding.instance_type, holding.region)] += holding.count
    return Limits(
        max_monthly_cents=cents(c.max_monthly_usd) if c.max_monthly_usd is not None else None,
        max_upfront_cents=cents(c.max_upfront_usd) if c.max_upfront_usd is not None else None,
        max_spot_share_milli=round(c.max_spot_share * 1000) if c.max_spot_share is not None else None,
        quotas=quotas, ri_owned=dict(owned),
        sp_cover_cents=sp_cover_cents(catalog, c.existing_commitments.savings_plan_usd_per_hour))


def alone_key(o: Option, w: Workload) -> tuple:
    """What recommend() would pick for this workload alone (the same order, fees included)."""
    return (cents(o.candidate.monthly_usd) * OPS_WEIGHTS[w.ops.value][o.candidate.ops_effort], o.candidate.sort_key)

