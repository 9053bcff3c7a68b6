"""Terraform / OpenTofu plan JSON (`terraform show -json plan.out`), the documented JSON output format.

The estate is the plan's *after* state: every `resource_changes` entry (or, for a file with no changes section,
every resource under `planned_values`, walking nested `child_modules`), keyed by its address. `delete` is listed
as skipped (it will not run); `["delete", "create"]` and `["create", "delete"]` are `replace`. A value unknown
at plan time (`after_unknown`) is reported as unknown, never priced. Read resource types:

* aws_instance (instance_type, tenancy, instance_market_options spot); instances from one block (`count`,
  `for_each`) with the same settings are one workload with that many replicas;
* aws_autoscaling_group with its aws_launch_template (found by name, or by the configuration's references),
  including a mixed instances policy: `on_demand_base_capacity` first, then
  `on_demand_percentage_above_base_capacity` of the rest on On-Demand, rounded up in favour of On-Demand (an
  assumption: AWS does not document the rounding), the remainder Spot; priced at the first override
  (the highest priority type); desired capacity (else the minimum), peak = max_size;
* aws_eks_node_group (instance_types, default t3.medium; capacity_type; scaling_config; ami_type's architecture
  and OS);
* aws_ecs_task_definition (container_definitions is a JSON string) with aws_ecs_service (desired_count,
  launch_type or capacity_provider_strategy; the task definition by reference or by family);
* aws_lambda_function (memory_size, default 128 MB; architectures): its load is not in a plan, so it is unknown;
* aws_lightsail_instance (bundle_id);
* aws_batch_compute_environment: what runs on it is not in a plan, so it is unknown.

The region is the resource's own `region` (AWS provider 6), else its provider configuration's `region` (a
constant, or a root variable's value).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import InputError
from advisor.inputs import ecs
from advisor.inputs.model import AsWritten, Imported, ReadResult, Skipped, Source

FORMAT = "terraform"
INDEX = re.compile(r"\[[^\]]*\]")
ADDRESS_LINE = re.compile(r'"address":\s*("(?:[^"\\]|\\.)*")')
READ_TYPES = ("aws_instance", "aws_autoscaling_group", "aws_launch_template", "aws_eks_node_group",
              "aws_ecs_task_definition", "aws_ecs_service", "aws_lambda_function", "aws_lightsail_instance",
              "aws_batch_compute_environment")
EKS_DEFAULT_TYPE = "t3.medium"  # the provider's default instance_types for aws_eks_node_group
LAMBDA_DEFAULT_MB = 128


def looks_like(doc: Any) -> bool:
    return isinstance(doc, dict) and "format_version" in doc and any(
        k in doc for k in ("planned_values", "resource_changes", "values"))


@dataclass(frozen=True)
class Resource:
    """One resource instance in the plan's after state."""

    address: str
    type: str
    mode: str
    values: dict
    unknown: dict
    action: str
    provider_key: str | None

    @property
    def block(self) -> str:
        """The configuration address: module path and resource without instance keys."""
        return INDEX.sub("", self.address)

    @property
    def module(self) -> str:
        head, _, _ = self.block.rpartition(f"{self.type}.")
        return head

    def is_unknown(self, *path: str | int) -> bool:
        node: Any = self.unknown
        for key in path:
            if isinstance(node, bool):
                return node
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                return False
        return node is True


def action_of(actions: list[str]) -> str:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return actions[0] if len(actions) == 1 else "-".join(actions)


def resources(doc: dict) -> list[Resource]:
    changes = doc.get("resource_changes")
    if isinstance(changes, list):
        out = []
        for rc in changes:
            change = rc.get("change") or {}
            action = action_of(change.get("actions") or ["no-op"])
            values = change.get("before") if action == "delete" else change.get("after")
            out.append(Resource(rc["address"], rc.get("type", ""), rc.get("mode", "managed"), values or {},
                                change.get("after_unknown") or {} if action != "delete" else {}, action,
                                rc.get("provider_name")))
        return out
    root = (doc.get("planned_values") or doc.get("values") or {}).get("root_module") or {}
    return [Resource(r["address"], r.get("type", ""), r.get("mode", "managed"), r.get("values") or {}, {}, "no-op",
                     r.get("provider_name")) for r in _walk(root)]


