"""Every purchase option's rate per instance type, as one table: imported where known, else estimated.

Imported Price List rows are used where present (`imported`); then the Reserved Instance rates AWS
published for their own types (`data/facts/reserved.json` published_rates: us-east-1, Linux, shared
tenancy; `list`); otherwise commitment rates are the on-demand price x the ratios in data/facts
(`estimate`, and said so). A missing on-demand price
means no rate at all: such types never reach this table.

Rates are per instance-hour; a commitment also has an upfront fee per instance per term.
"""

from __future__ import annotations

from collections import OrderedDict

import polars as pl

from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.pricing import TERM_HOURS, divide

RATE_SCHEMA = {
    "instance_type": pl.String, "tenancy": pl.String, "purchase_option": pl.String, "term": pl.String,
    "offering_class": pl.String, "plan_type": pl.String, "payment": pl.String, "usd_per_hour": pl.Float64,
    "upfront_usd": pl.Float64, "quality": pl.String, "basis": pl.String,
}
KEY = ["purchase_option", "term", "offering_class", "plan_type", "payment"]


def payment_code(text: str) -> str:
    """'No Upfront' / 'no_upfront' -> 'no_upfront' (Price List words to contract names)."""
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def commitment_ratios(catalog: Catalog) -> pl.DataFrame:
    """Reserved and savings-plan ratios to on-demand, one row per class/plan, term and payment."""
    rows = []
    for r in catalog.facts.value("reserved.ratios"):
        rows.append({"purchase_option": "reserved", "term": r["term"], "offering_class": r["offering_class"],
                     "plan_type": None, "payment": payment_code(r["payment"]),
                     "hourly_ratio": float(r["hourly_ratio"]), "upfront_ratio": float(r["upfront_ratio"]),
                     "basis": "reserved.ratios"})
    for r in catalog.facts.value("savings_plans.ratios"):
        rows.append({"purchase_option": "savings_plan", "term": r["term"], "offering_class": None,
                     "plan_type": r.get("plan_type", r.get("plan")), "payment": payment_code(r["payment"]),
                     "hourly_ratio": float(r["hourly_ratio"]), "upfront_ratio": float(r["upfront_ratio"]),
                     "basis": "savings_plans.ratios"})
    return pl.DataFrame(rows, schema={"purchase_option": pl.String, "term": pl.String,
                                      "offering_class": pl.String, "plan_type": pl.String, "payment": pl.String,
                                      "hourly_ratio": pl.Float64, "upfront_ratio": pl.Float64, "basis": pl.String})


def priced(catalog: Catalog, types: pl.DataFrame, region: str, os: str, tenancy: str = "shared") -> pl.DataFrame:
    """Rates for `types` (instance_type, usd_per_hour = on-demand, price_quality), every purchase option.

    Shared tenancy: on-demand, 12 reserved, savings plans, spot, capacity reservation. Dedicated:
    the dedicated on-demand rate, the commitments and capacity reservations on it (no spot).
    """
    licence = pl.col("licence_usd_per_hour").fill_null(0.0) if "licence_usd_per_hour" in types.columns else pl.lit(0.0)
    base = types.select("instance_type", od=pl.col("usd_per_hour"), od_quality=pl.col("price_quality"),
                        licence=licence)
    imported = catalog.imported_prices.filter((pl.col("region") == region) & (pl.col("os") == os)
                                              & (pl.col("tenancy") == tenancy))
    if tenancy == "dedicated":
        base = _dedicated_base(catalog, base, imported)
    elif region == PUBLISHED_REGION and os == PUBLISHED_OS:
        # The published rates are for an instance at its own on-demand price: a frame that prices something else
        # under the type's name (a Dedicated Host of the family) never takes them.
        own = published_reserved(catalog).join(base.select("instance_type", "od"), on="instance_type")
        own = own.filter((pl.col("od") - pl.col("on_demand_usd_per_hour")).abs() < 1e-9).drop("od")
        imported = pl.concat([imported, own.drop("on_demand_usd_per_hour").join(
            imported.select("instance_type", "purchase_option", "term", "offering_class", "payment"),
            on=["instance_type", "purchase_option", "term", "offering_class", "payment"], how="anti")],
            how="diagonal_relaxed")
    parts = [
        base.select("instance_type", purchase_option=pl.lit("on_demand"), usd_per_hour=pl.col("od"),
                    upfront_usd=pl.lit(0.0), quality=pl.col("od_quality"), basis=pl.col("od_basis")
                    if "od_basis" in base.columns else pl.lit("on-demand price")),
        _commitments(catalog, base, imported),
    ]
    if tenancy == "shared":
        parts.append(_spot(catalog, base, region, os))
    if tenancy in ("shared", "dedicated"):
        parts.append(base.select("instance_type", purchase_option=pl.lit("capacity_reservation"),
                                 usd_per_hour=pl.col("od"), upfront_usd=pl.lit(0.0), quality=pl.col("od_quality"),
                                 basis=pl.lit("capacity_reservations.rate_rule: on-demand rate, used or not")))
    out = pl.concat(parts, how="diagonal_relaxed").with_columns(tenancy=pl.lit(tenancy))
    out = out.select(list(RATE_SCHEMA)).cast(RATE_SCHEMA).sort("instance_type", *KEY, nulls_last=True)
    return out.with_columns(option_id=option_id())


