"""One candidate generator per AWS service; `generate_all` runs every one of them for a workload.

Before the generators, the load model sets the replicas a request-shaped service needs (load.py).
After them, every priced option is checked once more against the hard requirements (rules.forbidden:
an option that breaks one is dropped with a rejection, never answered) and annotated with what the
answer must say: the load, how replicas are spread, an arm64 choice for `arch: any`, the GPU vendor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import polars as pl

from advisor.candidates import aws_lambda, batch, beanstalk, containers, ec2, lightsail
from advisor.candidates.base import Candidate, Context, Generated
from advisor.candidates.load import carrying, load
from advisor.candidates.rules import X86_ONLY, forbidden
from advisor.candidates.spread import describe
from advisor.catalog.store import Catalog
from advisor.errors import FactMissing
from models.workload import Arch, Service, Workload

Generator = Callable[..., Generated]

GENERATORS: dict[Service, Generator] = {
    Service.ec2: ec2.generate,
    Service.ecs_ec2: containers.generate_ecs_ec2,
    Service.ecs_fargate: containers.generate_ecs_fargate,
    Service.eks_ec2: containers.generate_eks_ec2,
    Service.eks_fargate: containers.generate_eks_fargate,
    Service.aws_lambda: aws_lambda.generate,
    Service.batch: batch.generate,
    Service.lightsail: lightsail.generate,
    Service.beanstalk: beanstalk.generate,
}


def generate_all(w: Workload, ctx: Context, *, exhaustive: bool = False) -> Generated:
    """Candidates and rejections from every service, in a fixed service order (deterministic)."""
    out = Generated()
    carried = carrying(w)
    for service, generator in GENERATORS.items():
        try:
            got = generator(w if service is Service.aws_lambda else carried, ctx, exhaustive=exhaustive)
        except FactMissing as exc:  # a price or limit this service needs is not in the catalog
            got = Generated().reject(service.value, None, "price_missing", f"{exc}; import newer price data "
                                     "(advisor catalog import) or choose another region")
        if not got.candidates and not any(r.service == service.value for r in got.rejections):
            got.reject(service.value, None, "no_candidate", f"{service.value} produced no priced option")
        out.extend(got)
    return _checked(out, w, carried, ctx.catalog)


def _checked(g: Generated, w: Workload, carried: Workload, catalog: Catalog) -> Generated:
    arch_of = _arches(catalog)
    out = Generated(rejections=list(g.rejections))
    for c in g.candidates:
        arch = candidate_arch(c, arch_of)
        why = forbidden(c, w, arch)
        if why is not None:
            out.reject(c.service, c.purchase_option, "requirement_unmet", f"{c.service} {c.purchase_option}: {why}")
            continue
        out.candidates.append(_annotated(c, w, carried, arch, catalog))
    return out


def candidate_arch(c: Candidate, arch_of: dict[str, str]) -> str | None:
    if "arch" in c.config:
        return c.config["arch"]
    if Service(c.service) in X86_ONLY:
        return "x86_64"
    type_name = c.config.get("instance_type_on_host") or c.instance_type
    return arch_of.get(type_name or "")


_SPECS: dict[str, tuple[dict[str, str], frozenset[str]]] = {}


def _arches(catalog: Catalog) -> dict[str, str]:
    return _type_facts(catalog)[0]


def _type_facts(catalog: Catalog) -> tuple[dict[str, str], frozenset[str]]:
    """Per catalog version: each type's architecture, and the previous-generation types."""
    if catalog.version not in _SPECS:
        _SPECS.clear()
        specs = catalog.specs
        previous = specs.filter(~pl.col("current_generation").fill_null(True))["instance_type"].to_list()
        _SPECS[catalog.version] = (dict(specs.select("instance_type", "arch").iter_rows()), frozenset(previous))
    return _SPECS[catalog.version]


def _annotated(c: Candidate, w: Workload, carried: Workload, arch: str | None, catalog: Catalog) -> Candidate:
    """The sentences an answer owes its reader about this option."""
    notes = list(c.config.get("notes", []))
    extra: dict = {}
    got = load(w)
    if got is not None and c.service != Service.aws_lambda.value:
        extra["load"] = got.words(w)
    replicas = c.config.get("replicas", carried.replicas)
    extra["spread"] = describe(carried, c.service, c.config.get("nodes") or c.config.get("hosts"), replicas)
    if w.arch is Arch.any and arch == "arm64":
        notes.append("arm64 (Graviton): the software and its container images must run on arm64; "
                     "set arch=x86_64 if they do not")
    if w.gpus > 0 and not w.gpu_model:
        vendor = catalog.facts.value("gpus.default_vendor")
        notes.append(f"no gpu_model given: {vendor} GPUs only (CUDA); name a model (e.g. 'Radeon') for others")
    type_name = c.config.get("instance_type_on_host") or c.instance_type
    if type_name in _type_facts(catalog)[1]:
        why = "asked (allow_previous_generation)" if w.allow_previous_generation else "no current type fits"
        notes.append(f"{type_name} is a previous-generation type: {why}")
    if notes:
        extra["notes"] = notes
    return dataclasses.replace(c, config={**c.config, **extra}, shape_fit=shape_fit(c.service, w))


def shape_fit(service: str, w: Workload) -> int:
    """0 when the service is built for the workload's shape: Batch for jobs, anything else for services."""
    is_batch = service == Service.batch.value
    return 0 if is_batch == w.job_shaped else 1

