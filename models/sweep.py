"""A sweep's answer: the base and every scenario answered, compared with the base.

Plain data, the same bytes on every engine: no timings, no host names, no engine name inside. Money is
rounded to the cent; `saving_*` is the base minus the scenario (positive: the scenario costs less).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AppliedMultiplier(_Out):
    """One price multiplier as the scenario's catalog applied it."""

    kind: Literal["purchase_option", "service", "family", "region"]
    key: str = Field(description="the purchase option, service, family or region it multiplies")
    factor: float
    prices: str = Field(description="what it multiplied, in words")


class Move(_Out):
    """Rows (estate) or workloads (portfolio) whose answer moved from one value to another."""

    field: Literal["service", "purchase_option", "instance_type"]
    from_value: str | None = Field(description="the base's value (null: none, e.g. not EC2 or in error)")
    to_value: str | None = Field(description="the scenario's value")
    count: int = Field(description="rows or workloads that moved this way")


class BindingConstraint(_Out):
    constraint: str
    message: str
    costs_monthly_usd: float | None = Field(None, description="what the constraint costs a month (the plan with "
                                                              "it relaxed is cheaper by this much)")


class ScenarioAnswer(_Out):
    name: str
    description: str
    status: Literal["ok", "error"]
    error: str | None = Field(None, description="why the scenario has no answer (the others still have theirs)")
    changes: list[str] = Field(description="each change the scenario made, in words")
    multipliers: list[AppliedMultiplier] = Field(description="each price multiplier as applied")
    catalog_version: str | None = Field(None, description="the catalog the scenario was answered from: the base "
                                                          "version, with '+' and the changes' digest if changed")
    monthly_usd: float | None = None
    upfront_usd: float | None = None
    saving_monthly_usd: float | None = Field(None, description="base monthly - this monthly")
    saving_pct: float | None = Field(None, description="saving as a % of the base monthly (2 decimals)")
    answered: int | None = Field(None, description="rows or workloads answered")
    in_error: int | None = Field(None, description="rows in error (estate); 0 for a portfolio plan")
    moved: int | None = Field(None, description="rows or workloads whose service, option or type moved")
    moves: list[Move] = Field(default_factory=list, description="what moved, most first")
    binding_constraints: list[BindingConstraint] = Field(default_factory=list,
                                                         description="constraints that bind (portfolios)")
    solver_status: str | None = Field(None, description="the plan's solver status (portfolios)")
    reproducible: bool | None = Field(None, description="false when the planner's wall-clock safety net stopped a "
                                                        "phase (a very busy machine): only then may a plan differ "
                                                        "between runs (portfolios)")


class SweepResult(_Out):
    kind: Literal["estate", "portfolio"]
    base: ScenarioAnswer = Field(description="the base answered as it is (name 'base')")
    scenarios: list[ScenarioAnswer] = Field(description="one per scenario, in the file's order")
    complete: bool = Field(True, description="false when the sweep was stopped before every scenario ran")
