"""The architecture-review page: GET /review (the form), POST /review (one workload), POST /review/upload
(a workload CSV, a portfolio JSON, or one workload as JSON/YAML), GET /review/sweeps/{id} (a what-if sweep's
comparison). Server-rendered HTML, no JavaScript needed.

The work (recommendation, what-ifs, charts, rendering) runs off the event loop in the same bounded lanes as
the JSON API: one workload in the recommendations lane, an upload in the evaluations lane; past their queues
the page says the server is busy (503). Bad input is answered with the page again, the fields marked (422).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import anyio.to_thread
import yaml
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from advisor.batch import evaluate_csv
from advisor.catalog.store import Catalog
from advisor.errors import AdvisorError, CatalogError, InputError
from advisor.review import form, render, sweep_view
from advisor.review.report import context_for_document
from api import jobs, sweep_jobs
from api.deps import CatalogDep, SettingsDep, StateDep, media_type
from api.errors import ApiError
from api.routers.evaluations import count_csv_rows, estate_input
from api.state import AppState
from api.sweep_store import Job
from models.sweep import SweepResult
from models.workload import Workload

log = logging.getLogger("api")

router = APIRouter(tags=["review"])

HTML = {"content": {"text/html": {}}}


# --- jobs: run in a worker (thread or process); plain functions of picklable arguments ----------------------

def single_page(workload: Workload, values: dict[str, Any], regions: list[str], top_k: int, include_free_tier: bool,
                time_limit_s: float, catalog: Catalog | None = None) -> str:
    catalog = catalog or jobs.current_catalog()
    context = render.single_context(workload, catalog=catalog, top_k=top_k, include_free_tier=include_free_tier,
                                    time_limit_s=time_limit_s)
    return render.page(answer=context, values=values, regions=regions)


def sweep_page(job: Job, request: dict[str, Any] | None) -> str:
    """The sweep's page from its stored job (the result parsed back from its bytes) and request (its scenarios,
    to put their changes in words)."""
    view = sweep_view.JobView(id=job.id, status=job.status, kind=job.kind, scenarios=job.scenarios, done=job.done,
                              total=job.total, created_at=job.created_at, started_at=job.started_at,
                              finished_at=job.finished_at, error=job.error, cancel_requested=job.cancel_requested)
    result = SweepResult.model_validate_json(job.result) if job.result else None
    scenarios = sweep_jobs.scenarios_of(request) if request else None
    return render.sweep_page(sweep_view.sweep_context(view, result, scenarios))


def upload_page(kind: str, payload: Any, source: str, regions: list[str], include_free_tier: bool,
                time_limit_s: float, catalog: Catalog | None = None) -> str:
    catalog = catalog or jobs.current_catalog()
    if kind == "csv":
        result = evaluate_csv(payload, catalog=catalog, include_free_tier=include_free_tier)
        context = render.batch_context(result, catalog=catalog, source=source)
        return render.page(answer=context, regions=regions)
    context = context_for_document(payload, catalog=catalog, source=source, max_rows=render.PAGE_ROWS,
                                   time_limit_s=time_limit_s, include_free_tier=include_free_tier)
    values = form.values_of(context["workload"]) if context["kind"] == "single" else None
    return render.page(answer=context, values=values, regions=regions)


# --- helpers -----------------------------------------------------------------------------------------------

def _html(content: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=headers)


async def _regions(state: AppState) -> list[str]:
    try:
        await state.get_catalog()
    except CatalogError:
        return []
    return sorted(state.catalog.regions)


def _problem_page(exc: ApiError, regions: list[str], **kwargs: Any) -> HTMLResponse:
    return _html(render.page(problem=exc.message, regions=regions, **kwargs), exc.status, exc.headers)


async def _run(state: AppState, lane_name: str, fn: Any, *args: Any, catalog: Catalog) -> str:
    lane = state.solver.lane if lane_name == "solver" else state.evaluator.lane
    return await lane.run(fn, *args, None if lane.processes else catalog)


# --- routes ------------------------------------------------------------------------------------------------

@router.get("/review", response_class=HTMLResponse, summary="The architecture-review page (HTML form)",
            responses={200: HTML})
async def review_form(state: StateDep) -> HTMLResponse:
    return _html(render.page(regions=await _regions(state)))


@router.post("/review", response_class=HTMLResponse, summary="Review one workload (HTML form post)",
             responses={200: HTML, 422: HTML, 503: HTML})
async def review_workload(request: Request, state: StateDep, settings: SettingsDep,
                          catalog: CatalogDep) -> HTMLResponse:
    regions = sorted(state.catalog.regions)
    kind = media_type(request)
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        return _html(render.page(problem="send the form (application/x-www-form-urlencoded)", regions=regions), 415)
    async with request.form(max_files=0, max_fields=200) as data:
        parsed = form.parse(data, regions=regions)
    if parsed.workload is None:
        return _html(render.page(values=parsed.values, errors=parsed.errors, regions=regions), 422)
    try:
        content = await _run(state, "solver", single_page, parsed.workload, parsed.values, regions, parsed.top_k,
                             parsed.include_free_tier, settings.max_solver_seconds, catalog=catalog)
    except ApiError as exc:
        return _problem_page(exc, regions, values=parsed.values)
    except InputError as exc:
        errors = {exc.field if exc.field in form.FIELDS else "_form": [str(exc)]}
        return _html(render.page(values=parsed.values, errors=errors, regions=regions), 422)
    except CatalogError as exc:
        return _html(render.page(values=parsed.values, regions=regions,
                                 problem=f"the facts this answer needs are unavailable: {exc}"), 422)
    except AdvisorError as exc:
        return _html(render.page(values=parsed.values, regions=regions, problem=str(exc)), 422)
    return _html(content)


def _decode_document(data: bytes, filename: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text") from None
    try:
        if filename.lower().endswith((".yaml", ".yml")):
            return yaml.safe_load(text)
        return json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"the file is not valid JSON or YAML: {str(exc).splitlines()[0]}") from None


def _estate_csv(name: str, text: str, catalog: Catalog) -> bytes:
    """The workloads of an estate file as the contract CSV (advisor/inputs), provenance columns passed through."""
    from pathlib import Path

    from advisor.inputs import read_text
    from advisor.inputs.export import contract_frame

    return contract_frame(read_text(Path(name), text), catalog).write_csv().encode()


def _looks_like_csv(data: bytes, filename: str) -> bool:
    if filename.lower().endswith(".csv"):
        return True
    if filename.lower().endswith((".json", ".yaml", ".yml")):
        return False
    head = data.lstrip()[:1]
    return head not in (b"{", b"[")


@router.post("/review/upload", response_class=HTMLResponse,
             summary="Review uploaded workloads: a CSV, a portfolio JSON, or one workload (multipart, part 'file')",
             responses={200: HTML, 413: HTML, 422: HTML, 503: HTML})
async def review_upload(request: Request, state: StateDep, settings: SettingsDep,
                        catalog: CatalogDep) -> HTMLResponse:
    regions = sorted(state.catalog.regions)

    def bad(message: str, status: int = 422) -> HTMLResponse:
        return _html(render.page(upload_error=message, regions=regions), status)

    if media_type(request) != "multipart/form-data":
        return bad("send the file as a form upload (multipart/form-data, a part named 'file')", 415)
    async with request.form(max_files=1, max_fields=8) as data:
        part = data.get("file")
        free_tier = str(data.get("include_free_tier") or "").lower() in ("true", "on", "1")
        if not isinstance(part, UploadFile):
            return bad("choose a file to upload")
        filename = part.filename or "upload"
        payload = await part.read()
    if not payload.strip():
        return bad(f"{filename} is empty")
    try:
        estate = None if filename.lower().endswith(".csv") else estate_input(filename, payload, settings)
        if estate is not None:  # a plan, manifests or task definitions: their workloads, as contract rows
            kind, content = "csv", _estate_csv(*estate[1], catalog)
        elif _looks_like_csv(payload, filename):
            count_csv_rows(payload, settings)
            kind, content = "csv", payload
        else:
            kind, content = "document", _decode_document(payload, filename)
            workloads = content.get("workloads") if isinstance(content, dict) else content
            if isinstance(workloads, list) and len(workloads) > settings.max_rows:
                return bad(f"{len(workloads):,} workloads; the limit is {settings.max_rows:,} (ADVISOR_MAX_ROWS)",
                           413)
        lane = "evaluator" if kind == "csv" or (isinstance(content, dict) and "workloads" in content) \
            or isinstance(content, list) else "solver"
        html = await _run(state, lane, upload_page, kind, content, filename, regions, free_tier,
                          settings.max_solver_seconds * 4, catalog=catalog)
    except ApiError as exc:
        if exc.status == 503:
            return _problem_page(exc, regions)
        return bad(exc.message, exc.status)
    except CatalogError as exc:
        return bad(f"the facts this answer needs are unavailable: {exc}")
    except AdvisorError as exc:
        return bad(f"{filename}: {exc}")
    return _html(html)


@router.get("/review/sweeps/{job_id}", response_class=HTMLResponse,
            summary="A what-if sweep's comparison: a table and a chart of cost by scenario (HTML)",
            responses={200: HTML, 404: HTML})
async def review_sweep(request: Request, state: StateDep,
                       job_id: Annotated[str, PathParam(max_length=64, description="the sweep job's id")]
                       ) -> HTMLResponse:
    runner = request.app.state.sweeps
    try:
        job, request_doc = await runner.use(lambda store: (store.get(job_id), store.request_of(job_id)))
    except ApiError as exc:
        return _problem_page(exc, await _regions(state))
    if job is None:
        return _html(render.page(problem=f"There is no sweep {job_id} (finished sweeps are kept for a while, "
                                         "then deleted).", regions=await _regions(state)), 404)
    return _html(await anyio.to_thread.run_sync(sweep_page, job, request_doc))
