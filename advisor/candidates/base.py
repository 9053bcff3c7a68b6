"""What could be bought: priced candidates and rejections, the shared vocabulary of every generator."""

from __future__ import annotations

from dataclasses import dataclass, field
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

