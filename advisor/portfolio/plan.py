"""Plan a portfolio: one placement per workload, chosen together under the portfolio's constraints, with
shared capacity (clusters, Dedicated Hosts, commitments), a proven lower bound and an explanation.

Steps: (1) every workload's candidates, as for one recommendation (workloads alike but for their id share
them); (2) the CP-SAT choice as if nothing were pooled (`select.py`: fees paid once, shared hosts, owned
commitments, budget, upfront cap, spot share, quotas), on the second core, while (3) the relaxation with
node pools priced by cuts is tightened to the LP bound of choice and packing together (`pooled.py`,
`pool_cuts.py`, `relaxation.py`); (4) plan B, the pooled choice from that relaxation, plans searched from
it (the whole-node search of `search.py`, or whole-node rounds) and plan A, the choice from (2), each
packed for real (`clusters.py`, `packing.py`) and validated: the cheapest is answered with the best bound
proven (the LP's, the whole-node bound of `lagrangian.py`, CP-SAT's on the cut model: on a small portfolio
with whole nodes of every type, its choice packed as one more plan); (5) the
explanation: what the portfolio changed against choosing alone, and the price of each binding constraint
(the choice model re-solved with it left out); (6) `validate.py` re-checks the answer independently.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from advisor.candidates.base import Candidate, Context
from advisor.candidates.registry import generate_all
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import InputError
from advisor.optimize.choose import cents, within_caps
from advisor.portfolio import clock
from advisor.portfolio.allocation import cluster_weights, fee_weights, host_weights, largest_remainder
from advisor.portfolio.clusters import GroupPrices
from advisor.portfolio.facts import (
    compute_of,
    fee_kind,
    reserved_instances_cover,
    savings_plan_covers,
    shares_nodes,
    sp_cover_cents,
    standard_quota,
)
from advisor.portfolio.keys import ClusterKey, HostKey, PoolKey
from advisor.portfolio.lagrangian import decompose
from advisor.portfolio.packing import NODE_MODEL_MAX, shape_class
from advisor.portfolio.pool_cuts import Pool, tighten
from advisor.portfolio.pooled import packed_choice, pooled_plans, pools_and_options
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.select import HostPrice, Limits, Option, PoolModel, Selection, select
from advisor.portfolio.whole_nodes import undominated_types
from advisor.recommend import prefetch, to_option
from advisor.workload_io import describe, field_errors
from models.portfolio import PlanDocument, Portfolio
from models.workload import MAX_USD, Workload

PLAN_PACKING_SHARE = 0.1   # packing one plan's pools may take this share of the time limit
PACKING_SHARE = 8   # a pool's packing time limit: this many times its share of the replicas of the budget
# Packing searches small pools node by node too (`packing.pack`) when a plan's packing has this long: better
# packings, but the time it takes starves the other pools when the budget is short (20 s limit); then small
# pools short of their bound are packed again that way in the time the others leave
NODE_SEARCH_BUDGET_S = 3.0
WHOLE_NODE_BOUND_PAIRS = 6000   # CP-SAT's bound prices pools at whole nodes up to this many shapes x node types
BOUND_PLAN_PACKING_SHARE = 0.05  # then its choice is packed as a plan too, in this share of the time limit
log = logging.getLogger("advisor.portfolio")


class PlanInfeasible(InputError):
    """No plan meets the portfolio's constraints; `conflicts` names the constraints that clash.

    Picklable (it crosses from an API worker process to the server): every argument has a default, so
    unpickling's `PlanInfeasible(message)` works and the attributes come back from its `__dict__`."""

    def __init__(self, message: str, conflicts: list[str] | tuple[str, ...] = ()):
        super().__init__(message, field="constraints")
        self.conflicts = list(conflicts)


def parse(doc: Any) -> Portfolio:
    try:
        return Portfolio.model_validate(doc)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InputError(describe(errors), field=errors[0]["field"]) from None


def plan(doc: Any, *, catalog: Catalog | None = None, time_limit_s: float = 20.0) -> dict[str, Any]:
    """The contract's plan for a portfolio document {"workloads": [...], "constraints": {...}}.

    `time_limit_s` bounds the whole answer: after the candidates, the choice (up to a quarter of what is left),
    the prices of its binding constraints (until 45 % of the time) and the choice packed (plan A, in up to 10 %)
    run on the second core while the relaxation is tightened (until 60 %); then the pooled choice is made (until
    68 %) and packed (plan B, 10 %), the whole-node search (or, short of time, whole-node rounds) looks for a
    cheaper plan (until 88 %) and the bounds take what is left until 95 % (each phase at least a little, so a
    tiny limit still answers)."""
    wall_started = time.perf_counter()
    work = clock.Clock(wall_deadline=wall_started + clock.WALL_FACTOR * time_limit_s + clock.WALL_GRACE_S)
    token = clock.use(work)
    try:
        return _plan(doc, catalog, time_limit_s, wall_started, work)
    finally:
        clock.reset(token)


