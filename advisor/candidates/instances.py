"""Instance types that fit a requirement, and their purchase options costed over the horizon, as frames.

Shared by every service that runs on EC2 instances (EC2, ECS/EKS nodes, Batch, Beanstalk). Work is
vectorized over all types x all purchase options; only the Pareto-best rows per option group
(monthly cost vs upfront) become Candidate objects, which keeps the choice exact under both caps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from advisor.candidates.gpu import default_vendor_expr, gpu_model_expr
from advisor.catalog.store import Catalog
from advisor.pricing import HOURS_PER_MONTH, TERM_MONTHS, divide
from models.workload import Workload

OPTION_GROUP = ["option_id"]  # rates.option_id(): purchase option, term, class, plan, payment, tenancy
COMMITMENTS = ("reserved", "savings_plan")


@dataclass(frozen=True)
class Filtered:
    frame: pl.DataFrame
    removed_by: str | None  # the requirement that removed the last type, when none is left
    message: str | None


_OFFERED: dict[tuple[str, str, str], pl.DataFrame] = {}


def offered(catalog: Catalog, region: str, os: str) -> pl.DataFrame:
    """Specs of every type offered in the region for the OS, with its on-demand price (null if missing)."""
    key = (catalog.version, region, os)
    if key not in _OFFERED:
        if len(_OFFERED) > 256:
            _OFFERED.clear()
        prices = catalog.on_demand.filter((pl.col("region") == region) & (pl.col("os") == os)).select(
            "instance_type", "usd_per_hour", "price_quality")
        _OFFERED[key] = catalog.specs.join(prices, on="instance_type", how="inner")
    return _OFFERED[key]


def filter_steps(frame: pl.DataFrame, steps: list[tuple[str, pl.Expr, str]]) -> Filtered:
    """Apply named filters in order; when one empties the frame, say which requirement did it."""
    for reason, expr, message in steps:
        kept = frame.filter(expr)
        if kept.is_empty():
            return Filtered(kept, reason, message)
        frame = kept
    return Filtered(frame, None, None)


Step = tuple[str, pl.Expr, str]


def replica_fit_steps(w: Workload, region: str, vendor: str) -> list[Step]:
    """Filters for one replica on one instance: price, vCPU, memory, GPUs (count, model), architecture."""
    return [
        ("price_missing", pl.col("usd_per_hour").is_not_null(),
         f"no instance type that is offered in {region} for {w.os} has a known price"),
        ("no_fitting_instance", pl.col("vcpu") >= w.vcpu, f"no priced instance type in {region} has {w.vcpu:g} vCPUs"),
        ("no_fitting_instance", pl.col("memory_gib") >= w.memory_gib,
         f"no priced type with {w.vcpu:g} vCPUs also has {w.memory_gib:g} GiB of memory"),
        *_accelerator_and_arch_steps(w, region, "type that fits the CPU and memory", vendor),
    ]


def node_fit_steps(w: Workload, region: str, vendor: str) -> list[Step]:
    """Filters for a node type that will hold packed replicas: priced, not burstable, GPUs as asked, arch."""
    return [
        ("price_missing", pl.col("usd_per_hour").is_not_null(),
         f"no instance type offered in {region} for {w.os} has a known price"),
        ("no_fitting_instance", ~pl.col("burstable"), "only burstable types are offered"),
        *_accelerator_and_arch_steps(w, region, "node type", vendor),
    ]


def _accelerator_and_arch_steps(w: Workload, region: str, what: str, vendor: str) -> list[Step]:
    """GPUs: enough of them, of the model named (else of the default vendor); no GPUs asked: GPU-less
    types only. Then architecture."""
    steps: list[Step] = []
    if w.gpus > 0:
        steps.append(("no_gpu_instance", pl.col("gpus") >= w.gpus, f"no {what} has {w.gpus} GPUs"))
        if w.gpu_model:
            steps.append(("gpu_model_unavailable", gpu_model_expr(w.gpu_model),
                          f"no {what} with {w.gpus} GPUs carries a {w.gpu_model} in {region}"))
        else:
            steps.append(("gpu_model_unavailable", default_vendor_expr(vendor),
                          f"no {what} with {w.gpus} {vendor} GPUs in {region} (no gpu_model given: "
                          f"{vendor} is the default; name a model to consider others)"))
    else:
        steps.append(("no_fitting_instance", pl.col("gpus") == 0, f"only GPU types are left for this {what}: "
                                                                   "give gpus to use them"))
    if w.arch.value != "any":
        steps.append(("arch_unavailable", pl.col("arch") == w.arch.value, f"no {what} is {w.arch.value}"))
    return steps


def cost_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `compute_monthly` and `upfront_start` from rate, count (units), hours (per unit per month)
    and horizon (months), all columns of `frame`.

    Usage options pay rate x hours; capacity reservations pay every hour; commitments pay every hour
    of ceil(horizon / term) whole terms plus their upfront fees, averaged over the horizon.
    """
    # In stages: an expression used twice in one step is evaluated twice (eager frames share none).
    months = pl.col("term").replace_strict(TERM_MONTHS, default=None, return_dtype=pl.Float64)
    frame = frame.with_columns(_months=months, _commitment=pl.col("purchase_option").is_in(COMMITMENTS),
                               _always_on=pl.col("purchase_option") == "capacity_reservation")
    horizon = pl.col("horizon").cast(pl.Float64)
    terms, term_months = pl.col("_terms"), pl.col("_months")
    frame = frame.with_columns(_terms=divide(horizon, term_months).ceil())
    compute = (pl.when(pl.col("_commitment"))
               .then(divide((pl.col("usd_per_hour") * HOURS_PER_MONTH * terms * term_months
                             + pl.col("upfront_usd") * terms) * pl.col("count"), horizon))
               .when(pl.col("_always_on")).then(pl.col("usd_per_hour") * HOURS_PER_MONTH * pl.col("count"))
               .otherwise(pl.col("usd_per_hour") * pl.col("hours") * pl.col("count")))
    upfront = pl.when(pl.col("_commitment")).then(pl.col("upfront_usd") * pl.col("count")).otherwise(0.0)
    return frame.with_columns(compute_monthly=compute, upfront_start=upfront).drop(
        "_months", "_commitment", "_always_on", "_terms")


