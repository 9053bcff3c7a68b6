"""Which of a workload's purchase options to cost: those whose rows the estate's choice can read.

The choice reads, per workload and service, the rows costing no more than the service's second
cheapest and each baseline option's cheapest (choice.leading). Every row of an option costs at least
the option's floor: the cost, less the lines that only some types pay, of the first row of each of the
workload's cells (the callers say why each row of a cell costs no less). So the baseline options and
the PROBES options of least floor are costed first; the larger of the two least option minimums among
them is the cost of a candidate, so the service's second cheapest costs no more. The other options
are costed only where their floor reaches that, with room for the lines' rounding (each candidate
line is rounded apiece). An option left out has no row the choice reads. Most rows of a cell are of
such options (~85 % of the node rows of the diverse estate), and their costing, frontier and lines
were most of the work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from advisor.candidates.frontiers import with_extras
from advisor.candidates.instances import cost_columns
from advisor.catalog.store import Catalog
from advisor.estate.choice import BASELINE_OPTIONS
from advisor.estate.grid import OPTIONS

PROBES = 2  # options of least bound costed first (with the baseline ones)
ROUNDING = 0.07  # dollars: a candidate's rounded lines (at most 5 rounded apiece, then the sum) are within
# 0.03 of its unrounded cost, so a row whose bound is past the second cheapest's cost by more is past it
RELATIVE = 1e-9  # relative room: the bound multiplies in another order than cost_columns


def option_key() -> pl.Expr:
    """One integer per workload and option (`idx`, `_o`)."""
    return pl.col("idx") * OPTIONS + pl.col("_o")


def option_bounds(first: pl.DataFrame, ebs: str, catalog: Catalog, *, fee_per_row: bool) -> pl.DataFrame:
    """Per workload and option (`_key`): its floor, the least over `first` (each of the workload's cells'
    first row per option, with cost_columns' and with_extras' inputs and `src`) of the row's compute,
    public IPv4 (and dedicated fee: `fee_per_row`), plus the scratch EBS (column `ebs`) in an all-types
    cell (src 0); and whether the option is a baseline one."""
    rows = cost_columns(first).with_columns(
        monthly_total=pl.col("compute_monthly") + pl.when(pl.col("src") == 0).then(pl.col(ebs)).otherwise(0.0))
    floor = pl.col("monthly_total")
    return with_extras(catalog, rows, fee_per_row=fee_per_row).group_by(option_key().alias("_key")).agg(
        pl.col("idx").first(), low=(floor * (1 - RELATIVE) - RELATIVE * floor.abs()).min(),
        base=pl.col("purchase_option").first().is_in(BASELINE_OPTIONS))


def cost_reachable(rows: pl.DataFrame, bounds: pl.DataFrame, cost: Callable[[pl.DataFrame], pl.DataFrame],
                   exact: pl.Expr) -> pl.DataFrame:
    """`cost` (adds `monthly_total`, keeps the rows and their order) of the rows (with idx and _o) of the
    options that can hold a row the choice reads: the probes first, then the options whose bound
    reaches the second least option minimum among the probes' `exact` rows (those a frontier keeps
    from). A workload with fewer than two probed options with rows, or an option without a bound,
    has every option costed."""
    key = option_key()
    probe = pl.col("base") | pl.col("low").is_null() | (pl.col("low").rank("ordinal").over("idx") <= PROBES)
    bounds = bounds.with_columns(_probe=probe)
    probed = cost(_of_options(rows, bounds.filter("_probe")["_key"]))
    minimums = probed.filter(exact).group_by(key.alias("_key")).agg(pl.col("idx").first(),
                                                                     low=pl.col("monthly_total").min())
    reach = minimums.group_by("idx").agg(
        reach=pl.when(pl.len() >= 2).then(pl.col("low").bottom_k(2).max()).otherwise(np.inf))
    later = (bounds.filter(~pl.col("_probe")).join(reach, on="idx", how="left")
             .filter(pl.col("reach").is_null() | (pl.col("low") <= pl.col("reach") + ROUNDING)))
    if later.is_empty():
        return probed
    return pl.concat([probed, cost(_of_options(rows, later["_key"]))], how="vertical_relaxed")


def _of_options(rows: pl.DataFrame, keys: pl.Series) -> pl.DataFrame:
    """The rows (idx, _o) of the options in `keys` (option_key values), by a table of workloads x options
    read per row: filtering millions of cell rows by a hash of their keys took ~0.2 s a call."""
    idx, option = rows["idx"].to_numpy(), rows["_o"].to_numpy()
    if not len(idx):
        return rows
    width = int(option.max()) + 1
    wanted = keys.to_numpy()
    table = np.zeros((int(idx.max()) + 1) * width, dtype=bool)
    inside = (wanted // OPTIONS <= idx.max()) & (wanted % OPTIONS < width)  # keys of no row are no rows
    table[(wanted[inside] // OPTIONS) * width + wanted[inside] % OPTIONS] = True
    return rows.filter(pl.Series(table[idx * width + option]))
