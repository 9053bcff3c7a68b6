"""Plan a portfolio: one placement per workload, chosen together under the portfolio's constraints,
then shared capacity (clusters, Dedicated Hosts, commitments) built from the choice.

Steps: (1) every workload's candidates, as for one recommendation (the portfolio's caps also bound each
workload, so pruning keeps what the caps may need); (2) the CP-SAT choice (`select.py`) with fees paid
once, owned commitments, budget, upfront cap, spot share and quotas; (3) workloads that chose the same
kind of cluster node group (service, region, OS, tenancy, purchase option, horizon, schedule) are packed
together (`packing.py`: column-generation bound, CP-SAT over patterns), which only ever lowers the
cost; (4) the explanation: what the portfolio changed against choosing alone, and the price of each
binding constraint (re-solved with it left out); (5) `validate.py` re-checks the plan independently.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from advisor.candidates.base import Candidate, Context
from advisor.candidates.registry import generate_all
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import InputError
from advisor.optimize.choose import cents, within_caps
from advisor.portfolio.clusters import GroupPrices
from advisor.portfolio.packing import PodShape
from advisor.portfolio.pool_cuts import Pool, Tightened, dominated, separate, tighten
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.select import HostPrice, Limits, Option, PoolModel, Selection, select
from advisor.recommend import prefetch, to_option
from advisor.workload_io import describe, field_errors
from models.portfolio import Portfolio
from models.workload import MAX_USD, Workload

INSTANCE_SERVICES = {"ec2", "ecs_ec2", "eks_ec2", "beanstalk", "batch"}
CLUSTER_SERVICES = {"ecs_ec2", "eks_ec2"}
STANDARD_FAMILIES = set("acdhimrtz")
PACKING_ROOM = 0.06     # whole nodes cost about this much more than the packing LP prices a pool at
FEE_PREFIXES = {"EKS control plane": "eks", "dedicated per-region fee": "dedicated"}


class PlanInfeasible(InputError):
    """No plan meets the portfolio's constraints; `conflicts` names the constraints that clash."""

    def __init__(self, message: str, conflicts: list[str]):
        super().__init__(message, field="constraints")
        self.conflicts = conflicts


def parse(doc: Any) -> Portfolio:
    try:
        return Portfolio.model_validate(doc)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InputError(describe(errors), field=errors[0]["field"]) from None


