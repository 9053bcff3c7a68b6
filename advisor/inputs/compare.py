"""As written versus advised: every workload read from a file, answered by the batch path (`recommend()` per
shape) and priced as written from the catalog, with the saving and the change that earns it.

One row per workload, in file order: provenance (file, address, line, kind, the plan's action), the contract
fields, the batch answer's columns, then `as_written`, `current_monthly_usd`, `saving_usd` (as written minus
advised; negative when the advice costs more, e.g. for a requirement the file does not meet) and `change`.
A workload with a value the file leaves open has status `unknown` and names it: it is never priced as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from advisor.batch import OUTPUT_COLUMNS, OUTPUT_SCHEMA, evaluate_records
from advisor.batch_io import cell_text
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import AdvisorError
from advisor.inputs.current import Current, NotPriced, price, sized
from advisor.inputs.model import Imported, ReadResult
from advisor.pricing import money
from advisor.workload_io import parse_workload
from models.workload import Workload

SOURCE_COLUMNS = ["source_file", "source_address", "source_line", "source_kind", "action"]
CONTRACT_COLUMNS = list(Workload.model_fields)
EXTRA_COLUMNS = ["as_written", "current_monthly_usd", "current_estimate", "current_lines", "saving_usd", "change",
                 "unknown", "notes"]
SCHEMA: dict[str, Any] = {
    **{c: pl.String for c in SOURCE_COLUMNS}, "source_line": pl.Int64,
    **{c: pl.String for c in CONTRACT_COLUMNS},
    **{k: v for k, v in OUTPUT_SCHEMA.items() if k != "tenancy"}, "chosen_tenancy": pl.String,
    "as_written": pl.String, "current_monthly_usd": pl.Float64, "current_estimate": pl.Boolean,
    "current_lines": pl.String, "saving_usd": pl.Float64, "change": pl.String, "unknown": pl.String,
    "notes": pl.String,
}


@dataclass
class EstateAnswer:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=SCHEMA, orient="row") if self.rows else pl.DataFrame(schema=SCHEMA)


def evaluate_estate(read: ReadResult, *, catalog: Catalog | None = None,
                    include_free_tier: bool = False) -> EstateAnswer:
    catalog = catalog or load_catalog()
    prepared = [_prepare(item, catalog) for item in read.items]
    answerable = [p for p in prepared if p.workload is not None]
    records = [{k: v for k, v in p.fields.items() if k in CONTRACT_COLUMNS} for p in answerable]
    answers = evaluate_records(records, catalog=catalog, include_free_tier=include_free_tier).rows if records else []
    by_id = {a["id"]: a for a in answers}
    rows = [_row(p, by_id.get(p.item.id)) for p in prepared]
    skipped = [{"source_file": s.source.file, "source_address": s.source.address, "source_line": s.source.line,
                "source_kind": s.source.kind, "reason": s.reason} for s in read.skipped]
    return EstateAnswer(rows, skipped, summarize(rows, skipped))


@dataclass
class Prepared:
    item: Imported
    fields: dict[str, Any]
    workload: Workload | None
    unknown: list[str]
    current: Current | None
    current_note: str | None


def _prepare(item: Imported, catalog: Catalog) -> Prepared:
    unknown = list(item.unknown)
    fields = dict(item.fields)
    try:
        fields = sized(item, catalog)
    except NotPriced as exc:
        unknown.append(str(exc))
    workload = None
    if not unknown:
        try:
            workload = parse_workload(fields)
        except AdvisorError as exc:
            unknown.append(str(exc))
    current, note = None, None
    if workload is not None and item.written is not None:
        try:
            current = price(item.written, workload, catalog)
        except (NotPriced, AdvisorError) as exc:
            note = f"as written not priced: {exc}"
    elif item.written is None:
        note = "the file does not say how it runs (no as-written price)"
    return Prepared(item, fields, workload, unknown, current, note)


def _row(p: Prepared, answer: dict | None) -> dict[str, Any]:
    src = p.item.source
    row: dict[str, Any] = {"source_file": src.file, "source_address": src.address, "source_line": src.line,
                           "source_kind": src.kind, "action": p.item.action}
    row.update({c: cell_text(p.fields.get(c)) for c in CONTRACT_COLUMNS})
    row.update({c: None for c in OUTPUT_COLUMNS if c != "tenancy"}, chosen_tenancy=None)
    if answer is not None:
        row.update({c: answer.get(c) for c in OUTPUT_COLUMNS if c != "tenancy"})
        row["chosen_tenancy"] = answer.get("chosen_tenancy", answer.get("tenancy"))
    if p.unknown:
        row.update(status="unknown", error="; ".join(p.unknown))
    current = p.current
    advised = row.get("monthly_usd") if row.get("status") == "ok" else None
    row["as_written"] = current.description if current else (p.item.written.describe() if p.item.written else None)
    row.update(
        current_monthly_usd=current.monthly_usd if current else None,
        current_estimate=current.estimate if current else None,
        current_lines=" + ".join(f"{line.item} = ${money(line.monthly_usd):,.2f}" for line in current.lines)
        if current else None,
        saving_usd=money(current.monthly_usd - advised) if current and advised is not None else None,
        change=change(row) if current and advised is not None else None,
        unknown="; ".join(p.unknown) or None,
        notes="; ".join([*p.item.notes, *([p.current_note] if p.current_note else [])]) or None,
    )
    return row


def change(row: dict) -> str:
    """'as written -> advised' in a line: what to change to earn the saving."""
    advised = " ".join(str(x) for x in (row.get("service"), row.get("instance_type"),
                                        f"x{row.get('count')}" if row.get("count") else None,
                                        row.get("purchase_option"), row.get("term"), row.get("payment")) if x)
    return f"{row.get('as_written')} -> {advised}"


def summarize(rows: list[dict], skipped: list[dict]) -> dict[str, Any]:
    priced = [r for r in rows if r["current_monthly_usd"] is not None]
    compared = [r for r in priced if r["saving_usd"] is not None]
    ok = [r for r in rows if r["status"] == "ok"]
    return {
        "workloads": len(rows), "answered": len(ok),
        "unknown": sum(r["status"] == "unknown" for r in rows),
        "errors": sum(r["status"] == "error" for r in rows), "skipped": len(skipped),
        "as_written_priced": len(priced),
        "as_written_monthly_usd": money(sum(r["current_monthly_usd"] for r in priced)),
        "advised_monthly_usd": money(sum(r["monthly_usd"] or 0 for r in ok)),
        "compared": len(compared),
        "compared_as_written_monthly_usd": money(sum(r["current_monthly_usd"] for r in compared)),
        "compared_advised_monthly_usd": money(sum(r["monthly_usd"] for r in compared)),
        "saving_usd": money(sum(r["saving_usd"] for r in compared)),
        "catalog_version": next((r["catalog_version"] for r in ok if r.get("catalog_version")), None),
    }
