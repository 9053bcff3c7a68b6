"""Commitment sizing: the exact optimum over the usage curve, checked by brute force and the quantile rule."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.portfolio.commitments import cost_at, quantile_level, size


def test_flat_usage_commits_everything_and_spiky_usage_commits_the_floor():
    flat = size([10] * 100, committed_rate=0.6, on_demand_rate=1.0)
    assert flat.level == 10 and flat.cost == 0.6 * 10 * 100
    spiky = size([2] * 90 + [50] * 10, committed_rate=0.6, on_demand_rate=1.0)
    assert spiky.level == 2  # the peak runs 10 % of hours, less than the 60 % it would need to pay off
    assert spiky.cost == 0.6 * 2 * 100 + 48 * 10


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), st.sampled_from([0.3, 0.5, 0.627, 0.9]))
def test_exact_against_brute_force_and_quantile(usage, ratio):
    u = np.array(usage, dtype=float)
    got = size(u, ratio, 1.0)
    brute = min(cost_at(u, level, ratio, 1.0) for level in range(0, 41))
    assert abs(got.cost - brute) < 1e-9
    assert abs(cost_at(u, quantile_level(u, ratio, 1.0), ratio, 1.0) - brute) < 1e-9