def plan(doc: Any, *, catalog: Catalog | None = None, time_limit_s: float = 20.0) -> dict[str, Any]:
    """The contract's plan for a portfolio document {"workloads": [...], "constraints": {...}}.

    `time_limit_s` bounds the whole answer: after the candidates, the choice gets up to a fifth of what is
    left, the relaxation runs until two thirds of the time, the pooled choice until 85 %, packing and the
    explanation share the rest (each phase at least a little, so a tiny limit still answers)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    def left(until: float) -> float:
        return max(started + until * time_limit_s - time.perf_counter(), 0.5)

    portfolio = doc if isinstance(doc, Portfolio) else parse(doc)
    catalog = catalog or load_catalog()
    ctx = Context(catalog)
    workloads = {w.id: _bounded(w, portfolio) for w in portfolio.workloads}
    options, rejections = _options(ctx, workloads)
    empty = sorted(w for w, opts in options.items() if not opts)
    if empty:
        raise PlanInfeasible(f"no placement meets the own requirements of workloads {', '.join(empty)}: "
                             + "; ".join(f"{w}: {sorted({r.reason for r in rejections[w]})}" for w in empty[:5]),
                             [f"workloads.{w}" for w in empty])
    fee_cents = _fee_cents(options)
    host_prices = _host_prices(options)
    limits = _limits(catalog, portfolio, options)
    alone = {w: min(opts, key=lambda o: _alone_key(o, workloads[w])) for w, opts in options.items()}
    hint = {w: options[w].index(alone[w]) for w in options}
    mark = lap("candidates", started)
    # The choice as if nothing were pooled runs on the second core (CP-SAT releases the GIL) while the
    # relaxation is built and tightened on this one.
    with ThreadPoolExecutor(1) as background:
        choosing = background.submit(select, options, fee_cents, limits, time_limit_s=max(1.0, left(1.0) / 4),
                                     hint=hint, host_prices=host_prices)
        # The relaxation: cluster nodes priced per pool by cuts, tightened until every pool it uses is priced at
        # its packing LP bound: a lower bound on every plan, pooling included.
        fluid_options, pools = _fluid(catalog, workloads, options)
        relaxation = Relaxation(fluid_options, fee_cents, limits, host_prices,
                                {k: p.upfront_ratio for k, p in pools.items()})
        tightened = tighten(relaxation, pools, deadline=time.perf_counter() + left(2 / 3))
        selection = choosing.result()
    if selection.status == "INFEASIBLE":
        raise PlanInfeasible("no plan meets all of these constraints together: " + ", ".join(selection.conflicts),
                             selection.conflicts)
    if not selection.chosen:
        raise PlanInfeasible(f"the solver found no plan within {time_limit_s:g} s ({selection.status})", [])
    timings["choice"] = round(selection.seconds, 3)
    mark = lap("relaxation", mark)
    from advisor.portfolio.validate import validate  # noqa: PLC0415 - validate imports this module

    rejected: list[list[str]] = []     # what each plan that failed validation broke

    def packed(chosen: Selection) -> tuple[dict, Selection, list[dict], list[str]]:
        """The plan document of a choice with its clusters packed, and what it breaks (nothing, if valid)."""
        budget = min(0.15 * time_limit_s, started + 0.9 * time_limit_s - time.perf_counter())
        clusters = _clusters(catalog, workloads, chosen, budget_s=max(0.5, budget),
                             quota_keys=tuple(limits.quotas), patterns=tightened.packings)
        document = _document(catalog, portfolio, workloads, chosen, alone, fee_cents, clusters,
                             _hosts(workloads, chosen, host_prices))
        problems = validate(document, portfolio, catalog)
        if problems:
            rejected.append(problems)
        return (document, chosen, clusters, problems)

    # Plan B: the relaxation's choice, packed for real. Plan A: the choice as if nothing were pooled, packed.
    # Meanwhile, once the relaxation has converged, CP-SAT bounds the whole cut model with whole placements on
    # the second core (a little above the LP: another valid bound).
    with ThreadPoolExecutor(1) as background:
        frozen = {k: PoolModel(list(m.cuts), m.upfront_per_mille) for k, m in tightened.models.items()}
        bounding = background.submit(select, fluid_options, fee_cents, limits, time_limit_s=min(5.0, left(0.85)),
                                     host_prices=host_prices, pools=frozen,
                                     hint=_rounded(tightened.solution)) if tightened.converged else None
        pooled = _pooled_plans(tightened, relaxation, pools, options, fee_cents, limits, host_prices, packed,
                               deadline=time.perf_counter() + left(0.85))
        plans = [p[:3] for p in [*pooled.plans, packed(selection)] if not p[3]]
        integer_bound = bounding.result().bound_cents if bounding else None
    mark = lap("pooled choice and packing", mark)
    if not plans:
        raise RuntimeError("no plan passed validation")
    plan_doc, chosen, clusters = min(plans, key=lambda p: p[0]["totals"]["monthly_usd"])
    bounds = [b for b in (tightened.bound_cents, integer_bound) if b is not None]
    _prove(plan_doc, max(bounds) if bounds else None)
    plan_doc["explanation"] = _explain(portfolio, workloads, options, fee_cents, limits, chosen, alone,
                                       left(1.0), clusters, host_prices)
    lap("explanation", mark)
    plan_doc["solver"]["relaxation"] = {
        "iterations": tightened.iterations, "pattern_cuts": tightened.pattern_cuts, "converged": tightened.converged,
        "pools": len(pools), "seconds": round(tightened.seconds, 3),
        "lp_bound_monthly_usd": tightened.bound_cents / 100 if tightened.bound_cents is not None else None,
        "cp_sat_bound_monthly_usd": integer_bound / 100 if integer_bound is not None else None,
        "pooled_plans": pooled.notes, "rejected_plans": rejected,
        "plans_compared": [round(p[0]["totals"]["monthly_usd"], 2) for p in plans]}
    plan_doc["solver"]["timings"] = timings
    plan_doc["solver"]["seconds"] = round(time.perf_counter() - started, 3)
    problems = validate(plan_doc, portfolio, catalog)
    if problems:
        raise RuntimeError("plan failed validation: " + "; ".join(problems))
    return plan_doc


@dataclass
class _Pooled:
    plans: list[tuple[dict, Selection, list[dict], list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pooled_plans(tightened: Tightened, relaxation: Relaxation, pools: dict[str, Pool],
                  options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits, host_prices: dict,
                  packed, deadline: float) -> _Pooled:
    """Plan B: CP-SAT on the tightened cut model near the LP's choice (a workload the LP placed whole stays
    where it put it; the others choose among the options the LP used), mapped to real candidates and packed.

    The cut model prices pools at their packing LP bound, a little below whole nodes: when the packed plan
    spends over the budget or the upfront cap, the LP is solved again with that limit lowered by the excess
    (and 0.5 % more) and the choice made again, up to three times."""
    out = _Pooled()
    solution, current = tightened.solution, limits
    if solution is not None and solution.objective_cents is not None and (
            limits.max_upfront_cents is not None or limits.max_monthly_cents is not None):
        # Whole nodes cost a few % more than the packing LP: leave that much room from the start (6 % did best
        # on the synthetic 1,000-workload portfolio: one attempt; 2 % took three and ended dearer).
        room = PACKING_ROOM
        nodes = sum(solution.theta.values())
        nodes_upfront = sum(pools[k].upfront_ratio * v for k, v in solution.theta.items() if k in pools)
        roomy = dataclasses.replace(
            limits, max_monthly_cents=None if limits.max_monthly_cents is None
            else int(limits.max_monthly_cents - room * nodes),
            max_upfront_cents=None if limits.max_upfront_cents is None
            else int(limits.max_upfront_cents - room * nodes_upfront))
        relaxation.set_limit("max_monthly_usd", roomy.max_monthly_cents)
        relaxation.set_limit("max_upfront_usd", roomy.max_upfront_cents)
        again = relaxation.solve()
        if again.objective_cents is not None:
            solution, current = again, roomy
    for attempt in range(3):
        if solution is None or solution.objective_cents is None:
            out.notes.append(f"pooled choice {attempt + 1}: the LP has no solution")
            break
        left = deadline - time.perf_counter()
        if left <= 0.2:
            out.notes.append("no time left for a pooled choice")
            break
        reduced, hint = _near(solution, relaxation.options)
        chosen = select(reduced, fee_cents, current, time_limit_s=left, hint=hint, host_prices=host_prices,
                        pools=tightened.models)
        for _ in range(4):   # cuts at the chosen pools' whole demand, then choose again, while any cut is added
            if not chosen.chosen or deadline - time.perf_counter() < 0.5:
                break
            demand, priced = _chosen_demand(chosen, pools, tightened.models)
            if not separate(tightened, pools, demand, theta=priced, deadline=deadline)[0]:
                break
            hint = {w: reduced[w].index(o) for w, o in chosen.chosen.items()}
            again = select(reduced, fee_cents, current, time_limit_s=max(deadline - time.perf_counter(), 0.2),
                           hint=hint, host_prices=host_prices, pools=tightened.models)
            if not again.chosen:
                break
            chosen = again
        if not chosen.chosen:
            out.notes.append(f"pooled choice {attempt + 1}: {chosen.status}")
            break
        real = _pooled_choice(chosen, options, fee_cents, limits, host_prices, left)
        if real is None:
            break
        plan_b = packed(real)
        if not plan_b[3]:
            out.plans.append(plan_b)
            out.notes.append(f"pooled choice {attempt + 1}: ${plan_b[0]['totals']['monthly_usd']:,.2f} a month "
                             f"(the cut model priced it at ${chosen.objective_cents / 100:,.2f})")
            break
        current = _margin(current, plan_b[0]["totals"], limits)
        out.notes.append(f"pooled choice {attempt + 1}: over a limit once packed ({'; '.join(plan_b[3])}); "
                         "limits lowered by the excess")
        relaxation.set_limit("max_monthly_usd", current.max_monthly_cents)
        relaxation.set_limit("max_upfront_usd", current.max_upfront_cents)
        solution = relaxation.solve()
    relaxation.set_limit("max_monthly_usd", limits.max_monthly_cents)
    relaxation.set_limit("max_upfront_usd", limits.max_upfront_cents)
    return out


def _rounded(solution) -> dict[str, int]:
    """The option the LP used most, per workload (a hint)."""
    if solution is None or solution.objective_cents is None:
        return {}
    return {w: max(values, key=lambda i: (values[i], -i)) for w, values in solution.x.items() if values}


def _chosen_demand(chosen: Selection, pools: dict[str, Pool],
                   models: dict) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Replicas per pool and member in a choice, and what the cut model prices each pool at (cents)."""
    demand: dict[str, dict[str, float]] = defaultdict(dict)
    for w, o in chosen.chosen.items():
        if o.pool_key in pools:
            demand[o.pool_key][w] = pools[o.pool_key].members[w].count
    priced = {k: max((sum(c.get(w, 0) for w in members) for c in models[k].cuts), default=0) / 1000
              for k, members in demand.items()}
    return dict(demand), priced


