"""A scenarios file: named what-ifs, each a set of changes to a base estate or portfolio.

Changes of four kinds, all optional in a scenario:
- `prices`: multipliers by purchase option, by service (the prices of a service's own facts), by EC2
  family and by region, applied to the catalog the scenario sees (`advisor.sweep.prices` says exactly how);
- `catalog`: overrides of catalog facts: an instance type's on-demand price in a region and OS, or a scalar
  fact of data/facts by its `topic.name` key;
- `constraints`: portfolio constraint fields (budget, upfront, spot share, quotas, ...), validated as the
  portfolio model validates them (`null` removes one);
- `workloads`: workload fields set on every workload (or on the ones `ids` names), validated as the
  workload model validates each field; the changed workloads are validated whole when the sweep runs.

`load_scenarios` reads YAML (or JSON, a subset) and names the scenario and field of any mistake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from advisor.errors import InputError
from advisor.workload_io import field_errors, message_for
from models.portfolio import PortfolioConstraints
from models.workload import Workload

MAX_SCENARIOS = 1000
PURCHASE_OPTIONS = ("on_demand", "reserved", "savings_plan", "spot")
# A service multiplier scales the prices of these fact topics (data/facts/<topic>.json); `ec2` is every EC2
# instance rate (which ECS/EKS/Batch/Beanstalk on EC2 also pay) and the EC2 fees of data/facts.
SERVICE_TOPICS: dict[str, tuple[str, ...]] = {
    "ec2": ("tenancy", "burstable"),
    "fargate": ("fargate",),
    "lambda": ("lambda",),
    "lightsail": ("lightsail",),
    "ebs": ("ebs",),
    "ecs": ("ecs",),
    "eks": ("eks",),
    "batch": ("batch",),
    "beanstalk": ("beanstalk",),
    "network": ("network",),
}
WORKLOAD_FIELDS = [f for f in Workload.model_fields if f != "id"]

Factor = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False,
                                description="a price multiplier: 1.3 is +30 %, 0.8 is -20 %")]
Service = Literal["ec2", "fargate", "lambda", "lightsail", "ebs", "ecs", "eks", "batch", "beanstalk", "network"]
PurchaseOption = Literal["on_demand", "reserved", "savings_plan", "spot"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriceMultipliers(_Strict):
    """Multipliers on the catalog's prices; where several apply to one price they multiply together."""

    purchase_options: dict[PurchaseOption, Factor] = Field(
        {}, description="EC2 rates of a purchase option (on_demand also moves capacity reservations and "
                        "dedicated on-demand, which bill it); an OS licence fee inside a rate is not multiplied")
    services: dict[Service, Factor] = Field({}, description="the prices of a service's own facts")
    families: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=20)], Factor] = Field(
        {}, description="EC2 instance families (m5, c7g, ...): every rate of their types")
    regions: dict[Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d+$", max_length=30)], Factor] = Field(
        {}, description="EC2 instance rates in a region")

    def is_empty(self) -> bool:
        return not (self.purchase_options or self.services or self.families or self.regions)


class OnDemandPrice(_Strict):
    """An instance type's on-demand price set by the scenario (every rate derived from it follows)."""

    instance_type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", max_length=40)]
    region: Annotated[str, Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d+$", max_length=30)]
    os: Literal["linux", "windows", "rhel", "suse"] = "linux"
    usd_per_hour: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]


class CatalogOverrides(_Strict):
    on_demand: Annotated[list[OnDemandPrice], Field(max_length=10_000)] = []
    facts: dict[Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")], float | int | bool | str] = Field(
        {}, description="a scalar fact of data/facts by its topic.name key (a global fact, not a by-region one)")

    def is_empty(self) -> bool:
        return not (self.on_demand or self.facts)


