"""A lower bound for the choice model from its LP relaxation (HiGHS through scipy), for portfolios where
CP-SAT cannot prove one in time. Every integer variable is relaxed to a real one, so the LP optimum is
at most the integer optimum: a valid bound, usually found in well under a second.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from advisor.portfolio.select import HostPrice, Limits, Option, PoolPrice, undominated


class _Builder:
    """Columns with bounds and costs; rows collected as (row, column, value) triples."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.rows_ub: list[tuple[dict[int, float], float]] = []
        self.rows_eq: list[tuple[dict[int, float], float]] = []

    def var(self, cost: float, upper: float | None = None) -> int:
        self.cost.append(cost)
        self.upper.append(np.inf if upper is None else upper)
        return len(self.cost) - 1

    def le(self, terms: dict[int, float], rhs: float) -> None:
        self.rows_ub.append((terms, rhs))

    def eq(self, terms: dict[int, float], rhs: float) -> None:
        self.rows_eq.append((terms, rhs))

    @staticmethod
    def _matrix(rows: list[tuple[dict[int, float], float]], n: int):
        if not rows:
            return None, None
        r, c, v = [], [], []
        for i, (terms, _) in enumerate(rows):
            for j, value in terms.items():
                r.append(i)
                c.append(j)
                v.append(value)
        return coo_matrix((v, (r, c)), shape=(len(rows), n)).tocsr(), np.array([rhs for _, rhs in rows])

    def solve(self) -> float | None:
        n = len(self.cost)
        a_ub, b_ub = self._matrix(self.rows_ub, n)
        a_eq, b_eq = self._matrix(self.rows_eq, n)
        res = linprog(np.array(self.cost), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                      bounds=list(zip([0.0] * n, self.upper, strict=True)), method="highs")
        return float(res.fun) if res.status == 0 else None


def lp_bound(options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits,
             host_prices: dict[str, HostPrice], pools: dict[str, PoolPrice]) -> float | None:
    """The LP relaxation's optimum of the choice model, in cents (None if the LP is infeasible)."""
    lp = _Builder()
    objective: dict[int, float] = {}
    fee = {k: lp.var(fee_cents[k], 1.0) for k in sorted(fee_cents)}
    hosts = {k: lp.var(p.monthly_cents) for k, p in sorted(host_prices.items())}
    pool_cost = {k: lp.var(1.0) for k in sorted(pools)}
    pool_up = {k: lp.var(0.0) for k in sorted(pools)}
    host_rows = {k: {} for k in hosts}
    pool_rows = {k: [dict() for _ in range(4)] for k in pools}
    upfront: dict[int, float] = {}
    spot: dict[int, float] = {}
    quota_rows: dict[tuple[str, str], dict[int, float]] = {key: {} for key in limits.quotas}
    ri_rows: dict[tuple[str, str], dict[int, float]] = {key: {} for key in limits.ri_owned}
    sp_row: dict[int, float] = {}
    for w in sorted(options):
        opts = [options[w][i] for i in undominated(options[w], limits, frozenset())]
        ones = {}
        for o in opts:
            x = lp.var(o.cost_cents, 1.0)
            objective[x] = o.cost_cents
            ones[x] = 1.0
            upfront[x] = o.upfront_cents
            for k in o.fees:
                lp.le({x: 1.0, fee[k]: -1.0}, 0.0)
            if o.host_key:
                host_rows[o.host_key][x] = o.host_milli
            if o.pool_key:
                for r in range(4):
                    pool_rows[o.pool_key][r][x] = o.pool_demand[r]
            if limits.max_spot_share_milli is not None:
                spot[x] = o.vcpu_milli * 1000 * o.spot - limits.max_spot_share_milli * o.vcpu_milli
            if o.quota and (o.region, o.quota) in quota_rows:
                quota_rows[(o.region, o.quota)][x] = o.vcpu_milli
            if o.ri_key in ri_rows:  # owned reserved instances lower this option's cost, up to its count
                z = lp.var(-o.ri_unit_cents, o.candidate.count)
                objective[z] = -o.ri_unit_cents
                lp.le({z: 1.0, x: -o.candidate.count}, 0.0)
                ri_rows[o.ri_key][z] = 1.0
            if limits.sp_cover_cents and o.sp_cents:
                y = lp.var(-1.0, o.sp_cents)
                objective[y] = -1.0
                lp.le({y: 1.0, x: -o.sp_cents}, 0.0)
                sp_row[y] = 1.0
        lp.eq(ones, 1.0)
    for k, row in host_rows.items():
        lp.le({**row, hosts[k]: -1000.0}, 0.0)
    for k, rows in pool_rows.items():
        price = pools[k]
        for r in range(4):
            lp.le({**{x: price.per_unit[r] * d for x, d in rows[r].items()}, pool_cost[k]: -1000.0}, 0.0)
            lp.le({**{x: price.upfront_per_unit[r] * d for x, d in rows[r].items()}, pool_up[k]: -1000.0}, 0.0)
    for key, row in ri_rows.items():
        if row:
            lp.le(row, limits.ri_owned[key])
    if sp_row:
        lp.le(sp_row, limits.sp_cover_cents)
    total = {**objective, **{v: fee_cents[k] for k, v in fee.items()},
             **{v: host_prices[k].monthly_cents for k, v in hosts.items()}, **{v: 1.0 for v in pool_cost.values()}}
    if limits.max_monthly_cents is not None:
        lp.le(total, limits.max_monthly_cents)
    if limits.max_upfront_cents is not None:
        lp.le({**upfront, **{v: host_prices[k].upfront_cents for k, v in hosts.items()},
               **{v: 1.0 for v in pool_up.values()}}, limits.max_upfront_cents)
    if spot:
        lp.le(spot, 0.0)
    for key, row in quota_rows.items():
        if row:
            lp.le(row, limits.quotas[key] * 1000)
    return lp.solve()