def _near(solution, fluid_options: dict[str, list[Option]]) -> tuple[dict[str, list[Option]], dict[str, int]]:
    """Each workload's options the LP used (just one where it placed the workload whole), and a hint: the
    option it used most."""
    reduced: dict[str, list[Option]] = {}
    hint: dict[str, int] = {}
    for w, values in solution.x.items():
        support = sorted(i for i, v in values.items() if v > 1e-6) or sorted(values)
        top = max(support, key=lambda i: (values[i], -i))
        reduced[w], hint[w] = [fluid_options[w][i] for i in support], support.index(top)
    return reduced, hint


def _pooled_choice(relaxed: Selection, options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits,
                   host_prices: dict, time_limit_s: float) -> Selection | None:
    """The relaxation's choice, costed with the real candidates: fees, hosts and owned commitments for this
    choice (the portfolio's limits are checked on the packed plan)."""
    if not relaxed.chosen:
        return None
    fixed = {w: [next(r for r in options[w] if r.candidate is o.candidate)] for w, o in relaxed.chosen.items()}
    everything = frozenset({"max_monthly_usd", "max_upfront_usd", "max_spot_share",
                            *(f"vcpu_quotas.{r}.{k}" for r, k in limits.quotas)})
    chosen = select(fixed, fee_cents, limits, time_limit_s=min(time_limit_s, 2.0), host_prices=host_prices,
                    drop=everything)
    return chosen if chosen.chosen else None


