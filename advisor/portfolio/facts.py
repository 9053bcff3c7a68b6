"""The portfolio's rules about AWS, each in one place (the planner, the choice model and the auditor share them).

- Fees paid once per region, recognised on a candidate's cost lines: the EKS control plane (per cluster;
  a portfolio runs one per region) and the dedicated-tenancy per-region fee ($2/h while any dedicated
  instance runs in the region: aws.amazon.com/ec2/pricing/dedicated-instances).
- The "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" vCPU quota and its Spot twin
  ("All Standard ... Spot Instance Requests"): docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.
- What an owned Compute Savings Plan covers a month: its hourly commitment over the hours of a month
  (`pricing.HOURS_PER_MONTH`), divided by the 1-year no-upfront compute plan's ratio to on-demand
  (the catalog's `savings_plans.ratios`), i.e. the on-demand spend it pays for.
"""

from __future__ import annotations

from advisor.catalog.store import Catalog
from advisor.optimize.choose import cents
from advisor.pricing import HOURS_PER_MONTH

FEE_PREFIXES = {"EKS control plane": "eks", "dedicated per-region fee": "dedicated"}
STANDARD_FAMILIES = frozenset("acdhimrtz")


def fee_kind(item: str) -> str | None:
    """The kind of fee paid once per region a cost line is ("eks", "dedicated"), or None."""
    return next((kind for prefix, kind in FEE_PREFIXES.items() if item.startswith(prefix)), None)


def is_standard_family(family: str | None) -> bool:
    """Whether an instance family draws on the standard vCPU quotas (A, C, D, H, I, M, R, T, Z)."""
    return bool(family) and family[0].lower() in STANDARD_FAMILIES


def quota_kind(purchase_option: str) -> str:
    """The quota a running instance draws on: Spot instances on the Spot quota, everything else on-demand."""
    return "spot" if purchase_option == "spot" else "on_demand"


def sp_cover_cents(catalog: Catalog, usd_per_hour: float) -> int:
    """On-demand spend a month (cents) that an owned Compute Savings Plan of `usd_per_hour` pays for."""
    ratio = next(r["hourly_ratio"] for r in catalog.facts.value("savings_plans.ratios")
                 if r.get("plan", r.get("plan_type")) == "compute" and r["term"] == "1yr"
                 and r["payment"].lower().startswith("no"))
    return cents(usd_per_hour * HOURS_PER_MONTH / ratio)
