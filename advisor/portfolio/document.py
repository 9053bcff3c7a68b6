"""The plan document of a packed choice: placements with each workload's share of the shared nodes, hosts and
fees (`allocation.py`), the shared capacity, the commitments to buy and those owned, the totals; then, for
the answered plan, the explanation and the proof (status, bound and gap as computed).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import defaultdict
from typing import Any

from advisor.candidates.base import Candidate
from advisor.catalog.store import Catalog
from advisor.optimize.choose import cents
from advisor.portfolio.allocation import cluster_weights, fee_weights, host_weights, largest_remainder
from advisor.portfolio.facts import fee_kind, sp_cover_cents
from advisor.portfolio.keys import CommitmentKey, HostKey
from advisor.portfolio.select import HostPrice, Option, Selection
from advisor.recommend import to_option
from models.portfolio import Portfolio
from models.workload import Workload

log = logging.getLogger("advisor.portfolio")


def host_groups(workloads: dict[str, Workload], selection: Selection,
           host_prices: dict[HostKey, HostPrice]) -> list[dict[str, Any]]:
    """The Dedicated Hosts the model bought, with the instances each family's hosts carry."""
    out = []
    for key, count in sorted(selection.hosts.items()):
        members = {w: o.candidate for w, o in selection.chosen.items() if o.host_key == key}
        standalone = sum(c.config["hosts"] for c in members.values())
        out.append({"id": str(key), "region": key.region, "family": key.family, "purchase_option": key.purchase_option,
                    "term": key.term, "payment": key.payment,
                    "host_count": count, "monthly_usd_per_host": host_prices[key].monthly_cents / 100,
                    "upfront_usd_per_host": host_prices[key].upfront_cents / 100,
                    "instances": {w: {"instance_type": c.instance_type, "instance_count": workloads[w].replicas,
                                      "instances_per_host": c.config["instances_per_host"]}
                                  for w, c in sorted(members.items())},
                    "standalone_host_count": standalone})
    return out



def plan_document(catalog: Catalog, portfolio: Portfolio, workloads: dict[str, Workload], selection: Selection,
              alone: dict[str, Option], fee_cents: dict[str, int], clusters: list[dict], hosts: list[dict]) -> dict:
    fees = sum(fee_cents[k] for k in selection.fees_paid)
    # In cents as the model counts them (each member's node line rounded on its own), so that the total is the
    # sum of its parts to the cent (the auditor adds them up the same way)
    packing_savings_cents = sum(sum(cents(selection.chosen[w].candidate.lines[0].monthly_usd) for w in c["members"])
                                - cents(c["monthly_usd"]) for c in clusters)
    packing_savings = packing_savings_cents / 100
    host_savings = sum((h["standalone_host_count"] - h["host_count"]) * h["monthly_usd_per_host"] for h in hosts)
    monthly = (selection.objective_cents - packing_savings_cents) / 100  # host sharing is in the model's objective
    alone_total = sum(cents(alone[w].candidate.monthly_usd) for w in alone) / 100
    in_clusters = {w for c in clusters for w in c["members"]}
    upfront = (sum(o.upfront_cents for w, o in selection.chosen.items() if w not in in_clusters) / 100
               + sum(c["upfront_usd"] for c in clusters)
               + sum(h["host_count"] * h["upfront_usd_per_host"] for h in hosts))
    rows = _rows(workloads, selection, alone, fee_cents, clusters, hosts)
    placements = []
    for wid in [w.id for w in portfolio.workloads]:
        o = selection.chosen[wid]
        placements.append({"workload_id": wid, "choice": to_option(o.candidate).model_dump(),
                           "shared_cluster": next((c["id"] for c in clusters if wid in c["members"]), None),
                           "shared_hosts": str(o.host_key) if o.host_key else None, "shared_fees": list(o.fees),
                           "covered_by_owned_reserved": selection.ri_used.get(wid, 0),
                           "covered_by_owned_savings_plan_usd": round(selection.sp_used_cents.get(wid, 0) / 100, 2),
                           **rows[wid]})
    return {
        "placements": placements,
        "shared": {"clusters": clusters, "hosts": hosts,
                   "commitments": {"to_buy": commitments_to_buy(workloads, selection, clusters, hosts),
                                   "owned": _owned_commitments(catalog, portfolio, workloads, selection, clusters)},
                   "fees": [{"fee": k, "monthly_usd": fee_cents[k] / 100,
                             "shared_by": sorted(w for w, o in selection.chosen.items() if k in o.fees)}
                            for k in selection.fees_paid]},
        "totals": {"monthly_usd": round(monthly, 2),
                   "upfront_usd": round(upfront, 2),
                   "alone_monthly_usd": round(alone_total, 2), "shared_fees_monthly_usd": fees / 100,
                   "packing_savings_monthly_usd": round(packing_savings, 2),
                   "host_sharing_savings_monthly_usd": round(host_savings, 2)},
        "solver": {"status": "FEASIBLE", "objective_monthly_usd": round(monthly, 2), "bound_monthly_usd": None,
                   "gap": None, "seconds": selection.seconds, "choice_status": selection.status},
        "catalog": {"version": catalog.version, "as_of": catalog.as_of},
    }


