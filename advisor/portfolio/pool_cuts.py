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
from functools import cached_property

import numpy as np
from scipy.optimize import linprog

from advisor.portfolio import clock
from advisor.portfolio.clusters import GroupPrices
from advisor.portfolio.keys import PoolKey
from advisor.portfolio.packing import NodeType, PodShape, PoolPacking, may_host, shape_class
from advisor.portfolio.relaxation import Relaxation, Solution
from advisor.portfolio.select import PoolModel

TOLERANCE = 1e-4          # a pool is under-priced when its packing bound exceeds the LP's price by this share
MILLICENTS = 100_000      # per USD


@dataclass
class Pool:
    key: PoolKey
    kind: tuple                      # what must match for one pool to stand in for another (all but the option)
    spot: bool
    prices: GroupPrices              # the kind's node types and their prices under every option
    option: tuple                    # (purchase_option, term, offering_class, plan_type, payment)
    allowed: np.ndarray              # types the members may use (architecture)
    members: dict[str, PodShape]     # workload -> the shape of its replicas (count = its replicas)
    other_cents: dict[str, int]      # workload -> its least other monthly cost (lines besides nodes) in this pool

    @cached_property
    def mask(self) -> np.ndarray:
        """The types on offer under this option that the members may use."""
        return self.allowed & ~np.isnan(self.prices.monthly[self.option])

    @cached_property
    def types(self) -> list[NodeType]:
        return self.prices.node_types(self.option, self.mask)

    @property
    def monthly(self) -> np.ndarray:
        return self.prices.monthly[self.option][self.mask]

    @property
    def capacity(self) -> np.ndarray:
        return self.prices.capacity[self.mask]

    @cached_property
    def class_limits(self) -> dict[tuple, int]:
        """Replicas per packing class that all possible members together could bring (patterns are capped there)."""
        out: dict[tuple, int] = {}
        for s in self.members.values():
            out[shape_class(s)] = out.get(shape_class(s), 0) + s.count
        return out

    @property
    def upfront_ratio(self) -> float:
        """The least upfront per dollar a month over the pool's node types (0 when some type has none)."""
        monthly, upfront = self.monthly, self.prices.upfront[self.option][self.mask]
        paid = monthly > 0
        return float(max(np.min(upfront[paid] / monthly[paid]), 0.0)) if paid.any() else 0.0


def _millicents(usd_per_workload: dict[str, float]) -> dict[str, int]:
    return {w: c for w, v in usd_per_workload.items() if (c := math.floor(v * MILLICENTS * (1 - 1e-9))) > 0}


def resource_cuts(pool: Pool) -> list[dict[str, int]]:
    """For each resource, the pool's lowest price per unit x each member's demand of it."""
    cuts = []
    demand_of = (lambda s: s.vcpu, lambda s: s.memory_gib, lambda s: 1, lambda s: s.gpus)
    for r, demand in enumerate(demand_of):
        capacity = pool.capacity[:, r]
        if not (capacity > 0).any():
            continue
        low = float(np.min(pool.monthly[capacity > 0] / capacity[capacity > 0]))
        cut = _millicents({w: low * demand(s) * s.count for w, s in pool.members.items()})
        if cut:
            cuts.append(cut)
    return cuts


def aggregate_cut(pool: Pool) -> dict[str, int]:
    """Prices lambda per vCPU, GiB and pod slot with lambda . capacity <= price on every GPU-less type, best for
    the pool's whole potential demand (CPU-only pods go on GPU-less nodes; GPU pods are left at 0 here)."""
    cpu_only = {w: s for w, s in pool.members.items() if s.gpus <= 0}
    plain = pool.capacity[:, 3] <= 0
    if not cpu_only or not plain.any():
        return {}
    capacity, price = pool.capacity[plain][:, :3], pool.monthly[plain]
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
    cap, price = pool.capacity, pool.monthly
    gpu_ok = {}
    by_shape: dict[tuple, float | None] = {}     # members alike (resources and replicas) cost alike alone
    for w, s in sorted(pool.members.items()):
        shape = (s.vcpu, s.memory_gib, s.gpus, s.gpu_model, s.count)
        if shape not in by_shape:
            by_shape[shape] = _alone(s, cap, price, pool, gpu_ok)
        if by_shape[shape] is not None and (cut := _millicents({w: by_shape[shape]})):
            out.append(cut)
    return out


