"""The catalog a scenario sees: the current catalog with the scenario's overrides and price multipliers.

The advice reads every EC2 rate from the catalog's tables and facts (`advisor.catalog.rates`): on-demand
(with any OS licence fee inside it), commitments and Spot as ratios of its compute part, imported rates,
published RI rates. So a multiplier is applied to those inputs, and every rate the advice derives moves
exactly as the multiplier says (to the rates' rounding, 6 decimals an hour):

- family / region / service `ec2` (M): every rate of the instance type in the region: the on-demand price
  and its licence part, imported rates, Spot history, published RI rates (all scaled by M), and so the
  commitments, Spot, dedicated and host prices derived from them;
- purchase option (P): the compute part of that option's rates (an OS licence fee is billed the same under
  every option and is not multiplied): on-demand's compute part x P_od (so capacity reservations and
  dedicated on-demand, which bill it); reserved and savings-plan ratios x P_option / P_od and Spot's
  discount so that Spot = (1 - d) x P_spot / P_od of on-demand's compute part (the derived rates are then
  their own P times the original); imported and published rates of the option x P;
- service (S, other than ec2): every number of that service's price facts (data/facts/<topic>.json values
  named in USD), in every region listed;
- a region multiplier moves EC2 rates only: Fargate and Lambda estimates scaled from EC2 price ratios keep
  the base catalog's ratios (add a service multiplier to move them).

Fact overrides (`catalog.facts`) apply first and are labelled estimates; on-demand overrides set the price
before any multiplier. The scenario catalog has its own version (base version + '+' + the changes' digest),
so nothing cached for the base is reused for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from typing import Any

import polars as pl

from advisor.catalog.facts import FactBook
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import InputError
from advisor.sweep.scenarios import SERVICE_TOPICS

ANCHOR_REGION, ANCHOR_OS = "us-east-1", "linux"  # where published RI rates are priced (rates.PUBLISHED_*)
RATIO_KEYS = ("hourly_ratio", "upfront_ratio", "effective_ratio")
OPTION_WORDS = {
    "on_demand": "the compute part of EC2 on-demand rates (so capacity reservations and dedicated on-demand, "
                 "which bill them; the all on-demand baseline too)",
    "reserved": "the compute part of EC2 Reserved Instance rates and upfront fees",
    "savings_plan": "the compute part of Savings Plans rates and upfront fees",
    "spot": "the compute part of EC2 Spot rates",
}
_CACHE: OrderedDict[str, tuple[Catalog, list[dict[str, Any]]]] = OrderedDict()
_CACHE_MAX = 4  # scenario catalogs kept per process (a long-lived worker answers scenarios one after another)


def scenario_catalog(changes: dict[str, Any] | None) -> tuple[Catalog, list[dict[str, Any]]]:
    """The catalog for a scenario's changes (`Changes.model_dump(mode="json")`, or None: the base catalog) and
    the multipliers as applied (`AppliedMultiplier` fields). Cached per process and changes."""
    base = load_catalog()
    if not changes:
        return base, []
    touched = {"prices": changes["prices"], "catalog": changes["catalog"]}
    if not any(touched["prices"].values()) and not any(touched["catalog"].values()):
        return base, []
    digest = hashlib.sha256(json.dumps(touched, sort_keys=True).encode()).hexdigest()[:12]
    version = f"{base.version}+{digest}"
    if version not in _CACHE:
        _CACHE[version] = _build(base, version, touched["prices"], touched["catalog"])
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(version)
    return _CACHE[version]


def _build(base: Catalog, version: str, prices: dict[str, Any], overrides: dict[str, Any]
           ) -> tuple[Catalog, list[dict[str, Any]]]:
    options = prices["purchase_options"]
    p_od = options.get("on_demand", 1.0)
    raw = dict(base.facts._raw)  # noqa: SLF001 - a changed copy of the fact book; the base is left as it is
    for key, value in overrides["facts"].items():
        raw[key] = _override_fact(raw, key, value)
    on_demand = _set_on_demand(base.on_demand, overrides["on_demand"])
    location = _location_factor(base, prices)
    new_od = (on_demand.join(location, on=["instance_type", "region"], how="left")
              .with_columns(_m=pl.col("_m").fill_null(1.0), _lic=pl.col("licence_usd_per_hour").fill_null(0.0))
              .with_columns(usd_per_hour=pl.col("_m") * (pl.col("_lic") + p_od * (pl.col("usd_per_hour")
                                                                                    - pl.col("_lic"))),
                            licence_usd_per_hour=pl.col("licence_usd_per_hour") * pl.col("_m"))
              .drop("_m", "_lic"))
    for key, option in (("reserved.ratios", "reserved"), ("savings_plans.ratios", "savings_plan")):
        factor = options.get(option, 1.0) / p_od
        if factor != 1.0:
            raw[key] = _with_value(raw[key], lambda v, f=factor: _scale_keys(v, RATIO_KEYS, f))
    spot_factor = options.get("spot", 1.0) / p_od
    if spot_factor != 1.0:
        raw["spot.typical_discount"] = _with_value(raw["spot.typical_discount"],
                                                   lambda d: 1 - (1 - float(d)) * spot_factor)
    raw["reserved.published_rates"] = _with_value(
        raw["reserved.published_rates"], lambda rows: _published(rows, on_demand, new_od, location,
                                                                 options.get("reserved", 1.0)))
    applied_services = []
    for service, factor in prices["services"].items():
        keys = []
        for key in [k for k in sorted(raw) if k.split(".")[0] in SERVICE_TOPICS[service]]:
            named_usd = "usd" in key.split(".", 1)[1]
            scaled = _with_spec_values(raw[key], lambda v, f=factor, n=named_usd: _scale_usd(v, f, n))
            if scaled.spec != raw[key].spec:
                raw[key] = scaled
                keys.append(key)
        applied_services.append((service, factor, keys))
    catalog = dataclasses.replace(
        base, version=version, on_demand=new_od, facts=FactBook(raw),
        imported_prices=_scale_imported(base.imported_prices, location, options),
        spot=_scale_spot(base.spot, on_demand, location, options, p_od))
    _keep_regional_ratios(base, catalog)
    return catalog, _applied(base, prices, applied_services)


# -------------------------------------------------------------------------------------------- the factors
def _location_factor(base: Catalog, prices: dict[str, Any]) -> pl.DataFrame:
    """M per (instance_type, region): family x region x service ec2 multipliers (types and regions named
    must be in the catalog)."""
    families, regions = prices["families"], prices["regions"]
    ec2 = prices["services"].get("ec2", 1.0)
    known_families = set(base.specs["family"].to_list())
    for family in families:
        if family not in known_families:
            raise InputError(f"prices.families: no instance family {family!r} in the catalog",
                             field="prices.families")
    known_regions = set(base.regions())
    for region in regions:
        if region not in known_regions:
            raise InputError(f"prices.regions: no region {region!r} in the catalog", field="prices.regions")
    pairs = base.on_demand.select("instance_type", "region").unique().join(
        base.specs.select("instance_type", "family"), on="instance_type", how="left")
    family_m = pl.col("family").replace_strict(families, default=1.0, return_dtype=pl.Float64)
    region_m = pl.col("region").replace_strict(regions, default=1.0, return_dtype=pl.Float64)
    return pairs.select("instance_type", "region", _m=family_m.fill_null(1.0) * region_m * ec2)


def _option_factor(options: dict[str, float]) -> pl.Expr:
    return pl.col("purchase_option").replace_strict(options, default=1.0, return_dtype=pl.Float64)


# ------------------------------------------------------------------------------------------------ tables
def _set_on_demand(on_demand: pl.DataFrame, prices: list[dict[str, Any]]) -> pl.DataFrame:
    if not prices:
        return on_demand
    keys = ["instance_type", "region", "os"]
    wanted = pl.DataFrame(prices, schema={"instance_type": pl.String, "region": pl.String, "os": pl.String,
                                          "usd_per_hour": pl.Float64}).rename({"usd_per_hour": "_set"})
    missing = wanted.join(on_demand.select(keys), on=keys, how="anti")
    if missing.height:
        t, r, o, _ = missing.row(0)
        raise InputError(f"catalog.on_demand: no {t} {o} in {r} in the catalog to set a price for",
                         field="catalog.on_demand")
    joined = on_demand.join(wanted, on=keys, how="left")
    chosen = pl.col("_set").is_not_null()
    return joined.with_columns(
        usd_per_hour=pl.when(chosen).then(pl.col("_set")).otherwise(pl.col("usd_per_hour")),
        price_quality=pl.when(chosen).then(pl.lit("estimate")).otherwise(pl.col("price_quality")),
        basis=pl.when(chosen).then(pl.lit("set by the scenario (estimate)")).otherwise(pl.col("basis")),
    ).drop("_set")


def _scale_imported(imported: pl.DataFrame, location: pl.DataFrame, options: dict[str, float]) -> pl.DataFrame:
    if imported.is_empty():
        return imported
    factor = pl.col("_m").fill_null(1.0) * _option_factor(options)
    return (imported.join(location, on=["instance_type", "region"], how="left")
            .with_columns(usd_per_hour=pl.col("usd_per_hour") * factor, upfront_usd=pl.col("upfront_usd") * factor)
            .drop("_m"))


def _scale_spot(spot: pl.DataFrame, on_demand: pl.DataFrame, location: pl.DataFrame, options: dict[str, float],
                p_od: float) -> pl.DataFrame:
    """Spot history x M x P_spot; a Spot Advisor saving (a % of on-demand, which moves by P_od) becomes the price
    it stands for x M x P_spot when P_spot differs from P_od."""
    if spot.is_empty():
        return spot
    p_spot = options.get("spot", 1.0)
    od = on_demand.select("instance_type", "region", "os", _od=pl.col("usd_per_hour"))
    joined = spot.join(location, on=["instance_type", "region"], how="left").join(
        od, on=["instance_type", "region", "os"], how="left").with_columns(_m=pl.col("_m").fill_null(1.0))
    from_saving = pl.col("spot_usd_per_hour").is_null() & pl.col("savings_pct").is_not_null() & (p_spot != p_od)
    return joined.with_columns(
        spot_usd_per_hour=pl.when(from_saving).then((pl.col("_od") * (1 - pl.col("savings_pct") / 100)).round(6)
                                                     * pl.col("_m") * p_spot)
        .otherwise(pl.col("spot_usd_per_hour") * pl.col("_m") * p_spot),
        source=pl.when(from_saving).then(pl.col("source") + " (its saving as a price, x the scenario)")
        .otherwise(pl.col("source")),
    ).drop("_m", "_od")


def _published(rows: list[dict[str, Any]], old_od: pl.DataFrame, new_od: pl.DataFrame, location: pl.DataFrame,
               p_res: float) -> list[dict[str, Any]]:
    """Published RI rates x M x P_reserved; their on-demand reference follows the type's new on-demand price
    (where it matched the old one: the rule `rates.priced` uses to know the rate is for that very type)."""
    anchor = [pl.col("region") == ANCHOR_REGION, pl.col("os") == ANCHOR_OS]
    old = dict(old_od.filter(*anchor).select("instance_type", "usd_per_hour").iter_rows())
    new = dict(new_od.filter(*anchor).select("instance_type", "usd_per_hour").iter_rows())
    m = dict(location.filter(pl.col("region") == ANCHOR_REGION).select("instance_type", "_m").iter_rows())
    out = []
    for row in rows:
        t, factor = row["instance_type"], m.get(row["instance_type"], 1.0) * p_res
        reference = row["on_demand_usd_per_hour"]
        if t in old and old[t] is not None and abs(old[t] - float(reference)) < 1e-9:
            reference = new[t]
        out.append({**row, "usd_per_hour": float(row["usd_per_hour"]) * factor,
                    "upfront_usd": float(row["upfront_usd"]) * factor, "on_demand_usd_per_hour": reference})
    return out


def _keep_regional_ratios(base: Catalog, catalog: Catalog) -> None:
    """Fargate/Lambda/EBS estimates outside their sourced regions scale by EC2 price ratios between regions,
    computed per catalog version: the scenario keeps the base's ratios, so an EC2 multiplier never moves them."""
    from advisor.candidates import regional

    regional.region_multiplier(base, ANCHOR_REGION)
    regional._MULTIPLIERS[catalog.version] = regional._MULTIPLIERS[base.version]  # noqa: SLF001


