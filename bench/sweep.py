"""Sweeps on both engines on this machine: 20 scenarios over the example portfolio and over a 100k-row estate.

For each base and engine (`local`: processes on this machine; `ray`: a local Ray started for the run on
127.0.0.1), one `run_sweep` of the base and 20 scenarios, timed:
- wall: the whole sweep, the engine's start-up included (Ray: starting the local cluster, the actors and
  their catalogs);
- task seconds: each task timed inside its worker (a scenario's time is the sum of its shards');
- overhead: wall - (the task seconds / the workers), i.e. what the engine adds to perfectly shared work;
- the results of both engines must be the same bytes (checked: plans stopped by the planner's wall safety net
  on a busy machine are reported instead).
Then the expected time on N machines of C cores, an ESTIMATE from the measured task times: the tasks
scheduled longest first onto N x C workers (LPT), plus the measured overhead; it ignores moving the estate
over a network and assumes the machines as fast as this one.

Run: python bench/sweep.py [--rows 100000] [--time-limit 5] [--workers 2] [--bases estate portfolio]
     [--engines local ray] [--machines 1 2 4 8 16] [--cores 2]
"""

from __future__ import annotations

import argparse
import functools
import heapq
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import synthetic  # noqa: E402

from advisor.engines import get_engine  # noqa: E402
from advisor.sweep.base import EstateBase, PortfolioBase  # noqa: E402
from advisor.sweep.run import run_sweep  # noqa: E402
from advisor.sweep.scenarios import ScenarioFile, parse_scenarios  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "portfolio.json"


def scenarios(kind: str) -> ScenarioFile:
    """20 what-ifs of every change kind (constraints only for the portfolio, which has them)."""
    items = [{"name": f"spot x{f}", "changes": {"prices": {"purchase_options": {"spot": f}}}}
             for f in (1.1, 1.3, 1.5)]
    items += [{"name": f"on-demand x{f}", "changes": {"prices": {"purchase_options": {"on_demand": f}}}}
              for f in (0.9, 1.1)]
    items += [{"name": "reserved x0.9", "changes": {"prices": {"purchase_options": {"reserved": 0.9}}}},
              {"name": "savings plans x0.9", "changes": {"prices": {"purchase_options": {"savings_plan": 0.9}}}},
              {"name": "graviton -10%", "changes": {"prices": {"families": {"m7g": 0.9, "c7g": 0.9, "r7g": 0.9}}}},
              {"name": "fargate +5%", "changes": {"prices": {"services": {"fargate": 1.05}}}},
              {"name": "us-east-1 +10%", "changes": {"prices": {"regions": {"us-east-1": 1.1}}}},
              {"name": "m5 at $0.08", "changes": {"catalog": {"on_demand": [
                  {"instance_type": "m5.large", "region": "us-east-1", "usd_per_hour": 0.08}]}}},
              {"name": "spot discount 40%", "changes": {"catalog": {"facts": {"spot.typical_discount": 0.4}}}},
              {"name": "3-year horizon", "changes": {"workloads": {"set": {"horizon_months": 36}}}},
              {"name": "1-year horizon", "changes": {"workloads": {"set": {"horizon_months": 12}}}},
              {"name": "eu-west-1", "changes": {"workloads": {"set": {"region": "eu-west-1"}}}},
              {"name": "nothing interruptible", "changes": {"workloads": {"set": {"interruptible": False}}}}]
    if kind == "portfolio":
        items += [{"name": "budget $1,600", "changes": {"constraints": {"max_monthly_usd": 1600}}},
                  {"name": "no upfront", "changes": {"constraints": {"max_upfront_usd": 0}}},
                  {"name": "no spot", "changes": {"constraints": {"max_spot_share": 0}}},
                  {"name": "spot up to 60%", "changes": {"constraints": {"max_spot_share": 0.6}}}]
    else:
        items += [{"name": "half utilised", "changes": {"workloads": {"set": {"cpu_utilization": 0.5}}}},
                  {"name": "12 h a day", "changes": {"workloads": {"set": {"hours_per_month": 365}}}},
                  {"name": "no upfront cash", "changes": {"workloads": {"set": {"max_upfront_usd": 0}}}},
                  {"name": "2 replicas", "changes": {"workloads": {"set": {"replicas": 2}}}}]
    assert len(items) == 20
    return parse_scenarios({"scenarios": items})


