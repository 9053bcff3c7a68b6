"""Hard requirements, one rule each, applied to every service before any price (and, in `forbidden`,
to every priced option after): what each AWS service can and cannot give.

- capacity_guarantee: only EC2 instances hold capacity (an On-Demand Capacity Reservation or a zonal
  RI): ec2, ecs_ec2, eks_ec2, beanstalk. Fargate, Lambda and Lightsail reserve nothing; Batch
  environments scale from zero (EC2 user guide, capacity reservations).
- Spot: not on eks_fargate (Fargate Spot is an ECS capacity provider: Fargate pricing page,
  eks.fargate_spot), Lambda or Lightsail; only for interruptible, stateless work.
- arm64: not on eks_fargate (ARM on Fargate is ECS-only: eks.fargate_architectures) nor Lightsail.
- GPUs: ec2, ecs_ec2, eks_ec2, batch's EC2 environments; none on Fargate, Lambda or Lightsail;
  Beanstalk's tiers do not fit GPU work (beanstalk.py). No gpu_model: NVIDIA only
  (gpus.default_vendor); AMD only when gpu_model names it (gpu.py).
- dedicated tenancy: ec2 (Dedicated Instances or Dedicated Hosts, the cheaper wins), ecs_ec2 and
  eks_ec2 (dedicated nodes); host tenancy and BYOL: ec2 on Dedicated Hosts (tenancy.json).
- stateful: not Lambda (no state between invocations), not Spot.
"""

from __future__ import annotations

from advisor.candidates.base import Candidate, Rejection
from models.workload import Arch, Service, Tenancy, Workload

CAPACITY_RESERVABLE = frozenset({Service.ec2, Service.ecs_ec2, Service.eks_ec2, Service.beanstalk})
RESERVING_OPTIONS = frozenset({"capacity_reservation", "reserved"})
SPOT_SOLD = frozenset({Service.ec2, Service.ecs_ec2, Service.eks_ec2, Service.ecs_fargate, Service.batch,
                       Service.beanstalk})
X86_ONLY = frozenset({Service.eks_fargate, Service.lightsail})
NO_GPU = frozenset({Service.ecs_fargate, Service.eks_fargate, Service.aws_lambda, Service.lightsail})
DEDICATED = frozenset({Service.ec2, Service.ecs_ec2, Service.eks_ec2})

WHY_NO_RESERVATION = {
    Service.lightsail: "Lightsail bundles cannot be reserved",
    Service.aws_lambda: "Lambda capacity cannot be reserved (provisioned concurrency pre-initialises functions "
                        "within the account's concurrency, it holds no capacity)",
    Service.ecs_fargate: "Fargate capacity cannot be reserved",
    Service.eks_fargate: "Fargate capacity cannot be reserved",
    Service.batch: "Batch compute environments scale from zero",
}


def requirement_rejection(service: Service, w: Workload) -> Rejection | None:
    """The first hard requirement `service` cannot meet for `w` (whole-service rules), or None."""
    name = service.value
    if w.capacity_guarantee and service not in CAPACITY_RESERVABLE:
        return Rejection(name, None, "capacity_guarantee_unmet",
                         f"{WHY_NO_RESERVATION[service]}; capacity_guarantee needs EC2 instances held by an "
                         "On-Demand Capacity Reservation or a zonal Reserved Instance (ec2, ecs_ec2, eks_ec2)")
    if w.arch is Arch.arm64 and service in X86_ONLY:
        return Rejection(name, None, "arch_unavailable",
                         f"{name} runs x86_64 only" + (" (ARM on Fargate is ECS-only)" if service is
                                                        Service.eks_fargate else "")
                         + "; use ecs_fargate, eks_ec2 or ec2 for arm64")
    if w.gpus > 0 and service in NO_GPU:
        return Rejection(name, None, "gpu_unsupported",
                         f"{name} has no GPUs; use EC2 GPU instances (directly, or under ECS, EKS or Batch)")
    return None


def forbidden(c: Candidate, w: Workload, arch: str | None) -> str | None:
    """Why a priced option breaks a hard requirement (a sentence), or None. The last line of defence:
    every generator should already have left such an option out."""
    service = Service(c.service)
    if w.capacity_guarantee and (service not in CAPACITY_RESERVABLE or c.purchase_option not in RESERVING_OPTIONS) \
            and c.tenancy != "host":
        return "capacity_guarantee needs a capacity reservation or a zonal reserved instance"
    if c.purchase_option == "spot" and (service not in SPOT_SOLD or not w.interruptible or w.stateful):
        return "Spot needs an interruptible, stateless workload on a service that sells Spot"
    if arch is not None and w.arch is not Arch.any and arch != w.arch.value:
        return f"runs on {arch}, the workload needs {w.arch.value}"
    if service in X86_ONLY and arch == "arm64":
        return f"{service.value} runs x86_64 only"
    if w.tenancy is Tenancy.dedicated and c.tenancy not in ("dedicated", "host"):
        return "dedicated tenancy needs Dedicated Instances or a Dedicated Host"
    if w.needs_host and c.tenancy != "host":
        return "host tenancy or BYOL needs a Dedicated Host"
    if w.gpus > 0 and service in NO_GPU:
        return f"{service.value} has no GPUs"
    return None