# ------------------------------------------------------------------------------------------------- facts
def _override_fact(raw: dict[str, Any], key: str, value: Any):
    if key not in raw:
        raise InputError(f"catalog.facts: no fact {key!r} in data/facts", field="catalog.facts")
    spec = raw[key].spec
    if "value" not in spec:
        raise InputError(f"catalog.facts: {key} varies by region; only a global fact can be set",
                         field="catalog.facts")
    old = spec["value"]
    if isinstance(old, bool) != isinstance(value, bool) or (
            isinstance(old, int | float) and not isinstance(value, int | float)) or (
            isinstance(old, str) and not isinstance(value, str)) or isinstance(old, list | dict):
        raise InputError(f"catalog.facts: {key} is {type(old).__name__} ({old!r}), cannot be set to {value!r}",
                         field="catalog.facts")
    note = f"set by the scenario (was {old!r})"
    return dataclasses.replace(raw[key], spec={**spec, "value": value, "quality": "estimate", "note": note})


def _with_value(fact, change):
    return _with_spec_values(fact, change)


def _with_spec_values(fact, change):
    """The fact with `change` applied to its value, or to each region's value."""
    spec = dict(fact.spec)
    if "by_region" in spec:
        spec["by_region"] = {region: change(v) for region, v in spec["by_region"].items()}
    else:
        spec["value"] = change(spec["value"])
    return dataclasses.replace(fact, spec=spec)


