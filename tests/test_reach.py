"""The estate costs only the purchase options whose rows its choice can read (advisor/estate/reach.py).

Checked against the same path costing every option (every option a probe): the same answers, to the
cent, on random workloads of every service the vectorized path prices; and every option's floor is at most its
cheapest row; and a reach cut short (one probe, options whose floor is within $5 of it left out)
changes some answer, so the comparison can fail.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from advisor import estate
from advisor.estate import reach
from models.workload import Workload
from tests.test_estate import N, random_workload

EVERY_OPTION = 10**9  # probes: every option of every workload is costed first


@pytest.fixture(scope="module")
def workloads() -> dict[int, Workload]:
    rng = random.Random(41)
    drawn = {}
    for i in range(max(N, 200)):
        d = random_workload(rng, i)
        if i % 2 and d["os"] in ("linux", "windows"):  # one service: the alternative is its second row
            d.update(allowed_services=[rng.choice(["ec2", "ecs_ec2", "eks_ec2"])], packaging="any")
        drawn[i] = Workload(**d)
    return {i: w for i, w in drawn.items() if estate.covered(w)}


def _answer(workloads: dict[int, Workload], catalog, monkeypatch, floors: list | None = None,
            **settings) -> tuple[pl.DataFrame, list[int], int]:
    """The answers, the workloads left to the per-shape path, and how many rows were costed; `floors`
    collects each group's option floors beside its options' cheapest costed exact row."""
    costed = [0]
    real = reach.cost_reachable

    def counted(rows, bounds, cost, exact):
        def cost_counted(rows: pl.DataFrame) -> pl.DataFrame:
            costed[0] += rows.height
            return cost(rows)
        got = real(rows, bounds, cost_counted, exact)
        if floors is not None:
            cheapest = got.filter(exact).group_by(reach.option_key().alias("_key")).agg(
                least=pl.col("monthly_total").min())
            floors.append(bounds.join(cheapest, on="_key"))
        return got

    with monkeypatch.context() as m:
        for name, value in settings.items():
            m.setattr(reach, name, value)
        for module in ("advisor.estate.ec2", "advisor.estate.nodes"):
            m.setattr(f"{module}.cost_reachable", counted)
        got = estate.answer(workloads, catalog, False)
    return got.frame.sort("idx"), got.fallback, costed[0]


def test_answers_equal_those_of_costing_every_option(workloads, catalog, monkeypatch):
    bounded, bounded_left, bounded_rows = _answer(workloads, catalog, monkeypatch)
    full, full_left, full_rows = _answer(workloads, catalog, monkeypatch, PROBES=EVERY_OPTION)
    # Fewer options are checked for certification, so no workload is left that costing all answers.
    assert set(bounded_left) <= set(full_left)
    both = full["idx"]
    assert full.height > len(workloads) * 0.8
    assert bounded.filter(pl.col("idx").is_in(both.implode())).equals(full)
    assert bounded_rows < full_rows / 2, "most options are never costed"


def test_every_floor_is_at_most_its_options_cheapest_row(workloads, catalog, monkeypatch):
    """The floor bounds every row of its option from below (the rows costed exactly include the cheapest),
    and is close enough to be worth having (most within a fifth)."""
    floors: list[pl.DataFrame] = []
    _answer(workloads, catalog, monkeypatch, floors, PROBES=EVERY_OPTION)
    both = pl.concat(floors)
    assert both.height > 10 * len(workloads)
    assert both.filter(pl.col("low") > pl.col("least")).is_empty()
    assert both.filter(pl.col("low") >= 0.8 * pl.col("least")).height > 0.6 * both.height


def test_a_reach_cut_short_changes_some_answer(workloads, catalog, monkeypatch):
    full, _, _ = _answer(workloads, catalog, monkeypatch, PROBES=EVERY_OPTION)
    short, _, _ = _answer(workloads, catalog, monkeypatch, PROBES=1, ROUNDING=-5.0)
    common = short.join(full.select("idx"), on="idx", how="semi")
    assert not common.equals(full.join(short.select("idx"), on="idx", how="semi"))


def test_rows_of_options_are_those_whose_key_is_listed():
    """The table lookup keeps exactly the rows a hash of their (idx, _o) keys keeps, keys of no row and
    keys past the rows' workloads and options included."""
    rng = random.Random(5)
    rows = pl.DataFrame({"idx": sorted(rng.randrange(0, 300) for _ in range(5_000)),
                         "_o": [rng.randrange(0, 40) for _ in range(5_000)], "pos": list(range(5_000))})
    keys = pl.Series("_key", [rng.randrange(0, 320) * reach.OPTIONS + rng.randrange(0, 45) for _ in range(900)])
    expected = rows.filter(reach.option_key().is_in(keys.implode()))
    got = reach._of_options(rows, keys)
    assert 0 < got.height < rows.height
    assert got.equals(expected)
    assert reach._of_options(rows.clear(), keys).is_empty()