class WorkloadChanges(_Strict):
    set: dict[str, Any] = Field({}, description="workload fields and their new values")
    ids: list[str] | None = Field(None, description="the workloads (ids) to change; every one when left out")

    @field_validator("set")
    @classmethod
    def _fields_as_the_model(cls, values: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            if name not in WORKLOAD_FIELDS:
                raise ValueError(f"{name!r} is not a workload field that can be changed (`advisor fields` lists "
                                 "them; the id cannot be changed)")
            info = Workload.model_fields[name]
            try:
                out[name] = _field_adapter(name).validate_python(value)
            except ValidationError as exc:
                raise ValueError(f"{name}: {message_for(exc.errors()[0])} (got {value!r})") from None
            if info.annotation is not None and value is None and not _nullable(name):
                raise ValueError(f"{name}: cannot be null")
        return {k: _plain(v) for k, v in out.items()}


def _field_adapter(name: str) -> TypeAdapter:
    info = Workload.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def _nullable(name: str) -> bool:
    try:
        _field_adapter(name).validate_python(None)
        return True
    except ValidationError:
        return False


def _plain(value: Any) -> Any:
    """A validated field value as plain JSON data (enums to their values), so tasks carry plain data."""
    return TypeAdapter(Any).dump_python(value, mode="json")


class Changes(_Strict):
    prices: PriceMultipliers = PriceMultipliers()
    catalog: CatalogOverrides = CatalogOverrides()
    constraints: dict[str, Any] = Field({}, description="portfolio constraint fields (null removes one)")
    workloads: WorkloadChanges = WorkloadChanges()

    @field_validator("constraints")
    @classmethod
    def _constraints_as_the_model(cls, values: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(values) - set(PortfolioConstraints.model_fields))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a portfolio constraint (one of "
                             f"{', '.join(PortfolioConstraints.model_fields)})")
        try:
            checked = PortfolioConstraints.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            raise ValueError("; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))) from None
        dumped = checked.model_dump(mode="json")
        return {k: (dumped[k] if values[k] is not None else None) for k in values}

    def is_empty(self) -> bool:
        return (self.prices.is_empty() and self.catalog.is_empty() and not self.constraints
                and not self.workloads.set)

    def summary(self) -> list[str]:
        """Each change in words, in a fixed order (the answer records them)."""
        out = [f"{kind} {key} x{_factor(v)}" for kind, table in (
            ("purchase option", self.prices.purchase_options), ("service", self.prices.services),
            ("family", self.prices.families), ("region", self.prices.regions)) for key, v in table.items()]
        out += [f"on-demand price {p.instance_type} {p.os} {p.region} = ${p.usd_per_hour}/h"
                for p in self.catalog.on_demand]
        out += [f"fact {k} = {v!r}" for k, v in self.catalog.facts.items()]
        out += [f"constraint {k} = {'removed' if v is None else v}" for k, v in self.constraints.items()]
        scope = "every workload" if self.workloads.ids is None else f"workloads {', '.join(self.workloads.ids)}"
        out += [f"{k} = {v!r} on {scope}" for k, v in self.workloads.set.items()]
        return out


def _factor(value: float) -> str:
    return f"{value:g}"


class Scenario(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
    description: Annotated[str, Field(max_length=2000)] = ""
    changes: Changes = Changes()


class ScenarioFile(_Strict):
    scenarios: Annotated[list[Scenario], Field(min_length=1, max_length=MAX_SCENARIOS)]

    @model_validator(mode="after")
    def _unique_names(self) -> ScenarioFile:
        seen: set[str] = set()
        for s in self.scenarios:
            if s.name in seen:
                raise ValueError(f"scenario {s.name!r} appears twice (names are unique)")
            seen.add(s.name)
        return self


def load_scenarios(path_or_text: str | Path) -> ScenarioFile:
    """Read a scenarios file (a path, or the YAML text itself); InputError names the scenario and field."""
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and Path(path_or_text).is_file()):
        path = Path(path_or_text)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the scenarios file {path}: {exc}", field="scenarios") from None
    else:
        text = str(path_or_text)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"the scenarios file is not valid YAML: {exc}", field="scenarios") from None
    if isinstance(doc, list):
        doc = {"scenarios": doc}
    if not isinstance(doc, dict):
        raise InputError("a scenarios file is a mapping with a `scenarios:` list", field="scenarios")
    return parse_scenarios(doc)


def parse_scenarios(doc: Any) -> ScenarioFile:
    """Validate a scenarios document already parsed (the HTTP door sends JSON)."""
    try:
        return ScenarioFile.model_validate(doc)
    except ValidationError as exc:
        raise InputError(_describe(exc, doc), field=_first_field(exc)) from None


def _describe(exc: ValidationError, doc: Any) -> str:
    parts = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "scenarios" and isinstance(loc[1], int):
            name = _scenario_name(doc, loc[1])
            where = f"scenario {name!r}: " + (".".join(str(p) for p in loc[2:]) or "(the scenario)")
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _scenario_name(doc: Any, index: int) -> str:
    try:
        name = doc["scenarios"][index].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    return str(name) if name else f"#{index + 1}"


def _first_field(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"]) or "scenarios"
