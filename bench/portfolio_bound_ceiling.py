"""How far the portfolio bound can rise: the largest components of the whole-node Lagrangian bound, solved by
CP-SAT (as `plan` does), by HiGHS (scipy `milp` on the same model), and bounded by Dantzig-Wolfe column
generation (branch-and-price's root), on the synthetic 1,000-workload portfolio of `portfolio_synthetic.py`.

`lagrangian.py` splits the relaxation, at the LP's duals, into components (workloads that may share a pool)
solved with whole nodes; a component proven above its LP value raises the bound. This bench measures, per
component: its LP value, CP-SAT's and HiGHS's proven bound and best solution in the same time, and the
Dantzig-Wolfe bound: columns are one pool's member set with its whole-node cost (`whole_nodes.py`), priced per
pool by CP-SAT; the master LP's value is an upper limit on that bound, the Lagrangian (Farley) value
sum(pi) + sum over pools of min(0, the pricing's proven bound) a valid lower bound at every iteration. Not
part of the product: evidence for where the bound stops (README, *What is left*).

Run: python bench/portfolio_bound_ceiling.py [--components 4] [--seconds 10] [--dw 1,9] [--dw-seconds 120]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

from advisor.candidates.base import Context
from advisor.catalog.store import load_catalog
from advisor.portfolio import options as inputs
from advisor.portfolio import plan as planning
from advisor.portfolio.lagrangian import UNITS, Decomposition, component_model, decompose
from advisor.portfolio.pool_cuts import Pool, tighten
from advisor.portfolio.pooled import pools_and_options
from advisor.portfolio.relaxation import Relaxation
from advisor.portfolio.whole_nodes import add_whole_nodes, most_cents

sys.path.insert(0, str(Path(__file__).parent))
import portfolio_synthetic  # noqa: E402

PRICING_UNITS = 100_000_000     # the pricing objective's units per USD (reduced costs of upfront cents are tiny)


def converged_relaxation() -> tuple[Relaxation, dict[str, Pool]]:
    """The synthetic portfolio's relaxation, tightened to convergence (as `plan` does, without its clock)."""
    catalog = load_catalog()
    portfolio = planning.parse({"workloads": portfolio_synthetic.workloads(1000),
                                "constraints": portfolio_synthetic.RECORDED})
    workloads = {w.id: inputs.bounded(w, portfolio) for w in portfolio.workloads}
    options, _ = inputs.options_for(Context(catalog), workloads)
    fees, hosts = inputs.fee_cents(options), inputs.host_prices(options)
    fluid, pools = pools_and_options(catalog, workloads, options, {})
    relaxation = Relaxation(fluid, fees, inputs.limits_of(catalog, portfolio, options), hosts,
                            {k: p.upfront_ratio for k, p in pools.items()})
    tightened = tighten(relaxation, pools, deadline=time.perf_counter() + 300)
    print(f"LP bound ${tightened.bound_cents / 100:,.2f} ({'converged' if tightened.converged else 'NOT converged'}, "
          f"{tightened.iterations} LPs)")
    return relaxation, pools


def as_milp(model: cp_model.CpModel) -> tuple[np.ndarray, LinearConstraint, Bounds]:
    """A CP-SAT model of linear constraints (and exactly-one) over integer variables, as scipy `milp` arrays."""
    proto = model.proto
    lower = np.array([v.domain[0] for v in proto.variables], dtype=float)
    upper = np.array([list(v.domain)[-1] for v in proto.variables], dtype=float)
    rows, cols, vals, lo, hi = [], [], [], [], []
    for r, ct in enumerate(proto.constraints):
        if list(ct.enforcement_literal):
            raise ValueError("enforcement literals are not converted")
        if ct.has_linear():
            domain = list(ct.linear.domain)
            terms = list(zip(ct.linear.vars, ct.linear.coeffs, strict=True))
            lo.append(domain[0] if domain[0] > -2**62 else -np.inf)
            hi.append(domain[-1] if domain[-1] < 2**62 else np.inf)
        elif ct.has_exactly_one():
            terms = [(lit, 1) if lit >= 0 else (-lit - 1, -1) for lit in ct.exactly_one.literals]
            negated = sum(1 for lit in ct.exactly_one.literals if lit < 0)
            lo.append(1 - negated)
            hi.append(1 - negated)
        else:
            raise ValueError(f"constraint kind not converted: {str(ct)[:80]}")
        for var, coef in terms:
            rows.append(r)
            cols.append(var)
            vals.append(coef)
    matrix = coo_matrix((vals, (rows, cols)), shape=(len(lo), len(lower))).tocsr()
    cost = np.zeros(len(lower))
    for var, coef in zip(proto.objective.vars, proto.objective.coeffs, strict=True):
        cost[var] += coef
    return cost, LinearConstraint(matrix, lo, hi), Bounds(lower, upper)


