"""The vectorized answer for workloads only plain EC2 (and Lightsail) can serve: a chunk at once.

Per region, OS and tenancy, workloads are joined to their cell's rows (grid.py), the purchase options their
requirements allow are kept (the same OptionRules as ec2.allowed_options), and each row is costed
with the same expressions as the per-shape path (frontiers.cost_instance_rows). Then, over all
regions at once, rows are pruned as the frontier is (each option's rows within a cent of its
cheapest), scaled by the replicas, and turned into the candidate's cost lines, each rounded to the
cent and summed in the same order as ec2._candidate.
Where the hard rules also leave Lightsail, its candidates (estate/lightsail.py) join the EC2 ones.
Dedicated Instances pay the per-region fee as their last line; Dedicated Hosts (estate/hosts.py) come
as whole fleets, not scaled, and their on-demand rows count toward the baseline even when capacity is
guaranteed (hosts are the on-demand baseline's other tenancy, ec2.baseline).
The choice is a group-wise first-in-order: the one-workload choice (CP-SAT, optimize.choose) minimises
the cents times the ops weight of the candidate's ops effort, then the rank in `Candidate.sort_key`
order, within the monthly cap; with one candidate per option that is a sort. The baseline is the
first EC2 on-demand candidate (or On-Demand Capacity Reservation, when capacity is guaranteed), as
ec2.baseline.

Workloads it cannot answer exactly here (no fitting type, no candidate within the caps, a frontier
the cell bound cannot certify, a region missing a fact) are returned for the per-shape path.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from advisor.candidates import costs
from advisor.candidates.base import Context
from advisor.candidates.ec2 import allowed_options, usage
from advisor.candidates.frontiers import OptionRules, cost_instance_rows
from advisor.candidates.load import carrying
from advisor.candidates.regional import regional
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.estate import beanstalk, hosts, lightsail, nodes, services
from advisor.estate.choice import choose, leading
from advisor.estate.gates import served
from advisor.estate.grid import CELL, OPTIONS, TOP, WIDE_TOP, Grid, allowed_rows, grid, row_key
from advisor.estate.priced import rounded_sum
from advisor.estate.reach import cost_reachable, option_bounds
from advisor.estate.usage_lines import egress_expr, free_gb, storage_expr
from advisor.pricing import money_expr
from models.workload import Service, Workload

WIDE_MIN = 8  # uncertified workloads of a region and OS worth building its deeper grid (~0.1 s) for
BATCH = 8_192  # workloads answered together: their candidate rows (~100 each) bound the memory; fewer, larger
# batches cost less per workload (each batch has its groups' fixed work; 2,048: diverse 50k 9 % slower)
SLACK = 1e-6  # floating-point room on the bound: a left-out row must cost more than this past the cent
OPS_EFFORT = {"ec2": "high", "lightsail": "medium"}  # what each generator sets (ec2.py, lightsail.py)
SCALED = ["compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "ipv4_monthly", "upfront_start"]
# A grid row's columns the costing reads (_r, _o: the row's and its option's number in the grid); the
# rest of the row (DESCRIBE) is joined back after the frontier, which keeps a fifth of the rows.
COSTING = ["_r", "_o", "purchase_option", "term", "usd_per_hour", "upfront_usd", "burstable", "baseline_cpu_share",
           "vcpu", "instance_store_gib", "family"]
DESCRIBE = ["instance_type", "offering_class", "plan_type", "payment", "tenancy"]
COSTED = ["idx", "_r", "_o", "src", "pos", "s_scratch_gib", "_ebs_floor", "purchase_option", "term", "vcpu",
          "compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "ipv4_monthly", "upfront_start",
          "monthly_total"]  # what the frontier, the lines and the choice read of a costed row
CHOICE = ["idx", "region", "os", "replicas", "count", "capacity_guarantee", "max_monthly_usd", "ops", "lb_usd",
          "beanstalk_usd", "ec2"]  # per workload (ec2: plain EC2 serves it)
WORKLOAD_SCHEMA = {
    "idx": pl.Int64, "region": pl.String, "os": pl.String, "arch_v": pl.String, "vcpu": pl.Float64,
    "memory_gib": pl.Float64, "replicas": pl.Int64, "hours": pl.Float64, "horizon": pl.Int64,
    "cpu_utilization": pl.Float64, "rules": pl.Int64, "capacity_guarantee": pl.Boolean, "scratch_gib": pl.Float64,
    "storage_gib": pl.Float64, "egress_gib_month": pl.Float64, "max_monthly_usd": pl.Float64,
    "all_gens": pl.Boolean, "ops": pl.String, "lightsail": pl.Boolean, "count": pl.Int64, "lb_usd": pl.Float64,
    "beanstalk_usd": pl.Float64, "ec2": pl.Boolean, "tenancy": pl.String,
}


@dataclass
class Answers:
    frame: pl.DataFrame   # idx plus the batch's output columns, one row per answered workload
    fallback: list[int]   # idx of the workloads left for the per-shape path


def workload_frame(workloads: dict[int, Workload], rules: list[OptionRules], catalog: Catalog,
                   include_free_tier: bool = False) -> pl.DataFrame:
    """The fields this path reads, one row per workload (`rules`: each distinct OptionRules, by index).
    A request profile's replicas are the ones the load model carries (load.carrying), a job profile's
    instances and hours the ones its deadline needs (ec2.usage); a workload whose profile this path
    cannot price (no plan, no job, a missing load balancer fact) is left out, for the per-shape path."""
    ids = {r: i for i, r in enumerate(rules)}
    ctx = Context(catalog, include_free_tier=include_free_tier)
    rows = []
    for i, w in workloads.items():
        derived = _profile(carrying(w), ctx)
        if derived is None:
            continue
        c, count, hours, lb_usd = derived
        lightsail_ok = Service.lightsail in served(w) and not costs.needs_load_balancer(c, c.replicas)
        rows.append((i, w.region, w.os.value, w.arch.value, w.vcpu, w.memory_gib, c.replicas, hours,
                     w.horizon_months, w.cpu_utilization, ids[allowed_options(w)], w.capacity_guarantee, w.scratch_gib,
                     w.storage_gib, w.egress_gib_month, w.max_monthly_usd, w.allow_previous_generation, w.ops.value,
                     lightsail_ok, count, lb_usd, beanstalk.extra_usd(c, ctx), Service.ec2 in served(w),
                     w.tenancy.value))
    return pl.DataFrame(rows, schema=WORKLOAD_SCHEMA, orient="row")


def _profile(w: Workload, ctx: Context) -> tuple[Workload, int, float, float] | None:
    """(the carried workload, EC2 instances, hours each, the rounded load balancer lines EC2 adds), as
    ec2.generate derives them; None when EC2 has no candidate this path can price."""
    plan = usage(w)
    if isinstance(plan, str) or plan[0] == 0:
        return None  # job_longer_than_deadline, or no job to run: the per-shape path says so
    count, hours = plan
    try:
        lines = costs.load_balancer_lines(ctx.catalog, w) if costs.needs_load_balancer(w, count) else []
    except FactMissing:
        return None
    return w, count, hours, rounded_sum(lines)


def answer(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Answers:
    """Region and OS groups are costed apart (their rates and regional facts); the frontier, the
    rounding and the choice run once over all of them."""
    rules = list(dict.fromkeys(allowed_options(w) for w in workloads.values()))
    others = services.candidates(workloads, catalog, include_free_tier)
    # Batches of one region and OS each where possible: a group's grid work has a fixed cost per batch.
    frame = workload_frame({i: w for i, w in workloads.items() if i not in others.fallback}, rules, catalog,
                           include_free_tier).sort("region", "os", "tenancy", "idx")
    node_work = nodes.workload_columns(workloads, catalog, include_free_tier)
    dedicated = frame.filter(pl.col("tenancy") == "dedicated")["idx"].to_list()
    fleets = hosts.candidates({i: workloads[i] for i in dedicated}, catalog)
    other_rows = leading(others.frame)  # once: every batch joins its workloads' rows
    parts, found = [], []
    for start in range(0, frame.height, BATCH):
        batch = frame.slice(start, BATCH)
        found.append(_node_rows(node_work.subset(batch["idx"]), catalog))
        parts.append(_answer_batch(batch, rules, catalog, include_free_tier, TOP, other_rows, found[-1], fleets))
    parts = [p for p in parts if not p.is_empty()]
    # The deeper grid's retry: the node rows do not depend on it, so theirs are reused (and a workload
    # the node path could not certify is not retried).
    node_rows = nodes.NodeRows(pl.concat([f.frame for f in found], how="diagonal_relaxed"),
                               sorted({i for f in found for i in f.fallback}))
    retry = frame.join(pl.concat(parts).select("idx"), on="idx", how="anti") if parts else frame
    retry = retry.filter(~pl.col("idx").is_in(node_rows.fallback)
                         & (pl.len().over("region", "os", "tenancy") >= WIDE_MIN))  # else the deeper grid costs more
    parts += [_answer_batch(retry.slice(start, BATCH), rules, catalog, include_free_tier, WIDE_TOP, other_rows,
                            node_rows, fleets)
              for start in range(0, retry.height, BATCH)]
    parts = [p for p in parts if not p.is_empty()]
    if not parts:
        return Answers(pl.DataFrame(), sorted(workloads))
    done = pl.concat(parts)
    return Answers(done, sorted(set(workloads) - set(done["idx"].to_list())))


def _node_rows(work: nodes.NodeWorkloads, catalog: Catalog) -> nodes.NodeRows:
    """The node candidates of a batch's workloads, only those the choice reads (choice.leading)."""
    rows, unsure = nodes.candidates(work, catalog)
    return nodes.NodeRows(rows if rows.is_empty() else leading(rows), unsure)