def _margin(current: Limits, totals: dict, limits: Limits) -> Limits:
    """The cut model's budget and upfront cap lowered by what the packed plan spent over the real ones (and
    0.5 % of the limit more): the cut model prices pools at their packing LP bound, a little below whole nodes."""
    def lower(value: int | None, limit: int | None, spent_usd: float) -> int | None:
        if value is None or limit is None:
            return value
        excess = max(cents(spent_usd) - limit, 0)
        return int(value - excess - limit * 0.005) if excess else value

    return dataclasses.replace(
        current, max_monthly_cents=lower(current.max_monthly_cents, limits.max_monthly_cents, totals["monthly_usd"]),
        max_upfront_cents=lower(current.max_upfront_cents, limits.max_upfront_cents, totals["upfront_usd"]),
        quotas={k: int(v * 0.97) for k, v in current.quotas.items()})


def _prove(plan_doc: dict, bound_cents: int | None) -> None:
    """Status, bound and gap of the answered plan against the best proven lower bound."""
    solver, monthly = plan_doc["solver"], plan_doc["totals"]["monthly_usd"]
    bound = None if bound_cents is None else min(bound_cents / 100, monthly)
    solver.update({
        "status": "OPTIMAL" if bound is not None and monthly - bound <= 0.01 else "FEASIBLE",
        "bound_monthly_usd": round(bound, 2) if bound is not None else None,
        "gap": (round((monthly - bound) / monthly, 6) if monthly > 0 else 0.0) if bound is not None else None,
        "bound_basis": "LP relaxation of choice and packing together (pool cuts from packing-LP duals)"})


# ----------------------------------------------------------------------------- candidates as options
def _bounded(w: Workload, portfolio: Portfolio) -> Workload:
    """With an upfront cap on the portfolio, every workload keeps its whole monthly-vs-upfront frontier
    (an upfront cap of its own, set to the largest allowed value, turns that pruning mode on without
    excluding anything): the choice model then decides where the upfront cash goes."""
    if portfolio.constraints.max_upfront_usd is not None and w.max_upfront_usd is None:
        return w.model_copy(update={"max_upfront_usd": MAX_USD})
    return w


def _options(ctx: Context, workloads: dict[str, Workload]) -> tuple[dict[str, list[Option]], dict[str, list]]:
    specs = ctx.catalog.specs.select("instance_type", "vcpu", "family").to_dicts()
    vcpu_of = {r["instance_type"]: r["vcpu"] for r in specs}
    family_of = {r["instance_type"]: r["family"] for r in specs}
    options: dict[str, list[Option]] = {}
    rejections: dict[str, list] = {}
    prefetch(list(workloads.values()), catalog=ctx.catalog)  # every frontier computed in bulk first
    by_shape: dict[str, tuple[list, list[Candidate]]] = {}   # workloads alike but for their id share candidates
    for wid in sorted(workloads):
        w = workloads[wid]
        shape = w.model_dump_json(exclude={"id"})
        if shape not in by_shape:
            generated = generate_all(w, ctx)
            by_shape[shape] = (generated.rejections, [c for c in sorted(generated.candidates, key=lambda c: c.sort_key)
                                                      if within_caps(c, w.max_monthly_usd, w.max_upfront_usd)])
        rejections[wid], candidates = by_shape[shape]
        options[wid] = [_option(wid, w, c, vcpu_of, family_of) for c in candidates]
    return options, rejections


