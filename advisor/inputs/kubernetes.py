"""Kubernetes manifests (one or many YAML documents, as `helm template` or `kustomize build` print them).

Workload objects become contract workloads (on an existing cluster: the manifests are applied to one, so its
control plane is not theirs to pay); everything else is listed as skipped with the reason.

* Pod templates: Deployment, StatefulSet, DaemonSet, ReplicaSet and Pod (`spec.template.spec` or `spec`), Job
  and CronJob (`spec.jobTemplate.spec.template.spec`). HorizontalPodAutoscaler sets the target's replicas to at
  least `minReplicas` and its peak to `maxReplicas`.
* The effective pod request, as the scheduler computes it (Kubernetes docs, "Resource Management for Pods and
  Containers" and "Sidecar Containers"): per resource, the larger of (app containers summed + native sidecars,
  i.e. init containers with `restartPolicy: Always`) and (each ordinary init container plus the sidecars started
  before it), plus `spec.overhead`. A container with a limit but no request is requested at its limit.
* Node selectors and required node affinity (`In` terms) for `kubernetes.io/arch`, `kubernetes.io/os`, the
  capacity type (`eks.amazonaws.com/capacityType`, `karpenter.sh/capacity-type`), the instance type
  (`node.kubernetes.io/instance-type`) and family (`karpenter.k8s.aws/instance-family`, a note: the contract has
  no family field). A pinned instance type is how the manifest says it runs (as written: EKS nodes of it).
* CronJob: its schedule (standard cron or @hourly-style macros) gives the runs a month: the runs in a
  non-leap year / 12, times `completions`. A Job does not say how long it runs: `activeDeadlineSeconds` is used
  as an upper bound and labelled an estimate; with none, the duration is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import InputError
from advisor.inputs import quantity
from advisor.inputs.model import AsWritten, Imported, ReadResult, Skipped, Source

FORMAT = "kubernetes"
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"}
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
ARCH = {"amd64": "x86_64", "arm64": "arm64"}
CAPACITY_LABELS = ("eks.amazonaws.com/capacityType", "karpenter.sh/capacity-type")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
FAMILY_LABEL = "karpenter.k8s.aws/instance-family"
GPU_NAME_LABEL = "karpenter.k8s.aws/instance-gpu-name"
NOT_WORKLOADS = {
    "Service", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "Ingress", "IngressClass", "NetworkPolicy", "PodDisruptionBudget", "PersistentVolumeClaim", "PersistentVolume",
    "StorageClass", "Namespace", "CustomResourceDefinition", "LimitRange", "ResourceQuota", "PriorityClass",
    "Endpoints", "EndpointSlice", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)  # a fixed non-leap year: the same count on every run
HELM_SOURCE = re.compile(r"^# Source: (.+)$")


def looks_like(docs: list[Any]) -> bool:
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs)


def documents(text: str) -> Iterator[tuple[int, Any]]:
    """(1-based line, content) of each YAML document; InputError naming the line when one is malformed."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # e.g. a control character: refused before any document is read
        raise InputError(f"not valid YAML ({exc})") from None
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise InputError(f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    finally:
        loader.dispose()


def read(path: Path, text: str) -> ReadResult:
    result = ReadResult(formats=[FORMAT])
    helm = _helm_sources(text)
    objects: list[tuple[dict, Source]] = []
    for line, doc in documents(text):
        for obj in _objects(doc):
            meta = obj.get("metadata") or {}
            name = f"{obj.get('kind')}/{meta.get('namespace') or 'default'}/{meta.get('name') or '?'}"
            where = helm.get(line)
            objects.append((obj, Source(str(path), name + (f" ({where})" if where else ""), str(obj.get("kind")),
                                        line)))
    by_target: dict[tuple[str, str, str], int] = {}
    hpas: list[tuple[dict, Source]] = []
    for obj, source in objects:
        kind = obj.get("kind")
        if kind == "HorizontalPodAutoscaler":
            hpas.append((obj, source))
        elif kind in POD_KINDS:
            try:
                item = _workload(obj, source)
            except InputError as exc:
                result.skipped.append(Skipped(source, str(exc)))
                continue
            if isinstance(item, Skipped):
                result.skipped.append(item)
                continue
            meta = obj.get("metadata") or {}
            by_target[(kind, meta.get("namespace") or "default", meta.get("name") or "")] = len(result.items)
            result.items.append(item)
        elif kind in NOT_WORKLOADS:
            result.skipped.append(Skipped(source, f"not a workload: a {kind} runs no pods of its own"))
        else:
            result.skipped.append(Skipped(source, f"kind {kind} ({obj.get('apiVersion')}) is not read: only "
                                                  f"{', '.join(sorted(POD_KINDS))} and HorizontalPodAutoscaler are"))
    for obj, source in hpas:
        _apply_hpa(obj, source, result, by_target)
    return result


def _objects(doc: Any) -> Iterator[dict]:
    if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
        yield from (o for o in doc["items"] if isinstance(o, dict))
    elif isinstance(doc, dict) and "kind" in doc:
        yield doc


def _helm_sources(text: str) -> dict[int, str]:
    """Document start line -> the `# Source: chart/templates/x.yaml` comment `helm template` writes above it."""
    out: dict[int, str] = {}
    last: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = HELM_SOURCE.match(line)
        if match:
            last = match[1].strip()
        elif line.strip() and not line.startswith("#") and line.strip() != "---" and last is not None:
            out[number] = last
            last = None
    return out


def _template(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    return ((spec.get("template") or {}).get("spec") or {})


def _workload(obj: dict, source: Source) -> Imported | Skipped:
    kind, spec = obj["kind"], obj.get("spec") or {}
    meta = obj.get("metadata") or {}
    if meta.get("ownerReferences"):
        return Skipped(source, "owned by another object (ownerReferences): counted through its owner")
    pod = _template(obj)
    if not pod.get("containers"):
        return Skipped(source, "no pod template with containers")
    fields: dict[str, Any] = {"id": source.address.split(" (")[0].lower(), "packaging": "container",
                              "orchestrator": "kubernetes", "existing_cluster": True}
    unknown: list[str] = []
    notes: list[str] = []
    for resource, name, convert in (("cpu", "vcpu", quantity.cpu_cores), ("memory", "memory_gib",
                                                                            quantity.memory_gib)):
        value = pod_request(pod, resource)
        if value is None:
            unknown.append(f"{name}: no container states a {resource} request or limit")
        else:
            fields[name] = convert(value, resource) if value else None
            if not value:
                unknown.append(f"{name}: the pod requests 0 {resource}")
    gpus = sum((pod_request(pod, r) or Decimal(0)) for r in GPU_RESOURCES)
    if gpus:
        fields["gpus"] = int(gpus)
    scratch = pod_request(pod, "ephemeral-storage")
    if scratch:
        fields["scratch_gib"] = quantity.memory_gib(scratch, "ephemeral-storage")
    replicas = spec.get("replicas", 1) if kind in ("Deployment", "StatefulSet", "ReplicaSet") else 1
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise InputError(f"spec.replicas: must be a whole number >= 0 (got {replicas!r})", field="replicas")
    if replicas == 0:
        return Skipped(source, "spec.replicas is 0 (scaled to zero): nothing runs")
    fields["replicas"] = replicas
    if kind == "StatefulSet":
        fields["stateful"] = True
        storage = sum(quantity.memory_gib(((t.get("spec") or {}).get("resources") or {}).get("requests", {})
                                          .get("storage", 0), "storage")
                      for t in spec.get("volumeClaimTemplates") or [])
        if storage:
            fields["storage_gib"] = storage
    if kind == "DaemonSet":  # EKS on Fargate runs no DaemonSets (EKS user guide, "Fargate considerations")
        fields["allowed_services"] = ("eks_ec2",)
        notes.append("a DaemonSet runs one pod on every node: priced for one node's pod; multiply by the number "
                     "of nodes (EC2 nodes only: Fargate runs no DaemonSets)")
    if kind in ("Job", "CronJob"):
        _job_fields(obj, spec, fields, unknown, notes)
    written = _node_constraints(pod, fields, notes)
    return Imported(source, fields, written, tuple(unknown), tuple(notes))


def container_request(container: dict, resource: str) -> Decimal | None:
    """The container's request for `resource`; its limit when no request is set (Kubernetes' defaulting)."""
    resources = container.get("resources") or {}
    value = (resources.get("requests") or {}).get(resource)
    if value is None:
        value = (resources.get("limits") or {}).get(resource)
    name = container.get("name", "?")
    return None if value is None else quantity.parse(value, what=f"container {name}: {resource}")


def pod_request(pod: dict, resource: str) -> Decimal | None:
    """The effective pod request for `resource` (None when no container states one)."""
    stated = False
    apps = Decimal(0)
    for c in pod.get("containers") or []:
        value = container_request(c, resource)
        stated |= value is not None
        apps += value or 0
    sidecars, init_peak = Decimal(0), Decimal(0)
    for c in pod.get("initContainers") or []:
        value = container_request(c, resource)
        stated |= value is not None
        if c.get("restartPolicy") == "Always":  # a native sidecar: runs beside everything started after it
            sidecars += value or 0
        else:
            init_peak = max(init_peak, (value or 0) + sidecars)
    overhead = (pod.get("overhead") or {}).get(resource)
    if not stated:
        return None
    extra = quantity.parse(overhead, what=f"overhead: {resource}") if overhead is not None else Decimal(0)
    return max(apps + sidecars, init_peak) + extra


def runs_per_month(schedule: str) -> float:
    """Runs a month of a cron schedule: the runs in a whole (non-leap) year / 12."""
    from croniter import croniter

    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        text = text.split(None, 1)[1] if " " in text else ""
    if not croniter.is_valid(text):
        raise InputError(f"spec.schedule: not a cron schedule (got {schedule!r})", field="schedule")
    runs = 0
    it = croniter(text, YEAR_START - _tick())
    end = YEAR_START.replace(year=YEAR_START.year + 1)
    while (it.get_next(datetime)) < end:
        runs += 1
        if runs > 600_000:  # every minute of a year is 525,600
            break
    return runs / 12


def _tick():
    from datetime import timedelta

    return timedelta(seconds=1)


def _job_fields(obj: dict, spec: dict, fields: dict, unknown: list[str], notes: list[str]) -> None:
    job = (spec.get("jobTemplate") or {}).get("spec") or {} if obj["kind"] == "CronJob" else spec
    completions = job.get("completions") or 1
    runs = runs_per_month(str(spec.get("schedule", ""))) if obj["kind"] == "CronJob" else 1.0
    if obj["kind"] == "CronJob":
        notes.append(f"schedule {spec.get('schedule')!r}: {runs:g} runs a month x {completions} completions")
    else:
        notes.append("a Job runs once: priced as one run in a month")
    fields["jobs_per_month"] = runs * completions
    deadline = job.get("activeDeadlineSeconds")
    if isinstance(deadline, int | float) and deadline > 0:
        fields["job_duration_minutes"] = deadline / 60
        notes.append(f"job_duration_minutes {deadline / 60:g} is activeDeadlineSeconds, an upper bound (estimate)")
    else:
        unknown.append("job_duration_minutes: a Job does not say how long it runs (no activeDeadlineSeconds)")


def node_terms(pod: dict) -> dict[str, set[str]]:
    """Label -> allowed values, from nodeSelector and required node affinity (single-term `In` expressions)."""
    out: dict[str, set[str]] = {k: {str(v)} for k, v in (pod.get("nodeSelector") or {}).items()}
    required = (((pod.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if len(terms) == 1:  # several terms are ORed: no single value can be read from them
        for expr in terms[0].get("matchExpressions") or []:
            if expr.get("operator") == "In":
                values = {str(v) for v in expr.get("values") or []}
                out[expr["key"]] = out[expr["key"]] & values if expr["key"] in out else values
    return out


def _node_constraints(pod: dict, fields: dict, notes: list[str]) -> AsWritten | None:
    terms = node_terms(pod)
    arches = {ARCH.get(v, v) for v in terms.get("kubernetes.io/arch", set())}
    if len(arches) == 1:
        fields["arch"] = arches.pop()
    if terms.get("kubernetes.io/os") == {"windows"}:
        fields["os"] = "windows"
    capacity = {v.lower().replace("-", "_") for k in CAPACITY_LABELS for v in terms.get(k, set())}
    market = "spot" if capacity == {"spot"} else "on_demand"
    if market == "spot":
        fields["interruptible"] = True
    if FAMILY_LABEL in terms:
        notes.append(f"instance family limited to {', '.join(sorted(terms[FAMILY_LABEL]))} (not a contract field: "
                     "the advice may name another family)")
    if GPU_NAME_LABEL in terms and len(terms[GPU_NAME_LABEL]) == 1:
        fields["gpu_model"] = next(iter(terms[GPU_NAME_LABEL])).upper()
    types = set().union(*(terms.get(k, set()) for k in INSTANCE_TYPE_LABELS))
    if len(types) == 1:
        return AsWritten(service="eks_ec2", instance_type=types.pop(), on_demand=None, market=market)
    if len(types) > 1:
        notes.append(f"node types {', '.join(sorted(types))}: no single type to price as written")
    return None


def _apply_hpa(obj: dict, source: Source, result: ReadResult, by_target: dict) -> None:
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    namespace = (obj.get("metadata") or {}).get("namespace") or "default"
    index = by_target.get((ref.get("kind"), namespace, ref.get("name")))
    if index is None:
        result.skipped.append(Skipped(source, f"its target {ref.get('kind')}/{namespace}/{ref.get('name')} is not "
                                              "in these files"))
        return
    item = result.items[index]
    low, high = int(spec.get("minReplicas") or 1), spec.get("maxReplicas")
    fields = dict(item.fields)
    fields["replicas"] = max(int(fields.get("replicas", 1)), low)
    if isinstance(high, int) and high >= fields["replicas"]:
        fields["peak_replicas"] = high
    note = (f"HorizontalPodAutoscaler {source.address}: {low}-{high} replicas (peak {high}; costed at the steady "
            f"{fields['replicas']})")
    result.items[index] = Imported(item.source, fields, item.written, item.unknown, (*item.notes, note),
                                   item.action)
