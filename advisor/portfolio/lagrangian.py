"""A lower bound that knows nodes are whole: the tightened relaxation, decomposed by Lagrange.

The relaxation (`relaxation.py`) prices each node pool at its packing LP bound: fractional nodes. Here its
coupling rows (budget, upfront cap, spot share, quotas, fees, hosts, owned commitments) are moved into the
objective with the LP's optimal duals as multipliers. What is left falls apart into components: the
workloads that may share a pool, with their exactly-one rows and the pools' cuts. Each component is solved
as an integer program (CP-SAT) in which every pool also needs whole nodes: per node type, an integer count
of nodes, the replicas of each class placed on that type (no more per node than fit, every resource within
the type's nodes' capacity), the pool's monthly cost and upfront at least those nodes'. Every real plan
satisfies all of it, so for any multipliers (>= 0 on inequalities)

    L = sum over components of their integer optimum (or CP-SAT's proven bound on it)
        + each variable outside every component at its cheapest bound - the multipliers' constants

is a lower bound on every plan; with the LP's duals and the components solved as LPs it equals the LP
bound (tested), and whole nodes can only raise it. Coefficients are floored (variables are >= 0) and pool
costs are whole cents rounded down, so rounding never lifts it above the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from advisor.portfolio import clock
from advisor.portfolio.keys import HostKey, PoolKey
from advisor.portfolio.pool_cuts import Pool
from advisor.portfolio.relaxation import USD, Relaxation
from advisor.portfolio.whole_nodes import add_whole_nodes, most_cents

UNITS = 1_000_000     # the integer objective's units per USD


@dataclass
class WholeNodeBound:
    bound_cents: int | None      # None: no bound (the LP has no duals, or a variable is unbounded below)
    components: int = 0
    proven: int = 0              # components whose integer optimum CP-SAT proved


@dataclass
class _Row:
    lower: float
    upper: float
    terms: dict[int, float]


@dataclass
class Decomposition:
    """What the bound needs of the relaxation at one LP solution, copied (the relaxation may change after)."""

    reduced: np.ndarray                  # per variable: its cost plus the coupling rows' multipliers x its terms
    constant: float                      # the multipliers' constants, and the variables outside every component
    values: np.ndarray                   # the LP solution
    components: list[tuple[list[int], list[_Row]]]
    pool_of: dict[int, PoolKey]              # a pool's cost variable -> the pool
    up_of: dict[int, int]                # a pool's upfront variable -> its cost variable
    by_pool: dict[PoolKey, dict[str, list[int]]]

    def solve(self, pools: dict[PoolKey, Pool], deadline: float, integer: bool = True) -> WholeNodeBound:
        """L (see the module docstring). `integer=False` solves each component as an LP without whole nodes
        (then L is the LP bound again: a check of the bookkeeping)."""
        total, proven = self.constant, 0
        ordered = sorted(self.components, key=lambda c: len(c[0]))
        for k, (comp, rows) in enumerate(ordered):
            at_lp = float(sum(self.reduced[v] * self.values[v] for v in comp))   # its LP optimum (compl. slackness)
            if not integer:
                total += at_lp
                continue
            if not any(v in self.pool_of for v in comp):     # one workload's options, nothing shared: its cheapest
                total += max(float(min(self.reduced[v] for v in comp)), at_lp)
                proven += 1
                continue
            left = deadline - clock.now()
            if left < 0.05:                                 # out of time: its LP optimum stands
                total += at_lp
                continue
            value, optimal = _solve_component(self, comp, rows, pools, left / (len(ordered) - k))
            proven += optimal
            total += max(value, at_lp)
        return WholeNodeBound(math.floor(total * USD * (1 - 1e-9) - 1e-6), len(self.components), proven)


def decompose(relaxation: Relaxation) -> Decomposition | None:
    """The relaxation's last LP solution, decomposed (None if it has no duals or a variable outside every
    component is unbounded below)."""
    lp = relaxation.solver
    if not lp.duals or len(lp.values) != len(lp.cost):
        return None
    rows = lp.rows[:len(lp.duals)]      # cuts added since the last solve are left out (a bound needs none of them)
    n = len(lp.cost)
    reduced = np.array(lp.cost, dtype=float)          # c + sum over coupling rows of mu x row
    constant = 0.0
    for row, (mu, kappa) in zip(rows, lp.duals, strict=True):
        if row.index in relaxation.kept:
            continue
        constant -= kappa
        for var, a in row.terms.items():
            reduced[var] += mu * a
    upper = np.array(lp.upper, dtype=float)
    for key, var in relaxation.host_vars.items():     # an optimal plan buys no more hosts than its instances fill
        upper[var] = _most_hosts(relaxation, key)
    components = _components(relaxation, rows, n)
    inside = {v for comp, _ in components for v in comp}
    for var in range(n):
        if var not in inside and reduced[var] < 0:
            if not math.isfinite(upper[var]):
                return None
            constant += reduced[var] * upper[var]
    pool_of = {var: key for key, var in relaxation.theta.items()}
    up_of = {relaxation.pool_up[key]: var for var, key in pool_of.items() if key in relaxation.pool_up}
    by_pool = {k: {w: list(vs) for w, vs in m.items()} for k, m in relaxation.by_pool.items()}
    return Decomposition(reduced, constant, np.array(lp.values, dtype=float), components, pool_of, up_of, by_pool)


def _most_hosts(relaxation: Relaxation, key: HostKey) -> float:
    """No optimal plan buys more hosts of a key than every workload's largest share of one, rounded up."""
    milli = sum(max((o.host_milli for o in opts if o.host_key == key), default=0)
                for opts in relaxation.options.values())
    return float(math.ceil(milli / 1000) + 1)


