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
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})

REQUEST_BODY = {
    "required": True,
    "description": "A workload CSV (header row with the contract's field names) as the body (`text/csv`) or as "
                   "the `file` part of a multipart upload, or JSON `{\"workloads\": [...]}`. Also, detected by "
                   "content: a Terraform/OpenTofu plan JSON or ECS task definitions (`application/json`), Kubernetes "
                   "manifests (`application/yaml`), or any of them as the upload: rows then carry provenance, "
                   "`current_monthly_usd` (as written) and `saving_usd`, and the answer lists `skipped` objects.",
    "content": {
        "application/json": {"schema": EvaluationRequest.model_json_schema()},
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "application/yaml": {"schema": {"type": "string"}, "description": "Kubernetes manifests"},
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
    return (await read_upload(request))[1]


async def read_upload(request: Request) -> tuple[str, bytes]:
    """(file name, content) of the multipart part named 'file'."""
    async with request.form(max_files=1, max_fields=8) as form:
        part = form.get("file")
        if isinstance(part, UploadFile):
            return part.filename or "upload", await part.read()
        if isinstance(part, str):
            return "upload", part.encode()
    raise ApiError(422, "invalid_input", "a multipart upload needs the CSV in a part named 'file'")


def estate_input(name: str, data: bytes, settings: Settings, *, yaml_body: bool = False
                 ) -> tuple[str, Any, bool] | None:
    """('estate', (name, text), False) for a Terraform plan, Kubernetes manifests or ECS task definitions
    (detected by content, advisor/inputs); None for anything else. A file that cannot be read is a 422; so is a
    YAML body (`yaml_body`) that is not Kubernetes manifests."""
    from pathlib import Path

    from advisor.errors import InputError
    from advisor.inputs import detect, read_text
    from advisor.inputs.kubernetes import documents

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    path = Path(name)
    try:
        if yaml_body:
            list(documents(text))  # a YAML error names its line
        if detect(path, text) not in ("terraform", "kubernetes", "ecs"):
            if yaml_body:
                raise InputError("the YAML body holds no Kubernetes objects (apiVersion and kind)")
            return None
        items = len(read_text(path, text).items)
    except InputError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    if items > settings.max_rows:
        raise _too_many(items, settings)
    return "estate", (name, text), False


async def read_input(request: Request, settings: Settings) -> tuple[str, Any, bool]:
    """('csv', bytes, False) or ('records', list of dicts, include_free_tier), or 400/413/415/422."""
    kind = media_type(request)
    if kind == "multipart/form-data":
        name, data = await read_upload(request)
        if not data:
            raise ApiError(400, "empty_body", "the uploaded file is empty")
        if not name.lower().endswith(".csv") and (estate := estate_input(name, data, settings)):
            return estate
        count_csv_rows(data, settings)
        return "csv", data, False
    body = await request.body()
    if not body:
        raise ApiError(400, "empty_body", "the request body is empty: send a CSV or JSON {\"workloads\": [...]}")
    if kind in CSV_TYPES:
        count_csv_rows(body, settings)
        return "csv", body, False
    if kind in YAML_TYPES and (estate := estate_input("body.yaml", body, settings, yaml_body=True)):
        return estate
    if is_json(kind) and (estate := estate_input("body.json", body, settings)):
        return estate
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
                   "(a part named 'file'), application/json or (Kubernetes manifests) application/yaml")


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
