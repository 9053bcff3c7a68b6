"""Lightsail candidates for many workloads at once: the bundle table joined to the workloads.

The rules are lightsail.py's, over columns: a bundle of the workload's OS fits one replica when its
vCPU, memory and SSD (storage_gib + scratch_gib) are no smaller and its published CPU baseline
(`lightsail.baseline`, None: cannot be shown to carry the load) sustains vcpu x cpu_utilization. The
cost is replicas x the bundle's monthly price, plus the transfer overage (egress above replicas x the
allowance, 1 TB = 1,024 GB, at the region's `regional` overage price), each line rounded to the cent
and summed as Candidate.monthly_usd sums them. Of the fitting bundles the generator keeps the
cheapest of each kind (`lightsail.useful`, in (monthly, vCPU, id) order); so does this.
A region without an overage price (FactMissing) or an OS without bundles yields no candidate, as the
generator yields only a rejection there.
"""

from __future__ import annotations

import polars as pl

from advisor.candidates import lightsail
from advisor.candidates.regional import regional
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.pricing import money_expr

BUNDLE_SCHEMA = {"b_id": pl.String, "b_os": pl.String, "b_kind": pl.String, "b_price": pl.Float64,
                 "b_vcpu": pl.Float64, "b_memory_gib": pl.Float64, "b_ssd_gib": pl.Float64,
                 "b_allowance_gb": pl.Float64, "b_baseline": pl.Float64}


def bundle_frame(catalog: Catalog) -> pl.DataFrame:
    """Every bundle of the facts, with the baseline share lightsail.baseline gives it."""
    rows = [(b["id"], b["os"], b["kind"], float(b["usd_per_month_ipv4"]), float(b["vcpu"]), float(b["memory_gib"]),
             float(b["ssd_gib"]), float(b["transfer_tib"]) * lightsail.GB_PER_TB, lightsail.baseline(b))
            for b in catalog.facts.value("lightsail.bundles")]
    return pl.DataFrame(rows, schema=BUNDLE_SCHEMA, orient="row")


def candidates(workloads: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Per workload (columns idx, region, os, vcpu, memory_gib, storage_gib, scratch_gib, cpu_utilization,
    replicas, egress_gib_month): the kept Lightsail candidates, with `instance_type` (the bundle id),
    `unit_size` (its vCPU) and `monthly_usd`."""
    rates = {}
    for region in workloads["region"].unique().to_list():
        try:
            rates[region] = regional(catalog, "lightsail.overage_usd_per_gb", region).value
        except FactMissing:
            continue  # no candidate in that region (the generator's price_missing rejection)
    w = workloads.filter(pl.col("region").is_in(list(rates)))
    if w.is_empty():
        return pl.DataFrame()
    sustained = pl.col("vcpu") * pl.col("cpu_utilization")
    fit = (w.join(bundle_frame(catalog), left_on="os", right_on="b_os", how="inner")
           .filter((pl.col("b_vcpu") >= pl.col("vcpu")) & (pl.col("b_memory_gib") >= pl.col("memory_gib"))
                   & (pl.col("b_ssd_gib") >= pl.col("storage_gib") + pl.col("scratch_gib"))
                   & pl.col("b_baseline").is_not_null()
                   & (sustained <= pl.col("b_baseline") * pl.col("b_vcpu") + 1e-9)))
    rate = pl.col("region").replace_strict(rates, return_dtype=pl.Float64)
    over = (pl.col("egress_gib_month") - pl.col("b_allowance_gb") * pl.col("replicas")).clip(lower_bound=0.0)
    # Each rounding in its own step: money_expr repeats its argument, so nesting it repeats the whole
    # expression (seconds per thousand workloads).
    priced = fit.with_columns(_bundles=money_expr(pl.col("b_price") * pl.col("replicas")),
                              _overage=money_expr(pl.when(over > 0).then(over * rate).otherwise(0.0))
                              ).with_columns(monthly_usd=money_expr(pl.col("_bundles") + pl.col("_overage"))).sort(
        "idx", "monthly_usd", "b_vcpu", "b_id")
    return (priced.unique(["idx", "b_kind"], keep="first", maintain_order=True)
            .select("idx", instance_type="b_id", unit_size="b_vcpu", monthly_usd="monthly_usd"))
