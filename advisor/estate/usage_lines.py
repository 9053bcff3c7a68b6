"""Two lines every candidate of a workload has, whatever runs it, on columns: storage EBS on every
replica (costs.ebs_line) and data transfer out (costs.egress_line), unrounded as those lines are.
The region's facts come in as arguments (one region's, or a column mapped from each row's region),
so the EC2 path (one region at a time) and the node path (many at once) share the rule."""

from __future__ import annotations

import math

import polars as pl

from advisor.catalog.store import Catalog
from advisor.pricing import tier_steps_expr


def storage_expr(gp3: pl.Expr | float) -> pl.Expr:
    """costs.ebs_line for storage_gib on each of `replicas`: gp3 USD per GB-month x GiB x replicas, or 0."""
    return pl.when((pl.col("storage_gib") > 0) & (pl.col("replicas") > 0)).then(
        gp3 * pl.col("storage_gib") * pl.col("replicas")).otherwise(0.0)


def egress_expr(tiers: dict[str, list], free_gb: float) -> pl.Expr:
    """costs.egress_line for egress_gib_month: its row's region's cumulative tiers (`tiers`, by region) over
    what the free tier leaves; null for a region without tiers. The tiers are columns mapped from the
    region, added in `tiered`'s order from 0 (a tier past the quantity, or past a region's last, adds 0.0)."""
    billable = (pl.col("egress_gib_month") - free_gb).clip(lower_bound=0.0)
    region = pl.col("region")
    steps = []
    for k in range(max((len(t) for t in tiers.values()), default=0)):
        lower = {r: 0.0 if k == 0 else float(t[k - 1]["up_to_gb"]) for r, t in tiers.items() if k < len(t)}
        upper = {r: math.inf if t[k]["up_to_gb"] is None else float(t[k]["up_to_gb"])
                 for r, t in tiers.items() if k < len(t)}
        price = {r: float(t[k]["usd_per_gb"]) for r, t in tiers.items() if k < len(t)}
        steps.append((region.replace_strict(lower, default=0.0, return_dtype=pl.Float64),
                      region.replace_strict(upper, default=math.inf, return_dtype=pl.Float64),
                      region.replace_strict(price, default=0.0, return_dtype=pl.Float64)))
    return (pl.when(pl.col("egress_gib_month") <= 0).then(0.0)
            .when(region.is_in(list(tiers))).then(tier_steps_expr(billable, steps)).otherwise(None))


def free_gb(catalog: Catalog, include_free_tier: bool) -> float:
    """The data transfer out free tier, when it is counted (costs.egress_line)."""
    return catalog.facts.value("network.data_transfer_out_free_gb_per_month") if include_free_tier else 0.0
