"""Dedicated Hosts for a fleet: which host families hold its type, how many hosts, and their cost frontier.

hosts = max(ceil(instances / instances per host of that size), the fewest nodes the spread needs), billed
every hour. The host rate is the data/facts rule (the family's largest size's on-demand price x the
multiplier, an estimate); BYOL hosts are priced on the Linux rate since the licence is the customer's.
Hosts are sold on-demand or reserved (standard) whatever the workload allows, so one frontier serves
the answer and, its on-demand rows, the baseline: pruning is per option group, so pruning and then
keeping one group is keeping it and then pruning.

Frontiers are memoized per HostSpec; `host_frontiers` computes many at once (recommend.prefetch), one
costing and one prune per region and OS, with the same rows, order and costs as one at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from advisor.candidates.frontiers import InstanceSpec, OptionRules, _prune, _spec_frame, cost_instance_rows
from advisor.candidates.memo import FRONTIERS
from advisor.catalog import rates
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH

EMPTY = pl.DataFrame()


@dataclass(frozen=True)
class HostSpec:
    """Everything a fleet's host frontier reads. `types` (the fitting types, fixed by the spec's region,
    OS, size, GPUs, architecture and generation setting) rides along, outside equality and hash."""

    instance: InstanceSpec  # hours HOURS_PER_MONTH, options OptionRules(): what the costing reads
    byol: bool
    previous_generation: bool  # allow_previous_generation (it picked `types`)
    count: int   # instances
    fewest: int  # hosts the spread needs at least
    types: pl.DataFrame = field(compare=False, hash=False, repr=False)

    @property
    def price_os(self) -> str:
        return "linux" if self.byol else self.instance.os


def host_frontier(catalog: Catalog, spec: HostSpec, options: OptionRules) -> pl.DataFrame:
    """The fleet's host rows, pruned (every row when the spec is exhaustive); only on-demand for the
    baseline's options. In recommend.prefetch's dry pass, a miss is recorded and answered empty."""
    rows = FRONTIERS.get(("hosts", catalog.version, spec), lambda: host_frontiers(catalog, [spec])[spec],
                         placeholder=EMPTY)
    if not rows.is_empty() and (options.on_demand_only or options.capacity_reservation_only):
        rows = rows.filter(pl.col("purchase_option") == "on_demand")
    return rows


def host_frontiers(catalog: Catalog, specs: list[HostSpec]) -> dict[HostSpec, pl.DataFrame]:
    """Many fleets' frontiers: per region and OS priced, one join, one costing and one prune."""
    groups: dict[tuple[str, str], list[HostSpec]] = defaultdict(list)
    for spec in dict.fromkeys(specs):
        groups[(spec.instance.region, spec.price_os)].append(spec)
    out: dict[HostSpec, pl.DataFrame] = {}
    for (region, price_os), group in groups.items():
        fleets = spec_fleets(group, host_sizes(catalog, region, price_os))
        out.update(zip(group, fleet_frontiers(catalog, region, price_os, group, fleets), strict=True))
    return out


def host_sizes(catalog: Catalog, region: str, price_os: str) -> pl.DataFrame:
    """The (family, size, per_host) a host of a priced family holds in the region (see _host_table)."""
    return _table(catalog, region, price_os)[0]


def spec_fleets(specs: list[HostSpec], sizes: pl.DataFrame) -> pl.DataFrame:
    """Per spec (`spec_id`, its index), its fitting types a host family holds (the columns fleet_frontiers
    reads): the spec's `types` joined to the host sizes, in the types' order."""
    fleets = []
    for i, spec in enumerate(specs):
        fit = spec.types.drop("usd_per_hour", "price_quality", strict=False).join(
            sizes, on=["family", "size"], how="inner", maintain_order="left")
        if not fit.is_empty():
            fleets.append(fit.with_columns(spec_id=pl.lit(i, pl.Int64), _count=pl.lit(spec.count, pl.Int64),
                                           _fewest=pl.lit(spec.fewest, pl.Int64)))
    return pl.concat(fleets, how="vertical_relaxed") if fleets else EMPTY


def fleet_frontiers(catalog: Catalog, region: str, price_os: str, specs: list[HostSpec],
                    fleets: pl.DataFrame) -> list[pl.DataFrame]:
    """The specs' frontiers from their fleets (one row per spec and fitting type a host holds: a type's
    columns, per_host, spec_id, _count (instances) and _fewest (hosts)): costed and pruned at once."""
    kept = fleet_rows(catalog, region, price_os, specs, fleets)
    if kept.is_empty():
        return [EMPTY] * len(specs)
    parts = kept.partition_by("spec_id", as_dict=True, maintain_order=True)
    # A spec's rows in the order one spec alone gives (exhaustive: the priced order; else prune's sort).
    return [_alone(parts[(i,)]) if (i,) in parts else EMPTY for i in range(len(specs))]