def compare_solvers(parts: Decomposition, pools: dict[str, Pool], components: list, seconds: float) -> None:
    """Per component: LP value, then CP-SAT's and HiGHS's proven bound and best solution in `seconds` each."""
    for k, (comp, rows) in enumerate(components):
        at_lp = float(sum(parts.reduced[v] * parts.values[v] for v in comp))
        model = component_model(parts, comp, rows, pools)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2
        status = solver.solve(model)
        found = solver.objective_value / UNITS if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
        cost, constraints, bounds = as_milp(model)
        started = time.perf_counter()
        result = milp(cost, constraints=constraints, integrality=np.ones(len(cost)), bounds=bounds,
                      options={"time_limit": seconds, "disp": False})
        highs_seconds = time.perf_counter() - started
        highs_bound = result.mip_dual_bound / UNITS if result.mip_dual_bound is not None else None
        highs_found = result.fun / UNITS if result.fun is not None else None
        print(f"component #{k} ({len(comp)} variables): LP {at_lp:,.2f}; CP-SAT bound "
              f"{solver.best_objective_bound / UNITS:,.2f}, best {_usd(found)} ({solver.status_name(status)}); "
              f"HiGHS bound {_usd(highs_bound)}, best {_usd(highs_found)} ({highs_seconds:.1f} s)")


def dantzig_wolfe(parts: Decomposition, pools: dict[str, Pool], workload_of: dict[int, str], comp: list[int],
                  rows: list, seconds: float, pricing_s: float = 2.0) -> None:
    """Column generation over pool configurations on one component until no column prices out or `seconds`."""
    reduced = parts.reduced
    inside = set(comp)
    thetas = [v for v in comp if v in parts.pool_of]
    up_of = {parts.up_of[v]: v for v in comp if v in parts.up_of}          # a pool's cost var -> its upfront var
    members = {t: {w: [v for v in vs if v in inside] for w, vs in parts.by_pool.get(parts.pool_of[t], {}).items()
                   if any(v in inside for v in vs)} for t in thetas}
    pooled = {v for t in thetas for vs in members[t].values() for v in vs}
    free = [v for v in comp if v in workload_of and v not in pooled]
    names = sorted({workload_of[v] for v in comp if v in workload_of})
    index = {w: i for i, w in enumerate(names)}
    cuts = {t: [r for r in rows if t in r.terms and r.lower != r.upper] for t in thetas}
    at_lp = float(sum(reduced[v] * parts.values[v] for v in comp))
    print(f"Dantzig-Wolfe on a component of {len(names)} workloads and {len(thetas)} pools (LP {at_lp:,.2f}):")
    columns: list[tuple[int, frozenset, float]] = []      # (pool cost var, its members' choice vars, cost)
    started, best = time.perf_counter(), -math.inf
    for iteration in range(1000):
        n_free, n_cols = len(free), len(columns)
        cost = np.array([reduced[v] for v in free] + [c[2] for c in columns] + [1e6] * len(names))  # + artificial
        eq = np.zeros((len(names), n_free + n_cols + len(names)))
        for j, v in enumerate(free):
            eq[index[workload_of[v]], j] = 1
        for j, (_, chosen, _) in enumerate(columns):
            for v in chosen:
                eq[index[workload_of[v]], n_free + j] = 1
        eq[:, n_free + n_cols:] = np.eye(len(names))
        convexity = np.zeros((len(thetas), eq.shape[1]))
        for j, (t, _, _) in enumerate(columns):
            convexity[thetas.index(t), n_free + j] = 1
        master = linprog(cost, A_ub=convexity, b_ub=np.ones(len(thetas)), A_eq=eq, b_eq=np.ones(len(names)),
                         bounds=(0, None), method="highs")
        pi = {w: float(master.eqlin.marginals[index[w]]) for w in names}
        sigma = [float(s) for s in master.ineqlin.marginals]
        lagrangian = sum(pi.values()) + sum(min(0.0, reduced[v] - pi[workload_of[v]]) for v in free)
        added = 0
        for p, t in enumerate(thetas):
            bound, found = _price(pools[parts.pool_of[t]], t, up_of.get(t), members[t], cuts[t], reduced, pi,
                                  pricing_s)
            lagrangian += min(0.0, bound)
            if found is not None and found[0] - sigma[p] < -0.01:     # a cent: below is the pricing's rounding
                columns.append((t, found[1], found[2]))
                added += 1
        improved, best = lagrangian > best, max(best, lagrangian)
        elapsed = time.perf_counter() - started
        done = not added or elapsed > seconds or master.fun - best < 0.01
        if improved or done or iteration % 10 == 0:
            print(f"  iteration {iteration}: master {master.fun:,.2f}, Lagrangian bound {lagrangian:,.2f} (best "
                  f"{best:,.2f}), {len(columns)} columns (+{added}), {elapsed:.1f} s")
        if done:
            break
    print(f"  -> LP {at_lp:,.2f}; Dantzig-Wolfe bound between {best:,.2f} (proven) and {master.fun:,.2f} (master)")


