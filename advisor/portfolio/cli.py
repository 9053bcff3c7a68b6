"""`advisor plan`: read a portfolio file, plan it, print a table or the contract's JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from advisor.portfolio.plan import plan
from advisor.workload_io import load_document


def run_plan(file: Path, *, json_output: bool, time_limit_s: float, console: Console) -> None:
    doc = plan(load_document(file), time_limit_s=time_limit_s)
    if json_output:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    table = Table(title=f"plan: {len(doc['placements'])} workloads")
    for col in ("workload", "service", "instance", "count", "option", "term", "$/month", "upfront"):
        table.add_column(col, justify="right" if col in ("count", "$/month", "upfront") else "left")
    for p in doc["placements"]:
        c = p["choice"]
        table.add_row(p["workload_id"], c["service"], c["instance_type"] or "", str(c["count"]),
                      c["purchase_option"], c["term"] or "", f"{c['monthly_usd']:,.2f}", f"{c['upfront_usd']:,.2f}")
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
            f"{g['count']} x {g['instance_type']} {g['replicas_per_node']}" for g in cluster["nodes"]))
    for b in doc["explanation"]["binding_constraints"]:
        console.print(f"[yellow]{b['message']}[/]")
