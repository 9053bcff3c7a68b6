"""Whole nodes per pool (`whole_nodes.py`) and the plan search that prices pools with them (`search.py`):
the model never prices a pool above its exact packing, is exact for one shape, takes a real packing as a
complete hint, and the search reaches the brute-force optimum where the cut model's choice packs worse."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from advisor.portfolio.packing import NodeType, PodShape, pack
from advisor.portfolio.plan import plan
from advisor.portfolio.search import packed_by_pool, search_types
from advisor.portfolio.whole_nodes import add_whole_nodes
from tests.test_pool_cuts import TYPES, brute_force_with_pooling, pool_of

SPECS = st.lists(st.tuples(st.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0]), st.sampled_from([0.5, 1.0, 2.0, 4.0, 6.0]),
                           st.integers(1, 5)), min_size=1, max_size=3)


def whole_node_cost(shapes: list[PodShape], hint=None, fix_hint: bool = False, types=TYPES) -> tuple[int, int, int]:
    """The model's least monthly cost (cents) for every shape placed, its status, and the hinted cost."""
    model = cp_model.CpModel()
    placed = {s.key: [model.new_constant(1)] for s in shapes}
    cost = model.new_int_var(0, 10**9, "cost")
    upfront = model.new_int_var(0, 10**9, "upfront")
    hinted = add_whole_nodes(model, {s.key: s for s in shapes}, types, placed, cost, upfront, "p", hint=hint)
    if hint is not None:
        model.add_hint(cost, hinted[0])
        model.add_hint(upfront, hinted[1])
    model.minimize(cost)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    solver.parameters.fix_variables_to_their_hinted_value = fix_hint
    status = solver.solve(model)
    return (solver.value(cost) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else -1), status, hinted[0]


@settings(max_examples=25, deadline=None)
@given(SPECS)
def test_whole_nodes_never_price_a_pool_above_its_exact_packing(specs):
    shapes = [PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in enumerate(specs)]
    exact = pack(shapes, TYPES, time_limit_s=10)
    assert exact.status == "OPTIMAL"
    cents, status, _ = whole_node_cost(shapes)
    assert status == cp_model.OPTIMAL
    assert cents <= round(exact.monthly_usd * 100) + 1
    if len(shapes) == 1:       # one shape: whole nodes per type are the packing itself
        assert cents >= math.floor(exact.monthly_usd * 100) - len(TYPES)


@settings(max_examples=15, deadline=None)
@given(SPECS)
def test_a_real_packing_is_a_complete_solution_of_the_whole_node_model(specs):
    """The hint built from a packing (`_hinted`) is feasible as it stands, and costs what the packing costs."""
    shapes = [PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in enumerate(specs)]
    result = pack(shapes, TYPES, time_limit_s=10)
    hint = [(g.instance_type, g.count, g.replicas_per_node) for g in result.groups]
    cents, status, hinted = whole_node_cost(shapes, hint=hint, fix_hint=True)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assert hinted == pytest.approx(result.monthly_usd * 100, abs=len(result.groups) + 1)
    assert cents == hinted
    # a packing on a type the model leaves out (a dearer twin of "small") is hinted as the type that dominates it
    twin = NodeType("small-twin", 11.0, 1.9, 3.5, 8)
    renamed = [("small-twin" if name == "small" else name, n, per_node) for name, n, per_node in hint]
    cents, status, hinted = whole_node_cost(shapes, hint=renamed, fix_hint=True, types=[*TYPES, twin])
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and cents == hinted


def test_search_types_keep_the_starts_and_each_shapes_cheapest_per_replica():
    members = {"a": PodShape("a", 0.25, 0.5, count=4), "b": PodShape("b", 0.5, 7.0, count=1)}
    pool = pool_of(members)
    names = {t.instance_type for t in search_types(pool, None, [("large", 1, {"a": 4})])}
    # a: 0.25 vCPU / 0.5 GiB fits 7 on small ($10: 1.43/replica), 15 on medium (1.27), 29 on large (1.28):
    # medium; b: 0.5 vCPU / 7 GiB fits 2 on highmem ($12 a replica), 2 on large ($18.50), 1 on medium ($19):
    # highmem; large from the start
    assert names == {"medium", "highmem", "large"}


