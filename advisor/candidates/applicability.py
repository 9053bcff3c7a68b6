"""Which services can serve a workload at all, before any price: allowed, packaging, orchestrator, OS.

Each rule answers with a stable reason code and a sentence that says what would change the answer.
"""

from __future__ import annotations

from advisor.candidates.base import Rejection
from advisor.candidates.rules import DEDICATED, requirement_rejection
from models.workload import OS, Orchestrator, Packaging, Service, Workload

ALL = frozenset(Service)
RUNS = {
    Packaging.any: ALL,
    Packaging.container: ALL,
    # A VM image runs as it is on EC2 and Lightsail; Beanstalk deploys code or containers onto its own
    # platform images, so a lift-and-shift VM is not a Beanstalk candidate.
    Packaging.vm: frozenset({Service.ec2, Service.lightsail}),
    Packaging.function: frozenset({Service.aws_lambda}),
}
ORCHESTRATED = {
    Orchestrator.none: ALL,
    Orchestrator.ecs: frozenset({Service.ecs_ec2, Service.ecs_fargate, Service.batch}),
    Orchestrator.kubernetes: frozenset({Service.eks_ec2, Service.eks_fargate, Service.batch}),
}
OS_SUPPORT = {
    OS.linux: ALL,
    OS.windows: frozenset({Service.ec2, Service.ecs_ec2, Service.ecs_fargate, Service.eks_ec2, Service.lightsail,
                           Service.beanstalk}),
    OS.rhel: frozenset({Service.ec2}),
    OS.suse: frozenset({Service.ec2}),
}
NEEDS_SHAPE = frozenset(ALL - {Service.aws_lambda})


def gate(service: Service, w: Workload) -> Rejection | None:
    """The first hard reason `service` cannot serve `w`, or None."""
    name = service.value
    if not w.allows(service):
        return Rejection(name, None, "service_not_allowed",
                         f"{name} is not in allowed_services; add it to compare its cost")
    if service not in RUNS[w.packaging]:
        return Rejection(name, None, "packaging_mismatch",
                         f"{name} cannot run software packaged as {w.packaging.value}; "
                         "repackage it (e.g. as a container) to use it")
    if service not in ORCHESTRATED[w.orchestrator]:
        return Rejection(name, None, "orchestrator_mismatch",
                         f"the team is committed to {w.orchestrator.value}; {name} does not run under it")
    if service not in OS_SUPPORT[w.os]:
        return Rejection(name, None, "os_unsupported",
                         f"{name} does not run {w.os.value}; "
                         + ("RHEL and SUSE run on EC2 instances" if w.os in (OS.rhel, OS.suse)
                            else "use EC2, ECS or Beanstalk for Windows"))
    if service in NEEDS_SHAPE and (w.vcpu is None or w.memory_gib is None):
        return Rejection(name, None, "no_replica_shape",
                         f"{name} needs vcpu and memory_gib per replica; give them to compare it")
    if w.needs_host and service is not Service.ec2:
        return Rejection(name, None, "needs_dedicated_host",
                         f"{'BYOL licences' if w.byol else 'host tenancy'} need a Dedicated Host, "
                         "which only plain EC2 offers")
    if w.tenancy.value == "dedicated" and service not in DEDICATED:
        return Rejection(name, None, "tenancy_unsupported",
                         f"{name} runs on shared hardware only; dedicated tenancy needs EC2 instances or ECS/EKS nodes")
    return requirement_rejection(service, w)
