"""Workloads read from estate files as contract rows (the CSV `advisor import` writes, the review page's upload):
contract fields sized from the catalog where the file names only a type, provenance, how it runs as written,
and what the files leave unknown (for a person to fill in)."""

from __future__ import annotations

import polars as pl

from advisor.batch_io import cell_text
from advisor.catalog.store import Catalog
from advisor.inputs.compare import CONTRACT_COLUMNS, SOURCE_COLUMNS
from advisor.inputs.current import NotPriced, sized
from advisor.inputs.model import ReadResult

COLUMNS = [*CONTRACT_COLUMNS, *SOURCE_COLUMNS, "as_written", "unknown", "notes"]


def contract_frame(read: ReadResult, catalog: Catalog) -> pl.DataFrame:
    """One text row per workload, in file order, with COLUMNS."""
    rows = []
    for item in read.items:
        unknown = list(item.unknown)
        try:
            fields = sized(item, catalog)
        except NotPriced as exc:
            fields, unknown = dict(item.fields), [*unknown, str(exc)]
        src = item.source
        rows.append({**{c: cell_text(fields.get(c)) for c in CONTRACT_COLUMNS},
                     "source_file": src.file, "source_address": src.address,
                     "source_line": None if src.line is None else str(src.line), "source_kind": src.kind,
                     "action": item.action, "as_written": item.written.describe() if item.written else None,
                     "unknown": "; ".join(unknown) or None, "notes": "; ".join(item.notes) or None})
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}, orient="row")