def _rows(workloads: dict[str, Workload], selection: Selection, alone: dict[str, Option], fee_cents: dict[str, int],
          clusters: list[dict], hosts: list[dict]) -> dict[str, dict[str, float]]:
    """Each workload's share of the plan's money (`allocation.py`: the rule), in cents that add up exactly."""
    nodes: dict[str, int] = defaultdict(int)
    on_hosts: dict[str, int] = defaultdict(int)
    fees: dict[str, int] = defaultdict(int)
    for c in clusters:
        members = {w: workloads[w] for w in c["members"]}
        replicas = {w: int(selection.chosen[w].candidate.config.get("replicas", workloads[w].replicas))
                    for w in members}
        for w, n in largest_remainder(cents(c["monthly_usd"]), cluster_weights(members, replicas)).items():
            nodes[w] += n
    for h in hosts:
        weights = host_weights({w: (i["instance_count"], i["instances_per_host"]) for w, i in h["instances"].items()})
        for w, n in largest_remainder(h["host_count"] * cents(h["monthly_usd_per_host"]), weights).items():
            on_hosts[w] += n
    for key in selection.fees_paid:
        needers = sorted(w for w, o in selection.chosen.items() if key in o.fees)
        for w, n in largest_remainder(fee_cents[key], fee_weights(needers)).items():
            fees[w] += n
    shared_first = {w for c in clusters for w in c["members"]} | {w for h in hosts for w in h["instances"]}
    out = {}
    for w, o in selection.chosen.items():
        lines = o.candidate.lines[1:] if w in shared_first else o.candidate.lines
        own = sum(cents(x.monthly_usd) for x in lines if not fee_kind(x))
        covered = (selection.ri_used.get(w, 0) * o.ri_unit_cents if o.ri_key else 0) + selection.sp_used_cents.get(w, 0)
        total = own + nodes[w] + on_hosts[w] + fees[w] - covered
        out[w] = {"monthly_usd": total / 100, "own_monthly_usd": own / 100,
                  "shared_nodes_monthly_usd": nodes[w] / 100, "shared_hosts_monthly_usd": on_hosts[w] / 100,
                  "shared_fees_monthly_usd": fees[w] / 100, "owned_commitments_monthly_usd": covered / 100,
                  "alone_monthly_usd": cents(alone[w].candidate.monthly_usd) / 100}
    return out


COMMITTED = ("reserved", "savings_plan")