def _option(wid: str, w: Workload, c: Candidate, vcpu_of: dict, family_of: dict) -> Option:
    fees, shared = [], 0.0
    for line in c.lines:
        for prefix, kind in FEE_PREFIXES.items():
            if line.item.startswith(prefix):
                fees.append(f"{kind}:{w.region}")
                shared += cents(line.monthly_usd)
    if c.service in INSTANCE_SERVICES and c.instance_type and c.tenancy != "host":
        vcpu = vcpu_of.get(c.instance_type, 0) * c.count
    elif c.service in ("ecs_fargate", "eks_fargate") or c.config.get("compute_environment", "").startswith("FARGATE"):
        vcpu = c.config.get("task_vcpu", 0) * c.count
    else:
        vcpu = 0.0
    standard = (c.service in INSTANCE_SERVICES and c.instance_type is not None and c.tenancy != "host"
                and family_of.get(c.instance_type, "x")[0] in STANDARD_FAMILIES)
    quota = ("spot" if c.purchase_option == "spot" else "on_demand") if standard else None
    compute = next((x for x in c.lines), None)
    on_demand = c.purchase_option == "on_demand" and c.tenancy == "shared"
    host_key, host_milli, upfront = None, 0, cents(c.upfront_usd)
    if c.tenancy == "host":  # the hosts themselves become a shared variable of the model
        host_key = f"host:{w.region}:{c.config['host_family']}:{c.purchase_option}:{c.term}:{c.payment}"
        host_milli = math.ceil(w.replicas * 1000 / c.config["instances_per_host"])
        shared += cents(compute.monthly_usd)
        upfront = 0
    clustered = c.service in CLUSTER_SERVICES and c.tenancy != "host"
    # A cluster's nodes may be shared with other workloads: its workloads count the vCPU their pods request in
    # the spot share, the quota counts the nodes, and owned commitments are applied to instances outside clusters.
    quota_milli = round(vcpu * 1000) if clustered else None
    if clustered:
        vcpu = int(c.config.get("replicas", w.replicas)) * w.vcpu
    covered = on_demand and compute is not None and not clustered
    ri_key = (c.instance_type, w.region) if covered and c.service in INSTANCE_SERVICES and c.instance_type else None
    return Option(
        workload=wid, candidate=c, cost_cents=sum(cents(x.monthly_usd) for x in c.lines) - int(shared),
        upfront_cents=upfront, vcpu_milli=round(vcpu * 1000), host_key=host_key, host_milli=host_milli,
        spot=c.purchase_option == "spot" and vcpu > 0, quota=quota, region=w.region, fees=tuple(sorted(set(fees))),
        ri_key=ri_key, ri_unit_cents=cents(compute.monthly_usd) // max(c.count, 1) if ri_key else 0,
        sp_cents=cents(compute.monthly_usd) if covered and c.service != "lightsail" else 0, quota_milli=quota_milli)


def _host_prices(options: dict[str, list[Option]]) -> dict[str, HostPrice]:
    """One host's monthly cost and upfront per host key (from any candidate of that key: all agree)."""
    prices: dict[str, HostPrice] = {}
    for opts in options.values():
        for o in opts:
            if o.host_key and o.host_key not in prices:
                c = o.candidate
                hosts = c.config["hosts"]
                prices[o.host_key] = HostPrice(cents(c.lines[0].monthly_usd / hosts), cents(c.upfront_usd / hosts))
    return prices


def _fee_cents(options: dict[str, list[Option]]) -> dict[str, int]:
    fees: dict[str, int] = {}
    for opts in options.values():
        for o in opts:
            for line in o.candidate.lines:
                for prefix, kind in FEE_PREFIXES.items():
                    if line.item.startswith(prefix):
                        key = f"{kind}:{o.region}"
                        fees[key] = max(fees.get(key, 0), cents(line.monthly_usd))
    return fees


def _limits(catalog: Catalog, portfolio: Portfolio, options: dict[str, list[Option]]) -> Limits:
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
    ratio = next(r["hourly_ratio"] for r in catalog.facts.value("savings_plans.ratios")
                 if r.get("plan", r.get("plan_type")) == "compute" and r["term"] == "1yr"
                 and r["payment"].lower().startswith("no"))
    return Limits(
        max_monthly_cents=cents(c.max_monthly_usd) if c.max_monthly_usd is not None else None,
        max_upfront_cents=cents(c.max_upfront_usd) if c.max_upfront_usd is not None else None,
        max_spot_share_milli=round(c.max_spot_share * 1000) if c.max_spot_share is not None else None,
        quotas=quotas, ri_owned=dict(owned),
        sp_cover_cents=cents(c.existing_commitments.savings_plan_usd_per_hour * 730 / ratio))


