"""Cost over the workload's horizon: the arithmetic every candidate shares, reproducible by hand.

`monthly_usd` is the average cost per month over `horizon_months`. Usage-priced options scale with
the hours the workload runs; a commitment (reserved instance, savings plan) is paid for every hour
of every month of its term, whether used or not, and for its whole term even when the horizon is
shorter. A horizon longer than the term renews it: ceil(horizon / term) terms are bought.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

HOURS_PER_MONTH = 730.0
TERM_MONTHS = {"1yr": 12, "3yr": 36}
TERM_HOURS = {"1yr": 8760, "3yr": 26280}


def divide(numerator: pl.Expr, denominator: pl.Expr | float) -> pl.Expr:
    """`numerator / denominator` on columns, correctly rounded as Python's `/`, whatever polars' version.

    Polars divides by a scalar (a literal, or a column it keeps as one value, as a one-workload frame's
    horizon) by multiplying with its reciprocal, which can be an ulp off: 179.88 / 24 gives
    7.494999999999999, and the line rounds to 7.49 instead of 7.50. Which columns stay scalars changes
    between versions (2.2 keeps more than 2.1). Adding numerator x 0 makes the divisor a full column
    (costs and counts are finite, so it adds nothing).
    """
    return numerator / (denominator + numerator * 0.0)


def terms_bought(term: str, horizon_months: int) -> int:
    return math.ceil(horizon_months / TERM_MONTHS[term])


def months_paid(term: str, horizon_months: int) -> int:
    """Months of commitment paid over the horizon (whole terms)."""
    return terms_bought(term, horizon_months) * TERM_MONTHS[term]


@dataclass(frozen=True)
class HorizonCost:
    monthly_usd: float          # average per month over the horizon, upfront included
    upfront_usd: float          # paid at the start (the first term's upfront fees)
    recurring_monthly_usd: float  # the hourly part, averaged per month over the horizon
    upfront_monthly_usd: float    # every upfront payment over the horizon, averaged per month


def usage_cost(usd_per_hour: float, hours_per_month: float, count: float) -> HorizonCost:
    """On-demand, spot, Fargate and the like: pay for the hours used."""
    monthly = usd_per_hour * hours_per_month * count
    return HorizonCost(monthly, 0.0, monthly, 0.0)


def commitment_cost(usd_per_hour: float, upfront_usd: float, term: str, horizon_months: int,
                    count: float) -> HorizonCost:
    """A reserved instance or savings plan per unit: every hour of every term bought, plus upfront fees."""
    terms = terms_bought(term, horizon_months)
    recurring_total = usd_per_hour * HOURS_PER_MONTH * months_paid(term, horizon_months) * count
    upfront_total = upfront_usd * terms * count
    return HorizonCost(
        monthly_usd=(recurring_total + upfront_total) / horizon_months,
        upfront_usd=upfront_usd * count,
        recurring_monthly_usd=recurring_total / horizon_months,
        upfront_monthly_usd=upfront_total / horizon_months,
    )


def commitment_expr(usd_per_hour: pl.Expr, upfront_usd: pl.Expr, term_months: pl.Expr, horizon_months: pl.Expr,
                    count: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """`commitment_cost` on columns, the same operations in the same order (bit for bit): its
    (monthly_usd, upfront_usd). `term_months` is TERM_MONTHS of the term."""
    terms = divide(horizon_months.cast(pl.Float64), term_months.cast(pl.Float64)).ceil()
    recurring_total = usd_per_hour * HOURS_PER_MONTH * (terms * term_months) * count
    upfront_total = upfront_usd * terms * count
    return divide(recurring_total + upfront_total, horizon_months.cast(pl.Float64)), upfront_usd * count


def tiered(quantity: float, tiers: list[dict], bound_key: str, price_key: str) -> float:
    """Cost of `quantity` over cumulative tiers [{bound_key: upper bound or None, price_key: unit price}]."""
    cost, lower = 0.0, 0.0
    for tier in tiers:
        upper = tier[bound_key]
        portion = max(0.0, (quantity if upper is None else min(quantity, upper)) - lower)
        cost += portion * tier[price_key]
        if upper is None or quantity <= upper:
            break
        lower = upper
    return cost


def tiered_expr(quantity: pl.Expr, tiers: list[dict], bound_key: str, price_key: str) -> pl.Expr:
    """`tiered` on a column, the same sum in the same order (a tier past the quantity adds 0.0)."""
    steps, lower = [], 0.0
    for tier in tiers:
        upper = tier[bound_key]
        steps.append((lower, None if upper is None else pl.lit(float(upper)), tier[price_key]))
        if upper is None:
            break
        lower = upper
    return tier_steps_expr(quantity, steps)


def tier_steps_expr(quantity: pl.Expr, steps: list[tuple]) -> pl.Expr:
    """The sum from 0, in order, over (lower, upper or None for unbounded, unit price) steps (numbers or
    columns) of max(0, min(quantity, upper) - lower) x price: `tiered`'s arithmetic on columns."""
    cost = pl.lit(0.0)
    for lower, upper, price in steps:
        top = quantity if upper is None else pl.min_horizontal(quantity, upper)
        cost = cost + (top - lower).clip(lower_bound=0.0) * price
    return cost


def money(x: float) -> float:
    """Round for display and comparison: cents, half-even-free (decimal-stable) rounding."""
    return float(f"{x + 0.0:.2f}") if x else 0.0


def money_expr(x: pl.Expr) -> pl.Expr:
    """`money` on a column, bit for bit: the cents nearest the exact binary value, ties to even.

    Polars' own round(2) rounds x * 100 after that product has been rounded, which differs from
    `money` near half-cents (2.675 -> 2.68 instead of 2.67). Here the product's rounding error is
    recovered exactly (Dekker's two-product: x * 100 = p + err with both terms doubles), so the
    comparison with the half-cent is exact. Valid for |x| < 2**45 (any cost the contract allows).
    """
    a = x.abs()
    p = a * 100.0
    split = a * 134217729.0          # 2**27 + 1: Veltkamp's split of a into 26-bit halves
    hi = split - (split - a)
    err = (hi * 100.0 - p) + (a - hi) * 100.0
    whole = p.floor()
    frac = p - whole
    up = (frac > 0.5) | ((frac == 0.5) & ((err > 0) | ((err == 0) & (whole % 2 == 1))))
    cents = whole + up.cast(pl.Float64)
    return pl.when(x == 0).then(0.0).otherwise(x.sign() * divide(cents, 100.0))


def cents_expr(x: pl.Expr) -> pl.Expr:
    """`round(x * 100)` on a column (Python's round: ties to even), as `optimize.choose.cents`."""
    return (x * 100.0).round(0, mode="half_to_even")