def _price(pool: Pool, theta: int, upfront: int | None, members: dict[str, list[int]], cuts: list, reduced: np.ndarray,
           pi: dict[str, float], seconds: float) -> tuple[float, tuple[float, frozenset, float] | None]:
    """min over member sets S of the pool: its reduced cost less pi over S. Returns CP-SAT's proven bound and its
    best (value, S, the column's cost) or None."""
    model = cp_model.CpModel()
    take = {v: model.new_bool_var(f"b{v}") for vs in members.values() for v in vs}
    for vs in members.values():
        if len(vs) > 1:
            model.add_at_most_one(take[v] for v in vs)
    cents = model.new_int_var(0, most_cents(pool.types, pool.members, upfront=False), "cost")
    paid = model.new_int_var(0, most_cents(pool.types, pool.members, upfront=True), "up") if upfront else None
    for row in cuts:
        if upfront is not None and upfront in row.terms:       # upfront >= ratio x cost
            model.add(1000 * paid >= math.floor(-row.terms[theta] * 1000) * cents - 1000)
        else:                                                  # cost >= the cut's coefficients over S
            coefs = {v: round(-a * 100_000) for v, a in row.terms.items() if v != theta}
            model.add(1000 * cents >= sum(c * take[v] for v, c in coefs.items() if v in take) - 1000)
    add_whole_nodes(model, pool.members, pool.types, {w: [take[v] for v in vs] for w, vs in members.items()},
                    cents, paid, pool.key)
    terms = [math.floor((reduced[v] - pi[w]) * PRICING_UNITS) * take[v] for w, vs in members.items() for v in vs]
    terms.append(math.floor(reduced[theta] * PRICING_UNITS / 100) * cents)
    if paid is not None:
        terms.append(math.floor(reduced[upfront] * PRICING_UNITS / 100) * paid)
    model.minimize(sum(terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    bound = solver.best_objective_bound / PRICING_UNITS
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return bound, None
    chosen = frozenset(v for v in take if solver.value(take[v]))
    column = (sum(reduced[v] for v in chosen) + reduced[theta] * solver.value(cents) / 100
              + (reduced[upfront] * solver.value(paid) / 100 if paid is not None else 0.0))
    return bound, (solver.objective_value / PRICING_UNITS, chosen, column)


def _usd(value: float | None) -> str:
    return "none" if value is None else f"{value:,.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=4, help="the largest components compared")
    parser.add_argument("--seconds", type=float, default=10.0, help="each solver's time per component")
    parser.add_argument("--dw", default="1,9", help="components (by size rank) bounded by Dantzig-Wolfe")
    parser.add_argument("--dw-seconds", type=float, default=120.0)
    args = parser.parse_args()
    relaxation, pools = converged_relaxation()
    parts = decompose(relaxation)
    ranked = sorted(parts.components, key=lambda c: -len(c[0]))
    compare_solvers(parts, pools, ranked[:args.components], args.seconds)
    workload_of = {v: w for w, pairs in relaxation.x.items() for _, v in pairs}
    for k in (int(x) for x in args.dw.split(",") if x):
        dantzig_wolfe(parts, pools, workload_of, *ranked[k], seconds=args.dw_seconds)


if __name__ == "__main__":
    main()
