"""ECS and EKS on EC2 nodes for many workloads at once: the candidates containers.node_generate gives.

The rules are containers.py's and frontiers.py's, over columns: the node types (`node_types`: priced,
not burstable, with the allocatable vCPU, memory and pods of an ECS or EKS node), replicas per node
(`per_node`, with spread's cap), the nodes the replicas need and the costs of the group
(`pack_nodes`, `cost_node_rows`), each (workload, option) pruned to the rows within a cent of its
cheapest (`instances.prune`). Per workload, scalar rule calls give the lines that do not depend on the
node type: the EKS control plane, a load balancer where `costs.needs_load_balancer` says, storage EBS
and data transfer out; the candidate's monthly cost sums its lines, each rounded, in the order
ec2._candidate writes them.

Which rows are costed (the node index, per service, region, OS and tenancy; the EC2 grid's idea, grid.py):
replicas per node only grow with a type's allocatable vCPU, memory and pod slots, so the types a
workload needs at most `count` nodes on are those holding k = ceil(replicas / count) replicas each: a
cell of thresholds on those three (found exactly from per_node's rule, `threshold`). Within one
purchase option the per-node cost's order over types does not depend on the workload (`instances.rank_key`).
So for every node count a workload can need, its cell's first DEPTH rows per option are costed
exactly and the next one, costed at that count, bounds every row left out: a left-out type needing
that many nodes costs at least as much, plus the scratch EBS unless its instance store holds k
replicas' scratch disks, and those types have a cell of their own. Where a bound comes within the
cent the frontier keeps, the workload goes to the per-shape path (as do regions missing a fact).
The index drops, per option, the rows that more than DEPTH earlier rows cover (no less allocatable
capacity and store, same architecture, not older): they are in no cell's first DEPTH + 1.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from advisor.candidates import costs
from advisor.candidates.batch import ec2_environment_options
from advisor.candidates.containers import OPS, control_plane_usd, node_spec
from advisor.candidates.ec2 import allowed_options
from advisor.candidates.frontiers import (
    RATE_COLUMNS,
    NodeSpec,
    OptionRules,
    _rates,
    cost_node_rows,
    node_frontier_rows,
    node_types,
    pack_nodes,
)
from advisor.candidates.instances import rank_key
from advisor.candidates.load import carrying
from advisor.candidates.regional import regional
from advisor.candidates.spread import max_per_node
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.estate import batch
from advisor.estate.gates import served
from advisor.estate.grid import OPTIONS, allowed_rows, first_rows, row_key, undominated_rows
from advisor.estate.priced import rounded_sum
from advisor.estate.reach import cost_reachable, option_bounds
from advisor.estate.usage_lines import egress_expr, free_gb, storage_expr
from advisor.pricing import money, money_expr
from models.workload import Service, Workload

SERVICES = (Service.ecs_ec2, Service.eks_ec2)
OPS_EFFORT = {**{s.value: e for s, e in OPS.items()}, Service.batch.value: batch.OPS_EFFORT}  # the generators'
DEPTH = 2  # rows per (cell, option) costed exactly, one more bounds the rest (3: 10 % slower, 0.02 % more certified)
CROSS_ROWS = 2_000_000  # cells x rows per array comparison (bounds its memory)
SLACK = 1e-6         # floating-point room: a covered row costs no less than its cover, to this
MAX_INDEXES = 24  # node indexes kept (as MAX_GRIDS: tasks come sorted by region and OS)
# What the choice reads of a node candidate (with the workload's CHOICE columns joined by the caller).
CANDIDATE = ["idx", "service", "instance_type", "unit_size", "count", "purchase_option", "term", "offering_class",
             "plan_type", "payment", "tenancy", "monthly_usd", "upfront_usd", "ops_effort"]
NODE_SCHEMA = {"idx": pl.Int64, "service": pl.String, "region": pl.String, "os": pl.String, "arch_v": pl.String,
               "vcpu": pl.Float64, "memory_gib": pl.Float64, "units": pl.Int64, "s_max_per_node": pl.Int64,
               "hours": pl.Float64, "horizon": pl.Int64, "scratch_gib": pl.Float64, "egress_gib_month": pl.Float64,
               "all_gens": pl.Boolean, "rules": pl.Int64, "lb_usd": pl.Float64, "tenancy": pl.String,
               "job": pl.Boolean, "control_plane": pl.Boolean, "storage_gib": pl.Float64}


@dataclass(frozen=True)
class NodeWorkloads:
    """One row per workload and node service the hard rules leave it (NODE_SCHEMA); `rules`: each
    distinct OptionRules (ec2.allowed_options), numbered by the `rules` column. A job profile's rows
    (`job`) are priced from their NodeSpec (`specs`, by idx and service) rather than the node index."""

    frame: pl.DataFrame
    rules: list[OptionRules]
    specs: dict[tuple[int, str], NodeSpec] = field(default_factory=dict)

    def subset(self, idx: pl.Series) -> NodeWorkloads:
        return NodeWorkloads(self.frame.filter(pl.col("idx").is_in(idx.implode())), self.rules, self.specs)


@dataclass(frozen=True)
class NodeRows:
    """The node candidates (CANDIDATE columns) and the workloads left to the per-shape path."""

    frame: pl.DataFrame
    fallback: list[int]


def price(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> NodeRows:
    """ECS and EKS on EC2 node candidates of the workloads, for the services the hard rules leave each."""
    frame, fallback = candidates(workload_columns(workloads, catalog, include_free_tier), catalog)
    return NodeRows(frame, fallback)


@dataclass
class NodeIndex:
    """One service, region and OS: the (option, node type) rows that can be among a workload's first
    DEPTH + 1 in some cell, in the option's cost order, with `_r` (row number) and `_o` (option number)."""

    rows: pl.DataFrame
    vcpus: np.ndarray     # distinct allocatable vCPU counts, sorted
    memories: np.ndarray  # distinct allocatable memory sizes, sorted
    _arrays: dict[tuple, tuple[np.ndarray, ...]] = field(default_factory=dict)

    def top(self, cells: pl.DataFrame) -> pl.DataFrame:
        """Per cell (CELL columns: the rows of an architecture, generation setting and store class whose
        allocatable vCPU, memory and pod slots reach tv, tm and k) and option, its first DEPTH + 1 rows in
        order: the cell's columns (CELL and any others given), `_r` and `pos` 1..DEPTH + 1."""
        parts = []
        for (arch_v, all_gens), group in cells.partition_by("arch_v", "all_gens", as_dict=True).items():
            r, av, am, ps, st, starts = self._candidates(arch_v, all_gens)
            thresholds = [group["tv"].to_numpy(), group["tm"].to_numpy(), group["k"].to_numpy().astype(np.float64),
                          group["ts"].to_numpy()]
            index, rows, pos = first_rows(thresholds, [av, am, ps, st], starts, DEPTH + 1, CROSS_ROWS)
            if len(index):
                parts.append(group[index].with_columns(_r=pl.Series(r[rows], dtype=pl.UInt32),
                                                       pos=pl.Series(pos, dtype=pl.Int64)))
        if not parts:
            return cells.clear().with_columns(_r=pl.lit(0, pl.UInt32), pos=pl.lit(0, pl.Int64))
        return pl.concat(parts)

    def _candidates(self, arch_v: str, all_gens: bool) -> tuple[np.ndarray, ...]:
        key = (arch_v, all_gens)
        if key not in self._arrays:
            rows = self.rows
            if arch_v != "any":
                rows = rows.filter(pl.col("arch") == arch_v)
            if not all_gens:
                rows = rows.filter(pl.col("current_generation"))
            o = rows["_o"].to_numpy()
            starts = np.concatenate([[0], np.flatnonzero(np.diff(o)) + 1, [len(o)]]) if len(o) else np.array([0])
            self._arrays[key] = (rows["_r"].to_numpy(), rows["alloc_vcpu"].cast(pl.Float64).to_numpy(),
                                 rows["alloc_memory_gib"].cast(pl.Float64).to_numpy(),
                                 rows["pod_slots"].cast(pl.Float64).to_numpy(),
                                 rows["instance_store_gib"].cast(pl.Float64).to_numpy(), starts)
        return self._arrays[key]


