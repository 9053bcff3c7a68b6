"""Dedicated Hosts for the dedicated-tenancy workloads of the vectorized path: the host rows
ec2.instance_candidates adds beside Dedicated Instances (a host satisfies dedicated tenancy too).

Each workload's fleet frontier is candidates/hosts.py's, computed in bulk (`host_frontiers`) from the
same HostSpec the per-shape path builds (`ec2.host_spec`: the fitting types, instances, the spread's
fewest hosts), so the rows, their costs and their order are the per-shape path's. Host rows are whole
fleets (`count` is hosts): they are not scaled by the replicas as per-instance rows are.
"""

from __future__ import annotations

import polars as pl

from advisor.candidates.base import Context, Generated
from advisor.candidates.ec2 import fitting_types, host_spec, usage
from advisor.candidates.hosts import host_frontiers
from advisor.candidates.load import carrying
from advisor.catalog.store import Catalog
from models.workload import Workload

# The columns a host row gives the vectorized EC2 lines (ec2._lines) and the choice.
COLUMNS = ["idx", "instance_type", "vcpu", "count", "purchase_option", "term", "offering_class", "plan_type",
           "payment", "tenancy", "compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "ipv4_monthly",
           "upfront_start"]


def candidates(workloads: dict[int, Workload], catalog: Catalog) -> pl.DataFrame:
    """Every workload's pruned host rows (COLUMNS), one frame; empty when none has a host family."""
    ctx = Context(catalog)
    specs = {}
    for i, w in workloads.items():
        c = carrying(w)
        plan = usage(c)
        types = fitting_types(ctx, c, Generated(), "ec2")
        if isinstance(plan, str) or types is None:
            continue
        specs[i] = host_spec(c, types, plan[0], exhaustive=False)
    frontiers = host_frontiers(catalog, list(specs.values()))
    parts = [frontiers[spec].select(COLUMNS[1:]).with_columns(idx=pl.lit(i, pl.Int64))
             for i, spec in specs.items() if not frontiers[spec].is_empty()]
    return pl.concat(parts).select(COLUMNS) if parts else pl.DataFrame()