def rank_key() -> pl.Expr:
    """Per purchase option, a number whose order over types is the order of their instance cost for
    any workload: cost_columns' compute is this times `rank_multiplier` (usage: rate x hours x count;
    reservation: rate x 730 x count; commitments: (rate x 730 x term months + upfront) x terms x count
    / horizon)."""
    term_months = pl.col("term").replace_strict(TERM_MONTHS, default=None, return_dtype=pl.Float64)
    return (pl.when(pl.col("purchase_option").is_in(COMMITMENTS))
            .then(pl.col("usd_per_hour") * HOURS_PER_MONTH * term_months + pl.col("upfront_usd"))
            .otherwise(pl.col("usd_per_hour")))


def rank_multiplier(purchase_option: str, term: str | None, count: np.ndarray, hours: np.ndarray,
                    horizon: np.ndarray) -> np.ndarray:
    """What cost_columns multiplies an option's `rank_key` by for rows of `count` units running `hours`
    each over `horizon` months (arrays that broadcast): equal to its compute up to floating-point rounding."""
    if purchase_option in COMMITMENTS:
        months = TERM_MONTHS[term]
        return np.ceil(horizon / months) * count / horizon
    if purchase_option == "capacity_reservation":
        return HOURS_PER_MONTH * count * np.ones_like(hours)
    return hours * count


def prune(frame: pl.DataFrame, group: list[str], *, frontier: bool) -> pl.DataFrame:
    """Per option group, what the choice can need: with an upfront cap, the Pareto frontier of monthly
    cost vs upfront; without one, the cheapest rows (within a cent, so ties reach the tie-break)."""
    if frontier:
        return pareto(frame, group)
    return (frame.filter(pl.col("monthly_total") <= pl.col("monthly_total").min().over(group) + 0.01)
            .sort([*group, "monthly_total", "vcpu", "instance_type"], nulls_last=True))


def pareto(frame: pl.DataFrame, group: list[str], cost: str = "monthly_total") -> pl.DataFrame:
    """Per option group, the rows no other row beats on both monthly cost and upfront cash.

    A row costlier per month than the cheapest row among those with the group's least upfront is
    dominated by that row, so only rows at or below that cost are sorted for the exact frontier.
    """
    least_upfront = pl.col("upfront_start").min().over(group)
    bound = pl.when(pl.col("upfront_start") <= least_upfront + 1e-9).then(pl.col(cost)).min().over(group)
    frame = frame.filter(pl.col(cost) <= bound + 1e-9)
    ordered = frame.sort([*group, cost, "upfront_start", "vcpu", "instance_type"], nulls_last=True)
    prev_min = pl.col("upfront_start").cum_min().shift(1).over(group, order_by=None)
    return ordered.with_columns(_prev=prev_min).filter(
        pl.col("_prev").is_null() | (pl.col("upfront_start") < pl.col("_prev") - 1e-9)).drop("_prev")
