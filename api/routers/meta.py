"""GET / (links), GET /healthz (liveness with the catalog version), GET /metrics (Prometheus)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from api.deps import StateDep
from api.schemas import Health, Index

API_VERSION = "1"

log = logging.getLogger("api")

router = APIRouter(tags=["meta"])


def wants_html(request: Request) -> bool:
    """A browser lists text/html before any JSON; API clients (curl, httpx, fetch) send */* or application/json."""
    accept = request.headers.get("accept", "").lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


@router.get("/", response_model=Index, summary="What this API offers, as links",
            description="An API client gets the links as JSON; a browser (Accept: text/html) is redirected to "
                        "the review page.",
            responses={303: {"description": "A browser is sent to /review"}})
async def index(request: Request) -> Index | RedirectResponse:
    if wants_html(request):
        return RedirectResponse("/review", status_code=303)
    return Index(name="AWS workload placement advisor", api_version=API_VERSION, links={
        "recommendations": "/v1/recommendations", "evaluations": "/v1/evaluations", "plans": "/v1/plans",
        "catalog_version": "/v1/catalog/version", "instance_types": "/v1/catalog/instance-types",
        "instance_type": "/v1/catalog/instance-types/{instance_type}", "limits": "/v1/catalog/limits",
        "catalog_check": "/v1/catalog/check", "sweeps": "/v1/sweeps", "health": "/healthz", "metrics": "/metrics",
        "openapi": "/openapi.json", "docs": "/docs", "redoc": "/redoc", "review": "/review"})


@router.get("/healthz", response_model=Health, summary="Liveness, with the catalog version in use",
            responses={503: {"model": Health, "description": "The catalog could not be loaded"}})
async def healthz(state: StateDep) -> JSONResponse:
    catalog = state.catalog.current
    if catalog is None:
        try:
            catalog = await state.get_catalog()
        except Exception:  # answered 503 below; the reason goes to the log
            log.warning("health check: the catalog cannot be loaded", exc_info=True)
            catalog = None
    if catalog is None:
        return JSONResponse({"status": "unavailable", "catalog_version": None, "catalog_as_of": None}, 503)
    return JSONResponse({"status": "ok", "catalog_version": catalog.version, "catalog_as_of": catalog.as_of})


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
