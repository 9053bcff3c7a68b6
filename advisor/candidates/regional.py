"""Region-dependent facts: the listed value where the facts have one, else a labelled estimate.

Fargate, Lambda, EBS and similar prices are sourced for a few regions. A fact may name the regions AWS
prices exactly as us-east-1 (`priced_as_anchor_in`: Lambda's single price table for the commercial
regions): there the us-east-1 value is the answer, not an estimate. Elsewhere the us-east-1 value is
scaled by the region's median EC2 on-demand price ratio to us-east-1 (Linux), and the answer says it
is an estimate. A region with no EC2 prices at all has no estimate: FactMissing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from advisor.catalog.store import Catalog
from advisor.errors import FactMissing

ANCHOR = "us-east-1"


@dataclass(frozen=True)
class RegionalValue:
    value: Any
    estimate: bool
    note: str


def region_multiplier(catalog: Catalog, region: str) -> float:
    if catalog.version not in _MULTIPLIERS:
        _MULTIPLIERS[catalog.version] = _multipliers(catalog.on_demand)
    return _MULTIPLIERS[catalog.version].get(region) or _missing(region)


def _missing(region: str) -> float:
    raise FactMissing(f"no EC2 prices for region {region!r}, so no regional estimate either")


_MULTIPLIERS: dict[str, dict[str, float]] = {}


def _multipliers(on_demand: pl.DataFrame) -> dict[str, float]:
    linux = on_demand.filter((pl.col("os") == "linux") & pl.col("usd_per_hour").is_not_null())
    anchor = linux.filter(pl.col("region") == ANCHOR).select("instance_type", anchor=pl.col("usd_per_hour"))
    ratios = (linux.join(anchor, on="instance_type").group_by("region")
              .agg((pl.col("usd_per_hour") / pl.col("anchor")).median().alias("ratio")))
    return {r: round(x, 4) for r, x in ratios.iter_rows()}


def regional(catalog: Catalog, key: str, region: str) -> RegionalValue:
    """The fact's value in `region`, or the us-east-1 value scaled to it (an estimate)."""
    facts = catalog.facts
    fact_regions = facts.regions(key)
    if not fact_regions:
        fact = facts.get(key)
        return RegionalValue(fact.value, fact.is_estimate, fact.key)
    if region in fact_regions:
        fact = facts.get(key, region)
        return RegionalValue(fact.value, fact.is_estimate, fact.key)
    if ANCHOR not in fact_regions:
        raise FactMissing(f"fact {key} has no value for {region} nor {ANCHOR}")
    same_as_anchor = facts.anchor_regions(key)
    if same_as_anchor and region in facts.value(same_as_anchor):
        fact = facts.get(key, ANCHOR)
        return RegionalValue(fact.value, fact.is_estimate, f"{key}: {region} is priced as {ANCHOR} ({same_as_anchor})")
    factor = region_multiplier(catalog, region)
    scaled = _scale(facts.get(key, ANCHOR).value, factor)
    return RegionalValue(scaled, True, f"{key} for {ANCHOR} x {factor} ({region}'s median EC2 price ratio)")


def _scale(value: Any, factor: float) -> Any:
    """Scale every price in a value (a number, or a list of tier dicts whose price keys contain 'usd')."""
    if isinstance(value, int | float):
        return value * factor
    if isinstance(value, list):
        return [{k: (v * factor if "usd" in k and v is not None else v) for k, v in tier.items()} for tier in value]
    raise FactMissing(f"cannot scale a fact value of type {type(value).__name__}")
