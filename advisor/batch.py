"""The CSV path: read, validate per row, group identical shapes, solve each shape once, write back in order.

Rows are read as text (so a bad value can be reported as it was written), checked with vectorized
rules (types, ids), and grouped by their requirement shape: every contract field except `id`.
Each distinct shape is validated by the same `Workload` model and answered once, however many rows
share it: by the vectorized path (advisor.estate) where it covers the shape, which gives recommend()'s
answer to the cent, else by the same `recommend()` as the CLI and the API; the answer is joined back
to every row of that shape, in input order. Bad rows get `status=error` and an `error` that names
the field and the value; every other row is still answered. Work proceeds in chunks, so memory
stays bounded on large files.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import ValidationError

from advisor import estate
from advisor.batch_io import cell_text, no_placement, structural_problem
from advisor.catalog.store import Catalog, load_catalog
from advisor.errors import AdvisorError, InputError
from advisor.recommend import prefetch, recommend
from advisor.workload_io import check_region, describe, field_errors
from models.recommendation import Recommendation
from models.workload import Workload

OUTPUT_COLUMNS = [
    "status", "error", "service", "instance_type", "count", "purchase_option", "term", "payment", "tenancy",
    "monthly_usd", "upfront_usd", "baseline_monthly_usd", "savings_usd", "interruption_risk",
    "alternative_service", "alternative_monthly_usd", "catalog_version",
]
OUTPUT_SCHEMA = {
    "status": pl.String, "error": pl.String, "service": pl.String, "instance_type": pl.String, "count": pl.Int64,
    "purchase_option": pl.String, "term": pl.String, "payment": pl.String, "tenancy": pl.String,
    "monthly_usd": pl.Float64, "upfront_usd": pl.Float64, "baseline_monthly_usd": pl.Float64,
    "savings_usd": pl.Float64, "interruption_risk": pl.String, "alternative_service": pl.String,
    "alternative_monthly_usd": pl.Float64, "catalog_version": pl.String,
}
CONTRACT_FIELDS = list(Workload.model_fields)
SHAPE_FIELDS = [f for f in CONTRACT_FIELDS if f != "id"]
NUMBER_FIELDS = ["vcpu", "memory_gib", "hours_per_month", "cpu_utilization", "requests_per_month",
                 "avg_duration_ms", "jobs_per_month", "job_duration_minutes", "deadline_hours", "storage_gib",
                 "scratch_gib", "egress_gib_month", "max_monthly_usd", "max_upfront_usd"]
INTEGER_FIELDS = ["gpus", "replicas", "peak_replicas", "horizon_months", "function_memory_mb"]
CHUNK_ROWS = 100_000
PARALLEL_MIN_SHAPES = 64  # fewer new shapes than this are answered in-process
PARALLEL_MIN_VECTOR = 2_000  # fewer new shapes than this go through the vectorized path in-process
VECTOR_TASK_SHAPES = 8_192   # shapes per vectorized task on the workers (bounds a worker's memory)
PREFETCH_SHAPES = 512     # shapes whose frontiers are computed together (bounds the memo's working set)
VECTOR_MIN_SHAPES = 16    # fewer covered new shapes of a region and OS: the per-shape path (no index to build)
MAX_ANSWERS = 50_000      # answered shapes remembered across chunks (beyond: forgotten, so memory stays bounded;
                          # an estate of repeated shapes has a few thousand, one of distinct rows gains nothing)
ROW = "_row"  # 0-based data row index; the CSV line is ROW + 2 (line 1 is the header)
FIRST = "_first"  # the 0-based data row where the row's id first appears


@dataclass
class BatchResult:
    """One output row per input row, in input order (input columns, then OUTPUT_COLUMNS), and a summary."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluator:
    """Evaluates chunks of text rows; remembers answered shapes and seen ids across chunks.

    With `workers` > 1, a chunk's new shapes are answered in that many processes (each loads the
    same catalog version), in order, so the output is identical to a single-process run.
    """

    catalog: Catalog
    include_free_tier: bool = False
    workers: int = 1
    vectorized: bool = True  # False: every shape by the per-shape path (the old path, kept as a baseline)
    answers: dict[tuple, tuple] = field(default_factory=dict)  # shape values (in `columns`) -> as_row(answer)
    columns: tuple[str, ...] = ()  # the shape columns the remembered answers' keys are in
    seen_ids: SeenIds = field(default_factory=lambda: SeenIds())
    summary: Summary = field(default_factory=lambda: Summary())
    _pool: Any = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _executor(self) -> Any:
        """The worker processes (spawned once, each loading the same catalog version)."""
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            from advisor.workers import spawn_context

            self._pool = ProcessPoolExecutor(self.workers, mp_context=spawn_context(self.workers),
                                             initializer=_worker_init, initargs=(self.include_free_tier,))
        return self._pool

    def _answer_vectorized(self, keys: list[tuple]) -> dict[tuple, tuple]:
        """The vectorized path's answers; with workers, in tasks of a few region/OS groups each. The
        answers are those of one process: a shape's answer does not depend on which shapes are answered
        with it (a shape the path leaves out is answered per shape, to the same answer)."""
        if self.workers <= 1 or len(keys) < PARALLEL_MIN_VECTOR:
            got = answer_vectorized(keys, self.catalog, self.include_free_tier, self.columns)
            return {key: as_row(answer) for key, answer in got.items()}
        answers: dict[tuple, tuple] = {}
        parts = split_by_group(keys, balanced_size(len(keys), self.workers), self.columns)
        for part, got in zip(parts, self._executor().map(_worker_vectorized, parts, [self.columns] * len(parts)),
                             strict=True):
            answers.update((part[i], row) for i, row in got)
        return answers

    def _answer_all(self, keys: list[tuple]) -> None:
        new = list(dict.fromkeys(k for k in keys if k not in self.answers))
        if new and len(self.answers) + len(new) > MAX_ANSWERS:  # bounded memory where every row differs
            kept = {k: self.answers[k] for k in dict.fromkeys(keys) if k in self.answers}  # this chunk's own
            self.answers.clear()
            self.answers.update(kept)
        if self.vectorized and new:
            self.answers.update(self._answer_vectorized(new))
            new = [k for k in new if k not in self.answers]
        if self.workers > 1 and len(new) >= PARALLEL_MIN_SHAPES:
            size = -(-len(new) // (self.workers * 4))
            batches = split_by_group(new, size, self.columns)  # few region/OS groups a batch: big bulk chunks
            answered = self._executor().map(_worker_answer, batches, [self.columns] * len(batches))
            for batch, answers in zip(batches, answered, strict=True):
                self.answers.update(zip(batch, answers, strict=True))
        else:
            answers = answer_shapes(new, self.catalog, self.include_free_tier, self.columns)
            self.answers.update(zip(new, map(as_row, answers), strict=True))

    def evaluate(self, chunk: pl.DataFrame, first_row: int) -> pl.DataFrame:
        """The chunk's input columns followed by OUTPUT_COLUMNS, one row per input row, same order."""
        reserved = sorted({ROW, "_error", "_k", FIRST} & set(chunk.columns))
        if reserved:  # the evaluator's own working columns: an input column of that name would be overwritten
            raise InputError(f"column {reserved[0]!r} is a name the evaluator uses itself; rename it",
                             field=reserved[0])
        present = [c for c in CONTRACT_FIELDS if c in chunk.columns]
        shape_cols = ["_k", *[c for c in SHAPE_FIELDS if c in present]]
        frame = (chunk.with_row_index(ROW, offset=first_row)
                 .with_columns([_blank_to_null(c) for c in present]).with_columns(_k=pl.lit(1)))
        if "id" in frame.columns:
            frame = self.seen_ids.with_first_rows(frame)
        frame = frame.with_columns(_error=_id_errors(frame, _type_errors(present)))
        unique = frame.filter(pl.col("_error").is_null()).select(shape_cols).unique(maintain_order=True)
        if tuple(shape_cols[1:]) != self.columns:  # keys are values in column order: remembered ones of
            self.answers.clear()                   # other columns would not mean the same
            self.columns = tuple(shape_cols[1:])
        keys = [values[1:] for values in unique.iter_rows()]
        self._answer_all(keys)
        inner = {name: f"__out_{name}" for name in OUTPUT_SCHEMA}  # never collides with input columns
        answers = pl.DataFrame([self.answers[k] for k in keys], schema=OUTPUT_SCHEMA, orient="row").rename(inner)
        answered = pl.concat([unique, answers], how="horizontal")
        joined = frame.select(ROW, "_error", *shape_cols).join(answered, on=shape_cols, how="left",
                                                                nulls_equal=True).sort(ROW)
        failed = pl.col("_error").is_not_null()
        out = joined.select(
            pl.when(failed).then(pl.lit("error")).otherwise(pl.col(inner["status"])).alias("status"),
            pl.coalesce("_error", inner["error"]).alias("error"),
            *[pl.when(failed).then(pl.lit(None, dtype)).otherwise(pl.col(inner[name])).alias(name)
              for name, dtype in OUTPUT_SCHEMA.items() if name not in ("status", "error")],
        )
        result = pl.concat([chunk, out.select(OUTPUT_COLUMNS).rename(output_names(chunk.columns))], how="horizontal")
        self.summary.add(out, chunk["id"] if "id" in chunk.columns else None)
        release_free_memory()
        return result



def as_row(answer: dict[str, Any]) -> tuple:
    """An answer's output columns in OUTPUT_SCHEMA order (None where it has none): a tuple is a fifth of
    the dict's memory, and an estate of distinct rows remembers 100,000 of them."""
    return tuple(answer.get(name) for name in OUTPUT_SCHEMA)


def output_names(input_columns: list[str]) -> dict[str, str]:
    """Output column names: an output column whose name the input already uses (`tenancy`, the
    required tenancy) is written as `chosen_<name>`, so no input column is lost or overwritten."""
    return {c: f"chosen_{c}" if c in input_columns else c for c in OUTPUT_COLUMNS}


def shape_fields(key: tuple, columns: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A shape's given fields: its key is (name, value) pairs, or (with `columns`) its values in that
    order, the lighter form an estate of distinct rows is remembered in. Blank fields are left out."""
    pairs = key if columns is None else zip(columns, key, strict=True)
    return {k: v for k, v in pairs if v is not None}


def answer_vectorized(keys: list[tuple], catalog: Catalog, include_free_tier: bool,
                      columns: tuple[str, ...] | None = None) -> dict[tuple, dict[str, Any]]:
    """Answers of the shapes the vectorized path covers (advisor.estate), all at once; the shapes it
    does not cover or cannot answer exactly are left out, for `answer_shapes` (keys: see shape_fields)."""
    covered: dict[int, Workload] = {}
    answers: dict[tuple, dict[str, Any]] = {}
    regions = set(catalog.regions())
    for i, key in enumerate(keys):
        try:
            w = Workload.model_validate({"id": "shape", **shape_fields(key, columns)})
        except ValidationError:
            continue  # answer_shapes says what is wrong
        if w.region not in regions:
            continue
        if (reasons := estate.unplaceable(w)) is not None:  # no service passes the hard rules
            answers[key] = {"status": "error", "error": no_placement(reasons), "catalog_version": catalog.version,
                            "baseline_monthly_usd": None, "savings_usd": None}
        elif estate.covered(w):
            covered[i] = w
    groups = Counter((w.region, w.os) for w in covered.values())  # each region and OS builds an index
    covered = {i: w for i, w in covered.items() if groups[(w.region, w.os)] >= VECTOR_MIN_SHAPES}
    if not covered:
        return answers
    got = estate.answer(covered, catalog, include_free_tier)
    if got.frame.is_empty():
        return answers
    rows = got.frame.select("idx", *OUTPUT_SCHEMA).to_dicts()
    return answers | {keys[row.pop("idx")]: row for row in rows}


def balanced_size(shapes: int, workers: int) -> int:
    """Shapes per vectorized task: at most VECTOR_TASK_SHAPES, in a number of tasks that is a multiple of
    the workers, so none waits on a last small task (10,000 shapes in pieces of 8,192 kept one of 2
    workers busy for four fifths of the time)."""
    tasks = -(-shapes // VECTOR_TASK_SHAPES)
    tasks = -(-tasks // workers) * workers
    return max(1, -(-shapes // tasks))


def split_by_group(keys: list[tuple], size: int, columns: tuple[str, ...] | None = None) -> list[list[tuple]]:
    """The shapes sorted by region and OS (first-seen order within each), in pieces of at most `size`: a
    piece spans few region/OS groups, so few grids, and bounds what one task holds."""
    groups: dict[tuple, list[tuple]] = {}
    for key in keys:
        fields = shape_fields(key, columns)
        groups.setdefault((fields.get("region"), fields.get("os")), []).append(key)
    ordered = [key for group in groups.values() for key in group]
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def answer_shapes(keys: list[tuple], catalog: Catalog, include_free_tier: bool,
                  columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Validate each shape with the Workload model and answer it with recommend() (or say what is wrong).

    The valid shapes' instance and node frontiers are computed in bulk first (`prefetch`)."""
    workloads: list[Workload | dict[str, Any]] = []
    regions = catalog.regions()
    for key in keys:
        try:
            workload = Workload.model_validate({"id": "shape", **shape_fields(key, columns)})
            check_region(workload, regions)
            workloads.append(workload)
        except ValidationError as exc:
            workloads.append({"status": "error", "error": describe(field_errors(exc))})
        except InputError as exc:
            workloads.append({"status": "error", "error": str(exc)})
    # Frontiers are computed in bulk per region, OS and tenancy: a prefetch batch of one group is one chunk.
    valid = sorted((w for w in workloads if isinstance(w, Workload)), key=lambda w: (w.region, w.os.value))
    for start in range(0, len(valid), PREFETCH_SHAPES):
        prefetch(valid[start:start + PREFETCH_SHAPES], catalog=catalog, include_free_tier=include_free_tier)
    return [_answer(w, catalog, include_free_tier) if isinstance(w, Workload) else w for w in workloads]


def _answer(w: Workload, catalog: Catalog, include_free_tier: bool) -> dict[str, Any]:
    try:
        return answer_row(recommend(w, catalog=catalog, include_free_tier=include_free_tier))
    except AdvisorError as exc:  # a fact this row needs is missing: this row's error, not the batch's
        return {"status": "error", "error": str(exc)}


_WORKER: dict[str, Any] = {}


def _worker_init(include_free_tier: bool) -> None:
    _WORKER.update(catalog=load_catalog(), include_free_tier=include_free_tier)


def _worker_vectorized(keys: list[tuple], columns: tuple[str, ...]) -> list[tuple[int, tuple]]:
    """The answered keys by their position in `keys`: sending the keys back made the main process hold a
    second copy of every shape (~120 MB for 100k distinct rows)."""
    try:
        got = answer_vectorized(keys, _WORKER["catalog"], _WORKER["include_free_tier"], columns)
        return [(i, as_row(got[key])) for i, key in enumerate(keys) if key in got]
    finally:
        release_free_memory()


def _worker_answer(keys: list[tuple], columns: tuple[str, ...]) -> list[tuple]:
    try:
        return [as_row(a) for a in answer_shapes(keys, _WORKER["catalog"], _WORKER["include_free_tier"], columns)]
    finally:
        release_free_memory()


def release_free_memory() -> None:
    """Hand the memory a batch freed back to the system (glibc keeps it in its arenas otherwise: about
    300 MiB a worker after 45k distinct shapes), so the processes of a long evaluation stay small."""
    if (libc := _libc()) is not None:
        with contextlib.suppress(OSError, AttributeError):
            libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    """The C library, found once: ctypes.util.find_library runs ldconfig in a forked child, which for a
    moment doubled a 1 GB process's resident memory in the process tree (and took its time) every chunk."""
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library("c")
    with contextlib.suppress(OSError):
        return ctypes.CDLL(path) if path is not None else None
    return None


def answer_row(rec: Recommendation) -> dict[str, Any]:
    """The output columns for one recommendation (the contract's batch columns)."""
    c = rec.choice
    row: dict[str, Any] = {"status": "ok", "error": None, "catalog_version": rec.catalog.version,
                           "baseline_monthly_usd": rec.baseline.monthly_usd,
                           "savings_usd": rec.savings_vs_baseline_usd}
    if c is None:
        caps = sorted({r.reason for r in rec.rejected if r.reason.startswith("over_")})
        reasons = caps or sorted({r.reason for r in rec.rejected if r.option is None})
        row.update(status="error", error=no_placement(reasons))
        return row
    row.update(service=c.service, instance_type=c.instance_type, count=c.count, purchase_option=c.purchase_option,
               term=c.term, payment=c.payment, tenancy=c.tenancy, monthly_usd=c.monthly_usd,
               upfront_usd=c.upfront_usd, interruption_risk=c.interruption_risk)
    other = next((a for a in rec.alternatives if a.service != c.service), rec.alternatives[0] if rec.alternatives
                 else None)
    if other is not None:
        row.update(alternative_service=other.service, alternative_monthly_usd=other.monthly_usd)
    return row


def _blank_to_null(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def _type_errors(present: list[str]) -> pl.Expr:
    """A per-row message for the first field whose text is not a number (where a number is needed)."""
    checks = []
    for name in [f for f in NUMBER_FIELDS + INTEGER_FIELDS if f in present]:
        value = pl.col(name).cast(pl.Float64, strict=False)
        bad = pl.col(name).is_not_null() & (value.is_null() | value.is_nan() | value.is_infinite())
        message = pl.format(f"{name}: not a number (got '{{}}')", pl.col(name).str.slice(0, 60))
        if name in INTEGER_FIELDS:
            fractional = value.is_not_null() & (value != value.floor())
            message = pl.when(bad).then(message).otherwise(
                pl.format(f"{name}: must be a whole number (got '{{}}')", pl.col(name).str.slice(0, 60)))
            bad = bad | fractional
        checks.append(pl.when(bad).then(message))
    return pl.coalesce(checks) if checks else pl.lit(None, pl.String)


class SeenIds:
    """The first data row of every id read so far, as a frame: a duplicate id names its first line even
    chunks later. A dict of ids held ~48 MB of the main process per 200k ids; this frame, 10 MB at 600k."""

    def __init__(self, first_rows: dict[str, int] | None = None) -> None:
        first_rows = first_rows or {}
        self.frame = pl.DataFrame({"id": list(first_rows), FIRST: list(first_rows.values())},
                                  schema={"id": pl.String, FIRST: pl.Int64})

    def with_first_rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (ROW, id) with FIRST, the first row of its id in all rows read (null for a null id);
        remembers this chunk's new ids."""
        here = (frame.select(ROW, "id").filter(pl.col("id").is_not_null())
                .group_by("id", maintain_order=True).agg(pl.col(ROW).min().cast(pl.Int64).alias(FIRST)))
        new = here.join(self.frame, on="id", how="anti")
        if not new.is_empty():
            self.frame = pl.concat([self.frame, new]).rechunk()
        return frame.join(self.frame, on="id", how="left", maintain_order="left")


def _id_errors(frame: pl.DataFrame, errors: pl.Expr) -> pl.Expr:
    """Empty ids and duplicate ids (the second and later rows name the line of the first: FIRST)."""
    if "id" not in frame.columns:
        return pl.coalesce(pl.lit("id: missing column (every row needs an id)"), errors)
    first_line = pl.col(FIRST) + 2
    dup = pl.col("id").is_not_null() & (pl.col(ROW) != pl.col(FIRST))
    too_long = pl.col("id").str.len_chars() > 200
    return pl.coalesce(
        pl.when(pl.col("id").is_null()).then(pl.lit("id: empty (every row needs an id)")),
        pl.when(too_long).then(pl.lit("id: longer than 200 characters")),
        pl.when(dup).then(pl.format("id: duplicate of line {} (got '{}')", first_line, pl.col("id").str.slice(0, 60))),
        errors,
    )


MAX_LISTED = 100  # ids of rows without a baseline listed in the summary


@dataclass
class Summary:
    """Totals over every row: rows, errors by field, count and cost per service, total vs baseline."""

    rows: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    services: dict[str, dict[str, float]] = field(default_factory=dict)
    purchase_options: dict[str, int] = field(default_factory=dict)
    monthly_usd: float = 0.0
    baseline_monthly_usd: float = 0.0
    comparable_monthly_usd: float = 0.0  # cost of the rows that have a baseline
    rows_compared: int = 0               # answered rows with a baseline: the savings compare these only
    without_baseline: list[str] = field(default_factory=list)  # answered rows with no baseline (first ids)
    rows_without_baseline: int = 0
    catalog_version: str | None = None

    def add(self, result: pl.DataFrame, ids: pl.Series | None = None) -> None:
        """Count one output chunk (the OUTPUT_COLUMNS, under their own names; `ids`: the rows' ids)."""
        if ids is not None and ids.len() == result.height:
            result = result.with_columns(id=ids.cast(pl.String))
        self.rows += result.height
        ok = result.filter(pl.col("status") == "ok")
        self.ok += ok.height
        bad = result.filter(pl.col("status") == "error").select(
            reason=pl.col("error").str.extract(r"^([a-z_]+):", 1).fill_null(pl.col("error").str.replace(r" \(.*$", "")))
        for reason, n in bad.group_by("reason").len().iter_rows():
            self.errors[reason] = self.errors.get(reason, 0) + n
        per = ok.group_by("service").agg(rows=pl.len(), monthly_usd=pl.col("monthly_usd").sum())
        for service, n, cost in per.iter_rows():
            entry = self.services.setdefault(service, {"rows": 0, "monthly_usd": 0.0})
            entry["rows"] += n
            entry["monthly_usd"] += cost
        for option, n in ok.group_by("purchase_option").len().iter_rows():
            self.purchase_options[option] = self.purchase_options.get(option, 0) + n
        self.monthly_usd += ok["monthly_usd"].sum() or 0.0
        with_base = ok.filter(pl.col("baseline_monthly_usd").is_not_null())
        self.baseline_monthly_usd += with_base["baseline_monthly_usd"].sum() or 0.0
        self.comparable_monthly_usd += with_base["monthly_usd"].sum() or 0.0
        self.rows_compared += with_base.height
        no_base = ok.filter(pl.col("baseline_monthly_usd").is_null())
        if "id" in no_base.columns and len(self.without_baseline) < MAX_LISTED:
            self.without_baseline += [str(x) for x in no_base["id"].head(MAX_LISTED - len(self.without_baseline))]
        self.rows_without_baseline += no_base.height
        if ok.height and self.catalog_version is None:
            self.catalog_version = ok["catalog_version"][0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "ok": self.ok, "errors": self.rows - self.ok,
            "errors_by_reason": dict(sorted(self.errors.items())),
            "services": {k: {"rows": int(v["rows"]), "monthly_usd": round(v["monthly_usd"], 2)}
                         for k, v in sorted(self.services.items())},
            "purchase_options": dict(sorted(self.purchase_options.items())),
            "total_monthly_usd": round(self.monthly_usd, 2),
            "baseline_all_on_demand_monthly_usd": round(self.baseline_monthly_usd, 2),
            "savings_vs_baseline_usd": round(self.baseline_monthly_usd - self.comparable_monthly_usd, 2),
            # total and baseline over the same rows: the savings above compare exactly these
            "compared_rows": self.rows_compared,
            "compared_total_monthly_usd": round(self.comparable_monthly_usd, 2),
            "compared_baseline_monthly_usd": round(self.baseline_monthly_usd, 2),
            "rows_without_baseline": self.rows_without_baseline,
            "rows_without_baseline_ids": list(self.without_baseline),
            "catalog_version": self.catalog_version,
        }


def evaluate_chunks(evaluator: Evaluator, chunks: Iterable[pl.DataFrame],
                    progress: Callable[[int], None] | None = None) -> Iterator[pl.DataFrame]:
    """Evaluate text chunks in order, one output chunk per input chunk; totals in `evaluator.summary`."""
    first = 0
    for chunk in chunks:
        yield evaluator.evaluate(chunk, first)
        first += chunk.height
        if progress:
            progress(chunk.height)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.all().cast(pl.String))


def evaluate_frame(frame: pl.DataFrame, *, catalog: Catalog | None = None, include_free_tier: bool = False,
                   vectorized: bool = True) -> tuple[pl.DataFrame, dict[str, Any]]:
    evaluator = Evaluator(catalog or load_catalog(), include_free_tier, vectorized=vectorized)
    parts = [evaluator.evaluate(_as_text(frame.slice(i, CHUNK_ROWS)), i)
             for i in range(0, max(frame.height, 1), CHUNK_ROWS)] if frame.height else []
    out = pl.concat(parts) if parts else pl.DataFrame(schema={**{c: pl.String for c in frame.columns},
                                                               **OUTPUT_SCHEMA})
    return out, evaluator.summary.as_dict()


def evaluate_records(records: list[dict[str, Any]], *, catalog: Catalog | None = None,
                     include_free_tier: bool = False) -> BatchResult:
    """Evaluate workloads given as JSON objects (contract fields, plus any pass-through keys)."""
    columns: list[str] = []
    for rec in records:
        columns += [k for k in rec if k not in columns]
    text = [{k: cell_text(rec.get(k)) for k in columns} for rec in records]
    frame = pl.DataFrame(text, schema={c: pl.String for c in columns}) if records else pl.DataFrame()
    out, summary = evaluate_frame(frame, catalog=catalog, include_free_tier=include_free_tier)
    return BatchResult(out.to_dicts(), summary)


def read_csv_bytes(data: bytes) -> pl.DataFrame:
    """All columns as text; an empty input is an empty frame, a header-only input a frame with no rows."""
    import io

    if not data.strip():
        return pl.DataFrame()
    try:
        return pl.read_csv(io.BytesIO(data), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputError(structural_problem(io.StringIO(data.decode("utf-8", "replace"), newline=""), exc)) from None


def evaluate_csv(data: bytes, *, catalog: Catalog | None = None, include_free_tier: bool = False) -> BatchResult:
    """Evaluate a workload CSV given as bytes (header row with contract names)."""
    out, summary = evaluate_frame(read_csv_bytes(data), catalog=catalog, include_free_tier=include_free_tier)
    return BatchResult(out.to_dicts(), summary)
