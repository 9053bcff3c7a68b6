"""The command-line side of inputs: `advisor evaluate` on estate files, `advisor import`, `advisor diff`."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from advisor.inputs import read_paths
from advisor.inputs.compare import EstateAnswer, evaluate_estate
from advisor.inputs.diff import Diff, diff, gate_fails, markdown, usd

GATE_EXIT = 3


def evaluate(paths: list[Path], output: Path, fmt: str, include_free_tier: bool, console: Console,
             err: Console) -> EstateAnswer:
    """Evaluate estate files and write one row per workload (as written and advised) to `output`."""
    from advisor.batch_io import ChunkWriter

    answer = evaluate_estate(read_paths(paths), include_free_tier=include_free_tier)
    frame = answer.frame()
    with ChunkWriter(output, fmt) as writer:
        writer.write(frame)
        writer.finish(frame.clear())
    report = console if str(output) != "-" else err
    if str(output) != "-":
        beside = output.with_name(output.name + ".summary.json")
        beside.write_text(json.dumps({"summary": answer.summary, "skipped": answer.skipped}, indent=2) + "\n")
        report.print(f"wrote {len(answer.rows)} rows to {output}; summary and skipped objects in {beside}",
                     highlight=False)
    report.print(estate_table(answer))
    if answer.skipped:
        report.print(skipped_table(answer.skipped))
    return answer


def estate_table(answer: EstateAnswer) -> Table:
    s = answer.summary
    table = Table(title=f"{s['workloads']} workloads: {s['answered']} answered, {s['unknown']} unknown, "
                        f"{s['errors']} errors, {s['skipped']} objects skipped (catalog {s['catalog_version']})")
    for col in ("workload", "as written", "as written $/mo", "advised", "advised $/mo", "saving $/mo"):
        table.add_column(col, justify="right" if "$" in col else "left", overflow="fold")
    for r in answer.rows:
        advised = " ".join(str(x) for x in (r["service"], r["instance_type"], r["count"] and f"x{r['count']}",
                                            r["purchase_option"], r["term"]) if x) if r["status"] == "ok" else (
            f"[yellow]{r['status']}: {r['error']}[/]")
        table.add_row(f"{r['id']}\n[dim]{r['source_file']}{':' + str(r['source_line']) if r['source_line'] else ''}"
                      "[/]", r["as_written"] or "[dim]not stated[/]", usd(r["current_monthly_usd"]) if r["as_written"]
                      else "", advised, usd(r["monthly_usd"]) if r["status"] == "ok" else "",
                      usd(r["saving_usd"]) if r["saving_usd"] is not None else "")
    table.add_row("[bold]total (workloads priced both ways)[/]", "", usd(s["compared_as_written_monthly_usd"]), "",
                  usd(s["compared_advised_monthly_usd"]), f"[bold]{usd(s['saving_usd'])}[/]")
    return table


def skipped_table(skipped: list[dict]) -> Table:
    table = Table(title=f"{len(skipped)} objects skipped")
    for col in ("object", "where", "reason"):
        table.add_column(col, overflow="fold")
    for s in skipped:
        where = s["source_file"] + (f":{s['source_line']}" if s["source_line"] else "")
        table.add_row(s["source_address"], where, s["reason"])
    return table


def import_csv(paths: list[Path], output: Path, console: Console, err: Console) -> int:
    """Write the contract CSV (with provenance and what is unknown) for people to complete and evaluate."""
    from advisor.batch_io import ChunkWriter
    from advisor.catalog.store import load_catalog
    from advisor.inputs.export import contract_frame

    read = read_paths(paths)
    frame = contract_frame(read, load_catalog())
    with ChunkWriter(output, "csv") as writer:
        writer.write(frame)
        writer.finish(frame.clear())
    report = console if str(output) != "-" else err
    unknown = frame["unknown"].is_not_null().sum()
    report.print(f"wrote {frame.height} workloads to {output} ({unknown} with unknown values to fill in: see the "
                 f"`unknown` column); {len(read.skipped)} objects skipped", highlight=False)
    if read.skipped:
        report.print(skipped_table([{"source_file": s.source.file, "source_address": s.source.address,
                                     "source_line": s.source.line, "reason": s.reason} for s in read.skipped]))
    return frame.height


def run_diff(base: list[Path], head: list[Path], fmt: str, limit: float | None, console: Console) -> int:
    """Print the cost diff; the exit code is GATE_EXIT when the as-written increase is above `limit`."""
    import sys

    d = diff(evaluate_estate(read_paths(base)), evaluate_estate(read_paths(head)))
    if fmt == "json":
        sys.stdout.write(json.dumps({**d.as_dict(), "fail_above_usd": limit,
                                     "gate_failed": limit is not None and gate_fails(d, limit)}, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(markdown(d, gate=limit))
    else:
        console.print(diff_table(d))
    return GATE_EXIT if limit is not None and gate_fails(d, limit) else 0


def diff_table(d: Diff) -> Table:
    table = Table(title=f"monthly cost change: {usd(d.delta_as_written, signed=True)} as written, "
                        f"{usd(d.delta_advised, signed=True)} as advised")
    for col in ("change", "workload", "as written before", "after", "change $", "advised before", "after",
                "change $"):
        table.add_column(col, justify="left" if col in ("change", "workload") else "right", overflow="fold")
    for c in d.changes:
        if c.change == "unchanged":
            continue
        table.add_row(c.change, c.id, usd(c.before_as_written, absent=c.absent_before),
                      usd(c.after_as_written, absent=c.absent_after), usd(c.delta_as_written, signed=True),
                      usd(c.before_advised, absent=c.absent_before), usd(c.after_advised, absent=c.absent_after),
                      usd(c.delta_advised, signed=True))
    return table
