"""Inputs: one reader per format, each `file -> workloads + how they are written + skipped objects with reasons`.

The format is detected by content, never by the file name alone: a Terraform/OpenTofu plan JSON
(`format_version` + `planned_values`/`resource_changes`), Kubernetes manifests (YAML documents with `apiVersion`
and `kind`), ECS task definitions or services (JSON with `taskDefinition`, `containerDefinitions` or
`services`), or the contract's own CSV/JSON/YAML workloads. A directory is read file by file (sorted), and a
file no reader knows is listed as skipped. Readers know formats, never prices (see `advisor.inputs.current`).
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.errors import InputError
from advisor.inputs import contract, ecs, kubernetes, terraform
from advisor.inputs.model import AsWritten, Imported, ReadResult, Skipped, Source

__all__ = ["AsWritten", "Imported", "ReadResult", "Skipped", "Source", "detect", "read_paths", "read_text"]
MAX_FILE_BYTES = 50 * 2**20


def detect(path: Path, text: str) -> str | None:
    """'terraform', 'kubernetes', 'ecs', 'contract' or None, from the content."""
    if path.suffix.lower() == ".csv" or _csv_header(text):
        return "contract" if _csv_header(text) else None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    except RecursionError:  # nested deeper than any of these formats: not ours (the JSON door answers it)
        return None
    if doc is not None:
        if terraform.looks_like(doc):
            return "terraform"
        if ecs.looks_like(doc):
            return "ecs"
        return "contract" if contract.looks_like(doc) else None
    try:
        docs = [d for _, d in kubernetes.documents(text)]
    except (InputError, RecursionError):
        return None
    if kubernetes.looks_like(docs):
        return "kubernetes"
    return "contract" if len(docs) == 1 and contract.looks_like(docs[0]) else None


def _csv_header(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return "," in first and "id" in [c.strip().strip('"') for c in first.split(",")] and not first.startswith("{")


def is_estate(path: Path) -> bool:
    """True for a directory or a file in one of the readers' formats other than the contract CSV."""
    if str(path) == "-" or not path.exists():
        return False
    if path.is_dir():
        return True
    if path.suffix.lower() == ".csv":
        return False
    return detect(path, _read(path)) in ("terraform", "kubernetes", "ecs")


def read_paths(paths: list[Path]) -> ReadResult:
    """Every workload in these files and directories (in order), and every object skipped, with its reason."""
    result = ReadResult()
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            result.extend(read_file(file, in_directory=path.is_dir()))
    _unique_ids(result)
    return result


def read_file(path: Path, *, in_directory: bool = False) -> ReadResult:
    if in_directory and path.suffix.lower() not in (".json", ".yaml", ".yml", ".csv"):
        return ReadResult(skipped=[Skipped(Source(str(path), path.name, "file"),
                                           "not a .json, .yaml, .yml or .csv file")])
    return read_text(path, _read(path))


def read_text(path: Path, text: str) -> ReadResult:
    """Read one file's content (`path` names it in the provenance; it is not opened)."""
    result = _dispatch(path, text)
    _unique_ids(result)
    return result


def _dispatch(path: Path, text: str) -> ReadResult:
    kind = detect(path, text)
    if kind == "terraform":
        return terraform.read(path, json.loads(text), text)
    if kind == "ecs":
        return ecs.read(path, json.loads(text), text)
    if kind == "kubernetes":
        return kubernetes.read(path, text)
    if kind == "contract":
        return contract.read(path, text)
    return ReadResult(skipped=[Skipped(Source(str(path), path.name, "file"),
                                       "not a format this advisor reads (a Terraform plan JSON, Kubernetes "
                                       "manifests, an ECS task definition, or contract workloads)")])


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _unique_ids(result: ReadResult) -> None:
    """Workload ids are unique across files: a repeated id gets '@file' (then a number) appended."""
    seen: set[str] = set()
    for n, item in enumerate(result.items):
        wid = item.id[:200]
        if wid in seen:
            wid = f"{item.id}@{Path(item.source.file).name}"[:200]
            k = 2
            while wid in seen:
                wid = f"{item.id}@{Path(item.source.file).name}#{k}"[:200]
                k += 1
        seen.add(wid)
        if wid != item.id:
            result.items[n] = Imported(item.source, {**item.fields, "id": wid}, item.written, item.unknown,
                                       item.notes, item.action)

