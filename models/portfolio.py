"""A portfolio: many workloads with constraints on the whole (budget, upfront cash, spot share, quotas)
and the commitments already owned."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