def test_packed_by_pool_maps_clusters_to_the_pools_of_the_choice():
    class Chosen:
        def __init__(self, key):
            self.pool_key = key

    chosen = {"a": Chosen("p1"), "b": Chosen("p1"), "c": Chosen(None)}
    clusters = [{"members": ["a", "b"], "nodes": [{"instance_type": "m", "node_count": 2,
                                                    "replicas_per_node": {"a": 1, "b": 3}}]},
                {"members": ["c"], "nodes": [{"instance_type": "x", "node_count": 1, "replicas_per_node": {"c": 1}}]}]
    assert packed_by_pool(chosen, clusters) == {"p1": [("m", 2, {"a": 1, "b": 3})]}


@pytest.mark.parametrize("spec", [[(0.25, 8, 2), (2, 8, 2), (1.5, 4, 3)],
                                  [(0.25, 8, 1), (1, 2, 2), (1.5, 4, 3), (0.5, 0.5, 1)]])
def test_the_whole_node_search_reaches_the_brute_force_optimum(catalog, spec):
    """Portfolios where the cut model's choice (plan B) packs dearer than the best plan: the search, pricing
    pools at whole nodes, answers the optimum of every choice with every pool packed exactly, and its model
    priced that plan at what it costs once packed."""
    d = {"workloads": [{"id": f"k{i}", "vcpu": v, "memory_gib": m, "replicas": r, "orchestrator": "kubernetes",
                        "hours_per_month": 300, "horizon_months": 1, "allowed_services": ["eks_ec2", "eks_fargate"]}
                       for i, (v, m, r) in enumerate(spec)]}
    p = plan(d, catalog=catalog, time_limit_s=10)
    optimum = brute_force_with_pooling(d, catalog)
    assert p["totals"]["monthly_usd"] == pytest.approx(optimum, abs=0.011)
    notes = p["solver"]["relaxation"]["pooled_plans"]
    search = next(n for n in notes if n.startswith("whole-node search"))
    packed, priced = (float(v.replace(",", "")) for v in re.findall(r"\$([\d,.]+)", search))
    assert packed == pytest.approx(priced, abs=0.02) == pytest.approx(optimum, abs=0.011)
    # and proven optimal, by a bound that never exceeds the brute-force optimum
    assert optimum - 0.02 <= p["solver"]["bound_monthly_usd"] <= optimum + 0.005
    assert p["solver"]["status"] == "OPTIMAL"


def test_a_plan_short_of_the_optimum_says_so_with_a_bound_below_it(catalog):
    """Three EKS workloads whose optimum (k0 on Fargate, k1 and k2 on two nodes: $184.22) needs node types the
    plan search's few types per pool leave out: the plan found is dearer ($195.40 when this was written), and
    the answer must say so honestly, not as OPTIMAL: its bound at most the brute-force optimum, its gap what
    plan and bound give. (This instance once tested the search's wide pass, which reached the optimum before
    EKS nodes took AWS's per-type capacity; the portfolio's gap targets are settled, so it now tests the
    report, whatever the search finds.)"""
    spec = [(2, 1, 1), (2, 0.5, 2), (2, 8, 1)]
    d = {"workloads": [{"id": f"k{i}", "vcpu": v, "memory_gib": m, "replicas": r, "orchestrator": "kubernetes",
                        "hours_per_month": 300, "horizon_months": 1, "allowed_services": ["eks_ec2", "eks_fargate"]}
                       for i, (v, m, r) in enumerate(spec)]}
    optimum = brute_force_with_pooling(d, catalog)
    assert optimum == pytest.approx(184.22, abs=0.005)
    p = plan(d, catalog=catalog, time_limit_s=10)
    s, monthly = p["solver"], p["totals"]["monthly_usd"]
    assert s["bound_monthly_usd"] <= optimum + 0.005 <= monthly + 0.01
    assert s["defects"] == []
    if monthly > optimum + 0.01:
        assert s["status"] == "FEASIBLE"
        assert s["gap"] == pytest.approx((monthly - s["bound_monthly_usd"]) / monthly, abs=1e-5)
    else:
        assert s["status"] == "OPTIMAL"
