"""The `advisor` command line: a thin door over the core (typer + rich)."""

from __future__ import annotations

import json
import os as os_module
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.errors import AdvisorError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Where, and how, should this workload run on AWS, and what will it cost?")
catalog_app = typer.Typer(no_args_is_help=True, help="Look up and refresh the prices and limits advice rests on.")
app.add_typer(catalog_app, name="catalog")

EXIT_CODES = {
    0: "done (with `evaluate`, rows in error are answers too, unless `--fail-on-errors`)",
    1: "bad input: the message names the field (and the CSV line); the facts cannot be used; with "
       "`evaluate --fail-on-errors`, rows in error",
    2: "usage error: an unknown command or option, a missing argument, an output name or format the command "
       "cannot write",
    3: "policy gate: with `diff --fail-above-usd N`, the monthly increase as written is more than N",
}

out = Console()
err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


class OS(StrEnum):
    linux = "linux"
    windows = "windows"
    rhel = "rhel"
    suse = "suse"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table for people, json for tools")]
RegionOpt = Annotated[str, typer.Option("--region", "-r", help="AWS region code")]
OsOpt = Annotated[OS, typer.Option("--os", help="operating system")]


class EngineName(StrEnum):
    local = "local"
    ray = "ray"


EngineOpt = Annotated[EngineName, typer.Option("--engine", envvar="ADVISOR_ENGINE",
                                               help="local (processes on this machine) or ray (a Ray cluster: "
                                                    "pip install -e '.[ray]')")]
RayAddressOpt = Annotated[str | None, typer.Option("--ray-address", envvar="ADVISOR_RAY_ADDRESS",
                                                   help="the Ray cluster (else RAY_ADDRESS, else a local Ray "
                                                        "started for the run)")]


def _engine(name: EngineName, address: str | None, workers: int | None = None):
    """The engine asked for; one that cannot be used here (Ray not installed) is a usage error: exit 2."""
    from advisor.engines import EngineUnavailable, get_engine

    try:
        return get_engine(name.value, address, workers=workers)
    except EngineUnavailable as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine") from None


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _table(title: str, rows: list[dict], columns: list[str]) -> Table:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return table


