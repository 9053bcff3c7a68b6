"""What we chose (contract section 3): a recommendation with cost lines, alternatives and rejections."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CostLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    item: str
    monthly_usd: float
    estimate: bool = Field(False, description="true when the line rests on a fact labelled estimate")


class Option(BaseModel):
    """One priced way to run the workload: the choice and each alternative share this shape."""

    model_config = ConfigDict(frozen=True)

    service: str
    instance_type: str | None = None
    count: int = 1
    purchase_option: str = "on_demand"
    term: str | None = None
    offering_class: str | None = None
    plan_type: str | None = None
    payment: str | None = None
    tenancy: str = "shared"
    config: dict[str, Any] = Field(default_factory=dict)
    monthly_usd: float
    upfront_usd: float = 0.0
    interruption_risk: str = "none"
    ops_effort: str = "high"
    cost_lines: list[CostLine] = Field(default_factory=list)
    estimates: list[str] = Field(default_factory=list,
                                 description="facts this cost rests on that are estimates, not list prices")


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    option: str | None = None
    reason: str
    message: str


class Baseline(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str
    monthly_usd: float | None
    instance_type: str | None = None
    count: int | None = None


class SourceAsOf(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    as_of: str


class CatalogRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    as_of: str
    sources: list[SourceAsOf] = Field(default_factory=list,
                                      description="each source the prices rest on, with its as-of date")


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    workload_id: str
    choice: Option | None
    alternatives: list[Option] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    baseline: Baseline
    savings_vs_baseline_usd: float | None
    catalog: CatalogRef
