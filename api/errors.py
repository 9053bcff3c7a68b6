"""One error shape for every failure, and the one place that maps errors to HTTP statuses.

- bad input: 422 with the field path (and the row, for CSV); a body that is not JSON/CSV: 400;
- the core's errors: InputError -> 422 (field, row); FactMissing -> 404 on catalog routes, else 422;
  other CatalogError -> 503 (the facts are unavailable: a server-side problem, not the client's);
  AdvisorError -> 422;
- Starlette/FastAPI HTTP errors (404, 405, 413, 415, ...) keep their status, in the same shape.

An unexpected exception is answered 500 by the request middleware (api.middleware), never here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from advisor.errors import AdvisorError, CatalogError, FactMissing, ImportFormatError, InputError
from advisor.workload_io import message_for
from api.logs import request_id_var

log = logging.getLogger("api.errors")

MAX_ECHO = 100  # characters of a rejected value echoed back (never a whole hostile body)


class ErrorItem(BaseModel):
    field: str | None = Field(None, description="dotted path of the field to fix, e.g. workload.vcpu")
    message: str
    row: int | None = Field(None, description="1-based data row of a CSV or index+1 of a JSON list")
    type: str | None = Field(None, description="machine-readable kind of the problem")
    value: str | int | float | bool | None = Field(None, description="the rejected value (shortened)")


class ErrorBody(BaseModel):
    """Every non-2xx answer has this shape."""

    status: int
    code: str = Field(description="stable machine-readable code, e.g. invalid_input, not_found, body_too_large")
    message: str = Field(description="a sentence a person can act on")
    errors: list[ErrorItem] = Field(default_factory=list)
    request_id: str | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "status": 422, "code": "invalid_input", "message": "workload.vcpu: must be greater than 0",
        "errors": [{"field": "workload.vcpu", "message": "must be greater than 0", "type": "greater_than",
                    "value": -1, "row": None}], "request_id": "3f2a9c0e5b8d4e6f9a1b2c3d4e5f6a7b"}]}}


class ApiError(Exception):
    """An error the API answers on purpose, with its status and code."""

    def __init__(self, status: int, code: str, message: str, *, errors: Sequence[ErrorItem] = (),
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = headers


CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_input",
    429: "too_many_requests", 500: "internal_error", 501: "not_implemented", 503: "unavailable",
}

DESCRIPTIONS = {
    400: "The body is not JSON (or not CSV), or is empty", 401: "Missing or wrong X-API-Key (when auth is on)",
    404: "Unknown instance type or region", 413: "Body or row count over the limit",
    415: "Unsupported Content-Type", 422: "Invalid input: the body names the field (and the row, for CSV)",
    501: "Not implemented yet", 503: "Busy (retry later) or the catalog is unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these statuses, all with the ErrorBody schema."""
    return {s: {"model": ErrorBody, "description": DESCRIPTIONS.get(s, CODES.get(s, "error"))} for s in statuses}


def shorten(value: Any) -> str | int | float | bool | None:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + f"... ({len(value)} characters)"
    return None


def error_json(status: int, code: str, message: str, errors: Iterable[ErrorItem] = (),
               headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(status=status, code=code, message=message, errors=list(errors), request_id=request_id_var.get())
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def validation_items(errors: Iterable[dict[str, Any]], *, row: int | None = None,
                     prefix: str = "") -> list[ErrorItem]:
    items = []
    for err in errors:
        field = _field(err.get("loc", ()))
        items.append(ErrorItem(field=f"{prefix}{field}" if prefix else field, message=message_for(err),
                               row=row, type=str(err.get("type")) if err.get("type") else None,
                               value=shorten(err.get("input"))))
    return items


def describe(items: Sequence[ErrorItem], limit: int = 3) -> str:
    text = "; ".join(f"{i.field}: {i.message}" if i.field else i.message for i in items[:limit])
    return text + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


async def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    json_invalid = [e for e in errors if e.get("type") == "json_invalid"]
    if json_invalid:
        ctx = json_invalid[0].get("ctx") or {}
        where = json_invalid[0].get("loc", ())
        pos = f" at position {where[1]}" if len(where) > 1 else ""
        return error_json(400, "invalid_json", f"the body is not valid JSON{pos}: {ctx.get('error', 'decode error')}")
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
        return error_json(400, "empty_body", "the request body is empty: send a JSON object")
    items = validation_items(errors)
    return error_json(422, "invalid_input", describe(items), items)


async def _http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such path: {shorten(request.url.path)} (see GET / for the routes)"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {shorten(request.url.path)}"
    return error_json(exc.status_code, CODES.get(exc.status_code, "error"), str(message), headers=exc.headers)


async def _api_handler(request: Request, exc: ApiError) -> JSONResponse:
    return error_json(exc.status, exc.code, exc.message, exc.errors, headers=exc.headers)


async def _advisor_handler(request: Request, exc: AdvisorError) -> JSONResponse:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, InputError):
        conflicts = getattr(exc, "conflicts", None)   # a portfolio no plan can meet: each clashing constraint
        if conflicts:
            items = [ErrorItem(field=c if c.startswith("workloads.") else f"constraints.{c}", row=exc.row,
                               message=f"{c} conflicts with {', '.join(x for x in conflicts if x != c) or 'itself'}",
                               type="conflicting_constraint") for c in conflicts]
            return error_json(422, "invalid_input", message, items)
        item = ErrorItem(field=exc.field, row=exc.row, message=message)
        return error_json(422, "invalid_input", message, [item])
    if isinstance(exc, FactMissing):
        if request.url.path.startswith("/v1/catalog"):
            return error_json(404, "not_found", message)
        return error_json(422, "unknown_fact", message)
    if isinstance(exc, ImportFormatError):
        return error_json(422, "invalid_input", message)
    if isinstance(exc, CatalogError):
        log.error("catalog unavailable: %s", message)
        return error_json(503, "catalog_unavailable", f"the catalog cannot be used: {message}",
                          headers={"Retry-After": "30"})
    return error_json(422, "invalid_input", message)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_handler)  # type: ignore[arg-type]
    app.add_exception_handler(AdvisorError, _advisor_handler)  # type: ignore[arg-type]
