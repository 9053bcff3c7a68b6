"""A what-if sweep on the review page: one row per scenario (the base first), a chart of cost by scenario,
and the job's state while it waits or runs. Everything comes from the SweepResult (models/sweep.py); this
module only puts it into words: services by name, purchase options as people say them, money as dollars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor import wording
from advisor.review import charts
from models.sweep import Move, ScenarioAnswer, SweepResult

MOVES_SHOWN = 4
FIELD_WORDS = {"service": "service", "purchase_option": "purchase option", "instance_type": "instance type"}
OPTION_WORDS = {"on_demand": "on-demand", "reserved": "reserved instance", "savings_plan": "savings plan",
                "spot": "Spot", "capacity_reservation": "On-Demand Capacity Reservation"}
STATUS_WORDS = {"queued": "waiting to run", "running": "running", "done": "finished",
                "failed": "failed", "cancelled": "cancelled"}


@dataclass(frozen=True)
class JobView:
    """What the page says about the job itself (from the store), beside the result."""

    id: str
    status: str
    kind: str
    scenarios: int
    done: int
    total: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    cancel_requested: bool = False

    @property
    def status_text(self) -> str:
        text = STATUS_WORDS.get(self.status, self.status)
        if self.status == "running" and self.cancel_requested:
            text += " (asked to stop: it stops after the tasks under way)"
        return text

    @property
    def waiting(self) -> bool:
        return self.status in ("queued", "running")


@dataclass
class Row:
    name: str
    description: str
    changes: list[str]
    monthly: str
    upfront: str
    saving: str
    saving_class: str
    moved: str
    moves: list[str]
    binding: list[str]
    problems: list[str]
    is_base: bool = False
    notes: list[str] = field(default_factory=list)


def _value(field_name: str, value: str | None) -> str:
    if value is None:
        return "none"
    if field_name == "service":
        return wording.service_name(value)
    if field_name == "purchase_option":
        return OPTION_WORDS.get(value, value.replace("_", " "))
    return value


def move_text(move: Move, unit: str) -> str:
    """'2 rows: service Amazon EC2 → AWS Lambda'."""
    count = f"{move.count} {unit if move.count == 1 else unit + 's'}"
    return (f"{count}: {FIELD_WORDS[move.field]} {_value(move.field, move.from_value)} → "
            f"{_value(move.field, move.to_value)}")


def _saving(answer: ScenarioAnswer) -> tuple[str, str]:
    if answer.saving_monthly_usd is None:
        return "", ""
    pct = f" ({abs(answer.saving_pct):.2f} %)" if answer.saving_pct is not None else ""
    if answer.saving_monthly_usd >= 0.005:
        return f"saves {wording.usd(answer.saving_monthly_usd)}{pct}", "save"
    if answer.saving_monthly_usd <= -0.005:
        return f"costs {wording.usd(-answer.saving_monthly_usd)}{pct} more", "more"
    return "same as the base", ""


def row(answer: ScenarioAnswer, unit: str, *, is_base: bool = False) -> Row:
    saving, saving_class = _saving(answer)
    problems = [answer.error] if answer.error else []
    if answer.in_error:
        problems.append(f"{answer.in_error} {unit}{'s' if answer.in_error != 1 else ''} could not be answered")
    notes = []
    if answer.reproducible is False:
        notes.append("the planner's wall-clock safety net stopped a phase (a busy machine): this plan may differ "
                     "between runs")
    if answer.solver_status:
        notes.append(f"plan: {answer.solver_status.lower()}")
    binding = []
    for b in answer.binding_constraints:
        cost = f" (it costs {wording.usd(b.costs_monthly_usd)} a month)" if b.costs_monthly_usd else ""
        binding.append(f"{b.message}{cost}")
    if is_base or answer.moved is None:
        moved = ""
    elif answer.moved == 0:
        moved = f"no {unit} moved"
    else:
        moved = f"{answer.moved} {unit}{'s' if answer.moved != 1 else ''} moved"
    return Row(name=answer.name, description=answer.description, changes=list(answer.changes),
               monthly=wording.usd(answer.monthly_usd) if answer.status == "ok" else "—",
               upfront=wording.usd(answer.upfront_usd) if answer.status == "ok" else "—",
               saving=saving, saving_class=saving_class, moved=moved,
               moves=[move_text(m, unit) for m in answer.moves[:MOVES_SHOWN]]
               + ([f"and {len(answer.moves) - MOVES_SHOWN} more changes"] if len(answer.moves) > MOVES_SHOWN else []),
               binding=binding, problems=problems, is_base=is_base, notes=notes)


def summary(result: SweepResult) -> str:
    """One sentence: the cheapest scenario against the base, and how many could not be answered."""
    answered = [s for s in result.scenarios if s.status == "ok" and s.monthly_usd is not None]
    failed = len(result.scenarios) - len(answered)
    what = "estate" if result.kind == "estate" else "portfolio"
    text = f"{len(result.scenarios)} what-if scenarios over the {what}"
    if result.base.status != "ok":
        return text + f"; the base itself could not be answered: {result.base.error}"
    text += f", whose base costs {wording.usd(result.base.monthly_usd)} a month"
    if answered:
        best = min(answered, key=lambda s: (s.monthly_usd, s.name))
        text += f". The cheapest is “{best.name}” at {wording.usd(best.monthly_usd)} a month"
        if best.saving_monthly_usd and best.saving_monthly_usd > 0:
            text += f" ({wording.usd(best.saving_monthly_usd)} less than the base)"
    if failed:
        text += f"; {failed} could not be answered (see Problems)"
    if not result.complete:
        text += ". The sweep was stopped before every scenario ran"
    return text + "."


def sweep_context(job: JobView, result: SweepResult | None) -> dict[str, Any]:
    """Everything the sweep page shows; `result` is None until the job has one."""
    context: dict[str, Any] = {"kind": "sweep", "title": f"What-if sweep {job.id}", "job": job, "rows": [],
                               "summary": "", "charts": {}, "catalog_version": None, "complete": True,
                               "unit": "row" if job.kind == "estate" else "workload"}
    if result is None:
        return context
    unit = context["unit"]
    rows = [row(result.base, unit, is_base=True)] + [row(s, unit) for s in result.scenarios]
    chart = charts.scenario_costs([(result.base.name, result.base.monthly_usd)]
                                  + [(s.name, s.monthly_usd if s.status == "ok" else None)
                                     for s in result.scenarios])
    context.update(rows=rows, summary=summary(result), charts={chart.key: chart} if chart else {},
                   catalog_version=result.base.catalog_version, complete=result.complete)
    return context
