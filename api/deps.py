"""Dependencies as `Annotated` aliases: a route names what it needs, the app provides it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from advisor.catalog.store import Catalog
from api.errors import ApiError
from api.settings import Settings
from api.state import AppState, Evaluator, Solver


async def get_state(request: Request) -> AppState:
    return request.app.state.advisor


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


async def get_catalog(state: StateDep) -> Catalog:
    return await state.get_catalog()


async def get_solver(state: StateDep) -> Solver:
    return state.solver


async def get_evaluator(state: StateDep) -> Evaluator:
    return state.evaluator


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SolverDep = Annotated[Solver, Depends(get_solver)]
EvaluatorDep = Annotated[Evaluator, Depends(get_evaluator)]


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def require_json(request: Request) -> None:
    """JSON routes: 400 for an empty body, 415 for a body that is not declared JSON."""
    body = await request.body()
    if not body:
        raise ApiError(400, "empty_body", "the request body is empty: send a JSON object")
    kind = media_type(request)
    if not is_json(kind):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {kind or '(none)'} is not accepted here: send application/json")


JsonBody = Depends(require_json)
