"""On-demand prices for every (type, region, OS): published where we have it, derived by rule elsewhere.

Qualities, as every answer shows them:

* `list`: AWS's published figure as it stands in a source: us-east-1 Linux from the bundled Price List
  table (`data/ec2/`); libcloud's regional value for a type the bundled table does not price.
* `derived`: computed by a documented rule from list figures: another region's Linux price is the
  us-east-1 list price x that type's own regional ratio in AWS's price list (libcloud's data, both sides
  published); a Windows, RHEL or SUSE price is the Linux price + the OS licence fee of
  `data/facts/os_licensing.json`.
* `estimate`: the rule needed a figure that is itself an estimate (a regional ratio of the family or
  region, a repaired libcloud value, a burstable Windows fee not read from a published row).
* `missing`: no source prices it; never 0.

A type is offered in a region other than us-east-1 only where AWS's price list (libcloud) lists it
there; types newer than that list are priced in us-east-1 only. Every row keeps libcloud's own value
(`libcloud_usd_per_hour`) and the rule it went through (`basis`).
"""

from __future__ import annotations

import polars as pl

from advisor.catalog import ec2_source, manifest, repair
from advisor.catalog.facts import FactBook

ANCHOR = "us-east-1"
LIST_PATH = manifest.DATA_DIR / "ec2" / "us_east_1_linux_on_demand.csv"
LICENSED_OS = ("windows", "rhel", "suse")

SCHEMA = {
    "instance_type": pl.String, "region": pl.String, "os": pl.String, "usd_per_hour": pl.Float64,
    "licence_usd_per_hour": pl.Float64, "price_quality": pl.String, "basis": pl.String, "repair_rule": pl.String,
    "libcloud_usd_per_hour": pl.Float64, "source": pl.String, "published": pl.String,
}


def load_list() -> pl.DataFrame:
    return pl.read_csv(LIST_PATH, schema={"instance_type": pl.String, "usd_per_hour": pl.Float64})


def build(specs: pl.DataFrame, facts: FactBook, list_as_of: str) -> pl.DataFrame:
    """The on-demand table: Linux in every region, then the licensed OSes on top of it."""
    libcloud = repair.repair(ec2_source.load_on_demand(), specs)
    linux = linux_prices(load_list(), libcloud, specs, list_as_of)
    licensed = pl.concat([licensed_prices(linux, specs, facts, os) for os in LICENSED_OS])
    audit = libcloud.select("instance_type", "region", "os", "libcloud_usd_per_hour", _lc_rule=pl.col("repair_rule"))
    out = (pl.concat([linux.with_columns(licence_usd_per_hour=pl.lit(0.0)), licensed], how="diagonal_relaxed")
           .drop("libcloud_usd_per_hour", strict=False))
    out = (out.join(audit, on=["instance_type", "region", "os"], how="left")
           .with_columns(repair_rule=pl.coalesce("repair_rule", "_lc_rule")).drop("_lc_rule"))
    return out.select(list(SCHEMA)).cast(SCHEMA).sort("instance_type", "region", "os")


def _libcloud_source() -> str:
    return f"apache-libcloud {ec2_source.libcloud_version()} pricing.json (AWS price list)"