CELL = ["arch_v", "all_gens", "tv", "tm", "k", "ts"]
_INDEXES: OrderedDict[tuple, NodeIndex] = OrderedDict()


def node_index(catalog: Catalog, service: str, region: str, os: str, tenancy: str = "shared") -> NodeIndex:
    key = (catalog.version, service, region, os, tenancy)
    if key not in _INDEXES:
        _INDEXES[key] = _build(catalog, service, region, os, tenancy)
        while len(_INDEXES) > MAX_INDEXES:
            _INDEXES.popitem(last=False)
    _INDEXES.move_to_end(key)
    return _INDEXES[key]


def _build(catalog: Catalog, service: str, region: str, os: str, tenancy: str) -> NodeIndex:
    nodes = (node_types(catalog, service, region, os).filter(pl.col("gpus") == 0)
             .with_columns(pl.col("current_generation").fill_null(True)).sort("instance_type").with_row_index("_t"))
    rows = (_rates(catalog, region, os, tenancy).select(RATE_COLUMNS).join(nodes, on="instance_type", how="inner")
            .with_columns(rank_key=rank_key()))
    kept = undominated_rows(rows, _covers(nodes), DEPTH).drop("_t").with_row_index("_r").with_columns(
        _o=pl.col("option_id").rank("dense").cast(pl.Int64))
    return NodeIndex(kept, np.unique(nodes["alloc_vcpu"].cast(pl.Float64).to_numpy()),
                     np.unique(nodes["alloc_memory_gib"].cast(pl.Float64).to_numpy()))