def _scale_usd(value: Any, factor: float, named_usd: bool) -> Any:
    """The USD amounts in a fact x factor: every number of a fact named in USD (`vcpu_usd_per_hour_x86`); in
    tiers and bundles (`duration_tiers_x86`, `bundles`), the fields named in USD (`usd_per_gb_second`)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value * factor if named_usd else value
    if isinstance(value, list):
        return [_scale_usd(v, factor, named_usd) for v in value]
    if isinstance(value, dict):
        return {k: _scale_usd(v, factor, named_usd or "usd" in k) for k, v in value.items()}
    return value


def _scale_keys(value: Any, keys: tuple[str, ...], factor: float) -> Any:
    if isinstance(value, list):
        return [_scale_keys(v, keys, factor) for v in value]
    if isinstance(value, dict):
        return {k: (v * factor if k in keys and isinstance(v, int | float) else _scale_keys(v, keys, factor))
                for k, v in value.items()}
    return value


# ------------------------------------------------------------------------------------------- the record
def _applied(base: Catalog, prices: dict[str, Any], services: list[tuple[str, float, list[str]]]
             ) -> list[dict[str, Any]]:
    out = [{"kind": "purchase_option", "key": k, "factor": v, "prices": OPTION_WORDS[k]}
           for k, v in prices["purchase_options"].items()]
    for service, factor, keys in services:
        words = ("every EC2 instance rate (every service on EC2 pays them)" if service == "ec2" else "")
        listed = ", ".join(keys) if keys else "no price facts"
        out.append({"kind": "service", "key": service, "factor": factor,
                    "prices": "; ".join(filter(None, [words, f"facts: {listed}"]))})
    for family, factor in prices["families"].items():
        n = base.specs.filter(pl.col("family") == family).height
        out.append({"kind": "family", "key": family, "factor": factor,
                    "prices": f"every EC2 rate of the {n} {family} instance types, in every region"})
    for region, factor in prices["regions"].items():
        n = base.on_demand.filter(pl.col("region") == region)["instance_type"].n_unique()
        out.append({"kind": "region", "key": region, "factor": factor,
                    "prices": f"every EC2 rate of the {n} instance types priced in {region}"})
    return out
