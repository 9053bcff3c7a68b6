"""Dedicated Hosts for the dedicated-tenancy workloads of the vectorized path: the host rows
ec2.instance_candidates adds beside Dedicated Instances (a host satisfies dedicated tenancy too).

Each workload's fleet frontier is candidates/hosts.py's (`fleet_rows`: the same HostSpec the
per-shape path builds with `ec2.host_spec`, the same costing and prune), so the rows, their costs and
their order are the per-shape path's. What differs is how the fleets are found: the per-shape path
joins each workload's fitting types (`ec2.fitting_types`) to the host sizes; here one array comparison
per region and OS finds, for every workload at once, the host-held types `fitting_types` would give
(replica_fit_steps with no GPUs: priced, GPU-less, vCPU, memory, architecture; previous-generation
types only where allowed or where no current-generation type of all the offered ones fits).
Host rows are whole fleets (`count` is hosts): they are not scaled by the replicas as per-instance rows are.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from advisor.candidates.ec2 import host_spec, usage
from advisor.candidates.hosts import HostSpec, fleet_rows, host_sizes
from advisor.candidates.instances import offered
from advisor.candidates.load import carrying
from advisor.catalog.store import Catalog
from models.workload import Workload

# The columns a host row gives the vectorized EC2 lines (ec2._lines) and the choice.
COLUMNS = ["idx", "instance_type", "vcpu", "count", "purchase_option", "term", "offering_class", "plan_type",
           "payment", "tenancy", "compute_monthly", "scratch_ebs_monthly", "surplus_monthly", "ipv4_monthly",
           "upfront_start"]
CROSS = 4_000_000  # workloads x types per array comparison (bounds its memory)
NO_TYPES = pl.DataFrame()  # HostSpec.types: the fleets are found here, not from the spec's types


def candidates(workloads: dict[int, Workload], catalog: Catalog) -> pl.DataFrame:
    """Every workload's pruned host rows (COLUMNS), one frame; empty when none has a host family."""
    groups: dict[tuple[str, str], dict[int, HostSpec]] = defaultdict(dict)
    for i, w in workloads.items():
        c = carrying(w)
        plan = usage(c)
        if isinstance(plan, str):
            continue
        spec = host_spec(c, NO_TYPES, plan[0], exhaustive=False)
        assert spec.price_os == spec.instance.os  # BYOL (priced on Linux) is left to the per-shape path
        groups[(spec.instance.region, spec.instance.os)][i] = spec
    parts = []
    for (region, os), specs in groups.items():
        listed = list(specs.values())
        rows = fleet_rows(catalog, region, os, listed, fleets(catalog, region, os, listed))
        if not rows.is_empty():  # a spec's rows in its frontier's order, the specs in order
            rows = rows.sort("spec_id", maintain_order=True)
            idx = np.fromiter(specs, dtype=np.int64, count=len(specs))[rows["spec_id"].to_numpy()]
            parts.append(rows.with_columns(idx=pl.Series(idx, dtype=pl.Int64)).select(COLUMNS))
    return pl.concat(parts) if parts else pl.DataFrame()


def fleets(catalog: Catalog, region: str, os: str, specs: list[HostSpec]) -> pl.DataFrame:
    """candidates/hosts.spec_fleets of the specs, had each carried `fitting_types` as its types: per spec
    (`spec_id`), the fitting types a host family holds, in the offered types' order."""
    types = offered(catalog, region, os).filter(pl.col("usd_per_hour").is_not_null() & (pl.col("gpus") == 0))
    held = types.drop("usd_per_hour", "price_quality").join(host_sizes(catalog, region, os), on=["family", "size"],
                                                            how="inner", maintain_order="left")
    if held.is_empty() or not specs:
        return pl.DataFrame()
    arches = {a: k for k, a in enumerate(sorted(set(types["arch"].to_list()) | {s.instance.arch for s in specs}))}
    need = _Needs(specs, arches)
    current = types.filter(pl.col("current_generation").fill_null(True))
    any_current = np.zeros(len(specs), dtype=bool)
    for part in need.chunks(current.height):
        any_current[part] = need.fits(current, part, arches).any(axis=1)
    every_gen = need.allow_previous | ~any_current
    held_current = held["current_generation"].fill_null(True).to_numpy()
    spec_ids, rows = [], []
    for part in need.chunks(held.height):
        mask = need.fits(held, part, arches) & (held_current[None, :] | every_gen[part, None])
        s, r = np.nonzero(mask)
        spec_ids.append(s + part.start)
        rows.append(r)
    spec_id, row = np.concatenate(spec_ids), np.concatenate(rows)
    return held[row].with_columns(spec_id=pl.Series(spec_id, dtype=pl.Int64),
                                  _count=pl.Series(need.count[spec_id], dtype=pl.Int64),
                                  _fewest=pl.Series(need.fewest[spec_id], dtype=pl.Int64))


class _Needs:
    """The specs' fit thresholds as arrays (one entry per spec)."""

    def __init__(self, specs: list[HostSpec], arches: dict[str, int]) -> None:
        self.vcpu = np.array([s.instance.vcpu for s in specs], dtype=np.float64)
        self.memory = np.array([s.instance.memory_gib for s in specs], dtype=np.float64)
        self.arch = np.array([-1 if s.instance.arch == "any" else arches[s.instance.arch] for s in specs])
        self.allow_previous = np.array([s.previous_generation for s in specs], dtype=bool)
        self.count = np.array([s.count for s in specs], dtype=np.int64)
        self.fewest = np.array([s.fewest for s in specs], dtype=np.int64)

    def chunks(self, types: int) -> list[slice]:
        step = max(1, CROSS // max(types, 1))
        return [slice(a, min(a + step, len(self.vcpu))) for a in range(0, len(self.vcpu), step)]

    def fits(self, types: pl.DataFrame, part: slice, arches: dict[str, int]) -> np.ndarray:
        """fits[s, t]: type t holds one replica of spec s (vCPU, memory, architecture)."""
        arch = types["arch"].replace_strict(arches, return_dtype=pl.Int64).to_numpy()
        wanted = self.arch[part, None]
        return ((types["vcpu"].cast(pl.Float64).to_numpy()[None, :] >= self.vcpu[part, None])
                & (types["memory_gib"].cast(pl.Float64).to_numpy()[None, :] >= self.memory[part, None])
                & ((wanted == -1) | (arch[None, :] == wanted)))
