"""How a month's jobs map onto running replicas: concurrency, waves and hours (for job-shaped workloads).

All of a month's jobs are submitted together and must finish within `deadline_hours`; each job runs
`job_duration_minutes` on one replica's vCPU and memory. With `units` replicas running in parallel,
the jobs run in ceil(jobs / units) waves, so each unit runs waves x duration hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.workload import Workload

HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class JobPlan:
    jobs: int            # whole jobs a month
    duration_hours: float
    concurrency: int     # replicas that must run at once to meet the deadline (and fit in a month)

    @property
    def job_hours(self) -> float:
        return self.jobs * self.duration_hours

    def hours_each(self, units: int) -> float:
        """Hours each of `units` parallel replica slots runs in a month: whole waves of jobs."""
        return math.ceil(self.jobs / units) * self.duration_hours if self.jobs else 0.0


def plan(w: Workload) -> JobPlan | str:
    """The job plan, or the reason no plan meets the deadline."""
    assert w.jobs_per_month is not None and w.job_duration_minutes is not None
    jobs = math.ceil(w.jobs_per_month)
    duration = w.job_duration_minutes / 60.0
    window = min(w.deadline_hours or HOURS_PER_MONTH, HOURS_PER_MONTH)
    if duration > window:
        return (f"one job runs {duration:g} h, longer than the {window:g} h it must finish in; "
                "split the job or raise deadline_hours")
    # Jobs one slot can run back to back within the window (all of them if they fit; this also keeps
    # vanishingly short durations from overflowing the division).
    per_slot = max(jobs, 1) if duration * max(jobs, 1) <= window else math.floor(window / duration)
    return JobPlan(jobs, duration, math.ceil(jobs / per_slot) if jobs else 0)
