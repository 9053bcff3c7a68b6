"""The cluster-packing engine: optimal against brute force on tiny cases, the checker catching broken
packings, FFD as documented, determinism, the GPU rules, and the bound never above a packing."""

from __future__ import annotations

import math
import random
import re
from functools import cache
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.portfolio.packing import (
    NodeGroup,
    NodeType,
    PackingResult,
    PodShape,
    best_single_type,
    ffd,
    karpenter_pool,
    lower_bound,
    node_types_for,
    pack,
    validate_packing,
)


# ----------------------------------------------------------------------------- an independent brute force
def _hosts(shape: PodShape, node: NodeType) -> bool:
    if shape.gpus == 0:
        return node.gpus == 0
    if node.gpus == 0:
        return False
    if shape.gpu_model is None:
        return True
    word = rf"(^|[^a-z0-9]){shape.gpu_model.lower()}($|[^a-z0-9])"
    return re.search(word, (node.gpu_model or "").lower()) is not None


def brute_force(shapes: list[PodShape], types: list[NodeType]) -> float:
    """Least cost over every packing: best(left) = min over the contents of the node that holds one
    replica of the first shape still left, of that node's cheapest type + best(the rest)."""

    def node_cost(a: tuple[int, ...]) -> float:
        costs = [n.usd_per_month for n in types
                 if sum(k * s.vcpu for k, s in zip(a, shapes, strict=True)) <= n.alloc_vcpu + 1e-9
                 and sum(k * s.memory_gib for k, s in zip(a, shapes, strict=True)) <= n.alloc_memory_gib + 1e-9
                 and sum(a) <= n.pod_slots and sum(k * s.gpus for k, s in zip(a, shapes, strict=True)) <= n.gpus
                 and all(_hosts(s, n) for k, s in zip(a, shapes, strict=True) if k)]
        return min(costs, default=math.inf)

    @cache
    def best(left: tuple[int, ...]) -> float:
        if not any(left):
            return 0.0
        first = next(i for i, k in enumerate(left) if k)
        out = math.inf
        for a in product(*(range(k + 1) for k in left)):
            if a[first] == 0:
                continue
            cost = node_cost(a)
            if cost < math.inf:
                out = min(out, cost + best(tuple(k - x for k, x in zip(left, a, strict=True))))
        return out

    return best(tuple(s.count for s in shapes))


def tiny_case(rng: random.Random) -> tuple[list[PodShape], list[NodeType]]:
    shapes = [PodShape(f"s{i}", vcpu=rng.choice([0.5, 1, 1.5, 2, 3]), memory_gib=rng.choice([0.5, 1, 2, 4, 6]),
                       count=rng.randint(1, 4)) for i in range(rng.randint(2, 3))]
    types = []
    for j in range(rng.randint(2, 3)):
        cpu = rng.choice([2, 4, 8])
        mem = cpu * rng.choice([1, 2, 4])
        types.append(NodeType(f"t{j}.x", usd_per_month=round(cpu * rng.uniform(8, 14) + mem * rng.uniform(1, 3), 2),
                              alloc_vcpu=cpu - 0.1, alloc_memory_gib=mem - 0.5, pod_slots=rng.choice([3, 8, 20])))
    biggest = max(types, key=lambda n: n.alloc_vcpu)
    if not any(s.vcpu <= n.alloc_vcpu and s.memory_gib <= n.alloc_memory_gib for s in shapes for n in types):
        types.append(NodeType("huge.x", 500.0, 32, 128, 100))
    types.append(NodeType("cover.x", biggest.usd_per_month * 3, 16, 64, 30))   # every tiny shape fits somewhere
    return shapes, types


@pytest.mark.parametrize("seed", range(12))
def test_pack_is_optimal_against_brute_force(seed):
    shapes, types = tiny_case(random.Random(seed))
    best = brute_force(shapes, types)
    result = pack(shapes, types, time_limit_s=5)
    assert validate_packing(shapes, types, result) == []
    assert result.monthly_usd == pytest.approx(best, rel=1e-9)
    assert result.status == "OPTIMAL"
    assert result.lower_bound_usd <= result.monthly_usd + 1e-9
    assert ffd(shapes, types).monthly_usd >= best - 1e-9
    assert best_single_type(shapes, types).monthly_usd >= best - 1e-9