def _covers(nodes: pl.DataFrame) -> np.ndarray:
    """covers[d, t]: node type d is in every cell t is in: no less allocatable vCPU, memory, pod slots
    and instance store, the same architecture, not an older generation."""
    out = np.ones((nodes.height, nodes.height), dtype=bool)
    for name in ("alloc_vcpu", "alloc_memory_gib", "pod_slots", "instance_store_gib"):
        v = nodes[name].cast(pl.Float64).to_numpy()
        out &= v[:, None] >= v[None, :]
    arch = nodes["arch"].cast(pl.Categorical).to_physical().to_numpy()
    current = nodes["current_generation"].to_numpy()
    return out & (arch[:, None] == arch[None, :]) & (current[:, None] | ~current[None, :])


def threshold(values: np.ndarray, size: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per query, the least of `values` (sorted) whose floor(value / size + 1e-9) (per_node's rule)
    reaches k, or inf: the rule is monotone in the value, so this is a search, stepped to the exact
    first value from a point just below it."""
    i = np.searchsorted(values, k * size * (1 - 1e-6), side="left")
    padded = np.append(values, np.inf)
    while True:
        short = (i < len(values)) & (np.floor(padded[np.minimum(i, len(values))] / size + 1e-9) < k)
        if not short.any():
            return padded[i]
        i = i + short


def workload_columns(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> NodeWorkloads:
    """Per workload and node service the hard rules leave it: the replicas its load needs
    (`load.carrying`, what the generators are given), spread's cap on replicas per node and the rounded
    lines that do not depend on the node type (`mid`: control plane, load balancer, storage EBS, data
    transfer out, each rounded, summed). `mid` is null (the workload goes to the per-shape path) for a
    region missing one of their facts. A job profile's rows carry their NodeSpec instead of the
    index's columns (waves of jobs over the nodes: node_generate's spec, with Batch's EC2 environments);
    a service whose jobs cannot meet the deadline has no row (node_generate's only answer is a rejection)."""
    rows, rules, specs = [], {}, {}
    for i, w in workloads.items():
        c = carrying(w)
        services = _node_services(w)
        if not services:
            continue
        lb_usd = _load_balancer(c, catalog)
        for service, options in services:
            if w.job_shaped:
                spec = node_spec(service, c, options, exhaustive=False)
                if isinstance(spec, str):
                    continue  # job_longer_than_deadline
                specs[(i, service.value)] = spec
            rule = rules.setdefault(allowed_options(w) if options is None else options, len(rules))
            rows.append((i, service.value, w.region, w.os.value, w.arch.value, w.vcpu, w.memory_gib, c.replicas,
                         max_per_node(c, c.replicas), w.hours_per_month, w.horizon_months, w.scratch_gib,
                         w.egress_gib_month, w.allow_previous_generation, rule, lb_usd, w.tenancy.value,
                         w.job_shaped, service is Service.eks_ec2 and not w.existing_cluster, w.storage_gib))
    frame = pl.DataFrame(rows, schema=NODE_SCHEMA, orient="row")
    return NodeWorkloads(_with_type_free_usd(frame, catalog, include_free_tier), list(rules), specs)


def _load_balancer(w: Workload, catalog: Catalog) -> float | None:
    """node_generate's load balancer lines, rounded and summed (0 without one; None: a fact is missing).
    Jobs need none, so a job's units do not matter here."""
    if not costs.needs_load_balancer(w, w.replicas):
        return 0.0
    try:
        return rounded_sum(costs.load_balancer_lines(catalog, w))
    except FactMissing:
        return None


def _with_type_free_usd(frame: pl.DataFrame, catalog: Catalog, include_free_tier: bool) -> pl.DataFrame:
    """`frame` with `mid`: node_generate's extra lines (the EKS control plane, a load balancer) and
    to_candidates' storage (on each of the replicas: units) and egress lines, each rounded, summed (cent
    values: any order gives the same cents). Null where a needed regional fact is missing. The lines are
    columns before they are rounded: the rounding reads its argument several times."""
    regions = frame["region"].unique().sort().to_list()
    gp3, tiers = {}, {}
    for region in regions:
        for name, into in (("ebs.gp3_usd_per_gb_month", gp3), ("network.data_transfer_out_tiers", tiers)):
            with suppress(FactMissing):  # left out of the mapping: null where the line is needed
                into[region] = regional(catalog, name, region).value
    storage = storage_expr(pl.col("region").replace_strict(gp3, default=None, return_dtype=pl.Float64))
    egress = egress_expr(tiers, free_gb(catalog, include_free_tier))
    control = money(control_plane_usd(catalog))
    return (frame.with_columns(replicas=pl.col("units")).with_columns(_storage=storage, _egress=egress)
            .with_columns(mid=pl.when(pl.col("control_plane")).then(control).otherwise(0.0) + pl.col("lb_usd")
                          + money_expr(pl.col("_storage")) + money_expr(pl.col("_egress")))
            .drop("replicas", "_storage", "_egress"))


def _node_services(w: Workload) -> list[tuple[Service, OptionRules | None]]:
    """The node services the hard rules leave `w`, each with the options its generator passes (None: what
    `w` allows): ECS and EKS on EC2, and for a job profile Batch's EC2 environments (batch.generate)."""
    services = [(s, None) for s in SERVICES if s in served(w)]
    if w.job_shaped and Service.batch in served(w):
        services.append((Service.batch, ec2_environment_options(w)))  # EC2 environments pack jobs onto ECS nodes
    return services


def candidates(work: NodeWorkloads, catalog: Catalog) -> tuple[pl.DataFrame, list[int]]:
    """The node candidates (CANDIDATE columns) of the workloads and services `work` lists, and the
    workloads this cannot certify."""
    w, rules = work.frame, work.rules
    unsure = w.filter(pl.col("mid").is_null())["idx"].unique().to_list()  # a fact missing: per shape
    w = w.filter(pl.col("mid").is_not_null())
    jobs, unsure_jobs = _job_candidates(w.filter(pl.col("job")), work.specs, catalog)
    unsure += unsure_jobs
    w = w.filter(~pl.col("job"))
    if w.is_empty():
        return jobs, sorted(set(unsure))
    exact, bounds, described = [], [], []
    groups = w.partition_by("service", "region", "os", "tenancy", as_dict=True).items()
    for gid, ((service, region, os, tenancy), group) in enumerate(groups):
        try:
            index = node_index(catalog, service, region, os, tenancy)
            rows, bound = _group_rows(group, index, rules, catalog, region)
        except FactMissing:
            unsure += group["idx"].to_list()
            continue
        # One integer per workload, service and option (`_g`): grouping by it is cheaper than by the three.
        g = (pl.col("idx") * len(OPS_EFFORT) + list(OPS_EFFORT).index(service)) * OPTIONS + pl.col("_o")
        exact.append(rows.with_columns(service=pl.lit(service), _gid=pl.lit(gid, pl.Int32), _g=g))
        bounds.append(bound.with_columns(_g=g))
        described.append(index.rows.select("_r", *DESCRIBE).with_columns(_gid=pl.lit(gid, pl.Int32)))
    if not exact:
        return jobs, sorted(set(unsure))
    rows, bound = pl.concat(exact), pl.concat(bounds)
    low = rows.group_by("_g").agg(low=pl.col("monthly_total").min())
    # The dedicated fee is the same on every row of a workload (the hours its nodes run).
    floor = pl.col("compute_monthly") + pl.col("ipv4_monthly") + pl.col("fee_monthly").fill_null(0.0) + pl.when(
        pl.col("src") == 0).then(pl.col("_ebs")).otherwise(0.0)
    near = bound.group_by("_g").agg(floor=floor.min(), idx=pl.col("idx").first()).join(low, on="_g").filter(
        pl.col("floor") <= pl.col("low") + 0.01 + SLACK)
    unsure += near["idx"].unique().to_list()
    kept = (rows.filter((pl.col("monthly_total") <= pl.col("monthly_total").min().over("_g") + 0.01)
                        & ~pl.col("idx").is_in(unsure))
            .join(pl.concat(described), on=["_gid", "_r"])
            .join(w.select("idx", "service", "mid"), on=["idx", "service"]))
    found = [f for f in (_lines(kept).select(CANDIDATE), jobs) if not f.is_empty()]
    return (pl.concat(found) if found else pl.DataFrame()), sorted(set(unsure))


def _job_candidates(w: pl.DataFrame, specs: dict[tuple[int, str], NodeSpec],
                    catalog: Catalog) -> tuple[pl.DataFrame, list[int]]:
    """The node candidates of job profiles: their specs' node frontiers, in bulk (the per-shape path's
    own rows: node types x options costed for the whole group, whole waves of jobs, pruned). As
    node_generate does, a spec no current-generation type fits is tried again with previous-generation
    types. A chunk whose region lacks a fact leaves its workloads to the per-shape path."""
    if w.is_empty():
        return pl.DataFrame(), []
    keys = list(w.select("idx", "service").iter_rows())
    rows, found, unsure = _frontier_rows({k: specs[k] for k in keys}, catalog)
    retry = {k: replace(specs[k], previous_generation=True) for k in keys
             if k not in found and not specs[k].previous_generation and k[0] not in unsure}
    again, _, unsure_again = _frontier_rows(retry, catalog)
    rows = [f for f in (rows, again) if not f.is_empty()]
    if not rows:
        return pl.DataFrame(), sorted(unsure | unsure_again)
    kept = pl.concat(rows).join(w.select("idx", "service", "mid"), on=["idx", "service"])
    return _lines(kept).select(CANDIDATE), sorted(unsure | unsure_again)


def _frontier_rows(specs: dict[tuple[int, str], NodeSpec],
                   catalog: Catalog) -> tuple[pl.DataFrame, set[tuple[int, str]], set[int]]:
    """Every (idx, service)'s frontier rows (JOB_COLUMNS, idx, service) in one frame, the keys that have
    rows, and the idx whose chunk a missing fact left out. Equal specs (workloads alike) are costed once."""
    users: dict[NodeSpec, list[tuple[int, str]]] = {}
    for key, spec in specs.items():
        users.setdefault(spec, []).append(key)
    parts, priced = [], set()
    try:
        for chunk, rows in node_frontier_rows(catalog, list(users)):
            priced |= set(chunk)
            owners = pl.DataFrame([(k, i, service) for k, spec in enumerate(chunk) for i, service in users[spec]],
                                  schema={"spec_id": pl.Int64, "idx": pl.Int64, "service": pl.String}, orient="row")
            if not rows.is_empty():
                parts.append(rows.select(pl.col("spec_id").cast(pl.Int64), *JOB_COLUMNS)
                             .join(owners, on="spec_id").drop("spec_id"))
    except FactMissing:  # raised only for a single spec (in bulk its chunk is left out): not priced
        pass
    rows = pl.concat(parts) if parts else pl.DataFrame()
    found = set(rows.select("idx", "service").unique().iter_rows()) if parts else set()
    return rows, found, {key[0] for spec, keys in users.items() if spec not in priced for key in keys}


def _group_rows(w: pl.DataFrame, index: NodeIndex, rules: list[OptionRules], catalog: Catalog,
                region: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One service, region and OS: each workload's cell rows of its allowed options, costed: the first
    DEPTH of every cell exactly, the next one as if it needed the level's node count (a bound). A workload
    no current-generation type fits takes the previous-generation ones too (node_generate). Only the
    options whose rows the choice can read are costed (reach.py).

    A row left out of the cell of its node count (`src` 0) costs at least the next row's compute and IPv4
    at that count, plus the scratch EBS (`_ebs`) unless its store holds k replicas' scratch disks; those
    are in the store cell (src 1: store >= k x scratch), or cost at least that cell's next row's."""
    w = w.with_row_index("_w")
    pairs = _cell_pairs(w, index, rules)
    again = w.filter(~pl.col("all_gens")).join(pairs.select("idx").unique(), on="idx", how="anti")
    if not again.is_empty():
        pairs = pl.concat([pairs, _cell_pairs(again.with_columns(all_gens=pl.lit(True)), index, rules)])
    gp3 = regional(catalog, "ebs.gp3_usd_per_gb_month", region).value
    workload = w.select(s_vcpu="vcpu", s_memory_gib="memory_gib", s_gpus=pl.lit(0), s_units="units",
                        s_replicas="units", s_max_per_node="s_max_per_node", s_hours="hours",
                        s_jobs=pl.lit(None, pl.Int64), s_job_hours=pl.lit(None, pl.Float64), s_horizon="horizon",
                        s_scratch_gib="scratch_gib", s_public=pl.col("egress_gib_month") > 0, s_tenancy="tenancy",
                        _ebs=gp3 * pl.col("scratch_gib") * pl.col("units"))
    # Every type is in the cell of the nodes it needs (count = level), after that cell's first row; one
    # whose store holds the level's scratch disks is also in its store cell (src 1), after that one's
    # first, and every other pays the scratch EBS: those rows at the level bound their options.
    first = pairs.filter(pl.col("pos") == 1)
    first = pl.concat([first, index.rows.select("purchase_option", "term", "usd_per_hour", "upfront_usd")[first["_r"]],
                       workload.select("s_public", "s_tenancy", "_ebs", hours="s_hours", horizon="s_horizon")[
                           first["_w"]]], how="horizontal").with_columns(count=pl.col("level"))
    bounds = option_bounds(first, "_ebs", catalog, fee_per_row=True)
    costed, after = pl.col("pos") <= DEPTH, pl.col("pos") == DEPTH + 1
    key = pl.when(costed).then(row_key())  # null: not costed
    pairs = pairs.filter((costed & key.is_first_distinct()) | after)  # a type once a workload

    def cost(some: pl.DataFrame) -> pl.DataFrame:
        rows = pl.concat([some, workload[some["_w"]], index.rows.select(COSTING[2:])[some["_r"]]], how="horizontal")
        rows = pack_nodes(rows).with_columns(  # the bound: at the level's count
            horizon=pl.col("s_horizon"), count=pl.when(after).then(pl.col("level")).otherwise(pl.col("count")))
        return cost_node_rows(catalog, rows, region)

    rows = cost_reachable(pairs, bounds, cost, costed)
    return rows.filter(costed).select(COSTED), rows.filter(after).select(COSTED)


# What the costing reads of an index row; the rest (DESCRIBE) is joined back to the few rows kept.
COSTING = ["_r", "_o", "purchase_option", "term", "usd_per_hour", "upfront_usd", "vcpu", "alloc_vcpu",
           "alloc_memory_gib", "pod_slots", "gpus", "instance_store_gib"]
DESCRIBE = ["instance_type", "offering_class", "plan_type", "payment", "tenancy"]
COSTED = ["idx", "_o", "src", "_ebs", "_r", "vcpu", "purchase_option", "term", "count", "compute_monthly",
          "scratch_ebs_monthly", "ipv4_monthly", "fee_monthly", "upfront_start", "monthly_total"]
# What _lines reads of a job profile's frontier row (the rows carry their rate's description).
JOB_COLUMNS = ["instance_type", "vcpu", "count", "purchase_option", "term", "offering_class", "plan_type", "payment",
               "tenancy", "compute_monthly", "scratch_ebs_monthly", "ipv4_monthly", "fee_monthly", "upfront_start"]


def _cell_pairs(w: pl.DataFrame, index: NodeIndex, rules: list[OptionRules]) -> pl.DataFrame:
    """Per workload (`idx`, and `_w`: its row in the group) and node count `level` it can need
    (ceil(replicas / r) for the replicas per node r spread allows), the rows (`_r`, `pos`, `_o`) of the
    cell of the types holding k = ceil(replicas / level) replicas (src 0) and, with a scratch disk, of
    those of them whose instance store holds k disks (src 1), of the options its rules allow."""
    levels = []
    for idx, units, cap in w.select("idx", "units", "s_max_per_node").iter_rows():
        for count in sorted({-(-units // r) for r in range(1, (cap or units) + 1)}):
            levels.append((idx, count, -(-units // count)))
    q = w.select("_w", "idx", "rules", "vcpu", "memory_gib", "scratch_gib", "arch_v", "all_gens").join(
        pl.DataFrame(levels, schema={"idx": pl.Int64, "level": pl.Int64, "k": pl.Int64}, orient="row"), on="idx")
    k = q["k"].to_numpy().astype(np.float64)
    q = q.with_columns(tv=pl.Series(threshold(index.vcpus, q["vcpu"].to_numpy(), k)),
                       tm=pl.Series(threshold(index.memories, q["memory_gib"].to_numpy(), k)))
    q = q.filter(pl.col("tv").is_finite() & pl.col("tm").is_finite())
    q = pl.concat([q.with_columns(src=pl.lit(0), ts=pl.lit(0.0)),
                   q.filter(pl.col("scratch_gib") > 0).with_columns(
                       src=pl.lit(1), ts=pl.col("k").cast(pl.Float64) * pl.col("scratch_gib"))])
    cells = q.select(CELL).unique(maintain_order=True).with_row_index("_c")
    top = index.top(cells).select("_c", "_r", "pos")
    pairs = q.join(cells, on=CELL).select("_c", "_w", "idx", "src", "level", "rules").join(top, on="_c").drop("_c")
    return allowed_rows(pairs.with_columns(_o=index.rows["_o"].gather(pairs["_r"])), index.rows, rules)


def _lines(rows: pl.DataFrame) -> pl.DataFrame:
    """The candidate's monthly cost: its lines rounded and summed, in ec2._candidate's order (compute,
    scratch EBS, then `mid`'s, then public IPv4, then a dedicated node's fee); the upfront rounded."""
    rows = rows.with_columns([money_expr(pl.col(c).fill_null(0.0)).alias(f"_m{c}") for c in
                              ("compute_monthly", "scratch_ebs_monthly", "ipv4_monthly", "fee_monthly")])
    total = pl.lit(0.0) + pl.col("_mcompute_monthly") + pl.col("_mscratch_ebs_monthly") + pl.col("mid")
    rows = rows.with_columns(_total=total + pl.col("_mipv4_monthly") + pl.col("_mfee_monthly"))
    ops = pl.col("service").replace_strict(OPS_EFFORT, default=None)
    return rows.with_columns(monthly_usd=money_expr(pl.col("_total")), upfront_usd=money_expr(pl.col("upfront_start")),
                             unit_size=pl.col("vcpu").cast(pl.Float64), ops_effort=ops)
