"""Server settings: environment variables with the prefix `ADVISOR_` (pydantic-settings).

Every limit the API enforces is here, so an operator can read and change them in one place.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


def _cpus() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """`ADVISOR_API_KEY=...`, `ADVISOR_MAX_BODY_BYTES=...`, ... (names are the fields, upper-cased)."""

    model_config = SettingsConfigDict(env_prefix="ADVISOR_", extra="ignore", frozen=True)

    api_key: SecretStr | None = Field(
        None, description="when set, every /v1 request needs the header X-API-Key with this value")
    cors_origins: str = Field("", description="comma-separated origins allowed by CORS ('*' for any); empty: off")
    max_body_bytes: int = Field(5 * MIB, ge=1024, le=1024 * MIB, description="largest request body accepted")
    max_rows: int = Field(10_000, ge=1, le=1_000_000, description="most workloads in one evaluation or plan")
    max_solver_seconds: float = Field(5.0, gt=0, le=600, description="time limit of one solve (time_limit_s)")
    solver_workers: int = Field(default_factory=_cpus, ge=1, le=64, description="recommendations solved at once")
    solver_executor: Literal["process", "thread"] = Field(
        "process", description="process: solves run in worker processes, so the event loop never waits for the "
                               "interpreter lock (/healthz stays fast under load); thread: in threads (tests)")
    max_queued_solves: int = Field(64, ge=0, le=100_000,
                                   description="recommendations waiting for a solver thread before 503 busy")
    evaluation_workers: int = Field(1, ge=1, le=64, description="evaluations run at once")
    max_queued_evaluations: int = Field(4, ge=0, le=1000, description="evaluations waiting before 503 busy")
    evaluation_executor: Literal["process", "thread"] = Field(
        "process", description="process: evaluations run in a worker process; thread: in threads (tests)")
    recommendation_cache_size: int = Field(1024, ge=0, le=1_000_000,
                                           description="answers kept per catalog version (0: no cache)")
    catalog_refresh_seconds: float = Field(30.0, ge=0, le=86_400,
                                           description="how often the catalog version is re-checked (imports)")
    warm_up: bool = Field(True, description="load the catalog and solve a sample workload at start-up")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR: the least severe log record written")
    max_connections: int = Field(1000, ge=1, le=100_000, description="open connections per worker before 503")
    engine: Literal["local", "ray"] = Field("local", description="where sweeps run (and the CLI's --engine "
                                                                 "default): local (processes on this machine) or "
                                                                 "ray (a Ray cluster; the ray extra)")
    ray_address: str | None = Field(None, description="the Ray cluster's address, HOST:PORT (engine "
                                                      "ray; the CLI's --ray-address default); empty: RAY_ADDRESS, "
                                                      "else a local Ray started for each sweep on 127.0.0.1")
    database_url: str | None = Field(None, description="where sweep jobs and results are kept: a sqlite:///path URL; "
                                                       "empty: sweeps.sqlite3 under ADVISOR_HOME")
    sweeps_running: int = Field(1, ge=1, le=64, description="sweeps run at once (across the server's workers); the "
                                                            "rest wait in the queue")
    sweep_executor: Literal["process", "thread"] = Field(
        "process", description="process: a local sweep's tasks run in worker processes (at least two), never on the "
                               "server's interpreter; thread: one at a time in the runner's thread (tests)")
    max_queued_sweeps: int = Field(20, ge=0, le=10_000, description="sweeps waiting to run before 503 busy")
    max_sweep_scenarios: int = Field(100, ge=1, le=1000, description="most scenarios in one sweep")
    max_sweep_plan_seconds: float = Field(20.0, gt=0, le=600, description="most a sweep may ask for each portfolio "
                                                                          "plan (time_limit_s, deterministic time)")
    sweeps_kept: int = Field(100, ge=1, le=100_000, description="sweep jobs kept; past it the oldest finished ones "
                                                                "are deleted")
    sweeps_max_age_days: float = Field(30.0, gt=0, le=3650, description="finished sweep jobs older than this are "
                                                                        "deleted")

    @field_validator("api_key", mode="before")
    @classmethod
    def _blank_key_is_off(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlite_file(cls, value: str | None) -> str | None:
        from api.sweep_store import database_path

        if value is not None and value.strip():
            database_path(value.strip())  # raises ValueError naming the problem
            return value.strip()
        return None

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