def test_pack_beats_ffd_where_ffd_overpacks():
    # FFD keeps adding to its open node while some type still fits everything: one l node ($40);
    # the optimum is an m node with A and one B plus an s node with two B ($25 + $10).
    types = [NodeType("s.x", 10, 2, 8, 10), NodeType("m.x", 25, 4, 16, 10), NodeType("l.x", 40, 8, 32, 10)]
    shapes = [PodShape("A", 3, 1, count=1), PodShape("B", 1, 1, count=3)]
    got = ffd(shapes, types)
    assert [(g.instance_type, g.count, g.replicas_per_node) for g in got.groups] == [("l.x", 1, {"A": 1, "B": 3})]
    assert got.monthly_usd == 40
    best = pack(shapes, types, time_limit_s=5)
    assert best.monthly_usd == pytest.approx(35) == brute_force(shapes, types)
    assert best.status == "OPTIMAL"
    assert sorted((g.instance_type, g.replicas_per_node["B"]) for g in best.groups) == [("m.x", 1), ("s.x", 2)]


def test_ffd_places_largest_first_on_the_first_node_with_room():
    # Sorted by CPU then memory: C (4 vCPU) opens node 1 (only big.x fits it); A (2 vCPU, 3 GiB)
    # goes to node 1 too (big.x: 6 vCPU, 5 GiB used). B (2 vCPU, 2 GiB) no longer fits node 1
    # (8 vCPU but 7 GiB > 6), so it opens node 2, which ends as the cheapest type that holds it.
    types = [NodeType("small.x", 10, 2, 2, 10), NodeType("big.x", 50, 8, 6, 10)]
    shapes = [PodShape("B", 2, 2), PodShape("A", 2, 3), PodShape("C", 4, 2)]
    got = ffd(shapes, types)
    assert [(g.instance_type, g.replicas_per_node) for g in got.groups] == [
        ("big.x", {"A": 1, "C": 1}), ("small.x", {"B": 1})]
    assert got.monthly_usd == 60 and got.status == "FEASIBLE"


def test_ffd_with_thousands_of_nodes_stays_valid():
    types = [NodeType("one.x", 10, 2, 4, 10), NodeType("two.x", 19, 4, 8, 10)]
    shapes = [PodShape("big", 1.5, 3, count=2500), PodShape("small", 0.5, 1, count=2600)]
    got = ffd(shapes, types)
    assert validate_packing(shapes, types, got) == []
    # Two big pods open a node that only two.x still fits; two small ones fill it exactly (4 vCPU,
    # 8 GiB): 1,250 such nodes; the other 100 small pods go 8 to a two.x node (13 nodes, the last
    # holding 4, which one.x still fits, so that node ends as the cheaper one.x).
    assert got.nodes == 1250 + 13
    assert {(g.instance_type, tuple(sorted(g.replicas_per_node.items())), g.count) for g in got.groups} == {
        ("two.x", (("big", 2), ("small", 2)), 1250), ("two.x", (("small", 8),), 12), ("one.x", (("small", 4),), 1)}


def test_best_single_type_is_one_homogeneous_group():
    types = [NodeType("a.x", 10, 2, 4, 10), NodeType("b.x", 18, 4, 8, 10)]
    shapes = [PodShape("p", 1.5, 1, count=4), PodShape("q", 0.5, 3, count=2)]
    got = best_single_type(shapes, types)
    assert len({g.instance_type for g in got.groups}) == 1
    assert validate_packing(shapes, types, got) == []
    single = [brute_force(shapes, [t]) for t in types]
    assert got.monthly_usd >= min(single) - 1e-9


# ----------------------------------------------------------------------------- the checker
def _valid():
    types = [NodeType("a.x", 10, 2, 4, 10), NodeType("b.x", 18, 4, 8, 10)]
    shapes = [PodShape("p", 1.5, 1, count=3), PodShape("q", 0.5, 3, count=2)]
    return shapes, types, pack(shapes, types, time_limit_s=5)


