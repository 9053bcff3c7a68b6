"""`advisor plan`: read a portfolio file, plan it, print a table or the contract's JSON; `advisor validate`:
audit a plan against its portfolio and the catalog."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from advisor.errors import InputError
from advisor.portfolio.plan import plan
from advisor.workload_io import load_document


def run_plan(file: Path, *, json_output: bool, time_limit_s: float, console: Console) -> None:
    doc = plan(load_document(file), time_limit_s=time_limit_s)
    if json_output:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    table = Table(title=f"plan: {len(doc['placements'])} workloads")
    money = ("$/month alone", "$/month in plan", "upfront alone")
    for col in ("workload", "service", "instance", "count", "option", "term", *money):
        table.add_column(col, justify="right" if col in ("count", *money) else "left")
    for p in doc["placements"]:
        c = p["choice"]
        table.add_row(p["workload_id"], c["service"], c["instance_type"] or "", str(c["count"]),
                      c["purchase_option"], c["term"] or "", f"{c['monthly_usd']:,.2f}", f"{p['monthly_usd']:,.2f}",
                      f"{c['upfront_usd']:,.2f}")
    console.print(table)
    t, s = doc["totals"], doc["solver"]
    console.print(f"total ${t['monthly_usd']:,.2f}/month, ${t['upfront_usd']:,.2f} upfront; each alone "
                  f"${t['alone_monthly_usd']:,.2f}; shared fees ${t['shared_fees_monthly_usd']:,.2f}")
    console.print(f"packing saves ${t['packing_savings_monthly_usd']:,.2f}, "
                  f"host sharing ${t['host_sharing_savings_monthly_usd']:,.2f}")
    bound = (f"bound ${s['bound_monthly_usd']:,.2f}, gap {s['gap']:.2%}" if s["bound_monthly_usd"] is not None
             else "pooling bound not proven in time")
    r = s["relaxation"]
    console.print(f"solver {s['status']}: objective ${s['objective_monthly_usd']:,.2f}, {bound} (relaxation "
                  f"{'converged' if r['converged'] else 'stopped by the time limit'} after {r['iterations']} LPs), "
                  f"{s['seconds']:.2f} s")
    for cluster in doc["shared"]["clusters"]:
        console.print(f"cluster {cluster['id']}: " + ", ".join(
            f"{g['node_count']} x {g['instance_type']} {g['replicas_per_node']}" for g in cluster["nodes"]))
    for b in doc["explanation"]["binding_constraints"]:
        console.print(f"[yellow]{b['message']}[/]")


def run_validate(plan_file: Path, portfolio_file: Path, *, console: Console) -> int:
    """Audit a plan (`advisor plan --format json`) against its portfolio: 0 when every price, total and
    constraint checks out against the catalog, else 1 with each discrepancy on its own line."""
    from advisor.catalog.store import load_catalog
    from advisor.portfolio.plan import parse
    from advisor.portfolio.validate import audit

    document = load_document(plan_file)
    if not isinstance(document, dict) or not {"placements", "shared", "totals"} <= set(document):
        raise InputError(f"{plan_file} is not a plan document (placements, shared, totals)", field="plan")
    problems, figures = audit(document, parse(load_document(portfolio_file)), load_catalog())
    if problems:
        for problem in problems:
            console.print(f"[red]discrepancy:[/] {problem}", highlight=False, soft_wrap=True)
        console.print(f"{len(problems)} discrepancies; the plan's parts cost ${figures.monthly_cents / 100:,.2f} "
                      "a month by the catalog", highlight=False, soft_wrap=True)
        return 1
    console.print(f"the plan checks out: ${figures.monthly_cents / 100:,.2f} a month, "
                  f"${figures.upfront_cents / 100:,.2f} upfront, recomputed from the catalog",
                  highlight=False, soft_wrap=True)
    return 0
