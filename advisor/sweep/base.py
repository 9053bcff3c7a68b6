"""The base a sweep changes: an estate (a workload CSV) or a portfolio (its JSON document)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.errors import InputError
from advisor.workload_io import load_document


class EstateBase(BaseModel):
    """A workload CSV (the contract's columns), answered row by row as `advisor evaluate` answers it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["estate"] = "estate"
    csv: bytes = Field(description="the CSV file's bytes, header row first")
    include_free_tier: bool = False
    chunk_rows: Annotated[int, Field(ge=1000, le=10_000_000, description="rows per shard")] = 100_000

    @classmethod
    def from_path(cls, path: Path, **options: Any) -> EstateBase:
        return cls(csv=_read_bytes(path), **options)


class PortfolioBase(BaseModel):
    """A portfolio document ({"workloads": [...], "constraints": {...}}), planned as `advisor plan` plans it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["portfolio"] = "portfolio"
    portfolio: dict[str, Any]
    time_limit_s: Annotated[float, Field(gt=0, le=600, description="each plan's limit on the planner's "
                                                                    "deterministic clock")] = 20.0

    @classmethod
    def from_path(cls, path: Path, **options: Any) -> PortfolioBase:
        doc = load_document(path)
        if not isinstance(doc, dict) or "workloads" not in doc:
            raise InputError(f"{path} is not a portfolio document (workloads, constraints)", field="base")
        return cls(portfolio=doc, **options)


SweepBase = Annotated[EstateBase | PortfolioBase, Field(discriminator="kind")]


def load_base(path: Path, *, time_limit_s: float = 20.0, include_free_tier: bool = False) -> EstateBase | PortfolioBase:
    """A .csv file is an estate; a .json/.yaml/.yml file a portfolio."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return EstateBase.from_path(path, include_free_tier=include_free_tier)
    if suffix in (".json", ".yaml", ".yml"):
        return PortfolioBase.from_path(path, time_limit_s=time_limit_s)
    raise InputError(f"the base {path.name!r} must be a workload CSV (.csv) or a portfolio (.json, .yaml)",
                     field="base")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", field="base") from None
