"""AWS Batch in the vectorized path: what it can answer exactly, and what it leaves.

Batch has candidates only for a job profile (else batch.generate's only answer is no_job_profile,
so a workload without jobs is answered here with no Batch candidate). For jobs, its EC2 and SPOT
compute environments pack job replicas onto node types (containers.node_generate, shared_nodes=False),
which needs the node frontier this path does not have yet (estate/nodes.py, part N): a job-shaped
workload Batch is served for is left to the per-shape path, whole.
"""

from __future__ import annotations

from advisor.catalog.store import Catalog
from advisor.estate.gates import served
from advisor.estate.priced import Priced, empty
from models.workload import Service, Workload


def answers(w: Workload) -> bool:
    """True when this path gives Batch's candidates for `w` exactly (none: no job profile, or not served)."""
    return Service.batch not in served(w) or not w.job_shaped


def candidates(workloads: dict[int, Workload], catalog: Catalog, include_free_tier: bool) -> Priced:
    """No candidate rows (see the module docstring); the job-shaped workloads Batch is served for as fallback."""
    return Priced(empty(), {i for i, w in workloads.items() if not answers(w)})
