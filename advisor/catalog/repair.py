"""Repair libcloud's Linux on-demand prices with AWS's own regularities, and say which rule set each.

The catalog takes one figure from libcloud: each type's Linux price per region, to derive the regional
ratio of the 2026 list price (`ec2_prices`). Those figures are cleaned first; rules, in the order they run:

* `zero_is_missing`: libcloud writes 0.0 where it has no price. 0.0 is *missing*, never free.
* `family_proportional`: within a family (one region), AWS prices non-GPU, non-metal sizes in proportion
  to the normalization size factor. Where at least `MIN_AGREEING` sizes agree on the price per normalized
  unit (within `AGREE_TOL`), a missing size gets that unit price x its factor, and a listed size off by
  more than `OUTLIER_TOL` is replaced (libcloud sometimes picks a non-default SKU).
* `us_region_parity`: us-east-1, us-east-2 and us-west-2 share list prices for nearly every type.
  A type missing in one of them takes the price the others agree on; a listed price above the
  two others, which agree, is replaced.

libcloud's Windows, RHEL and SUSE figures are not used at all (often the licence fee alone, or the Linux
price under another label): those prices are Linux + the licence fee of data/facts/os_licensing.json.
Every row keeps libcloud's own value (`libcloud_usd_per_hour`) for audit.
"""

from __future__ import annotations

import polars as pl

AGREE_TOL = 0.01
OUTLIER_TOL = 0.02
MIN_AGREEING = 2
PARITY_REGIONS = ("us-east-1", "us-east-2", "us-west-2")

RULES = {
    "zero_is_missing": "libcloud lists 0.0: treated as missing, never as free",
    "family_proportional": "price = family's agreed price per normalized unit x normalization size factor",
    "us_region_parity": "us-east-1, us-east-2 and us-west-2 share list prices: the two others agree",
}


def repair(prices: pl.DataFrame, specs: pl.DataFrame) -> pl.DataFrame:
    """Add `usd_per_hour`, `price_quality` (list/repaired/missing) and `repair_rule` to libcloud's Linux prices.

    `prices` has instance_type, region, os, libcloud_usd_per_hour; only Linux rows of types with specs are kept.
    """
    frame = (
        prices.filter(pl.col("os") == "linux")
        .join(specs.select("instance_type", "family", "normalization_factor", "gpus", "bare_metal"),
              on="instance_type", how="inner")
        .with_columns(
            usd_per_hour=pl.when(pl.col("libcloud_usd_per_hour") > 0).then(pl.col("libcloud_usd_per_hour")),
            price_quality=pl.when(pl.col("libcloud_usd_per_hour") > 0).then(pl.lit("list"))
            .otherwise(pl.lit("missing")),
            repair_rule=pl.when(pl.col("libcloud_usd_per_hour") > 0).then(pl.lit(None, pl.String))
            .otherwise(pl.lit("zero_is_missing")),
        )
    )
    linux = _us_region_parity(_family_proportional(frame))
    return linux.drop("family", "normalization_factor", "gpus", "bare_metal").sort("instance_type", "region", "os")


def _family_proportional(frame: pl.DataFrame) -> pl.DataFrame:
    group = ["region", "os", "family"]
    eligible = (
        (pl.col("gpus") == 0) & ~pl.col("bare_metal")
        & pl.col("normalization_factor").is_not_null() & (pl.col("normalization_factor") > 0)
    )
    frame = frame.with_columns(_eligible=eligible).with_columns(
        _unit=pl.when(pl.col("_eligible") & (pl.col("price_quality") == "list"))
        .then(pl.col("usd_per_hour") / pl.col("normalization_factor")))
    consensus = _family_consensus(frame.filter(pl.col("_unit").is_not_null()), group)
    frame = frame.join(consensus, on=group, how="left")
    expected = pl.col("_consensus") * pl.col("normalization_factor")
    off = (pl.col("usd_per_hour") / expected - 1).abs() > OUTLIER_TOL
    fix = (pl.col("_eligible") & pl.col("_consensus").is_not_null()
           & ((pl.col("price_quality") == "missing") | ((pl.col("price_quality") == "list") & off)))
    return _apply(frame, fix, expected.round(6), "family_proportional").drop(
        "_eligible", "_unit", "_consensus")


def _family_consensus(units: pl.DataFrame, group: list[str]) -> pl.DataFrame:
    """Per family: the lowest unit price that at least MIN_AGREEING listed sizes agree on.

    libcloud's wrong values are non-default SKUs priced above the list price (typically +10 %),
    so where two clusters of sizes agree among themselves, the lower one is the list price.
    """
    pairs = (units.select(*group, "instance_type", "_unit")
             .join(units.select(*group, _other=pl.col("_unit")), on=group)
             .filter((pl.col("_other") / pl.col("_unit") - 1).abs() <= AGREE_TOL)
             .group_by(*group, "instance_type", "_unit")
             .agg(_agreeing=pl.len(), _cluster_mean=pl.col("_other").mean()))
    return (pairs.filter(pl.col("_agreeing") >= MIN_AGREEING)
            .sort("_unit")
            .group_by(group, maintain_order=True)
            .agg(_consensus=pl.col("_cluster_mean").first()))


def _us_region_parity(frame: pl.DataFrame) -> pl.DataFrame:
    """Compare each parity region's price with the two others', in a wide (one row per type/os) view."""
    key = ["instance_type", "os"]
    known = frame.filter(pl.col("region").is_in(PARITY_REGIONS) & (pl.col("price_quality") != "missing"))
    wide = known.pivot(on="region", index=key, values="usd_per_hour")
    for region in PARITY_REGIONS:
        if region not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(region))
    verdicts = []
    for region in PARITY_REGIONS:
        a, b = (pl.col(r) for r in PARITY_REGIONS if r != region)
        both = a.is_not_null() & b.is_not_null()
        agree = ((a / b - 1).abs() <= AGREE_TOL)
        # What the other regions say: both agreeing, or the only one present.
        verdict = (pl.when(both & agree).then((a + b) / 2)
                   .when(both).then(None)
                   .otherwise(pl.coalesce(a, b)))
        verdicts.append(wide.select(*key, region=pl.lit(region), _parity=verdict.round(6),
                                    _parity_pair=both & agree))
    parity = pl.concat(verdicts).filter(pl.col("_parity").is_not_null())
    frame = frame.join(parity, on=["instance_type", "os", "region"], how="left")
    missing_fix = (pl.col("price_quality") == "missing") & pl.col("_parity").is_not_null()
    # Only a price above the pair's is replaced: libcloud's defects are SKUs priced above list, so a
    # lower value beside two agreeing higher ones is more likely the list price than the pair.
    outlier_fix = ((pl.col("price_quality") == "list") & pl.col("_parity_pair").fill_null(False)
                   & (pl.col("usd_per_hour") / pl.col("_parity") - 1 > OUTLIER_TOL))
    return _apply(frame, missing_fix | outlier_fix, pl.col("_parity"), "us_region_parity").drop(
        "_parity", "_parity_pair")


def _apply(frame: pl.DataFrame, fix: pl.Expr, value: pl.Expr, rule: str) -> pl.DataFrame:
    return frame.with_columns(
        usd_per_hour=pl.when(fix).then(value).otherwise(pl.col("usd_per_hour")),
        price_quality=pl.when(fix).then(pl.lit("repaired")).otherwise(pl.col("price_quality")),
        repair_rule=pl.when(fix).then(pl.lit(rule)).otherwise(pl.col("repair_rule")),
    )
