"""How close the catalog's us-east-1 Linux on-demand prices are to AWS's published ones.

Compares against bench/reference/us_east_1_linux_on_demand.csv (published prices from sources other
than libcloud; see bench/reference/README.md), for the raw libcloud values (the baseline) and for the
repaired catalog, and prints the share of types within 2 % of the published price.

Run: python bench/catalog_accuracy.py [--show-misses]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from advisor.catalog.store import load_catalog

REFERENCE = Path(__file__).parent / "reference" / "us_east_1_linux_on_demand.csv"
TOLERANCE = 0.02


def compare(reference: pl.DataFrame, prices: pl.DataFrame, column: str) -> pl.DataFrame:
    return (reference.join(prices, on="instance_type", how="inner")
            .with_columns(ratio=pl.col(column) / pl.col("published"))
            .with_columns(within=(pl.col("ratio") - 1).abs() <= TOLERANCE))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    catalog = load_catalog()
    reference = pl.read_csv(REFERENCE).select("instance_type", published=pl.col("usd_per_hour"))
    ours = catalog.on_demand.filter((pl.col("region") == "us-east-1") & (pl.col("os") == "linux"))
    sample = reference.join(ours.select("instance_type"), on="instance_type", how="inner")
    print(f"catalog {catalog.version}; reference: {reference.height} published prices, "
          f"{sample.height} of them for types the catalog knows")
    raw = compare(sample, ours.select("instance_type", "libcloud_usd_per_hour"), "libcloud_usd_per_hour")
    raw_ok = raw.filter(pl.col("within")).height
    print(f"libcloud as shipped (0.0 counted as a miss): {raw_ok}/{sample.height} within 2% "
          f"= {raw_ok / sample.height:.1%}")
    fixed = compare(sample, ours.select("instance_type", "usd_per_hour", "price_quality", "repair_rule"),
                    "usd_per_hour")
    priced = fixed.filter(pl.col("usd_per_hour").is_not_null())
    ok = fixed.filter(pl.col("within")).height
    print(f"catalog (repaired): {ok}/{sample.height} within 2% = {ok / sample.height:.1%}; "
          f"{sample.height - priced.height} left missing (never used); "
          f"of the priced ones {ok}/{priced.height} = {ok / max(priced.height, 1):.1%}")
    by_quality = (fixed.filter(pl.col("usd_per_hour").is_not_null())
                  .group_by("price_quality", "repair_rule")
                  .agg(n=pl.len(), within=pl.col("within").sum()).sort("price_quality", "repair_rule"))
    print(by_quality)
    if args.show_misses:
        with pl.Config(tbl_rows=200):
            print(fixed.filter(~pl.col("within").fill_null(False) & pl.col("usd_per_hour").is_not_null())
                  .sort("ratio"))


if __name__ == "__main__":
    main()
