"""Exact cluster packing: replicas of pod shapes onto priced node types, at least cost.

The problem. Shapes s (vCPU, memory, GPUs, GPU model) with counts d_s; node types t with a monthly
price c_t and allocatable capacity (vCPU, memory, pod slots, GPUs). Find a multiset of nodes and a
placement of every replica such that no node exceeds any capacity, at least total price.

The formulation (Gilmore-Gomory). A pattern p = (t, a) is one node of type t holding a_s replicas
of each shape (a_s <= d_s, everything within t's capacity). With x_p nodes of pattern p:

    min  sum_p c_t(p) x_p   s.t.  sum_p a_sp x_p >= d_s  (every s),   x_p >= 0 integer.

Covering (>=) is enough: surplus replicas are removed from a solution afterwards, which only frees
capacity. The LP relaxation is solved by column generation: the restricted master LP over the
patterns found so far (scipy `linprog`, HiGHS) gives duals pi_s >= 0, and the pricing problem for
each type, max pi . a over the patterns of t (a bounded multi-dimensional knapsack: CPU, memory,
pod slots, GPUs, a_s <= d_s), finds a pattern with negative reduced cost c_t - pi . a. Pricing runs
a greedy first and the exact knapsack (CP-SAT) only when the greedy finds nothing; when the exact
pricing finds nothing either, the master LP value is the LP optimum, a valid lower bound on every
packing.

Stopped early, the bound stays valid (Farley): for any pi >= 0, with V_t(pi) >= max pi . a over t's
patterns (an exact knapsack optimum or any upper bound on it: CP-SAT's proven bound, or the
fractional knapsack on one resource) and theta = max(1, max_t V_t / c_t), pi / theta is feasible
for the dual of the full LP (every pattern p of t has pi . a_p / theta <= V_t / theta <= c_t), so
pi . d / theta is a lower bound on the LP optimum, hence on every packing.

The packing: CP-SAT over integer pattern counts on every generated pattern, hinted with the best
of first-fit-decreasing and the rounded-down LP plus first-fit-decreasing on the rest; then a final
improvement: surplus replicas are removed and each node is re-typed to the cheapest type that holds
what it carries. When the patterns could all be enumerated (small cases), the model holds all of
them and CP-SAT's optimality is a proof; otherwise OPTIMAL means cost == LP bound (1e-6 relative).
Shapes that can never share a node (CPU-only and GPU pods) form separate components: column
generation runs per component and the bounds add up. Dominated types (another type no dearer, with
at least every capacity, hosting every shape this one may) are left out of the LP: they cannot
improve it.

Resources are integers: vCPU in millicores and memory in MiB, demands rounded up and capacities
down (exact for the whole millicores and MiB Kubernetes quantities are written in). Pods without
GPUs go only to GPU-less nodes (GPU nodes are kept for GPU work, as the usual nvidia.com/gpu taint
does; the advisor's frontiers apply the same rule); a pod with GPUs needs a node with at least that
many GPUs and, when it names a GPU model, of that model (a whole-word, case-insensitive match:
'T4' matches 'T4', not 'T4G'). GPUs are whole: there is no GPU sharing on AWS nodes here.

Determinism: inputs are sorted (shapes by size then key, types by price then name), identical
shapes are grouped, CP-SAT runs with a fixed seed, fixed workers and deterministic-time limits. A
phase cut short by the wall-clock limit (a safety net, reported in `notes`) may differ between runs.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.csgraph import connected_components

from advisor.candidates.gpu import gpu_model_matches
from advisor.portfolio import clock
from advisor.portfolio.ffd import first_fit_decreasing, per_node

CPU, MEM, PODS, GPU = range(4)
DIMS = 4
REL_TOL = 1e-6          # status OPTIMAL: cost within this of the bound; cost checks in validate_packing
PRICE_EPS = 1e-9        # a column enters when its reduced cost is below -PRICE_EPS * c_t
ENUMERATE_LIMIT = 5_000   # all maximal patterns are enumerated when there are at most this many
WORKERS = 2
CHUNK = 4               # exact pricings per batch (the threads share them)
SEED_BASE = 20_250_302
log = logging.getLogger("advisor.portfolio")


# ----------------------------------------------------------------------------- the API's types
@dataclass(frozen=True)
class PodShape:
    """Identical replicas of one workload (or one pod shape)."""

    key: str
    vcpu: float
    memory_gib: float
    gpus: int = 0
    gpu_model: str | None = None
    count: int = 1


@dataclass(frozen=True)
class NodeType:
    """One node type: its price for the month (the caller decides rate x hours) and its allocatable capacity."""

    instance_type: str
    usd_per_month: float
    alloc_vcpu: float
    alloc_memory_gib: float
    pod_slots: int
    gpus: int = 0
    gpu_model: str | None = None
    upfront_usd: float = 0.0     # paid at the start for one node (commitments with an upfront)


@dataclass
class NodeGroup:
    """`count` identical nodes of one type, each holding `replicas_per_node[key]` replicas of each shape."""

    instance_type: str
    count: int
    replicas_per_node: dict[str, int]


@dataclass
class PackingResult:
    groups: list[NodeGroup]
    monthly_usd: float
    lower_bound_usd: float  # the best proven bound (pack); 0.0 from ffd and best_single_type, which prove none
    gap: float          # (monthly - bound) / monthly
    status: str         # OPTIMAL (proven), FEASIBLE, INFEASIBLE
    seconds: float
    method: str
    notes: list[str] = field(default_factory=list)   # unplaceable shapes, phases cut short
    defect: str | None = None   # the bound is above the packing's cost: a defect, reported (see `_result`)

    @property
    def nodes(self) -> int:
        return sum(g.count for g in self.groups)


@dataclass(frozen=True)
class Pattern:
    """One node configuration: a type and the replicas it holds. Shapes identical in resources are
    grouped into one class, named by its first key (sorted)."""

    instance_type: str
    usd_per_month: float
    replicas: tuple[tuple[str, int], ...]
    lp_nodes: float = 0.0   # its value in the last master LP


# ----------------------------------------------------------------------------- catalog side
_FAMILY = re.compile(r"^([a-z]+)(\d+)")


def family_parts(family: str) -> tuple[str, int | None]:
    """Karpenter's instance-category and instance-generation labels of a family: 'c7i' -> ('c', 7),
    'm7i-flex' -> ('m', 7), 'u-6tb1' -> ('u', None)."""
    match = _FAMILY.match(family or "")
    if not match:
        return (re.match(r"^[a-z]*", family or "").group(0), None)
    return match.group(1), int(match.group(2))


def karpenter_pool(row: dict) -> bool:
    """The general-purpose node pool of the Karpenter and EKS documentation.

    Karpenter's example NodePool (aws/karpenter-provider-aws examples/v1/general-purpose.yaml, and
    the getting-started guide) requires `karpenter.k8s.aws/instance-category In [c, m, r]`,
    `karpenter.k8s.aws/instance-generation Gt 2`, `kubernetes.io/arch In [amd64]` and on-demand
    capacity. EKS Auto Mode's built-in general-purpose NodePool (Karpenter-based; EKS user guide,
    "Enable or Disable Built-in NodePools") narrows it to generation 5 or newer: C, M and R families,
    amd64, on-demand. This is that pool: category c, m or r; generation > 4; x86_64; not bare metal.
    """
    category, generation = family_parts(str(row.get("family") or row["instance_type"].split(".")[0]))
    return (category in ("c", "m", "r") and generation is not None and generation > 4
            and row.get("arch", "x86_64") == "x86_64" and not row.get("bare_metal", False)
            and int(row.get("gpus") or 0) == 0)


def node_types_for(catalog, region: str, os: str, service: str = "eks_ec2", hours: float = 730.0,
                   pool: Callable[[dict], bool] | None = None) -> list[NodeType]:
    """Priced, non-burstable node types with their allocatable capacity (`frontiers.node_types`),
    priced on-demand x `hours`; `pool(row)` (a row of node_types joined with the catalog's specs:
    family, size, bare_metal, current_generation, instance_category, usd_per_hour) filters them."""
    import polars as pl

    from advisor.candidates.frontiers import node_types
    from advisor.candidates.instances import offered

    specs = offered(catalog, region, os).select(
        "instance_type", "family", "size", "bare_metal", "current_generation", "instance_category", "usd_per_hour")
    frame = (node_types(catalog, service, region, os).join(specs, on="instance_type", how="inner")
             .filter(pl.col("usd_per_hour").is_not_null()).sort("instance_type"))
    out = []
    for row in frame.iter_rows(named=True):
        if pool is not None and not pool(row):
            continue
        out.append(NodeType(instance_type=row["instance_type"], usd_per_month=float(row["usd_per_hour"]) * hours,
                            alloc_vcpu=float(row["alloc_vcpu"]), alloc_memory_gib=float(row["alloc_memory_gib"]),
                            pod_slots=int(row["pod_slots"]), gpus=int(row["gpus"] or 0), gpu_model=row["gpu_model"]))
    return out


# ----------------------------------------------------------------------------- compatibility
def may_host(shape: PodShape, node: NodeType) -> bool:
    """The GPU rules, whatever the sizes: pods without GPUs on GPU-less nodes only; GPU pods on GPU
    nodes carrying the named model (any model when none is named)."""
    if shape.gpus <= 0:
        return node.gpus <= 0
    return node.gpus > 0 and gpu_model_matches(shape.gpu_model, node.gpu_model)


def _milli(v: float) -> int:
    return int(math.ceil(round(v * 1000.0, 6)))


def _mib(v: float) -> int:
    return int(math.ceil(round(v * 1024.0, 6)))


def _size(s: PodShape) -> list[int]:
    return [_milli(s.vcpu), _mib(s.memory_gib), 1, int(s.gpus)]


def shape_class(s: PodShape) -> tuple:
    """What makes two shapes one class to packing: their whole-unit resources and GPU model."""
    return (*_size(s), s.gpu_model or None)


def node_capacity(n: NodeType) -> list[int]:
    """A node's allocatable capacity in packing's whole units (milli-vCPU, MiB, pod slots, GPUs), rounded down."""
    return _cap(n)


def _cap(n: NodeType) -> list[int]:
    return [int(math.floor(round(n.alloc_vcpu * 1000.0, 6))), int(math.floor(round(n.alloc_memory_gib * 1024.0, 6))),
            max(int(n.pod_slots), 0), max(int(n.gpus), 0)]


def node_capacities(types: list[NodeType]) -> np.ndarray:
    """`_cap` for many types at once."""
    if not types:
        return np.zeros((0, DIMS), dtype=np.int64)
    raw = np.array([(n.alloc_vcpu, n.alloc_memory_gib, n.pod_slots, n.gpus) for n in types], dtype=float)
    out = np.empty((len(types), DIMS), dtype=np.int64)
    out[:, CPU] = np.floor(np.round(raw[:, CPU] * 1000.0, 6))
    out[:, MEM] = np.floor(np.round(raw[:, MEM] * 1024.0, 6))
    out[:, PODS] = np.maximum(raw[:, PODS].astype(np.int64), 0)
    out[:, GPU] = np.maximum(raw[:, GPU].astype(np.int64), 0)
    return out


# ----------------------------------------------------------------------------- the prepared problem
@dataclass
class _Class:
    key: str
    shape: PodShape                      # resources (count ignored)
    demand: int
    members: list[tuple[str, int]]       # (shape key, count), keys sorted


@dataclass
class _Problem:
    classes: list[_Class]
    types: list[NodeType]                # every type that may host something, by (price, name)
    size: np.ndarray                     # classes x DIMS
    demand: np.ndarray                   # classes
    cap: np.ndarray                      # types x DIMS
    cost: np.ndarray                     # types
    kind: np.ndarray                     # classes x types: GPU rules
    compat: np.ndarray                   # classes x types: GPU rules and one replica fits
    kept: np.ndarray                     # indices of the undominated types
    unplaceable: list[str]
    limit: np.ndarray | None = None      # per class, the most replicas a pattern may hold (default: demand)

    @property
    def pattern_cap(self) -> np.ndarray:
        return self.demand if self.limit is None else self.limit

    @property
    def rank(self) -> np.ndarray:
        return np.arange(len(self.types), dtype=np.int64)


def _resources(s: PodShape) -> tuple:
    """What makes two shapes interchangeable on a node."""
    return (*_size(s), s.gpu_model or None)


def _shape_order(s: PodShape) -> tuple:
    return (-_milli(s.vcpu), -_mib(s.memory_gib), -int(s.gpus), s.gpu_model or "", s.key)


def _prepare(shapes: Iterable[PodShape], node_types: Iterable[NodeType]) -> _Problem:
    by_key: dict[str, PodShape] = {}
    counts: dict[str, int] = {}
    for s in shapes:
        if s.count < 0 or s.vcpu < 0 or s.memory_gib < 0 or s.gpus < 0:
            raise ValueError(f"shape {s.key!r}: negative count or resources")
        if int(s.count) != s.count or int(s.gpus) != s.gpus:
            raise ValueError(f"shape {s.key!r}: count and gpus must be whole numbers")
        if s.key in by_key and _size(by_key[s.key]) + [by_key[s.key].gpu_model] != _size(s) + [s.gpu_model]:
            raise ValueError(f"shape key {s.key!r} given twice with different resources")
        by_key.setdefault(s.key, s)
        counts[s.key] = counts.get(s.key, 0) + int(s.count)
    groups: dict[tuple, list[str]] = {}
    for key in sorted(by_key):
        if counts[key] > 0:
            s = by_key[key]
            groups.setdefault(shape_class(s), []).append(key)
    classes = []
    for keys in groups.values():
        first = by_key[keys[0]]
        classes.append(_Class(key=keys[0], shape=first, demand=sum(counts[k] for k in keys),
                              members=[(k, counts[k]) for k in keys]))
    classes.sort(key=lambda c: _shape_order(c.shape))

    seen: set[str] = set()
    uniq = []
    for n in sorted(node_types, key=lambda n: (n.usd_per_month, n.instance_type)):
        if not (n.usd_per_month >= 0 and math.isfinite(n.usd_per_month)):
            raise ValueError(f"node type {n.instance_type!r}: price {n.usd_per_month!r} is not a finite amount >= 0")
        if n.instance_type not in seen:        # a name given twice: the cheaper entry stands
            seen.add(n.instance_type)
            uniq.append(n)
    m = len(classes)
    size = np.array([_size(c.shape) for c in classes], dtype=np.int64).reshape(m, DIMS)
    demand = np.array([c.demand for c in classes], dtype=np.int64)
    cap_all = node_capacities(uniq)
    gpu_less = np.array([n.gpus <= 0 for n in uniq], dtype=bool)
    kind_all = np.array([gpu_less if c.shape.gpus <= 0 else [may_host(c.shape, n) for n in uniq] for c in classes],
                        dtype=bool).reshape(m, len(uniq))
    fits_all = kind_all & (size[:, None, :] <= cap_all[None, :, :]).all(axis=2) if m else kind_all
    useful = fits_all.any(axis=0)
    types = [n for n, u in zip(uniq, useful, strict=True) if u]
    cap, kind, compat = cap_all[useful], kind_all[:, useful], fits_all[:, useful]
    cost = np.array([n.usd_per_month for n in types], dtype=float)
    unplaceable = [c.key for c, ok in zip(classes, compat.any(axis=1), strict=True) if not ok]
    return _Problem(classes, types, size, demand, cap, cost, kind, compat, _undominated(cap, kind), unplaceable)


def _undominated(cap: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Types (in price-then-name order) that no earlier type dominates: an earlier type is no dearer,
    has at least every capacity and may host every class this one may. (Dominance is transitive, so
    being dominated by any earlier type is the same as by an earlier kept one.)"""
    n = cap.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    dominates = (cap[:, None, :] >= cap[None, :, :]).all(axis=2)          # [u, t]: u has every capacity of t
    if kind.size:   # who may host what, compared once per distinct column (most types host the same classes)
        columns, which = np.unique(kind.T, axis=0, return_inverse=True)
        which = which.reshape(-1)
        hosts_all_of = (columns[:, None, :] >= columns[None, :, :]).all(axis=2)
        dominates &= hosts_all_of[which[:, None], which[None, :]]
    earlier = np.tri(n, n, -1, dtype=bool).T                               # [u, t]: u < t
    return np.nonzero(~(dominates & earlier).any(axis=0))[0].astype(np.int64)


