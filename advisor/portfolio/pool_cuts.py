"""Lower bounds on what a shared node pool costs, as linear cuts over the workloads placed in it, and
the loop that tightens the relaxed portfolio model with them (Kelley's cutting planes, i.e. Benders
with the pool's packing LP as the subproblem).

A pool is one kind of node group (service, region, OS, tenancy, purchase option, schedule, horizon,
architecture) and the replicas of every workload placed in it. Cuts, each valid for every member set:

- per resource: each node costs at least its capacity x the pool's lowest price per unit of that
  resource, so the pool costs at least each resource's demand x that price;
- aggregate: the dual of the LP "cover the pool's total vCPU, memory and pod demand with fractional
  nodes" (any lambda >= 0 with lambda . capacity <= price for every type prices every replica from below);
- alone: the pool costs at least the cheapest whole nodes that hold any one member's replicas alone;
- pattern: the dual prices of the pool's packing LP (column generation over node patterns, the replicas
  of each shape per node limited by what all its possible members could bring), computed at the
  relaxation's current demand, where the cut equals that LP's bound (`packing.PoolPacking`).

The loop: solve the relaxation, compute the packing-LP bound of every pool it uses at its demand; where
the relaxation prices a pool below that, add the pattern cut; repeat until no pool is under-priced
(the relaxation's optimum is then the LP bound of choice and packing together) or time runs out.
Every iteration's LP optimum is a valid lower bound.

Pools that another pool of the same kind dominates (every node type at least as cheap per month and
upfront, every member able to join it at no higher other cost, the same Spot status) are left out: any
plan using one can use the other instead for no more.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from advisor.portfolio.packing import NodeType, PodShape, PoolPacking, may_host
from advisor.portfolio.relaxation import Relaxation, Solution
from advisor.portfolio.select import PoolModel

TOLERANCE = 1e-4          # a pool is under-priced when its packing bound exceeds the LP's price by this share
MILLICENTS = 100_000      # per USD


@dataclass(frozen=True)
class Pool:
    key: str
    kind: tuple                      # what must match for one pool to stand in for another (all but the option)
    spot: bool
    types: tuple[NodeType, ...]      # node types with their price per node-month in this pool (USD) and upfront
    members: dict[str, PodShape]     # workload -> the shape of its replicas (count = its replicas)
    other_cents: dict[str, int]      # workload -> its least other monthly cost (lines besides nodes) in this pool

    @property
    def upfront_ratio(self) -> float:
        """The least upfront per dollar a month over the pool's node types (0 when some type has none)."""
        ratios = [t.upfront_usd / t.usd_per_month for t in self.types if t.usd_per_month > 0]
        return max(min(ratios), 0.0) if ratios else 0.0


def _millicents(usd_per_workload: dict[str, float]) -> dict[str, int]:
    return {w: c for w, v in usd_per_workload.items() if (c := math.floor(v * MILLICENTS * (1 - 1e-9))) > 0}


def resource_cuts(pool: Pool) -> list[dict[str, int]]:
    """For each resource, the pool's lowest price per unit x each member's demand of it."""
    cuts = []
    for capacity, demand in ((lambda t: t.alloc_vcpu, lambda s: s.vcpu), (lambda t: t.alloc_memory_gib,
                             lambda s: s.memory_gib), (lambda t: t.pod_slots, lambda s: 1),
                             (lambda t: t.gpus, lambda s: s.gpus)):
        prices = [t.usd_per_month / capacity(t) for t in pool.types if capacity(t) > 0]
        if prices:
            cut = _millicents({w: min(prices) * demand(s) * s.count for w, s in pool.members.items()})
            if cut:
                cuts.append(cut)
    return cuts


def aggregate_cut(pool: Pool) -> dict[str, int]:
    """Prices lambda per vCPU, GiB and pod slot with lambda . capacity <= price on every type that may host a
    CPU-only pod, best for the pool's whole potential demand (GPU pods are left at 0 by this cut)."""
    cpu_only = {w: s for w, s in pool.members.items() if s.gpus <= 0}
    types = [t for t in pool.types if t.gpus <= 0]
    if not cpu_only or not types:
        return {}
    capacity = np.array([[t.alloc_vcpu, t.alloc_memory_gib, t.pod_slots] for t in types], dtype=float)
    price = np.array([t.usd_per_month for t in types], dtype=float)
    demand = np.array([sum(s.vcpu * s.count for s in cpu_only.values()),
                       sum(s.memory_gib * s.count for s in cpu_only.values()), sum(s.count for s in cpu_only.values())])
    res = linprog(-demand, A_ub=capacity, b_ub=price, bounds=(0, None), method="highs")
    if res.status != 0:
        return {}
    lam = np.maximum(res.x, 0.0)
    scale = min(1.0, float(np.min(price / np.maximum(capacity @ lam, 1e-12))))   # feasible to rounding
    return _millicents({w: scale * (lam[0] * s.vcpu + lam[1] * s.memory_gib + lam[2]) * s.count
                        for w, s in cpu_only.items()})