@app.command("recommend")
def recommend_cmd(
    file: Annotated[Path | None, typer.Argument(help="workload as JSON or YAML ('-' for stdin)")] = None,
    workload_id: Annotated[str | None, typer.Option("--id", help="workload id")] = None,
    vcpu: Annotated[float | None, typer.Option(help="vCPUs per replica")] = None,
    memory_gib: Annotated[float | None, typer.Option(help="memory per replica, GiB")] = None,
    replicas: Annotated[int | None, typer.Option(help="steady-state replicas")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region code")] = None,
    os: Annotated[OS | None, typer.Option("--os", help="operating system")] = None,
    hours_per_month: Annotated[float | None, typer.Option(help="hours a month it runs")] = None,
    horizon_months: Annotated[int | None, typer.Option(help="months the workload will exist")] = None,
    interruptible: Annotated[bool | None, typer.Option(help="can be stopped with 2 minutes' notice")] = None,
    requests_per_month: Annotated[float | None, typer.Option(help="requests a month")] = None,
    avg_duration_ms: Annotated[float | None, typer.Option(help="average request duration, ms")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="any other workload field, repeatable: --set gpus=1 "
                                                                 "--set tenancy=dedicated (`advisor fields` lists "
                                                                 "them)")] = None,
    top_k: Annotated[int, typer.Option(help="alternatives to list in full", min=0, max=100)] = 5,
    include_free_tier: Annotated[bool, typer.Option(help="count account-wide free tiers")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Recommend the cheapest sound placement for one workload, with alternatives and rejections."""
    from advisor.catalog.store import load_catalog
    from advisor.recommend import recommend
    from advisor.render import recommendation
    from advisor.workload_io import check_region, load_document, parse_workload

    data: dict = {}
    if file is not None:
        doc = load_document(file)
        data = dict(doc.get("workload", doc)) if isinstance(doc, dict) else doc
    flags = {"id": workload_id, "vcpu": vcpu, "memory_gib": memory_gib, "replicas": replicas, "region": region,
             "os": os.value if os else None, "hours_per_month": hours_per_month, "horizon_months": horizon_months,
             "interruptible": interruptible, "requests_per_month": requests_per_month,
             "avg_duration_ms": avg_duration_ms}
    if isinstance(data, dict):
        data.update({k: v for k, v in flags.items() if v is not None})
        for item in set_ or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise typer.BadParameter(f"--set takes field=value, got {item!r}")
            data[key.strip()] = value.strip()
        data.setdefault("id", "workload")
    workload = parse_workload(data)
    catalog = load_catalog()
    check_region(workload, catalog.regions())
    rec = recommend(workload, catalog=catalog, top_k=top_k, include_free_tier=include_free_tier)
    if format is Format.json:
        sys.stdout.write(rec.model_dump_json(indent=2) + "\n")
        return
    out.print(recommendation(rec, top_k=top_k))


@app.command("evaluate")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="workload CSV with a header row ('-' for stdin), or a Terraform plan "
                                              "JSON, Kubernetes manifests, an ECS task definition or a directory")],
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.csv, OUT.parquet or OUT.json ('-': stdout)")]
    = Path("-"),
    output_format: Annotated[str | None, typer.Option("--format", help="csv, parquet or json (default: suffix)")]
    = None,
    include_free_tier: Annotated[bool, typer.Option(help="count account-wide free tiers")] = False,
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk (bounds memory)", min=1000)] = 100_000,
    workers: Annotated[int, typer.Option(help="processes answering distinct shapes", min=1, max=64)]
    = min(os_module.cpu_count() or 1, 4),
    fail_on_errors: Annotated[bool, typer.Option(help="exit 1 when any row is in error (everything is still "
                                                      "written): for CI jobs")] = False,
    per_shape: Annotated[bool, typer.Option(help="answer every distinct shape with the one-workload path, "
                                                 "never the vectorized one (a baseline for benchmarks)")] = False,
    engine: EngineOpt = EngineName.local,
    ray_address: RayAddressOpt = None,
) -> None:
    """Evaluate a workload CSV, plan, manifests or task definitions: one row per workload, in order, explained.

    Estate files (a plan, manifests, task definitions, a directory) add the cost as written and the saving."""
    import polars as pl

    from advisor.batch import OUTPUT_SCHEMA, Evaluator, evaluate_chunks
    from advisor.batch_io import FORMATS, ChunkWriter, read_chunks
    from advisor.batch_io import output_format as pick_format
    from advisor.catalog.store import load_catalog
    from advisor.inputs import is_estate

    fmt = _usage(lambda: pick_format(output, output_format), "--output")
    if fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; use csv, parquet or json", param_hint="--format")
    if fmt == "parquet" and str(output) == "-":
        raise typer.BadParameter("Parquet cannot be written to standard output; give a file name",
                                 param_hint="--output")
    if is_estate(file) and engine is not EngineName.local:
        raise typer.BadParameter("--engine ray shards a workload CSV; plans, manifests and task definitions are "
                                 "evaluated locally", param_hint="--engine")
    if engine is not EngineName.local:
        _evaluate_on_engine(file, output, fmt, include_free_tier, chunk_rows, not per_shape, fail_on_errors,
                            _engine(engine, ray_address))
        return
    if is_estate(file):  # a plan, manifests, task definitions: as written versus advised (advisor/inputs)
        from advisor.inputs import cli as inputs_cli

        answer = inputs_cli.evaluate([file], output, fmt, include_free_tier, out, err)
        if fail_on_errors and answer.summary["errors"]:
            raise typer.Exit(1)
        return
    evaluator = Evaluator(load_catalog(), include_free_tier, workers=workers, vectorized=not per_shape)
    header = _csv_header(file)
    empty = pl.DataFrame(schema={**{c: pl.String for c in header}, **OUTPUT_SCHEMA})
    with evaluator, _progress(file) as advance, ChunkWriter(output, fmt) as writer:
        for chunk in evaluate_chunks(evaluator, read_chunks(file, chunk_rows), progress=advance):
            writer.write(chunk)
        writer.finish(empty)
    _evaluated(evaluator.summary.as_dict(), output, fail_on_errors)


def _evaluate_on_engine(file: Path, output: Path, fmt: str, include_free_tier: bool, chunk_rows: int,
                        vectorized: bool, fail_on_errors: bool, engine) -> None:
    """The CSV's chunks evaluated as tasks on the engine (the same chunks, each as the local path evaluates it),
    written back in order: the same bytes as a local run."""
    import polars as pl

    from advisor.batch import OUTPUT_SCHEMA
    from advisor.batch_io import ChunkWriter
    from advisor.sweep.many import evaluate_sharded

    empty = pl.DataFrame(schema={**{c: pl.String for c in _csv_header(file)}, **OUTPUT_SCHEMA})
    with engine, ChunkWriter(output, fmt) as writer:
        summary = evaluate_sharded(file, chunk_rows=chunk_rows, include_free_tier=include_free_tier,
                                   vectorized=vectorized, engine=engine, write=writer.write)
        writer.finish(empty)
    _evaluated(summary, output, fail_on_errors)


def _evaluated(summary: dict, output: Path, fail_on_errors: bool) -> None:
    """Write the summary beside the output (or print it), and exit 1 on rows in error with --fail-on-errors."""
    import json as _json

    report = out if str(output) != "-" else err
    if str(output) != "-":
        beside = output.with_name(output.name + ".summary.json")
        beside.write_text(_json.dumps(summary, indent=2) + "\n")
        report.print(f"wrote {summary['rows']} rows to {output}; summary in {beside}")
    report.print(_summary_table(summary))
    if fail_on_errors and summary["errors"]:
        err.print(f"[red]error:[/] {summary['errors']} of {summary['rows']} rows are in error (--fail-on-errors)")
        raise typer.Exit(1)


def _usage(pick, option: str):
    """A wrong way to call a command (an output name or format it cannot write) is a usage error: exit 2."""
    from advisor.errors import InputError

    try:
        return pick()
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _csv_header(file: Path) -> list[str]:
    import polars as pl

    if str(file) == "-" or not file.exists() or file.stat().st_size == 0:
        return []
    try:
        return pl.read_csv(file, n_rows=0, infer_schema=False).columns
    except pl.exceptions.PolarsError:
        return []


def _progress(file: Path):
    """A rich progress bar on a terminal (stderr), nothing when not a terminal."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    @contextmanager
    def bar():
        if not err.is_terminal or str(file) == "-":
            yield None
            return
        with open(file, "rb") as handle:
            total = max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.completed:,.0f} rows"), _rows_per_second_column(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("evaluating", total=total)
            yield lambda n: progress.advance(task, n)

    return bar()


def _rows_per_second_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        """Rows answered per second (rich's own speed estimate over the recent chunks)."""

        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} rows/s" if task.speed else "- rows/s")

    return RowsPerSecond()


