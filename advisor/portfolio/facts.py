"""The portfolio's rules about AWS, each in one place (the planner, the choice model and the auditor share them).

- Fees paid once per region, marked as such on a candidate's cost lines by its generator (`Line.shared_fee`):
  the EKS control plane (per cluster; a portfolio runs one per region) and the dedicated-tenancy per-region
  fee ($2/h while any dedicated instance runs in the region: aws.amazon.com/ec2/pricing/dedicated-instances).
- The "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" vCPU quota and its Spot twin
  ("All Standard ... Spot Instance Requests"): docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.
  Which quota class a placement draws on, and the vCPU it counts, are the candidate's own facts (`Compute`, set
  by its generator); here only what they mean for the portfolio, read from them and never from a service name.
- What owned commitments cover: Reserved Instances apply to EC2 instances of their type (nodes of a node group
  too); a Compute Savings Plan to EC2, Fargate and Lambda usage, not Lightsail
  (docs.aws.amazon.com/savingsplans/latest/userguide/what-is-savings-plans.html).
- What an owned Compute Savings Plan covers a month: its hourly commitment over the hours of a month
  (`pricing.HOURS_PER_MONTH`), divided by the 1-year no-upfront compute plan's ratio to on-demand
  (the catalog's `savings_plans.ratios`), i.e. the on-demand spend it pays for.
"""

from __future__ import annotations

from advisor.candidates.base import Candidate, Compute, Line, RunsOn
from advisor.catalog.store import Catalog
from advisor.optimize.choose import cents
from advisor.pricing import HOURS_PER_MONTH


def fee_kind(line: Line) -> str | None:
    """The kind of fee paid once per region a cost line is ("eks", "dedicated"), or None."""
    return line.shared_fee


class MissingFacts(ValueError):
    """A candidate without its service facts (`Candidate.compute`): a generator that does not set them would
    otherwise count as 0 vCPU against the quotas and the Spot share without anyone noticing."""


def compute_of(c: Candidate) -> Compute:
    """The candidate's service facts; a clear error when its generator did not set them."""
    if c.compute is None:
        raise MissingFacts(f"{c.service} candidates carry no service facts (Candidate.compute): set them in its "
                           "generator (advisor/candidates/) before planning portfolios with it")
    return c.compute


def shares_nodes(c: Candidate) -> bool:
    """Nodes of an ECS/EKS node group, which other workloads' pods may share (a portfolio cluster)."""
    return compute_of(c).runs_on is RunsOn.NODE_GROUP


def standard_quota(c: Candidate) -> str | None:
    """The standard vCPU quota a placement's own instances draw on ("on_demand" or "spot"), or None."""
    return quota_kind(c.purchase_option) if compute_of(c).quota == "standard" else None


def reserved_instances_cover(c: Candidate) -> bool:
    """Whether owned Reserved Instances of its type can cover the placement's instances (EC2 instances only)."""
    return compute_of(c).runs_on in (RunsOn.INSTANCES, RunsOn.NODE_GROUP) and c.instance_type is not None


def savings_plan_covers(c: Candidate) -> bool:
    """Whether an owned Compute Savings Plan can cover the placement's on-demand compute (not Lightsail)."""
    return compute_of(c).runs_on is not RunsOn.BUNDLES


def quota_kind(purchase_option: str) -> str:
    """The quota a running instance draws on: Spot instances on the Spot quota, everything else on-demand."""
    return "spot" if purchase_option == "spot" else "on_demand"


def sp_cover_cents(catalog: Catalog, usd_per_hour: float) -> int:
    """On-demand spend a month (cents) that an owned Compute Savings Plan of `usd_per_hour` pays for."""
    ratio = next(r["hourly_ratio"] for r in catalog.facts.value("savings_plans.ratios")
                 if r.get("plan", r.get("plan_type")) == "compute" and r["term"] == "1yr"
                 and r["payment"].lower().startswith("no"))
    return cents(usd_per_hour * HOURS_PER_MONTH / ratio)
