"""The candidate rows the service modules (fargate.py, lambda_.py, beanstalk.py) give the choice, and
the one expansion they share: a priced unit's on-demand, Spot and Compute Savings Plan candidates.

A service module works out, per workload and unit (a Fargate task size on one architecture, a Lambda
function on one architecture), the figures its generator's rules give, with the generator's own
functions: `fixed_usd` (the lines every option of that unit has, each rounded to the cent and
summed), `od_compute` (the on-demand compute line), `spot_compute` (the Spot one, or null),
`plan_rate` (the on-demand USD per hour a Compute Savings Plan commits a share of) and `plans` (which
plan table). `expand` turns those into one row per candidate, each monthly_usd the cent-rounded sum
of cent-rounded lines as Candidate.monthly_usd is (a sum of cent values is the same cents in any
order), and each plan costed with `commitment_expr` (pricing.commitment_cost on columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from advisor.candidates.service_plans import PlanRate
from advisor.pricing import TERM_HOURS, TERM_MONTHS, commitment_expr, money, money_expr

UNIT_SCHEMA = {
    "idx": pl.Int64, "service": pl.String, "ops_effort": pl.String, "unit_size": pl.Float64, "count": pl.Int64,
    "horizon": pl.Int64, "fixed_usd": pl.Float64, "od_compute": pl.Float64, "spot_compute": pl.Float64,
    "spot_risk": pl.String, "plan_rate": pl.Float64, "plan_count": pl.Int64, "plans": pl.String,
}
COLUMNS = ["idx", "service", "instance_type", "unit_size", "count", "purchase_option", "term", "offering_class",
           "plan_type", "payment", "tenancy", "monthly_usd", "upfront_usd", "ops_effort", "interruption_risk"]
CANDIDATE_SCHEMA = {
    "idx": pl.Int64, "service": pl.String, "instance_type": pl.String, "unit_size": pl.Float64, "count": pl.Int64,
    "purchase_option": pl.String, "term": pl.String, "offering_class": pl.String, "plan_type": pl.String,
    "payment": pl.String, "tenancy": pl.String, "monthly_usd": pl.Float64, "upfront_usd": pl.Float64,
    "ops_effort": pl.String, "interruption_risk": pl.String,
}


@dataclass
class Priced:
    """A service module's answer: its candidate rows (COLUMNS), and the workloads it leaves to the
    per-shape path (they are answered there whole, every service included)."""

    frame: pl.DataFrame
    fallback: set[int] = field(default_factory=set)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATE_SCHEMA)


def plan_table(tables: dict[str, list[PlanRate]]) -> pl.DataFrame:
    """The plans of each table (service_plans.compute_plan_rates), one row per plan."""
    rows = [(key, p.term, p.payment, p.hourly_ratio, p.upfront_ratio, float(TERM_HOURS[p.term]),
             TERM_MONTHS[p.term]) for key, plans in tables.items() for p in plans]
    return pl.DataFrame(rows, orient="row", schema={
        "plans": pl.String, "term": pl.String, "payment": pl.String, "hourly_ratio": pl.Float64,
        "upfront_ratio": pl.Float64, "term_hours": pl.Float64, "term_months": pl.Int64})


def expand(units: list[tuple], plans: pl.DataFrame) -> pl.DataFrame:
    """Every candidate of the units (rows in UNIT_SCHEMA order): on-demand, Spot where priced, and one
    per Compute Savings Plan of the unit's plan table."""
    if not units:
        return empty()
    u = pl.DataFrame(units, schema=UNIT_SCHEMA, orient="row")
    none = pl.lit(None, pl.String)
    od = u.select(*_common(), purchase_option=pl.lit("on_demand"), term=none, plan_type=none, payment=none,
                  compute="od_compute", upfront_start=pl.lit(0.0), interruption_risk=pl.lit("none"))
    spot = u.filter(pl.col("spot_compute").is_not_null()).select(
        *_common(), purchase_option=pl.lit("spot"), term=none, plan_type=none, payment=none, compute="spot_compute",
        upfront_start=pl.lit(0.0), interruption_risk="spot_risk")
    p = u.filter(pl.col("plans").is_not_null()).join(plans, on="plans", how="inner")
    upfront = pl.col("plan_rate") * pl.col("upfront_ratio") * pl.col("term_hours")   # PlanRate.upfront_usd
    monthly, upfront_start = commitment_expr(pl.col("plan_rate") * pl.col("hourly_ratio"), upfront,
                                             pl.col("term_months"), pl.col("horizon"), pl.col("plan_count"))
    sp = p.select(*_common(), purchase_option=pl.lit("savings_plan"), term="term", plan_type=pl.lit("compute"),
                  payment="payment", compute=monthly, upfront_start=upfront_start, interruption_risk=pl.lit("none"))
    rows = pl.concat([od, spot, sp], how="diagonal_relaxed")
    # One rounding per step (money_expr repeats its argument: nesting it would repeat the whole expression).
    rows = rows.with_columns(line=money_expr(pl.col("compute")), upfront_usd=money_expr(pl.col("upfront_start")))
    return rows.with_columns(monthly_usd=money_expr(pl.col("fixed_usd") + pl.col("line"))).select(COLUMNS)


def _common() -> list[pl.Expr]:
    return [pl.col("idx"), pl.col("service"), pl.lit(None, pl.String).alias("instance_type"), pl.col("unit_size"),
            pl.col("count"), pl.lit(None, pl.String).alias("offering_class"), pl.lit("shared").alias("tenancy"),
            pl.col("ops_effort"), pl.col("fixed_usd")]


def rounded_sum(lines: list) -> float:
    """The cent-rounded lines summed (Candidate.monthly_usd before its last rounding)."""
    return sum(money(line.monthly_usd) for line in lines)
