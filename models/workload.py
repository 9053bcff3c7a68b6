"""What a workload needs (contract section 1): validated at the door, frozen afterwards."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOURS_PER_MONTH = 730.0

# Upper bounds keep one request from asking for unbounded work or overflowing arithmetic.
MAX_VCPU = 1024
MAX_MEMORY_GIB = 32768
MAX_REPLICAS = 100_000
MAX_COUNT = 1e13
MAX_GIB = 1e7
MAX_USD = 1e10


class Service(StrEnum):
    ec2 = "ec2"
    ecs_ec2 = "ecs_ec2"
    ecs_fargate = "ecs_fargate"
    eks_ec2 = "eks_ec2"
    eks_fargate = "eks_fargate"
    aws_lambda = "lambda"
    batch = "batch"
    lightsail = "lightsail"
    beanstalk = "beanstalk"


class OS(StrEnum):
    linux = "linux"
    windows = "windows"
    rhel = "rhel"
    suse = "suse"


class Arch(StrEnum):
    any = "any"
    x86_64 = "x86_64"
    arm64 = "arm64"


class Packaging(StrEnum):
    any = "any"
    vm = "vm"
    container = "container"
    function = "function"


class Orchestrator(StrEnum):
    none = "none"
    ecs = "ecs"
    kubernetes = "kubernetes"


class Tenancy(StrEnum):
    shared = "shared"
    dedicated = "dedicated"
    host = "host"


class Spread(StrEnum):
    """How replicas of a service are spread: over Availability Zones, over nodes, or not at all."""

    az = "az"
    node = "node"
    none = "none"


class Ops(StrEnum):
    managed = "managed"
    balanced = "balanced"
    control = "control"


PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]

EXAMPLE = {
    "id": "api-1", "region": "us-east-1", "os": "linux", "vcpu": 2, "memory_gib": 8, "replicas": 2,
    "hours_per_month": 730, "horizon_months": 36, "interruptible": False,
}


class Workload(BaseModel):
    """One workload: a CSV row or a JSON object, with the contract's names, units and defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False,
                              json_schema_extra={"examples": [EXAMPLE]})

    id: Annotated[str, Field(min_length=1, max_length=200)]
    region: Annotated[str, Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d+(-[a-z]+-\d+)?$",
                                 max_length=30)]
    os: OS = OS.linux
    arch: Arch = Arch.any
    vcpu: Annotated[float | None, Field(gt=0, le=MAX_VCPU, allow_inf_nan=False)] = None
    memory_gib: Annotated[float | None, Field(gt=0, le=MAX_MEMORY_GIB, allow_inf_nan=False)] = None
    gpus: Annotated[int, Field(ge=0, le=64)] = 0
    gpu_model: Annotated[str | None, Field(max_length=40)] = None
    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)] = 1
    peak_replicas: Annotated[int | None, Field(ge=1, le=MAX_REPLICAS)] = None
    hours_per_month: Annotated[float, Field(gt=0, le=HOURS_PER_MONTH, allow_inf_nan=False)] = HOURS_PER_MONTH
    horizon_months: Annotated[int, Field(ge=1, le=120)] = 12
    cpu_utilization: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    interruptible: bool = False
    stateful: bool = False
    packaging: Packaging = Packaging.any
    orchestrator: Orchestrator = Orchestrator.none
    requests_per_month: Annotated[float | None, Field(ge=0, le=MAX_COUNT, allow_inf_nan=False)] = None
    avg_duration_ms: Annotated[float | None, Field(gt=0, le=1e9, allow_inf_nan=False)] = None
    function_memory_mb: Annotated[int | None, Field(ge=128, le=10240)] = None
    jobs_per_month: Annotated[float | None, Field(ge=0, le=MAX_COUNT, allow_inf_nan=False)] = None
    job_duration_minutes: Annotated[float | None, Field(gt=0, le=1e7, allow_inf_nan=False)] = None
    deadline_hours: Annotated[float | None, Field(gt=0, le=1e6, allow_inf_nan=False)] = None
    storage_gib: Annotated[float, Field(ge=0, le=MAX_GIB, allow_inf_nan=False)] = 0.0
    scratch_gib: Annotated[float, Field(ge=0, le=MAX_GIB, allow_inf_nan=False)] = 0.0
    egress_gib_month: Annotated[float, Field(ge=0, le=MAX_GIB * 100, allow_inf_nan=False)] = 0.0
    tenancy: Tenancy = Tenancy.shared
    byol: bool = False
    capacity_guarantee: bool = False
    ops: Ops = Ops.balanced
    existing_cluster: bool = False
    max_monthly_usd: Annotated[float | None, Field(gt=0, le=MAX_USD, allow_inf_nan=False)] = None
    max_upfront_usd: Annotated[float | None, Field(ge=0, le=MAX_USD, allow_inf_nan=False)] = None
    allowed_services: tuple[Service, ...] | None = None
    # Availability: 2+ replicas run on 2+ nodes ("az": nodes in 2+ Availability Zones, AWS's guidance).
    spread: Spread = Spread.az
    # The load model (README "The load model"): peak in-flight requests = average (Little's law) x peak_factor;
    # instance and container options carry them at requests_in_flight_per_vcpu per vCPU.
    peak_factor: Annotated[float, Field(ge=1, le=1000, allow_inf_nan=False)] = 1.0
    requests_in_flight_per_vcpu: Annotated[float, Field(gt=0, le=10000, allow_inf_nan=False)] = 1.0
    # Previous-generation instance types only when asked (or when no current-generation type fits).
    allow_previous_generation: bool = False

    @field_validator("allowed_services", mode="before")
    @classmethod
    def _split_services(cls, value: object) -> object:
        """CSV cells carry lists as 'ec2;ecs_fargate' or 'ec2,ecs_fargate'; empty means all."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            return tuple(parts) or None
        return value

    @field_validator("gpu_model", mode="before")
    @classmethod
    def _blank_gpu_model(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "any"):
            return None
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        if self.peak_replicas is not None and self.peak_replicas < self.replicas:
            raise ValueError("peak_replicas must be >= replicas")
        if (self.requests_per_month is None) != (self.avg_duration_ms is None):
            raise ValueError("a request-shaped workload needs both requests_per_month and avg_duration_ms")
        if (self.jobs_per_month is None) != (self.job_duration_minutes is None):
            raise ValueError("a job-shaped workload needs both jobs_per_month and job_duration_minutes")
        if self.deadline_hours is not None and self.jobs_per_month is None:
            raise ValueError("deadline_hours applies to job-shaped workloads: give jobs_per_month too")
        if not self.request_shaped and (self.vcpu is None or self.memory_gib is None):
            raise ValueError("vcpu and memory_gib are required unless the workload is request-shaped "
                             "(requests_per_month and avg_duration_ms)")
        if self.allowed_services is not None and len(self.allowed_services) == 0:
            raise ValueError("allowed_services must name at least one service")
        return self

    # Derived views: names that explain what the rules above mean.
    @property
    def request_shaped(self) -> bool:
        return self.requests_per_month is not None and self.avg_duration_ms is not None

    @property
    def job_shaped(self) -> bool:
        return self.jobs_per_month is not None and self.job_duration_minutes is not None

    @property
    def peak(self) -> int:
        return self.peak_replicas if self.peak_replicas is not None else self.replicas

    @property
    def needs_host(self) -> bool:
        """BYOL per-socket/per-core licences and host tenancy both need a Dedicated Host."""
        return self.byol or self.tenancy is Tenancy.host

    @property
    def sustained_vcpu(self) -> float:
        return (self.vcpu or 0.0) * self.cpu_utilization

    def allows(self, service: Service) -> bool:
        return self.allowed_services is None or service in self.allowed_services

    def allows_name(self, service: str) -> bool:
        return self.allows(Service(service))