def test_validate_accepts_a_good_packing():
    shapes, types, result = _valid()
    assert validate_packing(shapes, types, result) == []


def test_validate_catches_over_capacity():
    shapes, types, result = _valid()
    g = result.groups[0]
    key = next(iter(g.replicas_per_node))
    broken = PackingResult([NodeGroup(g.instance_type, g.count, {**g.replicas_per_node, key: 40})] + result.groups[1:],
                           result.monthly_usd, result.lower_bound_usd, result.gap, result.status, 0, "x")
    problems = validate_packing(shapes, types, broken)
    assert any("over the allocatable" in p for p in problems)


def test_validate_catches_a_missing_replica():
    shapes, types, result = _valid()
    g = result.groups[0]
    key = next(iter(g.replicas_per_node))
    fewer = {**g.replicas_per_node, key: g.replicas_per_node[key] - 1}
    broken = PackingResult([NodeGroup(g.instance_type, g.count, fewer)] + result.groups[1:], result.monthly_usd,
                           result.lower_bound_usd, result.gap, result.status, 0, "x")
    assert any(f"shape {key!r}" in p and "placed" in p for p in validate_packing(shapes, types, broken))


def test_validate_catches_a_wrong_cost_and_an_unknown_type():
    shapes, types, result = _valid()
    wrong = PackingResult(result.groups, result.monthly_usd + 1, result.lower_bound_usd, result.gap, result.status,
                          0, "x")
    assert any(p.startswith("cost") for p in validate_packing(shapes, types, wrong))
    g = result.groups[0]
    alien = PackingResult([NodeGroup("zz.x", g.count, g.replicas_per_node)] + result.groups[1:], result.monthly_usd,
                          result.lower_bound_usd, result.gap, result.status, 0, "x")
    assert any("not an allowed node type" in p for p in validate_packing(shapes, types, alien))


# ----------------------------------------------------------------------------- determinism
def test_same_input_same_answer_and_order_does_not_matter():
    rng = random.Random(7)
    shapes = [PodShape(f"w{i}", rng.choice([0.5, 1, 2, 3.5, 6]), rng.choice([1, 2, 4, 8, 12]), count=rng.randint(3, 30))
              for i in range(8)]
    types = [NodeType(f"n{j}.{k}xl", round(k * price, 2), k * 4 - 0.1, k * mem - 1, 58)
             for j, (price, mem) in enumerate([(120, 8), (140, 16), (180, 32)]) for k in (1, 2, 4, 8)]
    first = pack(shapes, types, time_limit_s=4)
    again = pack(shapes, types, time_limit_s=4)
    assert first.groups == again.groups and first.monthly_usd == again.monthly_usd
    assert first.lower_bound_usd == again.lower_bound_usd
    shuffled_shapes, shuffled_types = shapes[:], types[:]
    rng.shuffle(shuffled_shapes)
    rng.shuffle(shuffled_types)
    other = pack(shuffled_shapes, shuffled_types, time_limit_s=4)
    assert other.monthly_usd == first.monthly_usd and other.groups == first.groups
    assert validate_packing(shapes, types, first) == []
    assert first.lower_bound_usd <= first.monthly_usd
    assert first.monthly_usd <= ffd(shapes, types).monthly_usd + 1e-9


def test_identical_shapes_under_different_keys_are_grouped_and_shared_back():
    types = [NodeType("a.x", 10, 4, 16, 10)]
    shapes = [PodShape("x", 1, 1, count=3), PodShape("y", 1, 1, count=2), PodShape("z", 2, 1, count=1)]
    result = pack(shapes, types, time_limit_s=5)
    assert validate_packing(shapes, types, result) == []
    assert result.monthly_usd == 20 and result.status == "OPTIMAL"


