"""How an answer reads to a person, the same at the terminal and on the review page.

Money with its sign before the dollar ("-$181.64"), numbers rounded for people, labels that tell options
apart (architecture, plan type, term, payment), "what runs" for every option, options that differ only in
a label folded into one row with a note, and the `top_k` a person asked for. The JSON answer is the
contract and keeps every figure exactly; this module only shapes what is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SERVICE_NAMES = {
    "ec2": "EC2", "ecs_ec2": "ECS on EC2", "ecs_fargate": "ECS on Fargate", "eks_ec2": "EKS on EC2",
    "eks_fargate": "EKS on Fargate", "lambda": "Lambda", "batch": "AWS Batch", "lightsail": "Lightsail",
    "beanstalk": "Elastic Beanstalk",
}
ARCH_NAMES = {"arm64": "arm64 (Graviton)", "x86_64": "x86"}
# A long decimal not part of a price ("15.01666667 min"): people read it rounded. Prices ($0.0000166667) stay.
LONG_DECIMAL = re.compile(r"(?<![$\d.])(\d+\.\d{5,})")


def _get(o: Any) -> Any:
    return o.get if isinstance(o, dict) else (lambda k, d=None: getattr(o, k, d))


def usd(value: Any) -> str:
    """'$1,234.50', '-$181.64'; '—' when there is no figure."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"-${-float(value):,.2f}" if float(value) < 0 else f"${float(value):,.2f}"