def _alone_key(o: Option, w: Workload) -> tuple:
    """What recommend() would pick for this workload alone (the same order, fees included)."""
    from advisor.optimize.choose import OPS_WEIGHTS

    return (cents(o.candidate.monthly_usd) * OPS_WEIGHTS[w.ops.value][o.candidate.ops_effort], o.candidate.sort_key)


def _fluid(catalog: Catalog, workloads: dict[str, Workload],
           options: dict[str, list[Option]]) -> tuple[dict[str, list[Option]], dict[str, Pool]]:
    """The options with every ECS/EKS node-group candidate's nodes taken out, and the node pools that
    price those replicas instead (through cuts: `pool_cuts.py`).

    A pool is (service, region, OS, tenancy, purchase option, schedule, horizon, architecture): the
    workloads placed in it may share nodes. A pooled option keeps its other cost lines, fees and the vCPU
    its pods request (spot share); its node cost and upfront move to the pool, and its quota use becomes
    X Options in dominated pools are left out (`pool_cuts.dominated`). The choice
    model on these options, with each pool costing at least its cuts, bounds every plan from below,
    pooling included.
    """
    from advisor.portfolio.clusters import group_prices

    priced: dict[tuple, GroupPrices] = {}
    members: dict[str, dict[str, PodShape]] = defaultdict(dict)
    other: dict[str, dict[str, int]] = defaultdict(dict)
    described: dict[str, tuple] = {}

    def pool_of(w: Workload, c: Candidate) -> str:
        option = (c.purchase_option, c.term, c.offering_class, c.plan_type, c.payment)
        kind = (c.service, w.region, w.os.value, c.tenancy, w.hours_per_month, w.horizon_months, w.arch.value)
        key = "|".join(str(x) for x in (*kind[:4], *option, *kind[4:]))
        if key not in described:
            group = kind[:6]
            if group not in priced:
                priced[group] = group_prices(catalog, *group)
            prices = priced[group]
            allowed = prices.arch == w.arch.value if w.arch.value != "any" else np.ones(len(prices.names), dtype=bool)
            described[key] = (kind, c.purchase_option == "spot", prices, option, allowed)
        return key

    out: dict[str, list[Option]] = {}
    for wid, opts in options.items():
        w = workloads[wid]
        relaxed = []
        for o in opts:
            c = o.candidate
            if c.service not in CLUSTER_SERVICES or c.tenancy == "host":
                relaxed.append(o)
                continue
            if w.job_shaped:    # nodes only while its jobs run: never pooled, exactly as priced
                relaxed.append(o)
                continue
            node_line = cents(c.lines[0].monthly_usd)
            units = int(c.config.get("replicas", w.replicas))
            key = pool_of(w, c)
            members[key][wid] = PodShape(key=wid, vcpu=w.vcpu, memory_gib=w.memory_gib, gpus=w.gpus,
                                         gpu_model=w.gpu_model, count=units)
            other[key][wid] = min(other[key].get(wid, o.cost_cents - node_line), o.cost_cents - node_line)
            relaxed.append(dataclasses.replace(
                o, cost_cents=o.cost_cents - node_line, upfront_cents=0, quota_milli=0, pool_key=key,
                pool_demand=(round(units * w.vcpu * 1000), round(units * w.memory_gib * 1000), units * 1000,
                             units * w.gpus * 1000)))
        out[wid] = relaxed
    pools = {k: Pool(k, *described[k], members=dict(m), other_cents=dict(other[k])) for k, m in sorted(members.items())}
    gone = dominated(pools)
    out = {w: [o for o in opts if o.pool_key not in gone] for w, opts in out.items()}
    return out, {k: p for k, p in pools.items() if k not in gone}


