"""The vectorized answer path for estates: many workloads answered with columnar operations at once.

`covered` says which workloads it answers (today: those whose services, by the hard rules, are all
among plain EC2, Lightsail, ECS/EKS on EC2 nodes or on Fargate, Lambda, Batch (its EC2 and Fargate environments) and
Beanstalk: shared or dedicated tenancy (Dedicated Instances, Dedicated Hosts, dedicated ECS/EKS nodes);
no GPUs, no BYOL, no upfront cap; request and job profiles included); `answer` answers
them and names the ones it leaves to the per-shape path. `unplaceable` names, for a workload no
service passes the hard rules for, those rules' reason codes: recommend() then has no candidate and
says only that.
Rules are not restated here: which services can serve a workload is `applicability.gate`, the
purchase options it allows `ec2.allowed_options`, the costs `frontiers.cost_instance_rows` and
`pricing`, Lightsail's fit `lightsail.baseline` and its module's rules, the order `Candidate.sort_key`
and the choice `choose.OPS_WEIGHTS`.
"""

from __future__ import annotations

from advisor.estate.ec2 import Answers, answer
from advisor.estate.gates import gates, served
from models.workload import Service, Tenancy, Workload

__all__ = ["Answers", "answer", "covered", "unplaceable"]
VECTORIZED = frozenset({Service.ec2, Service.lightsail, Service.ecs_ec2, Service.eks_ec2, Service.ecs_fargate,
                        Service.eks_fargate, Service.aws_lambda, Service.batch,
                        Service.beanstalk})  # services this path prices


def covered(w: Workload) -> bool:
    """True when this path answers `w`: every service the hard rules leave (gate) is one this path
    prices, and the workload's shape is one it prices."""
    shaped = (w.vcpu is not None and w.memory_gib is not None and not w.byol and w.gpus == 0
              and w.max_upfront_usd is None)
    if not shaped:
        return False
    services = served(w)
    tenancy = w.tenancy in (Tenancy.shared, Tenancy.dedicated)  # the gate leaves dedicated to EC2 and its nodes
    return tenancy and bool(services) and services <= VECTORIZED


def unplaceable(w: Workload) -> list[str] | None:
    """The sorted reason codes when `gate` rejects `w` for every service (each generator then returns
    only that rejection, so recommend() has no candidate, no cap rejection and no baseline), else None."""
    rejections = gates(w).values()
    if any(r is None for r in rejections):
        return None
    return sorted({r.reason for r in rejections if r is not None})
