"""ECS task definitions (as `aws ecs describe-task-definition` prints them, or as registered) and services.

Sizes (AWS, "Amazon ECS task definition parameters"): task-level `cpu` is CPU units (1,024 per vCPU) or a
string like "1 vCPU"; task-level `memory` is MiB or a string like "2 GB". Without task-level sizes (EC2 launch
type) the task is the sum of its containers: `cpu` units, and `memory` (the hard limit) or else
`memoryReservation` (the soft limit) in MiB. GPUs: `resourceRequirements` of type GPU. `requiresCompatibilities`
FARGATE means Fargate (as written: a Fargate task of the task-level size); `runtimePlatform` gives the OS family
and CPU architecture. A service gives the desired count and the launch type or capacity providers (FARGATE,
FARGATE_SPOT: `base` tasks first, the rest split by `weight`). A task definition that no service runs is priced
as one task, and says so. The same rules read Terraform's aws_ecs_task_definition (see terraform.py).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import InputError
from advisor.inputs.model import AsWritten, Imported, ReadResult, Skipped, Source

FORMAT = "ecs"
UNITS_PER_VCPU = 1024
ARCH = {"X86_64": "x86_64", "ARM64": "arm64"}
SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>vcpu|gb|mb|mib|gib)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TaskDef:
    family: str
    cpu: str | None
    memory: str | None
    compatibilities: tuple[str, ...]
    os_family: str | None
    arch: str | None
    containers: tuple[dict, ...]
    revision: int | None = None


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    task_family: str | None
    desired: int | None
    launch_type: str | None
    strategy: tuple[tuple[str, int, int], ...] = field(default=())  # (provider, weight, base)


def looks_like(doc: Any) -> bool:
    docs = doc if isinstance(doc, list) else [doc]
    return any(isinstance(d, dict) and ("taskDefinition" in d or "containerDefinitions" in d or "services" in d
                                        or "taskDefinitions" in d) for d in docs)


def family_of(reference: str | None) -> str | None:
    """'arn:aws:ecs:...:task-definition/web:7', 'web:7' or 'web' -> 'web'."""
    if not reference:
        return None
    return reference.rsplit("/", 1)[-1].split(":")[0]


def task_from_api(d: dict) -> TaskDef:
    platform = d.get("runtimePlatform") or {}
    containers = d.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        raise InputError("containerDefinitions: a task definition needs at least one container",
                         field="containerDefinitions")
    return TaskDef(family=str(d.get("family") or "?"), cpu=_text(d.get("cpu")), memory=_text(d.get("memory")),
                   compatibilities=tuple(d.get("requiresCompatibilities") or d.get("compatibilities") or ()),
                   os_family=platform.get("operatingSystemFamily"), arch=platform.get("cpuArchitecture"),
                   containers=tuple(c for c in containers if isinstance(c, dict)), revision=d.get("revision"))


def service_from_api(d: dict) -> ServiceSpec:
    strategy = tuple((str(s.get("capacityProvider")), int(s.get("weight") or 0), int(s.get("base") or 0))
                     for s in d.get("capacityProviderStrategy") or [])
    return ServiceSpec(name=str(d.get("serviceName") or "?"), task_family=family_of(d.get("taskDefinition")),
                       desired=d.get("desiredCount"), launch_type=d.get("launchType"), strategy=strategy)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def task_vcpu(text: str, what: str = "cpu") -> float:
    match = SIZE.match(text)
    if not match or (match["unit"] and match["unit"].lower() != "vcpu"):
        raise InputError(f"{what}: not CPU units or vCPU (got {text!r})", field=what)
    n = float(match["n"])
    return n if match["unit"] else n / UNITS_PER_VCPU


def task_memory_gib(text: str, what: str = "memory") -> float:
    match = SIZE.match(text)
    if not match or (match["unit"] and match["unit"].lower() == "vcpu"):
        raise InputError(f"{what}: not MiB or GB (got {text!r})", field=what)
    n, unit = float(match["n"]), (match["unit"] or "mib").lower()
    return n if unit in ("gb", "gib") else n / 1024


def task_workload(task: TaskDef, service: ServiceSpec | None, source: Source, workload_id: str,
                  region: str | None = None, action: str = "present") -> Imported:
    """One workload for a task definition (and the service running it, when known)."""
    fields: dict[str, Any] = {"id": workload_id, "packaging": "container", "orchestrator": "ecs"}
    if region:
        fields["region"] = region
    unknown: list[str] = []
    notes: list[str] = []
    cpu_units = [c.get("cpu") for c in task.containers]
    if task.cpu is not None:
        fields["vcpu"] = task_vcpu(task.cpu)
    elif any(u for u in cpu_units):
        fields["vcpu"] = sum(float(u or 0) for u in cpu_units) / UNITS_PER_VCPU
        notes.append("vCPU: the containers' cpu units summed (no task-level cpu)")
    else:
        unknown.append("vcpu: neither the task nor any container states cpu")
    if task.memory is not None:
        fields["memory_gib"] = task_memory_gib(task.memory)
    else:
        per = [c.get("memory") or c.get("memoryReservation") for c in task.containers]
        if any(m is None for m in per):
            unknown.append("memory_gib: a container states neither memory nor memoryReservation and the task "
                           "has no task-level memory")
        else:
            fields["memory_gib"] = sum(float(m) for m in per) / 1024
            notes.append("memory: the containers' memory (hard limit, else memoryReservation) summed")
    gpus = sum(int(r.get("value", 0)) for c in task.containers for r in c.get("resourceRequirements") or []
               if str(r.get("type", "")).upper() == "GPU")
    if gpus:
        fields["gpus"] = gpus
    if task.os_family and task.os_family.upper().startswith("WINDOWS"):
        fields["os"] = "windows"
    if task.arch:
        fields["arch"] = ARCH.get(task.arch.upper(), "any")
    count = service.desired if service is not None else 1
    if service is None:
        notes.append("no service runs this task definition here: priced as one task")
    elif count is None:
        unknown.append("replicas: the service's desired count is not given")
    elif count == 0:
        notes.append("the service's desired count is 0: nothing runs")
    if isinstance(count, int) and count > 0:
        fields["replicas"] = count
    written = _written(task, service, fields, count if isinstance(count, int) else None, notes)
    if written is not None and written.spot:
        fields["interruptible"] = True
    return Imported(source, fields, written, tuple(unknown), tuple(notes), action)


def _written(task: TaskDef, service: ServiceSpec | None, fields: dict, count: int | None,
             notes: list[str]) -> AsWritten | None:
    providers = {p for p, _, _ in service.strategy} if service else set()
    launch = (service.launch_type if service else None) or ("FARGATE" if "FARGATE" in task.compatibilities
                                                            and not providers else None)
    fargate = launch == "FARGATE" or (providers and providers <= {"FARGATE", "FARGATE_SPOT"})
    if not fargate:
        notes.append("runs on the cluster's EC2 capacity (not in this file): no as-written price")
        return None
    if count is None or "vcpu" not in fields or "memory_gib" not in fields:
        return None
    on_demand, spot = split_providers(service.strategy, count) if providers else (count, 0)
    market = "mixed" if on_demand and spot else ("spot" if spot else "on_demand")
    return AsWritten(service="ecs_fargate", on_demand=on_demand, spot=spot, market=market, task_vcpu=fields["vcpu"],
                     task_memory_gib=fields["memory_gib"], arch=fields.get("arch", "x86_64"))


def split_providers(strategy: tuple[tuple[str, int, int], ...], count: int) -> tuple[int, int]:
    """(FARGATE tasks, FARGATE_SPOT tasks): each provider's `base` first, the rest by `weight`.

    Rounding: the Spot share is rounded down (an assumption: AWS does not document the rounding)."""
    base = {p: b for p, _, b in strategy}
    weight = {p: w for p, w, _ in strategy}
    od, spot = min(base.get("FARGATE", 0), count), 0
    spot = min(base.get("FARGATE_SPOT", 0), count - od)
    rest = count - od - spot
    total = weight.get("FARGATE", 0) + weight.get("FARGATE_SPOT", 0)
    extra_spot = math.floor(rest * weight.get("FARGATE_SPOT", 0) / total) if total else 0
    return od + rest - extra_spot, spot + extra_spot


def read(path: Path, doc: Any, text: str = "") -> ReadResult:
    """Task definitions and services from one JSON file (one object, a list, or describe-* output)."""
    result = ReadResult(formats=[FORMAT])
    text_lines = text.splitlines()
    tasks: list[tuple[TaskDef, Source]] = []
    services: list[ServiceSpec] = []
    for obj in doc if isinstance(doc, list) else [doc]:
        if not isinstance(obj, dict):
            result.skipped.append(Skipped(Source(str(path), "?", "?"), "not a JSON object"))
            continue
        for d in _task_dicts(obj):
            source = Source(str(path), f"task-definition/{d.get('family', '?')}", "TaskDefinition",
                            _line(text_lines, f'"family": "{d.get("family")}"'))
            try:
                tasks.append((task_from_api(d), source))
            except InputError as exc:
                result.skipped.append(Skipped(source, str(exc)))
        services += [service_from_api(s) for s in obj.get("services") or [] if isinstance(s, dict)]
        if "serviceName" in obj:
            services.append(service_from_api(obj))
    by_family = {s.task_family: s for s in services}
    for task, source in tasks:
        service = by_family.pop(task.family, None)
        wid = f"ecs/{service.name}" if service else f"ecs/{task.family}"
        try:
            result.items.append(task_workload(task, service, source, wid))
        except InputError as exc:
            result.skipped.append(Skipped(source, str(exc)))
    for service in by_family.values():
        result.skipped.append(Skipped(Source(str(path), f"service/{service.name}", "Service"),
                                      f"its task definition {service.task_family!r} is not in this file"))
    return result


def _task_dicts(obj: dict) -> list[dict]:
    if isinstance(obj.get("taskDefinition"), dict):
        return [obj["taskDefinition"]]
    if isinstance(obj.get("taskDefinitions"), list):
        return [t for t in obj["taskDefinitions"] if isinstance(t, dict)]
    return [obj] if "containerDefinitions" in obj else []


def _line(lines: list[str], needle: str) -> int | None:
    compact = needle.replace(" ", "")
    return next((n for n, line in enumerate(lines, start=1) if compact in line.replace(" ", "")), None)


def containers_from_string(value: Any, what: str = "container_definitions") -> list[dict]:
    """Terraform's container_definitions: a JSON string (jsonencode) of the API's containerDefinitions."""
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise InputError(f"{what}: not a JSON string of container definitions ({exc})", field=what) from None
    if not isinstance(parsed, list):
        raise InputError(f"{what}: must be a JSON list of container definitions", field=what)
    return parsed