def _walk(module: dict) -> list[dict]:
    out = list(module.get("resources") or [])
    for child in module.get("child_modules") or []:
        out += _walk(child)
    return out


@dataclass(frozen=True)
class Config:
    """The configuration section: each block's expressions (for references) and its provider's region."""

    blocks: dict[str, dict]
    regions: dict[str, str | None]
    default_region: str | None

    def region(self, res: Resource) -> str | None:
        if isinstance(res.values.get("region"), str):
            return res.values["region"]
        key = (self.blocks.get(res.block) or {}).get("provider_config_key")
        return self.regions.get(key, self.default_region) if key else self.default_region

    def references(self, res: Resource, *path: str | int) -> list[str]:
        """Every reference under an expression path, made absolute (prefixed with the block's module)."""
        node: Any = (self.blocks.get(res.block) or {}).get("expressions") or {}
        for key in path:
            if isinstance(node, list) and node and isinstance(key, int):
                node = node[key] if key < len(node) else {}
            elif isinstance(node, dict):
                node = node.get(key, {})
        return [res.module + r for r in _all_references(node)]


def _all_references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = list(node.get("references") or []) if isinstance(node.get("references"), list) else []
        return own + [r for k, v in node.items() if k != "references" for r in _all_references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _all_references(v)]
    return []


def config(doc: dict) -> Config:
    conf = doc.get("configuration") or {}
    variables = {k: (v or {}).get("value") for k, v in (doc.get("variables") or {}).items()}
    regions: dict[str, str | None] = {}
    for key, provider in (conf.get("provider_config") or {}).items():
        if provider.get("name") != "aws":
            continue
        expr = (provider.get("expressions") or {}).get("region") or {}
        value = expr.get("constant_value")
        if value is None:
            refs = [r for r in expr.get("references") or [] if r.startswith("var.")]
            value = variables.get(refs[0][4:]) if refs and ":" not in key else None
        regions[key] = value if isinstance(value, str) else None
    blocks: dict[str, dict] = {}
    _blocks(conf.get("root_module") or {}, "", blocks)
    return Config(blocks, regions, regions.get("aws"))


def _blocks(module: dict, prefix: str, out: dict[str, dict]) -> None:
    for r in module.get("resources") or []:
        out[prefix + r["address"]] = r
    for name, call in (module.get("module_calls") or {}).items():
        _blocks(call.get("module") or {}, f"{prefix}module.{name}.", out)


def address_lines(text: str) -> dict[str, int]:
    """Address -> the first line that names it (plans printed on one line give no useful lines)."""
    lines: dict[str, int] = {}
    if text.count("\n") < 2:
        return lines
    for number, line in enumerate(text.splitlines(), start=1):
        for match in ADDRESS_LINE.finditer(line):
            lines.setdefault(json.loads(match[1]), number)
    return lines