def _summary_table(summary: dict) -> Table:
    table = Table(title=f"{summary['rows']} rows: {summary['ok']} answered, {summary['errors']} errors "
                        f"(catalog {summary['catalog_version']})")
    for col in ("service", "rows", "$/month"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for service, entry in summary["services"].items():
        table.add_row(service, str(entry["rows"]), f"{entry['monthly_usd']:,.2f}")
    table.add_row("[bold]total[/]", str(summary["ok"]), f"[bold]{summary['total_monthly_usd']:,.2f}[/]")
    table.add_row("all on-demand EC2 baseline", "", f"{summary['baseline_all_on_demand_monthly_usd']:,.2f}")
    table.add_row("savings vs baseline", "", f"{summary['savings_vs_baseline_usd']:,.2f}")
    for reason, n in summary["errors_by_reason"].items():
        table.add_row(f"[red]error: {reason}[/]", str(n), "")
    return table


@app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Terraform plan JSON, Kubernetes manifests, ECS task "
                                                     "definitions or directories")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the contract CSV to write ('-': stdout)")],
) -> None:
    """Write a plan's, manifests' or task definitions' workloads as the contract CSV, to edit and evaluate.

    The `unknown` column says what the files leave open (fill it in); provenance columns say where each came from."""
    from advisor.inputs.cli import import_csv

    import_csv(files, output, out, err)


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("diff")
def diff_cmd(
    base: Annotated[Path, typer.Argument(help="the estate before: a plan JSON, manifests or a directory")],
    head: Annotated[Path, typer.Argument(help="the estate after, in the same kind of files")],
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="table, json, or markdown (a pull-request "
                                                                      "comment)")] = DiffFormat.table,
    fail_above_usd: Annotated[float | None, typer.Option(help="exit 3 when the monthly increase as written is more "
                                                              "than this (a policy gate)", min=0)] = None,
) -> None:
    """What a change adds, removes and changes in monthly cost, as written and as advised."""
    from advisor.inputs.cli import run_diff

    raise typer.Exit(run_diff([base], [head], format.value, fail_above_usd, out))


