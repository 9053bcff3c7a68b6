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

import numpy as np
import polars as pl

from advisor.candidates.instances import rank_key, rank_multiplier

SLACK = 1e-6     # absolute room (dollars) for floating-point rounding between the bound and the costing
RELATIVE = 1e-9  # relative room: the bound multiplies in another order than cost_columns


def near_cheapest(rates: pl.DataFrame, fit: pl.DataFrame, horizons: np.ndarray, allowed: pl.Expr,
                  cost: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """`cost` of the rows of rates x fit (joined on instance_type; fit has spec_id, count and hours per
    spec and type, `horizons` each spec's) that `allowed` keeps and that can be within a cent of their
    (spec_id, option_id) group's cheapest. `cost` adds `monthly_total` to every row, in order."""
    rates = rates.join(fit.select("instance_type").unique(), on="instance_type", how="semi")
    if rates.is_empty() or fit.is_empty():
        return cost(_rows(rates, fit, np.zeros(0, np.int64), np.zeros(0, np.int64)))
    types = rates.select("instance_type").unique().sort("instance_type").with_row_index("_t")
    options = rates.select("option_id").unique().with_row_index("_o").cast({"_o": pl.Int64})
    rates = rates.join(types, on="instance_type").join(options, on="option_id").with_columns(_rank=rank_key())
    fit = fit.join(types, on="instance_type")
    n_specs, n_types, n_options = len(horizons), types.height, options.height
    rate_row = np.full((n_types, n_options), -1, np.int64)
    rate_row[rates["_t"].to_numpy(), rates["_o"].to_numpy()] = np.arange(rates.height)
    fit_row = np.full((n_specs, n_types), -1, np.int64)
    fit_row[fit["spec_id"].to_numpy(), fit["_t"].to_numpy()] = np.arange(fit.height)
    low = _lower_bounds(rates, fit, horizons, rate_row, fit_row, allowed)
    # Per spec and option: the row of least bound, costed, bounds the group's cheapest from above.
    best = np.argmin(low, axis=1)  # (spec, option)
    s, o = np.nonzero(np.isfinite(np.take_along_axis(low, best[:, None, :], axis=1)[:, 0, :]))
    t = best[s, o]
    probe = cost(_rows(rates, fit, fit_row[s, t], rate_row[t, o]))
    upper = np.full((n_specs, n_options), np.inf)
    upper[s, o] = probe["monthly_total"].to_numpy()  # cost keeps the rows, in order
    reach = upper + 0.01 + SLACK + RELATIVE * np.abs(upper)
    s, t, o = np.nonzero(np.isfinite(low) & (low * (1 - RELATIVE) <= reach[:, None, :]))
    return cost(_rows(rates, fit, fit_row[s, t], rate_row[t, o]))


def _lower_bounds(rates: pl.DataFrame, fit: pl.DataFrame, horizons: np.ndarray, rate_row: np.ndarray,
                  fit_row: np.ndarray, allowed: pl.Expr) -> np.ndarray:
    """low[spec, type, option]: rank_key x rank_multiplier, inf where the spec does not fit the type,
    the type lacks the option or `allowed` refuses the spec that option."""
    n_specs, n_types = fit_row.shape
    n_options = rate_row.shape[1]
    count = np.full((n_specs, n_types), np.nan)
    hours = np.full((n_specs, n_types), np.nan)
    s, t = fit["spec_id"].to_numpy(), fit["_t"].to_numpy()
    count[s, t] = fit["count"].to_numpy()
    hours[s, t] = fit["hours"].to_numpy()
    rank = np.full((n_types, n_options), np.nan)
    rank[rates["_t"].to_numpy(), rates["_o"].to_numpy()] = rates["_rank"].to_numpy()
    options = rates.group_by("_o").agg(pl.col("purchase_option", "term").first()).sort("_o")
    permitted = (pl.DataFrame({"spec_id": np.repeat(np.arange(n_specs), n_options),
                               "_o": np.tile(np.arange(n_options), n_specs)})
                 .join(options, on="_o").filter(allowed))
    ok = np.zeros((n_specs, n_options), bool)
    ok[permitted["spec_id"].to_numpy(), permitted["_o"].to_numpy()] = True
    low = np.full((n_specs, n_types, n_options), np.inf)
    horizon = horizons.astype(np.float64)[:, None]
    for o, option, term in options.iter_rows():
        low[:, :, o] = rank[None, :, o] * rank_multiplier(option, term, count, hours, horizon)
    low[~np.isfinite(low) | (rate_row[None, :, :] < 0) | (fit_row[:, :, None] < 0) | ~ok[:, None, :]] = np.inf
    return low


def _rows(rates: pl.DataFrame, fit: pl.DataFrame, fit_rows: np.ndarray, rate_rows: np.ndarray) -> pl.DataFrame:
    """The joined rows for the given (fit row, rate row) pairs."""
    return pl.concat([rates.drop("instance_type", "_t", "_o", "_rank", strict=False)[rate_rows],
                      fit.drop("_t", strict=False)[fit_rows]], how="horizontal")