def _plan(doc: Any, catalog: Catalog | None, time_limit_s: float, wall_started: float,
          work: clock.Clock) -> dict[str, Any]:
    started = 0.0    # every phase's limit is on the planner's clock (deterministic); timings are wall seconds
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    def left(until: float) -> float:
        return max(started + until * time_limit_s - clock.now(), 0.5)

    portfolio = doc if isinstance(doc, Portfolio) else parse(doc)
    catalog = catalog or load_catalog()
    ctx = Context(catalog)
    workloads = {w.id: bounded(w, portfolio) for w in portfolio.workloads}
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
    offered = {w: [o.candidate for o in opts] for w, opts in options.items()}   # what the auditor matches
    mark = lap("candidates", wall_started)
    from advisor.portfolio.validate import validate  # noqa: PLC0415 - validate imports this module

    book: dict[tuple, GroupPrices] = {}   # node prices per kind of node group, shared by the relaxation and packing
    rejected: list[list[str]] = []        # what each plan that failed validation broke

    def packed(chosen: Selection, share: float, patterns: dict | None,
               cache: dict | None = None) -> tuple[dict, Selection, list[dict], list[str]]:
        """The plan document of a choice with its clusters packed (in up to `share` of the time limit, and not
        past 95 % of it), and what it breaks (nothing, if valid)."""
        budget = min(share * time_limit_s, started + 0.95 * time_limit_s - clock.now())
        clusters = _clusters(catalog, workloads, chosen, budget_s=max(0.3, budget), quota_keys=tuple(limits.quotas),
                             patterns=patterns, book=book, cache=cache)
        document = _document(catalog, portfolio, workloads, chosen, alone, fee_cents, clusters,
                             _hosts(workloads, chosen, host_prices))
        problems = validate(document, portfolio, catalog, offered)
        if problems:
            rejected.append(problems)
        return (document, chosen, clusters, problems)

    def plan_a(choosing) -> tuple | None:
        """Plan A: the choice as if nothing were pooled, packed (None if the choice has no plan)."""
        chosen = choosing.result()
        return packed(chosen, PLAN_PACKING_SHARE, None) if chosen.chosen else None

    # On the second core (CP-SAT releases the GIL): the choice as if nothing were pooled, the prices of its
    # binding constraints, then plan A; meanwhile the relaxation is built and tightened on this core.
    with ThreadPoolExecutor(1) as background:
        second = work.fork()   # the second core's work, on a clock of its own (deterministic either way)
        choosing = background.submit(clock.running_on(second, select), options, fee_cents, limits,
                                     time_limit_s=max(1.0, left(1.0) / 4), hint=hint, host_prices=host_prices)
        pricing = background.submit(clock.running_on(second, _binding_prices), options, fee_cents, limits, choosing,
                                    host_prices, deadline=started + 0.45 * time_limit_s)
        packing_a = background.submit(clock.running_on(second, plan_a), choosing)
        # The relaxation: cluster nodes priced per pool by cuts, tightened until every pool it uses is priced at
        # its packing LP bound: a lower bound on every plan, pooling included.
        fluid_options, pools = pools_and_options(catalog, workloads, options, book)
        relaxation = Relaxation(fluid_options, fee_cents, limits, host_prices,
                                {k: p.upfront_ratio for k, p in pools.items()})
        tightened = tighten(relaxation, pools, deadline=clock.now() + left(0.6))
        selection = choosing.result()
        if selection.status == "UNKNOWN":   # no plan in its share of a tiny limit: a plan is owed, so try longer
            selection = select(options, fee_cents, limits, time_limit_s=max(5.0, 0.25 * time_limit_s), hint=hint,
                               host_prices=host_prices)
        if selection.status == "INFEASIBLE":
            raise PlanInfeasible("no plan meets all of these constraints together: "
                                 + ", ".join(selection.conflicts), selection.conflicts)
        if not selection.chosen:
            raise PlanInfeasible(f"the solver found no plan within {time_limit_s:g} s ({selection.status})", [])
        timings["choice"] = round(selection.seconds, 3)
        mark = lap("relaxation", mark)
        # Plan B: the relaxation's choice, packed for real, and plans searched from it (the whole-node search, or
        # whole-node rounds when time is short). Then, in the time left (up to 95 %), two bounds side by side:
        # the relaxation at its last LP decomposed by Lagrange, each part solved with whole nodes (at least the
        # LP's: `lagrangian.py`), and CP-SAT on the cut model with whole placements.
        parts = decompose(relaxation)
        pooled_packings: dict = {}   # the pooled plans' packed pools, reused where a later plan keeps them
        def pack_pooled(chosen: Selection) -> tuple:
            return packed(chosen, PLAN_PACKING_SHARE, tightened.packings, pooled_packings)

        pooled = pooled_plans(tightened, relaxation, pools, options, fee_cents, limits, host_prices, pack_pooled,
                              deadline=clock.now() + left(0.68), search_until=started + 0.88 * time_limit_s,
                              pack_s=PLAN_PACKING_SHARE * time_limit_s)
        # plan A, packed on the second core (or here, when the choice was retried)
        plan_a_packed = packing_a.result() or packed(selection, PLAN_PACKING_SHARE, None)
        plans = [p[:3] for p in [*pooled.plans, plan_a_packed] if not p[3]]
        mark = lap("plans", mark)
        bound_until = started + 0.95 * time_limit_s
        whole, cutting, exact_nodes = None, None, False
        if bound_until - clock.now() > 0.5:
            if tightened.converged:   # CP-SAT's bound on the cut model with whole placements, on the second core
                bound_models, exact_nodes = _bound_models(tightened.models, pools)
                # With whole nodes its choice is a plan too: it takes what is left but the time to pack that plan
                left_s = bound_until - clock.now()
                cutting = background.submit(clock.running_on(work.fork(), select), fluid_options, fee_cents, limits,
                                            host_prices=host_prices,
                                            time_limit_s=max(0.5, left_s - BOUND_PLAN_PACKING_SHARE * time_limit_s)
                                            if exact_nodes else min(5.0, left_s), pools=bound_models)
            if parts is not None:
                whole = parts.solve(pools, bound_until)
        cut = cutting.result() if cutting else None
        cut_bound = cut.bound_cents if cut and cut.bound_cents and cut.bound_cents > 0 else None   # 0: none proven
        if exact_nodes and cut.chosen:   # priced at whole nodes of every type: a plan worth packing
            bound_plan = packed_choice(pooled, "the bound model's choice", cut, options, fee_cents, limits,
                                       host_prices, pack_pooled, started + time_limit_s, priced=True)
            if bound_plan is not None and not bound_plan[3]:
                plans.append(bound_plan[:3])
        integer_bound = max((b for b in (whole.bound_cents if whole else None, cut_bound) if b is not None),
                            default=None)
        binding = pricing.result()
    mark = lap("bounds", mark)
    if not plans:
        raise RuntimeError("no plan passed validation: " + " | ".join("; ".join(r[:3]) for r in rejected[:3]))
    plan_doc, chosen, clusters = min(plans, key=lambda p: p[0]["totals"]["monthly_usd"])
    bounds = [b for b in (tightened.bound_cents, integer_bound) if b is not None]
    _prove(plan_doc, max(bounds) if bounds else None)
    plan_doc["explanation"] = _explain(chosen, alone, fee_cents, clusters, binding)
    lap("explanation", mark)
    plan_doc["solver"]["relaxation"] = {
        "iterations": tightened.iterations, "pattern_cuts": tightened.pattern_cuts, "converged": tightened.converged,
        "pools": len(pools), "seconds": round(tightened.seconds, 3),
        "lp_bound_monthly_usd": tightened.bound_cents / 100 if tightened.bound_cents is not None else None,
        "whole_node_bound_monthly_usd": whole.bound_cents / 100 if whole and whole.bound_cents is not None else None,
        "cp_sat_bound_monthly_usd": cut_bound / 100 if cut_bound is not None else None,
        "whole_node_components": {"solved": whole.components, "proven": whole.proven} if whole else None,
        "pooled_plans": pooled.notes, "rejected_plans": sorted(rejected),
        "plans_compared": [round(p[0]["totals"]["monthly_usd"], 2) for p in plans]}
    plan_doc["solver"]["timings"] = timings
    plan_doc["solver"]["seconds"] = round(time.perf_counter() - wall_started, 3)
    plan_doc["solver"]["work"] = {
        "time_limit_nominal_s": time_limit_s, "used_nominal_s": round(clock.now(), 3),
        "wall_clock_safety_net_s": round(clock.WALL_FACTOR * time_limit_s + clock.WALL_GRACE_S, 3),
        "wall_clock_stopped": list(work.tripped),
        "reproducible": not work.tripped}
    plan_doc = PlanDocument.model_validate(plan_doc).model_dump(mode="json")   # the typed answer, as JSON
    problems = validate(plan_doc, portfolio, catalog, offered)
    if problems:
        raise RuntimeError("plan failed validation: " + "; ".join(problems))
    return plan_doc


