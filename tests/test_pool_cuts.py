"""Pool cuts and the relaxation they tighten: every cut is below what any member set really costs, the
packing-LP prices are dual feasible for every pattern, dominated pools stand aside, and the portfolio's
bound lies below the exact optimum with pooling (brute force over pools, exact packing)."""

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.candidates.base import Context
from advisor.portfolio.clusters import GroupPrices
from advisor.portfolio.lagrangian import decompose
from advisor.portfolio.options import bounded, fee_cents, options_for
from advisor.portfolio.packing import NodeType, PodShape, PoolPacking, pack, shape_class
from advisor.portfolio.plan import parse, plan
from advisor.portfolio.pool_cuts import Pool, aggregate_cut, alone_cuts, dominated, resource_cuts, sibling_cut, tighten
from advisor.portfolio.pooled import pools_and_options
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.select import Limits

TYPES = [NodeType("small", 10.0, 1.9, 3.5, 8), NodeType("medium", 19.0, 3.9, 7.5, 16),
         NodeType("large", 37.0, 7.9, 15.5, 29), NodeType("highmem", 24.0, 1.9, 15.5, 8)]


def pool_of(members: dict[str, PodShape], types=TYPES, monthly=None, upfront=None, key="p") -> Pool:
    prices = GroupPrices(names=[t.instance_type for t in types],
                         capacity=np.array([[t.alloc_vcpu, t.alloc_memory_gib, t.pod_slots, t.gpus] for t in types],
                                           dtype=float),
                         gpu_model=[None] * len(types), arch=np.array(["x86_64"] * len(types)))
    prices.monthly[("on_demand",)] = np.array(monthly or [t.usd_per_month for t in types], dtype=float)
    prices.upfront[("on_demand",)] = np.array(upfront or [0.0] * len(types), dtype=float)
    return Pool(key, ("eks_ec2",), False, prices, ("on_demand",), np.ones(len(types), dtype=bool), members,
                {w: 0 for w in members})


def exact(shapes: list[PodShape]) -> float:
    result = pack(shapes, TYPES, time_limit_s=10)
    assert result.status == "OPTIMAL"
    return result.monthly_usd


MEMBERS = {"a": PodShape("a", 1.0, 2.0, count=3), "b": PodShape("b", 1.5, 6.0, count=2),
           "c": PodShape("c", 0.5, 0.5, count=5)}


def test_every_cut_is_below_the_exact_cost_of_every_member_set():
    pool = pool_of(MEMBERS)
    packing = PoolPacking(MEMBERS.values(), TYPES)
    cuts = resource_cuts(pool) + [aggregate_cut(pool)] + alone_cuts(pool)
    duals = packing.duals({"a": 3, "b": 1}, 5)          # a pattern cut computed at one demand
    cuts.append({w: duals.price[w] * s.count * 100_000 for w, s in MEMBERS.items()})
    for size in (1, 2, 3):
        for subset in itertools.combinations(sorted(MEMBERS), size):
            cost = exact([MEMBERS[w] for w in subset])
            for cut in cuts:
                assert sum(cut.get(w, 0) for w in subset) / 100_000 <= cost + 1e-6, (subset, cut)
    # the alone cut of each member is exactly its cheapest whole nodes
    for cut in alone_cuts(pool):
        (w, coef), = cut.items()
        assert coef / 100_000 == pytest.approx(exact([MEMBERS[w]]), abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0]), st.sampled_from([0.5, 1.0, 2.0, 4.0, 6.0]),
                          st.integers(1, 4)), min_size=1, max_size=3),
       st.lists(st.integers(0, 4), min_size=3, max_size=3))
