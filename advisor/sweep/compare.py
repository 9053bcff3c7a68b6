"""A scenario's answer from its tasks' results, compared with the base: totals, saving, what moved."""

from __future__ import annotations

from typing import Any

import polars as pl

from advisor.batch import Summary
from advisor.sweep.scenarios import Scenario
from advisor.sweep.tasks import from_ipc
from models.sweep import AppliedMultiplier, BindingConstraint, Move, ScenarioAnswer

MOVE_FIELDS = ("service", "purchase_option", "instance_type")
NOT_RUN = "not run: the sweep was stopped before this scenario"


def _error(scenario: Scenario, message: str, parts: list[Any] | None = None) -> ScenarioAnswer:
    first = next((p for p in parts or [] if p and p.get("multipliers") is not None), None)
    return ScenarioAnswer(name=scenario.name, description=scenario.description, status="error", error=message,
                          changes=scenario.changes.summary(),
                          multipliers=[AppliedMultiplier(**m) for m in first["multipliers"]] if first else [],
                          catalog_version=first.get("catalog_version") if first else None)


def _failed(scenario: Scenario, parts: list[Any]) -> ScenarioAnswer | None:
    if any(p is None for p in parts):
        return _error(scenario, NOT_RUN)
    failed = next((p["error"] for p in parts if p["error"]), None)
    return _error(scenario, failed) if failed else None


def _saving(monthly: float, base: dict[str, Any] | None) -> tuple[float | None, float | None]:
    if base is None or base.get("monthly_usd") is None:
        return None, None
    saving = round(base["monthly_usd"] - monthly, 2)
    return saving, (round(saving / base["monthly_usd"] * 100, 2) if base["monthly_usd"] > 0 else None)


def moves(before: pl.DataFrame, after: pl.DataFrame) -> tuple[int, list[Move]]:
    """Rows (aligned) whose service, option or type differs: how many, and each from -> to with its count."""
    if before.height != after.height or before.is_empty():
        return 0, []
    frame = pl.concat([before.select([pl.col(f).alias(f"b_{f}") for f in MOVE_FIELDS]),
                       after.select([pl.col(f).alias(f"a_{f}") for f in MOVE_FIELDS])], how="horizontal")
    differs = [pl.col(f"b_{f}").ne_missing(pl.col(f"a_{f}")) for f in MOVE_FIELDS]
    moved = frame.filter(pl.any_horizontal(differs)).height
    found: list[Move] = []
    for f, ne in zip(MOVE_FIELDS, differs, strict=True):
        pairs = frame.filter(ne).group_by(f"b_{f}", f"a_{f}").len()
        found += [Move(field=f, from_value=b, to_value=a, count=n) for b, a, n in pairs.iter_rows()]
    order = {f: i for i, f in enumerate(MOVE_FIELDS)}
    found.sort(key=lambda m: (-m.count, order[m.field], m.from_value or "", m.to_value or ""))
    return moved, found


def estate_answer(scenario: Scenario, parts: list[Any], base: dict[str, Any] | None
                  ) -> tuple[ScenarioAnswer, dict[str, Any] | None]:
    """The estate under one scenario from its shards' results (in order); the detail is what the scenarios
    are compared with when this is the base."""
    failed = _failed(scenario, parts)
    if failed:
        return failed, None
    if scenario.changes.constraints:
        return _error(scenario, "constraints: an estate has no portfolio constraints (they apply when the base is a "
                                "portfolio; per-workload caps are the workload fields max_monthly_usd and "
                                "max_upfront_usd)", parts), None
    frames = [from_ipc(p["frame"]) for p in parts if p["frame"] is not None]
    summary, upfront = Summary(), 0.0
    for frame in frames:
        summary.add(frame.drop("id", strict=False), frame["id"] if "id" in frame.columns else None)
        upfront += frame.filter(pl.col("status") == "ok")["upfront_usd"].sum() or 0.0
    totals = summary.as_dict()
    rows = pl.concat(frames) if frames else pl.DataFrame(schema={f: pl.String for f in (*MOVE_FIELDS, "id")})
    ids = scenario.changes.workloads.ids
    if ids is not None and scenario.changes.workloads.set:
        present = set(rows["id"].to_list()) if "id" in rows.columns else set()
        missing = [i for i in ids if i not in present]
        if missing:
            return _error(scenario, f"workloads.ids: no row with id {missing[0]!r} in the base estate", parts), None
    monthly = totals["total_monthly_usd"]
    saving, pct = _saving(monthly, base)
    moved, found = moves(base["rows"], rows) if base else (0, [])
    answer = ScenarioAnswer(
        name=scenario.name, description=scenario.description, status="ok", changes=scenario.changes.summary(),
        multipliers=[AppliedMultiplier(**m) for m in parts[0]["multipliers"]],
        catalog_version=parts[0]["catalog_version"], monthly_usd=monthly, upfront_usd=round(upfront, 2),
        saving_monthly_usd=saving, saving_pct=pct, answered=totals["ok"], in_error=totals["errors"],
        moved=moved if base else None, moves=found)
    return answer, {"monthly_usd": monthly, "rows": rows.select(MOVE_FIELDS)}


def portfolio_answer(scenario: Scenario, parts: list[Any], base: dict[str, Any] | None
                     ) -> tuple[ScenarioAnswer, dict[str, Any] | None]:
    """The portfolio planned under one scenario, compared workload by workload with the base plan."""
    failed = _failed(scenario, parts)
    if failed:
        return failed, None
    result = parts[0]
    rows = pl.DataFrame(result["placements"], schema={"workload_id": pl.String, "service": pl.String,
                                                      "purchase_option": pl.String, "instance_type": pl.String})
    monthly = round(result["monthly_usd"], 2)
    saving, pct = _saving(monthly, base)
    moved, found = (0, [])
    if base:
        aligned = base["rows"].join(rows, on="workload_id", how="left", suffix="_new", maintain_order="left")
        moved, found = moves(aligned.select(MOVE_FIELDS),
                             aligned.select([pl.col(f"{f}_new").alias(f) for f in MOVE_FIELDS]))
    answer = ScenarioAnswer(
        name=scenario.name, description=scenario.description, status="ok", changes=scenario.changes.summary(),
        multipliers=[AppliedMultiplier(**m) for m in result["multipliers"]],
        catalog_version=result["catalog_version"], monthly_usd=monthly, upfront_usd=round(result["upfront_usd"], 2),
        saving_monthly_usd=saving, saving_pct=pct, answered=rows.height, in_error=0,
        moved=moved if base else None, moves=found, solver_status=result["solver_status"],
        reproducible=result["reproducible"],
        binding_constraints=[BindingConstraint(**b) for b in result["binding"]])
    return answer, {"monthly_usd": monthly, "rows": rows}