# ----------------------------------------------------------------------------- patterns and solutions
def _cheapest_type(prob: _Problem, contents: np.ndarray) -> int:
    """The cheapest type (price, then name) that holds `contents`; -1 if none."""
    load = contents @ prob.size
    present = contents > 0
    ok = (prob.cap >= load[None, :]).all(axis=1) & prob.kind[present].all(axis=0)
    idx = np.nonzero(ok)[0]
    return int(idx[0]) if idx.size else -1


def _finish(prob: _Problem, nodes: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """Remove surplus replicas (from the last nodes first), re-type every node to the cheapest type
    that holds what it carries, drop empty nodes."""
    nodes = [(t, a.copy()) for t, a in nodes]
    placed = np.zeros(len(prob.classes), dtype=np.int64)
    for _, a in nodes:
        placed += a
    surplus = placed - prob.demand
    for j in range(len(nodes) - 1, -1, -1):
        if not (surplus > 0).any():
            break
        a = nodes[j][1]
        cut = np.minimum(a, np.maximum(surplus, 0))
        a -= cut
        surplus -= cut
    out = []
    for t, a in nodes:
        if a.sum() == 0:
            continue
        best = _cheapest_type(prob, a)
        out.append((best if best >= 0 else t, a))
    return out


def _expand(patterns: list[tuple[int, np.ndarray]], counts: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    nodes = []
    for (t, a), x in zip(patterns, counts, strict=True):
        nodes.extend((t, a) for _ in range(int(x)))
    return nodes


def _nodes_cost(prob: _Problem, nodes: list[tuple[int, np.ndarray]]) -> float:
    return float(sum(prob.types[t].usd_per_month for t, _ in nodes))


def _groups(prob: _Problem, nodes: list[tuple[int, np.ndarray]]) -> list[NodeGroup]:
    """Per node, replicas of each class shared out to the class's shape keys (in key order), then
    identical nodes grouped."""
    queues = [[list(member) for member in c.members] for c in prob.classes]
    tally: dict[tuple, int] = {}
    order = sorted(nodes, key=lambda n: (n[0], tuple(-n[1])))
    for t, a in order:
        per: dict[str, int] = {}
        for i in np.nonzero(a)[0]:
            need = int(a[i])
            queue = queues[i]
            while need > 0:
                take = min(need, queue[0][1])
                per[queue[0][0]] = per.get(queue[0][0], 0) + take
                queue[0][1] -= take
                need -= take
                if queue[0][1] == 0:
                    queue.pop(0)
        key = (prob.types[t].instance_type, tuple(sorted(per.items())))
        tally[key] = tally.get(key, 0) + 1
    return [NodeGroup(instance_type=name, count=n, replicas_per_node=dict(per))
            for (name, per), n in sorted(tally.items(), key=lambda kv: (kv[0][0], kv[0][1]))]


def _result(prob: _Problem, nodes, bound: float, status: str, started: float, method: str,
            notes: list[str]) -> PackingResult:
    """`bound` is the best proven lower bound, reported as computed (`status` OPTIMAL: the packing was proven
    optimal over every maximal pattern, so its cost is a bound too). A bound above the packing's cost by more
    than the tolerance is a defect of the bound, never an optimum: logged, noted, and the status says so."""
    cost = _nodes_cost(prob, nodes)
    if status == "OPTIMAL":
        bound = max(bound, cost)
    defect = None
    if bound > cost * (1 + REL_TOL) + 1e-9:
        defect = f"bound defect: the lower bound ${bound:,.4f} is above the packing's cost ${cost:,.4f}"
        log.error("packing %s (%s)", defect, method)
        notes = [*notes, defect]
        status = "FEASIBLE"
    elif status != "INFEASIBLE" and cost <= bound * (1 + REL_TOL) + 1e-9:
        status = "OPTIMAL"
    gap = (cost - bound) / cost if cost > 0 else 0.0
    return PackingResult(groups=_groups(prob, nodes), monthly_usd=cost, lower_bound_usd=bound, gap=gap,
                         status=status, seconds=time.perf_counter() - started, method=method, notes=notes,
                         defect=defect)


def _trivial(prob: _Problem, started: float, method: str) -> PackingResult | None:
    """The answer when there is nothing to search: INFEASIBLE if some shape fits no node type, an empty
    OPTIMAL packing if there is nothing to pack; None otherwise."""
    if prob.unplaceable:
        notes = [f"shape {k!r} fits no node type (capacity, GPU count or GPU model)" for k in prob.unplaceable]
        return PackingResult(groups=[], monthly_usd=math.inf, lower_bound_usd=math.inf, gap=0.0, status="INFEASIBLE",
                             seconds=time.perf_counter() - started, method=method, notes=notes)
    if not prob.classes:
        return PackingResult([], 0.0, 0.0, 0.0, "OPTIMAL", time.perf_counter() - started, method)
    return None


# ----------------------------------------------------------------------------- baselines
def _ffd_nodes(prob: _Problem, demand: np.ndarray | None = None, types: np.ndarray | None = None):
    demand = prob.demand if demand is None else demand
    if types is None:
        nodes, _ = first_fit_decreasing(prob.size, demand, prob.cap, prob.kind, prob.rank)
        return nodes
    nodes, _ = first_fit_decreasing(prob.size, demand, prob.cap[types], prob.kind[:, types],
                                    np.arange(types.size, dtype=np.int64))
    return [(int(types[t]), a) for t, a in nodes]


def ffd(shapes: Iterable[PodShape], node_types: Iterable[NodeType]) -> PackingResult:
    """Karpenter-like first-fit-decreasing (see `advisor.portfolio.ffd`): pods largest first (CPU,
    then memory); a node keeps the types that still fit all its pods and finally takes the cheapest."""
    started = time.perf_counter()
    prob = _prepare(shapes, node_types)
    if (trivial := _trivial(prob, started, "ffd")) is not None:
        return trivial
    nodes = _ffd_nodes(prob)
    return _result(prob, nodes, 0.0, "FEASIBLE", started, "ffd (Karpenter-like first-fit-decreasing)", [])


def best_single_type(shapes: Iterable[PodShape], node_types: Iterable[NodeType]) -> PackingResult:
    """The cheapest homogeneous node group: every type that can hold every shape, each packed with
    first-fit-decreasing (pods largest first, first node with room), the cheapest total wins (ties
    by name). INFEASIBLE when no single type holds every shape (e.g. GPU and CPU-only pods)."""
    started = time.perf_counter()
    prob = _prepare(shapes, node_types)
    if (trivial := _trivial(prob, started, "best single type")) is not None:
        return trivial
    best, best_cost = None, math.inf
    total = prob.demand @ prob.size
    for t in np.nonzero(prob.compat.all(axis=0))[0]:
        at_least = max(math.ceil(total[d] / prob.cap[t, d]) for d in range(DIMS) if total[d] > 0)
        if prob.cost[t] * at_least >= best_cost:      # cannot beat the best so far
            continue
        nodes = _ffd_nodes(prob, types=np.array([t]))
        cost = prob.cost[t] * len(nodes)
        if cost < best_cost - 1e-9:
            best, best_cost = nodes, cost
    if best is None:
        return PackingResult([], math.inf, math.inf, 0.0, "INFEASIBLE", time.perf_counter() - started,
                             "best single type (first-fit-decreasing per type)",
                             ["no single node type can hold every shape"])
    return _result(prob, best, 0.0, "FEASIBLE", started, "best single type (first-fit-decreasing per type)", [])


# ----------------------------------------------------------------------------- pricing
def _bounds_per_type(prob: _Problem) -> np.ndarray:
    """u[t, i]: at most this many replicas of class i on one node of type t (0 where it may not go)."""
    u = np.zeros((prob.cap.shape[0], len(prob.classes)), dtype=np.int64)
    for i in range(len(prob.classes)):
        u[:, i] = np.where(prob.compat[i], np.minimum(per_node(prob.cap, prob.size[i]), prob.pattern_cap[i]), 0)
    return u


def _fractional_bounds(pi: np.ndarray, prob: _Problem, u: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Per type, an upper bound on max pi . a: the least, over resources, of the fractional knapsack
    on that resource alone (each is a relaxation of the pricing problem)."""
    ub = np.full(types.size, np.inf)
    uu = u[types].astype(float)                    # T x m
    for d in range(DIMS):
        s = prob.size[:, d].astype(float)
        free_items = s <= 0
        value_free = (uu[:, free_items] * pi[free_items]).sum(axis=1)
        idx = np.nonzero(~free_items)[0]
        if idx.size == 0:
            ub = np.minimum(ub, value_free)
            continue
        ratio = pi[idx] / s[idx]
        order = idx[np.lexsort((idx, -ratio))]
        w = uu[:, order] * s[order]                   # weight of taking every allowed replica
        before = np.cumsum(w, axis=1) - w
        cap = prob.cap[types, d].astype(float)[:, None]
        taken = np.clip(cap - before, 0.0, w)
        value = (taken * (pi[order] / s[order])).sum(axis=1) + value_free
        ub = np.minimum(ub, value)
    return ub


def _greedy(pi: np.ndarray, size: np.ndarray, cap: np.ndarray, u: np.ndarray) -> list[np.ndarray]:
    """Good patterns for one type: greedy fills by value per normalised size, four ways, best first."""
    items = np.nonzero((u > 0) & (pi > 0))[0]
    if items.size == 0:
        return []
    norm = size[items] / np.maximum(cap, 1)[None, :]
    sizes = size[items].tolist()
    bounds = u[items].tolist()
    values = pi[items].tolist()
    found: dict[tuple, float] = {}
    for w in (norm[:, CPU], norm[:, MEM], norm.sum(axis=1), norm.max(axis=1)):
        score = pi[items] / np.maximum(w, 1e-12)
        free = cap.tolist()
        take = [0] * items.size
        val = 0.0
        for k in np.lexsort((items, -score)).tolist():
            n = min([bounds[k]] + [f // s for f, s in zip(free, sizes[k], strict=True) if s > 0])
            if n > 0:
                take[k] = n
                val += n * values[k]
                free = [f - n * s for f, s in zip(free, sizes[k], strict=True)]
        found[tuple(take)] = val
    out = []
    for take, _ in sorted(found.items(), key=lambda kv: (-kv[1], kv[0])):
        a = np.zeros(size.shape[0], dtype=np.int64)
        a[items] = take
        out.append(a)
    return out


def _exact_pricing(pi: np.ndarray, size: np.ndarray, cap: np.ndarray, u: np.ndarray,
                   det_time: float, wall: float, keep: int = 3) -> tuple[list[np.ndarray], float, bool]:
    """max pi . a over the patterns of one type, by CP-SAT on integer weights round(pi * scale).
    Returns the last `keep` patterns found (best first), a proven upper bound on the true (real-valued) maximum, and
    whether CP-SAT proved its pattern optimal (for the integer weights)."""
    items = np.nonzero((u > 0) & (pi > 0))[0]
    if items.size == 0:
        return [], 0.0, True
    scale = 1e9 / float(pi[items].max())
    weights = [int(round(pi[i] * scale)) for i in items]
    model = cp_model.CpModel()
    xs = [model.new_int_var(0, int(u[i]), f"a{i}") for i in items]
    for d in range(DIMS):
        col = size[items, d]
        if int((col * u[items]).sum()) > cap[d]:
            model.add(sum(int(c) * x for c, x in zip(col, xs, strict=True) if c) <= int(cap[d]))
    model.maximize(sum(w * x for w, x in zip(weights, xs, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = SEED_BASE
    solver.parameters.max_deterministic_time = det_time
    solver.parameters.max_time_in_seconds = clock.current().wall_left(0.01)
    seen = _Collector(xs, keep)
    status = solver.solve(model, seen)
    clock.account(solver, det_time, "packing (pricing)", status == cp_model.OPTIMAL)
    most = min(int(cap[PODS]), int(u[items].sum()))
    found = []
    for values in reversed(seen.solutions):            # the last is the best
        a = np.zeros(size.shape[0], dtype=np.int64)
        a[items] = values
        found.append(a)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = solver.best_objective_bound
    else:
        bound = float(sum(w * int(u[i]) for w, i in zip(weights, items, strict=True)))
    return found, bound / scale + 0.5 / scale * most, status == cp_model.OPTIMAL


class _Collector(cp_model.CpSolverSolutionCallback):
    """The last `keep` solutions CP-SAT finds (each better than the one before)."""

    def __init__(self, xs: list, keep: int):
        super().__init__()
        self.xs, self.keep, self.solutions = xs, keep, []

    def on_solution_callback(self) -> None:
        self.solutions.append([self.value(x) for x in self.xs])
        del self.solutions[:-self.keep]


# ----------------------------------------------------------------------------- column generation
def _theta(values: np.ndarray, costs: np.ndarray) -> float:
    """Farley's theta: max over types of (upper bound on max pi . a) / price; a free type with any
    value makes it infinite (the bound is then 0), one with none counts as 0."""
    if values.size == 0:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(costs > 0, values / np.where(costs > 0, costs, 1.0),
                          np.where(values > 1e-12, np.inf, 0.0))
    return float(ratios.max())


class _Columns:
    def __init__(self, prob: _Problem):
        self.prob = prob
        self.types: list[int] = []
        self.cols: list[np.ndarray] = []
        self.seen: dict[tuple, int] = {}

    def add(self, t: int, a: np.ndarray) -> int:
        key = (int(t), a.tobytes())
        if key not in self.seen and a.sum() > 0:
            self.seen[key] = len(self.cols)
            self.types.append(int(t))
            self.cols.append(a.astype(np.int64).copy())
        return self.seen.get(key, -1)

    def matrix(self) -> csc_matrix:
        return csc_matrix(np.array(self.cols, dtype=float).T)

    def costs(self) -> np.ndarray:
        return self.prob.cost[np.array(self.types, dtype=np.int64)]


def _solve_master_lp(cols: _Columns) -> tuple[np.ndarray, np.ndarray, float]:
    prob = cols.prob
    matrix = cols.matrix()
    res = linprog(cols.costs(), A_ub=-matrix, b_ub=-prob.demand.astype(float), bounds=(0, None),
                  method="highs")
    clock.current().charge_lp(int(matrix.nnz), matrix.shape[0])
    if res.status != 0:
        raise RuntimeError(f"master LP failed: {res.message}")
    pi = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0)
    return np.asarray(res.x, dtype=float), pi, float(res.fun)


def _enumerate(prob: _Problem, u: np.ndarray, limit: int, visits: int = 15_000) -> list[tuple[int, np.ndarray]] | None:
    """Every maximal pattern (no further replica fits) of every undominated type, or None when there
    are more than `limit` of them or the search passes `visits` steps (plain Python ints: small cases)."""
    out: list[tuple[int, np.ndarray]] = []
    m = len(prob.classes)
    sizes = [tuple(int(v) for v in prob.size[i]) for i in range(m)]
    budget = [visits]
    for t in prob.kept:
        items = [i for i in range(m) if u[t, i] > 0]
        need = [[(d, s) for d, s in enumerate(sizes[i]) if s > 0] for i in items]   # the dimensions each uses
        bound = [int(u[t, i]) for i in items]
        a = [0] * len(items)

        def room(k: int, free: list[int], need=need) -> int:
            """How many more replicas of item k fit in `free`."""
            return min((free[d] // s for d, s in need[k]), default=1 << 40)

        def rec(pos: int, free: list[int], t=t, items=items, bound=bound, a=a, need=need) -> bool:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if pos == len(items):
                for k in range(len(items)):          # not maximal: another replica of some item still fits
                    if a[k] < bound[k] and all(free[d] >= s for d, s in need[k]):
                        return True
                if not any(a):
                    return True
                vec = np.zeros(m, dtype=np.int64)
                vec[items] = a
                out.append((int(t), vec))
                return len(out) <= limit
            for k in range(min(bound[pos], room(pos, free)), -1, -1):
                a[pos] = k
                after = list(free)
                for d, s in need[pos]:
                    after[d] -= k * s
                if not rec(pos + 1, after):
                    return False
            a[pos] = 0
            return True

        if not rec(0, [int(v) for v in prob.cap[t]]):
            return None
    return out


@dataclass
class _Bound:
    value: float
    x: np.ndarray
    converged: bool
    iterations: int
    exact_calls: int
    enumerated: bool
    stopped: str | None
    seconds: float = 0.0
    parts: int = 1
    duals: np.ndarray | None = None   # per class, feasible for the dual of the full LP: value = duals . demand


def _column_generation(prob: _Problem, cols: _Columns, deadline: float, max_iterations: int = 400,
                       enumerate_limit: int = ENUMERATE_LIMIT) -> _Bound:
    u = _bounds_per_type(prob)
    kept = prob.kept
    for t in kept:                                        # one class alone on each type it fits
        for i in np.nonzero(u[t])[0]:
            a = np.zeros(len(prob.classes), dtype=np.int64)
            a[i] = u[t, i]
            cols.add(int(t), a)
    every = _enumerate(prob, u, enumerate_limit) if enumerate_limit else None
    if every is not None:
        for t, a in every:
            cols.add(t, a)
        x, pi, z = _solve_master_lp(cols)
        return _Bound(float(pi @ prob.demand), x, True, 1, 0, True, None, duals=pi)
    best_bound, x, exact_calls, stopped = 0.0, np.zeros(0), 0, None
    best_duals = np.zeros(len(prob.classes))
    iteration = 0
    converged = False
    while True:
        iteration += 1
        x, pi, z = _solve_master_lp(cols)
        dual_value = float(pi @ prob.demand)
        ub = _fractional_bounds(pi, prob, u, kept)
        ratio = _theta(ub, prob.cost[kept])
        if dual_value / max(ratio, 1.0) > best_bound:
            best_bound, best_duals = dual_value / max(ratio, 1.0), pi / max(ratio, 1.0)
        if ratio <= 1.0 + PRICE_EPS:
            converged = True
            break
        if clock.now() > deadline:
            stopped = "time"
            break
        if iteration > max_iterations:
            stopped = "iterations"
            break
        promising = kept[ub > prob.cost[kept] * (1 + PRICE_EPS)]
        added = 0
        for t in promising:
            for a in _greedy(pi, prob.size, prob.cap[t], u[t]):
                if prob.cost[t] - float(pi @ a) < -PRICE_EPS * prob.cost[t] and cols.add(int(t), a) >= 0:
                    added += 1
        if added:
            continue
        exact_ub = ub.copy()
        todo = sorted((j for j, t in enumerate(kept) if ub[j] > prob.cost[t] * (1 + PRICE_EPS)),
                      key=lambda j: (-ub[j] / prob.cost[kept[j]], j))
        proven = True
        with ThreadPoolExecutor(WORKERS) as pool:   # CP-SAT releases the GIL; results come back in order
            for start in range(0, len(todo), CHUNK):   # the most promising types first; stop at a column
                chunk = todo[start:start + CHUNK]
                priced = list(pool.map(clock.sharing(lambda j, pi=pi: _exact_pricing(
                    pi, prob.size, prob.cap[kept[j]], u[kept[j]], det_time=2.0, wall=0.0)), chunk))
                for j, (found, bound, optimal) in zip(chunk, priced, strict=True):
                    t = kept[j]
                    proven &= optimal
                    exact_calls += 1
                    exact_ub[j] = min(ub[j], bound)
                    for a in found:
                        if prob.cost[t] - float(pi @ a) < -PRICE_EPS * prob.cost[t] and cols.add(int(t), a) >= 0:
                            added += 1
                if added:
                    break
        ratio = _theta(exact_ub, prob.cost[kept])
        if dual_value / max(ratio, 1.0) > best_bound:
            best_bound, best_duals = dual_value / max(ratio, 1.0), pi / max(ratio, 1.0)
        if not added:            # no column prices out: the LP optimum up to the weights' rounding
            converged = proven
            if not converged:
                stopped = "pricing limit"
            break
    return _Bound(best_bound, x, converged, iteration, exact_calls, False, stopped, duals=best_duals)


def _components(prob: _Problem) -> list[np.ndarray]:
    """Classes that can never share a node fall into separate components (e.g. CPU-only and GPU
    pods): each is solved on its own and the bounds add up. (Classes and types as one bipartite graph,
    linked where a class fits a type; components in order of their first class.)"""
    m, n_types = prob.compat.shape
    rows, cols = np.nonzero(prob.compat)
    graph = coo_matrix((np.ones(rows.size), (rows, m + cols)), shape=(m + n_types, m + n_types))
    _, label = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i in range(m):
        groups.setdefault(int(label[i]), []).append(i)
    return [np.array(g, dtype=np.int64) for g in sorted(groups.values())]


def _subproblem(prob: _Problem, cls: np.ndarray) -> tuple[_Problem, np.ndarray]:
    tys = np.nonzero(prob.compat[cls].any(axis=0))[0]
    cap, kind = prob.cap[tys], prob.kind[np.ix_(cls, tys)]
    sub = _Problem(classes=[prob.classes[i] for i in cls], types=[prob.types[t] for t in tys], size=prob.size[cls],
                   demand=prob.demand[cls], cap=cap, cost=prob.cost[tys], kind=kind,
                   compat=prob.compat[np.ix_(cls, tys)], kept=_undominated(cap, kind), unplaceable=[],
                   limit=None if prob.limit is None else prob.limit[cls])
    return sub, tys


def _bound_by_components(prob: _Problem, cols: _Columns, deadline: float,
                         enumerate_limit: int = ENUMERATE_LIMIT) -> _Bound:
    """Column generation per component; the global columns gain every pattern generated."""
    parts = _components(prob)
    started = time.perf_counter()
    total = _Bound(0.0, np.zeros(0), True, 0, 0, True, None, duals=np.zeros(len(prob.classes)))
    lp_x: dict[int, float] = {}
    work = [float(prob.demand[c].sum()) for c in parts]
    for k, cls in enumerate(parts):
        sub, tys = _subproblem(prob, cls)
        sub_cols = _Columns(sub)
        in_part = set(tys.tolist())
        for t, a in zip(cols.types, cols.cols, strict=True):
            if t in in_part:
                sub_cols.add(int(np.searchsorted(tys, t)), a[cls])
        share = sum(work[k:]) and work[k] / sum(work[k:])
        part_deadline = clock.now() + max(deadline - clock.now(), 0.0) * max(share, 0.25)
        bound = _column_generation(sub, sub_cols, part_deadline, enumerate_limit=enumerate_limit)
        for j, (t, a) in enumerate(zip(sub_cols.types, sub_cols.cols, strict=True)):
            full = np.zeros(len(prob.classes), dtype=np.int64)
            full[cls] = a
            g = cols.add(int(tys[t]), full)
            if j < bound.x.size and bound.x[j] > 0:
                lp_x[g] = lp_x.get(g, 0.0) + float(bound.x[j])
        total.value += bound.value
        total.duals[cls] = bound.duals
        total.converged &= bound.converged
        total.enumerated &= bound.enumerated
        total.iterations += bound.iterations
        total.exact_calls += bound.exact_calls
        total.stopped = total.stopped or bound.stopped
    total.x = np.zeros(len(cols.cols))
    for g, v in lp_x.items():
        total.x[g] = v
    total.seconds = time.perf_counter() - started
    total.parts = len(parts)
    return total


def _named_patterns(prob: _Problem, cols: _Columns, x: np.ndarray) -> list[Pattern]:
    out = []
    for j, (t, a) in enumerate(zip(cols.types, cols.cols, strict=True)):
        replicas = tuple((prob.classes[i].key, int(a[i])) for i in np.nonzero(a)[0])
        out.append(Pattern(prob.types[t].instance_type, prob.types[t].usd_per_month, replicas,
                           float(x[j]) if j < x.size else 0.0))
    return sorted(out, key=lambda p: (-p.lp_nodes, p.instance_type, p.replicas))


def lower_bound(shapes: Iterable[PodShape], node_types: Iterable[NodeType],
                time_limit_s: float = 10.0) -> tuple[float, list[Pattern]]:
    """The LP bound of the pattern formulation (column generation; Farley's bound if stopped early)
    and every pattern generated (those the last LP uses first). inf when some shape fits nowhere."""
    prob = _prepare(shapes, node_types)
    if prob.unplaceable:
        return math.inf, []
    if not prob.classes:
        return 0.0, []
    cols = _Columns(prob)
    for t, a in _ffd_nodes(prob):
        cols.add(t, a)
    bound = _bound_by_components(prob, cols, clock.now() + time_limit_s)
    return bound.value, _named_patterns(prob, cols, bound.x)


@dataclass
class Duals:
    """Prices per replica that no node can beat: for every pattern p of type t holding at most the
    pool's limit of replicas of each shape, sum over shapes of price x replicas <= c_t. So any packing
    of any demand within the limits costs at least sum(price x demand): a cut valid for every member
    set of a pool, tight (the LP bound) at the demand it was computed for."""

    value: float                 # the bound at the given demand (= prices . demand, demand rounded up)
    price: dict[str, float]      # shape key -> USD per replica
    converged: bool


class PoolPacking:
    """One node pool's packing LP, prepared once for every shape that may join it (`count` = the most
    replicas the shape can bring) and solved at any demand within those counts. Dominated node types are
    dropped once (a pattern on one fits its dominating type, no dearer), and the patterns generated are
    kept from one demand to the next: later solves start where the last one ended."""

    def __init__(self, shapes: Iterable[PodShape], node_types: Iterable[NodeType]):
        shapes, node_types = list(shapes), list(node_types)
        prob = _prepare(shapes, node_types)
        if prob.unplaceable:        # a shape that fits no node is priced at 0: the rest still bound the cost
            gone = {k for c in prob.classes if c.key in prob.unplaceable for k, _ in c.members}
            shapes = [s for s in shapes if s.key not in gone]
            prob = _prepare(shapes, node_types)
        self.prob = _prepare(shapes, [prob.types[t] for t in prob.kept]) if prob.classes else prob
        self.class_of = {k: i for i, c in enumerate(self.prob.classes) for k, _ in c.members}
        self.patterns: list[tuple[int, np.ndarray]] = []

    def duals(self, demand: dict[str, float], time_limit_s: float = 2.0) -> Duals:
        """Column generation at `demand` (replicas per shape key, rounded up per class), patterns limited to
        the counts given at construction; dual prices feasible for every such pattern (Farley-scaled when
        cut short)."""
        base = self.prob
        if not base.classes:
            return Duals(0.0, {}, True)
        wanted = np.zeros(len(base.classes))
        for k, d in demand.items():
            if k in self.class_of:
                wanted[self.class_of[k]] += d
        # Every class that may join is given at least one replica: its price then says what it would cost to add,
        # where a class absent from the demand would be priced 0 (and the relaxation would add it for free).
        prob = _Problem(**{**base.__dict__, "demand": np.ceil(wanted - 1e-6).astype(np.int64).clip(1),
                           "limit": base.demand})
        cols = _Columns(prob)
        for t, a in self.patterns or _ffd_nodes(prob):
            cols.add(t, a)
        bound = _bound_by_components(prob, cols, clock.now() + time_limit_s, enumerate_limit=0)
        self.patterns = list(zip(cols.types, cols.cols, strict=True))
        prices = np.maximum(bound.duals, 0.0)
        return Duals(float(prices @ prob.demand), {k: float(prices[i]) for k, i in self.class_of.items()},
                     bound.converged)

    @property
    def node_types(self) -> list[NodeType]:
        """The types left once dominated ones are dropped for every shape that may join: enough to pack any set
        of them (dropping types for fewer shapes can only drop more)."""
        return list(self.prob.types)

    def named_patterns(self) -> list[tuple[str, dict[tuple, int]]]:
        """The patterns generated so far, by node type name and shape resources (for `pack(patterns=...)`)."""
        classes = self.prob.classes
        return [(self.prob.types[t].instance_type, {_resources(classes[i].shape): int(a[i]) for i in np.nonzero(a)[0]})
                for t, a in self.patterns]


# ----------------------------------------------------------------------------- the exact packing
def _round_down_then_ffd(prob: _Problem, cols: _Columns, x: np.ndarray) -> list[tuple[int, np.ndarray]]:
    counts = np.floor(x + 1e-9).astype(np.int64)
    nodes = _expand([(t, a) for t, a in zip(cols.types, cols.cols, strict=True)], counts)
    placed = np.zeros(len(prob.classes), dtype=np.int64)
    for _, a in nodes:
        placed += a
    rest = np.maximum(prob.demand - placed, 0)
    if rest.any():
        nodes += _ffd_nodes(prob, demand=rest)
    return _finish(prob, nodes)


def _as_counts(cols: _Columns, nodes: list[tuple[int, np.ndarray]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for t, a in nodes:
        j = cols.add(t, a)
        counts[j] = counts.get(j, 0) + 1
    return counts


NODE_MODEL_MAX = 16        # packings of at most this many nodes are also searched node by node (`_node_model`)
NODE_MODEL_SHARE = 0.2     # its deterministic time: this share of pack()'s time limit
NODE_MODEL_MIN_S = 0.2     # and it runs only with at least this much of pack()'s time left
MASTER_CONFIGS = ({"linearization_level": 2}, {"linearization_level": 2, "random_seed": 7})


def _integer_master(prob: _Problem, cols: _Columns, hint: dict[int, int], det_time: float, wall: float,
                    seed: int) -> tuple[dict[int, int] | None, bool, bool]:
    """min cost . x  s.t.  sum_p a_p x_p >= d, x integer, over the generated patterns, hinted.

    Two single-worker CP-SAT searches (LP-heavy, two seeds) run side by side, each stopped by a
    deterministic-time limit, so the answer does not depend on the machine's speed; the wall-clock
    limit is only a safety net. Returns the counts, whether optimality over these patterns was
    proven, and whether the wall clock cut a search short."""
    n = len(cols.cols)
    costs = cols.costs()
    scale = 1e9 / max(float(costs.max()), 1e-9)
    model = cp_model.CpModel()
    xs = []
    for j in range(n):
        a = cols.cols[j]
        nz = np.nonzero(a)[0]
        xs.append(model.new_int_var(0, int(max(math.ceil(prob.demand[i] / a[i]) for i in nz)), f"x{j}"))
    rows: list[list[tuple[int, int]]] = [[] for _ in prob.classes]
    for j in range(n):
        for i in np.nonzero(cols.cols[j])[0]:
            rows[i].append((j, int(cols.cols[j][i])))
    for i, row in enumerate(rows):
        model.add(sum(c * xs[j] for j, c in row) >= int(prob.demand[i]))
    model.minimize(sum(int(round(c * scale)) * x for c, x in zip(costs, xs, strict=True)))
    for j in range(n):
        model.add_hint(xs[j], hint.get(j, 0))

    def solve(config: dict) -> tuple[int, float, list[int] | None, bool]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = SEED_BASE + seed
        for key, value in config.items():
            setattr(solver.parameters, key, SEED_BASE + seed + value if key == "random_seed" else value)
        solver.parameters.max_deterministic_time = max(det_time, 0.05)
        solver.parameters.max_time_in_seconds = clock.current().wall_left()
        status = solver.solve(model)
        clock.account(solver, max(det_time, 0.05), "packing", status == cp_model.OPTIMAL)
        cut = status != cp_model.OPTIMAL and solver.deterministic_time < 0.99 * det_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return status, math.inf, None, cut
        return status, solver.objective_value, [solver.value(x) for x in xs], cut

    with ThreadPoolExecutor(len(MASTER_CONFIGS)) as pool:
        runs = list(pool.map(clock.sharing(solve), MASTER_CONFIGS))
    cut = any(r[3] for r in runs)
    found = [r for r in runs if r[2] is not None]
    if not found:
        return None, False, cut
    status, _, values, _ = min(found, key=lambda r: r[1])     # the first of equals
    proven = any(r[0] == cp_model.OPTIMAL for r in runs)
    return {j: v for j, v in enumerate(values) if v}, proven, cut


def pack(shapes: Iterable[PodShape], node_types: Iterable[NodeType], *, time_limit_s: float = 10.0,
         seed: int = 0, patterns: Iterable[tuple[str, dict[tuple, int]]] = (),
         node_search: bool = True) -> PackingResult:
    """The least-cost packing: column generation for the LP bound, CP-SAT over the generated
    patterns (hinted with the better of FFD and the rounded-down LP completed by FFD), then surplus
    removal and re-typing. The bound and the gap are reported as proven; OPTIMAL only when proven.

    Time: column generation may use up to half of `time_limit_s` (a safety net: it normally ends by
    convergence); the integer master gets a deterministic-time budget of 0.2 x `time_limit_s` per
    search (about 2 wall seconds per deterministic second here), capped by the wall clock. `patterns` (node
    type, replicas per shape resources: `PoolPacking.named_patterns`) start column generation off. With
    `node_search`, a packing of at most NODE_MODEL_MAX nodes left short of its bound is then searched node by
    node (`_node_model`): the patterns column generation made may miss the best packing of a few large nodes."""
    started = time.perf_counter()      # for the seconds reported; every limit is the planner's clock's
    deadline = clock.now() + time_limit_s
    prob = _prepare(shapes, node_types)
    if (trivial := _trivial(prob, started, "pack")) is not None:
        return trivial
    notes: list[str] = []
    cols = _Columns(prob)
    ffd_nodes = _ffd_nodes(prob)
    for t, a in ffd_nodes:
        cols.add(t, a)
    type_of = {n.instance_type: t for t, n in enumerate(prob.types)}
    class_of = {_resources(c.shape): i for i, c in enumerate(prob.classes)}
    for name, replicas in patterns:       # patterns of classes present, capped at their demand
        a = np.zeros(len(prob.classes), dtype=np.int64)
        for resources, n in replicas.items():
            if resources in class_of:
                a[class_of[resources]] = min(n, prob.demand[class_of[resources]])
        if name in type_of and a.any() and (a @ prob.size <= prob.cap[type_of[name]]).all():
            cols.add(type_of[name], a)
    bound = _bound_by_components(prob, cols, clock.now() + 0.5 * time_limit_s)
    if bound.stopped:
        notes.append(f"column generation stopped early ({bound.stopped}): the bound is Farley's")
    candidates = [ffd_nodes]
    if bound.x.size:
        candidates.append(_round_down_then_ffd(prob, cols, bound.x))
    incumbent = min(candidates, key=lambda nodes: (_nodes_cost(prob, nodes), len(nodes)))
    proven = False
    if _nodes_cost(prob, incumbent) > bound.value * (1 + REL_TOL) + 1e-9:
        hint = _as_counts(cols, incumbent)
        wall = clock.current().wall_left()
        solved, proven_restricted, cut = _integer_master(prob, cols, hint, det_time=0.2 * time_limit_s, wall=wall,
                                                         seed=seed)
        if cut:
            notes.append("the wall-clock limit cut the integer search short: results may vary between runs")
        if solved is not None:
            nodes = _finish(prob, _expand([(cols.types[j], cols.cols[j]) for j in sorted(solved)],
                                          [solved[j] for j in sorted(solved)]))
            if _nodes_cost(prob, nodes) < _nodes_cost(prob, incumbent) - 1e-9:
                incumbent = nodes
            proven = proven_restricted and bound.enumerated
        else:
            notes.append("CP-SAT found no solution in time: the hint (FFD or rounded LP) stands")
    if (node_search and not proven and len(incumbent) <= NODE_MODEL_MAX
            and deadline - clock.now() > NODE_MODEL_MIN_S
            and _nodes_cost(prob, incumbent) > bound.value * (1 + REL_TOL)):
        # Few nodes: the patterns column generation made may miss the best packing; search it node by node
        types = sorted({int(prob.kept[0])} | set(cols.types) | {t for t, _ in incumbent})
        better = _node_model(prob, incumbent, types, det_time=NODE_MODEL_SHARE * time_limit_s,
                             wall_s=clock.current().wall_left())
        if better is not None and _nodes_cost(prob, better) < _nodes_cost(prob, incumbent) - 1e-9:
            incumbent = better
            notes.append("a node-by-node search (CP-SAT) improved on the patterns' packing")
    method = (f"CP-SAT over {len(cols.cols)} patterns; LP bound by column generation "
              f"({bound.parts} component{'s' if bound.parts != 1 else ''}, {bound.iterations} LPs, "
              f"{bound.exact_calls} exact pricings"
              f"{', all maximal patterns enumerated' if bound.enumerated else ''})")
    return _result(prob, incumbent, bound.value, "OPTIMAL" if proven else "FEASIBLE", started, method, notes)


def _node_model(prob: _Problem, incumbent: list[tuple[int, np.ndarray]], types: list[int], det_time: float,
                wall_s: float) -> list[tuple[int, np.ndarray]] | None:
    """The packing searched node by node: as many nodes as the incumbent has (plus one), each of one of
    `types` (those of the patterns and the incumbent) or empty, the replicas of each class on it within its
    capacity and GPU rules, nodes in order of price; hinted with the incumbent (so never worse), on one worker
    with a deterministic-time limit. A heuristic (an optimal packing may need more nodes or other types): None
    when it finds nothing."""
    kept = types
    caps = prob.cap[kept]
    price = [int(round(prob.types[t].usd_per_month * 10_000)) for t in kept]
    m, n_nodes = len(prob.classes), len(incumbent) + 1
    model = cp_model.CpModel()
    use = [[model.new_bool_var("") for _ in kept] for _ in range(n_nodes)]
    held = [[model.new_int_var(0, int(prob.demand[i]), "") for i in range(m)] for _ in range(n_nodes)]
    cost = []
    for b in range(n_nodes):
        model.add(sum(use[b]) <= 1)
        for r in range(prob.size.shape[1]):
            model.add(sum(int(prob.size[i, r]) * held[b][i] for i in range(m))
                      <= sum(int(caps[j, r]) * use[b][j] for j in range(len(kept))))
        for j, t in enumerate(kept):
            for i in np.nonzero(~prob.kind[:, t])[0]:
                model.add(held[b][int(i)] == 0).only_enforce_if(use[b][j])
        cost.append(sum(p * u for p, u in zip(price, use[b], strict=True)))
    for b in range(n_nodes - 1):           # nodes in order of price: fewer equivalent orderings
        model.add(cost[b] >= cost[b + 1])
    for i in range(m):
        model.add(sum(held[b][i] for b in range(n_nodes)) == int(prob.demand[i]))
    model.minimize(sum(cost))
    start = []
    for _, a in incumbent:     # each incumbent node on the cheapest kept type that holds it
        load = a @ prob.size
        fits = [j for j, k in enumerate(kept) if (caps[j] >= load).all() and prob.kind[a > 0][:, k].all()]
        if not fits:
            return None
        start.append((min(fits, key=lambda j: (price[j], j)), a))
    start.sort(key=lambda node: -price[node[0]])
    for b in range(n_nodes):
        j0, a = start[b] if b < len(start) else (-1, np.zeros(m, dtype=np.int64))
        for j in range(len(kept)):
            model.add_hint(use[b][j], j == j0)
        for i in range(m):
            model.add_hint(held[b][i], int(a[i]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = SEED_BASE
    solver.parameters.max_deterministic_time = max(det_time, 0.01)
    solver.parameters.max_time_in_seconds = max(wall_s, 0.01)
    status = solver.solve(model)
    clock.account(solver, max(det_time, 0.01), "packing (node search)", status == cp_model.OPTIMAL)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    nodes = []
    for b in range(n_nodes):
        j = next((j for j in range(len(kept)) if solver.value(use[b][j])), None)
        a = np.array([solver.value(held[b][i]) for i in range(m)], dtype=np.int64)
        if j is not None and a.any():
            nodes.append((kept[j], a))
    return _finish(prob, nodes)


# ----------------------------------------------------------------------------- the independent checker
def validate_packing(shapes: Iterable[PodShape], node_types: Iterable[NodeType], result: PackingResult) -> list[str]:
    """Check a packing from scratch (floats, no shared code with the solver but the GPU rule): every
    replica placed exactly once, every node within its allocatable CPU, memory, pod slots and GPUs
    and of the right GPU kind, the cost recomputed. Returns the problems found ([] when valid)."""
    problems: list[str] = []
    wanted: dict[str, int] = {}
    spec: dict[str, PodShape] = {}
    for s in shapes:
        wanted[s.key] = wanted.get(s.key, 0) + int(s.count)
        spec[s.key] = s
    types: dict[str, NodeType] = {}
    for n in sorted(node_types, key=lambda n: (n.usd_per_month, n.instance_type)):
        types.setdefault(n.instance_type, n)          # a name given twice: the cheaper entry, as in pack
    placed = dict.fromkeys(wanted, 0)
    total = 0.0
    if result.status == "INFEASIBLE":
        if any(wanted.values()):
            problems.append("infeasible: no replica placed")
        return problems
    for g in result.groups:
        node = types.get(g.instance_type)
        if node is None:
            problems.append(f"{g.instance_type}: not an allowed node type")
            continue
        if int(g.count) != g.count or g.count < 1:
            problems.append(f"{g.instance_type}: node count {g.count} is not a positive whole number")
            continue
        total += g.count * node.usd_per_month
        cpu = mem = 0.0
        pods = gpus = 0
        for key, n in g.replicas_per_node.items():
            if key not in spec:
                problems.append(f"{g.instance_type}: unknown shape {key!r}")
                continue
            if int(n) != n or n < 0:
                problems.append(f"{g.instance_type}: {n} replicas of {key!r}")
                continue
            s = spec[key]
            placed[key] += g.count * n
            if n == 0:
                continue
            cpu += n * s.vcpu
            mem += n * s.memory_gib
            pods += n
            gpus += n * s.gpus
            if not may_host(s, node):
                problems.append(f"{g.instance_type}: may not host {key!r} (GPUs: needs {s.gpus} "
                                f"{s.gpu_model or 'any'}, node has {node.gpus} {node.gpu_model})")
        if pods == 0:
            problems.append(f"{g.instance_type}: empty nodes")
        if cpu > node.alloc_vcpu * (1 + 1e-9) + 1e-9:
            problems.append(f"{g.instance_type}: {cpu:g} vCPU over the allocatable {node.alloc_vcpu:g}")
        if mem > node.alloc_memory_gib * (1 + 1e-9) + 1e-9:
            problems.append(f"{g.instance_type}: {mem:g} GiB over the allocatable {node.alloc_memory_gib:g}")
        if pods > node.pod_slots:
            problems.append(f"{g.instance_type}: {pods} pods over {node.pod_slots} slots")
        if gpus > node.gpus:
            problems.append(f"{g.instance_type}: {gpus} GPUs over {node.gpus}")
    for key, n in wanted.items():
        if placed.get(key, 0) != n:
            problems.append(f"shape {key!r}: {placed.get(key, 0)} replicas placed, {n} wanted")
    if not math.isclose(total, result.monthly_usd, rel_tol=REL_TOL, abs_tol=1e-6):
        problems.append(f"cost: the nodes cost {total:.6f}, the result says {result.monthly_usd:.6f}")
    if result.lower_bound_usd > result.monthly_usd * (1 + REL_TOL) + 1e-6:
        problems.append(f"bound {result.lower_bound_usd:.6f} above the cost {result.monthly_usd:.6f}")
    return problems