def test_pattern_prices_are_dual_feasible_for_every_pattern(specs, demand):
    shapes = [PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in enumerate(specs)]
    duals = PoolPacking(shapes, TYPES).duals({s.key: d for s, d in zip(shapes, demand, strict=False)}, 5)
    price = [duals.price.get(s.key, 0.0) for s in shapes]
    for t in TYPES:
        ranges = [range(min(s.count, t.pod_slots) + 1) for s in shapes]
        for counts in itertools.product(*ranges):
            fits = (sum(n * s.vcpu for n, s in zip(counts, shapes, strict=True)) <= t.alloc_vcpu + 1e-9
                    and sum(n * s.memory_gib for n, s in zip(counts, shapes, strict=True)) <= t.alloc_memory_gib + 1e-9
                    and sum(counts) <= t.pod_slots)
            if fits:
                assert sum(n * p for n, p in zip(counts, price, strict=True)) <= t.usd_per_month + 1e-6


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.5, 1.0, 1.5, 3.0]), st.sampled_from([0.5, 2.0, 4.0, 6.0]),
                          st.integers(1, 3)), min_size=1, max_size=3),
       st.lists(st.sampled_from([0.6, 0.9, 1.0, 1.3, 2.0]), min_size=len(TYPES), max_size=len(TYPES)),
       st.lists(st.integers(0, 3), min_size=3, max_size=3), st.data())
def test_a_cut_carried_to_a_sibling_pool_is_below_its_exact_cost(specs, factors, demand, data):
    """Pool q (same kind, another purchase option: prices scaled per type) with a subset of p's members: p's
    pattern cut, carried over, never exceeds what any member set of q really costs under q's prices."""
    shapes = {f"s{i}": PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in enumerate(specs)}
    p = pool_of(shapes)
    q_types = [NodeType(t.instance_type, t.usd_per_month * f, t.alloc_vcpu, t.alloc_memory_gib, t.pod_slots)
               for t, f in zip(TYPES, factors, strict=True)]
    p.prices.monthly[("reserved",)] = np.array([t.usd_per_month for t in q_types])
    p.prices.upfront[("reserved",)] = np.zeros(len(TYPES))
    kept = data.draw(st.lists(st.sampled_from(sorted(shapes)), min_size=1, unique=True))
    q = Pool("q", p.kind, False, p.prices, ("reserved",), p.allowed, {w: shapes[w] for w in kept},
             {w: 0 for w in kept})
    duals = PoolPacking(shapes.values(), TYPES).duals({w: d for w, d in zip(sorted(shapes), demand, strict=False)}, 5)
    cut = sibling_cut(p, q, {shape_class(s): duals.price.get(w, 0.0) for w, s in shapes.items()})
    # every type is offered to both and q's members are p's: the cut carries over (unless p priced them at 0)
    assert cut or not any(duals.price.get(w, 0.0) * min(factors) * 100_000 >= 1 for w in kept)
    for size in range(1, len(kept) + 1):
        for subset in itertools.combinations(kept, size):
            result = pack([shapes[w] for w in subset], q_types, time_limit_s=10)
            assert result.status == "OPTIMAL"
            assert sum(cut.get(w, 0) for w in subset) / 100_000 <= result.monthly_usd + 1e-6, (subset, cut)


def test_a_cut_is_not_carried_to_a_pool_whose_members_could_bring_more():
    p = pool_of({"a": PodShape("a", 1.0, 2.0, count=2)})
    q = pool_of({"a": PodShape("a", 1.0, 2.0, count=2), "b": PodShape("b", 1.0, 2.0, count=1)}, key="q")
    q.prices = p.prices   # the same kind: one price table
    assert sibling_cut(p, q, {shape_class(PodShape("a", 1.0, 2.0)): 5.0}) == {}


def test_a_pool_cheaper_on_every_type_stands_in_for_a_dearer_one():
    cheap = pool_of(MEMBERS, key="cheap", monthly=[9.0, 18.0, 30.0, 20.0])
    dear = pool_of(MEMBERS, key="dear")
    assert dominated({"cheap": cheap, "dear": dear}) == {"dear"}
    mixed = pool_of(MEMBERS, key="mixed", monthly=[9.0, 18.0, 40.0, 20.0])    # one type dearer: both stay
    assert dominated({"mixed": mixed, "dear": dear}) == set()
    upfront = pool_of(MEMBERS, key="upfront", monthly=[5.0, 9.0, 18.0, 12.0], upfront=[60.0, 108.0, 216.0, 144.0])
    assert dominated({"upfront": upfront, "dear": dear}) == set()             # cheaper a month, but cash upfront


