"""Plan a portfolio: one placement per workload, chosen together under the portfolio's constraints, with
shared capacity (clusters, Dedicated Hosts, commitments), a proven lower bound and an explanation.

The phases (`phases.py` lists each one's time and why): (1) every workload's candidates as options
(`options.py`: as for one recommendation; workloads alike but for their id share them); (2) the CP-SAT
choice as if nothing were pooled (`select.py`: fees paid once, shared hosts, owned commitments, budget,
upfront cap, spot share, quotas), the price of each of its binding constraints and plan A (that choice
packed), on the second core, while (3) the relaxation with node pools priced by cuts is tightened to the LP
bound of choice and packing together (`pooled.py`, `pool_cuts.py`, `relaxation.py`); (4) plan B, the pooled
choice from that relaxation, and plans searched from it (the whole-node search of `search.py`, or
whole-node rounds), each packed for real (`clusters.py`, `packing.py`) and validated; (5) the bounds: the
whole-node bound of `lagrangian.py` and CP-SAT's on the cut model (on a small portfolio, with whole nodes of
every type, its choice packed as one more plan); (6) the answer (`document.py`): the cheapest valid plan
with the best bound proven, what the portfolio changed against choosing alone and the price of each binding
constraint; `validate.py` re-checks it independently.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import InputError
from advisor.portfolio import clock
from advisor.portfolio.clusters import GroupPrices, pack_clusters
from advisor.portfolio.document import explain, host_groups, plan_document, prove
from advisor.portfolio.keys import HostKey, PoolKey
from advisor.portfolio.lagrangian import WholeNodeBound, decompose
from advisor.portfolio.options import Inputs
from advisor.portfolio.packing import shape_class
from advisor.portfolio.phases import (
    ANSWER,
    BINDING_PRICES,
    BOUND_PLAN_PACKING,
    BOUNDS,
    CHOICE,
    CHOICE_RETRY,
    MIN_PHASE_S,
    PLAN_PACKING,
    PLAN_SEARCH,
    POOLED_CHOICE,
    POOLED_CHOICE_OWED,
    RELAXATION,
    Budget,
)
from advisor.portfolio.pool_cuts import Pool, Tightened, tighten
from advisor.portfolio.pooled import PackedPlan, Pooled, packed_choice, pooled_plans, pools_and_options
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.select import HostPrice, Limits, Option, PoolModel, Selection, select
from advisor.portfolio.whole_nodes import undominated_types
from advisor.workload_io import describe, field_errors
from models.portfolio import PlanDocument, Portfolio

OWED_ATTEMPTS = 6      # pooled choices tried, each limit lowered by what the last one overspent, when a plan is owed
WHOLE_NODE_BOUND_PAIRS = 6000   # CP-SAT's bound prices pools at whole nodes up to this many shapes x node types


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

    `time_limit_s` bounds the whole answer on the planner's clock (deterministic: `clock.py`), shared out
    among the phases as `phases.py` says; the wall clock is only a safety net, reported when it trips."""
    wall_started = time.perf_counter()
    work = clock.Clock()
    token = clock.use(work)
    try:
        portfolio = doc if isinstance(doc, Portfolio) else parse(doc)
        inputs = Inputs.of(portfolio, catalog or load_catalog())
        # The safety net counts from here: the candidates take what the portfolio's size makes them take, and
        # the time limit is not theirs to share out (a slow start must not leave the solves no wall time)
        work.wall_deadline = time.perf_counter() + clock.WALL_FACTOR * time_limit_s + clock.WALL_GRACE_S
        return _Run(inputs, Budget(time_limit_s), wall_started, work).answer()
    finally:
        clock.reset(token)


@dataclass
class _Laps:
    """Wall seconds per phase (reported, never used to decide anything), and the planner's clock at each
    phase's end (deterministic: where the budget went, beside where the wall time went)."""

    mark: float
    timings: dict[str, float] = field(default_factory=dict)
    nominal_at: dict[str, float] = field(default_factory=dict)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.mark, 3)
        self.nominal_at[name] = round(clock.now(), 3)
        self.mark = now


