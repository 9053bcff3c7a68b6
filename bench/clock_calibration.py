"""How the planner's clock (advisor/portfolio/clock.py) compares with the wall clock and CPU time.

The clock charges CP-SAT solves by their deterministic time (NOMINAL_PER_DET nominal seconds a unit, or
WHOLE_NODES_PER_DET for choice models with whole nodes) and LPs by their size (LP_SECONDS_PER_NONZERO per
nonzero and row); everything else is uncharged. This bench plans portfolios and prints, per kind of solve,
the wall and thread-CPU seconds per nominal second charged, and per phase the wall seconds against the
nominal seconds used: the figures the constants are set from. On a loaded machine the wall figures grow and
the CPU figures do not: calibrate from CPU, check against wall on an idle machine.

Run: python bench/clock_calibration.py [--workloads 30 1000] [--time-limit 20] [--example]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from ortools.sat.python import cp_model

from advisor.catalog.store import load_catalog
from advisor.portfolio import clock, packing, relaxation
from advisor.portfolio.plan import plan

sys.path.insert(0, str(Path(__file__).parent))
import portfolio_synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """Per kind of solve: nominal seconds charged, wall and thread-CPU seconds spent (CP-SAT: its own report)."""

    def __init__(self) -> None:
        self.nominal: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.samples: list[tuple[str, float, float]] = []   # (kind, units: det or nonzeros+rows, thread CPU s)

    def add(self, kind: str, nominal: float, wall: float, cpu: float) -> None:
        with self.lock:
            self.nominal[kind] += nominal
            self.wall[kind] += wall
            self.cpu[kind] += cpu
            self.count[kind] += 1


def instrument(rec: Recorder) -> None:
    solve = cp_model.CpSolver.solve

    def timed_solve(self, *args, **kwargs):   # thread CPU (CP-SAT's own user_time is wall time)
        cpu = time.thread_time()
        try:
            return solve(self, *args, **kwargs)
        finally:
            self.calibration_cpu = time.thread_time() - cpu
            self.calibration_workers = self.parameters.num_workers
    cp_model.CpSolver.solve = timed_solve
    account = clock.account

    def recorded_account(solver, det_limit, what, optimal, per_det=clock.NOMINAL_PER_DET):
        workers = getattr(solver, "calibration_workers", 0)
        kind = f"CP-SAT {what}" + (f" ({workers} workers: CPU of the caller only)" if workers != 1 else "")
        rec.add(kind, clock.SOLVE_OVERHEAD_S + solver.deterministic_time * per_det, solver.wall_time,
                getattr(solver, "calibration_cpu", 0.0))
        rec.samples.append((kind, solver.deterministic_time, getattr(solver, "calibration_cpu", 0.0)))
        return account(solver, det_limit, what, optimal, per_det)

    clock.account = recorded_account
    for module, kind in ((relaxation, "LP relaxation"), (packing, "LP packing master")):
        real = module.linprog

        def timed(*args, _real=real, _kind=kind, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            before = clock.now()
            res = _real(*args, **kwargs)
            rec.pending = (_kind, time.perf_counter() - wall, time.thread_time() - cpu, before)
            return res
        module.linprog = timed
    charge_lp = clock.Clock.charge_lp

    def recorded_charge_lp(self, nonzeros, rows):
        kind, wall, cpu, _ = rec.pending
        rec.add(kind, clock.LP_OVERHEAD_S + (nonzeros + rows) * clock.LP_SECONDS_PER_NONZERO, wall, cpu)
        rec.samples.append((kind, nonzeros + rows, cpu))
        return charge_lp(self, nonzeros, rows)
    clock.Clock.charge_lp = recorded_charge_lp


def report(name: str, doc: dict, wall: float, cpu: float) -> None:
    s = doc["solver"]
    work = s["work"]
    print(f"{name}: ${doc['totals']['monthly_usd']:,.2f}, gap {s['gap']}, {s['status']}; wall {wall:.1f} s, "
          f"process CPU {cpu:.1f} s, nominal used {work['used_nominal_s']} of {work['time_limit_nominal_s']}, "
          f"safety net stopped {work['wall_clock_stopped']}")
    previous = 0.0
    for phase, at in work["nominal_at_end_of"].items():
        wall_s = s["timings"].get(phase)
        print(f"  {phase:12s} wall {wall_s:7.2f} s   nominal {at - previous:7.2f} s")
        previous = at


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", type=int, nargs="*", default=[30, 1000])
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--example", action="store_true", help="the example portfolio too")
    args = ap.parse_args()
    rec = Recorder()
    instrument(rec)
    catalog = load_catalog()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; NOMINAL_PER_DET {clock.NOMINAL_PER_DET}, "
          f"WHOLE_NODES_PER_DET {clock.WHOLE_NODES_PER_DET}, LP_SECONDS_PER_NONZERO {clock.LP_SECONDS_PER_NONZERO}")
    docs = []
    if args.example:
        import json
        docs.append(("example", json.loads((ROOT / "data/examples/portfolio.json").read_text())))
    for n in args.workloads:
        constraints = portfolio_synthetic.RECORDED if n == 1000 else {}
        docs.append((f"{n} synthetic", {"workloads": portfolio_synthetic.workloads(n), "constraints": constraints}))
    for name, d in docs:
        wall, cpu = time.perf_counter(), time.process_time()
        doc = plan(d, catalog=catalog, time_limit_s=args.time_limit)
        report(name, doc, time.perf_counter() - wall, time.process_time() - cpu)
    print("per kind of solve (all plans): count, nominal charged, wall and thread CPU per nominal second")
    for kind in sorted(rec.nominal):
        n = rec.nominal[kind] or float("nan")
        print(f"  {kind:32s} {rec.count[kind]:5d}  nominal {n:8.2f} s  wall/nominal {rec.wall[kind] / n:6.2f}  "
              f"cpu/nominal {rec.cpu[kind] / n:6.2f}")
    print("per kind: thread CPU seconds fitted as overhead + rate x units (det units, or LP nonzeros+rows)")
    for kind in sorted(rec.nominal):
        units = np.array([u for k, u, _ in rec.samples if k == kind], dtype=float)
        cpu = np.array([c for k, _, c in rec.samples if k == kind], dtype=float)
        if len(units) < 3:
            continue
        rate, overhead = np.polyfit(units, cpu, 1)
        print(f"  {kind:32s} n={len(units):5d}  overhead {overhead * 1000:8.2f} ms  rate {rate:.3g} s/unit  "
              f"median units {np.median(units):.3g}  median cpu {np.median(cpu) * 1000:.1f} ms  "
              f"total cpu {cpu.sum():.2f} s")


if __name__ == "__main__":
    main()