def commitments_to_buy(workloads: dict[str, Workload], selection: Selection, clusters: list[dict],
                       hosts: list[dict]) -> list[dict[str, Any]]:
    """The commitments the plan buys: exactly what it runs under one: each cluster's packed nodes (not its
    members' own node groups), each group of reserved Dedicated Hosts (the hosts bought, not one group per
    workload) and the placements outside both."""
    bought: dict[CommitmentKey, dict[str, Any]] = {}

    def add(key: CommitmentKey, workload: list[str], instances: int | None, hosts_: int | None, monthly: float,
            upfront: float) -> None:
        item = bought.setdefault(key, {"instance_count": None, "host_count": None, "monthly": [], "upfront": [],
                                       "used_by": set()})
        for name, n in (("instance_count", instances), ("host_count", hosts_)):
            if n is not None:
                item[name] = (item[name] or 0) + n
        item["monthly"].append(monthly)
        item["upfront"].append(upfront)
        item["used_by"].update(workload)

    in_shared = set()
    for c in clusters:
        in_shared.update(c["members"])
        if c["purchase_option"] in COMMITTED:
            kind = "reserved_instances" if c["purchase_option"] == "reserved" else "savings_plan"
            for g in c["nodes"]:
                add(CommitmentKey(kind, g["instance_type"], c["region"], c["tenancy"], c["term"], c["offering_class"],
                                  c["plan_type"], c["payment"]), sorted(g["replicas_per_node"]), g["node_count"], None,
                    g["node_count"] * g["monthly_usd_per_node"], g["node_count"] * g["upfront_usd_per_node"])
    for h in hosts:
        in_shared.update(h["instances"])
        if h["purchase_option"] == "reserved":
            add(CommitmentKey("host_reservation", h["family"], h["region"], "host", h["term"], None, None,
                              h["payment"]),
                sorted(h["instances"]), None, h["host_count"], h["host_count"] * h["monthly_usd_per_host"],
                h["host_count"] * h["upfront_usd_per_host"])
    for w, o in sorted(selection.chosen.items()):
        c = o.candidate
        if w in in_shared or c.purchase_option not in COMMITTED:
            continue
        kind = "reserved_instances" if c.purchase_option == "reserved" else "savings_plan"
        add(CommitmentKey(kind, c.instance_type or c.service, workloads[w].region, c.tenancy, c.term,
                          c.offering_class, c.plan_type, c.payment),
            [w], c.count if c.instance_type else None, None, c.lines[0].monthly_usd, c.upfront_usd)
    return [{**dataclasses.asdict(k), "instance_count": v["instance_count"], "host_count": v["host_count"],
             "monthly_usd": round(math.fsum(v["monthly"]), 2), "upfront_usd": round(math.fsum(v["upfront"]), 2),
             "used_by": sorted(v["used_by"])} for k, v in sorted(bought.items())]


def _owned_commitments(catalog: Catalog, portfolio: Portfolio, workloads: dict[str, Workload], selection: Selection,
                       clusters: list[dict]) -> list[dict[str, Any]]:
    """The commitments already owned: how much of each the plan uses, and why not all, when it does not."""
    owned = portfolio.constraints.existing_commitments
    in_clusters = {w for c in clusters for w in c["members"]}
    out = []
    holdings: dict[tuple[str, str], int] = defaultdict(int)
    for h in owned.reserved:
        holdings[(h.instance_type, h.region)] += h.count
    for (instance_type, region), count in sorted(holdings.items()):
        used = sum(n for w, n in selection.ri_used.items() if selection.chosen[w].ri_key == (instance_type, region))
        reason = None
        if used < count:
            elsewhere = sorted(f"{w} ({o.candidate.service} {o.candidate.purchase_option}, {o.candidate.tenancy} "
                               f"tenancy{', in a shared cluster' if w in in_clusters else ''})"
                               for w, o in selection.chosen.items()
                               if o.candidate.instance_type == instance_type and workloads[w].region == region
                               and o.ri_key is None)
            reason = (f"{count - used} of {count} unused: owned reserved instances cover on-demand, shared-tenancy "
                      f"{instance_type} instances in {region} outside shared clusters, and the plan runs "
                      f"{used or 'none'} there"
                      + (f"; {instance_type} also runs as {', '.join(elsewhere)}, which they do not cover"
                         if elsewhere else "; nothing cheaper overall runs on that type"))
        out.append({"kind": "reserved_instances", "covers": instance_type, "region": region, "instance_count": count,
                    "used_instance_count": used, "usd_per_hour": None, "covered_on_demand_monthly_usd":
                    round(sum(n * selection.chosen[w].ri_unit_cents for w, n in selection.ri_used.items()
                              if selection.chosen[w].ri_key == (instance_type, region)) / 100, 2),
                    "unused_reason": reason})
    if owned.savings_plan_usd_per_hour:
        cover = sp_cover_cents(catalog, owned.savings_plan_usd_per_hour)
        used_cents = sum(selection.sp_used_cents.values())
        out.append({"kind": "savings_plan", "covers": "compute", "region": None, "instance_count": None,
                    "used_instance_count": None, "usd_per_hour": owned.savings_plan_usd_per_hour,
                    "covered_on_demand_monthly_usd": round(used_cents / 100, 2),
                    "unused_reason": None if used_cents >= cover else (
                        f"it pays for ${cover / 100:,.2f} of on-demand spend a month; the plan has "
                        f"${used_cents / 100:,.2f} of on-demand compute it covers (shared-tenancy instances and "
                        "tasks outside shared clusters)")})
    return out



