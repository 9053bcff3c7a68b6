"""The catalog side of the vectorized EC2 answer: for each region, OS and tenancy (shared, or Dedicated
Instances with their own rates), the few instance types per purchase option that can be among the
cheapest for some replica size, indexed by (vCPU, memory) cell.

A workload's fitting types are those with vcpu >= its vcpu and memory >= its memory (plus arch and
generation); a third threshold, on the instance store, gives the types whose store holds its scratch
disk (they pay no scratch EBS, so their order is that key's too, and they get a cell of their own).
With the type grid's distinct vCPU counts V and memory sizes M, that set is exactly the types of the
cell (i, j) where V[i] is the first count >= the workload's vcpu and M[j] the first size >= its
memory. Within one purchase option, the instance cost's order over types does not
depend on the workload: `rank_key` (the hourly rate; for commitments the rate over a term plus the
upfront fee) scales by hours, horizon and count alike. So each cell keeps its first `TOP + 1` rows
per option in that order; the costs of the first `TOP` are computed exactly per workload, and the
next one bounds every row left out (extras such as scratch EBS or burstable surplus only add cost).
Where that bound does not clear the cent the frontier keeps (types of equal price), the workload is
tried again on a grid that keeps `WIDE_TOP + 1` rows, and then takes the per-shape path.

A row with at least `TOP + 1` rows before it in that order that are no smaller (vCPU, memory, store), of
the same architecture and no older generation can never be in any cell's first `TOP + 1` (each of
those is in every cell it is in): it is dropped once per catalog version, which keeps the cells small.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from advisor.candidates.frontiers import RATE_COLUMNS, TYPE_COLUMNS, OptionRules, _rates, option_lookup
from advisor.candidates.instances import offered, rank_key
from advisor.catalog.store import Catalog

TOP = 5          # rows per (cell, option) costed exactly; one more bounds the rest (3: the t-types' credit
# surplus leaves 2.4 % of the diverse estate uncertified, against 1 %; 5 was ~3 % faster over all, 4 between)
WIDE_TOP = 12    # the same, for the workloads TOP rows could not certify
ORDER = ["rank_key", "vcpu", "instance_type"]  # the fixed order of rows within an option
CELL = ["arch_v", "all_gens", "i", "j", "s"]  # s: instance store threshold (0: any store, none included)
CROSS_ROWS = 1_000_000     # cells x rows per comparison
MAX_CELL_ROWS = 1_500_000  # cell rows (indices) kept per grid before its memo starts over
OPTIONS = 1 << 16  # more purchase options than any grid or index has (the option number _o is below it)
MAX_GRIDS = 24  # grids kept: tasks come sorted by region and OS, so a grid is seldom needed once its group is done


@dataclass
class Grid:
    """One region and OS: the rows that can matter, the grid's thresholds, and computed cells."""

    region: str
    os: str
    tenancy: str  # shared or dedicated (Dedicated Instances: their own rates, no Spot)
    rows: pl.DataFrame
    depth: int  # rows per (cell, option) costed exactly (TOP or WIDE_TOP)
    vcpus: pl.Series
    memories: pl.Series
    stores: pl.Series  # distinct instance store sizes (GiB), the first 0
    cells: pl.DataFrame | None = None  # computed cells' rows: `_c` (the cell's id), `_r`, `pos`
    ids: dict[tuple, int] = field(default_factory=dict)  # a computed cell's id, by its CELL values
    _arrays: dict[tuple, tuple[np.ndarray, ...]] = field(default_factory=dict)

    def locate(self, workloads: pl.DataFrame) -> pl.DataFrame:
        """Add each workload's cell indices i, j (out of range: no type is large enough)."""
        return workloads.with_columns(
            i=self.vcpus.search_sorted(workloads["vcpu"], side="left").cast(pl.Int64),
            j=self.memories.search_sorted(workloads["memory_gib"], side="left").cast(pl.Int64),
            s_store=self.stores.search_sorted(workloads["scratch_gib"], side="left").cast(pl.Int64))

    def top(self, wanted: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The first depth + 1 rows per option of every cell in `wanted` (columns CELL): the cells' ids
        (CELL and `_c`), and their rows (`_c`, `_r`: the row's index in `rows`, `pos` 1..depth+1).
        Only indices are kept, so the memo stays small."""
        keys = {tuple(k) for k in wanted.select(CELL).unique().iter_rows()}  # a few hundred cells, not rows
        missing = sorted(keys - self.ids.keys())
        if missing:
            if self.cells is not None and self.cells.height > MAX_CELL_ROWS:
                self.cells, self.ids = None, {}
                missing = sorted(keys)
            first = len(self.ids)
            self.ids.update((k, first + n) for n, k in enumerate(missing))
            new = self._compute(pl.DataFrame(missing, schema=CELL, orient="row").with_columns(
                _c=pl.int_range(first, first + len(missing), dtype=pl.Int64)))
            self.cells = new if self.cells is None else pl.concat([self.cells, new])
        ids = pl.DataFrame([(*k, self.ids[k]) for k in sorted(keys)], schema=[*CELL, "_c"], orient="row")
        ids = ids.cast({"_c": pl.Int64, "i": pl.Int64, "j": pl.Int64, "s": pl.Int64})
        return ids, self.cells.filter(pl.col("_c").is_in(ids["_c"].implode()))

    def _compute(self, cells: pl.DataFrame) -> pl.DataFrame:
        """Per cell and option, the rows in ORDER whose vCPU, memory and store reach the cell's
        thresholds, first depth + 1 of them: one array comparison of cells x an option's rows."""
        parts = []
        for (arch_v, all_gens), group in cells.partition_by("arch_v", "all_gens", as_dict=True).items():
            r, v, m, st, starts = self._candidates(arch_v, all_gens)
            thresholds = [self.vcpus.to_numpy()[group["i"].to_numpy()], self.memories.to_numpy()[group["j"].to_numpy()],
                          self.stores.to_numpy()[group["s"].to_numpy()]]
            index, rows, pos = first_rows(thresholds, [v, m, st], starts, self.depth + 1, CROSS_ROWS)
            if len(index):
                parts.append(pl.DataFrame({"_c": group["_c"].to_numpy()[index],
                                           "_r": pl.Series(r[rows], dtype=pl.UInt32),
                                           "pos": pl.Series(pos, dtype=pl.Int64)}))
        if not parts:
            return pl.DataFrame(schema={"_c": pl.Int64, "_r": pl.UInt32, "pos": pl.Int64})
        return pl.concat(parts)

    def _candidates(self, arch_v: str, all_gens: bool) -> tuple[np.ndarray, ...]:
        """The rows a cell of this architecture and generation setting draws from, as arrays in the
        rows' order (option, then ORDER), and where each option's rows start (and the last ends)."""
        key = (arch_v, all_gens)
        if key not in self._arrays:
            rows = self.rows
            if arch_v != "any":
                rows = rows.filter(pl.col("arch") == arch_v)
            if not all_gens:
                rows = rows.filter(pl.col("current_generation"))
            o = rows["_o"].to_numpy()
            starts = np.concatenate([[0], np.flatnonzero(np.diff(o)) + 1, [len(o)]]) if len(o) else np.array([0])
            self._arrays[key] = (rows["_r"].to_numpy(), rows["vcpu"].cast(pl.Float64).to_numpy(),
                                 rows["memory_gib"].cast(pl.Float64).to_numpy(),
                                 rows["instance_store_gib"].cast(pl.Float64).to_numpy(), starts)
        return self._arrays[key]


def first_rows(thresholds: list[np.ndarray], columns: list[np.ndarray], starts: np.ndarray, first: int,
               cross_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell (the i-th entry of every threshold array) and option (rows starts[o]..starts[o + 1] of the
    columns, in the option's order), its first `first` rows whose every column reaches the cell's
    threshold: (cell, row, position 1..first) arrays, by option, then cell, then row.

    Options that order the same types alike (most: commitments are ratios of on-demand) have equal
    columns over their rows, so their cells' positions are computed once and reused."""
    cells_out, rows_out, pos_out = [], [], []
    seen: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for a, b in itertools.pairwise(starts):
        key = b"".join(c[a:b].tobytes() for c in columns)
        if key not in seen:
            step = max(1, cross_rows // max(b - a, 1))  # cells per comparison: bounds its memory
            found = []
            for c in range(0, len(thresholds[0]), step):
                fits = np.logical_and.reduce([col[a:b] >= t[c:c + step, None] for col, t in zip(columns, thresholds,
                                                                                                strict=True)])
                pos = np.cumsum(fits, axis=1)
                ci, ri = np.nonzero(fits & (pos <= first))
                found.append((ci + c, ri, pos[ci, ri]))
            seen[key] = tuple(np.concatenate(x) if x else np.zeros(0, np.int64) for x in zip(*found, strict=True))
        ci, ri, pos = seen[key]
        cells_out.append(ci)
        rows_out.append(ri + a)
        pos_out.append(pos)
    if not cells_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(cells_out), np.concatenate(rows_out), np.concatenate(pos_out)


_GRIDS: OrderedDict[tuple[str, str, str, int, str], Grid] = OrderedDict()


def grid(catalog: Catalog, region: str, os: str, top: int = TOP, tenancy: str = "shared") -> Grid:
    """The grid of a region, OS and tenancy (no GPUs), built once per catalog version."""
    key = (catalog.version, region, os, top, tenancy)
    if key not in _GRIDS:
        _GRIDS[key] = _build(catalog, region, os, top, tenancy)
        while len(_GRIDS) > MAX_GRIDS:
            _GRIDS.popitem(last=False)
    _GRIDS.move_to_end(key)
    return _GRIDS[key]


def _build(catalog: Catalog, region: str, os: str, top: int, tenancy: str) -> Grid:
    types = (offered(catalog, region, os).filter(pl.col("usd_per_hour").is_not_null() & (pl.col("gpus") == 0))
             .select(TYPE_COLUMNS).with_columns(pl.col("current_generation").fill_null(True))
             .sort("instance_type").with_row_index("_t"))
    rows = (_rates(catalog, region, os, tenancy).select(RATE_COLUMNS).join(types, on="instance_type", how="inner")
            .with_columns(rank_key=rank_key()))
    kept = undominated_rows(rows, _covers(types), top)  # in ORDER (`_t` stands for the type's name)
    stores = pl.concat([pl.Series([0.0]), types["instance_store_gib"].cast(pl.Float64)]).unique().sort()
    kept = kept.drop("_t").with_row_index("_r").with_columns(_o=pl.col("option_id").rank("dense").cast(pl.Int64))
    return Grid(region, os, tenancy, kept, top, types["vcpu"].unique().sort().cast(pl.Float64),
                types["memory_gib"].unique().sort().cast(pl.Float64), stores)


def _covers(types: pl.DataFrame) -> np.ndarray:
    """covers[d, t]: type d is in every cell and variant type t is in (no smaller in vCPU, memory and
    instance store, same architecture, not an older generation)."""
    vcpu, mem = types["vcpu"].to_numpy(), types["memory_gib"].to_numpy()
    store = types["instance_store_gib"].to_numpy()
    arch = types["arch"].cast(pl.Categorical).to_physical().to_numpy()
    current = types["current_generation"].to_numpy()
    return ((vcpu[:, None] >= vcpu[None, :]) & (mem[:, None] >= mem[None, :]) & (store[:, None] >= store[None, :])
            & (arch[:, None] == arch[None, :]) & (current[:, None] | ~current[None, :]))


def allowed_rows(rows: pl.DataFrame, table: pl.DataFrame, rules: list[OptionRules]) -> pl.DataFrame:
    """The rows (with `rules`, a workload's OptionRules by number, and `_o`, an option's number in `table`,
    a grid's or node index's rows) whose option their workload's rules allow."""
    allowed = option_lookup(rules, table.group_by("_o").agg(pl.col("purchase_option").first()))
    return rows.filter(pl.Series(allowed[rows["rules"].to_numpy(), rows["_o"].to_numpy()]))


def row_key() -> pl.Expr:
    """One integer per workload and grid or index row (`idx`, `_r`)."""
    return pl.col("idx") * (1 << 32) + pl.col("_r").cast(pl.Int64)


def undominated_rows(rows: pl.DataFrame, covers: np.ndarray, top: int) -> pl.DataFrame:
    """The rows `_undominated` keeps in their option, sorted by option_id, then each option's order
    (rank_key, vcpu, `_t`: the type's index in `covers`). One mask, computed once per distinct order of
    the types (options often order them alike: commitments are ratios of on-demand); the order is found
    on the keys alone and only the kept rows are gathered."""
    options = rows.select("option_id").unique().sort("option_id").with_row_index("_option")
    keys = rows.select("option_id", "rank_key", "vcpu", "_t").join(options, on="option_id", maintain_order="left")
    order = keys.select(pl.arg_sort_by("_option", "rank_key", "vcpu", "_t")).to_series().to_numpy()
    types, runs = keys["_t"].to_numpy()[order], keys["_option"].to_numpy()[order]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(runs)) + 1, [len(types)]]) if len(types) else np.array([0])
    keep = np.zeros(len(types), dtype=bool)
    masks: dict[bytes, np.ndarray] = {}
    for a, b in itertools.pairwise(bounds):
        key = types[a:b].tobytes()
        if key not in masks:
            masks[key] = _undominated(types[a:b], covers, top)
        keep[a:b] = masks[key]
    return rows[order[keep]]


def _undominated(order: np.ndarray, covers: np.ndarray, top: int) -> np.ndarray:
    """Rows of one option (type indices, in ORDER) with at most `top` rows before them whose type covers
    theirs: the others have top + 1 earlier rows that fit wherever they fit, so are never in a cell's
    first top + 1."""
    sub = covers.take(order, axis=0).take(order, axis=1)
    sub &= _earlier(len(order))
    return np.add.reduce(sub, axis=0, dtype=np.int32) <= top


_EARLIER: dict[int, np.ndarray] = {}


def _earlier(n: int) -> np.ndarray:
    """earlier[i, j]: row i comes before row j (the strict upper triangle), kept per size."""
    if n not in _EARLIER:
        if len(_EARLIER) > 64:
            _EARLIER.clear()
        _EARLIER[n] = np.triu(np.ones((n, n), dtype=bool), 1)
    return _EARLIER[n]
