"""POST /v1/plans: a portfolio with shared constraints. The optimizer does not exist yet: after the body is
validated (so bad input still gets 422), the answer is 501, never a pretend plan."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JsonBody, SettingsDep, StateDep
from api.errors import ApiError, ErrorBody, error_responses
from api.routers.recommendations import check_region
from api.schemas import PlanRequest

router = APIRouter(prefix="/plans", tags=["plans"])


@router.post(
    "", status_code=501, dependencies=[JsonBody], response_model=ErrorBody,
    summary="Plan a portfolio (not implemented yet: 501)",
    description="Validates `{\"workloads\": [...], \"constraints\": {...}}` (422 naming the field on bad input), "
                "then answers 501: the portfolio optimizer is not available yet.",
    responses={501: {"model": ErrorBody, "description": "The portfolio optimizer is not available yet"},
               **error_responses(400, 401, 413, 415, 422)},
)
async def create_plan(body: PlanRequest, settings: SettingsDep, state: StateDep) -> ErrorBody:
    if len(body.workloads) > settings.max_rows:
        raise ApiError(413, "too_many_rows", f"{len(body.workloads):,} workloads in one plan; the limit is "
                                             f"{settings.max_rows:,} (ADVISOR_MAX_ROWS)")
    await state.get_catalog()
    for i, workload in enumerate(body.workloads):
        check_region(state.catalog.regions, workload.region, f"workloads.{i}.region")
    raise ApiError(501, "not_implemented", "portfolio planning is not available yet: the input is valid, but no plan "
                                           "was computed; use POST /v1/recommendations or /v1/evaluations per "
                                           "workload meanwhile")