def brute_force_with_pooling(d, catalog) -> float:
    """Every choice of one pool (or a non-pooled option) per workload, each pool packed exactly: the optimum."""
    portfolio = parse(d)
    workloads = {w.id: bounded(w, portfolio) for w in portfolio.workloads}
    options, _ = options_for(Context(catalog), workloads)
    fees = fee_cents(options)
    fluid, pools = pools_and_options(catalog, workloads, options)
    choices = {}
    for w, opts in fluid.items():     # per pool, the least other cost; non-pooled options as they are
        best: dict = {}
        for o in opts:
            key = o.pool_key or id(o)
            if key not in best or o.cost_cents < best[key].cost_cents:
                best[key] = o
        choices[w] = list(best.values())
    optimum = math.inf
    names = sorted(choices)
    packed: dict[tuple, float] = {}     # (pool, members) -> exact packing cost: a pool has few member sets

    def exact(key, members: tuple[str, ...]) -> float:
        if (key, members) not in packed:
            result = pack([pools[key].members[w] for w in members], pools[key].types, time_limit_s=10)
            assert result.status == "OPTIMAL"
            packed[(key, members)] = result.monthly_usd
        return packed[(key, members)]

    for combo in itertools.product(*(choices[w] for w in names)):
        cost = sum(o.cost_cents for o in combo) / 100 + sum(fees[k] for k in {k for o in combo for k in o.fees}) / 100
        by_pool: dict = {}
        for w, o in zip(names, combo, strict=True):
            if o.pool_key:
                by_pool.setdefault(o.pool_key, []).append(w)
        cost += sum(exact(key, tuple(members)) for key, members in by_pool.items())
        optimum = min(optimum, cost)
    return optimum


def test_the_bound_is_below_the_exact_optimum_with_pooling(catalog):
    workloads = [{"id": f"k{i}", "vcpu": v, "memory_gib": m, "replicas": r, "orchestrator": "kubernetes",
                  "hours_per_month": 300, "horizon_months": 1, "allowed_services": ["eks_ec2", "eks_fargate"]}
                 for i, (v, m, r) in enumerate([(0.5, 1, 3), (1, 3, 2), (2, 6, 1)])]
    d = {"workloads": workloads}
    p = plan(d, catalog=catalog, time_limit_s=10)
    optimum = brute_force_with_pooling(d, catalog)
    s = p["solver"]
    assert s["bound_monthly_usd"] <= optimum + 0.01 <= s["objective_monthly_usd"] + 0.02


def tightened_relaxation(d, catalog):
    portfolio = parse(d)
    workloads = {w.id: bounded(w, portfolio) for w in portfolio.workloads}
    options, _ = options_for(Context(catalog), workloads)
    fluid, pools = pools_and_options(catalog, workloads, options)
    relaxation = Relaxation(fluid, fee_cents(options), Limits(), {}, {k: p.upfront_ratio for k, p in pools.items()})
    tightened = tighten(relaxation, pools, deadline=time.perf_counter() + 20)
    return relaxation, pools, tightened


SMALL = {"workloads": [{"id": f"k{i}", "vcpu": v, "memory_gib": m, "replicas": r, "orchestrator": "kubernetes",
                        "hours_per_month": 300, "horizon_months": 1, "allowed_services": ["eks_ec2", "eks_fargate"]}
                       for i, (v, m, r) in enumerate([(0.5, 1, 3), (1, 3, 2), (2, 6, 1)])]}


def test_the_lagrangian_decomposition_adds_up_to_the_lp_and_whole_nodes_only_raise_it(catalog):
    relaxation, pools, tightened = tightened_relaxation(SMALL, catalog)
    assert tightened.converged
    parts = decompose(relaxation)
    as_lp = parts.solve(pools, time.perf_counter() + 10, integer=False)
    assert abs(as_lp.bound_cents - relaxation.solver.value * 100) <= 1      # the bookkeeping of duals is exact
    whole = parts.solve(pools, time.perf_counter() + 10)
    assert whole.proven == whole.components
    optimum = brute_force_with_pooling(SMALL, catalog)
    assert as_lp.bound_cents <= whole.bound_cents <= round(optimum * 100) + 1
    # whole nodes matter here: the packing LP's fractional nodes are below what any plan pays
    assert whole.bound_cents > as_lp.bound_cents + 100
