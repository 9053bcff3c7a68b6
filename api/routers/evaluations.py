"""POST /v1/evaluations: many workloads (a CSV upload or JSON) in, one result row per workload out, in order."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from advisor.batch_io import structural_problem
from api.deps import CatalogDep, EvaluatorDep, SettingsDep, is_json, media_type
from api.errors import ApiError, describe, error_responses, validation_items
from api.schemas import CSV_EXAMPLE, EvaluationRequest, EvaluationResponse
from api.settings import Settings

router = APIRouter(prefix="/evaluations", tags=["evaluations"])

CSV_TYPES = frozenset({"text/csv", "application/csv"})

REQUEST_BODY = {
    "required": True,
    "description": "A workload CSV (header row with the contract's field names) as the body (`text/csv`) or as "
                   "the `file` part of a multipart upload, or JSON `{\"workloads\": [...]}`.",
    "content": {
        "application/json": {"schema": EvaluationRequest.model_json_schema()},
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary",
                                               "description": "the workload CSV"}}}},
    },
}


def _too_many(n: int, settings: Settings) -> ApiError:
    return ApiError(413, "too_many_rows", f"{n:,} workloads in one request; the limit is {settings.max_rows:,} "
                                          "(ADVISOR_MAX_ROWS): split the input")


def count_csv_rows(data: bytes, settings: Settings) -> int:
    """Data rows of a CSV (blank lines skipped), checked to be UTF-8, readable and within the row limit."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_csv", f"the CSV is not UTF-8 text (bad byte at offset {exc.start})") from None
    problem = structural_problem(io.StringIO(text, newline=""))
    if problem:
        raise ApiError(400, "invalid_csv", f"the body is not a readable CSV: {problem}")
    rows = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ApiError(400, "invalid_csv", "the CSV has no header row: the first line names the columns")
        for row in reader:
            if any(cell.strip() for cell in row):
                rows += 1
                if rows > settings.max_rows:
                    raise ApiError(413, "too_many_rows", f"more than {settings.max_rows:,} data rows; the limit is "
                                                         f"{settings.max_rows:,} (ADVISOR_MAX_ROWS): split the file")
    except csv.Error as exc:
        raise ApiError(400, "invalid_csv", f"the body is not a readable CSV (line {reader.line_num}): {exc}") from None
    if rows == 0:
        raise ApiError(422, "invalid_input", "the CSV has a header but no data rows")
    return rows


async def read_csv_upload(request: Request) -> bytes:
    async with request.form(max_files=1, max_fields=8) as form:
        part = form.get("file")
        if isinstance(part, UploadFile):
            return await part.read()
        if isinstance(part, str):
            return part.encode()
    raise ApiError(422, "invalid_input", "a multipart upload needs the CSV in a part named 'file'")


async def read_input(request: Request, settings: Settings) -> tuple[str, Any, bool]:
    """('csv', bytes, False) or ('records', list of dicts, include_free_tier), or 400/413/415/422."""
    kind = media_type(request)
    if kind == "multipart/form-data":
        data = await read_csv_upload(request)
        if not data:
            raise ApiError(400, "empty_body", "the uploaded file is empty")
        count_csv_rows(data, settings)
        return "csv", data, False
    body = await request.body()
    if not body:
        raise ApiError(400, "empty_body", "the request body is empty: send a CSV or JSON {\"workloads\": [...]}")
    if kind in CSV_TYPES:
        count_csv_rows(body, settings)
        return "csv", body, False
    if is_json(kind):
        try:
            parsed = EvaluationRequest.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors()
            if any(e.get("type") == "json_invalid" for e in errors):
                raise ApiError(400, "invalid_json", f"the body is not valid JSON: {errors[0].get('msg')}") from None
            items = validation_items(errors)
            raise ApiError(422, "invalid_input", describe(items), errors=items) from None
        if len(parsed.workloads) > settings.max_rows:
            raise _too_many(len(parsed.workloads), settings)
        return "records", parsed.workloads, parsed.include_free_tier
    raise ApiError(415, "unsupported_media_type",
                   f"Content-Type {kind or '(none)'} is not accepted here: send text/csv, multipart/form-data "
                   "(a part named 'file') or application/json")


@router.post(
    "", response_model=EvaluationResponse, openapi_extra={"requestBody": REQUEST_BODY},
    summary="Evaluate many workloads (CSV or JSON)",
    description="One output row per input row, in input order: the input columns, then either the "
                "recommendation's columns (status ok) or the error (status error). A malformed file as a whole "
                "is answered 400 (not CSV/JSON) or 422 (the field and row named).",
    responses=error_responses(400, 401, 413, 415, 422, 501, 503),
)
async def create_evaluation(
    request: Request, settings: SettingsDep, evaluator: EvaluatorDep, catalog: CatalogDep,
    include_free_tier: Annotated[bool, Query(description="count free tiers (for CSV uploads; JSON may say it in "
                                                         "the body)")] = False,
) -> Response:
    kind, payload, free_in_body = await read_input(request, settings)
    try:
        content = await evaluator.evaluate(kind, payload, include_free_tier or free_in_body, catalog)
    except NotImplementedError:
        raise ApiError(501, "not_implemented", "batch evaluation is not available in this build yet; "
                                               "use POST /v1/recommendations for each workload") from None
    return Response(content, media_type="application/json")