def _timed(task, shared, payload):
    start = time.perf_counter()
    result = task(shared, payload)
    return result, time.perf_counter() - start


class Timed:
    """An engine that records each task's seconds, measured in the worker that ran it."""

    def __init__(self, engine):
        self.engine, self.seconds = engine, []
        self.name = engine.name

    def map(self, task, payloads, **options):
        pairs = self.engine.map(functools.partial(_timed, task), payloads, **options)
        self.seconds = [s for _, s in pairs]
        return [r for r, _ in pairs]

    def workers(self) -> int:
        return self.engine.workers()


def lpt(times: list[float], slots: int) -> float:
    """Makespan of the tasks scheduled longest first onto `slots` workers."""
    loads = [0.0] * slots
    heapq.heapify(loads)
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def sweep_once(base, kind: str, engine_name: str, workers: int) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with get_engine(engine_name, workers=workers) as engine:
        timed = Timed(engine)
        result = run_sweep(base, scenarios(kind), engine=timed)
        slots = engine.workers()
    wall = time.perf_counter() - start
    per_run = max(len(timed.seconds) // 21, 1)
    per_scenario = [sum(timed.seconds[i * per_run:(i + 1) * per_run]) for i in range(21)]
    return {"engine": engine_name, "wall": wall, "load": load, "slots": slots, "tasks": timed.seconds,
            "per_scenario": per_scenario, "overhead": wall - sum(timed.seconds) / slots,
            "json": result.model_dump_json(), "result": result}


def report(kind: str, runs: list[dict], machines: list[int], cores: int) -> None:
    for r in runs:
        ok = sum(a.status == "ok" for a in r["result"].scenarios)
        print(f"  {r['engine']:>5}: wall {r['wall']:7.1f} s with {r['slots']} workers (load {r['load']:.1f} at the "
              f"start); tasks {len(r['tasks'])}, their seconds sum {sum(r['tasks']):.1f}; engine overhead "
              f"{r['overhead']:.1f} s; {ok}/20 scenarios answered")
        times = ", ".join(f"{a.name} {t:.1f}" for a, t in zip([r["result"].base, *r["result"].scenarios],
                                                               r["per_scenario"], strict=True))
        print(f"         per scenario (s): {times}")
    if len(runs) == 2:
        same = runs[0]["json"] == runs[1]["json"]
        reproducible = all(a.reproducible is not False for r in runs for a in [r["result"].base,
                                                                               *r["result"].scenarios])
        print(f"  same bytes on both engines: {same}" + ("" if reproducible else
              " (a plan was stopped by the planner's wall safety net on this busy machine: it says so)"))
    measured = min(runs, key=lambda r: r["wall"])
    print(f"  ESTIMATE from the {measured['engine']} run's task times (LPT onto N x {cores} workers + its "
          f"{max(measured['overhead'], 0):.1f} s overhead; network transfer ignored):")
    for n in machines:
        print(f"    {n:3d} machines: ~{lpt(measured['tasks'], n * cores) + max(measured['overhead'], 0):7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bases", nargs="+", default=["portfolio", "estate"])
    parser.add_argument("--engines", nargs="+", default=["local", "ray"])
    parser.add_argument("--machines", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.bases:
            if kind == "portfolio":
                base = PortfolioBase.from_path(EXAMPLE, time_limit_s=args.time_limit)
                title = f"example portfolio, 10 workloads, plans limited to {args.time_limit:g} (deterministic)"
            else:
                path = synthetic.write(Path(tmp) / "estate.csv", args.rows)
                base = EstateBase.from_path(path)
                title = f"estate of {args.rows:,} rows (bench/synthetic.py), shards of {base.chunk_rows:,}"
            print(f"{kind}: {title}; base + 20 scenarios", flush=True)
            runs = [sweep_once(base, kind, engine, args.workers) for engine in args.engines]
            report(kind, runs, args.machines, args.cores)


if __name__ == "__main__":
    main()
