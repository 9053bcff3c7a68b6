"""The CSV path: read, validate per row, group identical shapes, solve each shape once, write back in order.

(Interface first; the implementation lands with the batch-evaluation issue.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.catalog.store import Catalog

OUTPUT_COLUMNS = [
    "status", "error", "service", "instance_type", "count", "purchase_option", "term", "payment", "tenancy",
    "monthly_usd", "upfront_usd", "baseline_monthly_usd", "savings_usd", "interruption_risk",
    "alternative_service", "alternative_monthly_usd", "catalog_version",
]


@dataclass
class BatchResult:
    """One output row per input row, in input order (input columns, then OUTPUT_COLUMNS), and a summary."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def evaluate_records(records: list[dict[str, Any]], *, catalog: Catalog | None = None,
                     include_free_tier: bool = False) -> BatchResult:
    """Evaluate workloads given as JSON objects (contract fields, plus any pass-through keys)."""
    raise NotImplementedError


def evaluate_csv(data: bytes, *, catalog: Catalog | None = None, include_free_tier: bool = False) -> BatchResult:
    """Evaluate a workload CSV given as bytes (header row with contract names)."""
    raise NotImplementedError