TIMING_FIELDS = (("solver", "seconds"), ("solver", "timings"), ("solver", "relaxation", "seconds"))


def without_timings(plan_doc: dict[str, Any]) -> dict[str, Any]:
    """The plan without its wall-clock timings (`TIMING_FIELDS`): the part that is the same, byte for byte, on
    every run with the same input and time limit (unless `solver.work.wall_clock_stopped` names a phase)."""
    out = copy.deepcopy(plan_doc)
    for path in TIMING_FIELDS:
        holder = out
        for key in path[:-1]:
            holder = holder.get(key, {})
        holder.pop(path[-1], None)
    return out


def _bound_models(models: dict[PoolKey, PoolModel],
                  pools: dict[PoolKey, Pool]) -> tuple[dict[PoolKey, PoolModel], bool]:
    """The cut model's pools for CP-SAT's bound, and whether whole nodes were added: when the portfolio is small
    (at most WHOLE_NODE_BOUND_PAIRS member shapes x node types over its pools) each pool is also priced at whole
    nodes of every type on offer to it (`whole_nodes.py`: a relaxation of packing, so still a bound). Then its
    optimum is nearly the plan's and its choice a plan worth packing (synthetic portfolios of 20 and 30
    workloads: plans 0.9 % and 0.3 % cheaper than the search's, proven optimal; the example: gap 0.29 % -> 0). Larger
    models prove and find less than the cuts alone (50 workloads: $5,963 against $5,978, nothing better found
    in 13 s; 100 workloads: nothing proven in 5 s)."""
    pairs = 0
    shapes = {k: list({shape_class(s): s for s in p.members.values()}.values()) for k, p in pools.items()}
    for k in sorted(pools, key=lambda k: (-len(shapes[k]), k)):   # the largest first: a large portfolio stops early
        pairs += len(shapes[k]) * len(undominated_types(pools[k].types, shapes[k]))
        if pairs > WHOLE_NODE_BOUND_PAIRS:
            return models, False
    return {k: PoolModel(m.cuts, m.upfront_per_mille, whole_nodes=(pools[k].members, pools[k].types)) if k in pools
            else m for k, m in models.items()}, True


