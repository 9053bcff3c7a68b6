"""Size a commitment against an hourly usage curve, exactly.

Committing L units costs r per unit for every hour; usage above L pays the on-demand rate p. Over
hours h with usage u_h the cost is  r * L * H + p * sum_h max(0, u_h - L),  convex and piecewise
linear in L, so its minimum is at one of the usage values: the smallest L where the hours still above
L are no more than r/p of all hours, i.e. the (1 - r/p) quantile of the curve. `size` evaluates the
cost at every distinct usage value (and 0) and returns the cheapest, so the result is exact for any
curve, not only in the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sizing:
    level: float                 # units committed (0: none)
    cost: float                  # total over the curve at that level
    on_demand_cost: float        # the same usage all on-demand
    utilisation: float           # share of committed unit-hours actually used

    @property
    def savings(self) -> float:
        return self.on_demand_cost - self.cost


def cost_at(usage: np.ndarray, level: float, committed_rate: float, on_demand_rate: float) -> float:
    return float(committed_rate * level * usage.size + on_demand_rate * np.clip(usage - level, 0, None).sum())


def size(usage: list[float] | np.ndarray, committed_rate: float, on_demand_rate: float,
         whole_units: bool = True) -> Sizing:
    """The commitment level that minimises the total cost over the curve (exact)."""
    u = np.asarray(usage, dtype=float)
    if u.size == 0:
        return Sizing(0.0, 0.0, 0.0, 0.0)
    levels = np.unique(np.concatenate([[0.0], np.floor(u) if whole_units else u]))
    if whole_units:
        levels = np.unique(np.concatenate([levels, np.ceil(u)]))
    # cost(L) for every candidate level at once: sorted usage and prefix sums.
    s = np.sort(u)
    suffix = np.concatenate([np.cumsum(s[::-1])[::-1], [0.0]])
    above = np.searchsorted(s, levels, side="right")
    excess = suffix[above] - levels * (u.size - above)
    costs = committed_rate * levels * u.size + on_demand_rate * excess
    best = int(np.argmin(costs))
    level = float(levels[best])
    return Sizing(level, float(costs[best]), float(on_demand_rate * u.sum()),
                  float(np.minimum(u, level).sum() / (level * u.size)) if level else 0.0)


def quantile_level(usage: list[float] | np.ndarray, committed_rate: float, on_demand_rate: float) -> float:
    """The textbook answer: the (1 - r/p) quantile of the usage (for cross-checking `size`)."""
    u = np.sort(np.asarray(usage, dtype=float))
    k = math.floor(u.size * committed_rate / on_demand_rate)
    return float(u[max(u.size - 1 - k, 0)]) if u.size else 0.0
