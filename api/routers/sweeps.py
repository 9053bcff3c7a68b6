"""/v1/sweeps: what-if sweeps as jobs. POST answers 202 with the job's id and Location at once (after
validating everything, so a bad scenario or base is a 422 naming the field and no job); the sweep runs off
the event loop (api/sweep_jobs.py) and GET answers its status, progress and, when done, the result.
"""

from __future__ import annotations

import importlib.util
import json
import math
from typing import Annotated, Any, Literal

import anyio.to_thread
import yaml
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.batch import read_csv_bytes
from advisor.engines.ray_engine import INSTALL_HINT
from advisor.errors import InputError
from advisor.sweep.base import EstateBase, PortfolioBase
from advisor.sweep.scenarios import ScenarioFile, parse_scenarios
from api import jobs
from api.deps import JsonBody, SettingsDep, StateDep
from api.errors import ApiError, ErrorItem, describe, error_responses, validation_items
from api.routers.evaluations import count_csv_rows
from api.routers.recommendations import check_region
from api.schemas import PlanRequest
from api.settings import Settings
from api.sweep_jobs import SweepRunner, stored_request
from api.sweep_store import Job, SweepStore
from models.sweep import SweepResult

router = APIRouter(prefix="/sweeps", tags=["sweeps"])

Engine = Literal["local", "ray"]
JobId = Annotated[str, Path(max_length=64, description="the job's id (from POST /v1/sweeps)")]


# --- request --------------------------------------------------------------------------------------------

class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstateIn(_In):
    kind: Literal["estate"]
    csv: str = Field(description="the workload CSV as text (the contract's columns, header row first)")
    include_free_tier: bool = False


class PortfolioIn(_In):
    kind: Literal["portfolio"]
    portfolio: PlanRequest
    time_limit_s: float | None = Field(None, gt=0, le=600, description="each plan's limit on the planner's "
                                                                       "deterministic clock (default and most: "
                                                                       "ADVISOR_MAX_SWEEP_PLAN_SECONDS)")


class SweepRequest(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "base": {"kind": "portfolio", "portfolio": {"workloads": [{"id": "api", "vcpu": 2, "memory_gib": 8}]},
                 "time_limit_s": 5},
        "scenarios": "scenarios:\n  - name: spot +30%\n    changes:\n      prices:\n"
                     "        purchase_options: {spot: 1.3}\n"}]})

    base: Annotated[EstateIn | PortfolioIn, Field(discriminator="kind", description="what the scenarios change: "
                                                  "an estate (a workload CSV) or a portfolio")]
    scenarios: str | dict[str, Any] | list[Any] = Field(
        description="the scenarios file: its YAML text, or the same document as JSON ({\"scenarios\": [...]})")
    engine: Engine | None = Field(None, description="where it runs: the server's engine (ADVISOR_ENGINE) when left "
                                                    "out; local is always allowed, ray only on a server set up "
                                                    "for it")


# --- answers --------------------------------------------------------------------------------------------

class SweepProgress(BaseModel):
    done: int = Field(description="tasks finished (scenarios, the base included; x shards for an estate)")
    total: int