def _proven(monthly_usd: float, bound_usd: float) -> bool:
    """The plan is proven optimal: its bound is within a cent or a hundred-thousandth of it (bounds floor each
    node's price to whole cents; the choice model is proven to a millionth)."""
    return round(monthly_usd * 100) - round(bound_usd * 100) <= max(1, round(monthly_usd * 100 * 1e-5))


def _bound_defect(monthly_usd: float, bound_usd: float) -> bool:
    """A lower bound above the plan by more than the rounding tolerance of `_proven`: the bound is wrong."""
    return round(bound_usd * 100) - round(monthly_usd * 100) > max(1, round(monthly_usd * 100 * 1e-5))


def _prove(plan_doc: dict, bound_cents: int | None) -> None:
    """Status, bound and gap of the answered plan against the best proven lower bound, reported as computed.
    A bound above the plan beyond the tolerance is a defect (a bug in a bound, or a plan priced wrong): it is
    logged and reported in `solver.defects`, the status stays FEASIBLE and the gap shows it (negative)."""
    solver, monthly = plan_doc["solver"], plan_doc["totals"]["monthly_usd"]
    bound = None if bound_cents is None else bound_cents / 100
    defects = [f"{c['id']}: {c['bound_defect']}" for c in plan_doc["shared"]["clusters"] if c.get("bound_defect")]
    if bound is not None and _bound_defect(monthly, bound):
        defects.append(f"bound defect: the proven lower bound ${bound:,.2f} is above the plan's ${monthly:,.2f}")
    for defect in defects:
        log.error("plan %s", defect)
    solver.update({
        "status": "OPTIMAL" if bound is not None and _proven(monthly, bound) and not defects else "FEASIBLE",
        "bound_monthly_usd": round(bound, 2) if bound is not None else None,
        "gap": (round((monthly - bound) / monthly, 6) if monthly > 0 else 0.0) if bound is not None else None,
        "defects": defects,
        "bound_basis": "LP relaxation of choice and packing together (pool cuts from packing-LP duals), raised by "
                       "whole nodes per pool (Lagrangian decomposition at the LP's duals) or whole placements "
                       "(CP-SAT on the cut model, with whole nodes per pool on small portfolios)"})


# ----------------------------------------------------------------------------- candidates as options
def bounded(w: Workload, portfolio: Portfolio) -> Workload:
    """With an upfront cap on the portfolio, every workload keeps its whole monthly-vs-upfront frontier
    (an upfront cap of its own, set to the largest allowed value, turns that pruning mode on without
    excluding anything): the choice model then decides where the upfront cash goes."""
    if portfolio.constraints.max_upfront_usd is not None and w.max_upfront_usd is None:
        return w.model_copy(update={"max_upfront_usd": MAX_USD})
    return w


def _options(ctx: Context, workloads: dict[str, Workload]) -> tuple[dict[str, list[Option]], dict[str, list]]:
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
            by_shape[shape] = (generated.rejections, [_option(w, c) for c in kept])
        rejections[wid], options[wid] = by_shape[shape]
    return options, rejections


def _option(w: Workload, c: Candidate) -> Option:
    """A candidate as the choice model sees it; every service fact read from the candidate (`facts.py`)."""
    fees, shared = [], 0.0
    for line in c.lines:
        if kind := fee_kind(line.item):
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


