"""Request and response envelopes of the HTTP API. The domain types inside them come from `models/`
(Workload in, Recommendation out): one source of truth for fields, ranges and defaults.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.portfolio import Portfolio
from models.recommendation import CatalogRef
from models.workload import EXAMPLE, Workload

MAX_TOP_K = 50


class RecommendationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"workload": EXAMPLE, "top_k": 5, "include_free_tier": False}]})

    workload: Workload
    top_k: int = Field(5, ge=0, le=MAX_TOP_K, description="how many ranked alternatives to return")
    include_free_tier: bool = Field(False, description="count account-wide free tiers (Lambda, egress) for this "
                                                      "workload alone")


RECOMMENDATION_EXAMPLE = {
    "workload_id": "api-1",
    "choice": {
        "service": "ec2", "instance_type": "m7g.large", "count": 2, "purchase_option": "reserved", "term": "1yr",
        "offering_class": "standard", "plan_type": None, "payment": "no_upfront", "tenancy": "shared", "config": {},
        "monthly_usd": 74.46, "upfront_usd": 0.0, "interruption_risk": "none", "ops_effort": "high",
        "cost_lines": [{"item": "m7g.large reserved 1yr no upfront x2", "monthly_usd": 74.46, "estimate": True}],
        "estimates": ["reserved.ratios"]},
    "alternatives": [],
    "rejected": [{"service": "lambda", "option": None, "reason": "no_request_profile",
                  "message": "Lambda needs requests_per_month and avg_duration_ms"}],
    "baseline": {"description": "on-demand EC2, shared tenancy, cheapest fitting type", "monthly_usd": 119.14,
                 "instance_type": "m7g.large", "count": 2},
    "savings_vs_baseline_usd": 44.68,
    "catalog": {"version": "71a552ab95ec26b0", "as_of": "2025-03-02"},
}


# --- evaluations -------------------------------------------------------------------------------------------

class EvaluationRequest(BaseModel):
    """Workloads as JSON objects: contract fields, plus any other keys, which are passed through to the rows."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "workloads": [EXAMPLE, {"id": "fn-1", "requests_per_month": 5_000_000, "avg_duration_ms": 120,
                                "team": "payments"}],
        "include_free_tier": False}]})

    workloads: list[dict[str, Any]] = Field(min_length=1, description="one object per workload, in order")
    include_free_tier: bool = False


class EvaluationRow(BaseModel):
    """One output row: the input columns, then the result columns (status ok or error)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "error"]
    error: str | None = None
    service: str | None = None
    instance_type: str | None = None
    count: int | None = None
    purchase_option: str | None = None
    term: str | None = None
    payment: str | None = None
    tenancy: str | None = None
    monthly_usd: float | None = None
    upfront_usd: float | None = None
    baseline_monthly_usd: float | None = None
    savings_usd: float | None = None
    interruption_risk: str | None = None
    alternative_service: str | None = None
    alternative_monthly_usd: float | None = None
    catalog_version: str | None = None


class EvaluationResponse(BaseModel):
    rows: list[EvaluationRow] = Field(description="one per input row, in input order")
    summary: dict[str, Any] = Field(description="counts and totals over the rows")


CSV_EXAMPLE = ("id,vcpu,memory_gib,replicas,horizon_months,interruptible\n"
               "api-1,2,8,2,36,false\nbatch-1,4,16,1,12,true\n")


# --- plans -------------------------------------------------------------------------------------------------

class PlanRequest(Portfolio):
    """A portfolio: `{"workloads": [...], "constraints": {...}}` (models.portfolio.Portfolio)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "workloads": [EXAMPLE], "constraints": {"max_monthly_usd": 5000, "max_spot_share": 0.3}}]})


# --- catalog -----------------------------------------------------------------------------------------------

class SourceOut(BaseModel):
    name: str
    as_of: str
    detail: str


class CatalogVersion(BaseModel):
    version: str
    as_of: str = Field(description="date of the EC2 prices")
    regions: list[str]
    sources: list[SourceOut]


class InstanceTypeRow(BaseModel):
    instance_type: str
    vcpu: int | None
    memory_gib: float | None
    gpus: int | None
    gpu_model: str | None
    arch: str | None
    on_demand_usd_per_hour: float | None = Field(description="null when the price is missing (never 0)")
    price_quality: str | None = Field(description="list, derived, estimate, imported or missing")
    repair_rule: str | None = Field(None, description="the libcloud repair rule behind a figure used, if any")
    price_basis: str | None = Field(None, description="how the price was made (published, or the rule)")
    burstable: bool | None
    baseline_cpu_share: float | None
    instance_store_gib: float | None
    network_gbps: float | None = Field(None, description="peak network bandwidth, Gbit/s")
    normalization_factor: float | None
    current_generation: bool | None


class InstanceTypeList(BaseModel):
    region: str
    os: str
    count: int
    instance_types: list[InstanceTypeRow]
    catalog: CatalogRef


class Rate(BaseModel):
    model_config = ConfigDict(extra="allow")

    tenancy: str | None = None
    purchase_option: str | None = None
    usd_per_hour: float | None = None
    upfront_usd: float | None = None
    quality: str | None = None


class InstanceTypeRecord(BaseModel):
    """Specs, the on-demand price with its quality and source, and every purchase option's rate."""

    model_config = ConfigDict(extra="allow")

    instance_type: str
    region: str
    os: str
    vcpu: int | None = None
    memory_gib: float | None = None
    on_demand_usd_per_hour: float | None = None
    price_quality: str | None = None
    rates: list[Rate] = Field(default_factory=list)
    rates_missing: str | None = Field(None, description="why rates are empty, when they are")
    catalog: CatalogRef


class FactSource(BaseModel):
    id: str
    title: str
    url: str
    as_of: str
    tag: str


class Limit(BaseModel):
    name: str = Field(description="topic.fact in data/facts")
    description: str
    value: Any
    unit: str
    quality: str = Field(description="documented, list or estimate")
    note: str | None = None
    source: FactSource


class Limits(BaseModel):
    limits: list[Limit]
    missing: list[str] = Field(description="curated names not found in data/facts (should be empty)")
    catalog: CatalogRef


class CheckSummary(BaseModel):
    """`advisor catalog check` without the repairs list: counts only."""

    catalog: CatalogRef
    sources: list[SourceOut]
    counts: list[dict[str, Any]] = Field(description="prices by region and OS: list, repaired, imported, missing")
    rules: list[dict[str, Any]] = Field(description="each repair rule, its meaning and how many prices it changed")
    nonpositive_unmarked: int = Field(description="prices <= 0 not marked missing: always 0")
    repairs: int = Field(description="prices a rule changed or marked missing (the list: advisor catalog check)")


# --- meta --------------------------------------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    catalog_version: str | None
    catalog_as_of: str | None = None


class Index(BaseModel):
    name: str
    api_version: str
    links: dict[str, str]
