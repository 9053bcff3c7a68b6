"""The tasks engines run: module-level functions on plain data (Arrow IPC bytes, dicts), building every model
(the scenario's catalog, polars frames, OR-Tools) inside, so they run the same in a local process or on a Ray
actor. A task returns its error as data ({"error": ...}) so one bad scenario never loses the others."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from advisor.batch import OUTPUT_COLUMNS, Evaluator, SeenIds, output_names, read_csv_bytes
from advisor.batch_io import cell_text
from advisor.errors import AdvisorError
from advisor.sweep.base import EstateBase, PortfolioBase
from advisor.sweep.prices import scenario_catalog


def to_ipc(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_ipc(sink)
    return sink.getvalue()


def from_ipc(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))


def failure(exc: BaseException) -> dict[str, Any]:
    """A task's error as data: the core's own message, or the kind and message of anything unexpected."""
    return {"error": str(exc) if isinstance(exc, AdvisorError) else f"{type(exc).__name__}: {exc}"}


# ----------------------------------------------------------------------------------------------- estates
def shards_of(frame: pl.DataFrame, chunk_rows: int) -> list[pl.DataFrame]:
    return [frame.slice(i, chunk_rows) for i in range(0, frame.height, chunk_rows)]


def shard_plan(shards: list[pl.DataFrame]) -> dict[str, list]:
    """Each shard's first row and the ids it shares with earlier shards (id -> 0-based row of the first one):
    what an Evaluator that had read the earlier shards would remember, so a duplicate id across shards is
    reported exactly as one evaluator reading them in order reports it."""
    first_rows, seen, start = [], [], 0
    first_of: dict[str, int] = {}
    for shard in shards:
        first_rows.append(start)
        ids = shard["id"].drop_nulls().to_list() if "id" in shard.columns else []
        seen.append({i: first_of[i] for i in dict.fromkeys(ids) if i in first_of})
        for offset, i in enumerate(shard["id"].to_list() if "id" in shard.columns else []):
            if i is not None:
                first_of.setdefault(i, start + offset)
        start += shard.height
    return {"first_rows": first_rows, "seen": seen}


def estate_shared(base: EstateBase) -> tuple[dict[str, Any], int]:
    """What every estate task shares (the shards as Arrow IPC) and the number of shards."""
    shards = shards_of(read_csv_bytes(base.csv), base.chunk_rows)
    return {"shards": [to_ipc(s) for s in shards], **shard_plan(shards),
            "include_free_tier": base.include_free_tier}, max(len(shards), 1)


def with_workload_changes(frame: pl.DataFrame, changes: dict[str, Any] | None) -> pl.DataFrame:
    """The text rows with the scenario's workload fields set (as contract CSV cells), on every row or the ids'."""
    if not changes or not changes["workloads"]["set"]:
        return frame
    ids = changes["workloads"]["ids"]
    chosen = pl.lit(True) if ids is None else pl.col("id").is_in(ids)
    columns = []
    for name, value in changes["workloads"]["set"].items():
        current = pl.col(name) if name in frame.columns else pl.lit(None, pl.String)
        columns.append(pl.when(chosen).then(pl.lit(cell_text(value), pl.String)).otherwise(current).alias(name))
    return frame.with_columns(columns)


def evaluate_shard(shared: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """One shard of the estate under one scenario: the output columns (own names) and ids, as Arrow IPC."""
    try:
        index, changes = payload["shard"], payload["changes"]
        catalog, applied = scenario_catalog(changes)
        done = {"error": None, "catalog_version": catalog.version, "multipliers": applied}
        if not shared["shards"]:
            return {**done, "frame": None}
        frame = with_workload_changes(from_ipc(shared["shards"][index]), changes)
        evaluator = Evaluator(catalog, shared["include_free_tier"], workers=1,
                              seen_ids=SeenIds(shared["seen"][index]))
        out = evaluator.evaluate(frame, shared["first_rows"][index])
        names = output_names(frame.columns)
        result = out.select([pl.col(names[c]).alias(c) for c in OUTPUT_COLUMNS])
        if "id" in frame.columns:
            result = result.with_columns(id=frame["id"])
        return {**done, "frame": to_ipc(result)}
    except Exception as exc:  # noqa: BLE001 - reported as this scenario's error, the others go on
        return failure(exc)


def evaluate_chunk(shared: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """`advisor evaluate --engine ray`: one chunk evaluated as the local path evaluates it (input columns and
    output columns), raising on errors as the local path does."""
    catalog, _ = scenario_catalog(None)
    frame = from_ipc(payload["chunk"])
    evaluator = Evaluator(catalog, shared["include_free_tier"], workers=1, vectorized=shared["vectorized"],
                          seen_ids=SeenIds(payload["seen"]))
    return {"frame": to_ipc(evaluator.evaluate(frame, payload["first_row"]))}


# ------------------------------------------------------------------------------------------------ portfolios
def portfolio_shared(base: PortfolioBase) -> dict[str, Any]:
    return {"portfolio": base.portfolio, "time_limit_s": base.time_limit_s}


def with_portfolio_changes(doc: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """The portfolio document with the scenario's constraint and workload changes (validated when planned)."""
    if not changes:
        return doc
    doc = dict(doc)
    constraints = dict(doc.get("constraints") or {})
    for name, value in changes["constraints"].items():
        if value is None:
            constraints.pop(name, None)
        else:
            constraints[name] = value
    doc["constraints"] = constraints
    fields, ids = changes["workloads"]["set"], changes["workloads"]["ids"]
    if fields:
        present = [w.get("id") for w in doc["workloads"] if isinstance(w, dict)]
        missing = [i for i in ids or [] if i not in present]
        if missing:
            raise AdvisorError(f"workloads.ids: no workload {missing[0]!r} in the base portfolio")
        doc["workloads"] = [{**w, **fields} if isinstance(w, dict) and (ids is None or w.get("id") in ids) else w
                            for w in doc["workloads"]]
    return doc


def plan_scenario(shared: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The base portfolio planned under one scenario, reduced to what a comparison needs."""
    from advisor.portfolio.plan import plan

    try:
        changes = payload["changes"]
        catalog, applied = scenario_catalog(changes)
        doc = plan(with_portfolio_changes(shared["portfolio"], changes), catalog=catalog,
                   time_limit_s=shared["time_limit_s"])
    except Exception as exc:  # noqa: BLE001 - reported as this scenario's error, the others go on
        return failure(exc)
    return {"error": None, "catalog_version": doc["catalog"]["version"], "multipliers": applied,
            "monthly_usd": doc["totals"]["monthly_usd"], "upfront_usd": doc["totals"]["upfront_usd"],
            "solver_status": doc["solver"]["status"], "reproducible": doc["solver"]["work"]["reproducible"],
            "placements": [{"workload_id": p["workload_id"], "service": p["choice"]["service"],
                            "purchase_option": p["choice"]["purchase_option"],
                            "instance_type": p["choice"]["instance_type"]} for p in doc["placements"]],
            "binding": [{"constraint": b["constraint"], "message": b["message"],
                         "costs_monthly_usd": b.get("costs_monthly_usd")}
                        for b in doc["explanation"]["binding_constraints"]]}


def plan_document(shared: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """`advisor plan A.json B.json --engine ray`: one portfolio's whole plan document (errors as data)."""
    from advisor.portfolio.plan import plan

    try:
        return {"error": None, "plan": plan(payload["portfolio"], time_limit_s=shared["time_limit_s"])}
    except Exception as exc:  # noqa: BLE001 - this portfolio's error; the others are still planned
        return failure(exc)
