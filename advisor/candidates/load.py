"""The load model: how many replicas a request-shaped service needs to carry its requests.

From `requests_per_month` and `avg_duration_ms`, Little's law gives the average number of requests
in flight: L = arrival rate x time in the system = requests / (hours_per_month x 3,600 s) x duration.
The peak is L x `peak_factor` (default 1: the average; state a higher factor for peaky traffic).
Instance and container options carry the peak at `requests_in_flight_per_vcpu` requests per vCPU
(default 1: one request in flight per vCPU, as for CPU-bound handlers), so a service needs
ceil(peak / (requests_in_flight_per_vcpu x vcpu)) replicas of its stated size, and runs the larger
of that and `replicas`. Lambda is sized from the same share of a vCPU per request (aws_lambda.py).
Jobs follow the same idea through their deadline (jobs.py: the concurrency the deadline needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.workload import Workload

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Load:
    avg_in_flight: float   # Little's law
    peak_in_flight: float  # x peak_factor
    replicas_needed: int   # replicas of the stated vcpu that carry the peak
    replicas: int          # what instance and container options run: max(stated, needed)

    def words(self, w: Workload) -> str:
        per = w.requests_in_flight_per_vcpu
        base = (f"{w.requests_per_month:,.0f} requests x {w.avg_duration_ms:,.0f} ms over {w.hours_per_month:g} h "
                f"= {self.avg_in_flight:.3g} in flight on average, {self.peak_in_flight:.3g} at peak "
                f"(x{w.peak_factor:g}); at {per:g} per vCPU that is {self.peak_in_flight / per:.3g} vCPU")
        if self.replicas > w.replicas:
            return f"{base}: {self.replicas} replicas of {w.vcpu:g} vCPU (stated {w.replicas})"
        return f"{base}: the stated {w.replicas} replicas carry it"


def load(w: Workload) -> Load | None:
    """The load a request-shaped service must carry, or None when it has no request profile or is a job."""
    if not w.request_shaped or w.job_shaped:
        return None
    rate = (w.requests_per_month or 0.0) / (w.hours_per_month * SECONDS_PER_HOUR)
    avg = rate * (w.avg_duration_ms or 0.0) / 1000.0
    peak = avg * w.peak_factor
    needed = 0
    if w.vcpu:
        needed = math.ceil(round(peak / (w.requests_in_flight_per_vcpu * w.vcpu), 9))
    return Load(avg, peak, needed, max(w.replicas, needed))


def carrying(w: Workload) -> Workload:
    """The workload with the replicas its load needs (unchanged when the stated replicas carry it)."""
    got = load(w)
    if got is None or got.replicas == w.replicas:
        return w
    peak = w.peak_replicas if w.peak_replicas is None else max(w.peak_replicas, got.replicas)
    return w.model_copy(update={"replicas": got.replicas, "peak_replicas": peak})