def explain(answered: Selection, alone: dict[str, Option], fee_cents: dict[str, int], clusters: list[dict],
             binding: list[dict[str, Any]]) -> dict[str, Any]:
    """What the answered plan changed against choosing each workload alone, the fees paid once, the packing,
    and the price of each binding constraint (`_binding_prices`)."""
    changed = []
    for wid, o in sorted(answered.chosen.items()):
        a = alone[wid].candidate
        if o.candidate is not a:
            changed.append({"workload_id": wid, "alone": _label(a), "alone_monthly_usd": a.monthly_usd,
                            "in_portfolio": _label(o.candidate), "monthly_usd": o.candidate.monthly_usd})
    fees_alone = sum(line.monthly_usd for o in alone.values() for line in o.candidate.lines
                     if fee_kind(line))
    return {
        "changed_against_alone": changed,
        "shared_fees": {"paid_once_monthly_usd": sum(fee_cents[k] for k in answered.fees_paid) / 100,
                        "alone_would_pay_monthly_usd": round(fees_alone, 2)},
        "packing": [{"cluster": c["id"], "standalone_monthly_usd": c["standalone_monthly_usd"],
                     "packed_monthly_usd": c["monthly_usd"]} for c in clusters],
        "binding_constraints": binding,
    }



def _label(c: Candidate) -> str:
    parts = [c.service, c.instance_type or "", c.purchase_option, c.term or "", c.payment or ""]
    return " ".join(p for p in parts if p)



def _proven(monthly_usd: float, bound_usd: float) -> bool:
    """The plan is proven optimal: its bound is within a cent or a hundred-thousandth of it (bounds floor each
    node's price to whole cents; the choice model is proven to a millionth)."""
    return round(monthly_usd * 100) - round(bound_usd * 100) <= max(1, round(monthly_usd * 100 * 1e-5))


def _bound_defect(monthly_usd: float, bound_usd: float) -> bool:
    """A lower bound above the plan by more than the rounding tolerance of `_proven`: the bound is wrong."""
    return round(bound_usd * 100) - round(monthly_usd * 100) > max(1, round(monthly_usd * 100 * 1e-5))


def prove(plan_doc: dict, bound_cents: int | None) -> None:
    """Status, bound and gap of the answered plan against the best proven lower bound, reported as computed.
    A bound above the plan beyond the tolerance is a defect (a bug in a bound, or a plan priced wrong): it is
    logged and reported in `solver.defects`, the status stays FEASIBLE and the gap shows it (negative)."""
    solver, monthly = plan_doc["solver"], plan_doc["totals"]["monthly_usd"]
    bound = None if bound_cents is None else bound_cents / 100
    defects = [f"{c['id']}: {c['bound_defect']}" for c in plan_doc["shared"]["clusters"] if c.get("bound_defect")]
    if bound is not None and _bound_defect(monthly, bound):
        defects.append(f"bound defect: the proven lower bound ${bound:,.2f} is above the plan's ${monthly:,.2f}")
    for defect in defects:
        log.error("plan %s", defect)
    solver.update({
        "status": "OPTIMAL" if bound is not None and _proven(monthly, bound) and not defects else "FEASIBLE",
        "bound_monthly_usd": round(bound, 2) if bound is not None else None,
        "gap": (round((monthly - bound) / monthly, 6) if monthly > 0 else 0.0) if bound is not None else None,
        "defects": defects,
        "bound_basis": "LP relaxation of choice and packing together (pool cuts from packing-LP duals), raised by "
                       "whole nodes per pool (Lagrangian decomposition at the LP's duals) or whole placements "
                       "(CP-SAT on the cut model, with whole nodes per pool on small portfolios)"})

