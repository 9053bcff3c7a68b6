"""Rich renderings of answers for people at a terminal (the JSON is the contract; this is for reading).

Every text that comes from data is escaped (a `[a-z]` in a message is text, not markup); the wording
(labels, money, folded twins, `top_k`) is `advisor.wording`'s, shared with the review page.
"""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from advisor import wording
from models.recommendation import Recommendation


def _alternatives_table(title: str, rows: list[wording.Row], choice_usd: float | None) -> Table:
    table = Table(title=title)
    for col in ("option", "$/month", "vs choice", "upfront", "risk", "ops", "prices"):
        table.add_column(col, justify="right" if col in ("$/month", "vs choice", "upfront") else "left")
    for r in rows:
        o = r.option
        diff = "" if choice_usd is None else f"+{wording.usd(o.monthly_usd - choice_usd)}" \
            if o.monthly_usd - choice_usd >= 0.005 else "same" if abs(o.monthly_usd - choice_usd) < 0.005 \
            else wording.usd(o.monthly_usd - choice_usd)
        text = escape(r.label) + (f"\n[dim]{escape(r.note)}[/]" if r.note else "")
        table.add_row(text, wording.usd(o.monthly_usd), diff, wording.usd(o.upfront_usd), escape(o.interruption_risk),
                      o.ops_effort, "estimate" if o.estimates else "list")
    return table


def recommendation(rec: Recommendation, top_k: int = 5) -> Group:
    items: list = []
    shown = wording.alternatives(rec.choice, rec.alternatives, top_k)
    if rec.choice:
        c = rec.choice
        lines = Table(show_header=True, box=None)
        lines.add_column("cost line")
        lines.add_column("$/month", justify="right")
        for line in c.cost_lines:
            lines.add_row(escape(wording.tidy(line.item)) + (" [yellow](estimate)[/]" if line.estimate else ""),
                          wording.usd(line.monthly_usd))
        lines.add_row("[bold]total[/]", f"[bold]{wording.usd(c.monthly_usd)}[/]")
        twins = f"\n[dim]{escape(shown.choice.note)}[/]" if shown.choice and shown.choice.note else ""
        head = (f"[bold green]{escape(wording.label(c))}[/]{twins}\n{wording.usd(c.monthly_usd)} a month averaged "
                f"over the horizon, {wording.usd(c.upfront_usd)} upfront; interruption risk "
                f"{escape(c.interruption_risk)}; ops effort {c.ops_effort}")
        items.append(Panel(Group(head, lines), title=f"{escape(rec.workload_id)}: recommendation"))
    else:
        caps = sorted({r.reason for r in rec.rejected if r.reason.startswith("over_")})
        why = f" ({', '.join(caps)}: see rejected)" if caps else " (see rejected)"
        items.append(Panel(f"[bold red]no placement meets every hard requirement[/]{why}",
                           title=escape(rec.workload_id)))
    base = rec.baseline
    if base.monthly_usd is not None:
        saving = wording.saving_sentence(rec.savings_vs_baseline_usd)
        items.append(f"baseline: {escape(base.description)} ({base.instance_type} x{base.count}) "
                     f"{wording.usd(base.monthly_usd)} a month" + (f"; the choice {saving}" if saving else ""))
    choice_usd = rec.choice.monthly_usd if rec.choice else None
    if shown.top:
        items.append(_alternatives_table(f"alternatives, best first (top {top_k})", shown.top, choice_usd))
    if shown.other_services:
        items.append(_alternatives_table("the best of each other service", shown.other_services, choice_usd))
    if shown.hidden:
        items.append(f"[dim]{shown.hidden} more priced options (other purchase options of the services above): "
                     f"--format json lists every one[/]")
    if rec.rejected:
        rej = Table(title="rejected")
        for col in ("service", "option", "reason", "why"):
            rej.add_column(col)
        for r in rec.rejected:
            rej.add_row(wording.service_name(r.service), escape(r.option or "all"), r.reason,
                        escape(wording.tidy(r.message)))
        items.append(rej)
    items.append(f"catalog {rec.catalog.version}, as of {rec.catalog.as_of}")
    return Group(*items)
