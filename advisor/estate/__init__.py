"""The vectorized answer path for estates: many workloads answered with columnar operations at once.

`covered` says which workloads it answers (today: those only plain EC2 instances can serve, shared
tenancy, no GPUs, no request or job profile, no upfront cap); `answer` answers them and names the
ones it leaves to the per-shape path. `unplaceable` names, for a workload no service passes the
hard rules for, those rules' reason codes: recommend() then has no candidate and says only that.
Rules are not restated here: which services can serve a workload is `applicability.gate`, the
purchase options it allows `ec2.allowed_options`, the costs `frontiers.cost_instance_rows` and
`pricing`, the order `Candidate.sort_key`.
"""

from __future__ import annotations

from advisor.candidates.applicability import gate
from advisor.estate.ec2 import Answers, answer
from models.workload import Service, Tenancy, Workload

__all__ = ["Answers", "answer", "covered", "unplaceable"]


def covered(w: Workload) -> bool:
    """True when this path answers `w`: plain EC2 is the only service the hard rules leave (gate), and
    the workload's shape is one the vectorized EC2 costing prices."""
    shaped = (w.vcpu is not None and w.memory_gib is not None and not w.request_shaped and not w.job_shaped
              and w.tenancy is Tenancy.shared and not w.byol and w.gpus == 0 and w.max_upfront_usd is None)
    return shaped and _only_ec2(_gate_key(w), w)


def unplaceable(w: Workload) -> list[str] | None:
    """The sorted reason codes when `gate` rejects `w` for every service (each generator then returns
    only that rejection, so recommend() has no candidate, no cap rejection and no baseline), else None."""
    return _gated(_gate_key(w), w)


def _gate_key(w: Workload) -> tuple:
    """Everything `gate` reads (the rest of the workload cannot change which services it admits)."""
    return (w.allowed_services, w.packaging, w.orchestrator, w.os, w.vcpu is None, w.memory_gib is None,
            w.needs_host, w.byol, w.tenancy, w.capacity_guarantee, w.arch, w.gpus > 0)


_ONLY_EC2: dict[tuple, bool] = {}
_GATED: dict[tuple, list[str] | None] = {}


def _gated(key: tuple, w: Workload) -> list[str] | None:
    if key not in _GATED:
        rejections = [gate(s, w) for s in Service]
        _GATED[key] = (sorted({r.reason for r in rejections if r is not None})
                       if all(r is not None for r in rejections) else None)
        if len(_GATED) > 4096:
            _GATED.clear()
    return _GATED[key]


def _only_ec2(key: tuple, w: Workload) -> bool:
    if key not in _ONLY_EC2:
        _ONLY_EC2[key] = gate(Service.ec2, w) is None and all(
            gate(s, w) is not None for s in Service if s is not Service.ec2)
        if len(_ONLY_EC2) > 4096:
            _ONLY_EC2.clear()
    return _ONLY_EC2[key]
