"""What each stated constraint costs: the same workload with that one constraint relaxed, answered again.

Every figure here is a real `recommend()` run on a modified workload (never an estimate of one), so
"requiring dedicated tenancy costs $X a month" is the difference between two answers a person could
reproduce with the CLI. Only constraints the workload actually states are tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from pydantic import ValidationError

from advisor.catalog.store import Catalog
from advisor.errors import AdvisorError
from advisor.recommend import recommend
from models.recommendation import Option, Recommendation
from models.workload import Arch, Ops, Orchestrator, Packaging, Tenancy, Workload

HORIZONS = (12, 36)  # horizons compared with the stated one


@dataclass(frozen=True)
class Relaxation:
    """One change to a stated constraint: which field, what it becomes, and how to say it."""

    key: str
    field: str
    stated: Any
    relaxed: Any
    requirement: str   # "requiring dedicated tenancy": what the stated constraint is, as a phrase
    change: str        # "tolerating interruptions": what the relaxed workload does instead
    kind: str = "constraint"  # constraint | horizon | preference
    changes: dict[str, Any] = dc_field(default_factory=dict)


@dataclass(frozen=True)
class WhatIf:
    """The answer with one constraint relaxed, next to the answer as stated."""

    relaxation: Relaxation
    stated_monthly_usd: float | None
    monthly_usd: float | None          # the relaxed workload's choice (None: still nothing fits)
    upfront_usd: float | None
    choice: Option | None
    error: str | None = None

    @property
    def key(self) -> str:
        return self.relaxation.key

    @property
    def saving_usd(self) -> float | None:
        """Stated cost minus relaxed cost: what the constraint costs (negative: relaxing it costs more)."""
        if self.stated_monthly_usd is None or self.monthly_usd is None:
            return None
        return round(self.stated_monthly_usd - self.monthly_usd, 2)

    @property
    def sentence(self) -> str:
        r = self.relaxation
        if self.error:
            return f"{_cap(r.change)}: could not be answered ({self.error})."
        if self.monthly_usd is None:
            if self.stated_monthly_usd is None:
                if r.kind == "horizon":
                    return f"{_cap(r.change)}, there would still be no placement that meets every requirement."
                return f"{_cap(r.change)} would still leave no placement that meets every other requirement."
            return f"{_cap(r.change)} would leave no placement (this should not happen; please report it)."
        if self.stated_monthly_usd is None:
            return (f"Nothing meets every requirement as stated; {r.change} would make it possible, "
                    f"at {usd(self.monthly_usd)} a month.")
        saving = self.saving_usd or 0.0
        if r.kind == "horizon":
            if abs(saving) < 0.005:
                return f"{_cap(r.change)}, the monthly cost would be the same, {usd(self.monthly_usd)}."
            direction = "lower" if saving > 0 else "higher"
            return (f"{_cap(r.change)}, the monthly cost would be {usd(self.monthly_usd)}, "
                    f"{usd(abs(saving))} {direction}.")
        if abs(saving) < 0.005:
            return f"{_cap(r.requirement)} costs nothing extra: {r.change} would not lower the cost."
        if saving > 0:
            return (f"{_cap(r.requirement)} costs {usd(saving)} a month: {r.change} would save {usd(saving)} "
                    f"({usd(self.monthly_usd)} instead of {usd(self.stated_monthly_usd)}).")
        return (f"{_cap(r.change)} would cost {usd(-saving)} a month more ({usd(self.monthly_usd)}): "
                f"the choice changes because the ops preference weighs services differently.")

    def as_dict(self) -> dict[str, Any]:
        c = self.choice
        return {
            "key": self.key, "field": self.relaxation.field, "kind": self.relaxation.kind,
            "stated": _plain(self.relaxation.stated), "relaxed": _plain(self.relaxation.relaxed),
            "requirement": self.relaxation.requirement, "change": self.relaxation.change,
            "stated_monthly_usd": self.stated_monthly_usd, "monthly_usd": self.monthly_usd,
            "upfront_usd": self.upfront_usd, "saving_usd": self.saving_usd, "sentence": self.sentence,
            "choice": None if c is None else {"service": c.service, "instance_type": c.instance_type,
                                              "count": c.count, "purchase_option": c.purchase_option,
                                              "term": c.term, "payment": c.payment, "tenancy": c.tenancy},
            "error": self.error,
        }


def usd(value: float) -> str:
    return f"${value:,.2f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def relaxations(w: Workload) -> list[Relaxation]:
    """Every constraint this workload states, each with the change that removes it (in a stable order)."""
    return list(_relaxations(w))


def _relaxations(w: Workload) -> Iterator[Relaxation]:
    if w.tenancy is not Tenancy.shared:
        what = "dedicated tenancy" if w.tenancy is Tenancy.dedicated else "a Dedicated Host"
        yield Relaxation("tenancy", "tenancy", w.tenancy, Tenancy.shared, f"requiring {what}",
                         "allowing shared tenancy", changes={"tenancy": Tenancy.shared})
    if w.byol:
        yield Relaxation("byol", "byol", True, False, "bringing your own per-core licence (a Dedicated Host)",
                         "using licence-included pricing", changes={"byol": False})
    if not w.interruptible:
        if w.stateful:
            yield Relaxation("interruptible", "interruptible", False, True, "not tolerating interruptions",
                             "tolerating interruptions (and keeping no state on the instance)",
                             changes={"interruptible": True, "stateful": False})
        else:
            yield Relaxation("interruptible", "interruptible", False, True, "not tolerating interruptions",
                             "tolerating interruptions", changes={"interruptible": True})
    if w.stateful:
        yield Relaxation("stateful", "stateful", True, False, "keeping state on the instance",
                         "keeping no state on the instance", changes={"stateful": False})
    if w.capacity_guarantee:
        yield Relaxation("capacity_guarantee", "capacity_guarantee", True, False, "guaranteeing capacity",
                         "doing without reserved capacity", changes={"capacity_guarantee": False})
    if w.arch is not Arch.any:
        yield Relaxation("arch", "arch", w.arch, Arch.any, f"requiring {w.arch.value}",
                         "running on either architecture (x86_64 or arm64)", changes={"arch": Arch.any})
    if w.gpu_model is not None:
        yield Relaxation("gpu_model", "gpu_model", w.gpu_model, None, f"requiring {w.gpu_model} GPUs",
                         "accepting any GPU model", changes={"gpu_model": None})
    if w.os.value != "linux":
        yield Relaxation("os", "os", w.os, "linux", f"running {w.os.value}", "running Linux instead",
                         changes={"os": "linux"})
    if w.packaging is not Packaging.any:
        yield Relaxation("packaging", "packaging", w.packaging, Packaging.any,
                         f"shipping it as a {w.packaging.value}", "shipping it in any form",
                         changes={"packaging": Packaging.any})
    if w.orchestrator is not Orchestrator.none:
        yield Relaxation("orchestrator", "orchestrator", w.orchestrator, Orchestrator.none,
                         f"committing to {w.orchestrator.value}", "not committing to an orchestrator",
                         changes={"orchestrator": Orchestrator.none})
    if w.allowed_services is not None:
        listed = ", ".join(s.value for s in w.allowed_services)
        yield Relaxation("allowed_services", "allowed_services", w.allowed_services, None,
                         f"allowing only {listed}", "allowing every service", changes={"allowed_services": None})
    if w.max_monthly_usd is not None:
        yield Relaxation("max_monthly_usd", "max_monthly_usd", w.max_monthly_usd, None,
                         f"the monthly cap of {usd(w.max_monthly_usd)}", "dropping the monthly cap",
                         changes={"max_monthly_usd": None})
    if w.max_upfront_usd is not None:
        yield Relaxation("max_upfront_usd", "max_upfront_usd", w.max_upfront_usd, None,
                         f"the upfront cap of {usd(w.max_upfront_usd)}", "dropping the upfront cap",
                         changes={"max_upfront_usd": None})
    if w.ops is not Ops.balanced:
        yield Relaxation("ops", "ops", w.ops, Ops.balanced, f"preferring '{w.ops.value}' operations",
                         "weighing every service by cost alone (ops 'balanced')", kind="preference",
                         changes={"ops": Ops.balanced})
    for months in HORIZONS:
        if months != w.horizon_months:
            yield Relaxation(f"horizon_{months}", "horizon_months", w.horizon_months, months,
                             f"a {w.horizon_months}-month horizon",
                             f"if it ran {months} months instead of {w.horizon_months}", kind="horizon",
                             changes={"horizon_months": months})


def relaxed_workload(w: Workload, r: Relaxation) -> Workload:
    """The workload with one relaxation applied (validated again: a relaxed workload is still a workload)."""
    return Workload.model_validate({**w.model_dump(), **r.changes})


Recommender = Callable[[Workload], Recommendation]


def what_ifs(w: Workload, stated: Recommendation, *, catalog: Catalog | None = None,
             include_free_tier: bool = False, time_limit_s: float = 5.0,
             recommender: Recommender | None = None) -> list[WhatIf]:
    """For each constraint `w` states, the answer with that constraint relaxed (one recommend() each)."""
    def default(x: Workload) -> Recommendation:
        return recommend(x, catalog=catalog, include_free_tier=include_free_tier, time_limit_s=time_limit_s)

    run = recommender or default
    stated_cost = stated.choice.monthly_usd if stated.choice else None
    out = []
    for r in relaxations(w):
        try:
            rec = run(relaxed_workload(w, r))
        except (ValidationError, AdvisorError) as exc:
            out.append(WhatIf(r, stated_cost, None, None, None, error=str(exc).splitlines()[0]))
            continue
        c = rec.choice
        out.append(WhatIf(r, stated_cost, c.monthly_usd if c else None, c.upfront_usd if c else None, c))
    return out
