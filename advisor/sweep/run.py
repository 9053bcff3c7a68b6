"""Run a sweep: the base and every scenario answered on an engine, then compared with the base.

The work is split into tasks on plain data (`tasks.py`): for an estate, one task per scenario and shard of
rows (so one large estate spreads over a cluster too); for a portfolio, one plan per scenario. The engine
gives the results in the order asked, and everything here is computed from them in that order, so the
answer is the same bytes on every engine. A scenario that fails reports its error; the others are answered.
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.engines import Engine, Stopped
from advisor.sweep import compare, tasks
from advisor.sweep.base import EstateBase, PortfolioBase, SweepBase, load_base
from advisor.sweep.scenarios import Scenario, ScenarioFile
from models.sweep import ScenarioAnswer, SweepResult

BASE = Scenario(name="base", description="the base as it is")

__all__ = ["EstateBase", "PortfolioBase", "SweepBase", "SweepResult", "load_base", "run_sweep"]


def run_sweep(base: EstateBase | PortfolioBase, scenarios: ScenarioFile, *, engine: Engine,
              on_progress: Callable[[int, int], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Answer the base and every scenario; `on_progress(done, total)` counts tasks (scenarios x shards for an
    estate, scenarios for a portfolio, the base included); `should_stop()` is asked between tasks and, when it
    says stop, the result has the scenarios answered so far and `complete=False`."""
    runs = [BASE, *scenarios.scenarios]
    if isinstance(base, EstateBase):
        shared, per_run = tasks.estate_shared(base)
        task, payloads = tasks.evaluate_shard, [{"changes": _changes(s), "shard": i}
                                                for s in runs for i in range(per_run)]
    else:
        shared, per_run = tasks.portfolio_shared(base), 1
        task, payloads = tasks.plan_scenario, [{"changes": _changes(s)} for s in runs]
    complete = True
    try:
        results = engine.map(task, payloads, shared=shared, on_progress=on_progress, should_stop=should_stop)
    except Stopped as stop:
        results, complete = stop.partial, False
    grouped = [results[i * per_run:(i + 1) * per_run] for i in range(len(runs))]
    answer = compare.estate_answer if isinstance(base, EstateBase) else compare.portfolio_answer
    base_answer, base_detail = answer(BASE, grouped[0], None)
    answers: list[ScenarioAnswer] = [answer(s, parts, base_detail)[0] for s, parts in zip(runs[1:], grouped[1:],
                                                                                           strict=True)]
    return SweepResult(kind=base.kind, base=base_answer, scenarios=answers, complete=complete)


def _changes(scenario: Scenario) -> dict | None:
    return None if scenario.changes.is_empty() else scenario.changes.model_dump(mode="json")
