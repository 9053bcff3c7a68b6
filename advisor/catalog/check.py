"""What `advisor catalog check` reports: price quality counts, every repair, the version and sources."""

from __future__ import annotations

import polars as pl

from advisor.catalog.repair import RULES
from advisor.catalog.store import Catalog

QUALITIES = ("list", "repaired", "imported", "missing")


def quality_counts(catalog: Catalog) -> pl.DataFrame:
    """One row per region and OS: how many prices are list, repaired, imported, missing."""
    counts = (catalog.on_demand.group_by("region", "os", "price_quality").len()
              .pivot(on="price_quality", index=["region", "os"], values="len"))
    for q in QUALITIES:
        if q not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(q))
    return counts.select("region", "os", *QUALITIES).fill_null(0).sort("region", "os")


def rule_counts(catalog: Catalog) -> pl.DataFrame:
    fired = catalog.on_demand.filter(pl.col("repair_rule").is_not_null()).group_by("repair_rule").len()
    return (pl.DataFrame({"repair_rule": list(RULES), "meaning": list(RULES.values())})
            .join(fired, on="repair_rule", how="left").with_columns(pl.col("len").fill_null(0))
            .rename({"len": "prices"}))


def repairs(catalog: Catalog) -> pl.DataFrame:
    """Every price a rule changed or marked missing, with libcloud's own value beside it."""
    return (catalog.on_demand.filter(pl.col("repair_rule").is_not_null())
            .select("instance_type", "region", "os", "libcloud_usd_per_hour", "usd_per_hour", "price_quality",
                    "repair_rule")
            .sort("region", "os", "instance_type"))


def nonpositive_unmarked(catalog: Catalog) -> int:
    """Prices of 0 or below that are not marked missing: must always be 0."""
    return catalog.on_demand.filter(
        (pl.col("price_quality") != "missing") & ~(pl.col("usd_per_hour") > 0)).height


def report(catalog: Catalog) -> dict:
    return {
        "catalog": {"version": catalog.version, "as_of": catalog.as_of},
        "sources": [s.__dict__ for s in catalog.sources],
        "counts": quality_counts(catalog).to_dicts(),
        "rules": rule_counts(catalog).to_dicts(),
        "nonpositive_unmarked": nonpositive_unmarked(catalog),
        "repairs": repairs(catalog).to_dicts(),
    }
