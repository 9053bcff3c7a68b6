"""POST /v1/plans: a portfolio with shared constraints and shared capacity, planned together."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import JsonBody, SettingsDep, StateDep
from api.errors import ApiError, error_responses
from api.routers.recommendations import check_region
from api.schemas import PlanRequest
from models.portfolio import PlanDocument

router = APIRouter(prefix="/plans", tags=["plans"])


@router.post(
    "", dependencies=[JsonBody], response_model=PlanDocument,
    summary="Plan a portfolio",
    description="One placement per workload, chosen together under the portfolio's budget, upfront cap, spot "
                "share and vCPU quotas, with owned commitments used first; shared clusters packed, Dedicated Hosts "
                "and fees shared; the solver's status, bound and gap; what the portfolio changed and what each "
                "binding constraint costs. Every workload's row carries its share of the shared nodes, hosts and "
                "fees (the rows add up to the total to the cent) beside its cost alone; the commitments to buy are "
                "exactly what the packed plan runs. An infeasible portfolio is a 422 naming the conflicting "
                "constraints.",
    responses=error_responses(400, 401, 413, 415, 422, 503),
)
async def create_plan(body: PlanRequest, settings: SettingsDep, state: StateDep) -> Response:
    if len(body.workloads) > settings.max_rows:
        raise ApiError(413, "too_many_rows", f"{len(body.workloads):,} workloads in one plan; the limit is "
                                             f"{settings.max_rows:,} (ADVISOR_MAX_ROWS)")
    catalog = await state.get_catalog()
    for i, workload in enumerate(body.workloads):
        check_region(state.catalog.regions, workload.region, f"workloads.{i}.region")
    content = await state.evaluator.plan(body.model_dump(mode="json"), settings.max_solver_seconds, catalog)
    return Response(content, media_type="application/json")