# ----------------------------------------------------------------------------- GPUs
GPU_TYPES = [
    NodeType("c.4x", 100, 16, 30, 58),
    NodeType("g4dn.xlarge", 380, 3.9, 14.4, 27, gpus=1, gpu_model="T4"),
    NodeType("g4dn.12xlarge", 2800, 47.8, 189, 58, gpus=4, gpu_model="T4"),
    NodeType("g5g.xlarge", 300, 3.9, 6.4, 27, gpus=1, gpu_model="T4G"),
    NodeType("g5.xlarge", 730, 3.9, 14.4, 27, gpus=1, gpu_model="A10G"),
]


def test_gpu_pods_go_only_to_gpu_nodes_of_their_model():
    shapes = [PodShape("web", 2, 4, count=5), PodShape("infer", 2, 6, gpus=1, gpu_model="T4", count=5),
              PodShape("train", 8, 32, gpus=2, gpu_model="T4", count=1), PodShape("any", 1, 2, gpus=1, count=2)]
    by_name = {n.instance_type: n for n in GPU_TYPES}
    for result in (pack(shapes, GPU_TYPES, time_limit_s=5), ffd(shapes, GPU_TYPES)):
        assert validate_packing(shapes, GPU_TYPES, result) == []
        for g in result.groups:
            node = by_name[g.instance_type]
            for key, n in g.replicas_per_node.items():
                if n and key in ("infer", "train"):
                    assert node.gpu_model == "T4"       # never the T4G (g5g) nor the A10G
                if n and key == "web":
                    assert node.gpus == 0               # CPU-only pods keep off GPU nodes
                if n and key == "any":
                    assert node.gpus >= 1
    assert best_single_type(shapes, GPU_TYPES).status == "INFEASIBLE"   # no one type takes CPU and GPU pods


def test_a_gpu_model_nobody_has_is_infeasible_and_says_why():
    shapes = [PodShape("big", 4, 16, gpus=1, gpu_model="H100", count=1)]
    result = pack(shapes, GPU_TYPES)
    assert result.status == "INFEASIBLE" and result.groups == []
    assert "big" in result.notes[0]
    assert lower_bound(shapes, GPU_TYPES, 1)[0] == math.inf


def test_the_validator_rejects_a_gpu_pod_on_the_wrong_model():
    shapes = [PodShape("infer", 2, 4, gpus=1, gpu_model="T4", count=1)]
    wrong = PackingResult([NodeGroup("g5g.xlarge", 1, {"infer": 1})], 300, 0, 1, "FEASIBLE", 0, "x")
    assert any("may not host" in p for p in validate_packing(shapes, GPU_TYPES, wrong))


# ----------------------------------------------------------------------------- the bound
node_type = st.builds(
    lambda i, cpu, ratio, price, slots: NodeType(f"t{i}", round(price * cpu, 2), cpu - 0.08, cpu * ratio - 0.6, slots),
    st.integers(0, 10_000), st.sampled_from([2, 4, 8, 16]), st.sampled_from([2, 4, 8]), st.floats(5, 40),
    st.sampled_from([4, 15, 58]))
pod_shape = st.builds(
    lambda cpu, mem, count: (cpu, mem, count),
    st.sampled_from([0.25, 0.5, 1, 1.5, 2, 4]), st.sampled_from([0.5, 1, 2, 3, 8]), st.integers(1, 12))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pod_shape, min_size=1, max_size=4),
       st.lists(node_type, min_size=1, max_size=4, unique_by=lambda n: n.instance_type))
def test_the_bound_never_exceeds_the_packing(raw_shapes, types):
    shapes = [PodShape(f"s{i}", cpu, mem, count=count) for i, (cpu, mem, count) in enumerate(raw_shapes)]
    types = types + [NodeType("cover", 5000.0, 31.9, 127, 200)]
    result = pack(shapes, types, time_limit_s=3)
    assert validate_packing(shapes, types, result) == []
    assert result.lower_bound_usd <= result.monthly_usd * (1 + 1e-9)
    assert result.monthly_usd <= ffd(shapes, types).monthly_usd + 1e-6
    bound, patterns = lower_bound(shapes, types, 2)
    assert bound <= result.monthly_usd * (1 + 1e-9) and patterns


