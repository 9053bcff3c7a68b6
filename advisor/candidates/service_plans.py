"""Compute Savings Plans for Fargate and Lambda: every term (1, 3 years) and payment (no, partial, all upfront).

AWS sells Compute Savings Plans that cover Fargate and Lambda usage as well as EC2
(data/facts/savings_plans.json compute_plan: applies_to ec2, fargate, lambda; terms 1yr/3yr; payments
No/Partial/All Upfront). Published rates are known for one plan only (1-year no upfront: Fargate
x 0.81, Lambda x 0.89 x86 / 0.90 arm64, from price-list fixtures). The other five plans are estimated
from EC2's Compute Savings Plan ratios (savings_plans.ratios): a plan's discount relative to the
1-year no-upfront plan is taken to be the same for the service as for EC2, and its upfront share of
the effective rate too. Lambda's discount is capped at AWS's documented "up to 17 percent". Every
rate but the fixture's is labelled an estimate.

A plan commits a dollar amount per hour for every hour of its term: the committed usage is the
service's on-demand rate x the plan's ratio, paid every hour (pricing.commitment_cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog.store import Catalog
from advisor.pricing import TERM_HOURS

ANCHOR = ("1yr", "no_upfront")


@dataclass(frozen=True)
class PlanRate:
    """One Compute Savings Plan: its term, payment, and its rate as a share of on-demand."""

    term: str
    payment: str
    hourly_ratio: float    # paid per hour, x the on-demand rate
    upfront_ratio: float   # paid upfront, as a share of the on-demand rate for every hour of the term
    estimate: bool

    @property
    def effective_ratio(self) -> float:
        return self.hourly_ratio + self.upfront_ratio

    def upfront_usd(self, on_demand_usd_per_hour: float) -> float:
        return on_demand_usd_per_hour * self.upfront_ratio * TERM_HOURS[self.term]

    def words(self) -> str:
        return f"compute savings plan {self.term} {self.payment.replace('_', ' ')}"


def _ec2_compute_ratios(catalog: Catalog) -> dict[tuple[str, str], tuple[float, float]]:
    out = {}
    for r in catalog.facts.value("savings_plans.ratios"):
        if r.get("plan", r.get("plan_type")) == "compute":
            payment = r["payment"].strip().lower().replace(" ", "_").replace("-", "_")
            out[(r["term"], payment)] = (float(r["hourly_ratio"]), float(r["upfront_ratio"]))
    return out


def compute_plan_rates(catalog: Catalog, anchor_ratio: float, max_discount: float | None = None) -> list[PlanRate]:
    """Every Compute Savings Plan for a service whose 1-year no-upfront ratio is `anchor_ratio`."""
    ec2 = _ec2_compute_ratios(catalog)
    anchor_effective = sum(ec2[ANCHOR])
    out = []
    for (term, payment), (hourly, upfront) in sorted(ec2.items()):
        effective = anchor_ratio * (hourly + upfront) / anchor_effective
        if max_discount is not None:
            effective = max(effective, 1.0 - max_discount)
        upfront_share = upfront / (hourly + upfront)
        out.append(PlanRate(term, payment, round(effective * (1 - upfront_share), 6),
                            round(effective * upfront_share, 6), estimate=(term, payment) != ANCHOR))
    return out
