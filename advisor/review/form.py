"""The review page's workload form: every contract field with its default and help text, and the parsing
of what a browser sends back into a validated `Workload` (or field errors to show next to the inputs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from advisor.workload_io import field_errors, unknown_region
from models.workload import Arch, Ops, Orchestrator, Packaging, Service, Spread, Tenancy, Workload

GPU_MODELS = ("T4", "T4G", "A10G", "L4", "L40S", "A100", "H100", "H200", "V100")
EXAMPLE_VALUES = {"id": "checkout-api", "vcpu": "2", "memory_gib": "8", "replicas": "3", "horizon_months": "36"}
MAX_TOP_K = 50


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    kind: str = "number"  # number | integer | text | select | checkbox | services
    choices: tuple[str, ...] = ()
    unit: str = ""
    placeholder: str = ""

    @property
    def default(self) -> str:
        """The contract default as the form shows it ('' for an empty field)."""
        if self.kind == "services":
            return ""
        info = Workload.model_fields[self.name]
        value = None if info.is_required() else info.default
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else ""
        value = getattr(value, "value", value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


@dataclass(frozen=True)
class Group:
    legend: str
    help: str
    fields: tuple[Field, ...]


def _choices(enum: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


GROUPS: tuple[Group, ...] = (
    Group("The workload", "Which workload, where, on what software.", (
        Field("id", "Workload id", "A name for this workload (1-200 characters).", "text"),
        Field("region", "Region", "The AWS region it must run in, e.g. us-east-1 or eu-west-1.", "text",
              placeholder="us-east-1"),
        Field("os", "Operating system", "Changes the price and which services apply.", "select",
              ("linux", "windows", "rhel", "suse")),
        Field("arch", "CPU architecture", "The architectures the software supports; 'any' lets arm64 "
                                          "(Graviton) compete.", "select", _choices(Arch)),
    )),
    Group("One replica", "What one copy of the workload needs.", (
        Field("vcpu", "vCPUs per replica", "Required unless the workload is request-shaped (see Load).",
              unit="vCPU"),
        Field("memory_gib", "Memory per replica", "Required unless the workload is request-shaped.", unit="GiB"),
        Field("gpus", "GPUs per replica", "0 for none.", "integer"),
        Field("gpu_model", "GPU model", "Empty for any model, or e.g. T4, A10G, L4, A100, H100.", "text"),
        Field("cpu_utilization", "Average CPU utilization", "Share of the vCPUs actually busy, 0 to 1; decides "
                                                           "whether burstable types and Lightsail fit."),
    )),
    Group("Replicas, schedule and lifetime", "How many copies, how many hours, for how long.", (
        Field("replicas", "Replicas", "Steady-state copies running at once.", "integer"),
        Field("peak_replicas", "Peak replicas", "Copies at peak (autoscaling headroom); empty means the same as "
                                                "replicas. Validated, not costed.", "integer"),
        Field("hours_per_month", "Hours a month", "Hours a month the replicas run: 730 is always on.", unit="h"),
        Field("horizon_months", "Horizon", "How long the workload will exist (1-120 months). A commitment "
                                           "longer than this is paid in full anyway.", "integer", unit="months"),
    )),
    Group("Load (optional)", "Give a request profile to compare Lambda, or a job profile to compare AWS Batch.", (
        Field("requests_per_month", "Requests a month", "Request-driven load; with the average duration it "
                                                        "makes Lambda a candidate."),
        Field("avg_duration_ms", "Average request duration", "Average handling time of one request.", unit="ms"),
        Field("function_memory_mb", "Function memory", "Memory one invocation needs (128-10240); empty: derived.",
              "integer", unit="MB"),
        Field("peak_factor", "Peak factor", "Peak requests in flight / average (1 or more); sizes the replicas."),
        Field("requests_in_flight_per_vcpu", "Requests per vCPU", "Requests one vCPU serves at once; sizes the "
                                                                  "replicas and Lambda's memory."),
        Field("jobs_per_month", "Jobs a month", "Batch-shaped load; with the job duration it makes AWS Batch a "
                                                "candidate."),
        Field("job_duration_minutes", "Job duration", "Run time of one job on one replica's vCPUs and memory.",
              unit="min"),
        Field("deadline_hours", "Deadline", "All of a month's jobs, submitted together, must finish within this.",
              unit="h"),
    )),
    Group("Resilience", "What the workload can put up with.", (
        Field("interruptible", "Interruptible", "It can be stopped with a 2-minute notice and retried (allows Spot "
                                                "and Fargate Spot).", "checkbox"),
        Field("stateful", "Stateful", "It keeps state on the instance between requests (rules out Spot).",
              "checkbox"),
        Field("capacity_guarantee", "Capacity guarantee", "Capacity must be reserved (On-Demand Capacity "
                                                          "Reservation or zonal reserved instance).", "checkbox"),
        Field("spread", "Spread", "az: 2+ replicas on 2+ nodes in 2+ Availability Zones; node: on 2+ nodes; "
                                  "none: may share one node.", "select", _choices(Spread)),
    )),
    Group("Packaging and operations", "How it is shipped and who runs it.", (
        Field("packaging", "Packaging", "What the software is shipped as.", "select", _choices(Packaging)),
        Field("orchestrator", "Orchestrator", "An orchestrator the team is committed to.", "select",
              _choices(Orchestrator)),
        Field("ops", "Operations preference", "managed: prefer services AWS runs; control: prefer running it "
                                              "yourself; balanced: cheapest wins.", "select", _choices(Ops)),
        Field("existing_cluster", "Existing cluster", "An EKS/ECS cluster already exists (no new control-plane "
                                                      "fee).", "checkbox"),
        Field("allow_previous_generation", "Previous generation", "Allow previous-generation instance types "
                                                                 "(else only when nothing current fits).",
              "checkbox"),
    )),
    Group("Storage and network", "Per replica unless stated.", (
        Field("storage_gib", "Persistent storage", "Block storage per replica (EBS).", unit="GiB"),
        Field("scratch_gib", "Scratch disk", "Temporary local disk per replica (instance store acceptable).",
              unit="GiB"),
        Field("egress_gib_month", "Internet egress", "Data sent to the internet each month (in all).",
              unit="GiB/month"),
    )),
    Group("Compliance and licences", "Isolation and licences the workload must have.", (
        Field("tenancy", "Tenancy", "The least isolation allowed: shared, dedicated instances, or a Dedicated "
                                    "Host.", "select", _choices(Tenancy)),
        Field("byol", "Bring your own licence", "A per-socket/per-core licence: needs a Dedicated Host.",
              "checkbox"),
    )),
    Group("Caps and services", "Hard limits on the answer.", (
        Field("max_monthly_usd", "Monthly cap", "Nothing costing more a month is recommended; empty: no cap.",
              unit="US$"),
        Field("max_upfront_usd", "Upfront cap", "Nothing with a larger upfront payment is recommended; empty: no "
                                                "cap.", unit="US$"),
        Field("allowed_services", "Allowed services", "Untick the services the answer may not use.", "services",
              _choices(Service)),
    )),
)

FIELDS: dict[str, Field] = {f.name: f for g in GROUPS for f in g.fields}  # every contract field (a test checks)


def defaults() -> dict[str, Any]:
    """The form's initial values: the contract defaults, plus an example so it can be submitted at once."""
    values: dict[str, Any] = {name: f.default for name, f in FIELDS.items()}
    values.update(EXAMPLE_VALUES)
    values["allowed_services"] = list(FIELDS["allowed_services"].choices)
    values["top_k"] = "5"
    values["include_free_tier"] = ""
    return values