class Reader:
    """One plan: resources by address and by type, the configuration, and the result being built."""

    def __init__(self, path: Path, doc: dict, text: str):
        self.path, self.doc = path, doc
        self.lines = address_lines(text)
        self.config = config(doc)
        self.all = resources(doc)
        self.by_block: dict[str, list[Resource]] = defaultdict(list)
        for r in self.all:
            self.by_block[r.block].append(r)
        self.result = ReadResult(formats=[FORMAT])
        self.used: set[str] = set()

    def source(self, res: Resource) -> Source:
        return Source(str(self.path), res.address, res.type, self.lines.get(res.address))

    def skip(self, res: Resource, reason: str) -> None:
        self.result.skipped.append(Skipped(self.source(res), reason))

    def add(self, res: Resource, fields: dict, written: AsWritten | None, unknown: list[str], notes: list[str]
            ) -> None:
        region = self.config.region(res)
        if region:
            fields.setdefault("region", region)
        else:
            unknown.append("region: neither the resource nor its provider configuration states a constant region")
        self.result.items.append(Imported(self.source(res), fields, written, tuple(unknown), tuple(notes),
                                          res.action))

    def read(self) -> ReadResult:
        live = []
        for res in self.all:
            if res.mode == "data":
                self.skip(res, "a data source: read, runs nothing")
            elif res.action == "delete":
                self.skip(res, "deleted by this plan (actions: delete): it will not run")
            elif res.type not in READ_TYPES:
                self.skip(res, f"resource type {res.type} is not read (it runs no compute this advisor places, or "
                               "is not supported yet)")
            else:
                live.append(res)
        services = [r for r in live if r.type == "aws_ecs_service"]
        for res in services:
            self._guard(res, self._ecs_service)
        instances = [r for r in live if r.type == "aws_instance"]
        self._instances(instances)
        handlers = {"aws_autoscaling_group": self._asg, "aws_eks_node_group": self._node_group,
                    "aws_lambda_function": self._lambda, "aws_lightsail_instance": self._lightsail,
                    "aws_batch_compute_environment": self._batch}
        for res in live:
            if res.type in handlers:
                self._guard(res, handlers[res.type])
        for res in live:
            if res.type == "aws_launch_template" and res.address not in self.used:
                self.skip(res, "a launch template no Auto Scaling group or node group in this plan uses")
            elif res.type == "aws_ecs_task_definition" and res.address not in self.used:
                self._guard(res, self._lone_task)
        return self.result

    def _guard(self, res: Resource, handler) -> None:
        try:
            handler(res)
        except InputError as exc:
            self.skip(res, str(exc))

    # ------------------------------------------------------------------ EC2
    def _instances(self, instances: list[Resource]) -> None:
        """Instances of one block with identical settings become one workload (count / for_each)."""
        groups: dict[tuple, list[Resource]] = defaultdict(list)
        for res in instances:
            v = res.values
            market = _market(v.get("instance_market_options"))
            key = (res.block, v.get("instance_type"), res.is_unknown("instance_type"), v.get("tenancy"), market,
                   res.action, self.config.region(res))
            groups[key].append(res)
        names: dict[str, int] = defaultdict(int)
        for (block, itype, unknown_type, tenancy, market, _action, _region), members in groups.items():
            names[block] += 1
            first = members[0]
            wid = block if names[block] == 1 else f"{block}#{names[block]}"
            fields: dict[str, Any] = {"id": wid, "replicas": len(members), "packaging": "vm"}
            unknown, notes = [], []
            if len(members) > 1:
                notes.append(f"{len(members)} instances: {', '.join(m.address for m in members)}")
            tenancy = {"default": "shared", None: "shared"}.get(tenancy, tenancy)
            if tenancy != "shared":
                fields["tenancy"] = tenancy
            if market == "spot":
                fields["interruptible"] = True
            written = None
            if unknown_type or not itype:
                unknown.append("instance_type: known only after apply" if unknown_type
                               else "instance_type: not set (a launch template may set it)")
            else:
                written = AsWritten("ec2", itype, on_demand=0 if market == "spot" else len(members),
                                    spot=len(members) if market == "spot" else 0, market=market, tenancy=tenancy)
            self.add(first, fields, written, unknown, notes)

    def _launch_template(self, res: Resource, *path: str | int, name: str | None = None) -> Resource | None:
        for ref in self.config.references(res, *path):
            for candidate in self.by_block.get(INDEX.sub("", ref.removesuffix(".id").removesuffix(".name")
                                                         .removesuffix(".latest_version")), []):
                if candidate.type == "aws_launch_template":
                    return candidate
        if name:
            return next((r for r in self.all if r.type == "aws_launch_template" and r.values.get("name") == name),
                        None)
        return None

    def _asg(self, res: Resource) -> None:
        v = res.values
        fields: dict[str, Any] = {"id": res.address, "packaging": "vm"}
        unknown: list[str] = []
        notes: list[str] = []
        desired = v.get("desired_capacity") or v.get("min_size")
        if res.is_unknown("desired_capacity") or desired is None:
            unknown.append("desired_capacity: not known at plan time")
            desired = None
        elif not v.get("desired_capacity"):
            notes.append(f"no desired_capacity: the minimum size {desired} is what runs")
        if desired == 0:
            self.skip(res, "desired capacity and minimum size are 0: nothing runs")
            return
        if desired:
            fields["replicas"] = int(desired)
            if isinstance(v.get("max_size"), int) and v["max_size"] >= desired:
                fields["peak_replicas"] = v["max_size"]
        mixed = (v.get("mixed_instances_policy") or [None])[0]
        if mixed:
            itype, on_demand, spot = self._mixed(res, mixed, desired, notes, unknown)
        else:
            lt_block = (v.get("launch_template") or [{}])[0]
            lt = self._launch_template(res, "launch_template", name=lt_block.get("name"))
            itype, market, tenancy = self._from_template(lt, res, unknown)
            on_demand, spot = (0, desired) if market == "spot" else (desired, 0)
            if tenancy and tenancy != "shared":
                fields["tenancy"] = tenancy
        if spot:
            fields["interruptible"] = True
        written = None
        if itype and desired:
            written = AsWritten("ec2", itype, on_demand=on_demand, spot=spot or 0,
                                market="mixed" if on_demand and spot else ("spot" if spot else "on_demand"),
                                tenancy=fields.get("tenancy", "shared"))
        self.add(res, fields, written, unknown, notes)

    def _from_template(self, lt: Resource | None, user: Resource, unknown: list[str]
                       ) -> tuple[str | None, str, str | None]:
        if lt is None:
            unknown.append("instance_type: the launch template is not in this plan")
            return None, "on_demand", None
        self.used.add(lt.address)
        if lt.is_unknown("instance_type") or not lt.values.get("instance_type"):
            unknown.append(f"instance_type: {lt.address} does not state it at plan time")
            return None, "on_demand", None
        placement = (lt.values.get("placement") or [{}])[0]
        tenancy = {"default": "shared", None: "shared"}.get(placement.get("tenancy"), placement.get("tenancy"))
        return lt.values["instance_type"], _market(lt.values.get("instance_market_options")), tenancy

    def _mixed(self, res: Resource, mixed: dict, desired: int | None, notes: list[str], unknown: list[str]
               ) -> tuple[str | None, int, int]:
        dist = (mixed.get("instances_distribution") or [{}])[0]
        base = int(dist.get("on_demand_base_capacity") or 0)
        pct = dist.get("on_demand_percentage_above_base_capacity")
        pct = 100 if pct is None else int(pct)
        spec = (mixed.get("launch_template") or [{}])[0]
        overrides = [o for o in spec.get("override") or [] if o.get("instance_type")]
        lt_spec = (spec.get("launch_template_specification") or [{}])[0]
        if overrides:
            itype = overrides[0]["instance_type"]
            lt = self._launch_template(res, "mixed_instances_policy", 0, "launch_template", 0,
                                       "launch_template_specification",
                                       name=lt_spec.get("launch_template_name"))
            if lt is not None:
                self.used.add(lt.address)
            if len(overrides) > 1:
                notes.append(f"priced at the first override {itype} (the highest priority); the others: "
                             + ", ".join(o["instance_type"] for o in overrides[1:]))
        else:
            lt = self._launch_template(res, "mixed_instances_policy", 0, "launch_template", 0,
                                       "launch_template_specification", name=lt_spec.get("launch_template_name"))
            itype, _, _ = self._from_template(lt, res, unknown)
        if desired is None:
            return itype, 0, 0
        on_demand, spot = mixed_split(desired, base, pct)
        notes.append(f"mixed instances policy: {on_demand} On-Demand (base {base}, then {pct}% of the rest, rounded "
                     f"up) and {spot} Spot")
        return itype, on_demand, spot

    def _node_group(self, res: Resource) -> None:
        v = res.values
        scaling = (v.get("scaling_config") or [{}])[0]
        fields: dict[str, Any] = {"id": res.address, "packaging": "container", "orchestrator": "kubernetes",
                                  "existing_cluster": True}
        unknown: list[str] = []
        notes = ["a node group is capacity: sized as its nodes; the cluster's control plane is its own resource"]
        desired = scaling.get("desired_size")
        if res.is_unknown("scaling_config", 0, "desired_size") or desired is None:
            unknown.append("scaling_config.desired_size: not known at plan time")
        elif desired == 0:
            self.skip(res, "scaling_config.desired_size is 0: nothing runs")
            return
        else:
            fields["replicas"] = int(desired)
            if isinstance(scaling.get("max_size"), int) and scaling["max_size"] >= desired:
                fields["peak_replicas"] = scaling["max_size"]
        ami = str(v.get("ami_type") or "")
        if "ARM" in ami:
            fields["arch"] = "arm64"
        if "WINDOWS" in ami:
            fields["os"] = "windows"
        types = v.get("instance_types")
        if res.is_unknown("instance_types"):
            unknown.append("instance_types: known only after apply")
            itype = None
        elif types:
            itype = types[0]
            if len(types) > 1:
                notes.append(f"priced at the first instance type {itype}; the others: {', '.join(types[1:])}")
        else:
            lt = self._launch_template(res, "launch_template", name=((v.get("launch_template") or [{}])[0]
                                                                     .get("name")))
            itype = self._from_template(lt, res, [])[0] if lt is not None else EKS_DEFAULT_TYPE
            if lt is None:
                notes.append(f"no instance_types: the provider's default {EKS_DEFAULT_TYPE}")
        spot = str(v.get("capacity_type") or "ON_DEMAND").upper() == "SPOT"
        if spot:
            fields["interruptible"] = True
        written = None
        if itype and "replicas" in fields:
            n = fields["replicas"]
            written = AsWritten("eks_ec2", itype, on_demand=0 if spot else n, spot=n if spot else 0,
                                market="spot" if spot else "on_demand")
        elif not itype:
            unknown.append("instance_types: not stated")
        self.add(res, fields, written, unknown, notes)

    # ------------------------------------------------------------------ ECS
    def _task_def(self, res: Resource) -> ecs.TaskDef:
        v = res.values
        if res.is_unknown("container_definitions"):
            raise InputError("container_definitions: known only after apply", field="container_definitions")
        platform = (v.get("runtime_platform") or [{}])[0]
        containers = ecs.containers_from_string(v.get("container_definitions"))
        return ecs.TaskDef(family=str(v.get("family") or res.address), cpu=_str(v.get("cpu")),
                           memory=_str(v.get("memory")), compatibilities=tuple(v.get("requires_compatibilities")
                                                                               or ()),
                           os_family=platform.get("operating_system_family"),
                           arch=platform.get("cpu_architecture"), containers=tuple(containers))

    def _ecs_service(self, res: Resource) -> None:
        v = res.values
        task_res = None
        key = res.address[len(res.block):]  # a for_each/count key: the task definition of the same key
        for ref in self.config.references(res, "task_definition"):
            found = [r for r in self.by_block.get(INDEX.sub("", ref.removesuffix(".arn").removesuffix(".family")), [])
                     if r.type == "aws_ecs_task_definition"]
            same_key = [r for r in found if r.address.endswith(key)] if key else []
            task_res = (same_key or found or [task_res])[0]
        family = ecs.family_of(v.get("task_definition")) if isinstance(v.get("task_definition"), str) else None
        if task_res is None and family:
            task_res = next((r for r in self.all if r.type == "aws_ecs_task_definition"
                             and r.values.get("family") == family), None)
        if task_res is None:
            self.skip(res, "its task definition is not in this plan (neither referenced nor found by family)")
            return
        self.used.add(task_res.address)
        strategy = tuple((str(s.get("capacity_provider")), int(s.get("weight") or 0), int(s.get("base") or 0))
                         for s in v.get("capacity_provider_strategy") or [])
        desired = None if res.is_unknown("desired_count") else v.get("desired_count", 0)
        service = ecs.ServiceSpec(name=str(v.get("name") or res.address), task_family=family,
                                  desired=desired, launch_type=v.get("launch_type"), strategy=strategy)
        item = ecs.task_workload(self._task_def(task_res), service, self.source(res), res.address,
                                 action=res.action)
        self._add_imported(res, item, f"task definition {task_res.address}")

    def _lone_task(self, res: Resource) -> None:
        item = ecs.task_workload(self._task_def(res), None, self.source(res), res.address, action=res.action)
        self._add_imported(res, item, None)

    def _add_imported(self, res: Resource, item: Imported, note: str | None) -> None:
        fields = dict(item.fields)
        unknown = list(item.unknown)
        notes = [*item.notes, *([note] if note else [])]
        self.add(res, fields, item.written, unknown, notes)

    # ------------------------------------------------------------------ Lambda, Lightsail, Batch
    def _lambda(self, res: Resource) -> None:
        v = res.values
        memory = v.get("memory_size") or LAMBDA_DEFAULT_MB
        arch = (v.get("architectures") or ["x86_64"])[0]
        fields = {"id": res.address, "packaging": "function", "function_memory_mb": int(memory),
                  "arch": "arm64" if arch == "arm64" else "x86_64"}
        written = AsWritten("lambda", None, on_demand=1, arch=fields["arch"])
        self.add(res, fields, written, ["requests_per_month, avg_duration_ms: a function's load is not in a plan "
                                        "(give them with `advisor import`)"], [])

    def _lightsail(self, res: Resource) -> None:
        v = res.values
        if res.is_unknown("bundle_id") or not v.get("bundle_id"):
            self.add(res, {"id": res.address}, None, ["bundle_id: not known at plan time"], [])
            return
        fields: dict[str, Any] = {"id": res.address, "packaging": "vm"}
        if str(v.get("blueprint_id") or "").startswith("windows"):
            fields["os"] = "windows"
        written = AsWritten("lightsail", v["bundle_id"], on_demand=1)
        self.add(res, fields, written, [], [])

    def _batch(self, res: Resource) -> None:
        compute = (res.values.get("compute_resources") or [{}])[0]
        notes = [f"compute environment {compute.get('type', '?')}: max {compute.get('max_vcpus')} vCPU, min "
                 f"{compute.get('min_vcpus', 0)}; types {', '.join(compute.get('instance_type') or []) or 'n/a'}"]
        self.add(res, {"id": res.address, "packaging": "container"}, None,
                 ["jobs_per_month, job_duration_minutes: a compute environment does not say what runs on it "
                  "(give them with `advisor import`)"], notes)


def mixed_split(desired: int, base: int, percent: int) -> tuple[int, int]:
    """(On-Demand, Spot) of `desired`: the base first, then `percent` of the rest, rounded up to On-Demand."""
    on_demand = min(desired, base)
    on_demand += math.ceil((desired - on_demand) * percent / 100)
    return on_demand, desired - on_demand


def _market(options: Any) -> str:
    first = (options or [{}])[0] if isinstance(options, list) else {}
    return "spot" if (first or {}).get("market_type") == "spot" else "on_demand"


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def read(path: Path, doc: dict, text: str) -> ReadResult:
    return Reader(path, doc, text).read()