def alone_cuts(pool: Pool) -> list[dict[str, int]]:
    """One cut per member: the cheapest whole nodes (any mix of types) that hold its replicas alone."""
    out = []
    for w, s in sorted(pool.members.items()):
        per_node = [(math.floor(min(t.alloc_vcpu / s.vcpu if s.vcpu else math.inf,
                                    t.alloc_memory_gib / s.memory_gib if s.memory_gib else math.inf,
                                    t.pod_slots, t.gpus / s.gpus if s.gpus else math.inf) + 1e-6), t.usd_per_month)
                    for t in pool.types if may_host(s, t)]
        per_node = [(min(k, s.count), c) for k, c in per_node if k >= 1]
        if not per_node:
            continue
        best = [0.0] + [math.inf] * s.count          # best[r]: least cost of nodes holding r replicas
        for r in range(1, s.count + 1):
            best[r] = min(c + best[max(r - k, 0)] for k, c in per_node)
        cut = _millicents({w: best[s.count]})
        if cut:
            out.append(cut)
    return out


def dominated(pools: dict[str, Pool]) -> set[str]:
    """Pools another pool of the same kind stands in for at no higher cost (see the module docstring)."""
    out: set[str] = set()
    by_kind: dict[tuple, list[Pool]] = {}
    for p in pools.values():
        by_kind.setdefault((p.kind, p.spot), []).append(p)
    for group in by_kind.values():
        prices = {p.key: {t.instance_type: (t.usd_per_month, t.upfront_usd) for t in p.types} for p in group}
        ordered = sorted(group, key=lambda p: (sum(v[0] for v in prices[p.key].values()), p.key))
        kept: list[Pool] = []
        for p in ordered:
            if any(_stands_in(q, p, prices[q.key], prices[p.key]) for q in kept):
                out.add(p.key)
            else:
                kept.append(p)
    return out


def _stands_in(q: Pool, p: Pool, q_prices: dict, p_prices: dict) -> bool:
    if not all(w in q.members and q.other_cents[w] <= p.other_cents[w] for w in p.members):
        return False
    return all(t in q_prices and q_prices[t][0] <= v[0] + 1e-9 and q_prices[t][1] <= v[1] + 1e-9
               for t, v in p_prices.items())


@dataclass
class Tightened:
    bound_cents: int | None          # the best LP optimum (a valid lower bound), floored; None if none solved
    solution: Solution | None        # the last LP solution
    models: dict[str, PoolModel] = field(default_factory=dict)
    iterations: int = 0
    converged: bool = False
    pattern_cuts: int = 0
    seconds: float = 0.0
    history: list[tuple[float, float, int]] = field(default_factory=list)   # (seconds, LP bound cents, cuts added)


def initial_models(pools: dict[str, Pool]) -> dict[str, PoolModel]:
    return {k: PoolModel(cuts=[*resource_cuts(p), *([c] if (c := aggregate_cut(p)) else []), *alone_cuts(p)],
                         upfront_per_mille=math.floor(p.upfront_ratio * 1000)) for k, p in pools.items()}


def tighten(relaxation: Relaxation, pools: dict[str, Pool], deadline: float, per_pool_s: float = 1.0) -> Tightened:
    """Kelley's loop (see the module docstring); stops at convergence or at `deadline`."""
    started = time.perf_counter()
    out = Tightened(None, None, models=initial_models(pools))
    for k, model in out.models.items():
        for cut in model.cuts:
            relaxation.add_cut(k, cut)
    seen: set[tuple] = set()
    packings: dict[str, PoolPacking] = {}
    while True:
        out.iterations += 1
        solution = relaxation.solve()
        if solution.objective_cents is None:
            break
        out.solution = solution
        value = math.floor(solution.objective_cents * (1 - 1e-9) - 1e-6)
        out.bound_cents = value if out.bound_cents is None else max(out.bound_cents, value)
        demand = _pool_demand(solution, relaxation, pools)
        added, exact = 0, True
        for key in sorted(demand):
            if time.perf_counter() > deadline:
                exact = False
                break
            signature = (key, tuple(sorted((w, round(d, 6)) for w, d in demand[key].items())))
            if signature in seen:
                continue
            seen.add(signature)
            if key not in packings:
                packings[key] = PoolPacking(pools[key].members.values(), pools[key].types)
            duals = packings[key].duals(demand[key], min(per_pool_s, max(deadline - time.perf_counter(), 0.05)))
            exact &= duals.converged
            at_demand = sum(duals.price.get(w, 0.0) * d for w, d in demand[key].items()) * 100
            if at_demand > solution.theta.get(key, 0.0) * (1 + TOLERANCE) + 1:
                cut = _millicents({w: duals.price.get(w, 0.0) * s.count for w, s in pools[key].members.items()})
                relaxation.add_cut(key, cut)
                out.models[key].cuts.append(cut)
                out.pattern_cuts += 1
                added += 1
        out.history.append((round(time.perf_counter() - started, 3), solution.objective_cents, added))
        if not added:
            out.converged = exact
            break
        if time.perf_counter() > deadline:
            break
    out.seconds = time.perf_counter() - started
    return out


def _pool_demand(solution: Solution, relaxation: Relaxation, pools: dict[str, Pool]) -> dict[str, dict[str, float]]:
    """Replicas each workload brings to each pool in the LP solution."""
    out: dict[str, dict[str, float]] = {}
    for w, values in solution.x.items():
        for i, v in values.items():
            key = relaxation.options[w][i].pool_key
            if key in pools and w in pools[key].members:
                out.setdefault(key, {})
                out[key][w] = out[key].get(w, 0.0) + v * pools[key].members[w].count
    return out
