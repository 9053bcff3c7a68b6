"""What could be bought: priced candidates and rejections, the shared vocabulary of every generator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from advisor.catalog.store import Catalog
from advisor.pricing import money


@dataclass(frozen=True)
class Line:
    """One cost line: what it is, its average monthly cost over the horizon, and whether it is an estimate."""

    item: str
    monthly_usd: float
    estimate: bool = False
    shared_fee: str | None = None   # a fee paid once per region by every placement needing it: "eks", "dedicated"


class RunsOn(StrEnum):
    """What a placement's compute is, as an account's vCPU quotas, Spot and owned commitments see it."""

    INSTANCES = "instances"            # EC2 instances of its own (EC2, Elastic Beanstalk, Batch EC2 environments)
    NODE_GROUP = "node_group"          # EC2 nodes of an ECS/EKS node group: other workloads' pods may share them
    DEDICATED_HOSTS = "dedicated_hosts"  # whole Dedicated Hosts: bought and counted by the host, not by vCPU
    FARGATE_TASKS = "fargate_tasks"    # Fargate tasks (ECS, EKS, Batch FARGATE environments)
    FUNCTIONS = "functions"            # Lambda: no vCPU provisioned
    BUNDLES = "bundles"                # Lightsail: outside EC2's purchase options, quotas and commitments


STANDARD_FAMILIES = frozenset("acdhimrtz")


def vcpu_quota(instance_type: str | None) -> str | None:
    """The EC2 vCPU quota class an instance type draws on: "standard" for the "Running On-Demand Standard (A, C, D,
    H, I, M, R, T, Z) instances" quota and its Spot twin (docs.aws.amazon.com/ec2/latest/instancetypes/
    ec2-instance-quotas), by the family's first letter; None for the families with quotas of their own (the
    portfolio tracks only the standard class). A type's family is its name before the dot."""
    family = (instance_type or "").split(".")[0]
    return "standard" if family and family[0].lower() in STANDARD_FAMILIES else None


@dataclass(frozen=True)
class Compute:
    """The service facts a portfolio counts, set by the generator that knows the service (never inferred from
    its name): what the placement runs on, the vCPU it provisions (what vCPU quotas and the Spot share count:
    instances x vCPU per type, or tasks x vCPU per task; 0 for hosts, functions and bundles, which are counted
    otherwise) and the vCPU quota class its instances draw on (`vcpu_quota`)."""

    runs_on: RunsOn
    vcpu: float
    quota: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One priced, feasible way to run the workload. `monthly_usd` is the sum of its rounded lines."""

    service: str
    purchase_option: str
    lines: tuple[Line, ...]
    upfront_usd: float = 0.0
    instance_type: str | None = None
    count: int = 1
    term: str | None = None
    offering_class: str | None = None
    plan_type: str | None = None
    payment: str | None = None
    tenancy: str = "shared"
    interruption_risk: str = "none"
    ops_effort: str = "high"
    config: dict[str, Any] = field(default_factory=dict, compare=False)
    estimates: tuple[str, ...] = ()
    unit_size: float = 0.0  # vCPUs of one unit (instance, task, bundle): smaller wins a tie
    shape_fit: int = 0      # 0 when the service's shape fits the workload's (Batch for jobs): wins a tie
    compute: Compute | None = field(default=None, compare=False)   # set by every generator (portfolio facts)

    @cached_property
    def monthly_usd(self) -> float:
        return money(sum(money(line.monthly_usd) for line in self.lines))

    @property
    def option_key(self) -> tuple[str, str]:
        """The (service, purchase option) pair explanations are grouped by."""
        return (self.service, self.purchase_option)

    @cached_property
    def sort_key(self) -> tuple:
        """A total, deterministic order among equal-cost candidates (README "Tie-break order"): the service
        whose shape fits the workload, then the more managed, no commitment before a flexible one before a
        reserved instance, the smaller unit, then by name."""
        return (self.monthly_usd, self.shape_fit, OPS_RANK[self.ops_effort], self.service,
                PURCHASE_RANK.get(self.purchase_option, 9), self.unit_size, self.instance_type or "",
                self.term or "", self.offering_class or "", self.plan_type or "",
                self.payment or "", self.tenancy, self.count)


OPS_RANK = {"low": 0, "medium": 1, "high": 2}
# At equal cost: no commitment first, then the more flexible commitment.
PURCHASE_RANK = {"on_demand": 0, "savings_plan": 1, "reserved": 2, "spot": 3, "capacity_reservation": 4}


@dataclass(frozen=True)
class Rejection:
    """A service or purchase option that cannot serve the workload, with a stable reason code."""

    service: str
    option: str | None
    reason: str
    message: str


@dataclass
class Generated:
    candidates: list[Candidate] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, service: str, option: str | None, reason: str, message: str) -> Generated:
        self.rejections.append(Rejection(service, option, reason, message))
        return self

    def extend(self, other: Generated) -> Generated:
        self.candidates.extend(other.candidates)
        self.rejections.extend(other.rejections)
        return self


@dataclass(frozen=True)
class Context:
    """What a generator may read besides the workload: the facts, and the answer's switches."""

    catalog: Catalog
    include_free_tier: bool = False

