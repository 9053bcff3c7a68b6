"""The planner's clock: deterministic time, so that the same portfolio and time limit give the same plan on an
idle or a busy machine.

Every phase of a plan is budgeted in *nominal seconds* of this clock, never in wall-clock seconds. The clock
advances only by work that is the same on every run: CP-SAT's deterministic time (`solver.deterministic_time`)
and the size of each LP solved (HiGHS is deterministic; an LP is charged by its nonzeros and rows). Work that
is charged nothing (candidates, Python loops) makes an answer slower, never different. The constants convert
work into nominal seconds as measured in thread CPU time (`bench/clock_calibration.py`), so what is charged
takes about that long on an idle core; the uncharged work comes on top (several times the limit on a
1,000-workload portfolio).

The wall clock is only a safety net: once the candidates are made, `plan` sets a wall deadline of
WALL_FACTOR x the limit (plus WALL_GRACE_S); a solve stopped by it is recorded in `tripped`, and the answer
reports it (then, and only then, it may differ between runs). The factor is wide (10): with several busy
processes on two cores a plan's wall time was 4-5 times its nominal time, and a net that trips there makes
answers depend on the machine's load, which is what the nominal clock is for.

Each thread of work has its own clock (`fork`): the choice, run on the second core while the relaxation is
tightened on the first, must not see how far the other has got. A clock is found through a context variable
(`current`), so the solvers need no extra argument.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any

NOMINAL_PER_DET = 2.0        # nominal seconds per CP-SAT deterministic unit
WHOLE_NODE_BOUND_PER_DET = 4.0   # the same for the whole-node bound's components (linearization level 2: 3.8-3.9
                                 # CPU seconds a unit, `bench/clock_calibration.py`, 2026-12-07)
SOLVE_OVERHEAD_S = 0.001     # charged per CP-SAT solve besides its units (model hand-over and presolve of tiny
                             # models: 0.7-0.8 ms of CPU measured, where their units are nearly 0)
LP_OVERHEAD_S = 0.003        # charged per LP besides its size (2.8-3.1 ms of CPU measured)
WHOLE_NODES_PER_DET = 40.0   # the same for choice models with whole nodes per pool (LP-heavy: measured 36 s wall
                             # for 0.8 units on the example's bound model, 45 s a unit)
LP_SECONDS_PER_NONZERO = 2e-6   # nominal seconds charged per nonzero (and per row) of an LP solved (1.5-2.1e-6
                                # CPU seconds measured; 4e-7 before 2026-12-07)
WALL_FACTOR = 10.0
WALL_GRACE_S = 10.0
MICRO = 1_000_000            # charges are kept in integer microseconds: sums in any order are exact


class Clock:
    """Nominal seconds used so far by this thread of work, and the wall-clock safety net."""

    def __init__(self, wall_deadline: float | None = None, start_micro: int = 0,
                 tripped: list[str] | None = None):
        self._micro = start_micro
        self._lock = threading.Lock()
        self.wall_deadline = wall_deadline
        self.tripped = tripped if tripped is not None else []   # shared by forks: one list per plan
        self.solves: list[tuple[str, float, float]] = []   # (what, wall s, deterministic units): calibration

    def now(self) -> float:
        return self._micro / MICRO

    def charge(self, nominal_s: float) -> None:
        with self._lock:
            self._micro += max(0, round(nominal_s * MICRO))

    def charge_det(self, det_time: float) -> None:
        """Charge a CP-SAT solve by its deterministic time."""
        self.charge(det_time * NOMINAL_PER_DET)

    def charge_lp(self, nonzeros: int, rows: int) -> None:
        self.charge(LP_OVERHEAD_S + (nonzeros + rows) * LP_SECONDS_PER_NONZERO)

    def wall_left(self, floor: float = 0.05) -> float:
        """Wall seconds left before the safety net (a large number when there is none)."""
        if self.wall_deadline is None:
            return 3600.0
        return max(self.wall_deadline - time.perf_counter(), floor)

    def wall_out(self) -> bool:
        return self.wall_deadline is not None and time.perf_counter() > self.wall_deadline

    def trip(self, what: str) -> None:
        with self._lock:
            if what not in self.tripped:
                self.tripped.append(what)

    def beyond_safety_net(self) -> Clock:
        """A fork without the wall-clock safety net: for the one solve a plan cannot do without (the choice
        retried when its share found nothing), which its deterministic limit alone bounds."""
        return Clock(None, self._micro, self.tripped)

    def fork(self) -> Clock:
        """A clock for another thread of work, starting where this one is now (same safety net)."""
        return Clock(self.wall_deadline, self._micro, self.tripped)


_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("portfolio_clock", default=None)


def current() -> Clock:
    """This context's clock (a fresh one, without a safety net, when no plan set one: a solver used alone)."""
    clock = _current.get()
    if clock is None:
        clock = Clock()
        _current.set(clock)
    return clock


def now() -> float:
    return current().now()


def use(clock: Clock) -> contextvars.Token:
    return _current.set(clock)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


def running_on(own: Clock, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` to run (in another thread) on the clock `own`: work handed to the second core on a fork."""
    def run(*args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()

        def inner() -> Any:
            _current.set(own)
            return fn(*args, **kwargs)
        return context.run(inner)
    return run


def in_fork(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` to run in another thread on a fork of this context's clock (taken now, when the work is handed
    over, not when the thread gets to it)."""
    fork = current().fork()
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> Any:
        def inner() -> Any:
            _current.set(fork)
            return fn(*args, **kwargs)
        return context.run(inner)
    return run


def sharing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` to run in worker threads charging this context's clock itself (charges add up exactly in any
    order: for parallel pieces of one step whose results are gathered in order)."""
    clock = current()

    def run(*args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()

        def inner() -> Any:
            _current.set(clock)
            return fn(*args, **kwargs)
        return context.run(inner)
    return run


def limits(solver_parameters: Any, nominal_s: float, per_det: float = NOMINAL_PER_DET) -> float:
    """Set a CP-SAT solve's limits from a budget in nominal seconds: deterministic time (`per_det` nominal
    seconds per unit: models whose units take longer say so), and the wall clock's safety net. Returns the
    deterministic limit (to tell afterwards whether the wall clock stopped it)."""
    det = max(nominal_s, 0.0) / per_det
    solver_parameters.max_deterministic_time = max(det, 0.005)
    solver_parameters.max_time_in_seconds = current().wall_left()
    return solver_parameters.max_deterministic_time


def account(solver: Any, det_limit: float, what: str, optimal: bool, per_det: float = NOMINAL_PER_DET) -> None:
    """After a CP-SAT solve: charge its deterministic time, and record a stop by the wall clock."""
    clock = current()
    clock.charge(SOLVE_OVERHEAD_S + solver.deterministic_time * per_det)
    clock.solves.append((what, round(solver.wall_time, 3), round(solver.deterministic_time, 4)))
    if not optimal and solver.deterministic_time < 0.99 * det_limit and clock.wall_out():
        clock.trip(what)
