"""Rich renderings of answers for people at a terminal (the JSON is the contract; this is for reading)."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from models.recommendation import Option, Recommendation


def _option_label(o: Option) -> str:
    parts = [o.service]
    if o.instance_type:
        parts.append(f"{o.instance_type} x{o.count}")
    elif o.count:
        parts.append(f"x{o.count}")
    parts.append(o.purchase_option.replace("_", "-"))
    parts += [p for p in (o.offering_class, o.plan_type and o.plan_type.replace("_", " "), o.term,
                          o.payment and o.payment.replace("_", " ")) if p]
    if o.tenancy != "shared":
        parts.append(f"{o.tenancy} tenancy")
    return " ".join(parts)


def recommendation(rec: Recommendation) -> Group:
    items = []
    if rec.choice:
        c = rec.choice
        lines = Table(show_header=True, box=None)
        lines.add_column("cost line")
        lines.add_column("$/month", justify="right")
        for line in c.cost_lines:
            lines.add_row(line.item + (" [yellow](estimate)[/]" if line.estimate else ""), f"{line.monthly_usd:,.2f}")
        lines.add_row("[bold]total[/]", f"[bold]{c.monthly_usd:,.2f}[/]")
        head = (f"[bold green]{_option_label(c)}[/]\n${c.monthly_usd:,.2f}/month averaged over the horizon, "
                f"${c.upfront_usd:,.2f} upfront; interruption risk {c.interruption_risk}; ops effort {c.ops_effort}")
        items.append(Panel(Group(head, lines), title=f"{rec.workload_id}: recommendation"))
    else:
        items.append(Panel("[bold red]no placement meets every hard requirement[/] (see rejected)",
                           title=rec.workload_id))
    base = rec.baseline
    if base.monthly_usd is not None:
        saving = f"; saves ${rec.savings_vs_baseline_usd:,.2f}/month" if rec.savings_vs_baseline_usd is not None else ""
        items.append(f"baseline: {base.description} ({base.instance_type} x{base.count}) "
                     f"${base.monthly_usd:,.2f}/month{saving}")
    alts = Table(title="alternatives, best first")
    for col in ("option", "$/month", "upfront", "risk", "ops", "estimate?"):
        alts.add_column(col, justify="right" if col in ("$/month", "upfront") else "left")
    for o in rec.alternatives:
        alts.add_row(_option_label(o), f"{o.monthly_usd:,.2f}", f"{o.upfront_usd:,.2f}", o.interruption_risk,
                     o.ops_effort, "yes" if o.estimates else "")
    items.append(alts)
    rej = Table(title="rejected")
    for col in ("service", "option", "reason", "why"):
        rej.add_column(col)
    for r in rec.rejected:
        rej.add_row(r.service, r.option or "", r.reason, r.message)
    items.append(rej)
    items.append(f"catalog {rec.catalog.version}, as of {rec.catalog.as_of}")
    return Group(*items)