class SweepJob(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    kind: Literal["estate", "portfolio"]
    engine: Engine
    scenarios: int = Field(description="scenarios in the sweep (the base is answered besides)")
    progress: SweepProgress
    created_at: str
    started_at: str | None
    finished_at: str | None
    cancel_requested: bool
    error: str | None = Field(description="why the job failed")
    links: dict[str, str] = Field(description="this job, its result alone, and its review page")
    result: SweepResult | None = Field(description="the comparison, when done (or what was answered before a "
                                                   "cancel: complete false); absent from lists")


class SweepAccepted(BaseModel):
    id: str
    status: Literal["queued"]


class SweepList(BaseModel):
    sweeps: list[SweepJob] = Field(description="newest first, without results")
    total: int = Field(description="jobs kept in all")
    limit: int
    offset: int


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every `$defs` reference written in place: self-contained, so the OpenAPI
    document needs no components for it (the body is read by hand, to name fields without the union's tag)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"{model.__name__}: {name} refers to itself; it cannot be written in place")
                return walk({**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}, (*seen, name))
            # a discriminator's mapping names $defs too; each member's `kind` const says the same
            return {k: walk(v, seen) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return node

    return walk(schema, ())


def _links(job_id: str) -> dict[str, str]:
    return {"self": f"/v1/sweeps/{job_id}", "result": f"/v1/sweeps/{job_id}/result",
            "review": f"/review/sweeps/{job_id}"}


def job_fields(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "kind": job.kind, "engine": job.engine, "scenarios": job.scenarios,
            "progress": {"done": job.done, "total": job.total}, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "cancel_requested": job.cancel_requested,
            "error": job.error, "links": _links(job.id)}


def job_json(job: Job) -> bytes:
    """The job as JSON, the result last: the stored bytes spliced in (exactly what run_sweep produced), or null."""
    return jobs.dumps(job_fields(job))[:-1] + b',"result":' + (job.result or b"null") + b"}"


# --- validation -----------------------------------------------------------------------------------------

def _invalid(field: str, message: str, status: int = 422, code: str = "invalid_input", *,
             named: bool = False) -> ApiError:
    """An error naming `field`; `named`: the message already says where (the scenarios' own messages)."""
    return ApiError(status, code, message if named else f"{field}: {message}",
                    errors=[ErrorItem(field=field, message=message)])


def _no_aliases(text: str) -> None:
    """YAML aliases can make a small text an enormous document: the scenarios text may not use them."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise _invalid("scenarios", "YAML aliases (*name) are not accepted here: write each value out")
    except yaml.YAMLError as exc:
        raise _invalid("scenarios", f"not valid YAML: {str(exc).splitlines()[0]}") from None


def scenarios_from(value: str | dict[str, Any] | list[Any], settings: Settings) -> ScenarioFile:
    """The scenarios file from its YAML text or JSON document. Never read as a path: a client's text is text."""
    if isinstance(value, str):
        _no_aliases(value)
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise _invalid("scenarios", f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(value, list):
        value = {"scenarios": value}
    if not isinstance(value, dict):
        raise _invalid("scenarios", "a scenarios file is a mapping with a `scenarios:` list")
    listed = value.get("scenarios")
    if isinstance(listed, list) and len(listed) > settings.max_sweep_scenarios:
        raise _invalid("scenarios", f"{len(listed):,} scenarios; the limit is {settings.max_sweep_scenarios:,} "
                                    "(ADVISOR_MAX_SWEEP_SCENARIOS): split the sweep", 413, "too_many_scenarios")
    try:
        return parse_scenarios(json.loads(json.dumps(value, default=str)))  # YAML dates etc. as plain text
    except InputError as exc:
        raise _invalid(exc.field or "scenarios", str(exc), named=True) from None


def estate_base(body: EstateIn, settings: Settings) -> tuple[EstateBase, int]:
    """The estate and its shards (blocking: reads the CSV; call off the event loop)."""
    data = body.csv.encode()
    try:
        count_csv_rows(data, settings)
    except ApiError as exc:
        if exc.status == 400:  # not a readable CSV: here it is a field of the JSON body
            raise _invalid("base.csv", exc.message) from None
        raise _invalid("base.csv", exc.message, exc.status, exc.code) from None
    base = EstateBase(csv=data, include_free_tier=body.include_free_tier)
    try:
        rows = read_csv_bytes(base.csv).height
    except InputError as exc:
        raise _invalid("base.csv", str(exc)) from None
    return base, max(1, math.ceil(rows / base.chunk_rows))


def portfolio_base(body: PortfolioIn, settings: Settings, regions: frozenset[str]) -> PortfolioBase:
    workloads = body.portfolio.workloads
    if len(workloads) > settings.max_rows:
        raise _invalid("base.portfolio.workloads", f"{len(workloads):,} workloads; the limit is "
                                                   f"{settings.max_rows:,} (ADVISOR_MAX_ROWS)", 413, "too_many_rows")
    for i, workload in enumerate(workloads):
        check_region(regions, workload.region, f"base.portfolio.workloads.{i}.region")
    limit = settings.max_sweep_plan_seconds
    if body.time_limit_s is not None and body.time_limit_s > limit:
        raise _invalid("base.time_limit_s", f"{body.time_limit_s:g} s is over this server's limit of {limit:g} s "
                                            "(ADVISOR_MAX_SWEEP_PLAN_SECONDS)")
    return PortfolioBase(portfolio=body.portfolio.model_dump(mode="json"), time_limit_s=body.time_limit_s or limit)


def parse_request(raw: bytes) -> SweepRequest:
    """The body validated; errors name the field as the client wrote it (`base.portfolio.workloads.0.vcpu`,
    without the `kind` tag pydantic puts in a tagged union's path)."""
    try:
        return SweepRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {errors[0].get('msg')}") from None
        for err in errors:
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "base" and loc[1] in ("estate", "portfolio"):
                err["loc"] = (loc[0], *loc[2:])
        items = validation_items(errors)
        raise ApiError(422, "invalid_input", describe(items), errors=items) from None


def engine_for(asked: Engine | None, settings: Settings) -> Engine:
    """The engine a job runs on: the server's unless the request asks for local (or for ray on a Ray server).
    A server set up for Ray without the extra installed says so at once (503), before making a job."""
    if asked == "ray" and settings.engine != "ray":
        raise _invalid("engine", "this server runs sweeps on this machine only (ADVISOR_ENGINE=local); ask for "
                                 "local or leave the engine out")
    engine = asked or settings.engine
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ApiError(503, "engine_unavailable", f"this server is set up for Ray but cannot use it: {INSTALL_HINT}")
    return engine


def _runner(request: Request) -> SweepRunner:
    return request.app.state.sweeps


async def _job(request: Request, job_id: str, *, with_result: bool = True) -> Job:
    job = await _runner(request).use(lambda store: store.get(job_id, with_result=with_result))
    if job is None:
        raise ApiError(404, "not_found", f"no sweep {job_id!r} (finished sweeps are kept while within "
                                         "ADVISOR_SWEEPS_KEPT and ADVISOR_SWEEPS_MAX_AGE_DAYS)")
    return job


# --- routes ---------------------------------------------------------------------------------------------

@router.post(
    "", dependencies=[JsonBody], status_code=202, response_model=SweepAccepted,
    summary="Start a what-if sweep (a job)",
    description="The base (an estate CSV or a portfolio) and the scenarios (YAML text or JSON) are validated "
                "first: a bad one is a 422 naming the field, and no job is made. Then 202 with the job's id and "
                "`Location: /v1/sweeps/{id}`; the sweep runs in the background (at most ADVISOR_SWEEPS_RUNNING "
                "at once, the rest queued; 503 busy past ADVISOR_MAX_QUEUED_SWEEPS waiting).",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(SweepRequest)}}}},
    responses={**error_responses(400, 401, 413, 415, 422, 503),
               202: {"headers": {"Location": {"description": "the job", "schema": {"type": "string"}}}}},
)
async def create_sweep(request: Request, settings: SettingsDep, state: StateDep) -> Response:
    body = parse_request(await request.body())
    engine = engine_for(body.engine, settings)
    scenarios = await anyio.to_thread.run_sync(scenarios_from, body.scenarios, settings)
    if isinstance(body.base, EstateIn):
        base, shards = await anyio.to_thread.run_sync(estate_base, body.base, settings)
        total = (len(scenarios.scenarios) + 1) * shards
    else:
        await state.get_catalog()
        base, total = portfolio_base(body.base, settings, state.catalog.regions), len(scenarios.scenarios) + 1
    runner = _runner(request)
    stored = stored_request(base, scenarios)

    def submit(store: SweepStore) -> str | None:
        runner.prune(room=1)
        return store.submit(kind=base.kind, engine=engine, scenarios=len(scenarios.scenarios), total=total,
                            request=stored, max_queued=settings.max_queued_sweeps)

    job_id = await runner.use(submit)
    if job_id is None:
        raise ApiError(503, "busy", f"{settings.max_queued_sweeps} sweeps are already waiting "
                                    "(ADVISOR_MAX_QUEUED_SWEEPS); retry later", headers={"Retry-After": "30"})
    runner.wake()
    return Response(jobs.dumps({"id": job_id, "status": "queued"}), status_code=202, media_type="application/json",
                    headers={"Location": f"/v1/sweeps/{job_id}"})