def _answer_batch(frame: pl.DataFrame, rules: list[OptionRules], catalog: Catalog,
                  include_free_tier: bool, top: int, others: pl.DataFrame, found: nodes.NodeRows,
                  fleets: pl.DataFrame) -> pl.DataFrame:
    """EC2 rows (from the grid) for the workloads plain EC2 or Beanstalk serves (Beanstalk's rows are
    EC2's, with its own lines; EC2's own only where EC2 serves the workload), ECS/EKS node rows
    (`found`: nodes.py, computed by the caller and reused by the retry), the other services' rows
    (services.py), Lightsail's; a workload any of its services could not be certified for goes to the
    per-shape path. Dedicated-tenancy workloads (plain EC2 only)
    get Dedicated Instances from their tenancy's grid and Dedicated Hosts (`fleets`, estate/hosts.py)."""
    gridded = pl.col("ec2") | pl.col("beanstalk_usd").is_not_null()  # workloads that need EC2 rows
    parts, lines, described, risks = [], [], [], {}
    groups = frame.partition_by("region", "os", "tenancy", as_dict=True, maintain_order=True).items()
    for gid, ((region, os, tenancy), group) in enumerate(groups):
        if (region, os) not in risks:
            risks[(region, os)] = rates.interruption(catalog, region, os).with_columns(region=pl.lit(region),
                                                                                     os=pl.lit(os))
        if not group.select(gridded.any()).item():
            continue
        try:
            g = grid(catalog, region, os, top, tenancy)
            rows, per_workload = _costed_group(group.filter(gridded), g, rules, catalog, include_free_tier)
        except FactMissing:  # left to the per-shape path, which turns it into that service's rejection
            continue
        parts.append(rows.with_columns(_gid=pl.lit(gid, pl.Int32)))
        lines.append(per_workload)
        described.append(g.rows.select("_r", *DESCRIBE).with_columns(_gid=pl.lit(gid, pl.Int32)))
    node_rows, unsure = found.frame, found.fallback  # (rows of other batches' workloads drop out below)
    ec2_rows, priced = pl.DataFrame(), []
    if parts:
        per_workload = pl.concat(lines)
        ec2_rows = _scaled(_certified_frontier(pl.concat(parts), top).join(per_workload, on="idx")
                           .join(frame.select(CHOICE), on="idx")).join(pl.concat(described), on=["_gid", "_r"])
        priced = ec2_rows["idx"].unique().to_list()  # certified instance frontiers (hosts alone are not)
        if not fleets.is_empty():  # whole fleets of hosts: not scaled, no dedicated fee
            ec2_rows = pl.concat([ec2_rows, fleets.join(per_workload.with_columns(fee_line=pl.lit(0.0)), on="idx")
                                  .join(frame.select(CHOICE).drop("count"), on="idx")], how="diagonal_relaxed")
        ec2_rows = leading(_lines(ec2_rows).with_columns(service=pl.lit("ec2"), unit_size=pl.col("vcpu"),
                                                         ops_effort=pl.lit(OPS_EFFORT["ec2"])), CHOICE)
    certified = frame.filter((~gridded | pl.col("idx").is_in(priced)) & ~pl.col("idx").is_in(unsure))
    if certified.is_empty():
        return pl.DataFrame()
    if not node_rows.is_empty():
        node_rows = node_rows.join(certified.select(CHOICE), on="idx").drop("count_right", strict=False)
    found = [ec2_rows.filter(pl.col("ec2")) if parts else ec2_rows, node_rows, _lightsail(certified, catalog),
             _services(certified, ec2_rows, others)]
    found = [r for r in found if not r.is_empty()]
    if not found:
        return pl.DataFrame()
    rows = pl.concat(found, how="diagonal_relaxed").join(certified.select("idx"), on="idx", how="semi")
    return choose(rows, catalog, pl.concat(list(risks.values())))


