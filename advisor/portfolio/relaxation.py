"""The LP relaxation of the portfolio's choice model (HiGHS, through scipy), kept in memory so that
cuts can be added and the LP solved again.

Columns: x[w][i] in [0, 1] for each workload's undominated options; fee[k], hosts[k] >= 0; per node pool
its cost theta[p] >= 0 and its upfront (at least theta[p] x the pool's least upfront ratio).
Rows: sum_i x[w][i] = 1; fee[k] >= the sum of w's options needing the fee, for each w; 1000 hosts[k] >=
sum host_milli x, and hosts[k] >= the sum of w's options on them (a family used at all takes a whole
host); owned reserved instances and savings-plan dollars used at most once; the budget, upfront cap,
spot share and quotas as in `select.py`; and every cut of a pool: theta[p] >= the sum over its workloads
of coef[w] x (w's options in the pool). Every integer plan satisfies all of them, so the LP optimum is a
lower bound on every plan; a cut only ever raises it. The LP works in dollars, vCPU and shares
(coefficients near 1 keep it well scaled); answers are in cents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from advisor.portfolio import clock
from advisor.portfolio.keys import HostKey, PoolKey
from advisor.portfolio.select import HostPrice, Limits, Option, undominated_all

USD = 100.0   # the LP works in dollars (cents / USD), vCPU and shares: coefficients near 1


@dataclass
class Solution:
    status: str
    objective_cents: float | None
    x: dict[str, dict[int, float]]      # workload -> option index (in the full list) -> value > 0
    theta: dict[PoolKey, float]              # pool -> its cost in the LP (cents)


class _Row:
    def __init__(self, lower: float, upper: float, index: int):
        self.lower, self.upper, self.terms, self.index = lower, upper, {}, index

    def set(self, var: int, value: float) -> None:
        self.terms[var] = value


class _LP:
    """Columns (bounded below by 0), rows and costs, solved by HiGHS (scipy) from scratch each time: HiGHS
    stays reliable as cuts pile up, where GLOP's warm starts (OR-Tools) were seen to fail."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.rows: list[_Row] = []
        self.values = np.zeros(0)
        self.value = 0.0
        # Per row, after a solve: (mu, kappa) with the LP's optimal duals, so that its Lagrangian term is
        # mu * (row . x) - kappa (mu >= 0 on a row bounded above only, <= 0 below only: `lagrangian.py`).
        self.duals: list[tuple[float, float]] = []

    def var(self, upper: float = np.inf) -> int:
        self.cost.append(0.0)
        self.upper.append(upper)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float) -> _Row:
        row = _Row(lower, upper, len(self.rows))
        self.rows.append(row)
        return row

    def set_cost(self, var: int, value: float) -> None:
        self.cost[var] = value

    def solve(self) -> str:
        n = len(self.cost)
        ub_rows, ub_rhs, eq_rows, eq_rhs = [], [], [], []
        parts: list[tuple[str, int]] = []   # per row part: ("eq" | "upper" | "lower", row index)
        for row in self.rows:
            if row.lower == row.upper:
                eq_rows.append(row.terms)
                eq_rhs.append(row.lower)
                continue
            if row.upper < np.inf:
                ub_rows.append(row.terms)
                ub_rhs.append(row.upper)
                parts.append(("upper", row.index))
            if row.lower > -np.inf:
                ub_rows.append({k: -v for k, v in row.terms.items()})
                ub_rhs.append(-row.lower)
                parts.append(("lower", row.index))

        def matrix(rows: list[dict]) -> coo_matrix | None:
            if not rows:
                return None
            r = [i for i, terms in enumerate(rows) for _ in terms]
            c = [k for terms in rows for k in terms]
            v = [x for terms in rows for x in terms.values()]
            return coo_matrix((v, (r, c)), shape=(len(rows), n)).tocsr()

        res = linprog(np.array(self.cost), A_ub=matrix(ub_rows), b_ub=np.array(ub_rhs) if ub_rows else None,
                      A_eq=matrix(eq_rows), b_eq=np.array(eq_rhs) if eq_rows else None,
                      bounds=list(zip([0.0] * n, self.upper, strict=True)), method="highs")
        clock.current().charge_lp(sum(len(terms) for terms in ub_rows + eq_rows), len(ub_rows) + len(eq_rows))
        if res.status != 0:
            return "INFEASIBLE" if res.status == 2 else f"NOT_SOLVED({res.message})"
        self.values, self.value = np.asarray(res.x), float(res.fun)
        mu, kappa = np.zeros(len(self.rows)), np.zeros(len(self.rows))
        if ub_rows:
            for (part, i), m in zip(parts, res.ineqlin.marginals, strict=True):
                y = max(-float(m), 0.0)          # the multiplier of an inequality is >= 0
                sign, bound = (1.0, self.rows[i].upper) if part == "upper" else (-1.0, self.rows[i].lower)
                mu[i] += sign * y
                kappa[i] += sign * y * bound
        if eq_rows:
            eq_index = [row.index for row in self.rows if row.lower == row.upper]
            for i, m in zip(eq_index, res.eqlin.marginals, strict=True):
                mu[i], kappa[i] = -float(m), -float(m) * self.rows[i].lower
        self.duals = list(zip(mu.tolist(), kappa.tolist(), strict=True))
        return "OPTIMAL"