def _host_prices(options: dict[str, list[Option]]) -> dict[HostKey, HostPrice]:
    """One host's monthly cost and upfront per host key (from any candidate of that key: all agree)."""
    prices: dict[HostKey, HostPrice] = {}
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
                if kind := fee_kind(line.item):
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
    return Limits(
        max_monthly_cents=cents(c.max_monthly_usd) if c.max_monthly_usd is not None else None,
        max_upfront_cents=cents(c.max_upfront_usd) if c.max_upfront_usd is not None else None,
        max_spot_share_milli=round(c.max_spot_share * 1000) if c.max_spot_share is not None else None,
        quotas=quotas, ri_owned=dict(owned),
        sp_cover_cents=sp_cover_cents(catalog, c.existing_commitments.savings_plan_usd_per_hour))


def _alone_key(o: Option, w: Workload) -> tuple:
    """What recommend() would pick for this workload alone (the same order, fees included)."""
    from advisor.optimize.choose import OPS_WEIGHTS

    return (cents(o.candidate.monthly_usd) * OPS_WEIGHTS[w.ops.value][o.candidate.ops_effort], o.candidate.sort_key)


# ----------------------------------------------------------------------------- shared capacity
def _clusters(catalog: Catalog, workloads: dict[str, Workload], selection: Selection, *, budget_s: float,
              quota_keys: tuple = (), patterns: dict | None = None,
              book: dict[tuple, GroupPrices] | None = None, cache: dict | None = None) -> list[dict[str, Any]]:
    """Workloads on the same kind of node group share one cluster's nodes, packed together (`book`: node
    prices per kind, as `pools_and_options` collected them; `cache`: pools packed for earlier plans)."""
    from advisor.portfolio.clusters import pack_pool, pool_node_types

    patterns = patterns or {}
    pools: dict[ClusterKey, list[str]] = defaultdict(list)
    for wid, o in sorted(selection.chosen.items()):
        if shares_nodes(o.candidate):
            w = workloads[wid]
            # A job-shaped node group (nodes only while its jobs run) keeps a cluster of its own.
            pools[ClusterKey(PoolKey.of(w, o.candidate), wid if w.job_shaped else "")].append(wid)
    size = {k: sum(int(selection.chosen[w].candidate.config.get("replicas", workloads[w].replicas)) for w in m)
            for k, m in pools.items()}
    total = sum(size.values()) or 1

    # Each pool may take up to PACKING_SHARE x its share of the replicas of the budget (most pools end long
    # before their limit: column generation converges, or every pattern is enumerated and CP-SAT proves its
    # plan), the largest pools first, none past the budget's end.
    book = {} if book is None else book
    deadline = clock.now() + budget_s
    packed: dict[tuple, dict[str, Any]] = {}
    cache = {} if cache is None else cache
    node_search = budget_s >= NODE_SEARCH_BUDGET_S

    def same(pool: ClusterKey) -> tuple:   # a pool's cache key: its members on their node groups
        return pool, tuple((w, id(selection.chosen[w].candidate)) for w in pools[pool])

    def pack_one(pool: ClusterKey, limit: float, search: bool) -> dict[str, Any]:
        key, members = pool.pool, pools[pool]
        lp = patterns.get(key)    # its types and patterns, when the relaxation priced this pool
        types = [] if pool.job else lp.node_types if lp is not None else pool_node_types(catalog, key, book)
        return pack_pool(
            catalog, key, [workloads[w] for w in members], [selection.chosen[w] for w in members], types=types,
            time_limit_s=max(0.05, limit), keep_vcpu=any(r == key.region for r, _ in quota_keys),
            own=bool(pool.job), patterns=lp.named_patterns() if lp is not None else [], node_search=search)

    for pool in sorted(pools, key=lambda k: (-size[k], k.order)):
        if same(pool) in cache:       # packed before, in an earlier plan: the same members on the same node groups
            packed[pool] = cache[same(pool)]
            continue
        limit = min(budget_s * min(1.0, PACKING_SHARE * size[pool] / total), deadline - clock.now())
        packed[pool] = cache[same(pool)] = pack_one(pool, limit, node_search)
    if not node_search:   # in the time left, small pools short of their bound packed again, searched node by node
        short = [p for p, c in packed.items() if c["status"] == "FEASIBLE" and c["lower_bound_usd"] is not None
                 and sum(n["node_count"] for n in c["nodes"]) <= NODE_MODEL_MAX and ("searched", same(p)) not in cache]
        for pool in sorted(short, key=lambda p: (packed[p]["lower_bound_usd"] - packed[p]["monthly_usd"], p.order)):
            left = deadline - clock.now()
            if left < 0.3:
                break
            cache["searched", same(pool)] = True      # (an earlier plan's pass need not search it again)
            again = pack_one(pool, min(left, 1.0), True)
            if (again["monthly_usd"] < packed[pool]["monthly_usd"] - 0.005
                    and again["upfront_usd"] <= packed[pool]["upfront_usd"] + 0.005):
                packed[pool] = cache[same(pool)] = again
    return [packed[k] for k in sorted(pools)]


