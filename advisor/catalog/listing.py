"""Instance-type records for `catalog list` and `catalog show`."""

from __future__ import annotations

import polars as pl

from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing

LIST_COLUMNS = ["instance_type", "vcpu", "memory_gib", "gpus", "gpu_model", "arch", "on_demand_usd_per_hour",
                "price_quality", "repair_rule", "burstable", "baseline_cpu_share", "instance_store_gib",
                "network_gbps", "normalization_factor", "current_generation", "price_basis"]


def instances(catalog: Catalog, region: str, os: str = "linux") -> pl.DataFrame:
    """Every instance type offered in `region` for `os`, with specs and its on-demand price (or null)."""
    prices = catalog.on_demand.filter((pl.col("region") == region) & (pl.col("os") == os))
    if prices.is_empty():
        known = ", ".join(catalog.regions())
        raise FactMissing(f"no prices for {os} in region {region!r}; known regions: {known}")
    return (catalog.specs.join(prices.select("instance_type", "usd_per_hour", "price_quality", "repair_rule",
                                             "basis", "source", "published"), on="instance_type", how="inner")
            .rename({"usd_per_hour": "on_demand_usd_per_hour", "basis": "price_basis"})
            .sort("instance_type"))


def record(catalog: Catalog, instance_type: str, region: str, os: str = "linux") -> dict:
    """The whole record of one type: specs, on-demand price and quality, every purchase option's rate."""
    specs = catalog.specs.filter(pl.col("instance_type") == instance_type)
    if specs.is_empty():
        raise FactMissing(f"unknown instance type {instance_type!r}")
    out = specs.row(0, named=True)
    out.pop("size_rank", None)
    row = instances(catalog, region, os).filter(pl.col("instance_type") == instance_type)
    if row.is_empty():
        raise FactMissing(f"{instance_type} is not offered for {os} in {region}")
    price = row.row(0, named=True)
    out.update(region=region, os=os, on_demand_usd_per_hour=price["on_demand_usd_per_hour"],
               price_quality=price["price_quality"], repair_rule=price["repair_rule"], price_basis=price["price_basis"],
               price_source=price["source"], price_published=price["published"])
    try:
        out["rates"] = rates.all_rates(catalog, instance_type, region, os)
    except FactMissing as exc:
        out["rates"] = []
        out["rates_missing"] = str(exc)
    out["catalog"] = {"version": catalog.version, "as_of": catalog.as_of}
    return out
