"""Read workloads from JSON/YAML files and turn validation errors into messages that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from advisor.errors import InputError
from models.workload import Workload


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """[{field, message, value}] from pydantic's errors, with dotted field paths."""
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or _field_named_in(err["msg"])
        value = err.get("input")
        out.append({"field": field, "message": err["msg"],
                    "value": value if isinstance(value, str | int | float | bool) or value is None else None})
    return out


def _field_named_in(message: str) -> str:
    """A cross-field rule's message starts with the field it is about ('peak_replicas must be ...')."""
    words = message.replace("Value error, ", "").replace(",", " ").split()
    return next((w for w in words if w in Workload.model_fields), "(workload)")


def describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" + (f" (got {e['value']!r})" if e["value"] is not None else "")
                     for e in errors)


def parse_workload(data: Any, *, row: int | None = None) -> Workload:
    """A validated Workload, or InputError naming the field (and row)."""
    if isinstance(data, dict) and "workload" in data and isinstance(data["workload"], dict):
        data = data["workload"]
    if not isinstance(data, dict):
        raise InputError("a workload must be a JSON/YAML object of contract fields", row=row)
    try:
        return Workload.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise InputError(describe(errors), field=errors[0]["field"], row=row) from None


def load_document(path: Path) -> Any:
    """A JSON or YAML file's content ('-' reads standard input as JSON or YAML)."""
    import sys

    text = sys.stdin.read() if str(path) == "-" else _read(path)
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            return yaml.safe_load(text)
        return json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        if path.suffix.lower() not in (".yaml", ".yml"):
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError:
                pass
        raise InputError(f"{path} is not valid JSON or YAML: {exc}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
