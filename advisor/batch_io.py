"""Files for the CSV path: chunked reading, and CSV/Parquet/JSON writers that stream chunk by chunk.

CSV output neutralises formula injection: a text cell that would start with = + - @, a tab or a
carriage return gets a leading apostrophe, so a spreadsheet shows it as text. Parquet and JSON keep
values as they are.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import polars as pl

from advisor.errors import InputError

FORMULA_START = r"^[=+\-@\t\r]"
FORMATS = ("csv", "parquet", "json")


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """The CSV as text chunks of at most `chunk_rows` rows ('-' reads standard input)."""
    if str(path) == "-":
        spool = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)  # noqa: SIM115 - removed below
        with spool:
            shutil.copyfileobj(sys.stdin.buffer, spool)
        path = Path(spool.name)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0 or not path.read_bytes()[:65536].strip():
        return
    try:
        yield from pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=chunk_rows)
    except pl.exceptions.PolarsError as exc:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            raise InputError(f"{path}: {structural_problem(handle, exc)}") from None


def structural_problem(lines: Iterable[str], exc: Exception | None = None) -> str | None:
    """Why a CSV cannot be read, naming the line (line 1 is the header): an unclosed quote, a row with more
    cells than the header; None when the structure is sound. `exc`, the fast reader's error, is the answer of
    last resort. Run after the fast reader failed (or on a bounded upload), so a large sound file never pays."""
    reader = csv.reader(lines, strict=True)
    width, start = None, 1
    try:
        for row in reader:
            if width is None:
                width = len(row)
            elif len(row) > width:
                return f"line {start}: {len(row)} cells, but the header has {width}"
            start = reader.line_num + 1
    except csv.Error as err:
        if "end of data" in str(err) or "EOF" in str(err):
            return f"line {start}: a quoted cell is never closed (a \" without its closing \")"
        return f"line {reader.line_num}: not a well-formed CSV row ({err})"
    return None if exc is None else f"not a readable CSV ({str(exc).splitlines()[0]})"


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns([
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text])


def output_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if str(path) == "-" or not suffix:
        return "csv"
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown output format .{suffix}; use .csv, .parquet or .json (or --format)")
    return suffix


def cell_text(value: object) -> str | None:
    """One value as a contract CSV cell: booleans as true/false, lists `;`-joined, objects as JSON, whole floats
    without their `.0`; None stays None (an empty cell: the default). Every door that turns values into rows uses
    this one rule."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _contract_types() -> dict[str, pl.DataType]:
    """Workload fields that are numbers or booleans, by the model's own annotations."""
    from models.workload import Workload

    out: dict[str, pl.DataType] = {}
    for name, field in Workload.model_fields.items():
        text = str(field.annotation)
        if "bool" in text:
            out[name] = pl.Boolean
        elif "int" in text and "float" not in text:
            out[name] = pl.Int64
        elif "float" in text:
            out[name] = pl.Float64
    return out


def typed_for_json(chunk: pl.DataFrame) -> pl.DataFrame:
    """Input columns of the contract written as numbers and booleans in JSON (a CSV reads them as text). A column
    is converted only when every value in it converts, so a row's original text is never lost."""
    out = {}
    for name, dtype in _contract_types().items():
        if name not in chunk.columns or chunk.schema[name] != pl.String:
            continue
        col = chunk[name].str.strip_chars()
        if dtype == pl.Boolean:
            lower = col.str.to_lowercase()
            known = lower.is_null() | lower.is_in(sorted(_TRUE | _FALSE)) | (col == "")
            if known.all():
                out[name] = pl.when(lower.is_in(sorted(_TRUE))).then(True).when(lower.is_in(sorted(_FALSE))) \
                    .then(False).otherwise(None)
            continue
        converted = col.replace("", None).cast(dtype, strict=False)
        if (converted.is_null() == col.replace("", None).is_null()).all():
            out[name] = converted
    return chunk.with_columns(**out) if out else chunk


class ChunkWriter:
    """Writes output chunks in order to CSV, Parquet or JSON, never holding the whole result."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self._first = True
        self._parquet = None
        self._schema: dict | None = None
        self._handle: IO | None = None

    def __enter__(self) -> ChunkWriter:
        if str(self.path) != "-":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            if str(self.path) == "-":
                raise InputError("Parquet cannot be written to standard output; give a file name")
        elif str(self.path) == "-":
            self._handle = sys.stdout
        else:
            self._handle = open(self.path, "w", newline="")  # noqa: SIM115 - closed in __exit__
        return self

    def write(self, chunk: pl.DataFrame) -> None:
        if self._schema is None:
            self._schema = dict(chunk.schema)
        chunk = chunk.cast(self._schema)
        if self.fmt == "csv":
            self._handle.write(neutralise(chunk).write_csv(include_header=self._first))
        elif self.fmt == "json":
            body = typed_for_json(chunk).write_json()[1:-1]
            if body:
                self._handle.write(("[" if self._first else ",") + body)
            elif self._first:
                self._handle.write("[")
        else:
            import pyarrow.parquet as pq

            table = chunk.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        self._first = False

    def finish(self, empty: pl.DataFrame) -> None:
        """Close the file; an input with no rows still gets a header (CSV), [] (JSON) or a schema (Parquet)."""
        if self._first:
            self.write(empty)
        if self.fmt == "json":
            self._handle.write("]\n")

    def __exit__(self, *exc: object) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None and self._handle is not sys.stdout:
            self._handle.close()
        elif self._handle is sys.stdout:
            sys.stdout.flush()


def no_placement(reasons: list[str]) -> str:
    """The error of a row no option can serve, with the reason codes that ruled the options out."""
    return "no placement meets every hard requirement" + (f" (rejections: {', '.join(reasons)})" if reasons else "")