def _hosts(workloads: dict[str, Workload], selection: Selection,
           host_prices: dict[HostKey, HostPrice]) -> list[dict[str, Any]]:
    """The Dedicated Hosts the model bought, with the instances each family's hosts carry."""
    out = []
    for key, count in sorted(selection.hosts.items()):
        members = {w: o.candidate for w, o in selection.chosen.items() if o.host_key == key}
        standalone = sum(c.config["hosts"] for c in members.values())
        out.append({"id": str(key), "region": key.region, "family": key.family, "purchase_option": key.purchase_option,
                    "term": key.term, "payment": key.payment,
                    "host_count": count, "monthly_usd_per_host": host_prices[key].monthly_cents / 100,
                    "upfront_usd_per_host": host_prices[key].upfront_cents / 100,
                    "instances": {w: {"instance_type": c.instance_type, "instance_count": workloads[w].replicas,
                                      "instances_per_host": c.config["instances_per_host"]}
                                  for w, c in sorted(members.items())},
                    "standalone_host_count": standalone})
    return out


# ----------------------------------------------------------------------------- the answer
def _document(catalog: Catalog, portfolio: Portfolio, workloads: dict[str, Workload], selection: Selection,
              alone: dict[str, Option], fee_cents: dict[str, int], clusters: list[dict], hosts: list[dict]) -> dict:
    fees = sum(fee_cents[k] for k in selection.fees_paid)
    # In cents as the model counts them (each member's node line rounded on its own), so that the total is the
    # sum of its parts to the cent (the auditor adds them up the same way)
    packing_savings_cents = sum(sum(cents(selection.chosen[w].candidate.lines[0].monthly_usd) for w in c["members"])
                                - cents(c["monthly_usd"]) for c in clusters)
    packing_savings = packing_savings_cents / 100
    host_savings = sum((h["standalone_host_count"] - h["host_count"]) * h["monthly_usd_per_host"] for h in hosts)
    monthly = (selection.objective_cents - packing_savings_cents) / 100  # host sharing is in the model's objective
    alone_total = sum(cents(alone[w].candidate.monthly_usd) for w in alone) / 100
    in_clusters = {w for c in clusters for w in c["members"]}
    upfront = (sum(o.upfront_cents for w, o in selection.chosen.items() if w not in in_clusters) / 100
               + sum(c["upfront_usd"] for c in clusters)
               + sum(h["host_count"] * h["upfront_usd_per_host"] for h in hosts))
    rows = _rows(workloads, selection, alone, fee_cents, clusters, hosts)
    placements = []
    for wid in [w.id for w in portfolio.workloads]:
        o = selection.chosen[wid]
        placements.append({"workload_id": wid, "choice": to_option(o.candidate).model_dump(),
                           "shared_cluster": next((c["id"] for c in clusters if wid in c["members"]), None),
                           "shared_hosts": str(o.host_key) if o.host_key else None, "shared_fees": list(o.fees),
                           "covered_by_owned_reserved": selection.ri_used.get(wid, 0),
                           "covered_by_owned_savings_plan_usd": round(selection.sp_used_cents.get(wid, 0) / 100, 2),
                           **rows[wid]})
    return {
        "placements": placements,
        "shared": {"clusters": clusters, "hosts": hosts,
                   "commitments": {"to_buy": commitments_to_buy(workloads, selection, clusters, hosts),
                                   "owned": _owned_commitments(catalog, portfolio, workloads, selection, clusters)},
                   "fees": [{"fee": k, "monthly_usd": fee_cents[k] / 100,
                             "shared_by": sorted(w for w, o in selection.chosen.items() if k in o.fees)}
                            for k in selection.fees_paid]},
        "totals": {"monthly_usd": round(monthly, 2),
                   "upfront_usd": round(upfront, 2),
                   "alone_monthly_usd": round(alone_total, 2), "shared_fees_monthly_usd": fees / 100,
                   "packing_savings_monthly_usd": round(packing_savings, 2),
                   "host_sharing_savings_monthly_usd": round(host_savings, 2)},
        "solver": {"status": "FEASIBLE", "objective_monthly_usd": round(monthly, 2), "bound_monthly_usd": None,
                   "gap": None, "seconds": selection.seconds, "choice_status": selection.status},
        "catalog": {"version": catalog.version, "as_of": catalog.as_of},
    }


