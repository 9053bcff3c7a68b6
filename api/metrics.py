"""Prometheus metrics (prometheus-client): request count and latency by route and status, cache and busy counts.

Each app has its own registry (tests build many apps). With several worker processes (`advisor serve
--workers N`), `api.server` sets PROMETHEUS_MULTIPROC_DIR and `/metrics` aggregates every worker's files.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

disable_created_metrics()  # the *_created series only add noise for a scraper

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("advisor_http_requests_total", "HTTP requests answered, by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("advisor_http_request_duration_seconds",
                                 "Time from the first byte of a request to the last byte of its answer",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.cache = Counter("advisor_recommendation_cache_total", "Recommendation cache lookups, by result",
                             ["result"], registry=self.registry)
        self.busy = Counter("advisor_busy_rejections_total", "Requests answered 503 because a work lane was full",
                            ["lane"], registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
