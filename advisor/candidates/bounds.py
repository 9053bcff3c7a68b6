"""Which (spec, type, option) rows to cost when each option group keeps only its cheapest (within a cent).

A node group's compute is the option's `rank_key` times `rank_multiplier` (its nodes, the hours each
runs, the horizon), and every other line (scratch EBS, public IPv4, the dedicated fee) only adds cost.
So that product is a lower bound on a row's cost, computed for every row as arrays in a few
milliseconds, where costing every row took seconds (~700 types x ~30 options per spec). Per spec and
option, the row of least bound is costed exactly; its cost bounds the group's cheapest from above,
and only the rows whose lower bound comes within the cent of it can be kept by the prune
(instances.prune). Those rows, a few per group, are the ones costed; the prune then sees every row it
would keep, and the cheapest, so it keeps the same rows as over the whole cross product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from advisor.candidates.instances import rank_key, rank_multiplier

SLACK = 1e-6     # absolute room (dollars) for floating-point rounding between the bound and the costing
RELATIVE = 1e-9  # relative room: the bound multiplies in another order than cost_columns


@dataclass(frozen=True)
class RateIndex:
    """A region's rate table numbered for the bound: each type (`_t`, in instance_type order) and option
    (`_o`) a number, `rank` (rank_key by option and type; nan: not offered), `row` (the rate's row of
    `rates`) and, per option, its purchase option and term. Built once per region, OS and tenancy."""

    rates: pl.DataFrame
    types: pl.DataFrame    # instance_type, _t
    options: pl.DataFrame  # _o, purchase_option, term
    rank: np.ndarray       # [option, type]
    row: np.ndarray        # [option, type]: the row of `rates`, -1 where none


def rate_index(rates: pl.DataFrame) -> RateIndex:
    """The RateIndex of a rate table (frontiers._rates' columns)."""
    types = rates.select("instance_type").unique().sort("instance_type").with_row_index("_t")
    options = (rates.group_by("option_id").agg(pl.col("purchase_option", "term").first()).sort("option_id")
               .with_row_index("_o").cast({"_o": pl.Int64}))
    rates = rates.join(types, on="instance_type").join(options.select("option_id", "_o"), on="option_id")
    shape = (options.height, types.height)
    rank, row = np.full(shape, np.nan), np.full(shape, -1, np.int64)
    o, t = rates["_o"].to_numpy(), rates["_t"].to_numpy()
    rank[o, t] = rates.select(rank_key()).to_series().to_numpy()
    row[o, t] = np.arange(rates.height)
    return RateIndex(rates.drop("_t", "_o"), types, options.drop("option_id"), rank, row)


def near_cheapest(index: RateIndex, fit: pl.DataFrame, horizons: np.ndarray, allowed: np.ndarray,
                  cost: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """`cost` of the rows of rates x fit (joined on instance_type; fit has spec_id, count and hours per
    spec and type, `horizons` each spec's) that `allowed` (by spec and option number) keeps and that can
    be within a cent of their (spec_id, option_id) group's cheapest. `cost` adds `monthly_total` to every
    row, in order."""
    fit = fit.join(index.types, on="instance_type")
    fit_row = np.full((len(horizons), index.types.height), -1, np.int64)
    fit_row[fit["spec_id"].to_numpy(), fit["_t"].to_numpy()] = np.arange(fit.height)
    fit = fit.drop("_t")
    low = _lower_bounds(index, fit, horizons, fit_row, allowed)
    if not np.isfinite(low).any():  # no spec fits a type with an option it may use
        return cost(_rows(index, fit, np.zeros(0, np.int64), np.zeros(0, np.int64)))
    # Per spec and option: the row of least bound, costed, bounds the group's cheapest from above.
    best = np.argmin(low, axis=2)  # (spec, option)
    s, o = np.nonzero(np.isfinite(np.take_along_axis(low, best[:, :, None], axis=2)[:, :, 0]))
    t = best[s, o]
    probe = cost(_rows(index, fit, fit_row[s, t], index.row[o, t]))
    upper = np.full(low.shape[:2], np.inf)
    upper[s, o] = probe["monthly_total"].to_numpy()  # cost keeps the rows, in order
    reach = (upper + 0.01 + SLACK + RELATIVE * np.abs(upper)) / (1 - RELATIVE)
    reach[~np.isfinite(reach)] = -np.inf  # a group with no row: nothing to cost (and inf <= inf is true)
    s, o, t = np.nonzero(low <= reach[:, :, None])
    return cost(_rows(index, fit, fit_row[s, t], index.row[o, t]))


def _lower_bounds(index: RateIndex, fit: pl.DataFrame, horizons: np.ndarray, fit_row: np.ndarray,
                  ok: np.ndarray) -> np.ndarray:
    """low[spec, option, type]: rank_key x rank_multiplier, inf where the spec does not fit the type,
    the type lacks the option or the spec may not use the option (`ok`)."""
    n_specs, n_types = fit_row.shape
    n_options = index.options.height
    count = np.full((n_specs, n_types), np.nan)
    hours = np.full((n_specs, n_types), np.nan)
    placed = fit_row >= 0
    count[placed] = fit["count"].to_numpy()[fit_row[placed]]
    hours[placed] = fit["hours"].to_numpy()[fit_row[placed]]
    low = np.full((n_specs, n_options, n_types), np.inf)
    horizon = horizons.astype(np.float64)[:, None]
    for o, option, term in index.options.iter_rows():
        if ok[:, o].any():
            low[:, o, :] = index.rank[o][None, :] * rank_multiplier(option, term, count, hours, horizon)
    low[~np.isfinite(low) | ~ok[:, :, None]] = np.inf  # nan: no fit or no such rate
    return low


def _rows(index: RateIndex, fit: pl.DataFrame, fit_rows: np.ndarray, rate_rows: np.ndarray) -> pl.DataFrame:
    """The joined rows for the given (fit row, rate row) pairs."""
    return pl.concat([index.rates.drop("instance_type")[rate_rows], fit[fit_rows]], how="horizontal")