def _lightsail(frame: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Lightsail candidates of the (certified) workloads the hard rules leave it for, as rows choice.choose reads."""
    wanted = frame.filter(pl.col("lightsail"))
    if wanted.is_empty():
        return pl.DataFrame()
    got = lightsail.candidates(wanted, catalog)
    if got.is_empty():
        return got
    return got.join(wanted.select(CHOICE), on="idx").with_columns(
        service=pl.lit("lightsail"), purchase_option=pl.lit("on_demand"), tenancy=pl.lit("shared"),
        upfront_usd=pl.lit(0.0), count=pl.col("replicas"), ops_effort=pl.lit(OPS_EFFORT["lightsail"]))


def _services(certified: pl.DataFrame, ec2_rows: pl.DataFrame, others: pl.DataFrame) -> pl.DataFrame:
    """Beanstalk's rows (EC2's instances with its own lines) and the other services' candidates
    (estate/services.py) of the certified workloads, as rows choice.choose reads."""
    got = others.join(certified.select(CHOICE), on="idx").drop("count_right", strict=False)
    return pl.concat([beanstalk.from_ec2_rows(ec2_rows) if not ec2_rows.is_empty() else ec2_rows, got],
                     how="diagonal_relaxed")


def _costed_group(w: pl.DataFrame, g: Grid, rules: list[OptionRules], catalog: Catalog,
                  include_free_tier: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One region and OS (its grid `g`): each workload's cell rows, its allowed options, costed per
    instance (COSTED columns) where the choice can read them (reach.py); and per workload, the lines
    of the region (storage, data transfer out)."""
    region, os = g.region, g.os
    w = g.locate(w).filter((pl.col("i") < g.vcpus.len()) & (pl.col("j") < g.memories.len())).with_row_index("_w")
    pairs = _cell_pairs(g, w)
    # No current-generation type fits: previous-generation ones are offered (ec2._fit).
    unfitted = w.join(pairs.select("idx").unique(), on="idx", how="anti")
    if not unfitted.is_empty():
        pairs = pl.concat([pairs, _cell_pairs(g, unfitted.with_columns(all_gens=pl.lit(True)))])
        w = pl.concat([w.join(unfitted.select("idx"), on="idx", how="anti"), unfitted.with_columns(
            all_gens=pl.lit(True))]).sort("_w")
    # A scratch disk: the types whose instance store holds it, from their own cell (no EBS for them).
    stored = w.filter((pl.col("scratch_gib") > 0) & (pl.col("s_store") < g.stores.len()))
    if not stored.is_empty():
        pairs = pl.concat([pairs, _cell_pairs(g, stored, store=True)])
    pairs = allowed_rows(pairs, g.rows, rules)
    gp3 = regional(catalog, "ebs.gp3_usd_per_gb_month", region).value
    workload = w.select(s_scratch_gib="scratch_gib", _ebs_floor=gp3 * pl.col("scratch_gib"), hours="hours",
                        horizon="horizon",
                        s_sustained_vcpu=pl.col("vcpu") * pl.col("cpu_utilization"),
                        s_public=pl.col("egress_gib_month") > 0, s_tenancy=pl.lit(g.tenancy), count=pl.lit(1))
    # Every type is in the workload's all-types cell (src 0), after its first row, and pays the scratch
    # EBS unless it is in the store cell (src 1), after that one's first; the burstable surplus only adds.
    first = pairs.filter(pl.col("pos") == 1)
    first = pl.concat([first, g.rows.select("purchase_option", "term", "usd_per_hour", "upfront_usd")[first["_r"]],
                       workload[first["_w"]]], how="horizontal")
    bounds = option_bounds(first, "_ebs_floor", catalog, fee_per_row=False)

    def cost(some: pl.DataFrame) -> pl.DataFrame:
        rows = pl.concat([some, g.rows.select(COSTING[2:])[some["_r"]], workload[some["_w"]]], how="horizontal")
        return cost_instance_rows(catalog, rows, region, os)

    rows = cost_reachable(pairs, bounds, cost, pl.col("pos") <= g.depth)
    return rows.select(COSTED), w.select("idx", storage_line=_storage(catalog, region),
                                         egress_line=_egress(catalog, region, include_free_tier, w),
                                         fee_line=_fee(catalog, g.tenancy))


