"""Read workloads from JSON/YAML files and turn validation errors into messages that name the field."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from advisor.errors import InputError
from models.workload import Workload

REGION_EXAMPLES = ("us-east-1", "eu-west-1")


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """[{field, message, value}] from pydantic's errors, with dotted field paths and our own words."""
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or _field_named_in(err["msg"])
        value = err.get("input")
        out.append({"field": field, "message": message_for(err),
                    "value": value if isinstance(value, str | int | float | bool) or value is None else None})
    return out


def message_for(err: dict[str, Any]) -> str:
    """One sentence for a validation error, the same on every door (CLI, CSV row, API, review page).

    The validation library's own texts ("Input should be ...", "Value error, ...", a regular expression) are
    replaced by what the person must do; a kind not listed keeps the library's text, without its prefixes.
    """
    kind, ctx = str(err.get("type", "")), err.get("ctx") or {}
    loc = [str(p) for p in err.get("loc", ())]
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "region":
        return f"not an AWS region code (like {' or '.join(REGION_EXAMPLES)})"
    if kind == "enum":
        choices = [c.strip(" '") for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        return f"must be one of {', '.join(c for c in choices if c)}"
    bound = {"greater_than": "greater than {gt}", "greater_than_equal": "at least {ge}",
             "less_than": "less than {lt}", "less_than_equal": "at most {le}"}.get(kind)
    if bound:
        return "must be " + bound.format(**{k: _number(v) for k, v in ctx.items()})
    fixed = {"missing": "required", "extra_forbidden": "not a workload field (`advisor fields` lists them)",
             "float_parsing": "not a number", "float_type": "not a number", "int_parsing": "must be a whole number",
             "int_type": "must be a whole number", "int_from_float": "must be a whole number",
             "bool_parsing": "must be true or false", "bool_type": "must be true or false",
             "finite_number": "must be a finite number", "string_type": "must be text",
             "dict_type": "must be an object of fields", "tuple_type": "must be a list",
             "list_type": "must be a list"}.get(kind)
    if fixed:
        return fixed
    if kind == "string_too_short":
        return "empty" if ctx.get("min_length") == 1 else f"shorter than {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def unknown_region(region: str, known: Iterable[str]) -> str | None:
    """The message for a region code the catalog has no prices for (None when known, or nothing is known)."""
    known = sorted(known)
    if not known or region in known:
        return None
    near = difflib.get_close_matches(region, known, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    return (f"not a region in the catalog; {hint}({len(known)} regions are, e.g. "
            f"{' and '.join(r for r in REGION_EXAMPLES if r in known) or known[0]})")


def check_region(workload: Workload, known: Iterable[str]) -> None:
    """InputError naming `region` when the catalog does not know it: the same error on every door."""
    problem = unknown_region(workload.region, known)
    if problem:
        raise InputError(describe([{"field": "region", "message": problem, "value": workload.region}]),
                         field="region")


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
