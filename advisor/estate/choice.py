"""The choice over many workloads' candidate rows: what optimize.choose picks for each, its alternative and
its baseline, as a group-wise first-in-order (the one-workload choice is separable: a workload's caps
filter only its own candidates, so no solver is needed).

`leading` keeps, per workload and service, only the rows that choice can read, so the sort over all
candidates sees a few per service rather than one per purchase option and type within the cent.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from advisor.batch_io import no_placement
from advisor.candidates.base import OPS_RANK, PURCHASE_RANK
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.estate.priced import COLUMNS
from advisor.optimize.choose import OPS_WEIGHTS
from advisor.pricing import cents_expr, money_expr

BASELINE_OPTIONS = ["on_demand", "capacity_reservation"]  # the options recommend._baseline reads


def leading(rows: pl.DataFrame, also: Iterable[str] = ()) -> pl.DataFrame:
    """Per workload and service, the rows `choose` can read: within one service the ops weight is one
    number, so the choice's order there is the cost's, then Candidate.sort_key's; the cap keeps a prefix
    of it. The choice is that service's first row within the cap, the alternative another service's
    first or the chosen service's second: both among the rows costing no more than the service's second
    cheapest (ties kept). The baseline is the first on-demand or capacity-reservation row (a Dedicated
    Host's on-demand one): among the cheapest of its option and tenancy. Only the candidate's columns
    (priced.COLUMNS) and `also` are kept: the rest is the costing's, which the choice does not read."""
    cost, group = pl.col("monthly_usd"), ["idx", "service"]
    near = cost.rank("min").over(group) <= 2
    base = pl.col("purchase_option").is_in(BASELINE_OPTIONS) & (
        cost == cost.min().over([*group, "purchase_option", "tenancy"]))
    return rows.select(list(dict.fromkeys(c for c in (*COLUMNS, *also) if c in rows.columns))).filter(near | base)


def choose(rows: pl.DataFrame, catalog: Catalog, risk: pl.DataFrame) -> pl.DataFrame:
    """Per workload: the choice of optimize.choose (least cents x the ops weight of the candidate's
    ops effort, each row's `ops_effort`, then Candidate.sort_key) within the monthly cap; the
    alternative the batch row shows (explain.alternatives' first of another service, else its first);
    the baseline (recommend._baseline: the first EC2 on-demand candidate, or capacity reservation, as
    ec2.baseline; where plain EC2 does not serve the workload, the first of any service but Lambda)."""
    effort = pl.col("ops_effort")  # each row's, as its generator sets it
    order = ["idx", "monthly_usd", "_shape", "_ops_rank", "service", "_purchase_rank", "unit_size", "instance_type",
             *[pl.col(c).fill_null("") for c in ("term", "offering_class", "plan_type", "payment", "tenancy")]]
    weights = {f"{ops}/{e}": w for ops, by in OPS_WEIGHTS.items() for e, w in by.items()}
    rows = rows.with_columns(_purchase_rank=pl.col("purchase_option").replace_strict(PURCHASE_RANK, default=9),
                             _ops_rank=effort.replace_strict(OPS_RANK), _shape=pl.lit(1),
                             _weight=pl.concat_str("ops", effort, separator="/").replace_strict(weights)
                             ).sort(order).with_columns(_k=pl.int_range(pl.len()))
    within = pl.col("max_monthly_usd").is_null() | (cents_expr(pl.col("monthly_usd"))
                                                    <= cents_expr(pl.col("max_monthly_usd")))
    feasible = rows.filter(within)
    chosen = (feasible.sort("idx", cents_expr(pl.col("monthly_usd")) * pl.col("_weight"), "_k")
              .group_by("idx", maintain_order=True).first())
    others = feasible.join(chosen.select("idx", _chosen_k="_k", _chosen_service="service"), on="idx").filter(
        pl.col("_k") != pl.col("_chosen_k")).sort("_k")
    alternative = (others.group_by("idx", maintain_order=True)
                   .agg(pl.col("service", "monthly_usd").filter(pl.col("service") != pl.col("_chosen_service"))
                        .first().name.prefix("_o"), pl.col("service", "monthly_usd").first().name.prefix("_f"))
                   .select("idx", alternative_service=pl.coalesce("_oservice", "_fservice"),
                           alternative_monthly_usd=pl.when(pl.col("_oservice").is_not_null())
                           .then(pl.col("_omonthly_usd")).otherwise(pl.col("_fmonthly_usd"))))
    plain = pl.when(pl.col("capacity_guarantee")).then(pl.lit("capacity_reservation")).otherwise(pl.lit("on_demand"))
    # recommend._baseline: EC2's where it serves the workload, else the first of any service but Lambda.
    # A Dedicated Host is in the baseline on-demand, capacity reservations or not (ec2.baseline).
    host_od = (pl.col("tenancy") == "host") & (pl.col("purchase_option") == "on_demand")
    base = (rows.filter(((pl.col("service") == "ec2") | ~pl.col("ec2"))
                        & ((pl.col("purchase_option") == plain) | host_od) & (pl.col("service") != "lambda"))
            .group_by("idx", maintain_order=True).first().select("idx", baseline_monthly_usd="monthly_usd"))
    risk = risk.rename({"interruption_label": "_label"})
    default_risk = rates.default_interruption(catalog)
    out = (chosen.join(base, on="idx", how="left").join(alternative, on="idx", how="left")
           .join(risk, on=["region", "os", "instance_type"], how="left"))
    spot_risk = pl.when(pl.col("_label").is_null() | (pl.col("_label") == "")).then(pl.lit(default_risk)).otherwise(
        pl.col("_label"))
    answered = out.select(
        "idx", status=pl.lit("ok"), error=pl.lit(None, pl.String), service="service",
        instance_type="instance_type", count="count", purchase_option="purchase_option", term="term",
        payment="payment", tenancy="tenancy", monthly_usd="monthly_usd", upfront_usd="upfront_usd",
        baseline_monthly_usd="baseline_monthly_usd",
        savings_usd=pl.when(pl.col("baseline_monthly_usd").is_not_null()).then(
            money_expr(pl.col("baseline_monthly_usd") - pl.col("monthly_usd"))),
        interruption_risk=pl.coalesce(*[pl.col(c) for c in ("interruption_risk",) if c in out.columns],
                                      pl.when(pl.col("purchase_option") == "spot").then(spot_risk)
                                      .otherwise(pl.lit("none"))),
        alternative_service="alternative_service", alternative_monthly_usd="alternative_monthly_usd",
        catalog_version=pl.lit(catalog.version),
    )
    # Every candidate over the monthly cap: recommend() has no choice, and every option group's cap
    # rejection is over_budget (a cent-exact cost over the cap's cents is over the cap).
    over = (rows.select("idx").unique(maintain_order=True).join(chosen, on="idx", how="anti")
            .join(base, on="idx", how="left")
            .select("idx", status=pl.lit("error"), error=pl.lit(no_placement(["over_budget"])),
                    baseline_monthly_usd="baseline_monthly_usd", catalog_version=pl.lit(catalog.version)))
    return pl.concat([answered, over], how="diagonal_relaxed").sort("idx")