@pytest.mark.parametrize("seed", range(8))
def test_column_generation_reaches_the_lp_optimum_of_all_patterns(seed, monkeypatch):
    # Small enough to enumerate every pattern: the LP over all of them is the exact LP optimum;
    # column generation (greedy and exact CP-SAT pricing) must reach the same value.
    import advisor.portfolio.packing as packing

    rng = random.Random(100 + seed)
    shapes = [PodShape(f"w{i}", rng.choice([0.5, 1, 1.5, 2.5]), rng.choice([1, 2, 3, 6]), count=rng.randint(1, 9))
              for i in range(rng.randint(3, 5))]
    types = [NodeType(f"n{k}", round(rng.uniform(20, 40) * k, 2), 2 * k - 0.1, rng.choice([4, 8]) * k - 0.5, 20)
             for k in (1, 2, 4)]
    if seed == 0:
        types.append(NodeType("free", 0.0, 1.9, 3.5, 20))     # a free type must not break the bound
    enumerated, _ = lower_bound(shapes, types, 10)
    monkeypatch.setattr(packing, "ENUMERATE_LIMIT", 0)
    generated, patterns = lower_bound(shapes, types, 10)
    assert generated == pytest.approx(enumerated, rel=1e-6)
    packed = pack(shapes, types, time_limit_s=3)
    assert validate_packing(shapes, types, packed) == []
    assert generated <= packed.monthly_usd * (1 + 1e-9)
    if math.prod(s.count + 1 for s in shapes) <= 500:                 # small enough to brute-force
        assert packed.monthly_usd >= brute_force(shapes, types) - 1e-6 >= generated - 1e-6


def test_farley_bound_when_column_generation_is_cut_short():
    rng = random.Random(3)
    shapes = [PodShape(f"w{i}", rng.choice([0.5, 1, 1.5, 2.5, 3]), rng.choice([1, 2, 3, 6, 10]),
                       count=rng.randint(20, 60)) for i in range(10)]
    types = [NodeType(f"n{k}", 30.0 * k + 5, 4 * k - 0.1, 16 * k - 1, 250) for k in (1, 2, 4, 8, 16)]
    cut, _ = lower_bound(shapes, types, 0.0)          # one LP, then Farley's bound
    full, _ = lower_bound(shapes, types, 30.0)
    packed = pack(shapes, types, time_limit_s=4)
    assert 0 < cut <= full + 1e-6
    assert full <= packed.monthly_usd + 1e-6
    assert validate_packing(shapes, types, packed) == []


# ----------------------------------------------------------------------------- catalog side
def test_node_types_for_the_karpenter_pool(catalog):
    types = node_types_for(catalog, "us-east-1", "linux", pool=karpenter_pool, hours=730)
    names = {n.instance_type for n in types}
    assert "c7i.xlarge" in names and "m6a.large" in names and "r5.large" in names
    assert not names & {"c4.large", "m4.large", "t3.large", "m6g.large", "c6i.metal", "x2idn.16xlarge", "g5.xlarge"}
    c7i = next(n for n in types if n.instance_type == "c7i.xlarge")
    assert c7i.usd_per_month == pytest.approx(0.1785 * 730, rel=0.2) and c7i.gpus == 0
    # AWS's published EKS allocatable for c7i.xlarge (data/ec2): 3,920m CPU, 6,584Mi, 58 pods (VPC CNI defaults),
    # of which aws-node and kube-proxy take 2
    assert (c7i.alloc_vcpu, c7i.alloc_memory_gib, c7i.pod_slots) == (3.92, pytest.approx(6584 / 1024), 56)
    allof = node_types_for(catalog, "us-east-1", "linux", hours=100)
    assert len(allof) > len(types) and any(n.gpus for n in allof)


def test_karpenter_pool_reads_category_and_generation():
    row = {"instance_type": "m7i-flex.large", "family": "m7i-flex", "arch": "x86_64", "bare_metal": False, "gpus": 0}
    assert karpenter_pool(row)
    assert not karpenter_pool({**row, "family": "m4"}) and not karpenter_pool({**row, "family": "x2iedn"})
    assert not karpenter_pool({**row, "arch": "arm64"}) and not karpenter_pool({**row, "bare_metal": True})


