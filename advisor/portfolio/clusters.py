"""A shared cluster: the replicas of every workload in one node pool packed onto nodes together.

A pool is the workloads that chose the same kind of node group (service, region, OS, tenancy,
purchase option, horizon, schedule, architecture requirement). Node prices are the same rates and horizon
arithmetic as a single recommendation (`rates.rate_table`, `cost_columns`). The pool keeps the packed
node groups only when they cost less than the workloads' own node groups side by side.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from advisor.candidates.frontiers import node_types as allocatable_types
from advisor.candidates.instances import cost_columns
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.portfolio import clock
from advisor.portfolio.facts import shares_nodes
from advisor.portfolio.keys import ClusterKey, PoolKey
from advisor.portfolio.packing import NODE_MODEL_MAX, NodeType, PodShape, pack
from advisor.portfolio.select import Option, Selection
from models.workload import Workload


def _priced(catalog: Catalog, region: str, os: str, tenancy: str, hours: float, horizon: int, nodes: pl.DataFrame,
            keep: pl.Expr) -> pl.DataFrame:
    """The rate table's rows that `keep` selects, for the node types in `nodes`, costed per node for the month
    (`compute_monthly`) and upfront (`upfront_start`) with the horizon arithmetic of one recommendation."""
    table = rates.rate_table(catalog, region, os, tenancy)
    priced = (table.filter(keep).join(nodes, on="instance_type", how="inner")
              .with_columns(count=pl.lit(1), hours=pl.lit(float(hours)), horizon=pl.lit(horizon)))
    return cost_columns(priced)


OPTION_COLUMNS = ("purchase_option", "term", "offering_class", "plan_type", "payment")
PACKING_SHARE = 8   # a pool's packing time limit: this many times its share of the replicas of the budget
# Packing searches small pools node by node too (`packing.pack`) when a plan's packing has this long: better
# packings, but the time it takes starves the other pools when the budget is short (20 s limit); then small
# pools short of their bound are packed again that way in the time the others leave
NODE_SEARCH_BUDGET_S = 3.0


@dataclass
class GroupPrices:
    """One kind of node group's types (allocatable capacity, architecture) with their price per node-month and
    upfront under every purchase option, as arrays over the same types (NaN where an option is not offered)."""

    names: list[str]
    capacity: np.ndarray                 # types x (alloc vCPU, alloc GiB, pod slots, GPUs)
    gpu_model: list[str | None]
    arch: np.ndarray
    monthly: dict[tuple, np.ndarray] = field(default_factory=dict)
    upfront: dict[tuple, np.ndarray] = field(default_factory=dict)
    current: np.ndarray | None = None    # AWS's current generation per type (None: all current)
    _made: dict[tuple, list[NodeType]] = field(default_factory=dict, repr=False)   # node_types' answers

    def current_mask(self) -> np.ndarray:
        return self.current if self.current is not None else np.ones(len(self.names), dtype=bool)

    def node_types(self, option: tuple, mask: np.ndarray) -> list[NodeType]:
        """The types `mask` keeps, priced under `option` (made once per option and mask: every pool of this
        kind with the same option and architecture asks for the same list; callers must not change it)."""
        key = (option, mask.tobytes())
        if key not in self._made:
            self._made[key] = self._node_types(option, mask)
        return self._made[key]

    def _node_types(self, option: tuple, mask: np.ndarray) -> list[NodeType]:
        monthly, upfront, cap = self.monthly[option], self.upfront[option], self.capacity
        return [NodeType(instance_type=self.names[i], usd_per_month=float(monthly[i]), alloc_vcpu=float(cap[i, 0]),
                         alloc_memory_gib=float(cap[i, 1]), pod_slots=int(cap[i, 2]), gpus=int(cap[i, 3]),
                         gpu_model=self.gpu_model[i], upfront_usd=float(upfront[i])) for i in np.nonzero(mask)[0]]


def group_prices(catalog: Catalog, service: str, region: str, os: str, tenancy: str, hours: float,
                 horizon: int) -> GroupPrices:
    """Node types of the service with their price per node-month and upfront under every purchase option at
    once (the same rates and horizon arithmetic as one recommendation): one join, arrays instead of objects."""
    nodes = allocatable_types(catalog, service, region, os).sort("instance_type")
    arch_of = dict(catalog.specs.select("instance_type", "arch").iter_rows())
    current_of = dict(catalog.specs.select("instance_type", "current_generation").iter_rows())
    names = nodes["instance_type"].to_list()
    index = {name: i for i, name in enumerate(names)}
    out = GroupPrices(names=names, capacity=nodes.select("alloc_vcpu", "alloc_memory_gib", "pod_slots", "gpus")
                      .fill_null(0).to_numpy().astype(float), gpu_model=nodes["gpu_model"].to_list(),
                      arch=np.array([arch_of.get(n, "") for n in names]),
                      current=np.array([bool(current_of.get(n, True)) for n in names]))
    priced = _priced(catalog, region, os, tenancy, hours, horizon, nodes.select("instance_type"), pl.lit(True)).select(
        *OPTION_COLUMNS, "instance_type", "compute_monthly", "upfront_start")
    for part in priced.partition_by(list(OPTION_COLUMNS), maintain_order=False):
        option = tuple(part.row(0, named=True)[c] for c in OPTION_COLUMNS)
        rows = np.array([index[n] for n in part["instance_type"].to_list()], dtype=np.int64)
        monthly, upfront = np.full(len(names), np.nan), np.full(len(names), np.nan)
        monthly[rows] = part["compute_monthly"].to_numpy()
        upfront[rows] = part["upfront_start"].fill_null(0.0).to_numpy()
        out.monthly[option], out.upfront[option] = monthly, upfront
    return out


def groups_usd(groups: list[dict[str, Any]], figure: str) -> float:
    """A cluster's node groups' monthly (or upfront) cost in dollars and cents: the exact sum of count x price
    per node (`math.fsum`, so the order of the groups cannot move a half cent), rounded once. The auditor
    sums its own prices the same way."""
    return round(math.fsum(g["node_count"] * g[f"{figure}_usd_per_node"] for g in groups) * 100) / 100


def pool_node_types(catalog: Catalog, key: PoolKey, book: dict[tuple, GroupPrices]) -> list[NodeType]:
    """The node types a pool may use, priced under its purchase option; `book` keeps each kind's prices
    (`group_prices`) from one pool to the next (the relaxation fills it first)."""
    if key.group not in book:
        book[key.group] = group_prices(catalog, *key.group)
    prices, chosen = book[key.group], key.option
    if chosen not in prices.monthly:
        return []
    # Previous-generation types only where a workload asks for them (issue 16's rule): a pool shared by several
    # workloads packs onto current-generation types; a workload allowing older ones keeps them in its own group.
    mask = ~np.isnan(prices.monthly[chosen]) & prices.current_mask()
    if key.arch != "any":
        mask &= prices.arch == key.arch
    return prices.node_types(chosen, mask)


def pack_pool(catalog: Catalog, key: PoolKey, members: list[Workload], chosen: list[Option],
              *, types: list[NodeType], time_limit_s: float, keep_vcpu: bool = False, own: bool = False,
              patterns: list | tuple = (), node_search: bool = True) -> dict[str, Any]:
    """The pool's members packed together (one member too: a mix of types may beat its own group), kept only
    when that costs less a month and no more upfront (and, with `keep_vcpu`, no more node vCPU against a
    quota) than their own node groups side by side; `own` keeps the own groups (job-shaped node groups);
    `node_search`: see `packing.pack`."""
    service, region, os, tenancy, option = key.service, key.region, key.os, key.tenancy, key.purchase_option
    term, offering_class, plan_type, payment = key.term, key.offering_class, key.plan_type, key.payment
    horizon, hours, arch = key.horizon_months, key.hours_per_month, key.arch
    candidates = [o.candidate for o in chosen]
    vcpu_of = dict(catalog.specs.select("instance_type", "vcpu").iter_rows())
    standalone_groups = [{"instance_type": c.instance_type, "purchase_option": option, "node_count": c.count,
                          "replicas_per_node": {w.id: c.config["replicas_per_node"]},
                          "monthly_usd_per_node": c.lines[0].monthly_usd / c.count,
                          "upfront_usd_per_node": c.upfront_usd / c.count}
                         for w, c in zip(members, candidates, strict=True)]
    standalone = sum(c.lines[0].monthly_usd for c in candidates)
    standalone_upfront = sum(c.upfront_usd for c in candidates)
    standalone_vcpu = sum(vcpu_of.get(c.instance_type, 0) * c.count for c in candidates)
    variant = "-".join(str(v) for v in (term, offering_class or plan_type, payment) if v)
    base = {"id": f"{service}-{region}-{os}-{tenancy}-{option}{'-' + variant if variant else ''}-{horizon}m"
                  f"-{hours:g}h{'-' + arch if arch != 'any' else ''}",
            "service": service, "region": region, "os": os, "tenancy": tenancy, "purchase_option": option,
            "term": term, "offering_class": offering_class, "plan_type": plan_type, "payment": payment,
            "members": [w.id for w in members],
            "standalone_monthly_usd": round(standalone, 2), "standalone_upfront_usd": round(standalone_upfront, 2)}
    standalone_plan = {"nodes": standalone_groups, "monthly_usd": groups_usd(standalone_groups, "monthly"),
                       "upfront_usd": groups_usd(standalone_groups, "upfront"), "node_vcpu": standalone_vcpu}
    if own:
        return {**base, **standalone_plan, "lower_bound_usd": None, "gap": None, "status": "OWN_GROUP",
                "method": "the workload's own node group (nodes only while its jobs run)", "bound_defect": None}
    shapes = [PodShape(key=w.id, vcpu=w.vcpu, memory_gib=w.memory_gib, gpus=w.gpus, gpu_model=w.gpu_model,
                       count=int(c.config.get("replicas", w.replicas)))
              for w, c in zip(members, candidates, strict=True)]
    result = pack(shapes, types, time_limit_s=time_limit_s, patterns=patterns, node_search=node_search)
    by_type = {t.instance_type: t for t in types}
    upfront = sum(g.count * by_type[g.instance_type].upfront_usd for g in result.groups)
    vcpu = sum(g.count * vcpu_of.get(g.instance_type, 0) for g in result.groups)
    if (result.status == "INFEASIBLE" or result.monthly_usd >= standalone - 0.005
            or upfront > standalone_upfront + 0.005 or (keep_vcpu and vcpu > standalone_vcpu)):
        return {**base, **standalone_plan,
                "lower_bound_usd": round(result.lower_bound_usd, 2) if result.status != "INFEASIBLE" else None,
                "gap": None, "status": "KEPT_OWN_GROUPS", "method": result.method,
                "bound_defect": result.defect or None}
    nodes = [{"instance_type": g.instance_type, "purchase_option": option, "node_count": g.count,
              "replicas_per_node": dict(sorted(g.replicas_per_node.items())),
              "monthly_usd_per_node": by_type[g.instance_type].usd_per_month,
              "upfront_usd_per_node": by_type[g.instance_type].upfront_usd} for g in result.groups]
    return {**base, "nodes": nodes, "monthly_usd": groups_usd(nodes, "monthly"),
            "upfront_usd": groups_usd(nodes, "upfront"),
            "node_vcpu": vcpu, "lower_bound_usd": round(result.lower_bound_usd, 2), "gap": round(result.gap, 6),
            "status": result.status, "method": result.method, "bound_defect": result.defect or None}


def pack_clusters(catalog: Catalog, workloads: dict[str, Workload], selection: Selection, *, budget_s: float,
              quota_keys: tuple = (), patterns: dict | None = None,
              book: dict[tuple, GroupPrices] | None = None, cache: dict | None = None) -> list[dict[str, Any]]:
    """Workloads on the same kind of node group share one cluster's nodes, packed together (`book`: node
    prices per kind, as `pools_and_options` collected them; `cache`: pools packed for earlier plans)."""
    patterns = patterns or {}
    pools: dict[ClusterKey, list[str]] = defaultdict(list)
    for wid, o in sorted(selection.chosen.items()):
        if shares_nodes(o.candidate):
            w = workloads[wid]
            # A job-shaped node group (nodes only while its jobs run) keeps a cluster of its own.
            pools[ClusterKey(PoolKey.of(w, o.candidate), wid if w.job_shaped else "")].append(wid)
    size = {k: sum(int(selection.chosen[w].candidate.config.get("replicas", workloads[w].replicas)) for w in m)
            for k, m in pools.items()}
    total = sum(size.values()) or 1

    # Each pool may take up to PACKING_SHARE x its share of the replicas of the budget (most pools end long
    # before their limit: column generation converges, or every pattern is enumerated and CP-SAT proves its
    # plan), the largest pools first, none past the budget's end.
    book = {} if book is None else book
    deadline = clock.now() + budget_s
    packed: dict[tuple, dict[str, Any]] = {}
    cache = {} if cache is None else cache
    node_search = budget_s >= NODE_SEARCH_BUDGET_S

    def same(pool: ClusterKey) -> tuple:   # a pool's cache key: its members on their node groups
        return pool, tuple((w, id(selection.chosen[w].candidate)) for w in pools[pool])

    def pack_one(pool: ClusterKey, limit: float, search: bool) -> dict[str, Any]:
        key, members = pool.pool, pools[pool]
        lp = patterns.get(key)    # its types and patterns, when the relaxation priced this pool
        types = [] if pool.job else lp.node_types if lp is not None else pool_node_types(catalog, key, book)
        return pack_pool(
            catalog, key, [workloads[w] for w in members], [selection.chosen[w] for w in members], types=types,
            time_limit_s=max(0.05, limit), keep_vcpu=any(r == key.region for r, _ in quota_keys),
            own=bool(pool.job), patterns=lp.named_patterns() if lp is not None else [], node_search=search)

    for pool in sorted(pools, key=lambda k: (-size[k], k.order)):
        if same(pool) in cache:       # packed before, in an earlier plan: the same members on the same node groups
            packed[pool] = cache[same(pool)]
            continue
        limit = min(budget_s * min(1.0, PACKING_SHARE * size[pool] / total), deadline - clock.now())
        packed[pool] = cache[same(pool)] = pack_one(pool, limit, node_search)
    if not node_search:   # in the time left, small pools short of their bound packed again, searched node by node
        short = [p for p, c in packed.items() if c["status"] == "FEASIBLE" and c["lower_bound_usd"] is not None
                 and sum(n["node_count"] for n in c["nodes"]) <= NODE_MODEL_MAX and ("searched", same(p)) not in cache]
        for pool in sorted(short, key=lambda p: (packed[p]["lower_bound_usd"] - packed[p]["monthly_usd"], p.order)):
            left = deadline - clock.now()
            if left < 0.3:
                break
            cache["searched", same(pool)] = True      # (an earlier plan's pass need not search it again)
            again = pack_one(pool, min(left, 1.0), True)
            if (again["monthly_usd"] < packed[pool]["monthly_usd"] - 0.005
                    and again["upfront_usd"] <= packed[pool]["upfront_usd"] + 0.005):
                packed[pool] = cache[same(pool)] = again
    return [packed[k] for k in sorted(pools)]

