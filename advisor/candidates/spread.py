"""Availability: how a service's replicas are spread, and the sentence the answer carries about it.

AWS's guidance for a resilient service is to run it in at least two Availability Zones
(Reliability pillar, REL10: "Use fault isolation to protect your workload"; ECS services spread
tasks across Availability Zones by default). So, unless `spread` is `none`, a service with two or
more replicas runs on at least two nodes (`node`), which `az` (the default) asks to be in two or
more Availability Zones. Jobs are not a service: a job-shaped workload is not spread.
"""

from __future__ import annotations

import math

from models.workload import Spread, Workload


def spread_applies(w: Workload, replicas: int) -> bool:
    return w.spread is not Spread.none and replicas >= 2 and not w.job_shaped


def min_nodes(w: Workload, replicas: int) -> int:
    """Fewest nodes (instances, hosts) the replicas may run on."""
    return 2 if spread_applies(w, replicas) else 1


def max_per_node(w: Workload, replicas: int) -> int:
    """Most replicas one node may hold (0: no cap): half of them, rounded up, so 2+ nodes are used."""
    return math.ceil(replicas / 2) if spread_applies(w, replicas) else 0


def describe(w: Workload, service: str, nodes: int | None, replicas: int) -> str:
    """One sentence: how this option spreads the replicas."""
    if w.job_shaped:
        return "jobs, not a service: not spread"
    if replicas < 2:
        return "one replica: no spread (a second replica is needed to survive a node or AZ failure)"
    if w.spread is Spread.none:
        return "spread: none (asked): replicas may share one node"
    where = "two or more Availability Zones" if w.spread is Spread.az else "two or more nodes"
    if service == "lambda":
        return "Lambda runs functions in several Availability Zones of the region"
    if service in ("ecs_fargate", "eks_fargate") or service == "batch":
        return f"{replicas} tasks, each on its own capacity, placed across {where}"
    unit = "nodes" if nodes is not None else "instances"
    return f"{replicas} replicas on {nodes if nodes is not None else replicas} {unit}, placed across {where}"
