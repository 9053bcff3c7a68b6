"""POST /v1/evaluations latency for an estate of distinct rows, with and without the vectorized path.

The app runs in-process (FastAPI TestClient, evaluations in a thread), the body is a CSV from
bench/synthetic.py `write_diverse` (every row distinct). "before" disables the vectorized pass
(`advisor.batch.answer_vectorized` answers nothing), which leaves exactly the per-shape path. The
frontier memo is emptied before each run, so neither reuses the other's work.

Run: python bench/evaluations_latency.py [--rows 10000] [--which before after]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--which", nargs="+", default=["before", "after"], choices=["before", "after"])
    args = parser.parse_args()
    os.environ.setdefault("ADVISOR_EVALUATION_EXECUTOR", "thread")
    os.environ.setdefault("ADVISOR_MAX_ROWS", str(max(args.rows, 100_000)))
    from fastapi.testclient import TestClient

    from advisor import batch
    from advisor.candidates.memo import FRONTIERS
    from api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        body = synthetic.write_diverse(Path(tmp) / "estate.csv", args.rows).read_bytes()
    real = batch.answer_vectorized
    with TestClient(create_app()) as client:
        client.get("/healthz")
        for which in args.which:
            batch.answer_vectorized = real if which == "after" else (lambda *a, **k: {})
            FRONTIERS.__init__()  # neither run reuses the other's frontiers
            load = os.getloadavg()[0]
            start = time.perf_counter()
            response = client.post("/v1/evaluations", content=body, headers={"Content-Type": "text/csv"})
            seconds = time.perf_counter() - start
            assert response.status_code == 200, response.text[:300]
            rows = len(response.json()["rows"])
            print(f"{which:>6}: {rows:,} distinct rows in {seconds:,.1f} s ({rows / seconds:,.0f} rows/s), "
                  f"load {load:.1f}", flush=True)
    batch.answer_vectorized = real


if __name__ == "__main__":
    main()