def number(value: float) -> str:
    """A quantity for people: whole numbers with separators, else at most 2 decimals (3 significant below 1)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def tidy(text: str) -> str:
    """Long decimals in a sentence rounded for people ('15.01666667 min' -> '15.02 min'); prices untouched."""
    return LONG_DECIMAL.sub(lambda m: number(float(m.group(1))), text)


def service_name(service: Any) -> str:
    return SERVICE_NAMES.get(str(service), str(service))


def purchase(o: Any) -> str:
    """'EC2 instance savings plan, 3yr, all upfront', 'reserved instance (convertible), 1yr, no upfront', ..."""
    get = _get(o)
    kind = str(get("purchase_option") or "")
    fargate = "fargate" in str(get("service") or "") or str((get("config") or {}).get("compute_environment", "")) \
        .startswith("FARGATE")
    words = {"on_demand": "on-demand", "spot": "Fargate Spot" if fargate else "Spot",
             "capacity_reservation": "On-Demand Capacity Reservation", "scheduled": "Scheduled Instances"}
    if kind == "reserved":
        text = f"reserved instance ({get('offering_class') or 'standard'})"
    elif kind == "savings_plan":
        plan = {"ec2_instance": "EC2 instance", "compute": "compute"}.get(str(get("plan_type") or ""), "")
        text = f"{plan} savings plan".strip()
    else:
        text = words.get(kind, kind.replace("_", " "))
    extra = [str(v).replace("_", " ") for v in (get("term"), get("payment")) if v]
    return ", ".join([text, *extra])


def _plural(n: Any, word: str) -> str:
    return f"{number(n)} {word}{'' if n == 1 else 's'}"


def what_runs(o: Any) -> str:
    """What is running, for every option: instances or nodes, tasks and their size, a function, a bundle."""
    get = _get(o)
    service, count, config = str(get("service") or ""), get("count") or 0, dict(get("config") or {})
    arch = ARCH_NAMES.get(str(config.get("arch")), "")
    if service == "lambda":
        memory = config.get("memory_mb")
        return ", ".join(p for p in (f"a function of {number(memory)} MB" if memory else "a function", arch) if p)
    if "task_vcpu" in config:
        unit = "pod" if service.startswith("eks") else "job" if service == "batch" else "task"
        size = f"{number(config['task_vcpu'])} vCPU, {number(config.get('task_memory_gib', 0))} GiB"
        on = " on Fargate Spot" if config.get("compute_environment") == "FARGATE_SPOT" or (
            get("purchase_option") == "spot") else " on Fargate"
        head = f"{_plural(count, unit)} of {size}" if service != "batch" else f"jobs of {size}"
        return ", ".join(p for p in (head + on, arch) if p)
    instance = get("instance_type")
    if not instance:  # a CSV row carries no config: the count in the service's own unit
        unit = "pod" if service == "eks_fargate" else "job" if service == "batch" else "task" \
            if "fargate" in service else "unit"
        return _plural(count, unit) + (" on Fargate" if unit != "unit" else "") if count else ""
    if service == "lightsail":
        return f"{count} x Lightsail {instance}"
    if "replicas_per_node" in config:
        nodes = config.get("nodes", count)
        text = f"{_plural(nodes, 'node')} {instance}, up to {_plural(config['replicas_per_node'], 'replica')} each"
        return text + (" (while jobs run)" if service == "batch" else "")
    text = f"{count} x {instance}"
    if service == "beanstalk" and config.get("tier") == "worker":
        text += " (worker tier, SQS queue)"
    return text


def label(o: Any) -> str:
    """One line that tells an option from every other: service, what runs, how it is bought, tenancy."""
    get = _get(o)
    parts = [service_name(get("service")), what_runs(o), purchase(o)]
    if get("tenancy") not in (None, "shared"):
        parts.append(f"{get('tenancy')} tenancy")
    return " · ".join(p for p in parts if p)


@dataclass
class Row:
    """One row a person reads: an option, and the options folded into it (same price, another label)."""

    option: Any
    twins: list[Any] = field(default_factory=list)

    @property
    def label(self) -> str:
        return label(self.option)

    @property
    def note(self) -> str:
        if not self.twins:
            return ""
        return "same price as " + "; ".join(purchase(t) for t in self.twins)


def _twin_key(o: Any) -> tuple:
    """Options equal in everything a person pays and runs (the purchase label aside) share this key."""
    get = _get(o)
    config = {k: v for k, v in (get("config") or {}).items() if k != "compute_environment"}
    return (get("service"), get("instance_type"), get("count"), get("tenancy"), round(get("monthly_usd") or 0, 2),
            round(get("upfront_usd") or 0, 2), get("interruption_risk"), str(sorted(config.items())))


def fold(options: Sequence[Any]) -> list[Row]:
    """Options in order, each folded into the first earlier one it is a twin of."""
    rows: dict[tuple, Row] = {}
    for o in options:
        key = _twin_key(o)
        if key in rows:
            rows[key].twins.append(o)
        else:
            rows[key] = Row(o)
    return list(rows.values())


@dataclass
class Alternatives:
    """What a reader is shown: the choice (with its twins), the best `top_k` other rows, then the best row of
    each service not shown yet."""

    choice: Row | None
    top: list[Row]
    other_services: list[Row]
    hidden: int  # options of the answer in none of these rows (the JSON answer has them all)


def alternatives(choice: Any, options: Sequence[Any], top_k: int) -> Alternatives:
    rows = fold([*([choice] if choice is not None else []), *options])
    chosen = rows.pop(0) if choice is not None else None
    top = rows[:top_k]
    shown = {_get(r.option)("service") for r in [*top, *([chosen] if chosen else [])]}
    others: list[Row] = []
    for r in rows[top_k:]:
        service = _get(r.option)("service")
        if service not in shown:
            others.append(r)
            shown.add(service)
    listed = sum(1 + len(r.twins) for r in [*top, *others]) + (len(chosen.twins) if chosen else 0)
    return Alternatives(chosen, top, others, len(options) - listed)


def saving_sentence(savings: float | None) -> str:
    """'saves $106.17 a month', 'costs $181.64 a month more', or '' without a baseline."""
    if savings is None:
        return ""
    if savings >= 0.005:
        return f"saves {usd(savings)} a month"
    if savings <= -0.005:
        return f"costs {usd(-savings)} a month more"
    return "costs the same"