@app.command("plan")
def plan_cmd(
    files: Annotated[list[Path], typer.Argument(help='portfolio JSON: {"workloads": [...], "constraints": {...}}; '
                                                     "several are planned in parallel on the engine")],
    format: FormatOpt = Format.table,
    time_limit: Annotated[float, typer.Option(help="solver seconds at most", min=0.1, max=600)] = 20.0,
    engine: EngineOpt = EngineName.local,
    ray_address: RayAddressOpt = None,
) -> None:
    """Plan a portfolio of workloads with shared constraints and shared capacity, solved exactly.

    Several portfolios (one per account or region, say) are planned in parallel on the engine, one answer
    each, in order: with --format json, a list of {"file", "plan"} or {"file", "error"}."""
    if len(files) == 1 and engine is EngineName.local:
        from advisor.portfolio.cli import run_plan

        run_plan(files[0], json_output=format is Format.json, time_limit_s=time_limit, console=out)
        return
    from advisor.sweep.many import plan_many

    with _engine(engine, ray_address) as runner:
        answers = plan_many(files, time_limit_s=time_limit, engine=runner)
    if format is Format.json:
        sys.stdout.write(json.dumps(answers, indent=2, default=str) + "\n")
    else:
        out.print(_plans_table(answers))
    if any(a.get("error") for a in answers):
        raise typer.Exit(1)


def _plans_table(answers: list[dict]) -> Table:
    table = Table(title=f"{len(answers)} portfolios")
    for col in ("file", "workloads", "$/month", "upfront", "solver", "binding constraints / error"):
        table.add_column(col, justify="right" if col in ("workloads", "$/month", "upfront") else "left")
    for a in answers:
        if a.get("error"):
            table.add_row(a["file"], "", "", "", "", f"[red]{escape(a['error'])}[/]")
            continue
        doc = a["plan"]
        binding = "; ".join(b["constraint"] for b in doc["explanation"]["binding_constraints"])
        table.add_row(a["file"], str(len(doc["placements"])), f"{doc['totals']['monthly_usd']:,.2f}",
                      f"{doc['totals']['upfront_usd']:,.2f}", doc["solver"]["status"], binding)
    return table


class SweepFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command("sweep")
def sweep_cmd(
    base: Annotated[Path, typer.Argument(help="the base: a workload CSV (an estate) or a portfolio JSON/YAML")],
    scenarios: Annotated[Path, typer.Option("--scenarios", "-s", help="the scenarios file (YAML)")],
    engine: EngineOpt = EngineName.local,
    ray_address: RayAddressOpt = None,
    format: Annotated[SweepFormat, typer.Option("--format", "-f", help="table, json or csv (one row per "
                                                                      "scenario)")] = SweepFormat.table,
    time_limit: Annotated[float, typer.Option(help="each portfolio plan's limit, seconds on the planner's "
                                                   "deterministic clock", min=0.1, max=600)] = 20.0,
    workers: Annotated[int | None, typer.Option(help="tasks at once (default: local min(CPUs, 4), ray the "
                                                     "cluster's CPUs)", min=1, max=1024)] = None,
) -> None:
    """Answer what-if scenarios over a base estate or portfolio and compare each with the base.

    Totals, saving, what moved, binding constraints (see "What-if sweeps")."""
    from advisor.sweep.render import sweep_csv, sweep_table
    from advisor.sweep.run import load_base, run_sweep
    from advisor.sweep.scenarios import load_scenarios

    scenario_file = load_scenarios(scenarios)
    sweep_base = load_base(base, time_limit_s=time_limit)
    with _engine(engine, ray_address, workers) as runner, _task_progress() as advance:
        result = run_sweep(sweep_base, scenario_file, engine=runner, on_progress=advance)
    if format is SweepFormat.json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    elif format is SweepFormat.csv:
        sys.stdout.write(sweep_csv(result))
    else:
        for renderable in sweep_table(result):
            out.print(renderable)


