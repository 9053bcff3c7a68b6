"""`advisor report IN -o REPORT.html|REPORT.md`: the review page's content as a file people can keep.

IN is one workload (JSON or YAML), a workload CSV, or a portfolio JSON (`{"workloads": [...], ...}`).
HTML is self-contained (inline CSS and SVG: it opens offline with nothing missing); Markdown links its
charts as SVG files written beside it (`REPORT-cost-by-option.svg`, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.batch import evaluate_csv, evaluate_records
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import InputError
from advisor.review import render
from advisor.workload_io import load_document, parse_workload

HTML_SUFFIXES = (".html", ".htm")
MD_SUFFIXES = (".md", ".markdown")
PORTFOLIO_TIME_LIMIT_S = 20.0


def build_context(input_path: Path, catalog: Catalog, *, max_rows: int = render.REPORT_ROWS) -> dict[str, Any]:
    """The review of whatever `input_path` holds (the same context the review page renders)."""
    name = input_path.name
    if input_path.suffix.lower() == ".csv":
        try:
            data = input_path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {input_path}: {exc.strerror}") from None
        return render.batch_context(evaluate_csv(data, catalog=catalog), catalog=catalog, source=name,
                                    max_rows=max_rows)
    doc = load_document(input_path)
    return context_for_document(doc, catalog=catalog, source=name, max_rows=max_rows,
                                time_limit_s=PORTFOLIO_TIME_LIMIT_S)


def context_for_document(doc: Any, *, catalog: Catalog, source: str, max_rows: int, time_limit_s: float,
                         top_k: int = 5, include_free_tier: bool = False) -> dict[str, Any]:
    """A parsed JSON/YAML document: a portfolio, a list of workloads, or one workload."""
    if isinstance(doc, dict) and isinstance(doc.get("workloads"), list):
        if not doc["workloads"]:
            raise InputError("the portfolio has no workloads", field="workloads")
        return render.portfolio_context(doc, catalog=catalog, source=source, time_limit_s=time_limit_s,
                                        max_rows=max_rows)
    if isinstance(doc, list):
        if not doc or not all(isinstance(x, dict) for x in doc):
            raise InputError("a list of workloads must hold at least one JSON object of contract fields")
        result = evaluate_records(doc, catalog=catalog, include_free_tier=include_free_tier)
        return render.batch_context(result, catalog=catalog, source=source, max_rows=max_rows)
    workload = parse_workload(doc)
    return render.single_context(workload, catalog=catalog, top_k=top_k, include_free_tier=include_free_tier,
                                 time_limit_s=time_limit_s)


def all_charts(context: dict[str, Any]) -> dict[str, Any]:
    return dict(context.get("charts") or {})


def write_report(input_path: Path, output: Path) -> Path:
    """Write the report for `input_path` to `output` (.html or .md) and return the path written."""
    input_path, output = Path(input_path), Path(output)
    suffix = output.suffix.lower()
    if suffix not in HTML_SUFFIXES + MD_SUFFIXES:
        raise InputError(f"the report file must end in .html or .md (got {output.name!r})", field="output")
    catalog = load_catalog()
    context = build_context(input_path, catalog)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if suffix in HTML_SUFFIXES:
            output.write_text(render.report_html(context), encoding="utf-8")
            return output
        files = {}
        for key, chart in all_charts(context).items():
            name = chart.filename(output.stem)
            (output.parent / name).write_text(chart.svg, encoding="utf-8")
            files[key] = name
        output.write_text(render.report_md(context, files), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}", field="output") from None
    return output