PUBLISHED_REGION, PUBLISHED_OS = "us-east-1", "linux"


def published_reserved(catalog: Catalog) -> pl.DataFrame:
    """The Reserved Instance rates AWS published for their own types (reserved.published_rates), as
    rate rows: an imported file for the same offer wins over them."""
    rows = [{"instance_type": r["instance_type"], "purchase_option": "reserved", "term": r["term"],
             "offering_class": r["class"], "payment": payment_code(r["payment"]),
             "usd_per_hour": float(r["usd_per_hour"]), "upfront_usd": float(r["upfront_usd"]),
             "on_demand_usd_per_hour": float(r["on_demand_usd_per_hour"]),
             "source": f"published RI rate: {r['source']}"}
            for r in catalog.facts.value("reserved.published_rates")]
    return pl.DataFrame(rows, schema={"instance_type": pl.String, "purchase_option": pl.String, "term": pl.String,
                                      "offering_class": pl.String, "payment": pl.String, "usd_per_hour": pl.Float64,
                                      "upfront_usd": pl.Float64, "on_demand_usd_per_hour": pl.Float64,
                                      "source": pl.String})


def option_id() -> pl.Expr:
    """One text key per purchase-option group (option, term, class, plan, payment, tenancy)."""
    return pl.concat_str([pl.col(c).fill_null("-") for c in [*KEY, "tenancy"]], separator="|")


_TABLES: OrderedDict[tuple[str, str, str, str], pl.DataFrame] = OrderedDict()
_TABLES_MAX = 64  # ~3.8 MB each. 24 saved ~90 MB a batch worker on one chunk, but rebuilt every table
# each further chunk and in the per-shape phase: a 300k file 59.4 s against 57.6-58.6 s with 64


def rate_table(catalog: Catalog, region: str, os: str, tenancy: str) -> pl.DataFrame:
    """`priced` for every type with an on-demand price in the region, cached per catalog version."""
    key = (catalog.version, region, os, tenancy)
    if key not in _TABLES:
        types = catalog.on_demand.filter((pl.col("region") == region) & (pl.col("os") == os)
                                         & pl.col("usd_per_hour").is_not_null())
        _TABLES[key] = priced(catalog, types, region, os, tenancy)
        while len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    _TABLES.move_to_end(key)
    return _TABLES[key]


def _dedicated_base(catalog: Catalog, base: pl.DataFrame, imported: pl.DataFrame) -> pl.DataFrame:
    premium = float(catalog.facts.value("tenancy.dedicated_instance_premium"))
    known = imported.filter(pl.col("purchase_option") == "on_demand").select(
        "instance_type", _imp=pl.col("usd_per_hour"), _src=pl.col("source"))
    return (base.join(known, on="instance_type", how="left").with_columns(
        od=pl.coalesce("_imp", ((pl.col("od") - pl.col("licence")) * premium + pl.col("licence")).round(6)),
        od_quality=pl.when(pl.col("_imp").is_not_null()).then(pl.lit("imported")).otherwise(pl.lit("estimate")),
        od_basis=pl.when(pl.col("_imp").is_not_null()).then(pl.col("_src"))
        .otherwise(pl.lit(f"compute part of shared on-demand x tenancy.dedicated_instance_premium {premium} + any "
                          "OS licence fee (estimate)")),
    ).drop("_imp", "_src"))


