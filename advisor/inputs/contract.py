"""The contract's own workload files (CSV with a header, JSON/YAML: one workload, a list, or {"workloads": [...]}),
behind the same interface as the other readers: each row is a workload as the person wrote it; nothing is
'as written' (the contract says what a workload needs, not how it runs)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from advisor.inputs.model import Imported, ReadResult, Skipped, Source
from models.workload import Workload

FORMAT = "contract"


def looks_like(doc: Any) -> bool:
    if isinstance(doc, dict) and isinstance(doc.get("workloads"), list):
        return True
    if isinstance(doc, dict) and isinstance(doc.get("workload"), dict):
        return True
    docs = doc if isinstance(doc, list) else [doc]
    return bool(docs) and all(isinstance(d, dict) and "id" in d and set(d) <= set(Workload.model_fields)
                              for d in docs)


def read(path: Path, text: str) -> ReadResult:
    result = ReadResult(formats=[FORMAT])
    if path.suffix.lower() == ".csv" or not text.lstrip().startswith(("{", "[")) and "," in text.split("\n")[0] \
            and ":" not in text.split("\n")[0]:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for n, row in enumerate(reader, start=2):
            _add(result, path, {k: v for k, v in row.items() if k in Workload.model_fields and v not in (None, "")},
                 n)
        return result
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = yaml.safe_load(text)
    if isinstance(doc, dict) and "workload" in doc:
        doc = doc["workload"]
    records = doc.get("workloads") if isinstance(doc, dict) and "workloads" in doc else doc
    for n, record in enumerate(records if isinstance(records, list) else [records]):
        if isinstance(record, dict):
            _add(result, path, record, None, n)
        else:
            result.skipped.append(Skipped(Source(str(path), f"workloads[{n}]", "workload"), "not an object"))
    return result


def _add(result: ReadResult, path: Path, fields: dict, line: int | None, index: int | None = None) -> None:
    address = str(fields.get("id") or (f"line {line}" if line else f"workloads[{index}]"))
    result.items.append(Imported(Source(str(path), address, "workload", line), dict(fields)))
