"""One candidate generator per AWS service; `generate_all` runs every one of them for a workload."""

from __future__ import annotations

from collections.abc import Callable

from advisor.candidates import aws_lambda, batch, beanstalk, containers, ec2, lightsail
from advisor.candidates.base import Context, Generated
from advisor.errors import FactMissing
from models.workload import Service, Workload

Generator = Callable[..., Generated]

GENERATORS: dict[Service, Generator] = {
    Service.ec2: ec2.generate,
    Service.ecs_ec2: containers.generate_ecs_ec2,
    Service.ecs_fargate: containers.generate_ecs_fargate,
    Service.eks_ec2: containers.generate_eks_ec2,
    Service.eks_fargate: containers.generate_eks_fargate,
    Service.aws_lambda: aws_lambda.generate,
    Service.batch: batch.generate,
    Service.lightsail: lightsail.generate,
    Service.beanstalk: beanstalk.generate,
}


def generate_all(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    """Candidates and rejections from every service, in a fixed service order (deterministic)."""
    out = Generated()
    for service, generator in GENERATORS.items():
        try:
            got = generator(w, ctx, exhaustive=exhaustive)
        except FactMissing as exc:  # a price or limit this service needs is not in the catalog
            got = Generated().reject(service.value, None, "price_missing", f"{exc}; import newer price data "
                                     "(advisor catalog import) or choose another region")
        if not got.candidates and not any(r.service == service.value for r in got.rejections):
            got.reject(service.value, None, "no_candidate", f"{service.value} produced no priced option")
        out.extend(got)
    return out