def _task_progress():
    """A progress bar of tasks done on a terminal (stderr); nothing when not a terminal."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar():
        if not err.is_terminal:
            yield None
            return
        with Progress(TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            task = progress.add_task("tasks", total=None)
            yield lambda done, total: progress.update(task, completed=done, total=total)

    return bar()


@app.command("validate")
def validate_cmd(
    plan_file: Annotated[Path, typer.Argument(help="a plan: the JSON of `advisor plan --format json`")],
    portfolio_file: Annotated[Path, typer.Argument(help="the portfolio JSON it was planned for")],
) -> None:
    """Audit a plan: every price recomputed from the catalog, every total and constraint checked (exit 1 names
    each discrepancy)."""
    from advisor.portfolio.cli import run_validate

    raise typer.Exit(run_validate(plan_file, portfolio_file, console=out))


@app.command("report")
def report_cmd(
    file: Annotated[Path, typer.Argument(help="workload JSON/YAML, workload CSV, or portfolio JSON")],
    output: Annotated[Path, typer.Option("--output", "-o", help="REPORT.html (self-contained) or REPORT.md")],
) -> None:
    """Write an architecture-review report: choice, alternatives, rejections, what-ifs, charts, provenance."""
    from advisor.review.report import HTML_SUFFIXES, MD_SUFFIXES, write_report

    if output.suffix.lower() not in HTML_SUFFIXES + MD_SUFFIXES:
        raise typer.BadParameter(f"the report file must end in .html or .md (got {output.name!r})",
                                 param_hint="--output")
    written = write_report(file, output)
    out.print(f"wrote {written}")


@app.command("fields")
def fields_cmd(
    name: Annotated[str | None, typer.Argument(help="one field (e.g. vcpu); all when left out")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json, or markdown (the README's whole "
                                                                "generated reference)")] = "table",
) -> None:
    """Every workload field with its type, default and meaning (the README's reference, from the model)."""
    from dataclasses import asdict

    from advisor.reference import markdown, workload_fields

    rows = workload_fields()
    if name is not None:
        rows = [r for r in rows if r.name == name]
        if not rows:
            raise typer.BadParameter(f"no workload field {name!r}; `advisor fields` lists them", param_hint="NAME")
    if format == "markdown":
        sys.stdout.write(markdown() + "\n")
    elif format == "json":
        _print_json([asdict(r) for r in rows])
    elif format == "table":
        table = Table(title="workload fields" if name is None else None, show_lines=name is None)
        for col in ("field", "type", "default", "meaning"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r.name, escape(r.kind), escape(r.default), escape(r.meaning))
        out.print(table)
    else:
        raise typer.BadParameter(f"unknown format {format!r}; use table, json or markdown", param_hint="--format")


@app.command("serve")
def serve_cmd(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8000,
              workers: Annotated[int, typer.Option(help="worker processes", min=1, max=64)] = 1) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    from api.server import run

    run(host=host, port=port, workers=workers)


@catalog_app.command("list")
def catalog_list(region: RegionOpt = "us-east-1", os: OsOpt = OS.linux, format: FormatOpt = Format.table) -> None:
    """Every instance type in a region with specs, on-demand price and its quality."""
    from advisor.catalog.listing import LIST_COLUMNS, instances
    from advisor.catalog.store import load_catalog

    catalog = load_catalog()
    rows = instances(catalog, region, os.value).select(LIST_COLUMNS).to_dicts()
    if format is Format.json:
        _print_json(rows)
        return
    out.print(_table(f"{region} {os.value} (catalog {catalog.version}, as of {catalog.as_of})", rows,
                     LIST_COLUMNS[:9]))


@catalog_app.command("show")
def catalog_show(instance_type: Annotated[str, typer.Argument(help="e.g. m5.large")],
                 region: RegionOpt = "us-east-1", os: OsOpt = OS.linux, format: FormatOpt = Format.table) -> None:
    """The whole record of one instance type, every purchase option's rate included."""
    from advisor.catalog.listing import record
    from advisor.catalog.store import load_catalog

    rec = record(load_catalog(), instance_type, region, os.value)
    if format is Format.json:
        _print_json(rec)
        return
    specs = Table(title=f"{instance_type} in {region} ({os.value})", show_header=False)
    for key, value in rec.items():
        if key not in ("rates", "catalog"):
            specs.add_row(key, "" if value is None else str(value))
    out.print(specs)
    cols = ["purchase_option", "tenancy", "offering_class", "plan_type", "term", "payment", "upfront_usd",
            "usd_per_hour", "effective_usd_per_hour", "quality", "purchasable"]
    out.print(_table("rates", rec["rates"], cols))
    if rec.get("rates_missing"):
        out.print(f"[yellow]no rates: {rec['rates_missing']}[/]")
    out.print(f"catalog {rec['catalog']['version']}, as of {rec['catalog']['as_of']}")


@catalog_app.command("check")
def catalog_check(format: FormatOpt = Format.table,
                  summary: Annotated[bool, typer.Option(help="counts and rules only, not every repair")] = False,
                  ) -> None:
    """Price qualities per region and OS, how each price was made, each source's age, version and as-of date."""
    from advisor.catalog.check import report
    from advisor.catalog.store import load_catalog

    rep = report(load_catalog())
    if summary:
        rep.pop("repairs")
    if format is Format.json:
        _print_json(rep)
        return
    out.print(f"catalog version {rep['catalog']['version']}, as of {rep['catalog']['as_of']}")
    out.print(_table("sources", rep["sources"], ["name", "as_of", "detail"]))
    out.print(_table("freshness", rep["freshness"], ["name", "as_of", "age_days", "stale"]))
    out.print(("[yellow]" if rep["stale"] else "") + escape(rep["advice"]) + ("[/]" if rep["stale"] else ""))
    out.print(_table("on-demand prices by quality", rep["counts"],
                     ["region", "os", "list", "derived", "estimate", "imported", "missing"]))
    out.print(_table("how prices were made", rep["derivations"], ["price_quality", "basis", "prices"]))
    out.print(_table("libcloud repair rules behind figures used", rep["rules"], ["repair_rule", "prices", "meaning"]))
    out.print(f"prices <= 0 not marked missing: {rep['nonpositive_unmarked']}")
    if not summary:
        out.print(_table(f"every repair ({len(rep['repairs'])})", rep["repairs"],
                         ["region", "os", "instance_type", "libcloud_usd_per_hour", "usd_per_hour", "repair_rule"]))


@catalog_app.command("import")
def catalog_import(files: Annotated[list[Path], typer.Argument(help="Price List offer/GetProducts JSON, "
                                                                    "spot-advisor-data.json, spot price history")],
                   as_of: Annotated[str | None, typer.Option(help="publication date for files without one")] = None,
                   ) -> None:
    """Import official AWS price files into this ADVISOR_HOME's catalog (every process using it sees them)."""
    from advisor.catalog import overlay
    from advisor.catalog.importers import import_file
    from advisor.catalog.store import compute_version, load_catalog

    before = compute_version()
    for path in files:
        batch = import_file(path, as_of=as_of)
        stored = overlay.save(batch.kind, batch.frame, batch.published, batch.source)
        out.print(f"imported {batch.frame.height} {batch.kind} rows from {path} (published {batch.published}) "
                  f"-> {stored.path}", highlight=False)
    _changed(before, compute_version())
    catalog = load_catalog()
    out.print(f"catalog version {catalog.version}, as of {catalog.as_of}", highlight=False)


def _changed(before: str, after: str) -> None:
    """Say which catalog an import changed: the one under ADVISOR_HOME, shared by every process using it."""
    from advisor.catalog import overlay

    home = overlay.advisor_home()
    if before == after:
        out.print(f"the catalog under {home} is unchanged (version {after})", highlight=False)
        return
    out.print(f"changed the catalog under {home} (ADVISOR_HOME): version {before} -> {after}. Every process "
              f"using this ADVISOR_HOME answers from it from now on; to keep imports apart, give each job its own "
              f"ADVISOR_HOME; to refuse any other catalog, set {overlay.PIN_VARIABLE}={after}", highlight=False)


@catalog_app.command("clear-imports")
def catalog_clear_imports() -> None:
    """Forget every import under this ADVISOR_HOME: answers come from the bundled data again."""
    from advisor.catalog import overlay
    from advisor.catalog.store import compute_version

    before = compute_version()
    out.print(f"removed {overlay.clear()} imports from {overlay.imports_dir()}", highlight=False)
    _changed(before, compute_version())


def main() -> None:
    """Entry point: map the core's errors to exit code 1 with the message, never a traceback."""
    try:
        app()
    except AdvisorError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
