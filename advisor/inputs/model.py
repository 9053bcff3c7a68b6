"""What a reader returns: contract workloads with their provenance, how the file says they run, and what was
skipped (with the reason). Readers know formats, never prices: nothing here holds a dollar figure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    """Where a workload came from: the file, the resource address or object name, the line (None if unknown)."""

    file: str
    address: str
    kind: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class AsWritten:
    """How the file says the workload runs, in the catalog's words (service, type, market, tenancy).

    `on_demand` and `spot` count instances or tasks; `on_demand` None means the file pins a node type but not
    a count (Kubernetes pods on labelled nodes): the replicas are packed onto nodes of `instance_type`.
    """

    service: str
    instance_type: str | None = None
    on_demand: int | None = None
    spot: int = 0
    market: str = "on_demand"
    tenancy: str = "shared"
    task_vcpu: float | None = None
    task_memory_gib: float | None = None
    arch: str | None = None

    def describe(self) -> str:
        parts = [self.service]
        if self.instance_type:
            parts.append(self.instance_type)
        if self.task_vcpu is not None:
            parts.append(f"task {self.task_vcpu:g} vCPU / {self.task_memory_gib:g} GiB")
        if self.on_demand is None:
            parts.append(f"pods packed on {self.market} nodes")
        else:
            parts.append(f"x{self.on_demand} on_demand" if self.on_demand else "")
            parts.append(f"x{self.spot} spot" if self.spot else "")
        if self.tenancy != "shared":
            parts.append(self.tenancy)
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Imported:
    """One workload read from a file: contract fields (what it needs), as written (how it runs), what is unknown.

    `unknown` names each value the file leaves open (a plan's `(known after apply)`, a DaemonSet's node count):
    such a workload is reported as unknown, never priced as 0. `action` is the plan's action (create, update,
    replace, no-op) or 'present' for files that are not plans.
    """

    source: Source
    fields: dict[str, Any]
    written: AsWritten | None = None
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    action: str = "present"

    @property
    def id(self) -> str:
        return str(self.fields["id"])


@dataclass(frozen=True)
class Skipped:
    """An object the reader did not turn into a workload, and why (never silently dropped)."""

    source: Source
    reason: str


@dataclass
class ReadResult:
    """Everything read from one or more files, in file order."""

    items: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)

    def extend(self, other: ReadResult) -> ReadResult:
        self.items += other.items
        self.skipped += other.skipped
        self.formats += [f for f in other.formats if f not in self.formats]
        return self