def shared_metal(listed: pl.DataFrame, specs: pl.DataFrame) -> pl.DataFrame:
    """The list with bare-metal sizes at their shared-tenancy price.

    The bundled table takes bare-metal prices from the Dedicated-tenancy rows (its generator queries them
    that way), up to ~10 % above the shared price for some. AWS prices a metal size like the virtualized
    size of the same family with the same vCPUs (m7i.metal-24xl = m7i.24xlarge, checked on SkyPilot's
    shared prices), so that price is used where the sibling exists (`derived`); a metal size without one
    keeps the table's figure, labelled an estimate.
    """
    sized = listed.join(specs.select("instance_type", "family", "vcpu", "bare_metal"), on="instance_type", how="left")
    siblings = (sized.filter(~pl.col("bare_metal").fill_null(False))
                .group_by("family", "vcpu").agg(_sibling=pl.col("usd_per_hour").min(),
                                                _sibling_type=pl.col("instance_type").min()))
    metal = pl.col("bare_metal").fill_null(False)
    has = pl.col("_sibling").is_not_null()
    return (sized.join(siblings, on=["family", "vcpu"], how="left").with_columns(
        usd_per_hour=pl.when(metal & has).then(pl.col("_sibling")).otherwise(pl.col("usd_per_hour")),
        price_quality=pl.when(metal & has).then(pl.lit("derived")).when(metal).then(pl.lit("estimate"))
        .otherwise(pl.lit("list")),
        basis=pl.when(metal & has).then(pl.format("bare metal priced as {} (same family and vCPUs); the list's "
                                                  "metal figure is the Dedicated-tenancy price", "_sibling_type"))
        .when(metal).then(pl.lit("published figure for bare metal, taken from Dedicated-tenancy rows: the shared "
                                 "price may be up to ~10 % lower (estimate)"))
        .otherwise(pl.lit("published us-east-1 Linux on-demand price")))
        .select("instance_type", "usd_per_hour", "price_quality", "basis"))


def linux_prices(listed: pl.DataFrame, libcloud: pl.DataFrame, specs: pl.DataFrame, list_as_of: str) -> pl.DataFrame:
    """Linux: us-east-1 from the list; other regions = list x the type's regional ratio in libcloud."""
    listed = shared_metal(listed, specs)
    anchor = listed.select("instance_type", "usd_per_hour", "price_quality", "basis", region=pl.lit(ANCHOR),
                           os=pl.lit("linux"), repair_rule=pl.lit(None, pl.String),
                           source=pl.lit("AWS Price List (data/ec2)"), published=pl.lit(list_as_of))
    lc = libcloud.filter((pl.col("os") == "linux") & pl.col("usd_per_hour").is_not_null())
    lc_anchor = lc.filter(pl.col("region") == ANCHOR).select("instance_type", _lc_anchor="usd_per_hour",
                                                              _anchor_q="price_quality")
    other = (lc.filter(pl.col("region") != ANCHOR)
             .join(specs.select("instance_type", "family"), on="instance_type", how="left")
             .join(lc_anchor, on="instance_type", how="left")
             .with_columns(_ratio=pl.col("usd_per_hour") / pl.col("_lc_anchor")))
    family_ratio = (other.filter(pl.col("_ratio").is_not_null()).group_by("region", "family")
                    .agg(_family_ratio=pl.col("_ratio").median()))
    region_ratio = other.filter(pl.col("_ratio").is_not_null()).group_by("region").agg(
        _region_ratio=pl.col("_ratio").median())
    joined = (other.join(family_ratio, on=["region", "family"], how="left").join(region_ratio, on="region", how="left")
              .join(listed.select("instance_type", _list="usd_per_hour"), on="instance_type", how="left"))
    own = pl.col("_ratio").is_not_null()
    both_list = (pl.col("price_quality") == "list") & (pl.col("_anchor_q") == "list")
    ratio = pl.coalesce("_ratio", "_family_ratio", "_region_ratio")
    derived = joined.filter(pl.col("_list").is_not_null()).with_columns(
        usd_per_hour=(pl.col("_list") * ratio).round(6),
        price_quality=pl.when(own & both_list).then(pl.lit("derived")).otherwise(pl.lit("estimate")),
        basis=pl.when(own).then(pl.format("us-east-1 list price x this type's {} / us-east-1 ratio {} in the price "
                                          "list", "region", ratio.round(4)))
        .when(pl.col("_family_ratio").is_not_null())
        .then(pl.format("us-east-1 list price x the {} family's median ratio {} in {} (estimate)", "family",
                        ratio.round(4), "region"))
        .otherwise(pl.format("us-east-1 list price x {}'s median EC2 ratio {} (estimate)", "region", ratio.round(4))),
        source=pl.lit("AWS Price List (data/ec2) x " + _libcloud_source()),
        published=pl.lit(list_as_of),
    )
    # A type AWS no longer lists in us-east-1 (retired there) keeps libcloud's regional figure as published.
    retired = ~pl.col("instance_type").is_in(listed["instance_type"].to_list())
    legacy = joined.filter(pl.col("_list").is_null() & retired)
    legacy = legacy.with_columns(
        basis=pl.lit("price list figure (libcloud); the type is not sold in us-east-1 any more"),
        source=pl.lit(_libcloud_source()), published=pl.lit(ec2_source.pricing_updated()),
        price_quality=pl.when(pl.col("price_quality") == "list").then(pl.lit("list")).otherwise(pl.lit("estimate")))
    successors = _successor_estimates(listed, libcloud_types=set(lc["instance_type"]), other=other, specs=specs)
    successors = successors.with_columns(source=pl.lit("AWS Price List (data/ec2) x " + _libcloud_source()),
                                         published=pl.lit(list_as_of), repair_rule=pl.lit(None, pl.String))
    cols = ["instance_type", "region", "os", "usd_per_hour", "price_quality", "basis", "repair_rule", "source",
            "published"]
    return pl.concat([anchor.select(cols), derived.select(cols), legacy.select(cols),
                      successors.select(cols)]).filter(
        pl.col("instance_type").is_in(specs["instance_type"].to_list()))


