"""Choose one candidate for one workload with CP-SAT: hard caps as constraints, ops as a preference.

Variables: x[i] = 1 when candidate i is the placement. Constraints: exactly one x[i]; the chosen
monthly cost <= max_monthly_usd; the chosen upfront <= max_upfront_usd. Objective: the monthly cost
in cents, weighted by the ops preference (managed: AWS-run services weigh less; control: self-run
weigh less; balanced: cost alone), times n, plus the candidate's rank in the deterministic order,
so ties are broken the same way every time and the optimum is unique.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from advisor.candidates.base import Candidate

# Preference weights in per-mille of cost, by ops_effort of the candidate (documented in the README).
OPS_WEIGHTS = {
    "balanced": {"low": 1000, "medium": 1000, "high": 1000},
    "managed": {"low": 1000, "medium": 1100, "high": 1250},
    "control": {"low": 1250, "medium": 1100, "high": 1000},
}
_MAX_COEF = 2**62


@dataclass(frozen=True)
class Choice:
    index: int | None     # into the candidates list given; None when no candidate meets the caps
    status: str           # OPTIMAL, INFEASIBLE, or the solver's status name
    objective: int | None
    wall_seconds: float


def cents(usd: float) -> int:
    return round(usd * 100)


def order(candidates: list[Candidate]) -> list[int]:
    """Indices of candidates in the deterministic order used for tie-breaks."""
    return sorted(range(len(candidates)), key=lambda i: candidates[i].sort_key)


def weighted(c: Candidate, ops: str) -> int:
    return cents(c.monthly_usd) * OPS_WEIGHTS[ops][c.ops_effort]


def choose(candidates: list[Candidate], *, ops: str = "balanced", max_monthly_usd: float | None = None,
           max_upfront_usd: float | None = None, time_limit_s: float = 5.0) -> Choice:
    if not candidates:
        return Choice(None, "INFEASIBLE", None, 0.0)
    ranked = order(candidates)
    rank = {i: r for r, i in enumerate(ranked)}
    keep = undominated(candidates, rank, ops)
    result = _solve([candidates[i] for i in keep], [rank[i] for i in keep], len(candidates), ops,
                    max_monthly_usd, max_upfront_usd, time_limit_s)
    return result if result.index is None else Choice(keep[result.index], result.status, result.objective,
                                                      result.wall_seconds)


def undominated(candidates: list[Candidate], rank: dict[int, int], ops: str) -> list[int]:
    """Indices of the candidates that can be optimal under some caps: a candidate is dropped when one
    earlier in objective order (weighted cost, then rank) costs no more per month and no more upfront,
    since that one is feasible whenever it is and always preferred. The model is built on the rest."""
    keep: list[int] = []
    staircase: list[tuple[int, int]] = []  # (monthly, upfront) cents of the kept candidates so far
    for i in sorted(range(len(candidates)), key=lambda i: (weighted(candidates[i], ops), rank[i])):
        monthly, upfront = cents(candidates[i].monthly_usd), cents(candidates[i].upfront_usd)
        if any(m <= monthly and u <= upfront for m, u in staircase):
            continue
        keep.append(i)
        staircase.append((monthly, upfront))
    return sorted(keep)


def _solve(candidates: list[Candidate], ranks: list[int], n: int, ops: str, max_monthly_usd: float | None,
           max_upfront_usd: float | None, time_limit_s: float) -> Choice:
    coefs = [weighted(c, ops) * n + ranks[i] for i, c in enumerate(candidates)]
    if max(coefs) >= _MAX_COEF:
        raise OverflowError("candidate costs too large for the solver's integer objective")

    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x_{i}") for i in range(len(candidates))]  # x[i]: candidate i is the placement
    model.add_exactly_one(x)
    if max_monthly_usd is not None:
        model.add(sum(cents(c.monthly_usd) * x[i] for i, c in enumerate(candidates)) <= cents(max_monthly_usd))
    if max_upfront_usd is not None:
        model.add(sum(cents(c.upfront_usd) * x[i] for i, c in enumerate(candidates)) <= cents(max_upfront_usd))
    model.minimize(sum(coefs[i] * x[i] for i in range(len(candidates))))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = next(i for i in range(len(candidates)) if solver.value(x[i]))
        return Choice(chosen, name, int(solver.objective_value), solver.wall_time)
    return Choice(None, name, None, solver.wall_time)


def within_caps(c: Candidate, max_monthly_usd: float | None, max_upfront_usd: float | None) -> bool:
    """The same caps as the model, checked directly (used by explanations and validation)."""
    return ((max_monthly_usd is None or cents(c.monthly_usd) <= cents(max_monthly_usd))
            and (max_upfront_usd is None or cents(c.upfront_usd) <= cents(max_upfront_usd)))