@dataclass
class _Relaxed:
    """The relaxation phase's results: pooled options, pools, the LP with its cuts and the tightened models."""

    fluid_options: dict[str, list[Option]]
    pools: dict[PoolKey, Pool]
    relaxation: Relaxation
    tightened: Tightened


@dataclass
class _Bounds:
    """The integer bounds of the bounds phase (cents; None when not proven) and the plan the bound model found."""

    whole: WholeNodeBound | None = None
    cut_cents: int | None = None
    plan: PackedPlan | None = None

    @property
    def integer_cents(self) -> int | None:
        return max((b for b in (self.whole.bound_cents if self.whole else None, self.cut_cents) if b is not None),
                   default=None)


class _Run:
    """One plan: its inputs, its phases' budget and what the phases share (node prices, rejected plans)."""

    def __init__(self, inputs: Inputs, budget: Budget, wall_started: float, work: clock.Clock):
        self.inputs, self.budget, self.work = inputs, budget, work
        self.wall_started = wall_started
        self.laps = _Laps(wall_started)
        self.book: dict[tuple, GroupPrices] = {}   # node prices per kind of node group (relaxation and packing)
        self.rejected: list[list[str]] = []        # what each plan that failed validation broke
        self.pooled_packings: dict = {}            # pooled plans' packed pools, reused where a later plan keeps them
        self.tightened: Tightened | None = None

    # ------------------------------------------------------------------------- the phases in order
    def answer(self) -> dict[str, Any]:
        missing = self.inputs.without_options()
        if missing:
            self._infeasible_alone(missing)
        self.laps.lap("candidates")
        # On the second core (CP-SAT releases the GIL): the choice as if nothing were pooled, the prices of its
        # binding constraints, then plan A; meanwhile the relaxation is built and tightened on this core.
        with ThreadPoolExecutor(1) as background:
            choosing, pricing, packing_a = self._start_choice(background)
            relaxed = self._relax()
            selection = self._choice(choosing, relaxed)
            self.laps.timings["choice"] = round(selection.seconds, 3)
            self.laps.lap("relaxation")
            parts = decompose(relaxed.relaxation)   # at the LP's last solution, before the pooled choice moves it
            pooled = self._pooled(relaxed)
            plan_a = packing_a.result() or (self._packed(selection) if selection.chosen else None)
            plans = [p for p in [*pooled.plans, plan_a] if p is not None and p.valid]
            if not plans and not selection.chosen:   # only pooling can meet the limits: a plan is still owed
                pooled = self._pooled_owed(relaxed, pooled)
                plans = [p for p in pooled.plans if p.valid]
                if not plans:
                    self._no_plan_even_pooled(selection, pooled)
            self.laps.lap("plans")
            bounds = self._bounds(background, relaxed, parts, pooled)
            if bounds.plan is not None and bounds.plan.valid:
                plans.append(bounds.plan)
            binding = pricing.result()
        self.laps.lap("bounds")
        return self._answer(plans, relaxed, pooled, bounds, binding)

    def _infeasible_alone(self, missing: list[str]) -> None:
        rejections = self.inputs.rejections
        raise PlanInfeasible(f"no placement meets the own requirements of workloads {', '.join(missing)}: "
                             + "; ".join(f"{w}: {sorted({r.reason for r in rejections[w]})}" for w in missing[:5]),
                             [f"workloads.{w}" for w in missing])

    def _start_choice(self, background: ThreadPoolExecutor) -> tuple[Future, Future, Future]:
        """CHOICE, BINDING_PRICES and plan A's packing, queued on the second core's own clock."""
        i, second = self.inputs, self.work.fork()
        choosing = background.submit(clock.running_on(second, select), i.options, i.fee_cents, i.limits,
                                     time_limit_s=max(1.0, self.budget.left(ANSWER) * CHOICE.share), hint=i.hint,
                                     host_prices=i.host_prices)
        pricing = background.submit(clock.running_on(second, _binding_prices), i.options, i.fee_cents, i.limits,
                                    choosing, i.host_prices, deadline=self.budget.until(BINDING_PRICES))
        packing_a = background.submit(clock.running_on(second, self._plan_a), choosing)
        return choosing, pricing, packing_a

    def _plan_a(self, choosing: Future) -> PackedPlan | None:
        """Plan A: the choice as if nothing were pooled, packed (None if the choice has no plan)."""
        chosen = choosing.result()
        return self._packed(chosen) if chosen.chosen else None

    def _relax(self) -> _Relaxed:
        """RELAXATION: cluster nodes priced per pool by cuts, tightened until every pool it uses is priced at
        its packing LP bound: a lower bound on every plan, pooling included."""
        i = self.inputs
        fluid_options, pools = pools_and_options(i.catalog, i.workloads, i.options, self.book)
        relaxation = Relaxation(fluid_options, i.fee_cents, i.limits, i.host_prices,
                                {k: p.upfront_ratio for k, p in pools.items()})
        tightened = tighten(relaxation, pools, deadline=clock.now() + self.budget.left(RELAXATION))
        self.tightened = tightened   # the pooled plans are packed with its patterns
        return _Relaxed(fluid_options, pools, relaxation, tightened)

    def _choice(self, choosing: Future, relaxed: _Relaxed) -> Selection:
        """The choice as if nothing were pooled; retried (CHOICE_RETRY) when a tiny limit left it no plan.
        Infeasible without pooling is not infeasible: pooled nodes cost less (and may carry less upfront), so a
        budget only pooling meets is left to the pooled plans, unless the relaxation, which every pooled plan
        satisfies, is infeasible too."""
        i = self.inputs
        selection = choosing.result()
        if selection.status == "UNKNOWN":     # a plan is owed: this retry is limited in deterministic time only
            retry = self.work.beyond_safety_net()
            selection = clock.running_on(retry, select)(
                i.options, i.fee_cents, i.limits, time_limit_s=max(5.0, self.budget.share(CHOICE_RETRY)),
                hint=i.hint, host_prices=i.host_prices)
            self.work.charge(retry.now() - self.work.now())
        if selection.status == "INFEASIBLE" and relaxed.tightened.solution is None:
            raise PlanInfeasible("no plan meets all of these constraints together: "
                                 + ", ".join(selection.conflicts), selection.conflicts)
        if selection.status == "INFEASIBLE":
            return selection
        if not selection.chosen:
            raise PlanInfeasible(f"the solver found no plan within {self.budget.limit_s:g} s ({selection.status})",
                                 [])
        return selection

    def _pooled_owed(self, relaxed: _Relaxed, earlier: Pooled) -> Pooled:
        """When neither the choice without pooling nor the pooled choices in their share found a plan within
        the limits, the pooled choice once more, with OWED_ATTEMPTS tries and POOLED_CHOICE_OWED's share, on a
        clock beyond the wall safety net (deterministic: a plan is owed whenever the relaxation says one may
        exist). Past the time limit, and the answer's `used_nominal_s` says by how much."""
        i, owed = self.inputs, self.work.beyond_safety_net()
        run = clock.running_on(owed, pooled_plans)
        out = run(relaxed.tightened, relaxed.relaxation, relaxed.pools, i.options, i.fee_cents, i.limits,
                  i.host_prices, self._pack_pooled, deadline=owed.now() + self.budget.share(POOLED_CHOICE_OWED),
                  search_until=None, pack_s=self.budget.share(PLAN_PACKING), attempts=OWED_ATTEMPTS)
        self.work.charge(owed.now() - self.work.now())
        out.notes = [*earlier.notes, *(f"owed: {n}" for n in out.notes)]
        return out

    def _no_plan_even_pooled(self, selection: Selection, pooled: Pooled) -> None:
        raise PlanInfeasible("no plan meets all of these constraints together, without pooling (the choice is "
                             "infeasible) or with it (" + "; ".join(pooled.notes or ["no pooled plan found"]) + "): "
                             + ", ".join(selection.conflicts), selection.conflicts)

    def _pooled(self, relaxed: _Relaxed) -> Pooled:
        """POOLED_CHOICE and PLAN_SEARCH: plan B, the relaxation's choice packed for real, and plans searched
        from it (the whole-node search, or whole-node rounds when time is short)."""
        i = self.inputs
        return pooled_plans(relaxed.tightened, relaxed.relaxation, relaxed.pools, i.options, i.fee_cents, i.limits,
                            i.host_prices, self._pack_pooled,
                            deadline=clock.now() + self.budget.left(POOLED_CHOICE),
                            search_until=self.budget.until(PLAN_SEARCH), pack_s=self.budget.share(PLAN_PACKING))

    def _bounds(self, background: ThreadPoolExecutor, relaxed: _Relaxed, parts, pooled: Pooled) -> _Bounds:
        """BOUNDS, in the time left until its end: the relaxation at its last LP decomposed by Lagrange, each
        part solved with whole nodes (at least the LP's: `lagrangian.py`), and, on the second core, CP-SAT on
        the cut model with whole placements, whose choice is one more plan when it priced whole nodes."""
        i, out = self.inputs, _Bounds()
        until = self.budget.until(BOUNDS)
        if until - clock.now() <= MIN_PHASE_S:
            return out
        cutting, exact_nodes = None, False
        if relaxed.tightened.converged:
            bound_models, exact_nodes = _bound_models(relaxed.tightened.models, relaxed.pools)
            # With whole nodes its choice is a plan too: it takes what is left but the time to pack that plan
            left_s = until - clock.now()
            limit = (max(0.5, left_s - self.budget.share(BOUND_PLAN_PACKING)) if exact_nodes else min(5.0, left_s))
            cutting = background.submit(clock.running_on(self.work.fork(), select), relaxed.fluid_options,
                                        i.fee_cents, i.limits, host_prices=i.host_prices, time_limit_s=limit,
                                        pools=bound_models)
        if parts is not None:
            out.whole = parts.solve(relaxed.pools, until)
        cut = cutting.result() if cutting else None
        out.cut_cents = cut.bound_cents if cut and cut.bound_cents and cut.bound_cents > 0 else None   # 0: none
        if exact_nodes and cut.chosen:   # priced at whole nodes of every type: a plan worth packing
            out.plan = packed_choice(pooled, "the bound model's choice", cut, i.options, i.fee_cents, i.limits,
                                     i.host_prices, self._pack_pooled, self.budget.until(ANSWER), priced=True)
        return out

    # ------------------------------------------------------------------------- packing a choice
    def _packed(self, chosen: Selection, patterns: dict | None = None, cache: dict | None = None) -> PackedPlan:
        """A choice with its clusters packed (in up to PLAN_PACKING's share, and not past the end of BOUNDS),
        as a plan document, and what it breaks (nothing, if valid)."""
        i = self.inputs
        budget = min(self.budget.share(PLAN_PACKING), self.budget.until(BOUNDS) - clock.now())
        clusters = pack_clusters(i.catalog, i.workloads, chosen, budget_s=max(0.3, budget),
                                 quota_keys=tuple(i.limits.quotas), patterns=patterns, book=self.book, cache=cache)
        document = plan_document(i.catalog, i.portfolio, i.workloads, chosen, i.alone, i.fee_cents, clusters,
                                 host_groups(i.workloads, chosen, i.host_prices))
        problems = _validate(document, i)
        if problems:
            self.rejected.append(problems)
        return PackedPlan(document, chosen, clusters, problems)

    def _pack_pooled(self, chosen: Selection) -> PackedPlan:
        """A pooled plan packed with the relaxation's packing patterns, reusing pools packed for earlier plans."""
        assert self.tightened is not None
        return self._packed(chosen, self.tightened.packings, self.pooled_packings)

    # ------------------------------------------------------------------------- the answer
    def _answer(self, plans: list[PackedPlan], relaxed: _Relaxed, pooled: Pooled, bounds: _Bounds,
                binding: list[dict[str, Any]]) -> dict[str, Any]:
        """The cheapest valid plan, proven against the best bound, explained, typed and audited once more."""
        if not plans:
            raise RuntimeError("no plan passed validation: "
                               + " | ".join("; ".join(r[:3]) for r in self.rejected[:3]))
        best = min(plans, key=lambda p: p.monthly_usd)
        plan_doc, tightened = best.document, relaxed.tightened
        proven = [b for b in (tightened.bound_cents, bounds.integer_cents) if b is not None]
        prove(plan_doc, max(proven) if proven else None)
        plan_doc["explanation"] = explain(best.selection, self.inputs.alone, self.inputs.fee_cents, best.clusters,
                                          binding)
        self.laps.lap("explanation")
        plan_doc["solver"]["relaxation"] = _relaxation_report(relaxed, pooled, bounds, self.rejected, plans)
        plan_doc["solver"]["timings"] = self.laps.timings
        plan_doc["solver"]["seconds"] = round(time.perf_counter() - self.wall_started, 3)
        plan_doc["solver"]["work"] = _work_report(self.budget.limit_s, self.work, self.laps.nominal_at)
        plan_doc = PlanDocument.model_validate(plan_doc).model_dump(mode="json")   # the typed answer, as JSON
        problems = _validate(plan_doc, self.inputs)
        if problems:
            raise RuntimeError("plan failed validation: " + "; ".join(problems))
        return plan_doc