# Categories whose newer families AWS launches across its main regions at their predecessor's regional
# ratio; accelerated, HPC, high-memory and Mac families stay where a source lists them.
SUCCESSOR_CATEGORIES = ("c", "m", "r", "i", "x", "z", "t", "d", "is", "im")
_FAMILY_PARTS = r"^([a-z]+?)(\d+)([a-z-]*)$"


def _successor_estimates(listed: pl.DataFrame, libcloud_types: set[str], other: pl.DataFrame,
                         specs: pl.DataFrame) -> pl.DataFrame:
    """A general-purpose type newer than libcloud's price list (c8i, m8gd, ...): in each region where its
    predecessor family (same category and suffix, the newest older generation listed there) is priced, the
    us-east-1 list price x that family's median regional ratio. An estimate, also of availability."""
    parts = pl.col("family").str.extract_groups(_FAMILY_PARTS)
    fam = (specs.select("instance_type", "family", "instance_category")
           .with_columns(_p=parts).unnest("_p").rename({"1": "_cat", "2": "_gen", "3": "_suffix"})
           .with_columns(pl.col("_gen").cast(pl.Int64)))
    new = (listed.filter(~pl.col("instance_type").is_in(sorted(libcloud_types)))
           .join(fam, on="instance_type").filter(pl.col("instance_category").is_in(SUCCESSOR_CATEGORIES)))
    ratios = (other.filter(pl.col("_ratio").is_not_null())
              .join(fam.select("instance_type", "_cat", "_gen", "_suffix"), on="instance_type")
              .group_by("region", "family", "_cat", "_gen", "_suffix").agg(_fam_ratio=pl.col("_ratio").median()))
    cand = (new.select("instance_type", "usd_per_hour", "_cat", "_suffix", _new_gen="_gen")
            .join(ratios, on=["_cat", "_suffix"]).filter(pl.col("_gen") < pl.col("_new_gen"))
            .sort("_gen", descending=True).group_by("instance_type", "region", maintain_order=True).first())
    return cand.select(
        "instance_type", "region", os=pl.lit("linux"),
        usd_per_hour=(pl.col("usd_per_hour") * pl.col("_fam_ratio")).round(6), price_quality=pl.lit("estimate"),
        basis=pl.format("us-east-1 list price x the predecessor {} family's median ratio {} in {}; newer than the "
                        "regional price list: price and availability there are estimates", "family",
                        pl.col("_fam_ratio").round(4), "region"))


def _band(vcpu: pl.Expr, bands: list[dict], rate_key: str, per_vcpu: bool) -> pl.Expr:
    """The fee of the first band whose max_vcpu the type fits (None = no upper edge)."""
    expr = None
    for band in reversed(bands):
        rate = pl.lit(float(band[rate_key]))
        value = rate * vcpu if per_vcpu else rate
        cond = pl.lit(True) if band["max_vcpu"] is None else vcpu <= band["max_vcpu"]
        expr = value if expr is None else pl.when(cond).then(value).otherwise(expr)
    return expr