SEARCH_TYPES = [NodeType("small", 10.0, 1.9, 3.5, 8), NodeType("medium", 19.0, 3.9, 7.5, 16),
                NodeType("large", 37.0, 7.9, 15.5, 29), NodeType("highmem", 24.0, 1.9, 15.5, 8),
                NodeType("xl", 70.0, 15.9, 31.5, 58), NodeType("cpu", 30.0, 7.9, 7.5, 29)]


def test_the_node_by_node_search_finds_a_packing_the_patterns_miss():
    """Column generation's patterns, then CP-SAT over them, leave this at $204; searched node by node (a few
    nodes), $201. Both valid; the search never answers worse than the patterns."""
    shapes = [PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in
              enumerate([(0.25, 7.0, 3), (1.5, 0.5, 6), (1.0, 5.0, 6), (3.5, 3.0, 5), (1.5, 3.0, 5)])]
    without = pack(shapes, SEARCH_TYPES, time_limit_s=2, node_search=False)
    searched = pack(shapes, SEARCH_TYPES, time_limit_s=2)
    assert validate_packing(shapes, SEARCH_TYPES, without) == validate_packing(shapes, SEARCH_TYPES, searched) == []
    assert searched.monthly_usd == pytest.approx(201.0)
    assert without.monthly_usd > searched.monthly_usd
    assert any("node-by-node search" in n for n in searched.notes)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.5, 3.5]), st.sampled_from([0.5, 1.0, 3.0, 5.0, 7.0]),
                          st.integers(1, 6)), min_size=1, max_size=5))
def test_the_node_by_node_search_never_answers_worse(specs):
    shapes = [PodShape(f"s{i}", v, m, count=n) for i, (v, m, n) in enumerate(specs)]
    without = pack(shapes, SEARCH_TYPES, time_limit_s=1, node_search=False)
    searched = pack(shapes, SEARCH_TYPES, time_limit_s=1)
    assert validate_packing(shapes, SEARCH_TYPES, searched) == []
    assert searched.monthly_usd <= without.monthly_usd + 1e-9
    assert searched.lower_bound_usd <= searched.monthly_usd + 1e-9


def test_an_artificially_high_bound_is_reported_as_a_defect_never_as_optimal(monkeypatch):
    """The bound is reported as computed: a bound three times too high shows as itself, with a defect note,
    a negative gap and status FEASIBLE (with the old clipping it read OPTIMAL, gap 0)."""
    from advisor.portfolio import packing

    shapes, types = tiny_case(random.Random(3))
    honest = pack(shapes, types, time_limit_s=5)
    real = packing._bound_by_components

    def inflated(*args, **kwargs):
        bound = real(*args, **kwargs)
        bound.value *= 3
        return bound

    monkeypatch.setattr(packing, "_bound_by_components", inflated)
    result = pack(shapes, types, time_limit_s=5)
    assert result.lower_bound_usd == pytest.approx(3 * honest.lower_bound_usd, rel=1e-9)
    assert result.lower_bound_usd > result.monthly_usd
    assert result.status == "FEASIBLE" and result.gap < 0
    assert result.defect and result.defect in result.notes


def test_undominated_types_match_the_pairwise_definition_on_random_instances():
    """`_undominated` compares who-may-host-what once per distinct column; it must keep exactly the types no
    earlier type dominates (every capacity at least, hosting every class this one may), as the pairwise
    definition over all types says."""
    import numpy as np

    from advisor.portfolio.packing import _undominated

    rng = np.random.default_rng(7)
    for _ in range(200):
        n, m = int(rng.integers(1, 40)), int(rng.integers(0, 5))
        cap, kind = rng.integers(0, 4, (n, 4)), rng.random((m, n)) < 0.7
        dominated = [any((cap[u] >= cap[t]).all() and (kind[:, u] >= kind[:, t]).all() for u in range(t))
                     for t in range(n)]
        assert _undominated(cap, kind).tolist() == [t for t in range(n) if not dominated[t]]