@router.get("", response_model=SweepList, summary="Recent sweep jobs (newest first, without results)",
            responses=error_responses(401, 422))
async def list_sweeps(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                      offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    found, total = await _runner(request).use(lambda store: store.recent(limit, offset))
    body = b'{"sweeps":[' + b",".join(job_json(j) for j in found) + b"]," \
        + jobs.dumps({"total": total, "limit": limit, "offset": offset})[1:]
    return Response(body, media_type="application/json")


@router.get("/{job_id}", response_model=SweepJob, summary="A sweep job: status, progress and, when done, the result",
            responses=error_responses(401, 404, 422))
async def get_sweep(request: Request, job_id: JobId) -> Response:
    return Response(job_json(await _job(request, job_id)), media_type="application/json")


@router.get("/{job_id}/result", response_model=SweepResult,
            summary="A finished sweep's result alone (the same bytes as `advisor sweep --format json`, compact)",
            responses=error_responses(401, 404, 409, 422))
async def get_sweep_result(request: Request, job_id: JobId) -> Response:
    job = await _job(request, job_id)
    if job.result is None:
        raise ApiError(409, "not_finished", f"sweep {job_id} is {job.status}"
                                            + (f": {job.error}" if job.error else "; it has no result yet"))
    return Response(job.result, media_type="application/json")


@router.delete(
    "/{job_id}", status_code=204, response_model=None,
    summary="Cancel a queued or running sweep (202), or delete a finished one (204)",
    responses={**error_responses(401, 404, 422), 202: {"model": SweepJob, "description": "cancelled (queued) or "
                                                       "asked to stop (running: it stops between tasks, keeping "
                                                       "the scenarios answered so far)"}},
)
async def delete_sweep(request: Request, job_id: JobId) -> Response:
    runner = _runner(request)
    job = await _job(request, job_id, with_result=False)
    if job.finished and await runner.use(lambda store: store.delete(job_id)):
        return Response(status_code=204)
    job = await runner.use(lambda store: store.cancel(job_id))
    if job is None:
        raise ApiError(404, "not_found", f"no sweep {job_id!r}")
    return Response(job_json(job), status_code=202, media_type="application/json")