# ----------------------------------------------------------------------------- shared capacity
def _clusters(catalog: Catalog, workloads: dict[str, Workload], selection: Selection, *, budget_s: float,
              quota_keys: tuple = (), patterns: dict | None = None) -> list[dict[str, Any]]:
    """Workloads on the same kind of node group share one cluster's nodes, packed together."""
    from advisor.portfolio.clusters import pack_pool

    patterns = patterns or {}
    pools: dict[tuple, list[str]] = defaultdict(list)
    for wid, o in sorted(selection.chosen.items()):
        c = o.candidate
        if c.service in CLUSTER_SERVICES and c.tenancy != "host":
            w = workloads[wid]
            key = (c.service, w.region, w.os.value, c.tenancy, c.purchase_option, c.term, c.offering_class,
                   c.plan_type, c.payment, w.horizon_months, w.hours_per_month, w.arch.value)
            # A job-shaped node group (nodes only while its jobs run) keeps a cluster of its own.
            pools[(key, wid if w.job_shaped else "")].append(wid)
    size = {k: sum(int(selection.chosen[w].candidate.config.get("replicas", workloads[w].replicas)) for w in m)
            for k, m in pools.items()}
    total = sum(size.values()) or 1      # packing time shared by replicas: large pools are where it pays
    def seeded(key: tuple) -> list:   # patterns the relaxation generated for this pool, if any
        name = "|".join(str(x) for x in (*key[:9], key[10], key[9], key[11]))
        return patterns[name].named_patterns() if name in patterns else []

    return [pack_pool(catalog, key, [workloads[w] for w in members], [selection.chosen[w] for w in members],
                      time_limit_s=max(0.03, budget_s * size[(key, job)] / total),
                      keep_vcpu=any(r == key[1] for r, _ in quota_keys), own=bool(job),
                      patterns=seeded(key))
            for (key, job), members in sorted(pools.items(), key=str)]


def _hosts(workloads: dict[str, Workload], selection: Selection,
           host_prices: dict[str, HostPrice]) -> list[dict[str, Any]]:
    """The Dedicated Hosts the model bought, with the instances each family's hosts carry."""
    out = []
    for key, count in sorted(selection.hosts.items()):
        _, region, family, option, term, payment = key.split(":")
        members = {w: o.candidate for w, o in selection.chosen.items() if o.host_key == key}
        standalone = sum(c.config["hosts"] for c in members.values())
        out.append({"id": key, "region": region, "family": family, "purchase_option": option,
                    "term": None if term == "None" else term, "payment": None if payment == "None" else payment,
                    "count": count, "monthly_usd_per_host": host_prices[key].monthly_cents / 100,
                    "upfront_usd_per_host": host_prices[key].upfront_cents / 100,
                    "instances": {w: {"instance_type": c.instance_type, "count": workloads[w].replicas,
                                      "instances_per_host": c.config["instances_per_host"]}
                                  for w, c in sorted(members.items())},
                    "standalone_hosts": standalone})
    return out


# ----------------------------------------------------------------------------- the answer
def _document(catalog: Catalog, portfolio: Portfolio, workloads: dict[str, Workload], selection: Selection,
              alone: dict[str, Option], fee_cents: dict[str, int], clusters: list[dict], hosts: list[dict]) -> dict:
    placements = []
    for wid in [w.id for w in portfolio.workloads]:
        o = selection.chosen[wid]
        placements.append({"workload_id": wid, "choice": to_option(o.candidate).model_dump(),
                           "shared_fees": list(o.fees), "shared_hosts": o.host_key,
                           "covered_by_owned_reserved": selection.ri_used.get(wid, 0),
                           "covered_by_owned_savings_plan_usd": round(selection.sp_used_cents.get(wid, 0) / 100, 2)})
    fees = sum(fee_cents[k] for k in selection.fees_paid)
    packing_savings = sum(c["standalone_monthly_usd"] - c["monthly_usd"] for c in clusters)
    host_savings = sum((h["standalone_hosts"] - h["count"]) * h["monthly_usd_per_host"] for h in hosts)
    monthly = selection.objective_cents / 100 - packing_savings  # host sharing is in the model's objective
    alone_total = sum(cents(alone[w].candidate.monthly_usd) for w in alone) / 100
    commitments = _commitments(portfolio, selection)
    in_clusters = {w for c in clusters for w in c["members"]}
    upfront = (sum(o.upfront_cents for w, o in selection.chosen.items() if w not in in_clusters) / 100
               + sum(c["upfront_usd"] for c in clusters) + sum(h["count"] * h["upfront_usd_per_host"] for h in hosts))
    return {
        "placements": placements,
        "shared": {"clusters": clusters, "hosts": hosts, "commitments": commitments,
                   "fees": [{"fee": k, "monthly_usd": fee_cents[k] / 100} for k in selection.fees_paid]},
        "totals": {"monthly_usd": round(monthly, 2),
                   "upfront_usd": round(upfront, 2),
                   "alone_monthly_usd": round(alone_total, 2), "shared_fees_monthly_usd": fees / 100,
                   "packing_savings_monthly_usd": round(packing_savings, 2),
                   "host_sharing_savings_monthly_usd": round(host_savings, 2)},
        "solver": {"status": "FEASIBLE", "objective_monthly_usd": round(monthly, 2), "bound_monthly_usd": None,
                   "gap": None, "seconds": selection.seconds, "choice_status": selection.status},
        "catalog": {"version": catalog.version, "as_of": catalog.as_of},
    }


