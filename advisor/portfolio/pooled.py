"""Pooling inside the choice: node pools as the relaxation sees them, and plan B, the pooled choice.

`pools_and_options` turns every ECS/EKS node-group candidate into a pooled option (its nodes priced by the
pool, through cuts: `pool_cuts.py`) and builds the pools; `pooled_plans` makes the pooled choice from the
tightened relaxation and packs it for real.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advisor.candidates.base import Candidate
from advisor.catalog.store import Catalog
from advisor.optimize.choose import cents
from advisor.portfolio import clock
from advisor.portfolio.clusters import GroupPrices
from advisor.portfolio.facts import shares_nodes
from advisor.portfolio.keys import PoolKey
from advisor.portfolio.packing import PodShape
from advisor.portfolio.pool_cuts import Pool, Tightened, dominated, separate
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.search import packed_by_pool, search_models
from advisor.portfolio.select import Limits, Option, PoolModel, Selection, select
from models.workload import Workload

PACKING_ROOM = 0.06     # whole nodes cost about this much more than the packing LP prices a pool at
SEPARATION_ROUNDS = 1   # cuts at the chosen pools' demand, then choose again (more left the search less time)
SEARCH_MIN_S = 3.0      # the whole-node search needs this long (its model takes ~1-2 s to presolve)
SEARCH_RESERVE_S = 1.0  # besides packing, for mapping the choice to candidates and validating the plan
SEARCH_UPFRONT_ROOM = 0.01  # the search's upfront cap: this share below the real one
WIDE_SEARCH_OPTIONS = 10_000  # a search proven optimal early goes on over every option, up to this many in all


def pools_and_options(catalog: Catalog, workloads: dict[str, Workload], options: dict[str, list[Option]],
                      priced: dict[tuple, GroupPrices] | None = None
                      ) -> tuple[dict[str, list[Option]], dict[PoolKey, Pool]]:
    """The options with every ECS/EKS node-group candidate's nodes taken out, and the node pools that
    price those replicas instead (through cuts: `pool_cuts.py`).

    A pool is (service, region, OS, tenancy, purchase option, schedule, horizon, architecture): the
    workloads placed in it may share nodes. A pooled option keeps its other cost lines, fees and the vCPU
    its pods request (spot share); its node cost and upfront move to the pool, and its quota use becomes
    0 (a bound may only under-count). Options in dominated pools are left out (`pool_cuts.dominated`). The
    choice model on these options, with each pool costing at least its cuts, bounds every plan from below,
    pooling included. `priced` collects each kind's node prices (packing reuses them).
    """
    from advisor.portfolio.clusters import group_prices

    priced = {} if priced is None else priced
    members: dict[PoolKey, dict[str, PodShape]] = defaultdict(dict)
    other: dict[PoolKey, dict[str, int]] = defaultdict(dict)
    described: dict[PoolKey, tuple] = {}

    def pool_of(w: Workload, c: Candidate) -> PoolKey:
        key = PoolKey.of(w, c)
        if key not in described:
            if key.group not in priced:
                priced[key.group] = group_prices(catalog, *key.group)
            prices = priced[key.group]
            allowed = prices.arch == w.arch.value if w.arch.value != "any" else np.ones(len(prices.names), dtype=bool)
            allowed = allowed & prices.current_mask()   # pools pack onto current generations only (clusters.py)
            described[key] = (key.kind, c.purchase_option == "spot", prices, key.option, allowed)
        return key

    out: dict[str, list[Option]] = {}
    # Workloads alike but for their id share their options list: each list is turned into pooled options once.
    by_list: dict[int, tuple[list[Option], list[tuple[PoolKey, int, int]]]] = {}
    for wid, opts in options.items():
        w = workloads[wid]
        if id(opts) not in by_list:
            relaxed, entries = [], []      # entries: (pool, replicas, the option's other cost) per pooled option
            for o in opts:
                c = o.candidate
                if not shares_nodes(c) or w.job_shaped:
                    relaxed.append(o)      # job-shaped: nodes only while its jobs run, never pooled
                    continue
                node_line = cents(c.lines[0].monthly_usd)
                units = int(c.config.get("replicas", w.replicas))
                key = pool_of(w, c)
                entries.append((key, units, o.cost_cents - node_line))
                relaxed.append(dataclasses.replace(
                    o, cost_cents=o.cost_cents - node_line, upfront_cents=0, quota_milli=0, pool_key=key,
                    pool_demand=(round(units * w.vcpu * 1000), round(units * w.memory_gib * 1000), units * 1000,
                                 units * w.gpus * 1000)))
            by_list[id(opts)] = (relaxed, entries)
        out[wid], entries = by_list[id(opts)]
        for key, units, rest in entries:
            members[key][wid] = PodShape(key=wid, vcpu=w.vcpu, memory_gib=w.memory_gib, gpus=w.gpus,
                                         gpu_model=w.gpu_model, count=units)
            other[key][wid] = min(other[key].get(wid, rest), rest)
    pools = {k: Pool(k, *described[k], members=dict(m), other_cents=dict(other[k])) for k, m in sorted(members.items())}
    gone = dominated(pools)
    kept: dict[int, list[Option]] = {}
    for wid, opts in out.items():
        if id(opts) not in kept:
            kept[id(opts)] = [o for o in opts if o.pool_key not in gone]
        out[wid] = kept[id(opts)]
    return out, {k: p for k, p in pools.items() if k not in gone}


@dataclass
class PackedPlan:
    """A choice with its clusters packed for real: the plan document, the choice, its clusters, and what it
    breaks (the auditor's problems: none when it is a plan that may be answered)."""

    document: dict[str, Any]
    selection: Selection
    clusters: list[dict[str, Any]]
    problems: list[str]

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def totals(self) -> dict[str, Any]:
        return self.document["totals"]

    @property
    def monthly_usd(self) -> float:
        return self.totals["monthly_usd"]


@dataclass
class Pooled:
    plans: list[PackedPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def pooled_plans(tightened: Tightened, relaxation: Relaxation, pools: dict[PoolKey, Pool],
                  options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits, host_prices: dict,
                  packed, deadline: float, search_until: float | None = None, pack_s: float = 1.0,
                  attempts: int = 3) -> Pooled:
    """Plan B: CP-SAT on the tightened cut model near the LP's choice (a workload the LP placed whole stays
    where it put it; the others choose among the options the LP used), mapped to real candidates and packed.

    The cut model prices pools at their packing LP bound, a little below whole nodes: when the packed plan
    spends over the budget or the upfront cap, the LP is solved again with that limit lowered by the excess
    (and 0.5 % more) and the choice made again, up to `attempts` times. `deadline` ends the choice; then, until
    `search_until`, the whole-node search (`_whole_node_search`) looks for a cheaper plan when it has at least
    SEARCH_MIN_S besides packing (`pack_s`) and SEARCH_RESERVE_S, whole-node rounds (`_whole_node_rounds`) when
    it has less."""
    out = Pooled()
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
    for attempt in range(attempts):
        if solution is None or solution.objective_cents is None:
            out.notes.append(f"pooled choice {attempt + 1}: the LP has no solution")
            break
        left = deadline - clock.now()
        if left <= 0.2:
            out.notes.append("no time left for a pooled choice")
            break
        reduced, hint = _near(solution, relaxation.options)
        chosen = select(reduced, fee_cents, current, time_limit_s=left, hint=hint, host_prices=host_prices,
                        pools=tightened.models)
        for _ in range(SEPARATION_ROUNDS):   # cuts at the chosen pools' whole demand, then choose again
            if not chosen.chosen or deadline - clock.now() < 0.5:
                break
            demand, priced = _chosen_demand(chosen, pools, tightened.models)
            if not separate(tightened, pools, demand, theta=priced, deadline=deadline)[0]:
                break
            hint = {w: reduced[w].index(o) for w, o in chosen.chosen.items()}
            again = select(reduced, fee_cents, current, time_limit_s=max(deadline - clock.now(), 0.2),
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
        if plan_b.valid:
            out.plans.append(plan_b)
            out.notes.append(f"pooled choice {attempt + 1}: ${plan_b.monthly_usd:,.2f} a month "
                             f"(the cut model priced it at ${chosen.objective_cents / 100:,.2f})")
            until = search_until or deadline
            if until - clock.now() - pack_s - SEARCH_RESERVE_S < SEARCH_MIN_S:
                _whole_node_rounds(out, chosen, plan_b, solution, relaxation, tightened, options, fee_cents, current,
                                   limits, host_prices, packed, until)
            else:
                _whole_node_search(out, chosen, plan_b, solution, relaxation, tightened, pools, options, fee_cents,
                                   limits, host_prices, packed, until, pack_s)
            break
        current = _margin(current, plan_b.totals, limits)
        out.notes.append(f"pooled choice {attempt + 1}: over a limit once packed ({'; '.join(plan_b.problems)}); "
                         "limits lowered by the excess")
        relaxation.set_limit("max_monthly_usd", current.max_monthly_cents)
        relaxation.set_limit("max_upfront_usd", current.max_upfront_cents)
        solution = relaxation.solve()
    relaxation.set_limit("max_monthly_usd", limits.max_monthly_cents)
    relaxation.set_limit("max_upfront_usd", limits.max_upfront_cents)
    return out


def _wide(solution, chosen: Selection, fluid: dict[str, list[Option]]) -> dict[str, list[Option]]:
    """Each workload's options the LP used, its option in the choice, and every option in a pool that the LP
    or the choice uses: where a plan search looks."""
    in_use = {k for k, v in solution.theta.items() if v > 0.5} | {o.pool_key for o in chosen.chosen.values()}
    in_use.discard(None)
    wide: dict[str, list[Option]] = {}
    for w, opts in fluid.items():
        near = {i for i, v in solution.x.get(w, {}).items() if v > 1e-6}
        keep = sorted(i for i, o in enumerate(opts) if i in near or o.pool_key in in_use or o is chosen.chosen.get(w))
        wide[w] = [opts[i] for i in keep]
    return wide


def _whole_node_search(out: Pooled, chosen: Selection, plan_b: PackedPlan, solution, relaxation: Relaxation,
                       tightened: Tightened, pools: dict[PoolKey, Pool], options: dict[str, list[Option]],
                       fee_cents: dict[str, int], limits: Limits, host_prices: dict, packed, deadline: float,
                       pack_s: float) -> None:
    """From the packed plan B, CP-SAT on the choice model with pools priced at whole nodes too (`search.py`),
    until `deadline` less the time packing takes; the choice found is packed and validated. The upfront cap
    is held SEARCH_UPFRONT_ROOM lower (packing minimises the monthly cost and may pick nodes with more upfront
    than the model's), but never below plan B's upfront (the hint must stay a solution). A plan over a limit
    once packed lowers that limit by the excess and the search runs again, while there is time; a search
    proven optimal with time to spare (small portfolios) runs once more at the real cap, from its plan, and
    then once more over every option rather than those `_wide` keeps (40 synthetic workloads, constraints
    derived, 20 s: $5,008.20 -> $4,990.43; with at most WIDE_SEARCH_OPTIONS options in all). (One
    search with all the time did better than passes restarted from each packed plan: $74,249-74,421 against
    $74,440-74,642 at 40 s.)"""
    wide = _wide(solution, chosen, relaxation.options)
    everything = relaxation.options
    narrowed = (any(len(wide[w]) < len(everything[w]) for w in wide)
                and sum(len(opts) for opts in everything.values()) <= WIDE_SEARCH_OPTIONS)
    real_cap = limits.max_upfront_cents
    current = dataclasses.replace(limits, max_upfront_cents=None if real_cap is None else max(
        int(real_cap * (1 - SEARCH_UPFRONT_ROOM)), cents(plan_b.totals["upfront_usd"])))
    for attempt in range(4):
        left = deadline - clock.now() - pack_s - SEARCH_RESERVE_S
        if left < SEARCH_MIN_S:
            return
        start = packed_by_pool(chosen.chosen, plan_b.clusters)
        models = search_models(tightened.models, pools, tightened.packings, start)
        hint = {w: wide[w].index(o) for w, o in chosen.chosen.items() if o in wide[w]}
        again = select(wide, fee_cents, current, time_limit_s=left, hint=hint, host_prices=host_prices,
                       pools=models, workers=2)
        plan = packed_choice(out, f"whole-node search {attempt + 1}", again, options, fee_cents, limits, host_prices,
                             packed, deadline, priced=True)
        if plan is None:
            return
        if not plan.valid:
            current = _margin(current, plan.totals, limits)
            continue
        out.plans.append(plan)
        if again.status != "OPTIMAL":
            return
        if current.max_upfront_cents != real_cap:
            current = dataclasses.replace(current, max_upfront_cents=real_cap)
        elif narrowed:      # proven with time to spare: once more over every option, not only the LP's
            wide, narrowed = dict(everything), False
        else:
            return
        chosen, plan_b = again, plan


def _whole_node_rounds(out: Pooled, chosen: Selection, plan_b: PackedPlan, solution, relaxation: Relaxation,
                       tightened: Tightened, options: dict[str, list[Option]], fee_cents: dict[str, int],
                       current: Limits, limits: Limits, host_prices: dict, packed, deadline: float,
                       rounds: int = 6) -> None:
    """The cut model prices a pool at its packing LP bound; whole nodes cost more, most in small pools. Each
    round charges every pool, for being used at all, what whole nodes cost over the model's price when it was
    last packed (the median of those elsewhere), widens each workload's options to every pool in use, chooses
    again from the best plan so far and packs: a plan search (the charges are no bound), every plan validated.
    It stops after two rounds without a cheaper plan, or at `deadline` (a round's choice takes at most 3 s, or
    what is left but 1 s for packing)."""
    wide = _wide(solution, chosen, relaxation.options)
    charge: dict[PoolKey, int] = {}          # pool -> whole nodes over the model's price, as last packed
    best, best_plan, misses = chosen, plan_b, 0
    for n in range(rounds):
        if deadline - clock.now() < 1.5 or misses >= 2:
            return
        charge.update(_overcharge(chosen, plan_b, tightened))
        typical = int(np.median(list(charge.values()))) if charge else 0
        models = {k: PoolModel(m.cuts, m.upfront_per_mille, fixed_cents=charge.get(k, typical))
                  for k, m in tightened.models.items()}
        hint = {w: wide[w].index(o) for w, o in best.chosen.items() if o in wide[w]}
        again = select(wide, fee_cents, current, time_limit_s=min(3.0, deadline - clock.now() - 1.0),
                       hint=hint, host_prices=host_prices, pools=models)
        plan = packed_choice(out, f"whole-node round {n + 1}", again, options, fee_cents, limits, host_prices,
                             packed, deadline, priced=False)
        if plan is None or not plan.valid:
            return
        out.plans.append(plan)
        chosen, plan_b = again, plan
        if plan.monthly_usd < best_plan.monthly_usd:
            best, best_plan, misses = again, plan, 0
        else:
            misses += 1


def packed_choice(out: Pooled, label: str, again: Selection, options: dict[str, list[Option]],
                  fee_cents: dict[str, int], limits: Limits, host_prices: dict, packed, deadline: float,
                  priced: bool) -> PackedPlan | None:
    """A search's choice mapped to the real candidates, packed and validated, with a note (and the model's price
    of it, when `priced`); None when the search found no choice."""
    if not again.chosen:
        out.notes.append(f"{label}: {again.status}")
        return None
    real_choice = _pooled_choice(again, options, fee_cents, limits, host_prices, deadline - clock.now())
    if real_choice is None:
        return None
    plan = packed(real_choice)
    price = f" (the model priced it at ${again.objective_cents / 100:,.2f})" if priced else ""
    out.notes.append(f"{label}: ${plan.monthly_usd:,.2f} a month{price}"
                     f"{'' if plan.valid else ' (over a limit: ' + '; '.join(plan.problems) + ')'}")
    return plan


def _overcharge(chosen: Selection, plan: PackedPlan, tightened: Tightened) -> dict[PoolKey, int]:
    """Per pool of a packed plan: what its nodes cost (cents) over the cut model's price of its members."""
    members: dict[PoolKey, list[str]] = defaultdict(list)
    for w, o in chosen.chosen.items():
        if o.pool_key:
            members[o.pool_key].append(w)
    out = {}
    for c in plan.clusters:
        keys = {chosen.chosen[w].pool_key for w in c["members"] if w in chosen.chosen}
        if len(keys) == 1 and None not in keys:
            k = keys.pop()
            price = max((sum(cut.get(w, 0) for w in members[k]) for cut in tightened.models[k].cuts), default=0)
            out[k] = max(cents(c["monthly_usd"]) - price // 1000, 0)
    return out


def _most_used(values: dict[int, float]) -> int:
    """The option the LP used most (the first of equals)."""
    return max(values, key=lambda i: (values[i], -i))


def _chosen_demand(chosen: Selection, pools: dict[PoolKey, Pool],
                   models: dict) -> tuple[dict[PoolKey, dict[str, float]], dict[PoolKey, float]]:
    """Replicas per pool and member in a choice, and what the cut model prices each pool at (cents)."""
    demand: dict[PoolKey, dict[str, float]] = defaultdict(dict)
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
        top = _most_used({i: values[i] for i in support})
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
    chosen = select(fixed, fee_cents, limits, time_limit_s=min(max(time_limit_s, 0.5), 2.0), host_prices=host_prices,
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
