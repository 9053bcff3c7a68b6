"""Every purchase option's rate for one instance type in one region and OS, with its quality.

Imported Price List rows are used where present (`imported`); otherwise rates are derived from
the on-demand price with the ratios in data/facts (`estimate`, and said so). A missing on-demand
price means no rate at all: FactMissing, never a guess.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from advisor.catalog.store import Catalog
from advisor.errors import FactMissing

TERM_HOURS = {"1yr": 8760, "3yr": 26280}
PAYMENTS = ("no_upfront", "partial_upfront", "all_upfront")
CLASSES = ("standard", "convertible")


@dataclass(frozen=True)
class Rate:
    """One way to buy one instance-hour: upfront per unit plus a recurring hourly rate."""

    purchase_option: str
    usd_per_hour: float
    upfront_usd: float = 0.0
    term: str | None = None
    offering_class: str | None = None
    plan_type: str | None = None
    payment: str | None = None
    tenancy: str = "shared"
    quality: str = "list"
    basis: str = ""
    purchasable: bool = True

    @property
    def effective_usd_per_hour(self) -> float:
        """Hourly rate with the upfront spread over the term (the number options compare on)."""
        if self.term is None:
            return self.usd_per_hour
        return self.usd_per_hour + self.upfront_usd / TERM_HOURS[self.term]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["effective_usd_per_hour"] = round(self.effective_usd_per_hour, 6)
        return out


@dataclass(frozen=True)
class OnDemand:
    usd_per_hour: float
    quality: str
    repair_rule: str | None
    source: str
    published: str


def on_demand(catalog: Catalog, instance_type: str, region: str, os: str) -> OnDemand:
    """The shared-tenancy on-demand price, or FactMissing when the catalog has none."""
    rows = catalog.on_demand.filter(
        (pl.col("instance_type") == instance_type) & (pl.col("region") == region) & (pl.col("os") == os))
    if rows.is_empty():
        raise FactMissing(f"{instance_type} is not offered for {os} in {region} (catalog {catalog.version})")
    row = rows.row(0, named=True)
    if row["price_quality"] == "missing" or row["usd_per_hour"] is None:
        raise FactMissing(f"no on-demand price for {instance_type} {os} in {region}: the source lists none")
    return OnDemand(row["usd_per_hour"], row["price_quality"], row["repair_rule"], row["source"], row["published"])


def _imported(catalog: Catalog, instance_type: str, region: str, os: str) -> pl.DataFrame:
    return catalog.imported_prices.filter(
        (pl.col("instance_type") == instance_type) & (pl.col("region") == region) & (pl.col("os") == os))


def ratio_rows(catalog: Catalog, topic_key: str) -> list[dict]:
    return list(catalog.facts.value(topic_key))


def all_rates(catalog: Catalog, instance_type: str, region: str, os: str) -> list[Rate]:
    """On-demand, reserved (12), savings plans, spot, dedicated, capacity reservation, scheduled."""
    od = on_demand(catalog, instance_type, region, os)
    imported = _imported(catalog, instance_type, region, os)
    rates = [Rate("on_demand", od.usd_per_hour, quality=od.quality,
                  basis=od.repair_rule and f"repaired: {od.repair_rule}" or od.source)]
    rates += reserved_rates(catalog, od.usd_per_hour, imported)
    rates += savings_plan_rates(catalog, od.usd_per_hour)
    rates.append(spot_rate(catalog, instance_type, region, os, od.usd_per_hour))
    rates.append(dedicated_rate(catalog, od.usd_per_hour, imported))
    rates.append(Rate("capacity_reservation", od.usd_per_hour, quality=od.quality,
                      basis=catalog.facts.get("capacity_reservations.rate_rule").value))
    rates.append(Rate("scheduled", od.usd_per_hour, quality="documented", purchasable=False,
                      basis=catalog.facts.get("scheduled_instances.aws_statement").value))
    return rates


def reserved_rates(catalog: Catalog, od: float, imported: pl.DataFrame) -> list[Rate]:
    found = {(r["offering_class"], r["term"], r["payment"]): r
             for r in imported.filter((pl.col("purchase_option") == "reserved")
                                      & (pl.col("tenancy") == "shared")).iter_rows(named=True)}
    out = []
    for ratio in ratio_rows(catalog, "reserved.ratios"):
        key = (ratio["offering_class"], ratio["term"], ratio["payment"])
        if key in found:
            row = found[key]
            out.append(Rate("reserved", row["usd_per_hour"], row["upfront_usd"], term=key[1],
                            offering_class=key[0], payment=key[2], quality="imported", basis=row["source"]))
        else:
            out.append(_from_ratio("reserved", od, ratio, offering_class=key[0], basis="reserved.ratios"))
    return out


def savings_plan_rates(catalog: Catalog, od: float) -> list[Rate]:
    return [_from_ratio("savings_plan", od, ratio, plan_type=ratio["plan_type"], basis="savings_plans.ratios")
            for ratio in ratio_rows(catalog, "savings_plans.ratios")]


def _from_ratio(option: str, od: float, ratio: dict, basis: str, **kind: str) -> Rate:
    term = ratio["term"]
    return Rate(option, round(od * ratio["hourly_ratio"], 6),
                round(od * TERM_HOURS[term] * ratio["upfront_ratio"], 2), term=term, payment=ratio["payment"],
                quality="estimate", basis=f"on-demand x {basis} (estimate)", **kind)


def spot_rate(catalog: Catalog, instance_type: str, region: str, os: str, od: float) -> Rate:
    rows = catalog.spot.filter(
        (pl.col("instance_type") == instance_type) & (pl.col("region") == region) & (pl.col("os") == os))
    row = rows.row(0, named=True) if not rows.is_empty() else None
    if row and row["spot_usd_per_hour"] is not None:
        return Rate("spot", row["spot_usd_per_hour"], quality="imported",
                    basis=f"spot price history: {row['source']}")
    if row and row["savings_pct"] is not None:
        return Rate("spot", round(od * (1 - row["savings_pct"] / 100), 6), quality="imported",
                    basis=f"spot advisor savings {row['savings_pct']}%: {row['source']}")
    discount = catalog.facts.value("spot.typical_discount")
    return Rate("spot", round(od * (1 - discount), 6), quality="estimate",
                basis=f"on-demand x (1 - spot.typical_discount {discount}) (estimate)")


def dedicated_rate(catalog: Catalog, od: float, imported: pl.DataFrame) -> Rate:
    rows = imported.filter((pl.col("purchase_option") == "on_demand") & (pl.col("tenancy") == "dedicated"))
    if not rows.is_empty():
        row = rows.row(0, named=True)
        return Rate("on_demand", row["usd_per_hour"], tenancy="dedicated", quality="imported", basis=row["source"])
    premium = catalog.facts.value("tenancy.dedicated_instance_premium")
    return Rate("on_demand", round(od * premium, 6), tenancy="dedicated", quality="estimate",
                basis=f"on-demand x tenancy.dedicated_instance_premium {premium} (estimate); "
                      "plus the per-region dedicated fee")
