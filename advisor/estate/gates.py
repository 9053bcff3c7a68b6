"""Which services pass the hard rules (`applicability.gate`) for a workload, remembered per the
fields the gate reads: estates repeat those settings far more than their sizes."""

from __future__ import annotations

from advisor.candidates.applicability import gate
from advisor.candidates.base import Rejection
from models.workload import Service, Workload

_GATES: dict[tuple, dict[Service, Rejection | None]] = {}
_SERVED: dict[tuple, frozenset[Service]] = {}


def gates(w: Workload) -> dict[Service, Rejection | None]:
    """Per service, in Service order: the gate's rejection, or None when the service passes."""
    key = gate_key(w)
    if key not in _GATES:
        if len(_GATES) > 4096:
            _GATES.clear()
        _GATES[key] = {s: gate(s, w) for s in Service}
    return _GATES[key]


def served(w: Workload) -> frozenset[Service]:
    """The services the hard rules leave for `w` (asked ~10 times a workload by the vectorized path)."""
    key = gate_key(w)
    if key not in _SERVED:
        if len(_SERVED) > 4096:
            _SERVED.clear()
        _SERVED[key] = frozenset(s for s, r in gates(w).items() if r is None)
    return _SERVED[key]


def gate_key(w: Workload) -> tuple:
    """Everything `gate` reads (the rest of the workload cannot change which services it admits)."""
    return (w.allowed_services, w.packaging, w.orchestrator, w.os, w.vcpu is None, w.memory_gib is None,
            w.needs_host, w.byol, w.tenancy, w.capacity_guarantee, w.arch, w.gpus > 0)