def _rows(workloads: dict[str, Workload], selection: Selection, alone: dict[str, Option], fee_cents: dict[str, int],
          clusters: list[dict], hosts: list[dict]) -> dict[str, dict[str, float]]:
    """Each workload's share of the plan's money (`allocation.py`: the rule), in cents that add up exactly."""
    nodes: dict[str, int] = defaultdict(int)
    on_hosts: dict[str, int] = defaultdict(int)
    fees: dict[str, int] = defaultdict(int)
    for c in clusters:
        members = {w: workloads[w] for w in c["members"]}
        replicas = {w: int(selection.chosen[w].candidate.config.get("replicas", workloads[w].replicas))
                    for w in members}
        for w, n in largest_remainder(cents(c["monthly_usd"]), cluster_weights(members, replicas)).items():
            nodes[w] += n
    for h in hosts:
        weights = host_weights({w: (i["instance_count"], i["instances_per_host"]) for w, i in h["instances"].items()})
        for w, n in largest_remainder(h["host_count"] * cents(h["monthly_usd_per_host"]), weights).items():
            on_hosts[w] += n
    for key in selection.fees_paid:
        needers = sorted(w for w, o in selection.chosen.items() if key in o.fees)
        for w, n in largest_remainder(fee_cents[key], fee_weights(needers)).items():
            fees[w] += n
    shared_first = {w for c in clusters for w in c["members"]} | {w for h in hosts for w in h["instances"]}
    out = {}
    for w, o in selection.chosen.items():
        lines = o.candidate.lines[1:] if w in shared_first else o.candidate.lines
        own = sum(cents(x.monthly_usd) for x in lines if not fee_kind(x.item))
        covered = (selection.ri_used.get(w, 0) * o.ri_unit_cents if o.ri_key else 0) + selection.sp_used_cents.get(w, 0)
        total = own + nodes[w] + on_hosts[w] + fees[w] - covered
        out[w] = {"monthly_usd": total / 100, "own_monthly_usd": own / 100,
                  "shared_nodes_monthly_usd": nodes[w] / 100, "shared_hosts_monthly_usd": on_hosts[w] / 100,
                  "shared_fees_monthly_usd": fees[w] / 100, "owned_commitments_monthly_usd": covered / 100,
                  "alone_monthly_usd": cents(alone[w].candidate.monthly_usd) / 100}
    return out


COMMITTED = ("reserved", "savings_plan")


def commitments_to_buy(workloads: dict[str, Workload], selection: Selection, clusters: list[dict],
                       hosts: list[dict]) -> list[dict[str, Any]]:
    """The commitments the plan buys: exactly what it runs under one: each cluster's packed nodes (not its
    members' own node groups), each group of reserved Dedicated Hosts (the hosts bought, not one group per
    workload) and the placements outside both."""
    bought: dict[tuple, dict[str, Any]] = {}

    def add(key: tuple, workload: list[str], instances: int | None, hosts_: int | None, monthly: float,
            upfront: float) -> None:
        item = bought.setdefault(key, {"instance_count": None, "host_count": None, "monthly": [], "upfront": [],
                                       "used_by": set()})
        for name, n in (("instance_count", instances), ("host_count", hosts_)):
            if n is not None:
                item[name] = (item[name] or 0) + n
        item["monthly"].append(monthly)
        item["upfront"].append(upfront)
        item["used_by"].update(workload)

    in_shared = set()
    for c in clusters:
        in_shared.update(c["members"])
        if c["purchase_option"] in COMMITTED:
            kind = "reserved_instances" if c["purchase_option"] == "reserved" else "savings_plan"
            for g in c["nodes"]:
                add((kind, g["instance_type"], c["region"], c["tenancy"], c["term"], c["offering_class"],
                     c["plan_type"], c["payment"]), sorted(g["replicas_per_node"]), g["node_count"], None,
                    g["node_count"] * g["monthly_usd_per_node"], g["node_count"] * g["upfront_usd_per_node"])
    for h in hosts:
        in_shared.update(h["instances"])
        if h["purchase_option"] == "reserved":
            add(("host_reservation", h["family"], h["region"], "host", h["term"], None, None, h["payment"]),
                sorted(h["instances"]), None, h["host_count"], h["host_count"] * h["monthly_usd_per_host"],
                h["host_count"] * h["upfront_usd_per_host"])
    for w, o in sorted(selection.chosen.items()):
        c = o.candidate
        if w in in_shared or c.purchase_option not in COMMITTED:
            continue
        kind = "reserved_instances" if c.purchase_option == "reserved" else "savings_plan"
        add((kind, c.instance_type or c.service, workloads[w].region, c.tenancy, c.term, c.offering_class,
             c.plan_type, c.payment), [w], c.count if c.instance_type else None, None, c.lines[0].monthly_usd,
            c.upfront_usd)
    return [{"kind": k[0], "covers": k[1], "region": k[2], "tenancy": k[3], "term": k[4], "offering_class": k[5],
             "plan_type": k[6], "payment": k[7], "instance_count": v["instance_count"], "host_count": v["host_count"],
             "monthly_usd": round(math.fsum(v["monthly"]), 2), "upfront_usd": round(math.fsum(v["upfront"]), 2),
             "used_by": sorted(v["used_by"])} for k, v in sorted(bought.items(), key=str)]


