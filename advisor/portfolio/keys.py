"""The portfolio's keys, typed: what makes two placements share a node pool or a group of Dedicated Hosts, and
a plan packed and checked. Each key prints as the text the plan document has always used (a host group's id,
a pool's name) and sorts by it, so the model is built, searched and answered in the same order as before.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from functools import cached_property, total_ordering
from typing import Any

from advisor.candidates.base import Candidate
from models.workload import Workload


@total_ordering
@dataclass(frozen=True)
class PoolKey:
    """One kind of node group bought one way: the workloads whose node groups have the same key may share
    nodes (the relaxation prices them as one pool; the plan packs them as one cluster)."""

    service: str
    region: str
    os: str
    tenancy: str
    purchase_option: str
    term: str | None
    offering_class: str | None
    plan_type: str | None
    payment: str | None
    hours_per_month: float
    horizon_months: int
    arch: str

    @classmethod
    def of(cls, w: Workload, c: Candidate) -> PoolKey:
        return cls(c.service, w.region, w.os.value, c.tenancy, c.purchase_option, c.term, c.offering_class,
                   c.plan_type, c.payment, w.hours_per_month, w.horizon_months, w.arch.value)

    @property
    def option(self) -> tuple[str, str | None, str | None, str | None, str | None]:
        """The purchase option, as `clusters.GroupPrices` keys its prices (`OPTION_COLUMNS` order)."""
        return (self.purchase_option, self.term, self.offering_class, self.plan_type, self.payment)

    @property
    def group(self) -> tuple[str, str, str, str, float, int]:
        """The node group kind whose types and prices `clusters.group_prices` computes (every purchase option)."""
        return (self.service, self.region, self.os, self.tenancy, self.hours_per_month, self.horizon_months)

    @property
    def kind(self) -> tuple[str, str, str, str, float, int, str]:
        """What must match for one pool to stand in for another: all but the purchase option."""
        return (*self.group, self.arch)

    @cached_property
    def text(self) -> str:
        return "|".join(str(x) for x in astuple(self))

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, PoolKey):
            return NotImplemented
        return self.text < other.text


@total_ordering
@dataclass(frozen=True)
class ClusterKey:
    """A cluster of the plan: a pool's members packed together; a job-shaped workload's node group (nodes only
    while its jobs run) keeps a cluster of its own (`job`: its id, else "")."""

    pool: PoolKey
    job: str = ""

    @cached_property
    def order(self) -> str:
        """The order clusters are packed and listed in (ties of size broken by it): the text of the tuple
        (service, region, OS, tenancy, option, term, offering class, plan type, payment, horizon, hours,
        architecture), job) that earlier versions sorted by, kept so that plans stay byte for byte the same."""
        p = self.pool
        legacy = (p.service, p.region, p.os, p.tenancy, p.purchase_option, p.term, p.offering_class, p.plan_type,
                  p.payment, p.horizon_months, p.hours_per_month, p.arch)
        return str((legacy, self.job))

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, ClusterKey):
            return NotImplemented
        return self.order < other.order


@total_ordering
@dataclass(frozen=True)
class HostKey:
    """Dedicated Hosts of one family in one region bought one way: every placement with this key shares them."""

    region: str
    family: str
    purchase_option: str
    term: str | None
    payment: str | None

    @classmethod
    def of(cls, w: Workload, c: Candidate) -> HostKey:
        return cls(w.region, c.config["host_family"], c.purchase_option, c.term, c.payment)

    @cached_property
    def text(self) -> str:
        """The host group's id in the plan document."""
        return f"host:{self.region}:{self.family}:{self.purchase_option}:{self.term}:{self.payment}"

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, HostKey):
            return NotImplemented
        return self.text < other.text


@total_ordering
@dataclass(frozen=True)
class CommitmentKey:
    """One commitment to buy: what it covers, where and how it is paid (the plan's `to_buy` rows, in this order
    of fields); listed in the order of the text of these fields (as the rows have always been)."""

    kind: str                    # reserved_instances, savings_plan, host_reservation
    covers: str                  # instance type, host family or service
    region: str
    tenancy: str
    term: str | None
    offering_class: str | None
    plan_type: str | None
    payment: str | None

    @cached_property
    def order(self) -> str:
        return str(astuple(self))

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, CommitmentKey):
            return NotImplemented
        return self.order < other.order
