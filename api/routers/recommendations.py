"""POST /v1/recommendations: one workload in, the contract's recommendation out."""

from __future__ import annotations

from fastapi import APIRouter, Response

from advisor.workload_io import unknown_region
from api.deps import CatalogDep, JsonBody, SolverDep, StateDep
from api.errors import ApiError, ErrorItem, error_responses
from api.schemas import RECOMMENDATION_EXAMPLE, RecommendationRequest
from models.recommendation import Recommendation

router = APIRouter(prefix="/recommendations", tags=["recommendations"])


def check_region(known: frozenset[str], region: str, field: str) -> None:
    """An unknown region is the client's mistake (422 naming the field, the CLI's and CSV's words), not a
    missing fact."""
    problem = unknown_region(region, known)
    if problem:
        raise ApiError(422, "invalid_input", f"{field}: {problem}",
                       errors=[ErrorItem(field=field, message=problem, type="unknown_region", value=region)])


@router.post(
    "", response_model=Recommendation, dependencies=[JsonBody],
    summary="Recommend a placement for one workload",
    description="The cheapest placement meeting every hard requirement, ranked alternatives, every rejected "
                "service and purchase option with its reason, the on-demand EC2 baseline and the catalog version.",
    responses={200: {"content": {"application/json": {"example": RECOMMENDATION_EXAMPLE}}},
               **error_responses(400, 401, 413, 415, 422, 503)},
)
async def create_recommendation(body: RecommendationRequest, catalog: CatalogDep, solver: SolverDep,
                                state: StateDep) -> Response:
    check_region(state.catalog.regions, body.workload.region, "workload.region")
    content = await solver.recommend(body.workload, body.top_k, body.include_free_tier, catalog)
    return Response(content, media_type="application/json")
