"""A sweep for people (a rich table) and for spreadsheets (CSV, one row per scenario, the base first)."""

from __future__ import annotations

import csv
import io

from rich.markup import escape
from rich.table import Table

from models.sweep import ScenarioAnswer, SweepResult

CSV_COLUMNS = ["scenario", "status", "monthly_usd", "upfront_usd", "saving_monthly_usd", "saving_pct", "answered",
               "in_error", "moved", "top_moves", "binding_constraints", "changes", "catalog_version", "error"]
TOP_MOVES = 3


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _moves(answer: ScenarioAnswer, n: int = TOP_MOVES) -> str:
    return "; ".join(f"{m.count} {m.field} {m.from_value or '-'} -> {m.to_value or '-'}" for m in answer.moves[:n])


def _row(answer: ScenarioAnswer) -> dict[str, object]:
    return {"scenario": answer.name, "status": answer.status, "monthly_usd": answer.monthly_usd,
            "upfront_usd": answer.upfront_usd, "saving_monthly_usd": answer.saving_monthly_usd,
            "saving_pct": answer.saving_pct, "answered": answer.answered, "in_error": answer.in_error,
            "moved": answer.moved, "top_moves": _moves(answer),
            "binding_constraints": "; ".join(b.constraint for b in answer.binding_constraints),
            "changes": "; ".join(answer.changes), "catalog_version": answer.catalog_version, "error": answer.error}


def sweep_csv(result: SweepResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for answer in [result.base, *result.scenarios]:
        writer.writerow({k: "" if v is None else v for k, v in _row(answer).items()})
    return buffer.getvalue()


def sweep_table(result: SweepResult) -> list[object]:
    """The comparison table, then one line per scenario: its top moves, binding constraints, error, multipliers."""
    what = "rows" if result.kind == "estate" else "workloads"
    table = Table(title=f"sweep over the {result.kind}: {len(result.scenarios)} scenarios"
                        + ("" if result.complete else " (stopped before the end)"))
    table.add_column("scenario", overflow="fold")
    for col in ("$/month", "upfront", "saving/mo", "saving %", "moved"):
        table.add_column(col, justify="right", no_wrap=True)
    for answer in [result.base, *result.scenarios]:
        if answer.status == "error":
            table.add_row(escape(answer.name), "[red]error[/]", "", "", "", "")
            continue
        table.add_row(escape(answer.name), _money(answer.monthly_usd), _money(answer.upfront_usd),
                      _money(answer.saving_monthly_usd), "" if answer.saving_pct is None else f"{answer.saving_pct}",
                      "" if answer.moved is None else str(answer.moved))
    notes: list[object] = [f"{what} moved: service, purchase option or type differs from the base; saving = base - "
                           f"scenario; catalog {result.base.catalog_version} (a scenario that changes prices answers "
                           "from its own version: base + '+' + the changes' digest)"]
    for answer in [result.base, *result.scenarios]:
        name = escape(answer.name)
        if answer.error:
            notes.append(f"[red]{name}: error: {escape(answer.error)}[/]")
        if answer.in_error:
            notes.append(f"{name}: {answer.in_error} {what} in error")
        if answer.moves:
            notes.append(f"{name}: {escape(_moves(answer))}")
        for b in answer.binding_constraints:
            notes.append(f"{name}: binding: {escape(b.message)}")
        for m in answer.multipliers:
            notes.append(f"{name}: {m.kind} {escape(m.key)} x{m.factor:g} multiplies {escape(m.prices)}")
    return [table, *notes]