def _cell_pairs(g: Grid, w: pl.DataFrame, *, store: bool = False) -> pl.DataFrame:
    """The workloads' (`idx`, and `_w`: the workload's row) cell rows (the row `_r`, its option `_o`,
    `pos`): of every type (`src` 0), or only of types whose instance store holds the scratch disk
    (`store`, src 1)."""
    w = w.with_columns(s=pl.col("s_store") if store else pl.lit(0, pl.Int64), src=pl.lit(int(store)))
    ids, cells = g.top(w)
    pairs = w.select(*CELL, "_w", "idx", "rules", "src").join(ids, on=CELL).drop(CELL).join(cells, on="_c").drop("_c")
    return pairs.with_columns(_o=g.rows["_o"].gather(pairs["_r"]))  # `_r` is the row's index in the grid


def _certified_frontier(rows: pl.DataFrame, top: int) -> pl.DataFrame:
    """Per workload and option, the rows within a cent of the cheapest (instances.prune), where the
    cells' next rows prove no left-out row comes within the cent; uncertified workloads are dropped.

    A left-out row of the all-types cell (src 0) costs at least the next row's instance cost, plus the
    scratch EBS unless its store holds the disk; those are in the store cell (src 1) or cost at least
    its next row's."""
    seen, after = pl.col("pos") <= top, pl.col("pos") == top + 1
    floor = pl.col("compute_monthly") + pl.col("ipv4_monthly")
    narrow = rows.select("idx", "src", "s_scratch_gib", "monthly_total", "pos",
                         g=pl.col("idx") * OPTIONS + pl.col("_o"), floor=floor, ebs=floor + pl.col("_ebs_floor"))
    per = narrow.group_by("g").agg(  # per workload and option (its rows are of one grid)
        pl.col("idx").first(), low=pl.col("monthly_total").filter(seen).min(),
        any_ebs=pl.col("ebs").filter(after & (pl.col("src") == 0)).min(),
        any_no_ebs=pl.col("floor").filter(after & (pl.col("src") == 0)).min(),
        store=pl.col("floor").filter(after & (pl.col("src") == 1)).min())
    has_store = narrow.group_by("idx").agg(has=(pl.col("src") == 1).any() | (pl.col("s_scratch_gib").first() == 0))
    bound = pl.when(pl.col("has")).then(pl.min_horizontal("any_ebs", "store")).otherwise(
        pl.min_horizontal("any_no_ebs", "store"))
    per = per.join(has_store, on="idx")
    unsure = per.filter(bound.is_not_null() & (bound <= pl.col("low") + 0.01 + SLACK))["idx"].unique()
    low = narrow.select("g").join(per.select("g", "low"), on="g", how="left", maintain_order="left")["low"]
    keep = rows.select(seen & (pl.col("monthly_total") <= low + 0.01) & ~pl.col("idx").is_in(unsure.implode()))
    return rows.filter(keep.to_series()).filter(row_key().is_first_distinct())  # _r: (option, type)


