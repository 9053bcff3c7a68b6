"""Many answers on an engine: an estate's chunks evaluated as tasks (`advisor evaluate --engine ray`), and
many portfolios planned together (`advisor plan A.json B.json --engine ray`). Both give their answers in
order and build them from batch's and the planner's own public functions, so they match a local run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from advisor.batch import OUTPUT_COLUMNS, Summary, output_names
from advisor.batch_io import read_chunks
from advisor.engines import Engine
from advisor.errors import InputError
from advisor.sweep import tasks
from advisor.workload_io import load_document


def evaluate_sharded(file: Path, *, chunk_rows: int, include_free_tier: bool, vectorized: bool, engine: Engine,
                     write: Callable[[pl.DataFrame], None]) -> dict[str, Any]:
    """Evaluate the CSV's chunks on the engine, write each result in order, and return the summary as the
    local path makes it (`Summary.add` per chunk, in order)."""
    chunks = list(read_chunks(file, chunk_rows))
    plan = tasks.shard_plan(chunks)
    payloads = [{"chunk": tasks.to_ipc(c), "first_row": first, "seen": seen}
                for c, first, seen in zip(chunks, plan["first_rows"], plan["seen"], strict=True)]
    results = engine.map(tasks.evaluate_chunk, payloads,
                         shared={"include_free_tier": include_free_tier, "vectorized": vectorized})
    summary = Summary()
    for chunk, result in zip(chunks, results, strict=True):
        frame = tasks.from_ipc(result["frame"])
        names = output_names(chunk.columns)
        summary.add(frame.select([pl.col(names[c]).alias(c) for c in OUTPUT_COLUMNS]),
                    chunk["id"] if "id" in chunk.columns else None)
        write(frame)
    return summary.as_dict()


def plan_many(files: list[Path], *, time_limit_s: float, engine: Engine) -> list[dict[str, Any]]:
    """Each portfolio file planned (in parallel on the engine): [{"file", "plan"} or {"file", "error"}], in order.
    A file that cannot be read is its own error; the others are still planned."""
    docs: list[Any] = []
    for path in files:
        try:
            docs.append(load_document(path))
        except InputError as exc:
            docs.append(exc)
    todo = [i for i, d in enumerate(docs) if not isinstance(d, Exception)]
    results = engine.map(tasks.plan_document, [{"portfolio": docs[i]} for i in todo],
                         shared={"time_limit_s": time_limit_s})
    answers: list[dict[str, Any]] = [{"file": str(p), "error": str(d)} if isinstance(d, Exception) else {}
                                     for p, d in zip(files, docs, strict=True)]
    for i, result in zip(todo, results, strict=True):
        answers[i] = ({"file": str(files[i]), "error": result["error"]} if result["error"]
                      else {"file": str(files[i]), "plan": result["plan"]})
    return answers