def values_of(workload: Workload) -> dict[str, Any]:
    """Form values showing an existing workload (e.g. one read from an uploaded file)."""
    values = defaults()
    for name, value in workload.model_dump(mode="json").items():
        if name == "allowed_services":
            values[name] = list(value) if value else list(FIELDS[name].choices)
        elif isinstance(value, bool):
            values[name] = "true" if value else ""
        elif value is None:
            values[name] = ""
        elif isinstance(value, float) and value.is_integer():
            values[name] = str(int(value))
        else:
            values[name] = str(value)
    return values


@dataclass
class Parsed:
    values: dict[str, Any]          # what to show in the form again (as sent)
    workload: Workload | None       # None when there are errors
    errors: dict[str, list[str]]    # field name -> messages
    top_k: int = 5
    include_free_tier: bool = False


def _first(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return "" if value is None else str(value).strip()


def parse(form: Any, *, regions: Iterable[str] = ()) -> Parsed:
    """A submitted form (a Starlette FormData or any mapping with optional `getlist`) -> Workload or errors."""
    getlist = form.getlist if hasattr(form, "getlist") else (lambda k: list(form.get(k) or []))
    values: dict[str, Any] = {}
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, f in FIELDS.items():
        if f.kind == "checkbox":
            checked = _first(form, name).lower() in ("true", "on", "1", "yes")
            values[name] = "true" if checked else ""
            data[name] = checked
        elif f.kind == "services":
            chosen = [str(v) for v in getlist(name)]
            values[name] = chosen
            if not chosen:
                errors.setdefault(name, []).append("tick at least one service")
            elif set(chosen) != set(f.choices):
                data[name] = chosen
        else:
            text = _first(form, name)
            values[name] = text
            if text:
                data[name] = text
    values["top_k"] = _first(form, "top_k") or "5"
    values["include_free_tier"] = "true" if _first(form, "include_free_tier").lower() in ("true", "on", "1") else ""
    top_k = 5
    try:
        top_k = int(values["top_k"])
        if not 0 <= top_k <= MAX_TOP_K:
            raise ValueError
    except ValueError:
        errors.setdefault("top_k", []).append(f"a whole number from 0 to {MAX_TOP_K}")
    region_problem = unknown_region(str(data.get("region") or ""), regions) if data.get("region") else None
    if region_problem:
        errors.setdefault("region", []).append(region_problem)
    workload = None
    try:
        workload = Workload.model_validate(data)
    except ValidationError as exc:
        for e in field_errors(exc):
            name = str(e["field"]).split(".")[0]
            message = str(e["message"])
            if name == "region" and "region" in errors:
                continue
            errors.setdefault(name if name in FIELDS else "_form", []).append(message)
    if errors:
        workload = None
    return Parsed(values, workload, errors, top_k, values["include_free_tier"] == "true")