def _storage(catalog: Catalog, region: str) -> pl.Expr:
    """costs.ebs_line for storage_gib on every replica."""
    return storage_expr(regional(catalog, "ebs.gp3_usd_per_gb_month", region).value)


def _egress(catalog: Catalog, region: str, include_free_tier: bool, w: pl.DataFrame) -> pl.Expr:
    """costs.egress_line: the region's cumulative tiers, less the free tier when it is counted."""
    if not w.select((pl.col("egress_gib_month") > 0).any()).item():
        return pl.lit(0.0)
    tiers = regional(catalog, "network.data_transfer_out_tiers", region).value
    return egress_expr({region: tiers}, free_gb(catalog, include_free_tier))


def _fee(catalog: Catalog, tenancy: str) -> pl.Expr:
    """costs.dedicated_fee_line for Dedicated Instances: the per-region fee for the hours they run."""
    if tenancy != "dedicated":
        return pl.lit(0.0)
    return catalog.facts.value("tenancy.dedicated_region_fee_usd_per_hour") * pl.col("hours")


def _scaled(rows: pl.DataFrame) -> pl.DataFrame:
    """Per-instance rows scaled by the instances (the frontier of a group is the same at any count)."""
    return rows.with_columns([(pl.col(c) * pl.col("count")).alias(c) for c in SCALED])


def _lines(rows: pl.DataFrame) -> pl.DataFrame:
    """The candidate's lines, each rounded, in order: compute, scratch EBS, burstable surplus, the load
    balancer (its lines, rounded and summed), storage EBS, data transfer out, public IPv4, the dedicated fee."""
    names = ["compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "lb_usd", "storage_line", "egress_line",
             "ipv4_monthly", "fee_line"]
    rows = rows.with_columns([money_expr(pl.col(n)).alias(f"_m{k}") for k, n in enumerate(names)])
    total = pl.lit(0.0)
    for k in range(len(names)):  # Python's sum: left to right from 0
        total = total + pl.col(f"_m{k}")
    return rows.with_columns(_total=total).with_columns(
        monthly_usd=money_expr(pl.col("_total")), upfront_usd=money_expr(pl.col("upfront_start"))
    ).drop(*[f"_m{k}" for k in range(len(names))], "_total")