def _components(relaxation: Relaxation, rows: list, n: int) -> list[tuple[list[int], list[_Row]]]:
    """Variables linked by the rows the decomposition keeps (connected components of the graph those rows
    make), with those rows (copied): each workload's options, with those of every workload that may share a
    pool with it. In order of their first variable."""
    kept = [row for row in rows if row.index in relaxation.kept and row.terms]
    edges = [(next(iter(row.terms)), var) for row in kept for var in row.terms]
    first, other = zip(*edges, strict=True) if edges else ((), ())
    graph = coo_matrix((np.ones(len(edges)), (first, other)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    by_label: dict[int, list[_Row]] = {}
    for row in kept:
        by_label.setdefault(int(label[next(iter(row.terms))]), []).append(_Row(row.lower, row.upper, dict(row.terms)))
    variables: dict[int, list[int]] = {k: [] for k in by_label}
    for var in range(n):
        if int(label[var]) in variables:
            variables[int(label[var])].append(var)
    return sorted(((variables[k], by_label[k]) for k in by_label), key=lambda c: c[0][0])


def _solve_component(parts: Decomposition, comp: list[int], rows: list[_Row], pools: dict[PoolKey, Pool],
                     time_limit_s: float) -> tuple[float, bool]:
    """The component's integer optimum in USD (CP-SAT's proven bound on it) and whether it is proven."""
    model = component_model(parts, comp, rows, pools)
    solver = cp_model.CpSolver()
    det_limit = clock.limits(solver.parameters, time_limit_s, clock.WHOLE_NODE_BOUND_PER_DET)
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.linearization_level = 2
    status = solver.solve(model)
    clock.account(solver, det_limit, "whole-node bound", status == cp_model.OPTIMAL, clock.WHOLE_NODE_BOUND_PER_DET)
    if status == cp_model.INFEASIBLE or status == cp_model.MODEL_INVALID:
        return -math.inf, False
    return solver.best_objective_bound / UNITS, status == cp_model.OPTIMAL


def component_model(parts: Decomposition, comp: list[int], rows: list[_Row],
                    pools: dict[PoolKey, Pool]) -> cp_model.CpModel:
    """One component as an integer program (objective in UNITS per USD): its choices, pool costs and upfronts
    at their reduced costs, exactly one option per workload, the pools' cuts and whole nodes."""
    model = cp_model.CpModel()
    pool_of, up_of, reduced = parts.pool_of, parts.up_of, parts.reduced
    ints: dict[int, cp_model.IntVar] = {}
    objective = []
    for v in comp:
        if v in pool_of or v in up_of:      # a pool's monthly cost or upfront, in whole cents (rounded down)
            pool = pools[pool_of[v if v in pool_of else up_of[v]]]
            top = most_cents(pool.types, pool.members, upfront=v in up_of)
            ints[v] = model.new_int_var(0, top, f"c{v}")
            objective.append(math.floor(reduced[v] * UNITS / 100) * ints[v])
        else:                               # a choice, 0 or 1
            ints[v] = model.new_bool_var(f"x{v}")
            objective.append(math.floor(reduced[v] * UNITS) * ints[v])
    for row in rows:
        if row.lower == row.upper:          # exactly one option
            model.add(sum(ints[v] for v in row.terms) == 1)
            continue
        cents_var = next((v for v in row.terms if v in pool_of or v in up_of), None)
        if cents_var in up_of:              # upfront >= ratio x cost, both in whole cents rounded down
            theta = up_of[cents_var]
            ratio = math.floor(-row.terms[theta] * 1000)
            model.add(1000 * ints[cents_var] >= ratio * ints[theta] - 1000)
        else:                               # a cut: cost (cents) >= sum of coef (thousandths of a cent) x choice
            coefs = {v: round(-a * 1000 * USD) for v, a in row.terms.items() if v != cents_var}
            model.add(1000 * ints[cents_var] >= sum(c * ints[v] for v, c in coefs.items()) - 1000)
    upfront_of = {t: u for u, t in up_of.items()}
    for v in comp:
        if v in pool_of:
            key = pool_of[v]
            chosen = {w: [ints[x] for x in xs if x in ints] for w, xs in parts.by_pool.get(key, {}).items()}
            add_whole_nodes(model, pools[key].members, pools[key].types, chosen, ints[v], ints.get(upfront_of.get(v)),
                            key)
    model.minimize(sum(objective))
    return model
