"""The app factory: `create_app(settings)` wires settings, state, middleware, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader
from starlette.middleware import Middleware

from api import errors
from api.middleware import ApiKeyAuth, BodyLimit, RequestContext
from api.routers import catalog, docs, evaluations, meta, plans, recommendations, review, sweeps
from api.settings import Settings
from api.state import AppState
from api.sweep_jobs import SweepRunner

# Paths that need no API key: health and metrics (probes, scrapers), the index and the documentation.
OPEN_PATHS = frozenset({"/", "/healthz", "/metrics", "/openapi.json", *docs.OPEN_PATHS})

DESCRIPTION = """Where, and how, should a workload run on AWS, and what will it cost?

Every answer names the catalog version it rests on. Errors share one shape (`ErrorBody`): 422 names the field
(and the row, for CSV), 400 a body that is not JSON or CSV, 413 a body or row count over the limit.
When the server has an API key configured, `/v1` needs the header `X-API-Key`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    state = AppState(settings)
    runner = SweepRunner(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        await anyio.to_thread.run_sync(runner.start)
        yield
        await anyio.to_thread.run_sync(runner.stop)
        await state.stop()

    def route_templates() -> list[str]:
        return [*app.openapi()["paths"], *OPEN_PATHS]

    middleware = [Middleware(RequestContext, metrics=state.metrics, templates=route_templates)]
    if settings.cors_origin_list:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"], expose_headers=["X-Request-ID", "Location"],
            max_age=600))
    if settings.api_key is not None:
        middleware.append(Middleware(ApiKeyAuth, api_key=settings.api_key.get_secret_value(), open_paths=OPEN_PATHS))
    middleware.append(Middleware(BodyLimit, max_bytes=settings.max_body_bytes))

    app = FastAPI(title="AWS workload placement advisor", version=meta.API_VERSION, description=DESCRIPTION,
                  lifespan=lifespan, middleware=middleware, docs_url=None, redoc_url=None)
    app.state.advisor = state
    app.state.sweeps = runner
    errors.install(app)
    docs.install(app)

    # Documents the header in OpenAPI (the check itself is ApiKeyAuth, before any body is read).
    v1_dependencies = [] if settings.api_key is None else [
        Security(APIKeyHeader(name="X-API-Key", auto_error=False))]
    v1 = APIRouter(prefix="/v1", dependencies=v1_dependencies)
    v1.include_router(recommendations.router)
    v1.include_router(evaluations.router)
    v1.include_router(plans.router)
    v1.include_router(catalog.router)
    v1.include_router(sweeps.router)
    app.include_router(meta.router)
    app.include_router(review.router)
    app.include_router(v1)
    return app
