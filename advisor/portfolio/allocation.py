"""Who pays for what is shared: the rule that splits a plan's shared nodes, hosts and fees over its workloads,
so that every workload's row carries its share and the rows add up to the plan's total to the cent.

The rule (the README states it):
- a cluster's nodes are shared by what each member requests: its *dominant share*, the largest of its
  replicas' share of the vCPU, the memory and the GPUs all the cluster's members request;
- a group of Dedicated Hosts by the hosts' worth of instances each member places (its instances divided by
  the instances of its type one host carries);
- a fee paid once per region (the EKS control plane, the dedicated-tenancy fee) equally among the
  workloads whose placement needs it.
Each shared item's cost in cents is split exactly (fractions), then rounded by largest remainder: every
share is the exact one rounded down, and the cents left over go to the largest remainders (ties to the first
workload by id), so the shares of one item add up to its cost to the cent.
The planner and the auditor both call these functions; the auditor feeds them its own recomputed figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from models.workload import Workload


def largest_remainder(total_cents: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """`total_cents` split in proportion to `weights` in whole cents that add up to it exactly."""
    if total_cents < 0:
        raise ValueError(f"a shared cost cannot be negative ({total_cents} cents)")
    names = sorted(weights)
    whole = sum(weights.values(), Fraction(0))
    if not names:
        return {}
    if whole <= 0:   # nothing requested at all: equal shares
        return largest_remainder(total_cents, {n: Fraction(1) for n in names})
    exact = {n: total_cents * weights[n] / whole for n in names}
    out = {n: int(exact[n]) for n in names}   # floor (non-negative)
    left = total_cents - sum(out.values())
    for n in sorted(names, key=lambda n: (-(exact[n] - out[n]), n))[:left]:
        out[n] += 1
    return out


def cluster_weights(members: Mapping[str, Workload], replicas: Mapping[str, int]) -> dict[str, Fraction]:
    """Each member's dominant share of what the cluster's members request (vCPU, memory, GPUs)."""
    def asked(w: Workload) -> tuple[Fraction, Fraction, Fraction]:
        n = replicas[w.id]
        return (Fraction(str(w.vcpu)) * n, Fraction(str(w.memory_gib)) * n, Fraction(w.gpus) * n)

    requests = {wid: asked(w) for wid, w in members.items()}
    totals = [sum((r[i] for r in requests.values()), Fraction(0)) for i in range(3)]
    return {wid: max((r[i] / totals[i] for i in range(3) if totals[i] > 0), default=Fraction(0))
            for wid, r in requests.items()}


def host_weights(instances: Mapping[str, tuple[int, int]]) -> dict[str, Fraction]:
    """Each member's hosts' worth of instances: (instances, instances per host) per workload."""
    return {wid: Fraction(n, per_host) for wid, (n, per_host) in instances.items()}


def fee_weights(needers: list[str]) -> dict[str, Fraction]:
    """A fee paid once, shared equally by the workloads that need it."""
    return {wid: Fraction(1) for wid in needers}
