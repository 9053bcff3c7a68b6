"""Build what a review shows (one workload, a CSV of workloads, or a portfolio) and render it with Jinja2:
as the review page (`page`), as a self-contained HTML report, or as Markdown (`report_html`, `report_md`).

The page and the report share one context per kind and the same section templates, so they say the same
thing. Everything is computed by the core (`recommend`, `evaluate_csv`/`evaluate_records`, and the portfolio
planner when it exists); this module only arranges it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from advisor import wording
from advisor.batch import OUTPUT_COLUMNS, BatchResult, evaluate_records
from advisor.catalog.store import Catalog
from advisor.errors import AdvisorError
from advisor.recommend import recommend
from advisor.review import charts, form, portfolio_view
from advisor.review.whatif import what_ifs
from models.recommendation import Option, Recommendation
from models.workload import Workload

log = logging.getLogger("advisor.review")

PAGE_ROWS = 1000     # rows of a CSV shown on the page (the report shows up to REPORT_ROWS)
REPORT_ROWS = 10_000
PORTFOLIO_UNAVAILABLE = "portfolio planning not available yet"

SERVICE_NAMES = wording.SERVICE_NAMES


# --- formatting (Jinja filters) ----------------------------------------------------------------------------

usd = wording.usd
service_name = wording.service_name
purchase = wording.purchase
what = wording.what_runs


def pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.0f} %"


def plain(value: Any) -> str:
    """A cell value as text: lists joined, dicts as compact JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if not value.is_integer() else f"{int(value):,}"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else plain(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


@cache
def _env(markdown: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("advisor.review", "templates"),
        autoescape=False if markdown else select_autoescape(["html", "svg"], default=True),
        trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters.update(usd=usd, pct=pct, service_name=service_name, purchase=purchase, what=what, plain=plain,
                       tidy=wording.tidy,
                       md=md_cell, option_label=charts.option_label)
    return env


# --- contexts ----------------------------------------------------------------------------------------------

def provenance(catalog: Catalog) -> dict[str, Any]:
    return {"version": catalog.version, "as_of": catalog.as_of,
            "sources": [{"name": s.name, "as_of": s.as_of, "detail": s.detail} for s in catalog.sources]}


def _inputs(w: Workload) -> list[dict[str, Any]]:
    rows = []
    for name, f in form.FIELDS.items():
        value = getattr(w, name)
        default = None if Workload.model_fields[name].is_required() else Workload.model_fields[name].default
        shown = plain([getattr(v, "value", v) for v in value] if isinstance(value, tuple) else
                      getattr(value, "value", value))
        rows.append({"name": name, "label": f.label, "value": shown if shown != "" else "(default)",
                     "stated": value != default, "unit": f.unit})
    return rows


def summary_sentence(w: Workload, rec: Recommendation) -> str:
    c = rec.choice
    if c is None:
        return (f"Nothing meets every hard requirement of {w.id}. Each rejection below names the rule that "
                "excluded the option, and the what-ifs show which constraint to relax.")
    text = (f"Run {w.id} on {service_name(c.service)}"
            + (f": {what(c)}, " if what(c) else ", ")
            + f"{purchase(c)}, {c.tenancy} tenancy: {usd(c.monthly_usd)} a month on average over "
              f"{w.horizon_months} months")
    text += f", {usd(c.upfront_usd)} of it paid upfront." if c.upfront_usd else ", nothing upfront."
    if rec.baseline.monthly_usd and rec.savings_vs_baseline_usd is not None:
        share = 100 * rec.savings_vs_baseline_usd / rec.baseline.monthly_usd
        if rec.savings_vs_baseline_usd >= 0:
            text += (f" That is {usd(rec.savings_vs_baseline_usd)} a month ({share:.0f} %) less than on-demand EC2 "
                     f"({usd(rec.baseline.monthly_usd)}).")
        else:
            text += (f" That is {usd(-rec.savings_vs_baseline_usd)} a month more than on-demand EC2 "
                     f"({usd(rec.baseline.monthly_usd)}), which does not meet every requirement.")
    return text


def estimates(options: Sequence[Option]) -> list[dict[str, Any]]:
    """Every fact labelled an estimate that some shown option's cost rests on, with the options using it."""
    found: dict[str, list[str]] = {}
    for o in options:
        for e in o.estimates:
            found.setdefault(e, []).append(charts.option_label(o, short=True))
    return [{"fact": k, "options": v} for k, v in found.items()]


def single_context(w: Workload, *, catalog: Catalog, top_k: int = 5, include_free_tier: bool = False,
                   time_limit_s: float = 5.0, rec: Recommendation | None = None) -> dict[str, Any]:
    """Everything the review of one workload shows: the recommendation, what-ifs, charts, inputs, provenance."""
    rec = rec or recommend(w, catalog=catalog, top_k=top_k, include_free_tier=include_free_tier,
                           time_limit_s=time_limit_s)
    rows = wording.fold(([rec.choice] if rec.choice else []) + list(rec.alternatives))  # twins: one row, a note
    options = [r.option for r in rows]
    ifs = [x.as_dict() for x in what_ifs(w, rec, catalog=catalog, include_free_tier=include_free_tier,
                                         time_limit_s=time_limit_s)]
    stated = rec.choice.monthly_usd if rec.choice else None
    drawn = [charts.cost_by_option(options) if rec.choice else None, charts.cost_vs_risk(options),
             charts.cost_vs_ops(options), charts.what_if_chart(stated, ifs)]
    return {
        "kind": "single", "title": f"Architecture review: {w.id}", "workload": w, "rec": rec,
        "options": options, "notes": [r.note for r in rows],
        "summary": summary_sentence(w, rec), "inputs": _inputs(w),
        "whatifs": ifs,
        "charts": {c.key: c for c in drawn if c is not None}, "estimates": estimates(options),
        "provenance": provenance(catalog), "include_free_tier": include_free_tier, "top_k": top_k,
    }


def batch_context(result: BatchResult, *, catalog: Catalog, source: str, max_rows: int = PAGE_ROWS,
                  title: str | None = None) -> dict[str, Any]:
    """A CSV (or a list of workloads) evaluated: the summary, cost by service, and every row."""
    rows = result.rows
    width = len(OUTPUT_COLUMNS)
    inputs = list(rows[0])[:-width] if rows else []
    out_names = list(rows[0])[-width:] if rows else []
    tenancy_col = out_names[OUTPUT_COLUMNS.index("tenancy")] if rows else "tenancy"
    shown = []
    for i, row in enumerate(rows[:max_rows]):
        given = [f"{k}={plain(row[k])}" for k in inputs if k != "id" and row.get(k) not in (None, "")]
        shown.append({**row, "_line": i + 2, "_given": ", ".join(given), "_tenancy": row.get(tenancy_col)})
    summary = result.summary
    chart = charts.cost_by_service(summary.get("services", {}))
    return {
        "kind": "batch", "title": title or f"Architecture review: {source}", "source": source, "rows": shown,
        "total_rows": len(rows), "truncated": len(rows) > max_rows, "summary": summary,
        "charts": {chart.key: chart} if chart else {}, "provenance": provenance(catalog),
    }


def _planner() -> Any:
    from advisor.portfolio.plan import plan  # the portfolio optimizer, when it has landed

    return plan


def portfolio_context(doc: dict[str, Any], *, catalog: Catalog, source: str, time_limit_s: float = 20.0,
                      max_rows: int = PAGE_ROWS) -> dict[str, Any]:
    """A portfolio: the plan when the optimizer is available, else each workload chosen alone (said so)."""
    context: dict[str, Any] = {"kind": "portfolio", "title": f"Architecture review: {source}", "source": source,
                               "available": False, "message": PORTFOLIO_UNAVAILABLE, "plan": None,
                               "charts": {}, "provenance": provenance(catalog), "alone": None, "error": None,
                               "constraints": doc.get("constraints") or {}}
    try:
        planned = _planner()(doc, catalog=catalog, time_limit_s=time_limit_s)
    except (ImportError, NotImplementedError):   # no planner installed: each workload alone, said so
        planned = None
    except AdvisorError:
        raise
    except Exception as exc:  # a planner failure is shown as an error, never replaced by another answer
        log.exception("portfolio planning failed")
        context.update(message="", error=f"The planner failed on this portfolio: {type(exc).__name__}: {exc}")
        return context
    if planned is not None:
        context.update(available=True, message="", plan=_plan_view(planned))
        context["charts"] = _plan_charts(context["plan"])
    workloads = doc.get("workloads") or []
    if planned is None and isinstance(workloads, list) and workloads:
        result = evaluate_records([w for w in workloads if isinstance(w, dict)], catalog=catalog)
        context["alone"] = batch_context(result, catalog=catalog, source=source, max_rows=max_rows)
        context["charts"] = context["alone"]["charts"]
    return context


def _nodes_text(nodes: Any) -> Any:
    if isinstance(nodes, list) and all(isinstance(n, dict) for n in nodes):
        return ", ".join(f"{n.get('node_count', '?')} x {n.get('instance_type', '?')}"
                         + (f" ({n['purchase_option'].replace('_', ' ')})" if n.get("purchase_option") else "")
                         for n in nodes)
    return nodes


def _plan_view(planned: dict[str, Any]) -> dict[str, Any]:
    """The plan in words (`portfolio_view.py`), and the parts the charts draw."""
    return {**portfolio_view.view(planned), "raw_placements": planned["placements"],
            "raw_clusters": planned["shared"]["clusters"], "raw_hosts": planned["shared"]["hosts"]}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _plan_charts(view: dict[str, Any]) -> dict[str, charts.Chart]:
    services: dict[str, dict[str, float]] = {}
    for p in view["raw_placements"]:
        choice = p.get("choice") if isinstance(p.get("choice"), dict) else p
        if choice.get("service") is not None:
            name = portfolio_view.SERVICE.get(choice["service"], str(choice["service"]))
            entry = services.setdefault(name, {"rows": 0, "monthly_usd": 0.0})
            entry["rows"] += 1
            entry["monthly_usd"] += float(choice.get("monthly_usd") or 0.0)
    groups = []
    for c in view["raw_clusters"]:
        nodes, replicas = c.get("nodes"), None
        if isinstance(nodes, list):
            replicas = sum(int(n.get("node_count") or 0) * sum(v for v in (n.get("replicas_per_node") or {}).values()
                                                          if isinstance(v, int | float))
                           for n in nodes if isinstance(n, dict)) or None
            detail = _nodes_text(nodes)
            nodes = sum(int(n.get("node_count") or 0) for n in nodes if isinstance(n, dict))
        else:
            detail = ""
        if _number(nodes):
            groups.append({"label": portfolio_view.cluster_label(c), "nodes": nodes,
                           "replicas": replicas, "detail": detail})
    for h in view["raw_hosts"]:
        count = _number(h.get("host_count"))
        instances = h.get("instances") if isinstance(h.get("instances"), dict) else {}
        placed = sum(int(v.get("instance_count") or 0) for v in instances.values() if isinstance(v, dict)) or None
        if count:
            groups.append({"label": f"{h['family']} Dedicated Hosts ({', '.join(instances)})", "nodes": count,
                           "replicas": placed, "detail": f"{h.get('family', '')} Dedicated Hosts".strip(),
                           "unit": "hosts", "packed": "instances"})
    drawn = [charts.cost_by_service(services, title="Cost by service (each workload's own cost, before sharing)"),
             charts.packed_nodes(groups)]
    return {c.key: c for c in drawn if c is not None}


# --- rendering ---------------------------------------------------------------------------------------------

def page(*, answer: dict[str, Any] | None = None, values: dict[str, Any] | None = None,
         errors: dict[str, list[str]] | None = None, regions: Sequence[str] = (), notice: str = "",
         upload_error: str = "", problem: str = "") -> str:
    """The review page: the form (filled with `values`, `errors` beside the fields), the upload, the answer."""
    return _env(False).get_template("page.html").render(
        groups=form.GROUPS, values=values or form.defaults(), errors=errors or {}, regions=list(regions),
        gpu_models=form.GPU_MODELS, answer=answer, notice=notice, upload_error=upload_error, problem=problem,
        service_names=SERVICE_NAMES, max_top_k=form.MAX_TOP_K,
        labels={**{name: f.label for name, f in form.FIELDS.items()}, "top_k": "Alternatives to rank"})


def report_html(context: dict[str, Any]) -> str:
    """A self-contained HTML report (inline CSS and SVG; nothing fetched)."""
    return _env(False).get_template("report.html").render(answer=context, service_names=SERVICE_NAMES)


def report_md(context: dict[str, Any], chart_files: dict[str, str]) -> str:
    """A Markdown report; `chart_files` maps a chart key to the SVG file name written beside it."""
    return _env(True).get_template("report.md").render(answer=context, chart_files=chart_files,
                                                       service_names=SERVICE_NAMES)


def sweep_page(context: dict[str, Any], *, refresh_s: int = 5) -> str:
    """A what-if sweep's page (advisor.review.sweep_view.sweep_context); it reloads itself while the job waits."""
    return _env(False).get_template("sweep.html").render(answer=context, refresh_s=refresh_s)
