"""The LP relaxation of the portfolio's choice model (GLOP, through OR-Tools), kept in memory so that
cuts can be added and the LP re-solved from its last basis.

Columns: x[w][i] in [0, 1] for each workload's undominated options; fee[k], hosts[k] >= 0; per node pool
its cost theta[p] >= 0 and its upfront (at least theta[p] x the pool's least upfront ratio).
Rows: sum_i x[w][i] = 1; fee[k] >= the sum of w's options needing the fee, for each w; 1000 hosts[k] >=
sum host_milli x, and hosts[k] >= the sum of w's options on them (a family used at all takes a whole
host); owned reserved instances and savings-plan dollars used at most once; the budget, upfront cap,
spot share and quotas as in `select.py`; and every cut of a pool: theta[p] >= the sum over its workloads
of coef[w] x (w's options in the pool). Every integer plan satisfies all of them, so the LP optimum is a
lower bound on every plan; a cut only ever raises it. The LP works in dollars, vCPU and shares
(coefficients near 1 keep GLOP stable); answers are in cents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from advisor.portfolio.select import HostPrice, Limits, Option, undominated

USD = 100.0   # the LP works in dollars (cents / USD), vCPU and shares: coefficients near 1 keep GLOP stable


@dataclass
class Solution:
    status: str
    objective_cents: float | None
    x: dict[str, dict[int, float]]      # workload -> option index (in the full list) -> value > 0
    theta: dict[str, float]              # pool -> its cost in the LP (cents)


class Relaxation:
    """Build once; `add_cut` and `solve` as often as needed."""

    def __init__(self, options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits,
                 host_prices: dict[str, HostPrice], pool_upfront: dict[str, float]):
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        s = self.solver
        inf = s.infinity()
        self.options = options
        self.x: dict[str, list[tuple[int, pywraplp.Variable]]] = {}
        self.by_pool: dict[str, dict[str, list[pywraplp.Variable]]] = defaultdict(lambda: defaultdict(list))
        objective = s.Objective()
        fee = {k: s.NumVar(0, 1, f"fee[{k}]") for k in sorted(fee_cents)}
        for k, v in fee.items():
            objective.SetCoefficient(v, fee_cents[k] / USD)
        hosts = {k: s.NumVar(0, inf, f"hosts[{k}]") for k in sorted(host_prices)}
        host_rows = {k: s.Constraint(0, inf, f"hosts_cover[{k}]") for k in hosts}
        for k, v in hosts.items():
            objective.SetCoefficient(v, host_prices[k].monthly_cents / USD)
            host_rows[k].SetCoefficient(v, 1000)
        self.theta = {p: s.NumVar(0, inf, f"pool[{p}]") for p in sorted(pool_upfront)}
        for v in self.theta.values():
            objective.SetCoefficient(v, 1)
        pool_up = {p: s.NumVar(0, inf, f"pool_upfront[{p}]") for p, ratio in sorted(pool_upfront.items()) if ratio > 0}
        for p, v in pool_up.items():     # a pool's upfront >= its least upfront-to-monthly ratio x its cost
            row = s.Constraint(0, inf, f"pool_upfront[{p}]")
            row.SetCoefficient(v, 1)
            row.SetCoefficient(self.theta[p], -pool_upfront[p])
        budget = (s.Constraint(-inf, limits.max_monthly_cents / USD, "budget")
                  if limits.max_monthly_cents is not None else None)
        if budget is not None:
            for k, v in fee.items():
                budget.SetCoefficient(v, fee_cents[k] / USD)
            for k, v in hosts.items():
                budget.SetCoefficient(v, host_prices[k].monthly_cents / USD)
            for v in self.theta.values():
                budget.SetCoefficient(v, 1)
        upfront = (s.Constraint(-inf, limits.max_upfront_cents / USD, "upfront")
                   if limits.max_upfront_cents is not None else None)
        if upfront is not None:
            for k, v in hosts.items():
                upfront.SetCoefficient(v, host_prices[k].upfront_cents / USD)
            for v in pool_up.values():
                upfront.SetCoefficient(v, 1)
        spot = s.Constraint(-inf, 0, "spot_share") if limits.max_spot_share_milli is not None else None
        quota_rows = {key: s.Constraint(-inf, q, f"quota[{key}]") for key, q in sorted(limits.quotas.items())}
        ri_rows = {key: s.Constraint(-inf, n, f"ri[{key}]") for key, n in sorted(limits.ri_owned.items())}
        sp_row = s.Constraint(-inf, limits.sp_cover_cents / USD, "sp") if limits.sp_cover_cents else None
        fee_rows: dict[tuple[str, str], pywraplp.Constraint] = {}
        host_once: dict[tuple[str, str], pywraplp.Constraint] = {}
        for w in sorted(options):
            one = s.Constraint(1, 1, f"one[{w}]")
            self.x[w] = []
            for i in undominated(options[w], limits, frozenset()):
                o = options[w][i]
                v = s.NumVar(0, 1, f"x[{w}][{i}]")
                self.x[w].append((i, v))
                one.SetCoefficient(v, 1)
                objective.SetCoefficient(v, o.cost_cents / USD)
                if budget is not None:
                    budget.SetCoefficient(v, o.cost_cents / USD)
                if upfront is not None:
                    upfront.SetCoefficient(v, o.upfront_cents / USD)
                if spot is not None:
                    spot.SetCoefficient(v, o.vcpu_milli / 1000 * (o.spot - limits.max_spot_share_milli / 1000))
                for k in o.fees:   # fee[k] >= the share of w on options needing it (tighter than x <= fee)
                    if (w, k) not in fee_rows:
                        fee_rows[(w, k)] = s.Constraint(-inf, 0)
                        fee_rows[(w, k)].SetCoefficient(fee[k], -1)
                    fee_rows[(w, k)].SetCoefficient(v, 1)
                if o.host_key:
                    host_rows[o.host_key].SetCoefficient(v, -o.host_milli)
                    if (w, o.host_key) not in host_once:   # a family used at all needs a whole host
                        host_once[(w, o.host_key)] = s.Constraint(-inf, 0)
                        host_once[(w, o.host_key)].SetCoefficient(hosts[o.host_key], -1)
                    host_once[(w, o.host_key)].SetCoefficient(v, 1)
                if o.quota and (o.region, o.quota) in quota_rows:
                    quota_rows[(o.region, o.quota)].SetCoefficient(v, o.quota_vcpu_milli / 1000)
                if o.pool_key:
                    self.by_pool[o.pool_key][w].append(v)
                covered = []
                if o.ri_key in ri_rows:   # owned reserved instances lower this option's cost, up to its count
                    z = s.NumVar(0, o.candidate.count, f"ri[{w}][{i}]")
                    ri_rows[o.ri_key].SetCoefficient(z, 1)
                    covered.append((z, o.ri_unit_cents / USD, o.candidate.count))
                if sp_row is not None and o.sp_cents:
                    y = s.NumVar(0, o.sp_cents / USD, f"sp[{w}][{i}]")
                    sp_row.SetCoefficient(y, 1)
                    covered.append((y, 1, o.sp_cents / USD))
                for var, unit, most in covered:
                    link = s.Constraint(-inf, 0)
                    link.SetCoefficient(var, 1)
                    link.SetCoefficient(v, -most)
                    objective.SetCoefficient(var, -unit)
                    if budget is not None:
                        budget.SetCoefficient(var, -unit)
        objective.SetMinimization()
        self.cuts = 0

    def add_cut(self, pool: str, coef: dict[str, float]) -> None:
        """1000 theta[pool] >= sum_w coef[w] x (w's options in the pool); coef in thousandths of a cent."""
        row = self.solver.Constraint(0, self.solver.infinity(), f"cut{self.cuts}[{pool}]")
        row.SetCoefficient(self.theta[pool], 1)
        for w, c in sorted(coef.items()):
            if c > 0:
                for v in self.by_pool[pool].get(w, ()):
                    row.SetCoefficient(v, -c / (1000 * USD))
        self.cuts += 1

    def solve(self) -> Solution:
        status = self.solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            return Solution({pywraplp.Solver.INFEASIBLE: "INFEASIBLE"}.get(status, "NOT_SOLVED"), None, {}, {})
        x = {w: {i: v.solution_value() for i, v in pairs if v.solution_value() > 1e-9} for w, pairs in self.x.items()}
        return Solution("OPTIMAL", self.solver.Objective().Value() * USD, x,
                        {p: v.solution_value() * USD for p, v in self.theta.items()})
