"""The horizon arithmetic, by hand, and the polars and Python forms of it agreeing."""

import numpy as np
import polars as pl
import pytest

from advisor.candidates.instances import cost_columns
from advisor.pricing import (
    commitment_cost,
    commitment_expr,
    divide,
    money,
    money_expr,
    months_paid,
    terms_bought,
    tiered,
    usage_cost,
)


def test_commitment_is_paid_for_whole_terms_even_past_the_horizon():
    # m5.large standard 1yr partial upfront: $252 + $0.029/h. 18 months need two 1-year terms.
    assert terms_bought("1yr", 18) == 2 and months_paid("1yr", 18) == 24
    cost = commitment_cost(0.029, 252.0, "1yr", 18, count=1)
    assert cost.monthly_usd == pytest.approx((0.029 * 730 * 24 + 252 * 2) / 18)
    assert cost.upfront_usd == 252.0
    # A 3-year term on a 12-month horizon is paid in full and averaged over the 12 months.
    three = commitment_cost(0.019, 505.0, "3yr", 12, count=2)
    assert three.monthly_usd == pytest.approx((0.019 * 730 * 36 + 505) * 2 / 12)


def test_usage_scales_with_hours():
    assert usage_cost(0.096, 200, 3).monthly_usd == pytest.approx(0.096 * 200 * 3)


def test_tiers_are_cumulative():
    tiers = [{"up_to": 10, "p": 1.0}, {"up_to": 30, "p": 0.5}, {"up_to": None, "p": 0.1}]
    assert tiered(5, tiers, "up_to", "p") == 5
    assert tiered(25, tiers, "up_to", "p") == pytest.approx(10 + 15 * 0.5)
    assert tiered(100, tiers, "up_to", "p") == pytest.approx(10 + 20 * 0.5 + 70 * 0.1)


@pytest.mark.parametrize("option,term,horizon,hours", [
    ("reserved", "1yr", 18, 730), ("savings_plan", "3yr", 12, 200), ("on_demand", None, 7, 200),
    ("spot", None, 36, 50), ("capacity_reservation", None, 12, 100)])
def test_frame_costing_matches_the_python_form(option, term, horizon, hours):
    frame = pl.DataFrame({"purchase_option": [option], "term": [term], "usd_per_hour": [0.029],
                          "upfront_usd": [252.0 if term else 0.0], "count": [3], "hours": [float(hours)],
                          "horizon": [horizon]}, schema_overrides={"term": pl.String})
    got = cost_columns(frame).row(0, named=True)
    if term:
        expected = commitment_cost(0.029, 252.0, term, horizon, 3)
    elif option == "capacity_reservation":
        expected = usage_cost(0.029, 730, 3)
    else:
        expected = usage_cost(0.029, hours, 3)
    assert got["compute_monthly"] == pytest.approx(expected.monthly_usd)
    assert got["upfront_start"] == pytest.approx(expected.upfront_usd)


def test_a_one_horizon_frame_divides_as_python_does():
    """A frame whose horizon is one value broadcast (as one workload's candidates are): polars divides by
    such a scalar as a product with its reciprocal, 179.88 x (1/24) = 7.494999999999999, which rounds the
    line a cent low (7.49). Two units of a 1-year all-upfront reservation over 24 months: 2 x 2 x 44.97 / 24."""
    frame = pl.DataFrame({"purchase_option": ["reserved"] * 3, "term": ["1yr"] * 3, "usd_per_hour": [0.0] * 3,
                          "upfront_usd": [44.97] * 3, "count": [2] * 3, "hours": [730.0] * 3}
                         ).with_columns(horizon=pl.lit(24))
    got = cost_columns(frame)
    assert got["compute_monthly"].to_list() == [179.88 / 24] * 3 == [7.495] * 3
    assert [money(x) for x in got["compute_monthly"]] == [7.5] * 3
    assert got.select(m=money_expr(pl.col("compute_monthly")))["m"].to_list() == [7.5] * 3
    monthly, _ = commitment_expr(pl.col("usd_per_hour"), pl.col("upfront_usd"), pl.lit(12.0), pl.col("horizon"),
                                 pl.col("count"))
    assert frame.select(m=monthly)["m"].to_list() == [7.495] * 3


@pytest.mark.parametrize("shape", ["literal", "scalar column", "full column"])
def test_divide_is_python_division_for_every_divisor_shape(shape):
    rng = np.random.default_rng(7)
    xs = np.round(rng.uniform(0, 5000, 4000), 2)
    for d in (3.0, 7.0, 12.0, 24.0, 36.0, 730.0):
        frame = pl.DataFrame({"x": xs})
        if shape == "literal":
            divisor = pl.lit(d)
        else:
            frame = frame.with_columns(d=pl.lit(d) if shape == "scalar column" else pl.Series([d] * len(xs)))
            divisor = pl.col("d")
        got = frame.select(q=divide(pl.col("x"), divisor))["q"].to_numpy()
        assert (got == xs / d).all(), d
