"""A what-if sweep on the review page: one row per scenario (the base first), a chart of cost by scenario,
and the job's state while it waits or runs. Everything comes from the SweepResult (models/sweep.py); this
module only puts it into words: services by name, purchase options as people say them, money as dollars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor import wording
from advisor.review import charts, form
from advisor.sweep.scenarios import Changes, ScenarioFile
from models.sweep import Move, ScenarioAnswer, SweepResult

MOVES_SHOWN = 4
FIELD_WORDS = {"service": "service", "purchase_option": "purchase option", "instance_type": "instance type"}
OPTION_WORDS = {"on_demand": "on-demand", "reserved": "reserved instance", "savings_plan": "savings plan",
                "spot": "Spot", "capacity_reservation": "On-Demand Capacity Reservation"}
PRICE_SERVICES = {"ec2": "EC2", "fargate": "Fargate", "lambda": "Lambda", "lightsail": "Lightsail", "ebs": "EBS",
                  "ecs": "ECS", "eks": "EKS", "batch": "AWS Batch", "beanstalk": "Elastic Beanstalk",
                  "network": "network (data transfer, public IPv4, load balancers)"}
CONSTRAINT_WORDS = {"max_monthly_usd": "the monthly budget", "max_upfront_usd": "the upfront cap",
                    "max_spot_share": "the most of the vCPU on Spot", "vcpu_quotas": "the vCPU quotas",
                    "default_quotas": "AWS's default vCPU quotas", "existing_commitments": "the commitments owned"}
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
    unanswered: str = ""
    is_base: bool = False
    notes: list[str] = field(default_factory=list)


def _value(field_name: str, value: str | None) -> str:
    if value is None:  # a service of none: the row had no answer (in error); no type: not on an instance
        return "no answer" if field_name == "service" else "none"
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


def _factor(value: float) -> str:
    """'x1.3 (+30 %)', 'x0.9 (-10 %)'."""
    change = (value - 1) * 100
    return f"×{value:g} ({'+' if change >= 0 else '−'}{abs(change):g} %)"


def _setting(value: Any, *, money: bool = False, share: bool = False) -> str:
    if value is None:
        return "removed"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if money and isinstance(value, int | float):
        return wording.usd(value)
    if share and isinstance(value, int | float):
        return f"{value * 100:g} %"
    if isinstance(value, list | tuple):
        return ", ".join(_setting(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_setting(v)}" for k, v in value.items()) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def change_words(changes: Changes) -> list[str]:
    """Each change of a scenario in words: what it multiplies or sets, by field label, never by key."""
    prices = changes.prices
    out = [f"{OPTION_WORDS.get(k, k)} prices {_factor(v)}" for k, v in prices.purchase_options.items()]
    out += [f"{PRICE_SERVICES.get(k, k)} prices {_factor(v)}" for k, v in prices.services.items()]
    out += [f"{k} instance prices {_factor(v)}" for k, v in prices.families.items()]
    out += [f"EC2 prices in {k} {_factor(v)}" for k, v in prices.regions.items()]
    out += [f"{p.instance_type} on-demand in {p.region} ({p.os}) set to ${p.usd_per_hour:g} an hour"
            for p in changes.catalog.on_demand]
    out += [f"catalog fact {k} set to {_setting(v)}" for k, v in changes.catalog.facts.items()]
    for k, v in changes.constraints.items():
        what = CONSTRAINT_WORDS.get(k, k.replace("_", " "))
        out.append(f"{what} removed" if v is None else
                   f"{what} set to {_setting(v, money=k.endswith('_usd'), share=k.endswith('_share'))}")
    scope = ("every workload" if changes.workloads.ids is None else
             ("workload " if len(changes.workloads.ids) == 1 else "workloads ") + ", ".join(changes.workloads.ids))
    for k, v in changes.workloads.set.items():
        spec = form.FIELDS.get(k)
        label = spec.label.lower() if spec else k.replace("_", " ")
        unit = f" {spec.unit}" if spec and spec.unit and not isinstance(v, list | bool) and v is not None else ""
        if v == 1 and unit.endswith("s"):
            unit = unit[:-1]
        shown = ", ".join(wording.service_name(x) for x in v) if k == "allowed_services" and isinstance(v, list) \
            else _setting(v, money=k.endswith("_usd"))
        out.append(f"{label} set to {shown}{unit} on {scope}")
    return out


def _saving(answer: ScenarioAnswer) -> tuple[str, str]:
    if answer.saving_monthly_usd is None:
        return "", ""
    pct = f" ({abs(answer.saving_pct):.2f} %)" if answer.saving_pct is not None else ""
    if answer.saving_monthly_usd >= 0.005:
        return f"saves {wording.usd(answer.saving_monthly_usd)}{pct}", "save"
    if answer.saving_monthly_usd <= -0.005:
        return f"costs {wording.usd(-answer.saving_monthly_usd)}{pct} more", "more"
    return "same as the base", ""


def row(answer: ScenarioAnswer, unit: str, *, is_base: bool = False, changes: Changes | None = None) -> Row:
    saving, saving_class = _saving(answer)
    problems = [answer.error] if answer.error else []
    notes = []
    unanswered = "" if not answer.in_error else \
        f"{answer.in_error} {unit}{'s' if answer.in_error != 1 else ''} could not be answered (each {unit} says why)"
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
    return Row(name=answer.name, description=answer.description,
               changes=change_words(changes) if changes is not None else list(answer.changes),
               monthly=wording.usd(answer.monthly_usd) if answer.status == "ok" else "—",
               upfront=wording.usd(answer.upfront_usd) if answer.status == "ok" else "—",
               saving=saving, saving_class=saving_class, moved=moved,
               moves=[move_text(m, unit) for m in answer.moves[:MOVES_SHOWN]]
               + ([f"and {len(answer.moves) - MOVES_SHOWN} more changes"] if len(answer.moves) > MOVES_SHOWN else []),
               binding=binding, problems=problems, unanswered=unanswered, is_base=is_base, notes=notes)


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


def sweep_context(job: JobView, result: SweepResult | None, scenarios: ScenarioFile | None = None) -> dict[str, Any]:
    """Everything the sweep page shows; `result` is None until the job has one; `scenarios` (the sweep's own
    file) words each scenario's changes (else the result's own summary of them is shown)."""
    context: dict[str, Any] = {"kind": "sweep", "title": f"What-if sweep {job.id}", "job": job, "rows": [],
                               "summary": "", "charts": {}, "catalog_version": None, "complete": True,
                               "unit": "row" if job.kind == "estate" else "workload"}
    if result is None:
        return context
    unit = context["unit"]
    given = {s.name: s.changes for s in scenarios.scenarios} if scenarios else {}
    rows = [row(result.base, unit, is_base=True)] + [row(s, unit, changes=given.get(s.name))
                                                     for s in result.scenarios]
    if result.kind == "estate":  # said where it matters: an estate's rows are answered one by one
        for r in rows:
            changes = given.get(r.name)
            if changes is not None and changes.constraints:
                r.notes.append("portfolio constraints do not apply to an estate (each row is answered alone)")
    chart = charts.scenario_costs([(result.base.name, result.base.monthly_usd)]
                                  + [(s.name, s.monthly_usd if s.status == "ok" else None)
                                     for s in result.scenarios])
    context.update(rows=rows, summary=summary(result), charts={chart.key: chart} if chart else {},
                   catalog_version=result.base.catalog_version, complete=result.complete)
    return context