class Relaxation:
    """Build once; `add_cut` and `solve` as often as needed."""

    def __init__(self, options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits,
                 host_prices: dict[HostKey, HostPrice], pool_upfront: dict[PoolKey, float]):
        self.solver = _LP()
        self.options, self.limits, self.fee_cents, self.host_prices = options, limits, fee_cents, host_prices
        self.x: dict[str, list[tuple[int, int]]] = {}
        self.by_pool: dict[PoolKey, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.kept: set[int] = set()      # rows a Lagrangian decomposition keeps (`lagrangian.py`): the rest couple
        self._shared_columns(pool_upfront)
        self._limit_rows()
        self.fee_rows: dict[tuple[str, str], _Row] = {}
        self.host_once: dict[tuple[str, HostKey], _Row] = {}
        kept = undominated_all(options, limits, frozenset())
        for w in sorted(options):
            one = self.solver.row(1, 1)
            self.kept.add(one.index)
            self.x[w] = []
            for i in kept[w]:
                self._option_column(w, i, options[w][i], one)
        self.limit_rows = {"max_monthly_usd": self.budget, "max_upfront_usd": self.upfront}

    def _shared_columns(self, pool_upfront: dict[PoolKey, float]) -> None:
        """fee[k] in [0, 1], hosts[k] >= 0 (with their rows), theta[p] >= 0 and each pool's upfront, at least its
        least upfront-to-monthly ratio x its cost."""
        s, inf = self.solver, np.inf
        self.fee = {k: s.var(1) for k in sorted(self.fee_cents)}
        for k, v in self.fee.items():
            s.set_cost(v, self.fee_cents[k] / USD)
        self.host_vars = {k: s.var(inf) for k in sorted(self.host_prices)}
        self.host_rows = {k: s.row(0, inf) for k in self.host_vars}
        for k, v in self.host_vars.items():
            s.set_cost(v, self.host_prices[k].monthly_cents / USD)
            self.host_rows[k].set(v, 1000)
        self.theta = {p: s.var(inf) for p in sorted(pool_upfront)}
        for v in self.theta.values():
            s.set_cost(v, 1)
        self.pool_up = {p: s.var(inf) for p, ratio in sorted(pool_upfront.items()) if ratio > 0}
        for p, v in self.pool_up.items():
            row = s.row(0, inf)
            row.set(v, 1)
            row.set(self.theta[p], -pool_upfront[p])
            self.kept.add(row.index)

    def _limit_rows(self) -> None:
        """The budget and upfront cap (with the shared columns' terms), the spot share, quotas and owned
        commitments, as rows the options' columns then fill."""
        s, inf, limits = self.solver, np.inf, self.limits
        self.budget = s.row(-inf, limits.max_monthly_cents / USD) if limits.max_monthly_cents is not None else None
        if self.budget is not None:
            for k, v in self.fee.items():
                self.budget.set(v, self.fee_cents[k] / USD)
            for k, v in self.host_vars.items():
                self.budget.set(v, self.host_prices[k].monthly_cents / USD)
            for v in self.theta.values():
                self.budget.set(v, 1)
        self.upfront = s.row(-inf, limits.max_upfront_cents / USD) if limits.max_upfront_cents is not None else None
        if self.upfront is not None:
            for k, v in self.host_vars.items():
                self.upfront.set(v, self.host_prices[k].upfront_cents / USD)
            for v in self.pool_up.values():
                self.upfront.set(v, 1)
        self.spot = s.row(-inf, 0) if limits.max_spot_share_milli is not None else None
        self.quota_rows = {key: s.row(-inf, q) for key, q in sorted(limits.quotas.items())}
        self.ri_rows = {key: s.row(-inf, n) for key, n in sorted(limits.ri_owned.items())}
        self.sp_row = s.row(-inf, limits.sp_cover_cents / USD) if limits.sp_cover_cents else None

    def _option_column(self, w: str, i: int, o: Option, one: _Row) -> None:
        """x[w][i] in [0, 1]: its cost and its terms in every row it touches."""
        s, limits = self.solver, self.limits
        v = s.var(1)
        self.x[w].append((i, v))
        one.set(v, 1)
        s.set_cost(v, o.cost_cents / USD)
        if self.budget is not None:
            self.budget.set(v, o.cost_cents / USD)
        if self.upfront is not None:
            self.upfront.set(v, o.upfront_cents / USD)
        if self.spot is not None:
            self.spot.set(v, o.vcpu_milli / 1000 * (o.spot - limits.max_spot_share_milli / 1000))
        self._fees_and_hosts(w, o, v)
        if o.quota and (o.region, o.quota) in self.quota_rows:
            self.quota_rows[(o.region, o.quota)].set(v, o.quota_vcpu_milli / 1000)
        if o.pool_key:
            self.by_pool[o.pool_key][w].append(v)
        self._owned_cover(o, v)

    def _fees_and_hosts(self, w: str, o: Option, v: int) -> None:
        """fee[k] >= the share of w on options needing it (tighter than x <= fee); hosts hold the instances,
        and a family used at all needs a whole host."""
        s, inf = self.solver, np.inf
        for k in o.fees:
            if (w, k) not in self.fee_rows:
                self.fee_rows[(w, k)] = s.row(-inf, 0)
                self.fee_rows[(w, k)].set(self.fee[k], -1)
            self.fee_rows[(w, k)].set(v, 1)
        if o.host_key:
            self.host_rows[o.host_key].set(v, -o.host_milli)
            if (w, o.host_key) not in self.host_once:
                self.host_once[(w, o.host_key)] = s.row(-inf, 0)
                self.host_once[(w, o.host_key)].set(self.host_vars[o.host_key], -1)
            self.host_once[(w, o.host_key)].set(v, 1)

    def _owned_cover(self, o: Option, v: int) -> None:
        """Owned reserved instances (up to the option's count) and savings-plan dollars lower its cost."""
        s, inf = self.solver, np.inf
        covered = []
        if o.ri_key in self.ri_rows:
            z = s.var(o.candidate.count)
            self.ri_rows[o.ri_key].set(z, 1)
            covered.append((z, o.ri_unit_cents / USD, o.candidate.count))
        if self.sp_row is not None and o.sp_cents:
            y = s.var(o.sp_cents / USD)
            self.sp_row.set(y, 1)
            covered.append((y, 1, o.sp_cents / USD))
        for var, unit, most in covered:
            link = s.row(-inf, 0)
            link.set(var, 1)
            link.set(v, -most)
            s.set_cost(var, -unit)
            if self.budget is not None:
                self.budget.set(var, -unit)

    def set_limit(self, name: str, cents: int | None) -> None:
        """Change the budget or the upfront cap (for a choice that leaves room for whole nodes)."""
        row = self.limit_rows.get(name)
        if row is not None and cents is not None:
            row.upper = cents / USD

    def add_cut(self, pool: PoolKey, coef: dict[str, float]) -> None:
        """theta[pool] >= sum_w coef[w] x (w's options in the pool); coef in thousandths of a cent a month."""
        row = self.solver.row(0, np.inf)
        self.kept.add(row.index)
        row.set(self.theta[pool], 1)
        for w, c in sorted(coef.items()):
            if c >= 1000:     # less than a cent a month is left out (the cut only weakens)
                for v in self.by_pool[pool].get(w, ()):
                    row.set(v, -c / (1000 * USD))

    def solve(self) -> Solution:
        status = self.solver.solve()
        if status != "OPTIMAL":
            return Solution(status, None, {}, {})
        values = self.solver.values
        x = {w: {i: float(values[v]) for i, v in pairs if values[v] > 1e-9} for w, pairs in self.x.items()}
        theta = {p: float(values[v]) * USD for p, v in self.theta.items()}
        return Solution("OPTIMAL", self.solver.value * USD, x, theta)