def fleet_rows(catalog: Catalog, region: str, price_os: str, specs: list[HostSpec],
               fleets: pl.DataFrame) -> pl.DataFrame:
    """Every spec's frontier rows in one frame (`spec_id`; a spec's rows in its frontier's order)."""
    rows = host_rows(catalog, region, price_os, fleets)
    if rows.is_empty():
        return EMPTY
    frame = _spec_frame([s.instance for s in specs])
    rows = rows.join(frame, on="spec_id", maintain_order="left").with_columns(
        s_public=pl.lit(False), horizon=pl.col("s_horizon"), hours=pl.lit(HOURS_PER_MONTH))
    return _prune(cost_instance_rows(catalog, rows, region, price_os), [s.instance for s in specs])


def _alone(rows: pl.DataFrame) -> pl.DataFrame:
    """A spec's rows as computed alone: spec_id 0, no working column."""
    return rows.drop("_p").with_columns(spec_id=pl.lit(0, rows.schema["spec_id"]))


def host_rows(catalog: Catalog, region: str, price_os: str, fleets: pl.DataFrame) -> pl.DataFrame:
    """Per fleet row (a spec and a fitting type a host family holds), one row per host purchase option,
    in the rate table's order (`_p`) within each spec, with the hosts the fleet needs."""
    if fleets.is_empty():
        return EMPTY
    priced = _table(catalog, region, price_os)[1]
    per_host = pl.col("per_host")
    fleet = fleets.select(
        pl.exclude("per_host", "_count", "_fewest"), host_family=pl.col("family"),  # ceil(count / per_host)
        hosts=pl.max_horizontal((pl.col("_count") + per_host - 1) // per_host, "_fewest"), per_host=per_host)
    return (priced.with_row_index("_p").join(fleet, on="instance_type").sort("spec_id", "_p")
            .with_columns(count=pl.col("hosts"), hours=pl.lit(HOURS_PER_MONTH),
                          offering_class=pl.lit(None, pl.String), quality=pl.lit("estimate"))
            .with_columns(option_id=rates.option_id()))


def _table(catalog: Catalog, region: str, price_os: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return FRONTIERS.get(("host_table", catalog.version, region, price_os),
                         lambda: _host_table(catalog, region, price_os))


def _host_table(catalog: Catalog, region: str, price_os: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per region and OS: every (family, size) a host of the family holds (per_host > 0) and whose
    family's largest size has an on-demand price, and those sizes' host rates for every purchase
    option a host is sold with (on-demand, standard reserved)."""
    capacity = {c["family"]: c for c in catalog.facts.value("tenancy.dedicated_host_capacity")}
    if catalog.facts.has("tenancy.dedicated_host_capacity_r5"):
        r5 = catalog.facts.value("tenancy.dedicated_host_capacity_r5")
        capacity.setdefault(r5["family"], r5)
    multiplier = catalog.facts.value("tenancy.dedicated_host_price_rule")["multiplier"]
    od = dict(catalog.on_demand.filter((pl.col("region") == region) & (pl.col("os") == price_os)
                                       & pl.col("usd_per_hour").is_not_null())
              .select("instance_type", "usd_per_hour").iter_rows())
    rows = []
    for family, cap in capacity.items():
        largest = min(cap["instances"], key=lambda s: cap["instances"][s])  # fewest per host: the first such
        price = od.get(f"{family}.{largest}")
        if price is None:
            continue
        rows += [(family, size, f"{family}.{size}", n, round(price * multiplier, 6))
                 for size, n in cap["instances"].items() if n]
    sizes = pl.DataFrame(rows, orient="row", schema={"family": pl.String, "size": pl.String,
                                                     "instance_type": pl.String, "per_host": pl.Int64,
                                                     "usd_per_hour": pl.Float64})
    base = sizes.select("instance_type", "usd_per_hour", price_quality=pl.lit("estimate"))
    priced = rates.priced(catalog, base, region, price_os, "host").filter(
        pl.col("purchase_option").is_in(["on_demand", "reserved"])
        & (pl.col("offering_class").is_null() | (pl.col("offering_class") == "standard")))
    return sizes.select("family", "size", "per_host"), priced

