"""What `advisor catalog check` reports: price qualities, how each price was made, freshness, version."""

from __future__ import annotations

from datetime import date

import polars as pl

from advisor.catalog.repair import RULES
from advisor.catalog.store import Catalog

QUALITIES = ("list", "derived", "estimate", "imported", "missing")
STALE_AFTER_DAYS = 90
REFRESH_HOWTO = (
    "refresh: download AWS's price files (https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/"
    "current/<region>/index.json, or GetProducts pages) and run `advisor catalog import FILE...` (imported "
    "figures replace the bundled ones type by type); with AWS credentials, the live importer "
    "(`pip install -e '.[aws]'`; see the README); or regenerate data/ec2 from a newer reference with "
    "`python -m advisor.catalog.build_ec2_data DIR`")


def quality_counts(catalog: Catalog) -> pl.DataFrame:
    """One row per region and OS: how many prices are list, derived, estimate, imported, missing."""
    counts = (catalog.on_demand.with_columns(pl.col("price_quality").fill_null("missing"))
              .group_by("region", "os", "price_quality").len()
              .pivot(on="price_quality", index=["region", "os"], values="len"))
    for q in QUALITIES:
        if q not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(q))
    return counts.select("region", "os", *QUALITIES).fill_null(0).sort("region", "os")


def rule_counts(catalog: Catalog) -> pl.DataFrame:
    """How often each libcloud repair rule fired on a figure the catalog used (regional ratios, fallbacks)."""
    fired = catalog.on_demand.filter(pl.col("repair_rule").is_not_null()).group_by("repair_rule").len()
    return (pl.DataFrame({"repair_rule": list(RULES), "meaning": list(RULES.values())})
            .join(fired, on="repair_rule", how="left").with_columns(pl.col("len").fill_null(0))
            .rename({"len": "prices"}))


def derivations(catalog: Catalog) -> pl.DataFrame:
    """Every way a price was made (its basis, with the ratio figures folded away), and how many prices each."""
    kind = pl.col("basis").str.replace_all(r"\d+\.\d+", "R").str.replace_all(
        r"x this type's [a-z0-9-]+ / us-east-1", "x this type's REGION / us-east-1").str.replace_all(
        r"in [a-z]{2}(-gov)?-[a-z]+-\d", "in REGION").str.replace_all(r"x [a-z]{2}(-gov)?-[a-z]+-\d's", "x REGION's")
    return (catalog.on_demand.group_by("price_quality", kind.alias("basis")).len()
            .rename({"len": "prices"}).sort("price_quality", "prices", descending=[False, True]))


def repairs(catalog: Catalog) -> pl.DataFrame:
    """Every price whose libcloud figure a rule changed, with libcloud's own value beside it."""
    return (catalog.on_demand.filter(pl.col("repair_rule").is_not_null())
            .select("instance_type", "region", "os", "libcloud_usd_per_hour", "usd_per_hour", "price_quality",
                    "repair_rule")
            .sort("region", "os", "instance_type"))


def nonpositive_unmarked(catalog: Catalog) -> int:
    """Prices of 0 or below that are not marked missing: must always be 0."""
    return catalog.on_demand.filter(
        (pl.col("price_quality") != "missing") & ~(pl.col("usd_per_hour") > 0)).height


def freshness(catalog: Catalog, today: date | None = None) -> list[dict]:
    """Each source's as-of date and age; a source older than STALE_AFTER_DAYS is flagged with how to refresh."""
    today = today or date.today()
    out = []
    for s in catalog.sources:
        age = (today - date.fromisoformat(s.as_of)).days
        out.append({"name": s.name, "as_of": s.as_of, "age_days": age, "stale": age > STALE_AFTER_DAYS})
    return out


def report(catalog: Catalog, today: date | None = None) -> dict:
    fresh = freshness(catalog, today)
    stale = [f for f in fresh if f["stale"]]
    return {
        "catalog": {"version": catalog.version, "as_of": catalog.as_of},
        "sources": [s.__dict__ for s in catalog.sources],
        "freshness": fresh,
        "stale": bool(stale),
        "advice": (f"{len(stale)} source(s) older than {STALE_AFTER_DAYS} days ("
                   + ", ".join(f"{f['name']}: {f['as_of']}" for f in stale) + "); " + REFRESH_HOWTO) if stale else
        f"every source is at most {STALE_AFTER_DAYS} days old",
        "counts": quality_counts(catalog).to_dicts(),
        "derivations": derivations(catalog).to_dicts(),
        "rules": rule_counts(catalog).to_dicts(),
        "nonpositive_unmarked": nonpositive_unmarked(catalog),
        "repairs": repairs(catalog).to_dicts(),
    }
