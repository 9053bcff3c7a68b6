"""Plan search with whole nodes: the choice model in which every pool also costs at least whole nodes
(`whole_nodes.py`), started from a packed plan.

The cut model prices a pool at its packing LP bound; a packed plan pays for whole nodes, several percent more
in pools of a few large nodes, and a choice made at LP prices drifts to memberships that pack badly. Priced
with whole nodes per type as well, the model's cost of a choice comes within a fraction of a percent of what
it costs once packed, so a cheaper model solution is, nearly always, a cheaper plan. The search gives CP-SAT
the packed plan as a complete solution (choices, nodes per type, replicas per type) and lets its parallel
portfolio (large-neighbourhood search on the second worker) improve it. The node types are cut down to a
few per pool (`search_types`) so that the model stays small enough to search in seconds: a heuristic
choice of types, never a bound (the packing afterwards may use any type).
"""

from __future__ import annotations

import numpy as np

from advisor.portfolio.keys import PoolKey
from advisor.portfolio.packing import NodeType, PoolPacking, may_host, node_capacities, shape_class
from advisor.portfolio.pool_cuts import Pool
from advisor.portfolio.select import PoolModel

Packed = list[tuple[str, int, dict[str, int]]]     # node groups: (type, nodes, replicas per node by member)


def search_models(models: dict[PoolKey, PoolModel], pools: dict[PoolKey, Pool], packings: dict[PoolKey, PoolPacking],
                  start: dict[PoolKey, Packed]) -> dict[PoolKey, PoolModel]:
    """Each pool's cut model with whole nodes of its search types, and the start's packing of it as a hint."""
    return {k: PoolModel(m.cuts, m.upfront_per_mille,
                         whole_nodes=(pools[k].members, search_types(pools[k], packings.get(k), start.get(k, []))),
                         packed_hint=start.get(k, []))
            for k, m in sorted(models.items()) if k in pools}


def search_types(pool: Pool, packing: PoolPacking | None, start: Packed) -> list[NodeType]:
    """The node types the search prices a pool with: those of the relaxation's packing patterns for it, those
    the start's nodes use, and per member shape its cheapest type per replica (the first in the pool's order
    among equals)."""
    keep = {name for name, _, _ in start}
    if packing is not None:
        keep |= {packing.prob.types[t].instance_type for t, _ in packing.patterns}
    types = pool.types
    if types:
        caps = node_capacities(types)                                      # types x (milli-vCPU, MiB, pods, GPUs)
        price = np.array([t.usd_per_month for t in types], dtype=float)
        gpu_less = caps[:, 3] <= 0
        for shape in {shape_class(s): s for s in pool.members.values()}.values():
            size = np.array(shape_class(shape)[:4], dtype=np.int64)
            used = size > 0                                      # pod slots are always used: size[2] == 1
            fits = (caps[:, used] // size[used]).min(axis=1)
            hosts = gpu_less if shape.gpus <= 0 else np.array([may_host(shape, t) for t in types], dtype=bool)
            ok = hosts & (fits >= 1)
            if ok.any():
                per_replica = np.where(ok, price / np.maximum(fits, 1), np.inf)
                keep.add(types[int(np.argmin(per_replica))].instance_type)
    return [t for t in types if t.instance_type in keep]


def packed_by_pool(chosen: dict, clusters: list[dict]) -> dict[PoolKey, Packed]:
    """A packed plan's node groups per pool of the choice (`chosen`: workload -> option with its pool)."""
    out: dict[PoolKey, Packed] = {}
    for c in clusters:
        keys = {chosen[w].pool_key for w in c["members"] if w in chosen}
        if len(keys) == 1 and None not in keys:
            out[keys.pop()] = [(n["instance_type"], n["node_count"], n["replicas_per_node"]) for n in c["nodes"]]
    return out