def _commitments(catalog: Catalog, base: pl.DataFrame, imported: pl.DataFrame) -> pl.DataFrame:
    ratios = commitment_ratios(catalog)
    # A licence-included OS fee is not discounted by a commitment: the ratios apply to the compute part,
    # the fee is paid on top every hour (a Windows RI costs the Linux RI + the licence).
    compute = pl.col("od") - pl.col("licence")
    est = base.join(ratios, how="cross").with_columns(
        usd_per_hour=(compute * pl.col("hourly_ratio") + pl.col("licence")).round(6),
        upfront_usd=(compute * pl.col("term").replace_strict(TERM_HOURS, return_dtype=pl.Float64)
                     * pl.col("upfront_ratio")).round(2),
        quality=pl.lit("estimate"),
        basis=pl.lit("on-demand x ") + pl.col("basis") + pl.lit(" (estimate)"),
    )
    reserved = imported.filter(pl.col("purchase_option") == "reserved").select(
        "instance_type", "term", "offering_class", "payment", _imp_hourly=pl.col("usd_per_hour"),
        _imp_upfront=pl.col("upfront_usd"), _imp_source=pl.col("source"))
    joined = est.join(reserved, on=["instance_type", "term", "offering_class", "payment"], how="left")
    has = pl.col("_imp_hourly").is_not_null()
    return joined.with_columns(
        usd_per_hour=pl.when(has).then(pl.col("_imp_hourly")).otherwise(pl.col("usd_per_hour")),
        upfront_usd=pl.when(has).then(pl.col("_imp_upfront")).otherwise(pl.col("upfront_usd")),
        quality=pl.when(has & pl.col("_imp_source").str.starts_with("published RI rate")).then(pl.lit("list"))
        .when(has).then(pl.lit("imported")).otherwise(pl.col("quality")),
        basis=pl.when(has).then(pl.col("_imp_source")).otherwise(pl.col("basis")),
    ).select("instance_type", *KEY, "usd_per_hour", "upfront_usd", "quality", "basis")


def _spot(catalog: Catalog, base: pl.DataFrame, region: str, os: str) -> pl.DataFrame:
    discount = float(catalog.facts.value("spot.typical_discount"))
    spot = catalog.spot.filter((pl.col("region") == region) & (pl.col("os") == os))
    joined = base.join(spot.select("instance_type", "spot_usd_per_hour", "savings_pct", "source"),
                       on="instance_type", how="left")
    from_history = pl.col("spot_usd_per_hour").is_not_null()
    from_advisor = pl.col("savings_pct").is_not_null()
    return joined.select(
        "instance_type", purchase_option=pl.lit("spot"),
        usd_per_hour=pl.when(from_history).then(pl.col("spot_usd_per_hour"))
        .when(from_advisor).then((pl.col("od") * (1 - pl.col("savings_pct") / 100)).round(6))
        .otherwise(((pl.col("od") - pl.col("licence")) * (1 - discount) + pl.col("licence")).round(6)),
        upfront_usd=pl.lit(0.0),
        quality=pl.when(from_history | from_advisor).then(pl.lit("imported")).otherwise(pl.lit("estimate")),
        basis=pl.when(from_history).then(pl.lit("spot price history: ") + pl.col("source"))
        .when(from_advisor).then(pl.lit("spot advisor savings: ") + pl.col("source"))
        .otherwise(pl.lit(f"compute part of on-demand x (1 - spot.typical_discount {discount}) + any OS licence "
                          "fee (estimate)")),
    )


def interruption(catalog: Catalog, region: str, os: str) -> pl.DataFrame:
    """Spot interruption bucket per type: imported Spot Advisor data, else the labelled default."""
    return catalog.spot.filter((pl.col("region") == region) & (pl.col("os") == os)
                               & pl.col("interruption_label").is_not_null()).select(
        "instance_type", "interruption_label")


def default_interruption(catalog: Catalog) -> str:
    return f"{catalog.facts.value('spot.default_interruption_bucket')} (estimate)"


def all_rates(catalog: Catalog, instance_type: str, region: str, os: str) -> list[dict]:
    """Every rate for one type, shared and dedicated, plus Scheduled Instances (never purchasable)."""
    types = catalog.on_demand.filter((pl.col("instance_type") == instance_type) & (pl.col("region") == region)
                                     & (pl.col("os") == os) & pl.col("usd_per_hour").is_not_null())
    if types.is_empty():
        raise FactMissing(f"no on-demand price for {instance_type} {os} in {region}")
    frame = pl.concat([priced(catalog, types, region, os, "shared"), priced(catalog, types, region, os, "dedicated")])
    rows = frame.with_columns(
        effective_usd_per_hour=(pl.col("usd_per_hour") + divide(pl.col("upfront_usd"), pl.col("term").replace_strict(
            TERM_HOURS, default=None, return_dtype=pl.Float64))).fill_null(pl.col("usd_per_hour")).round(6),
        purchasable=pl.lit(True)).drop("instance_type").to_dicts()
    rows.append({"tenancy": "shared", "purchase_option": "scheduled", "usd_per_hour": None, "upfront_usd": None,
                 "quality": "documented", "purchasable": False,
                 "basis": catalog.facts.value("scheduled_instances.aws_statement")})
    return rows