def _validate(document: dict[str, Any], inputs: Inputs) -> list[str]:
    from advisor.portfolio.validate import validate  # noqa: PLC0415 - validate imports this module

    return validate(document, inputs.portfolio, inputs.catalog, inputs.offered)


def _relaxation_report(relaxed: _Relaxed, pooled: Pooled, bounds: _Bounds, rejected: list[list[str]],
                       plans: list[PackedPlan]) -> dict[str, Any]:
    """How the bound and the plans were found: the relaxation's LPs and cuts, each bound, each plan compared."""
    tightened, whole = relaxed.tightened, bounds.whole
    return {
        "iterations": tightened.iterations, "pattern_cuts": tightened.pattern_cuts, "converged": tightened.converged,
        "pools": len(relaxed.pools), "seconds": round(tightened.seconds, 3),
        "lp_bound_monthly_usd": tightened.bound_cents / 100 if tightened.bound_cents is not None else None,
        "whole_node_bound_monthly_usd": whole.bound_cents / 100 if whole and whole.bound_cents is not None else None,
        "cp_sat_bound_monthly_usd": bounds.cut_cents / 100 if bounds.cut_cents is not None else None,
        "whole_node_components": {"solved": whole.components, "proven": whole.proven} if whole else None,
        "pooled_plans": pooled.notes, "rejected_plans": sorted(rejected),
        "plans_compared": [round(p.monthly_usd, 2) for p in plans]}


def _work_report(limit_s: float, work: clock.Clock, nominal_at: dict[str, float]) -> dict[str, Any]:
    """The planner's clock at the end and at each phase's end, and whether the wall-clock safety net stopped
    anything."""
    return {"time_limit_nominal_s": limit_s, "used_nominal_s": round(clock.now(), 3),
            "nominal_at_end_of": dict(nominal_at),
            "wall_clock_safety_net_s": round(clock.WALL_FACTOR * limit_s + clock.WALL_GRACE_S, 3),
            "wall_clock_stopped": list(work.tripped), "reproducible": not work.tripped}


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



def _set(limits: Limits, name: str) -> bool:
    return {"max_monthly_usd": limits.max_monthly_cents, "max_upfront_usd": limits.max_upfront_cents,
            "max_spot_share": limits.max_spot_share_milli}[name] is not None

