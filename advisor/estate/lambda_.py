"""Lambda for many workloads: aws_lambda.generate's candidates as rows.

Per workload the rules are aws_lambda.py's own functions: a request profile is needed, `sizing`
(memory from function_memory_mb or the load model, the billed ms, the ephemeral storage), every
limit (`_reject_limits`: any one leaves no candidate), the architectures, and per architecture the
on-demand candidate (`candidate`: requests, the duration over its tiers, ephemeral storage, data
transfer out, the free tier only when it is counted). Its duration line is what a Compute Savings
Plan covers: per plan, that line is replaced by the plan's commitment (priced.expand, the plan
rates of the architecture's ratio, capped at Lambda's maximum discount), as `plan_candidates` does.
An architecture without a price in the region (FactMissing) has no candidate, as the generator
rejects only that one.
"""

from __future__ import annotations

from advisor.candidates import aws_lambda
from advisor.candidates.base import Context, Generated
from advisor.candidates.service_plans import compute_plan_rates
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from advisor.estate.gates import served
from advisor.estate.priced import Priced, empty, expand, plan_table, rounded_sum
from advisor.pricing import HOURS_PER_MONTH
from models.workload import Service, Workload

DURATION = "Lambda duration"  # the line a Compute Savings Plan covers (aws_lambda.plan_candidates)


def candidates(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Priced:
    """Every Lambda candidate of the workloads the hard rules leave Lambda for (Lambda is sized from
    the workload as given, not the replicas the load model adds)."""
    ctx = Context(catalog, include_free_tier=include_free_tier)
    units: list[tuple] = []
    for i, w in workloads.items():
        if Service.aws_lambda not in served(w) or not w.request_shaped:
            continue  # not served, or no_request_profile
        try:
            units += _units(i, w, ctx)
        except FactMissing:
            continue  # the registry's price_missing: no Lambda candidate
    if not units:
        return Priced(empty())
    facts = catalog.facts
    cap = facts.value("lambda.compute_savings_plan_max_discount")
    plans = plan_table({arch: compute_plan_rates(catalog, facts.value(_ratio_key(arch)), cap)
                        for arch in ("x86_64", "arm64")})
    return Priced(expand(units, plans))


def _ratio_key(arch: str) -> str:
    return "lambda.compute_savings_plan_ratio" + ("_arm64" if arch == "arm64" else "")


def _units(i: int, w: Workload, ctx: Context) -> list[tuple]:
    size = aws_lambda.sizing(w, ctx)
    limits = Generated()
    aws_lambda._reject_limits(w, ctx, size, limits)
    if limits.rejections:
        return []
    out = []
    for arch in aws_lambda.architectures(w):
        try:
            c = aws_lambda.candidate(w, ctx, size, arch)
        except FactMissing:
            continue  # that architecture's price_missing
        duration = next(ln for ln in c.lines if ln.item.startswith(DURATION))
        others = rounded_sum([ln for ln in c.lines if ln is not duration])
        planned = duration.monthly_usd > 0
        out.append((i, aws_lambda.NAME, c.ops_effort, c.unit_size, c.count, w.horizon_months, others,
                    duration.monthly_usd, None, None, duration.monthly_usd / HOURS_PER_MONTH if planned else None,
                    1, arch if planned else None))
    return out