def _owned_commitments(catalog: Catalog, portfolio: Portfolio, workloads: dict[str, Workload], selection: Selection,
                       clusters: list[dict]) -> list[dict[str, Any]]:
    """The commitments already owned: how much of each the plan uses, and why not all, when it does not."""
    owned = portfolio.constraints.existing_commitments
    in_clusters = {w for c in clusters for w in c["members"]}
    out = []
    holdings: dict[tuple[str, str], int] = defaultdict(int)
    for h in owned.reserved:
        holdings[(h.instance_type, h.region)] += h.count
    for (instance_type, region), count in sorted(holdings.items()):
        used = sum(n for w, n in selection.ri_used.items() if selection.chosen[w].ri_key == (instance_type, region))
        reason = None
        if used < count:
            elsewhere = sorted(f"{w} ({o.candidate.service} {o.candidate.purchase_option}, {o.candidate.tenancy} "
                               f"tenancy{', in a shared cluster' if w in in_clusters else ''})"
                               for w, o in selection.chosen.items()
                               if o.candidate.instance_type == instance_type and workloads[w].region == region
                               and o.ri_key is None)
            reason = (f"{count - used} of {count} unused: owned reserved instances cover on-demand, shared-tenancy "
                      f"{instance_type} instances in {region} outside shared clusters, and the plan runs "
                      f"{used or 'none'} there"
                      + (f"; {instance_type} also runs as {', '.join(elsewhere)}, which they do not cover"
                         if elsewhere else "; nothing cheaper overall runs on that type"))
        out.append({"kind": "reserved_instances", "covers": instance_type, "region": region, "instance_count": count,
                    "used_instance_count": used, "usd_per_hour": None, "covered_on_demand_monthly_usd":
                    round(sum(n * selection.chosen[w].ri_unit_cents for w, n in selection.ri_used.items()
                              if selection.chosen[w].ri_key == (instance_type, region)) / 100, 2),
                    "unused_reason": reason})
    if owned.savings_plan_usd_per_hour:
        cover = sp_cover_cents(catalog, owned.savings_plan_usd_per_hour)
        used_cents = sum(selection.sp_used_cents.values())
        out.append({"kind": "savings_plan", "covers": "compute", "region": None, "instance_count": None,
                    "used_instance_count": None, "usd_per_hour": owned.savings_plan_usd_per_hour,
                    "covered_on_demand_monthly_usd": round(used_cents / 100, 2),
                    "unused_reason": None if used_cents >= cover else (
                        f"it pays for ${cover / 100:,.2f} of on-demand spend a month; the plan has "
                        f"${used_cents / 100:,.2f} of on-demand compute it covers (shared-tenancy instances and "
                        "tasks outside shared clusters)")})
    return out


def _binding_prices(options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits, choosing,
                    host_prices: dict[HostKey, HostPrice], deadline: float) -> list[dict[str, Any]]:
    """The price of each binding constraint: the choice model (its optimum with every constraint: `choosing`'s
    result) re-solved without it, one after the other until `deadline` (exact when every solve finishes in its
    time). Nothing when the choice itself has no plan."""
    selection = choosing.result()
    if not selection.chosen:
        return []
    active = [name for name in ("max_monthly_usd", "max_upfront_usd", "max_spot_share") if _set(limits, name)]
    active += [f"vcpu_quotas.{r}.{k}" for (r, k) in sorted(limits.quotas)]
    hint = {w: next(i for i, x in enumerate(options[w]) if x.candidate is o.candidate)
            for w, o in selection.chosen.items()}
    noise = max(0, selection.objective_cents // 500_000)   # large choices are proven to a millionth (select.py)
    binding = []
    for n, name in enumerate(active):
        share = (deadline - clock.now()) / (len(active) - n)
        relaxed = select(options, fee_cents, limits, time_limit_s=min(5.0, max(0.5, share)), hint=hint,
                         drop=frozenset({name}), host_prices=host_prices)
        if relaxed.objective_cents is not None and relaxed.objective_cents < selection.objective_cents - noise:
            saving = (selection.objective_cents - relaxed.objective_cents) / 100
            binding.append({"constraint": name, "monthly_usd_if_relaxed": relaxed.objective_cents / 100,
                            "costs_monthly_usd": round(saving, 2),
                            "message": f"{name} costs ${saving:,.2f} a month"})
    return binding


def _explain(answered: Selection, alone: dict[str, Option], fee_cents: dict[str, int], clusters: list[dict],
             binding: list[dict[str, Any]]) -> dict[str, Any]:
    """What the answered plan changed against choosing each workload alone, the fees paid once, the packing,
    and the price of each binding constraint (`_binding_prices`)."""
    changed = []
    for wid, o in sorted(answered.chosen.items()):
        a = alone[wid].candidate
        if o.candidate is not a:
            changed.append({"workload_id": wid, "alone": _label(a), "alone_monthly_usd": a.monthly_usd,
                            "in_portfolio": _label(o.candidate), "monthly_usd": o.candidate.monthly_usd})
    fees_alone = sum(line.monthly_usd for o in alone.values() for line in o.candidate.lines
                     if fee_kind(line.item))
    return {
        "changed_against_alone": changed,
        "shared_fees": {"paid_once_monthly_usd": sum(fee_cents[k] for k in answered.fees_paid) / 100,
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
