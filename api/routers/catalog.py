"""GET /v1/catalog/...: the facts the advice rests on (version, instance types with rates, limits, check)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from advisor.catalog import check, listing
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from api.deps import CatalogDep, StateDep
from api.errors import error_responses
from api.jobs import dumps
from api.schemas import CatalogVersion, CheckSummary, InstanceTypeList, InstanceTypeRecord, Limits
from models.workload import OS, Workload

router = APIRouter(prefix="/catalog", tags=["catalog"])

REGION_PATTERN = next(m.pattern for m in Workload.model_fields["region"].metadata if hasattr(m, "pattern"))
INSTANCE_TYPE_PATTERN = r"^[a-z0-9][a-z0-9\-]*\.[a-z0-9\-]+$"

Region = Annotated[str, Query(pattern=REGION_PATTERN, max_length=30, description="AWS region code",
                              examples=["us-east-1"])]
OsParam = Annotated[OS, Query(description="operating system")]
InstanceType = Annotated[str, Path(pattern=INSTANCE_TYPE_PATTERN, max_length=48, examples=["m5.large"])]

# A curated set of hard limits the candidates enforce, each served with its source and quality.
LIMITS: dict[str, str] = {
    "lambda.max_timeout_seconds": "Lambda: longest a function may run",
    "lambda.min_memory_mb": "Lambda: smallest memory setting",
    "lambda.max_memory_mb": "Lambda: largest memory setting",
    "lambda.mb_per_vcpu": "Lambda: memory that buys one vCPU",
    "lambda.max_vcpu": "Lambda: most vCPUs of one function",
    "lambda.ephemeral_max_mb": "Lambda: largest /tmp",
    "lambda.sync_payload_mb": "Lambda: synchronous invocation payload",
    "lambda.default_concurrency_limit": "Lambda: default concurrent executions per Region",
    "fargate.max_task_vcpu": "Fargate: most vCPUs of one task",
    "fargate.max_task_memory_gib": "Fargate: most memory of one task",
    "fargate.valid_sizes": "Fargate: valid vCPU and memory combinations",
    "fargate.windows_min_vcpu": "Fargate: smallest Windows task",
    "fargate.ephemeral_included_gib": "Fargate: ephemeral storage included per task",
    "fargate.ecs_ephemeral_max_gib": "Fargate (ECS): largest ephemeral storage",
    "fargate.eks_ephemeral_max_gib": "Fargate (EKS): largest ephemeral storage",
    "fargate.spot_interruption_notice_seconds": "Fargate Spot: interruption notice",
    "ecs.max_task_vcpu_on_ec2": "ECS on EC2: most vCPUs of one task",
    "eks.max_pods_prefix_delegation_small": "EKS: max pods per node up to the vCPU threshold",
    "eks.max_pods_prefix_delegation_large": "EKS: max pods per node above the vCPU threshold",
    "eks.max_pods_vcpu_threshold": "EKS: vCPU threshold between the two max-pods values",
    "eks.fargate_pod_memory_overhead_mib": "EKS on Fargate: memory added to each pod",
    "batch.max_compute_environments_per_queue": "Batch: compute environments per job queue",
    "spot.notice_seconds": "EC2 Spot: interruption notice",
    "ebs.gp3_max_iops": "EBS gp3: most IOPS of one volume",
    "ebs.gp3_max_throughput_mibps": "EBS gp3: most throughput of one volume",
    "lightsail.quotas": "Lightsail: per-Region quotas",
    "quotas.on_demand_standard_default_vcpus": "EC2: default On-Demand Standard vCPU quota per Region",
    "scheduled_instances.purchasable": "EC2 Scheduled Instances can still be bought",
}

ERRORS_404 = error_responses(401, 404, 422, 503)


def _ref(catalog: Catalog) -> dict[str, str]:
    return {"version": catalog.version, "as_of": catalog.as_of}


def _cached(state: Any, key: tuple, build: Any) -> Response:
    body = state.responses.get(key)
    if body is None:
        body = dumps(build())
        state.responses.put(key, body)
    return Response(body, media_type="application/json")


@router.get("/version", response_model=CatalogVersion, summary="Catalog version, as-of date and sources",
            responses=error_responses(401, 503))
async def catalog_version(catalog: CatalogDep, state: StateDep) -> CatalogVersion:
    return CatalogVersion(version=catalog.version, as_of=catalog.as_of, regions=sorted(state.catalog.regions),
                          sources=[asdict(s) for s in catalog.sources])


@router.get("/instance-types", response_model=InstanceTypeList, responses=ERRORS_404,
            summary="Every instance type offered in a region for an OS, with its on-demand price and quality")
def instance_types(catalog: CatalogDep, state: StateDep, region: Region = "us-east-1",
                   os: OsParam = OS.linux) -> Response:
    def build() -> dict[str, Any]:
        rows = listing.instances(catalog, region, os.value).select(listing.LIST_COLUMNS).to_dicts()
        return {"region": region, "os": os.value, "count": len(rows), "instance_types": rows,
                "catalog": _ref(catalog)}

    return _cached(state, (catalog.version, "list", region, os.value), build)


@router.get("/instance-types/{instance_type}", response_model=InstanceTypeRecord, responses=ERRORS_404,
            summary="One instance type: specs, on-demand price with its source, every purchase option's rate")
def instance_type(instance_type: InstanceType, catalog: CatalogDep, state: StateDep, region: Region = "us-east-1",
                  os: OsParam = OS.linux) -> Response:
    return _cached(state, (catalog.version, "record", instance_type, region, os.value),
                   lambda: listing.record(catalog, instance_type, region, os.value))


@router.get("/limits", response_model=Limits, responses=error_responses(401, 503),
            summary="Hard limits the advice enforces (Lambda, Fargate, EKS, ...), each with source and quality")
def limits(catalog: CatalogDep, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        out, missing = [], []
        for name, description in LIMITS.items():
            try:
                fact = catalog.facts.get(name)
            except FactMissing:
                missing.append(name)
                continue
            out.append({"name": name, "description": description, "value": fact.value, "unit": fact.unit,
                        "quality": fact.quality, "note": fact.note, "source": asdict(fact.source)})
        return {"limits": out, "missing": missing, "catalog": _ref(catalog)}

    return _cached(state, (catalog.version, "limits"), build)


@router.get("/check", response_model=CheckSummary, responses=error_responses(401, 503),
            summary="Price qualities per region and OS and repair-rule counts (no repairs list)")
def catalog_check(catalog: CatalogDep, state: StateDep) -> Response:
    def build() -> dict[str, Any]:
        report = check.report(catalog)
        report["repairs"] = len(report["repairs"])
        return report

    return _cached(state, (catalog.version, "check"), build)
