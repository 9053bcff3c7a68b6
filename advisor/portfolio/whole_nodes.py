"""Whole nodes per pool inside a CP-SAT model: a relaxation of packing that knows nodes come whole.

Per node type: an integer count of nodes and the replicas of each packing class placed on that type, no
more per node than fit and every resource within the type's nodes' capacity; the pool's monthly cost and
upfront at least those nodes'. Every real packing of the pool's members satisfies it (a replica on a node
of type t counts in t's load), so it only ever prices a pool from below; at a fixed membership it is far
closer to the real packing than the packing LP when nodes are large (a few nodes per pool).

Used by the Lagrangian bound (`lagrangian.py`, each component's pools) and by the plan search (the choice
made with pools priced this way: `select.PoolModel.whole_nodes`).
"""

from __future__ import annotations

import math

import numpy as np
from ortools.sat.python import cp_model

from advisor.portfolio.packing import NodeType, PodShape, may_host, node_capacities, node_capacity, shape_class


def add_whole_nodes(model: cp_model.CpModel, members: dict[str, PodShape], types: list[NodeType],
                    chosen: dict[str, list], cost, upfront, name: str,
                    hint: list[tuple[str, int, dict[str, int]]] | None = None) -> tuple[int, int]:
    """Constrain `cost` (cents a month) and `upfront` (cents, or None) to at least the whole nodes that hold
    the replicas of every member whose boolean in `chosen[w]` is set (a member brings `members[w].count`
    replicas; at most one of its booleans is set).

    `hint`: a real packing of some members, (node type, nodes, replicas per node by member) per node group,
    hinted to the solver (a type left out here is hinted as one that dominates it). Returns what the hinted
    nodes cost (cents a month, upfront) in this model."""
    classes: dict[tuple, list[tuple[str, int]]] = {}
    for w, s in sorted(members.items()):
        classes.setdefault(shape_class(s), []).append((w, s.count))
    shape = {c: members[ms[0][0]] for c, ms in classes.items()}
    everything = list(types)
    types = undominated_types(types, list(shape.values()))
    if not types:
        return 0, 0
    hinted_nodes, hinted_y = _hinted(hint, everything, types, members, shape) if hint is not None else ({}, {})
    most = sum(s.count for s in members.values())
    nodes = [model.new_int_var(0, most, f"n[{name}][{t.instance_type}]") for t in types]
    caps = [node_capacity(t) for t in types]
    load = [[[] for _ in range(4)] for _ in types]
    for c, ms in sorted(classes.items()):
        size = c[:4]
        placed = []
        demand = sum(count * v for w, count in ms for v in chosen.get(w, ()))
        for j, t in enumerate(types):
            fits = min((caps[j][r] // size[r] for r in range(4) if size[r] > 0), default=most)
            if fits < 1 or not may_host(shape[c], t):
                continue
            cap_c = sum(count for _, count in ms)
            y = model.new_int_var(0, cap_c, "")
            model.add(y <= min(fits, cap_c) * nodes[j])
            placed.append(y)
            if hint is not None:
                model.add_hint(y, min(hinted_y.get((c, j), 0), cap_c))
            for r in range(4):
                if size[r] > 0:
                    load[j][r].append(size[r] * y)
        model.add(sum(placed) == demand)
    for j in range(len(types)):
        for r in range(4):
            if load[j][r]:
                model.add(sum(load[j][r]) <= caps[j][r] * nodes[j])
    if hint is not None:
        for j, v in enumerate(nodes):
            model.add_hint(v, min(hinted_nodes.get(j, 0), most))
    monthly = [math.floor(t.usd_per_month * 100) for t in types]
    paid = [math.floor(t.upfront_usd * 100) for t in types]
    model.add(cost >= sum(m * v for m, v in zip(monthly, nodes, strict=True)))
    if upfront is not None:
        model.add(upfront >= sum(u * v for u, v in zip(paid, nodes, strict=True)))
    return (sum(monthly[j] * n for j, n in hinted_nodes.items()), sum(paid[j] * n for j, n in hinted_nodes.items()))


def _hinted(hint: list[tuple[str, int, dict[str, int]]], everything: list[NodeType], kept: list[NodeType],
            members: dict[str, PodShape], shape: dict[tuple, PodShape]) -> tuple[dict[int, int], dict[tuple, int]]:
    """A real packing as this model's variables: nodes per kept type, replicas per (class, kept type)."""
    by_name = {t.instance_type: t for t in everything}
    index = {t.instance_type: j for j, t in enumerate(kept)}
    nodes: dict[int, int] = {}
    placed: dict[tuple, int] = {}
    for name, count, per_node in hint:
        t = by_name.get(name)
        if t is None:
            continue
        j = index.get(name)
        if j is None:      # a dominated type: the first kept type at least as large that hosts its replicas
            needs = [shape_class(members[w]) for w in per_node if w in members]
            j = next((i for i, k in enumerate(kept) if all(a >= b for a, b in zip(node_capacity(k), node_capacity(t),
                                                                                    strict=True))
                      and all(may_host(shape[c], k) for c in needs)), None)
            if j is None:
                continue
        nodes[j] = nodes.get(j, 0) + count
        for w, n in per_node.items():
            if w in members:
                key = (shape_class(members[w]), j)
                placed[key] = placed.get(key, 0) + n * count
    return nodes, placed


def most_cents(types: list[NodeType], members: dict[str, PodShape], upfront: bool) -> int:
    """No optimal plan's pool costs (a month, or upfront) more than one of its dearest nodes per replica of all
    its possible members: a domain for its cost in whole cents."""
    price = max((t.upfront_usd if upfront else t.usd_per_month) for t in types) if types else 0.0
    return int(math.ceil(price * 100)) * max(1, sum(s.count for s in members.values())) + 1


def undominated_types(types: list[NodeType], shapes: list[PodShape]) -> list[NodeType]:
    """Types that may host some class, less those another type beats on price, upfront and every capacity
    while hosting every class this one hosts (an optimal plan never needs them). In (price, upfront, name)
    order a type is dropped when any earlier one beats it (beating is transitive, so that is the same as being
    beaten by an earlier kept one): one comparison of every pair as arrays."""
    if not types:
        return []
    caps = node_capacities(types).astype(float)
    price = np.array([[t.usd_per_month, t.upfront_usd] for t in types], dtype=float).reshape(len(types), 2)
    gpu_less = caps[:, 3] <= 0
    hosts = np.array([gpu_less if s.gpus <= 0 else [may_host(s, t) for t in types] for s in shapes],
                     dtype=bool).reshape(len(shapes), len(types)).T
    useful = np.nonzero(hosts.any(axis=1))[0]
    order = np.array(sorted(useful, key=lambda i: (price[i, 0], price[i, 1], types[i].instance_type)), dtype=np.int64)
    if order.size == 0:
        return []
    c, p = caps[order], price[order]
    beats = np.triu(np.ones((order.size, order.size), dtype=bool), 1)    # [u, t]: u comes before t
    for d in range(4):       # one resource at a time: a reduction over a short last axis is far slower
        beats &= c[:, None, d] >= c[None, :, d]
    for d in range(2):
        beats &= p[:, None, d] <= p[None, :, d]
    columns, which = np.unique(hosts[order], axis=0, return_inverse=True)   # few distinct host patterns
    which = which.reshape(-1)
    covers = (columns[:, None, :] >= columns[None, :, :]).all(axis=2)
    if len(columns) > 1:
        beats &= covers[which[:, None], which[None, :]]
    kept = order[~beats.any(axis=0)]
    return [types[i] for i in sorted(kept)]
