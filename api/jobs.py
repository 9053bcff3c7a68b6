"""Work that runs off the event loop (in a thread, or in a worker process): plain functions, cheap to import.

Each returns the JSON body as bytes, so serialising a 10,000-row answer happens off the event loop too.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from typing import Any

from advisor import batch
from advisor.catalog.store import Catalog, load_catalog
from advisor.recommend import recommend
from models.workload import Workload

_SEPARATORS = (",", ":")


def dumps(obj: Any) -> bytes:
    """Strict JSON: NaN/inf become null, oversized integers and unknown objects become text."""
    try:
        return json.dumps(obj, allow_nan=False, default=str, separators=_SEPARATORS).encode()
    except ValueError:
        return json.dumps(_clean(obj), allow_nan=False, default=str, separators=_SEPARATORS).encode()


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return obj if obj.bit_length() < 4000 else f"an integer of about {int(obj.bit_length() * 0.30103) + 1} digits"
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


# In a worker process: the catalog, re-checked at most every CATALOG_REFRESH_S (hashing its sources costs ms).
CATALOG_REFRESH_S = 30.0
_catalog: dict[str, Any] = {}

# A recommendation answered as a template: the JSON with an empty workload_id (always the first field), so one
# solve serves every workload of the same shape; `with_id` puts the real id in.
ID_PREFIX = b'{"workload_id":""'


def current_catalog() -> Catalog:
    if "catalog" not in _catalog or time.monotonic() - _catalog["checked"] > CATALOG_REFRESH_S:
        _catalog.update(catalog=load_catalog(), checked=time.monotonic())
    return _catalog["catalog"]


def recommend_template(workload: Workload, top_k: int, include_free_tier: bool, time_limit_s: float,
                       catalog: Catalog | None = None) -> bytes:
    rec = recommend(workload, catalog=catalog or current_catalog(), top_k=top_k,
                    include_free_tier=include_free_tier, time_limit_s=time_limit_s)
    return rec.model_copy(update={"workload_id": ""}).model_dump_json().encode()


def with_id(template: bytes, workload_id: str) -> bytes:
    if not template.startswith(ID_PREFIX):
        raise ValueError("a recommendation template must start with an empty workload_id")
    return b'{"workload_id":' + json.dumps(workload_id).encode() + template[len(ID_PREFIX):]


def exit_with_parent(interval_s: float = 1.0) -> None:
    """Process initializer: a worker exits when the server that started it is gone, even after a SIGKILL
    (a spawned pool worker holds both ends of its task pipe, so it would otherwise wait forever)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_solver() -> None:
    """Process initializer: imports, the catalog and us-east-1's rate tables, before the first request.

    A failure here is logged and otherwise ignored: warming up is an optimisation, and an initializer that
    raises would break the whole pool; the first real request then reports the problem itself."""
    exit_with_parent()
    try:
        recommend(Workload(id="warm-up", vcpu=2, memory_gib=8), catalog=current_catalog())
    except Exception:
        logging.getLogger("api").warning("solver warm-up failed", exc_info=True)


def evaluate(kind: str, payload: Any, include_free_tier: bool, catalog: Catalog | None = None) -> bytes:
    """Evaluate a CSV (`kind` 'csv', payload bytes) or JSON records ('records', payload list of dicts)."""
    if kind == "estate":  # a plan, manifests or task definitions: as written versus advised (advisor/inputs)
        from pathlib import Path

        from advisor.inputs import read_text
        from advisor.inputs.compare import evaluate_estate

        name, text = payload
        answer = evaluate_estate(read_text(Path(name), text), catalog=catalog, include_free_tier=include_free_tier)
        return dumps({"rows": answer.rows, "skipped": answer.skipped, "summary": answer.summary})
    if kind == "csv":
        result = batch.evaluate_csv(payload, catalog=catalog, include_free_tier=include_free_tier)
    else:
        result = batch.evaluate_records(payload, catalog=catalog, include_free_tier=include_free_tier)
    return dumps({"rows": result.rows, "summary": result.summary})


def plan(doc: dict, time_limit_s: float, catalog: Catalog | None = None) -> bytes:
    """Plan a portfolio (the contract's plan document)."""
    from advisor.portfolio.plan import plan as plan_portfolio

    return dumps(plan_portfolio(doc, catalog=catalog or current_catalog(), time_limit_s=time_limit_s))


def ready() -> bool:
    """A no-op job: waiting for it means a worker process has started (and run its initializer)."""
    return True
