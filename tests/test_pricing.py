"""The horizon arithmetic, by hand, and the polars and Python forms of it agreeing."""

import polars as pl
import pytest

from advisor.candidates.instances import cost_columns
from advisor.pricing import commitment_cost, months_paid, terms_bought, tiered, usage_cost


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
