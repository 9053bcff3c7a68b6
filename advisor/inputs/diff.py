"""Cost diffs for pull requests: two versions of an estate (plans, manifest sets, directories), what the change
adds, removes and changes in monthly cost, as written and as advised.

Workloads are matched by id (a plan's resource address, a manifest's kind/namespace/name). A workload absent on
one side costs nothing there (it does not run); a workload present but unknown (a value the file leaves open)
has an unknown cost, which is shown as unknown and left out of the totals, never counted as 0. The policy gate
compares the as-written monthly increase with a threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from advisor.inputs.compare import EstateAnswer
from advisor.pricing import money


@dataclass(frozen=True)
class Change:
    id: str
    change: str                      # added | removed | changed | unchanged
    source: str                      # file:line and address of the newer side
    before_as_written: float | None  # None: unknown, or not running (see the `absent` flags)
    after_as_written: float | None
    before_advised: float | None
    after_advised: float | None
    absent_before: bool = False
    absent_after: bool = False
    as_written: str | None = None
    unknown: str | None = None

    def _delta(self, before: float | None, after: float | None) -> float | None:
        b = 0.0 if self.absent_before else before
        a = 0.0 if self.absent_after else after
        return None if a is None or b is None else money(a - b)

    @property
    def delta_as_written(self) -> float | None:
        return self._delta(self.before_as_written, self.after_as_written)

    @property
    def delta_advised(self) -> float | None:
        return self._delta(self.before_advised, self.after_advised)


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    skipped_before: int = 0
    skipped_after: int = 0
    catalog_version: str | None = None

    @property
    def delta_as_written(self) -> float:
        return money(sum(c.delta_as_written or 0.0 for c in self.changes))

    @property
    def delta_advised(self) -> float:
        return money(sum(c.delta_advised or 0.0 for c in self.changes))

    @property
    def unknown(self) -> list[Change]:
        return [c for c in self.changes if c.change != "unchanged" and c.delta_as_written is None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "monthly_change_as_written_usd": self.delta_as_written,
            "monthly_change_advised_usd": self.delta_advised,
            "unknown": [c.id for c in self.unknown],
            "skipped": {"before": self.skipped_before, "after": self.skipped_after},
            "catalog_version": self.catalog_version,
            "changes": [{**asdict(c), "delta_as_written": c.delta_as_written, "delta_advised": c.delta_advised}
                        for c in self.changes],
        }


def diff(before: EstateAnswer, after: EstateAnswer) -> Diff:
    old = {r["id"]: r for r in before.rows}
    new = {r["id"]: r for r in after.rows}
    changes = []
    for wid in [*new, *[k for k in old if k not in new]]:
        b, a = old.get(wid), new.get(wid)
        row = a or b
        kind = "added" if b is None else "removed" if a is None else (
            "unchanged" if _same(b, a) else "changed")
        where = f"{row['source_file']}" + (f":{row['source_line']}" if row.get("source_line") else "")
        changes.append(Change(
            id=wid, change=kind, source=where,
            before_as_written=b["current_monthly_usd"] if b else None,
            after_as_written=a["current_monthly_usd"] if a else None,
            before_advised=_advised(b), after_advised=_advised(a),
            absent_before=b is None, absent_after=a is None,
            as_written=row.get("as_written"), unknown=row.get("unknown") or _why(b, a)))
    order = {"added": 0, "changed": 1, "removed": 2, "unchanged": 3}
    changes.sort(key=lambda c: (order[c.change], c.id))
    return Diff(changes, len(before.skipped), len(after.skipped),
                after.summary.get("catalog_version") or before.summary.get("catalog_version"))


def _advised(row: dict | None) -> float | None:
    return row["monthly_usd"] if row and row["status"] == "ok" else None


def _why(b: dict | None, a: dict | None) -> str | None:
    for row in (a, b):
        if row and row["current_monthly_usd"] is None and row.get("notes"):
            return row["notes"].split("; ")[-1]
    return None


def _same(b: dict, a: dict) -> bool:
    keys = ("as_written", "current_monthly_usd", "monthly_usd", "status", "vcpu", "memory_gib", "replicas")
    return all(b.get(k) == a.get(k) for k in keys)


def usd(value: float | None, *, signed: bool = False, absent: bool = False) -> str:
    if absent:
        return "-"
    if value is None:
        return "unknown"
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}${abs(value):,.2f}"


def markdown(d: Diff, *, gate: float | None = None) -> str:
    """A comment ready to post on a pull request."""
    lines = [f"### Monthly cost change: {usd(d.delta_as_written, signed=True)} as written, "
             f"{usd(d.delta_advised, signed=True)} as advised", ""]
    shown = [c for c in d.changes if c.change != "unchanged"]
    if shown:
        lines += ["| change | workload | as written before | after | change | advised before | after | change |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in shown:
            lines.append(
                f"| {c.change} | `{c.id}` | {usd(c.before_as_written, absent=c.absent_before)} | "
                f"{usd(c.after_as_written, absent=c.absent_after)} | {usd(c.delta_as_written, signed=True)} | "
                f"{usd(c.before_advised, absent=c.absent_before)} | {usd(c.after_advised, absent=c.absent_after)} | "
                f"{usd(c.delta_advised, signed=True)} |")
        lines.append(f"| **total** | | | | **{usd(d.delta_as_written, signed=True)}** | | | "
                     f"**{usd(d.delta_advised, signed=True)}** |")
    else:
        lines.append("No workload's cost changes.")
    if d.unknown:
        lines += ["", "**Unknown** (not in the totals, never counted as $0):"]
        lines += [f"- `{c.id}`: {c.unknown or 'cost unknown'}" for c in d.unknown]
    unchanged = sum(c.change == "unchanged" for c in d.changes)
    lines += ["", f"{unchanged} workload(s) unchanged; objects skipped: {d.skipped_before} before, "
                  f"{d.skipped_after} after (`advisor evaluate` lists them with the reason). "
                  f"Monthly, $ (730 h); catalog {d.catalog_version}."]
    if gate is not None:
        verdict = "over" if gate_fails(d, gate) else "within"
        lines.append(f"Policy gate: the as-written increase {usd(d.delta_as_written, signed=True)} is {verdict} the "
                     f"limit of {usd(gate)}.")
    return "\n".join(lines) + "\n"


def gate_fails(d: Diff, limit: float) -> bool:
    return d.delta_as_written > limit