def _alone(s: PodShape, cap: np.ndarray, price: np.ndarray, pool: Pool, gpu_ok: dict) -> float | None:
    """The cheapest whole nodes of the pool's types holding `s`'s replicas alone (None if none can)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        fits = np.minimum.reduce([np.floor(cap[:, 0] / s.vcpu + 1e-9) if s.vcpu else np.full(len(cap), np.inf),
                                  np.floor(cap[:, 1] / s.memory_gib + 1e-9) if s.memory_gib
                                  else np.full(len(cap), np.inf), cap[:, 2],
                                  np.floor(cap[:, 3] / s.gpus + 1e-9) if s.gpus else np.full(len(cap), np.inf)])
    if s.gpus <= 0:
        kind = cap[:, 3] <= 0
    else:
        key = (s.gpus, s.gpu_model)
        if key not in gpu_ok:
            gpu_ok[key] = np.array([may_host(s, t) for t in pool.types], dtype=bool)
        kind = gpu_ok[key]
    usable = kind & (fits >= 1)
    if not usable.any():
        return None
    per_node, cost = np.minimum(fits[usable], s.count).astype(int), price[usable]
    best = [0.0] + [math.inf] * s.count          # best[r]: least cost of nodes holding r replicas
    for r in range(1, s.count + 1):
        best[r] = float(np.min(cost + np.array([best[max(r - k, 0)] for k in per_node])))
    return best[s.count]


def sibling_cut(p: Pool, q: Pool, price: dict[tuple, float]) -> dict[str, int]:
    """A pattern cut of pool `p` (`price`: USD per replica of each class, dual feasible for p's packing LP) carried
    over to `q`, a pool of the same kind under another purchase option: scaled by the least ratio of q's node
    prices to p's, it is dual feasible for q's packing LP too, provided every type q offers p offers and q's
    possible members bring no more replicas of any class than p's (so no pattern of q is one p never priced).
    Empty when that does not hold. (Without it the relaxation moves to the siblings of each pool it has just
    priced, one purchase option per round of cuts.)"""
    if p.prices is not q.prices or (q.mask & ~p.mask).any():
        return {}
    if any(n > p.class_limits.get(k, 0) for k, n in q.class_limits.items()):
        return {}
    mine, theirs = p.prices.monthly[p.option][q.mask], q.prices.monthly[q.option][q.mask]
    if not len(mine) or (mine <= 0).any():
        return {}
    scale = float(np.min(theirs / mine))
    return _millicents({w: scale * price.get(shape_class(s), 0.0) * s.count for w, s in q.members.items()})


def dominated(pools: dict[PoolKey, Pool]) -> set[PoolKey]:
    """Pools another pool of the same kind stands in for at no higher cost (see the module docstring)."""
    out: set[PoolKey] = set()
    by_kind: dict[tuple, list[Pool]] = {}
    for p in pools.values():
        by_kind.setdefault((p.kind, p.spot), []).append(p)
    for group in by_kind.values():
        ordered = sorted(group, key=lambda p: (float(np.sum(p.monthly)), p.key))
        kept: list[Pool] = []
        for p in ordered:
            if any(_stands_in(q, p) for q in kept):
                out.add(p.key)
            else:
                kept.append(p)
    return out


def _stands_in(q: Pool, p: Pool) -> bool:
    if not all(w in q.members and q.other_cents[w] <= p.other_cents[w] for w in p.members):
        return False
    if (p.mask & ~q.mask).any():
        return False
    m = p.mask
    return bool((q.prices.monthly[q.option][m] <= p.prices.monthly[p.option][m] + 1e-9).all()
                and (q.prices.upfront[q.option][m] <= p.prices.upfront[p.option][m] + 1e-9).all())


@dataclass
class Tightened:
    bound_cents: int | None          # the best LP optimum (a valid lower bound), floored; None if none solved
    solution: Solution | None        # the last LP solution
    models: dict[PoolKey, PoolModel] = field(default_factory=dict)
    iterations: int = 0
    converged: bool = False
    pattern_cuts: int = 0
    seconds: float = 0.0
    packings: dict[PoolKey, PoolPacking] = field(default_factory=dict)


def initial_models(pools: dict[PoolKey, Pool]) -> dict[PoolKey, PoolModel]:
    return {k: PoolModel(cuts=[*resource_cuts(p), *([c] if (c := aggregate_cut(p)) else []), *alone_cuts(p)],
                         upfront_per_mille=math.floor(p.upfront_ratio * 1000)) for k, p in pools.items()}


def tighten(relaxation: Relaxation, pools: dict[PoolKey, Pool], deadline: float, per_pool_s: float = 1.0) -> Tightened:
    """Kelley's loop (see the module docstring); stops at convergence or at `deadline` (the planner's clock)."""
    started = time.perf_counter()
    out = Tightened(None, None, models=initial_models(pools))
    for k, model in out.models.items():
        for cut in model.cuts:
            relaxation.add_cut(k, cut)
    seen: set[tuple] = set()
    while True:
        out.iterations += 1
        solution = relaxation.solve()
        if solution.objective_cents is None:
            break
        out.solution = solution
        value = math.floor(solution.objective_cents * (1 - 1e-9) - 1e-6)
        out.bound_cents = value if out.bound_cents is None else max(out.bound_cents, value)
        demand = _pool_demand(solution, relaxation, pools)
        added, exact = separate(out, pools, demand, theta=solution.theta, deadline=deadline, per_pool_s=per_pool_s,
                                seen=seen, relaxation=relaxation)
        if not added:
            out.converged = exact
            break
        if clock.now() > deadline:
            break
    out.seconds = time.perf_counter() - started
    return out


def separate(out: Tightened, pools: dict[PoolKey, Pool], demand: dict[PoolKey, dict[str, float]], *,
             theta: dict[PoolKey, float], deadline: float, per_pool_s: float = 1.0, seen: set | None = None,
             relaxation: Relaxation | None = None) -> tuple[int, bool]:
    """Pattern cuts for every pool priced below its packing LP bound at `demand` (`theta`: what the model
    prices each pool at, in cents); added to `out.models` (and the relaxation). Returns the cuts added and
    whether every bound computed was proven (column generation converged)."""
    added, exact = 0, True
    seen = set() if seen is None else seen
    siblings: dict[tuple, list[PoolKey]] = {}
    for k in sorted(pools):
        siblings.setdefault(pools[k].kind, []).append(k)
    for key in sorted(demand):
        if clock.now() > deadline:
            return added, False
        signature = (key, tuple(sorted((w, round(d, 6)) for w, d in demand[key].items())))
        if signature in seen:
            continue
        seen.add(signature)
        if key not in out.packings:
            out.packings[key] = PoolPacking(pools[key].members.values(), pools[key].types)
        duals = out.packings[key].duals(demand[key], min(per_pool_s, max(deadline - clock.now(), 0.05)))
        exact &= duals.converged
        at_demand = sum(duals.price.get(w, 0.0) * d for w, d in demand[key].items()) * 100
        if at_demand > theta.get(key, 0.0) * (1 + TOLERANCE) + 1:
            p = pools[key]
            cut = _millicents({w: duals.price.get(w, 0.0) * s.count for w, s in p.members.items()})
            by_class = {shape_class(s): duals.price.get(w, 0.0) for w, s in p.members.items()}
            for q, c in [(key, cut)] + [(q, sibling_cut(p, pools[q], by_class)) for q in siblings.get(p.kind, ())
                                        if q != key]:
                if not c:
                    continue
                if relaxation is not None:
                    relaxation.add_cut(q, c)
                out.models[q].cuts.append(c)
                out.pattern_cuts += 1
            added += 1
    return added, exact


def _pool_demand(solution: Solution, relaxation: Relaxation,
                 pools: dict[PoolKey, Pool]) -> dict[PoolKey, dict[str, float]]:
    """Replicas each workload brings to each pool in the LP solution."""
    out: dict[PoolKey, dict[str, float]] = {}
    for w, values in solution.x.items():
        for i, v in values.items():
            key = relaxation.options[w][i].pool_key
            if key in pools and w in pools[key].members:
                out.setdefault(key, {})
                out[key][w] = out[key].get(w, 0.0) + v * pools[key].members[w].count
    return out
