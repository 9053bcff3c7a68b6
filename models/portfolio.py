"""A portfolio: many workloads with constraints on the whole (budget, upfront cash, spot share, quotas)
and the commitments already owned."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.recommendation import Option
from models.workload import Workload

MAX_WORKLOADS = 10_000


class ReservedHolding(BaseModel):
    """Reserved instances already bought: they cover matching on-demand usage first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_type: Annotated[str, Field(min_length=3, max_length=40)]
    region: Annotated[str, Field(default="us-east-1", max_length=30)]
    count: Annotated[int, Field(ge=1, le=100_000)]


class ExistingCommitments(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reserved: Annotated[list[ReservedHolding], Field(max_length=1000)] = []
    savings_plan_usd_per_hour: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 0.0


class Quota(BaseModel):
    """vCPU quotas of one region: running on-demand standard (A, C, D, H, I, M, R, T, Z) and standard spot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_demand: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    spot: Annotated[int | None, Field(ge=0, le=10_000_000)] = None


class PortfolioConstraints(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_monthly_usd: Annotated[float | None, Field(gt=0, le=1e11, allow_inf_nan=False)] = None
    max_upfront_usd: Annotated[float | None, Field(ge=0, le=1e11, allow_inf_nan=False)] = None
    max_spot_share: Annotated[float | None, Field(ge=0, le=1, allow_inf_nan=False,
                                                  description="share of provisioned vCPU on Spot, at most")] = None
    vcpu_quotas: Annotated[dict[str, Quota], Field(max_length=50)] = {}
    default_quotas: bool = Field(False, description="apply AWS's default on-demand standard quota (data/facts) to "
                                                    "every region without an explicit quota")
    existing_commitments: ExistingCommitments = ExistingCommitments()


class Portfolio(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    workloads: Annotated[list[Workload], Field(min_length=1, max_length=MAX_WORKLOADS)]
    constraints: PortfolioConstraints = PortfolioConstraints()

    @field_validator("workloads")
    @classmethod
    def _unique_ids(cls, workloads: list[Workload]) -> list[Workload]:
        seen: set[str] = set()
        for i, w in enumerate(workloads):
            if w.id in seen:
                raise ValueError(f"workload {i} repeats the id {w.id!r} (ids are unique within a portfolio)")
            seen.add(w.id)
        return workloads


# ----------------------------------------------------------------------------- the plan (the answer)
class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlacementRow(_Out):
    """One workload's placement and its share of the plan's money: `monthly_usd` = own + shared nodes + shared
    hosts + shared fees - what owned commitments cover; the rows add up to `totals.monthly_usd` to the cent."""

    workload_id: str
    choice: Option = Field(description="the placement, priced as if it ran alone (its own nodes, hosts and fees)")
    shared_cluster: str | None = Field(description="id of the cluster whose nodes it shares, if any")
    shared_hosts: str | None = Field(description="id of the Dedicated Host group it runs on, if any")
    shared_fees: list[str] = Field(description="fees paid once per region that its placement needs")
    covered_by_owned_reserved: int = Field(description="instances of it covered by owned reserved instances")
    covered_by_owned_savings_plan_usd: float
    monthly_usd: float = Field(description="its share of the plan's monthly total (the rows add up to it)")
    own_monthly_usd: float = Field(description="its cost lines not shared with other workloads")
    shared_nodes_monthly_usd: float = Field(description="its share of its cluster's nodes (dominant share)")
    shared_hosts_monthly_usd: float = Field(description="its share of its Dedicated Hosts (hosts' worth placed)")
    shared_fees_monthly_usd: float = Field(description="its share of the fees paid once (equal among needers)")
    owned_commitments_monthly_usd: float = Field(description="what owned commitments cover of it (subtracted)")
    alone_monthly_usd: float = Field(description="what it would cost chosen alone (its own recommendation)")


class NodeGroup(_Out):
    instance_type: str
    purchase_option: str
    node_count: int = Field(description="nodes of this type")
    replicas_per_node: dict[str, int] = Field(description="replicas of each workload on each of these nodes")
    monthly_usd_per_node: float
    upfront_usd_per_node: float


class Cluster(_Out):
    id: str
    service: str
    region: str
    os: str
    tenancy: str
    purchase_option: str
    term: str | None
    offering_class: str | None
    plan_type: str | None
    payment: str | None
    members: list[str]
    standalone_monthly_usd: float = Field(description="its members' own node groups side by side, a month")
    standalone_upfront_usd: float
    nodes: list[NodeGroup]
    monthly_usd: float
    upfront_usd: float
    node_vcpu: int = Field(description="vCPU of its nodes (what the quotas count)")
    lower_bound_usd: float | None
    gap: float | None
    status: str
    method: str
    bound_defect: str | None = None


class HostInstances(_Out):
    instance_type: str
    instance_count: int = Field(description="instances of the workload on these hosts")
    instances_per_host: int


class HostGroup(_Out):
    id: str
    region: str
    family: str
    purchase_option: str
    term: str | None
    payment: str | None
    host_count: int = Field(description="Dedicated Hosts bought")
    monthly_usd_per_host: float
    upfront_usd_per_host: float
    instances: dict[str, HostInstances]
    standalone_host_count: int = Field(description="hosts its workloads would take each on hosts of their own")


class CommitmentToBuy(_Out):
    """A commitment the plan buys: exactly what its packed nodes, hosts and placements use."""

    kind: Literal["reserved_instances", "savings_plan", "host_reservation"]
    covers: str = Field(description="instance type (reserved instances), host family or what a savings plan covers")
    region: str
    tenancy: str = Field(description="shared, dedicated or host: the tenancy of what it covers")
    term: str | None
    offering_class: str | None
    plan_type: str | None
    payment: str | None
    instance_count: int | None = Field(description="instances or cluster nodes covered (null for hosts)")
    host_count: int | None = Field(description="Dedicated Hosts reserved (null otherwise)")
    monthly_usd: float = Field(description="what it costs a month in the plan")
    upfront_usd: float
    used_by: list[str] = Field(description="workloads running on what it covers")


class OwnedCommitment(_Out):
    """A commitment already owned: what the plan uses of it, and why not all of it when it does not."""

    kind: Literal["reserved_instances", "savings_plan"]
    covers: str | None
    region: str | None
    instance_count: int | None = Field(description="reserved instances owned")
    used_instance_count: int | None = Field(description="of them, covering instances in the plan")
    usd_per_hour: float | None
    covered_on_demand_monthly_usd: float
    unused_reason: str | None = Field(description="why part of it is unused (null when all of it is used)")


class Commitments(_Out):
    to_buy: list[CommitmentToBuy]
    owned: list[OwnedCommitment]


class Fee(_Out):
    fee: str
    monthly_usd: float
    shared_by: list[str]


class Shared(_Out):
    clusters: list[Cluster]
    hosts: list[HostGroup]
    commitments: Commitments
    fees: list[Fee]


class Totals(_Out):
    monthly_usd: float
    upfront_usd: float
    alone_monthly_usd: float = Field(description="the workloads each chosen alone, added up")
    shared_fees_monthly_usd: float
    packing_savings_monthly_usd: float
    host_sharing_savings_monthly_usd: float


class WholeNodeComponents(_Out):
    solved: int
    proven: int


class RelaxationReport(_Out):
    iterations: int
    pattern_cuts: int
    converged: bool
    pools: int
    seconds: float
    lp_bound_monthly_usd: float | None
    whole_node_bound_monthly_usd: float | None
    cp_sat_bound_monthly_usd: float | None
    whole_node_components: WholeNodeComponents | None
    pooled_plans: list[str]
    rejected_plans: list[list[str]]
    plans_compared: list[float]


class Work(_Out):
    time_limit_nominal_s: float
    used_nominal_s: float
    nominal_at_end_of: dict[str, float] = Field(default_factory=dict,
                                                description="the planner's clock (nominal s) at each phase's end")
    wall_clock_safety_net_s: float
    wall_clock_stopped: list[str]
    reproducible: bool


class SolverReport(_Out):
    status: Literal["OPTIMAL", "FEASIBLE"]
    objective_monthly_usd: float
    bound_monthly_usd: float | None
    gap: float | None
    seconds: float
    choice_status: str
    defects: list[str]
    bound_basis: str
    relaxation: RelaxationReport
    timings: dict[str, float]
    work: Work


class Changed(_Out):
    workload_id: str
    alone: str
    alone_monthly_usd: float
    in_portfolio: str
    monthly_usd: float


class FeesPaidOnce(_Out):
    paid_once_monthly_usd: float
    alone_would_pay_monthly_usd: float


class Packed(_Out):
    cluster: str
    standalone_monthly_usd: float
    packed_monthly_usd: float


class BindingConstraint(_Out):
    constraint: str
    monthly_usd_if_relaxed: float
    costs_monthly_usd: float
    message: str


class Explanation(_Out):
    changed_against_alone: list[Changed]
    shared_fees: FeesPaidOnce
    packing: list[Packed]
    binding_constraints: list[BindingConstraint]


class CatalogStamp(_Out):
    version: str
    as_of: str


class PlanDocument(_Out):
    """The plan of a portfolio (POST /v1/plans, `advisor plan -f json`)."""

    placements: list[PlacementRow]
    shared: Shared
    totals: Totals
    solver: SolverReport
    explanation: Explanation
    catalog: CatalogStamp