def os_fee(specs: pl.DataFrame, facts: FactBook, os: str) -> pl.DataFrame:
    """Per type: the licence fee `os` adds to Linux (USD/hour), whether it is an estimate, or null where the
    OS is not offered on the type."""
    vcpu = pl.col("vcpu").cast(pl.Float64)
    tier = pl.col("family").str.extract(r"^(t\d)").replace({"t3a": "t3"})
    size = pl.col("size")
    if os == "windows":
        burst = facts.value("os_licensing.windows_burstable_usd_per_hour")
        est = facts.value("os_licensing.windows_burstable_estimated_sizes")
        burst_fee = pl.struct(tier=tier.replace({"t4": None}), size=size).map_elements(
            lambda r: (burst.get("t3" if r["tier"] == "t3" else r["tier"]) or {}).get(r["size"]),
            return_dtype=pl.Float64)
        burst_est = pl.struct(tier=tier, size=size).map_elements(
            lambda r: r["size"] in est.get(r["tier"] or "", []), return_dtype=pl.Boolean)
        offered = ((pl.col("arch") == "x86_64")
                   & ~pl.col("instance_category").fill_null("").is_in(
                       facts.value("os_licensing.windows_unavailable_categories"))
                   & ~pl.col("family").is_in(facts.value("os_licensing.windows_unavailable_families"))
                   & ~pl.col("family").str.starts_with("mac"))
        fee = pl.when(pl.col("burstable")).then(burst_fee).otherwise(
            vcpu * float(facts.value("os_licensing.windows_usd_per_vcpu_hour")))
        estimate = pl.col("burstable") & burst_est
        basis = pl.when(pl.col("burstable")).then(pl.lit("Linux + the T-family Windows fee for this size"))\
            .otherwise(pl.lit("Linux + $0.046 per vCPU-hour Windows Server licence"))
    elif os == "rhel":
        offered = pl.lit(True)
        fee = _band(vcpu, facts.value("os_licensing.rhel_usd_per_vcpu_hour"), "usd_per_vcpu_hour", per_vcpu=True)
        estimate = pl.lit(False)
        basis = pl.lit("Linux + RHEL per-vCPU fee (since 2024-04-01)")
    elif os == "suse":
        offered = pl.lit(True)
        small = facts.value("os_licensing.suse_burstable_fee_usd_per_hour")
        small_fee = size.replace_strict(small, default=None, return_dtype=pl.Float64)
        fee = pl.when(pl.col("burstable") & small_fee.is_not_null()).then(small_fee).otherwise(
            _band(vcpu, facts.value("os_licensing.suse_usd_per_hour"), "usd_per_hour", per_vcpu=False))
        estimate = pl.lit(False)
        basis = pl.lit("Linux + SUSE Linux Enterprise Server fee")
    else:
        raise ValueError(f"no licence rule for {os!r}")
    return specs.select("instance_type", _fee=pl.when(offered).then(fee), _fee_estimate=estimate,
                        _fee_basis=basis).filter(pl.col("_fee").is_not_null())


def licensed_prices(linux: pl.DataFrame, specs: pl.DataFrame, facts: FactBook, os: str) -> pl.DataFrame:
    """`os` = Linux + its licence fee, in every region the Linux price is known."""
    fees = os_fee(specs, facts, os)
    rows = linux.join(fees, on="instance_type", how="inner")
    return rows.select(
        "instance_type", "region", os=pl.lit(os),
        usd_per_hour=(pl.col("usd_per_hour") + pl.col("_fee")).round(6),
        licence_usd_per_hour=pl.col("_fee").round(6),
        price_quality=pl.when((pl.col("price_quality") == "estimate") | pl.col("_fee_estimate"))
        .then(pl.lit("estimate")).otherwise(pl.lit("derived")),
        basis=pl.format("{} ({}: {})", "_fee_basis", pl.lit("Linux"), "basis"),
        repair_rule=pl.lit(None, pl.String),
        source=pl.col("source") + pl.lit(" + data/facts/os_licensing.json"), published="published",
    )