def _commitments(portfolio: Portfolio, selection: Selection) -> list[dict[str, Any]]:
    """The commitments the plan buys (per placement) and those it uses (already owned)."""
    bought: dict[tuple, int] = defaultdict(int)
    for o in selection.chosen.values():
        c = o.candidate
        if c.purchase_option in ("reserved", "savings_plan"):
            bought[(c.purchase_option, c.instance_type or c.service, o.region, c.term, c.offering_class or c.plan_type,
                    c.payment)] += c.count
    out = [{"kind": k[0], "covers": k[1], "region": k[2], "term": k[3], "class_or_plan": k[4], "payment": k[5],
            "units": n, "owned": False} for k, n in sorted(bought.items(), key=str)]
    owned = portfolio.constraints.existing_commitments
    for h in owned.reserved:
        used = sum(n for w, n in selection.ri_used.items()
                   if selection.chosen[w].ri_key == (h.instance_type, h.region))
        out.append({"kind": "reserved", "covers": h.instance_type, "region": h.region, "units": h.count,
                    "used": used, "owned": True})
    if owned.savings_plan_usd_per_hour:
        out.append({"kind": "savings_plan", "usd_per_hour": owned.savings_plan_usd_per_hour, "owned": True,
                    "covered_on_demand_monthly_usd": round(sum(selection.sp_used_cents.values()) / 100, 2)})
    return out


def _explain(portfolio: Portfolio, workloads: dict[str, Workload], options: dict[str, list[Option]],
             fee_cents: dict[str, int], limits: Limits, selection: Selection, alone: dict[str, Option],
             time_limit_s: float, clusters: list[dict], host_prices: dict[str, HostPrice]) -> dict[str, Any]:
    changed = []
    for wid, o in sorted(selection.chosen.items()):
        a = alone[wid].candidate
        if o.candidate is not a:
            changed.append({"workload_id": wid, "alone": _label(a), "alone_monthly_usd": a.monthly_usd,
                            "in_portfolio": _label(o.candidate), "monthly_usd": o.candidate.monthly_usd})
    fees_alone = sum(line.monthly_usd for o in alone.values() for line in o.candidate.lines
                     if any(line.item.startswith(p) for p in FEE_PREFIXES))
    binding = []
    active = [name for name in ("max_monthly_usd", "max_upfront_usd", "max_spot_share") if _set(limits, name)]
    active += [f"vcpu_quotas.{r}.{k}" for (r, k) in sorted(limits.quotas)]
    hint = {w: next(i for i, x in enumerate(options[w]) if x.candidate is o.candidate)
            for w, o in selection.chosen.items()}
    rounds = max(1, math.ceil(len(active) / 2))

    def without(name: str) -> Selection:   # the choice model re-solved with one constraint left out
        return select(options, fee_cents, limits, time_limit_s=min(5.0, max(0.5, time_limit_s / rounds)), hint=hint,
                      drop=frozenset({name}), host_prices=host_prices)

    with ThreadPoolExecutor(2) as pool:    # two at a time: CP-SAT releases the GIL
        resolved = list(pool.map(without, active))
    for name, relaxed in zip(active, resolved, strict=True):
        if relaxed.objective_cents is not None and relaxed.objective_cents < selection.objective_cents:
            saving = (selection.objective_cents - relaxed.objective_cents) / 100
            binding.append({"constraint": name, "monthly_usd_if_relaxed": relaxed.objective_cents / 100,
                            "costs_monthly_usd": round(saving, 2),
                            "message": f"{name} costs ${saving:,.2f} a month"})
    return {
        "changed_against_alone": changed,
        "shared_fees": {"paid_once_monthly_usd": sum(fee_cents[k] for k in selection.fees_paid) / 100,
                        "alone_would_pay_monthly_usd": round(fees_alone, 2)},
        "packing": [{"cluster": c["id"], "standalone_monthly_usd": c["standalone_monthly_usd"],
                     "packed_monthly_usd": c["monthly_usd"]} for c in clusters],
        "binding_constraints": binding,
    }


def _set(limits: Limits, name: str) -> bool:
    return {"max_monthly_usd": limits.max_monthly_cents, "max_upfront_usd": limits.max_upfront_cents,
            "max_spot_share": limits.max_spot_share_milli}[name] is not None


def _label(c: Candidate) -> str:
    parts = [c.service, c.instance_type or "", c.purchase_option, c.term or "", c.payment or ""]
    return " ".join(p for p in parts if p)
