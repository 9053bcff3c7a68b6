"""An independent audit of any plan document: every price recomputed from the catalog and every total from
its parts, every constraint checked against those recomputed figures, never against the solver's.

What is recomputed, and from what:
- each placement: the workload's candidates generated again from the catalog (the same rates and horizon
  arithmetic as one recommendation); the plan's choice must be one of them, its cost lines, monthly and
  upfront exactly the catalog's;
- each cluster node group: its node type's price per node-month and upfront from the rate table, under the
  cluster's purchase option, hours and horizon (`clusters.group_prices`); every node within its allocatable
  capacity and every replica placed;
- each Dedicated Host: its price per host from the members' host candidates, enough hosts for the instances;
- fees paid once: each fee's price from the candidates' fee lines, paid exactly where a placement needs it;
- owned commitments: reserved instances and savings-plan dollars used at most once, on what they can cover;
- the totals: monthly (placements outside clusters and hosts + clusters' nodes + hosts + fees - what owned
  commitments cover), upfront, fees, packing and host savings, each from the recomputed parts; then the
  budget, upfront cap, spot share and vCPU quotas against those.

`audit` returns the problems and the recomputed figures; `validate` the problems only ([] when sound).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from advisor.candidates.base import Candidate, Context, vcpu_quota
from advisor.catalog.store import Catalog
from advisor.optimize.choose import cents
from advisor.portfolio.allocation import cluster_weights, fee_weights, host_weights, largest_remainder
from advisor.portfolio.facts import (
    compute_of,
    fee_kind,
    quota_kind,
    reserved_instances_cover,
    savings_plan_covers,
    shares_nodes,
    sp_cover_cents,
    standard_quota,
)
from advisor.portfolio.packing import gpu_model_matches
from advisor.recommend import to_option
from models.portfolio import Portfolio
from models.workload import Workload

CENT = 0.005           # two money figures agree when they round to the same cent
PRICE_TOLERANCE = 1e-6  # node prices are unrounded dollars: equal to a millionth of a dollar
IDENTITY = ("service", "instance_type", "count", "purchase_option", "term", "offering_class", "plan_type",
            "payment", "tenancy", "config")


@dataclass
class Figures:
    """The plan's money recomputed from the catalog, in cents."""

    monthly_cents: int = 0
    upfront_cents: int = 0
    fees_cents: int = 0
    packing_savings_cents: int = 0
    host_savings_cents: int = 0
    covered_cents: int = 0
    covered_by: dict[str, int] = field(default_factory=dict)      # workload -> what owned commitments cover of it
    # per workload: its own cost outside shared capacity, and its placement's stand-alone monthly cost
    own_cents: dict[str, int] = field(default_factory=dict)
    standalone_cents: dict[str, int] = field(default_factory=dict)
    cluster_cents: dict[str, int] = field(default_factory=dict)   # cluster id -> its nodes' monthly cost
    host_cents: dict[str, int] = field(default_factory=dict)      # host id -> its hosts' monthly cost
    fee_cents: dict[str, int] = field(default_factory=dict)       # fee key -> its monthly price
    spot_share: float | None = None
    quota_vcpu: dict[tuple[str, str], float] = field(default_factory=dict)


def catalog_candidates(portfolio: Portfolio, catalog: Catalog) -> dict[str, list[Candidate]]:
    """Every workload's candidates, generated from the catalog as the planner does (workloads alike but for
    their id generated once)."""
    from advisor.candidates.registry import generate_all
    from advisor.portfolio.options import bounded

    ctx = Context(catalog)
    by_shape: dict[str, list[Candidate]] = {}
    out = {}
    for w in portfolio.workloads:
        b = bounded(w, portfolio)
        shape = b.model_dump_json(exclude={"id"})
        if shape not in by_shape:
            by_shape[shape] = generate_all(b, ctx).candidates
        out[w.id] = by_shape[shape]
    return out


def validate(plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog,
             candidates: dict[str, list[Candidate]] | None = None) -> list[str]:
    """Problems found ([] when the plan is sound). `candidates`: the workloads' catalog candidates when the
    caller has them already (`catalog_candidates`), else they are generated here."""
    return audit(plan, portfolio, catalog, candidates)[0]


def audit(plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog,
          candidates: dict[str, list[Candidate]] | None = None) -> tuple[list[str], Figures]:
    """The problems found and the figures recomputed from the catalog."""
    try:
        return _Audit(plan, portfolio, catalog, candidates).run()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:   # a document of the wrong shape
        return [f"the plan document is malformed: {type(exc).__name__} {exc}"], Figures()


def _identity(choice: dict[str, Any]) -> str:
    return json.dumps({k: choice.get(k) for k in IDENTITY}, sort_keys=True, default=str)


def _usd(cents_: int) -> str:
    return f"${cents_ / 100:,.2f}"


def _differs(reported: Any, recomputed_cents: int) -> bool:
    return not isinstance(reported, int | float) or abs(reported * 100 - recomputed_cents) > 100 * CENT + 1e-6


class _Audit:
    def __init__(self, plan: dict[str, Any], portfolio: Portfolio, catalog: Catalog,
                 candidates: dict[str, list[Candidate]] | None):
        self.plan, self.portfolio, self.catalog = plan, portfolio, catalog
        self.by_id: dict[str, Workload] = {w.id: w for w in portfolio.workloads}
        self.candidates = candidates if candidates is not None else catalog_candidates(portfolio, catalog)
        self.problems: list[str] = []
        self.figures = Figures()
        self.placement: dict[str, dict[str, Any]] = {}
        self.chosen: dict[str, Candidate] = {}
        self.vcpu_of = dict(catalog.specs.select("instance_type", "vcpu").iter_rows())

    def run(self) -> tuple[list[str], Figures]:
        self._placements()
        if set(self.chosen) == set(self.by_id):   # the rest needs every placement priced
            in_cluster = self._clusters()
            on_host = self._hosts()
            self._fees()
            self._owned(in_cluster)
            self._totals(in_cluster, on_host)
            self._rows()
            self._commitments(in_cluster | on_host)
            self._constraints(in_cluster)
        return self.problems, self.figures

    # ------------------------------------------------------------------------- placements
    def _placements(self) -> None:
        placed = [p["workload_id"] for p in self.plan["placements"]]
        if sorted(placed) != sorted(self.by_id) or len(set(placed)) != len(placed):
            self.problems.append(f"placements {sorted(placed)} do not match the workloads {sorted(self.by_id)}")
        for p in self.plan["placements"]:
            wid, choice = p["workload_id"], p["choice"]
            w = self.by_id.get(wid)
            if w is None:
                continue
            self.placement[wid] = p
            if not w.allows_name(choice["service"]):
                self.problems.append(f"{wid}: {choice['service']} is not in its allowed_services")
            wanted = _identity(_jsonable(choice))
            match = next((c for c in self.candidates[wid] if _identity(_jsonable(to_option(c).model_dump())) == wanted),
                         None)
            if match is None:
                self.problems.append(f"{wid}: its choice ({choice['service']} {choice.get('instance_type') or ''} "
                                     f"{choice['purchase_option']}) is not a placement the catalog offers it")
                continue
            self.chosen[wid] = match
            catalog_choice = to_option(match)
            for name in ("monthly_usd", "upfront_usd"):
                if _differs(choice[name], cents(getattr(catalog_choice, name))):
                    self.problems.append(f"{wid}: {name} is {choice[name]}, the catalog says "
                                         f"{getattr(catalog_choice, name)}")
            lines = [(x["item"], x["monthly_usd"]) for x in choice["cost_lines"]]
            if lines != [(x.item, x.monthly_usd) for x in catalog_choice.cost_lines]:
                self.problems.append(f"{wid}: its cost lines are not the catalog's")
            self.figures.standalone_cents[wid] = sum(cents(x.monthly_usd) for x in match.lines)

    # ------------------------------------------------------------------------- clusters
    def _clusters(self) -> set[str]:
        in_cluster: set[str] = set()
        for cluster in self.plan["shared"]["clusters"]:
            self._cluster(cluster, in_cluster)
        return in_cluster

    def _cluster(self, cluster: dict[str, Any], in_cluster: set[str]) -> None:
        """One cluster: its members placed once, on one kind of node group; every node group priced from the
        catalog and within its capacity, every replica placed; its money recomputed."""
        from advisor.candidates.frontiers import node_types
        from advisor.portfolio.clusters import group_prices

        cid, members = cluster["id"], cluster["members"]
        unknown = [w for w in members if w not in self.chosen]
        if unknown or not members:
            self.problems.append(f"{cid}: members {unknown or '(none)'} are not placed workloads")
            return
        twice = in_cluster & set(members)
        if twice:
            self.problems.append(f"{cid}: {sorted(twice)} are in more than one cluster")
        in_cluster |= set(members)
        kind = self._cluster_kind(cluster, members)
        if kind is None:
            return
        service, region, os_, tenancy, option, term, offering, plan_type, payment, horizon, hours = kind
        prices = group_prices(self.catalog, service, region, os_, tenancy, hours, horizon)
        alloc = {r["instance_type"]: r for r in node_types(self.catalog, service, region, os_).to_dicts()}
        variant = (option, term, offering, plan_type, payment)
        job = self._job_group(cid, members)
        monthly: list[float] = []   # count x price per group, summed exactly (as `clusters.groups_usd`)
        upfront: list[float] = []
        placed: dict[str, int] = defaultdict(int)
        for group in cluster["nodes"]:
            price = self._group_price(cid, group, job, prices, alloc, variant)
            if price is None:
                continue
            count = group["node_count"]
            monthly.append(count * price[0])
            upfront.append(count * price[1])
            self._capacity(cid, group, alloc[group["instance_type"]])
            for w, n in group["replicas_per_node"].items():
                placed[w] += n * count
        self._placed(cid, members, placed)
        self._cluster_money(cluster, members, monthly, upfront)

    def _cluster_kind(self, cluster: dict[str, Any], members: list[str]) -> tuple | None:
        """The one kind of node group the members chose (None, with the problem, when it is not one)."""
        cid = cluster["id"]
        kinds = {self._kind(w) for w in members}
        if len(kinds) != 1:
            self.problems.append(f"{cid}: its members are on different kinds of node group: {sorted(kinds)}")
            return None
        kind = kinds.pop()
        service, region, os_, tenancy, option = kind[:5]
        if not all(shares_nodes(self.chosen[w]) for w in members):
            self.problems.append(f"{cid}: {service} with {tenancy} tenancy is not a node group")
            return None
        if (cluster["service"], cluster["region"], cluster["os"], cluster["tenancy"],
                cluster["purchase_option"]) != (service, region, os_, tenancy, option):
            self.problems.append(f"{cid}: its kind does not match its members' node groups")
        return kind

    def _group_price(self, cid: str, group: dict[str, Any], job: Candidate | None, prices, alloc: dict,
                     variant: tuple) -> tuple[float, float] | None:
        """A node group's price per node (monthly, upfront) from the catalog, checked against the plan's
        (None, with the problem, when the catalog does not offer it so)."""
        name, count, option, term = group["instance_type"], group["node_count"], variant[0], variant[1]
        if job is not None:   # a job's own node group: nodes only while it runs, at its candidate's price
            if name != job.instance_type:
                self.problems.append(f"{cid}: a job's node group is {job.instance_type}, not {name}")
                return None
            price, price_upfront = job.lines[0].monthly_usd / job.count, job.upfront_usd / job.count
        elif name not in prices.names or variant not in prices.monthly or name not in alloc:
            self.problems.append(f"{cid}: {name} is not a node type offered {option} here")
            return None
        else:
            i = prices.names.index(name)
            price, price_upfront = float(prices.monthly[variant][i]), float(prices.upfront[variant][i])
        if price != price or name not in alloc:   # NaN: not offered under this purchase option
            self.problems.append(f"{cid}: {name} is not offered as {option} {term or ''}")
            return None
        if group["purchase_option"] != option:
            self.problems.append(f"{cid}: a {name} group is {group['purchase_option']}, not {option}")
        if not isinstance(count, int) or count < 1:
            self.problems.append(f"{cid}: a {name} group has {count} nodes")
            return None
        for figure, value in (("monthly", price), ("upfront", price_upfront)):
            if abs(group[f"{figure}_usd_per_node"] - value) > PRICE_TOLERANCE * max(1.0, value):
                self.problems.append(f"{cid}: a {name} node costs ${value:,.6f} {figure} in the catalog, "
                                     f"not ${group[f'{figure}_usd_per_node']:,.6f}")
        return price, price_upfront

    def _placed(self, cid: str, members: list[str], placed: dict[str, int]) -> None:
        """Every member's replicas placed, and nobody else's."""
        for w in members:
            wanted = int(self.chosen[w].config.get("replicas", self.by_id[w].replicas))
            if placed.get(w, 0) < wanted:
                self.problems.append(f"{cid}: {w} has {placed.get(w, 0)} of {wanted} replicas placed")
        strangers = sorted(set(placed) - set(members))
        if strangers:
            self.problems.append(f"{cid}: its nodes carry replicas of non-members {strangers}")

    def _cluster_money(self, cluster: dict[str, Any], members: list[str], monthly: list[float],
                       upfront: list[float]) -> None:
        """The cluster's monthly and upfront from the catalog's prices, and its packing saving."""
        cid = cluster["id"]
        # A member's own node group is priced as its cost line, rounded to the cent from the same rate: the
        # rate x count may round a cent the other way, so each group may differ by a cent (no more)
        slack = len(cluster["nodes"])
        figures = {}
        for name, parts in (("monthly_usd", monthly), ("upfront_usd", upfront)):
            value = cents(math.fsum(parts))
            reported = cluster[name]
            if not isinstance(reported, int | float) or abs(cents(reported) - value) > slack:
                self.problems.append(f"{cid}: its nodes cost {_usd(value)} {name[:-4]} in the catalog, "
                                     f"not ${reported:,.2f}")
                figures[name] = value
            else:
                figures[name] = cents(reported)
        self.figures.cluster_cents[cid] = figures["monthly_usd"]
        self.figures.upfront_cents += figures["upfront_usd"]
        standalone = sum(cents(self.chosen[w].lines[0].monthly_usd) for w in members)
        self.figures.packing_savings_cents += standalone - figures["monthly_usd"]

    def _job_group(self, cid: str, members: list[str]) -> Candidate | None:
        """A job-shaped member's own candidate: its node group runs only while its jobs do, so it keeps a
        cluster of its own, priced as its candidate (None for a cluster of always-on members)."""
        jobs = [w for w in members if self.by_id[w].job_shaped]
        if not jobs:
            return None
        if len(members) > 1:
            self.problems.append(f"{cid}: job-shaped {jobs} share nodes with other workloads")
        return self.chosen[jobs[0]]

    def _kind(self, wid: str) -> tuple:
        c, w = self.chosen[wid], self.by_id[wid]
        return (c.service, w.region, w.os.value, c.tenancy, c.purchase_option, c.term, c.offering_class,
                c.plan_type, c.payment, w.horizon_months, w.hours_per_month)

    def _capacity(self, cid: str, group: dict[str, Any], node: dict[str, Any]) -> None:
        per = group["replicas_per_node"]
        if any(w not in self.by_id or not isinstance(n, int) or n < 0 for w, n in per.items()):
            self.problems.append(f"{cid}: a {group['instance_type']} node carries unknown workloads or counts")
            return
        need_cpu = sum(n * self.by_id[w].vcpu for w, n in per.items())
        need_mem = sum(n * self.by_id[w].memory_gib for w, n in per.items())
        need_gpu = sum(n * self.by_id[w].gpus for w, n in per.items())
        pods = sum(per.values())
        if (need_cpu > node["alloc_vcpu"] + 1e-6 or need_mem > node["alloc_memory_gib"] + 1e-6
                or pods > node["pod_slots"] or need_gpu > (node["gpus"] or 0)):
            self.problems.append(f"{cid}: a {group['instance_type']} node is over capacity "
                                 f"({need_cpu:g} vCPU, {need_mem:g} GiB, {pods} pods, {need_gpu} GPUs)")
        for w in per:
            wl = self.by_id[w]
            if wl.gpus and not gpu_model_matches(wl.gpu_model, node.get("gpu_model")):
                self.problems.append(f"{cid}: {w} needs {wl.gpu_model} GPUs, a {group['instance_type']} node has "
                                     f"{node.get('gpu_model')}")
            if not wl.gpus and (node["gpus"] or 0) > 0:
                self.problems.append(f"{cid}: {w} has no GPUs but sits on GPU node {group['instance_type']}")

    # ------------------------------------------------------------------------- hosts
    def _hosts(self) -> set[str]:
        on_host: set[str] = set()
        for host in self.plan["shared"]["hosts"]:
            hid, count, members = host["id"], host["host_count"], host["instances"]
            known = [w for w in members if w in self.chosen and self.chosen[w].tenancy == "host"]
            if len(known) != len(members) or not members:
                self.problems.append(f"{hid}: carries {sorted(set(members) - set(known)) or 'nothing'}, "
                                     "not placements on Dedicated Hosts")
                continue
            keys = {self._host_key(w) for w in known}
            if len(keys) != 1 or keys != {(host["region"], host["family"], host["purchase_option"], host["term"],
                                            host["payment"])}:
                self.problems.append(f"{hid}: its instances are on hosts of another family or purchase option")
            on_host |= set(known)
            first = self.chosen[known[0]]
            per_host = cents(first.lines[0].monthly_usd / first.config["hosts"])
            per_host_upfront = cents(first.upfront_usd / first.config["hosts"])
            for name, value in (("monthly_usd_per_host", per_host), ("upfront_usd_per_host", per_host_upfront)):
                if _differs(host[name], value):
                    self.problems.append(f"{hid}: a host costs {_usd(value)} in the catalog ({name}), "
                                         f"not ${host[name]:,.2f}")
            filled = sum(Fraction(self.by_id[w].replicas, self.chosen[w].config["instances_per_host"])
                         for w in known)
            if not isinstance(count, int) or count < filled:
                self.problems.append(f"{hid}: {count} hosts for {float(filled):g} hosts' worth of instances")
                continue
            self.figures.host_cents[hid] = count * per_host
            self.figures.upfront_cents += count * per_host_upfront
            standalone = sum(self.chosen[w].config["hosts"] for w in known)
            self.figures.host_savings_cents += (standalone - count) * per_host
        missing = sorted(w for w, c in self.chosen.items() if c.tenancy == "host" and w not in on_host)
        if missing:
            self.problems.append(f"{missing} are placed on Dedicated Hosts the plan does not buy")
        return on_host

    def _host_key(self, wid: str) -> tuple:
        c = self.chosen[wid]
        return (self.by_id[wid].region, c.config["host_family"], c.purchase_option, c.term, c.payment)

    # ------------------------------------------------------------------------- fees
    def _fees(self) -> None:
        needed: dict[str, int] = {}
        for wid, c in self.chosen.items():
            for line in c.lines:
                kind = fee_kind(line)
                if kind:
                    key = f"{kind}:{self.by_id[wid].region}"
                    needed[key] = max(needed.get(key, 0), cents(line.monthly_usd))
        paid = {f["fee"]: f["monthly_usd"] for f in self.plan["shared"]["fees"]}
        for key in sorted(set(needed) - set(paid)):
            self.problems.append(f"the fee {key} ({_usd(needed[key])} a month) is needed but not paid")
        for key in sorted(set(paid) - set(needed)):
            self.problems.append(f"the fee {key} is paid but no placement needs it")
        for key in sorted(set(paid) & set(needed)):
            if _differs(paid[key], needed[key]):
                self.problems.append(f"the fee {key} is {_usd(needed[key])} a month in the catalog, not ${paid[key]}")
        self.figures.fee_cents = needed
        self.figures.fees_cents = sum(needed.values())

    # ------------------------------------------------------------------------- owned commitments
    def _owned(self, in_cluster: set[str]) -> None:
        owned = self.portfolio.constraints.existing_commitments
        holdings: dict[tuple[str, str], int] = defaultdict(int)
        for h in owned.reserved:
            holdings[(h.instance_type, h.region)] += h.count
        used: dict[tuple[str, str], int] = defaultdict(int)
        sp_used = 0
        for wid, c in self.chosen.items():
            p, region = self.placement[wid], self.by_id[wid].region
            n = p.get("covered_by_owned_reserved", 0)
            sp = cents(p.get("covered_by_owned_savings_plan_usd", 0.0))
            coverable = (c.purchase_option == "on_demand" and c.tenancy == "shared" and wid not in in_cluster
                         and bool(c.lines))
            if n:
                key = (c.instance_type, region)
                if not (coverable and reserved_instances_cover(c) and key in holdings) or n > c.count or n < 0:
                    self.problems.append(f"{wid}: {n} owned reserved instances cannot cover this placement")
                    continue
                used[key] += n
                unit = cents(c.lines[0].monthly_usd) // max(c.count, 1)
                self.figures.covered_cents += n * unit
                self.figures.covered_by[wid] = self.figures.covered_by.get(wid, 0) + n * unit
            if sp:
                if not coverable or not savings_plan_covers(c) or sp > cents(c.lines[0].monthly_usd) or sp < 0:
                    self.problems.append(f"{wid}: the owned savings plan cannot cover {_usd(sp)} of this placement")
                    continue
                sp_used += sp
                self.figures.covered_by[wid] = self.figures.covered_by.get(wid, 0) + sp
        for key, n in sorted(used.items()):
            if n > holdings[key]:
                self.problems.append(f"{n} owned reserved {key[0]} in {key[1]} used, {holdings[key]} owned")
        if sp_used:
            cover = sp_cover_cents(self.catalog, owned.savings_plan_usd_per_hour)
            if sp_used > cover:
                self.problems.append(f"the owned savings plan covers {_usd(cover)} of on-demand spend, "
                                     f"the plan uses {_usd(sp_used)}")
        self.figures.covered_cents += sp_used

    # ------------------------------------------------------------------------- totals
    def _totals(self, in_cluster: set[str], on_host: set[str]) -> None:
        f = self.figures
        for wid, c in self.chosen.items():
            shared_first = wid in in_cluster or wid in on_host   # its first line is bought as shared capacity
            lines = c.lines[1:] if shared_first else c.lines
            f.own_cents[wid] = sum(cents(x.monthly_usd) for x in lines if not fee_kind(x))
            if not shared_first:
                f.upfront_cents += cents(c.upfront_usd)
        f.monthly_cents = (sum(f.own_cents.values()) + sum(f.cluster_cents.values()) + sum(f.host_cents.values())
                           + f.fees_cents - f.covered_cents)
        totals = self.plan["totals"]
        for name, value in (("monthly_usd", f.monthly_cents), ("upfront_usd", f.upfront_cents),
                            ("shared_fees_monthly_usd", f.fees_cents),
                            ("packing_savings_monthly_usd", f.packing_savings_cents),
                            ("host_sharing_savings_monthly_usd", f.host_savings_cents)):
            if name in totals and _differs(totals[name], value):
                self.problems.append(f"totals.{name} is ${totals[name]:,.2f}, its parts add to {_usd(value)}")
        objective = self.plan.get("solver", {}).get("objective_monthly_usd")
        if objective is not None and _differs(objective, f.monthly_cents):
            self.problems.append(f"solver.objective_monthly_usd is ${objective:,.2f}, the plan costs "
                                 f"{_usd(f.monthly_cents)}")

    # ------------------------------------------------------------------------- each workload's share
    def _rows(self) -> None:
        """Each row's share of the shared nodes, hosts and fees, recomputed by the rule (`allocation.py`) from
        the audited figures: every share to the cent, each row the sum of its parts, the rows the total."""
        f = self.figures
        expected: dict[str, dict[str, int]] = {w: defaultdict(int) for w in self.chosen}
        for cluster in self.plan["shared"]["clusters"]:
            members = {w: self.by_id[w] for w in cluster["members"]}
            replicas = {w: int(self.chosen[w].config.get("replicas", self.by_id[w].replicas)) for w in members}
            shares = largest_remainder(f.cluster_cents.get(cluster["id"], 0), cluster_weights(members, replicas))
            for w, n in shares.items():
                expected[w]["shared_nodes_monthly_usd"] += n
        for host in self.plan["shared"]["hosts"]:
            weights = host_weights({w: (self.by_id[w].replicas, self.chosen[w].config["instances_per_host"])
                                    for w in host["instances"]})
            for w, n in largest_remainder(f.host_cents.get(host["id"], 0), weights).items():
                expected[w]["shared_hosts_monthly_usd"] += n
        for key, price in sorted(f.fee_cents.items()):
            needers = sorted(w for w, c in self.chosen.items()
                             if any(fee_kind(x) and f"{fee_kind(x)}:{self.by_id[w].region}" == key
                                    for x in c.lines))
            for w, n in largest_remainder(price, fee_weights(needers)).items():
                expected[w]["shared_fees_monthly_usd"] += n
        rows_cents = alone_cents = 0
        for wid, p in self.placement.items():
            want = expected[wid]
            want["own_monthly_usd"] = f.own_cents[wid]
            want["owned_commitments_monthly_usd"] = f.covered_by.get(wid, 0)
            parts = {name: p[name] for name in ("own_monthly_usd", "shared_nodes_monthly_usd",
                                                "shared_hosts_monthly_usd", "shared_fees_monthly_usd",
                                                "owned_commitments_monthly_usd")}
            for name, reported in parts.items():
                if _differs(reported, want[name]):
                    self.problems.append(f"{wid}: {name} is ${reported:,.2f}, by the allocation rule "
                                         f"{_usd(want[name])}")
            row = (sum(cents(v) for k, v in parts.items() if k != "owned_commitments_monthly_usd")
                   - cents(parts["owned_commitments_monthly_usd"]))
            if _differs(p["monthly_usd"], row):
                self.problems.append(f"{wid}: its monthly_usd ${p['monthly_usd']:,.2f} is not the sum of its parts "
                                     f"{_usd(row)}")
            rows_cents += cents(p["monthly_usd"])
            alone_cents += cents(p["alone_monthly_usd"])
        if rows_cents != f.monthly_cents:
            self.problems.append(f"the workloads' rows add up to {_usd(rows_cents)}, the plan costs "
                                 f"{_usd(f.monthly_cents)}")
        alone = self.plan["totals"].get("alone_monthly_usd")
        if alone is not None and _differs(alone, alone_cents):
            self.problems.append(f"totals.alone_monthly_usd is ${alone:,.2f}, the rows' alone_monthly_usd add up to "
                                 f"{_usd(alone_cents)}")

    # ------------------------------------------------------------------------- commitments
    def _commitments(self, in_shared: set[str]) -> None:
        """The commitments to buy must be exactly what the plan runs under one (its packed nodes, its reserved
        hosts, its committed placements outside both), the owned ones used as the placements say."""
        self._to_buy(self._runs_under(in_shared))
        self._owned_used()

    def _runs_under(self, in_shared: set[str]) -> dict[tuple, list[int]]:
        """What the plan runs under a commitment, per commitment: [instances, hosts, monthly, upfront cents]."""
        want: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])   # instances, hosts, monthly, upfront c.

        def kind(option: str) -> str:
            return "reserved_instances" if option == "reserved" else "savings_plan"

        for cluster in self.plan["shared"]["clusters"]:
            if cluster["purchase_option"] in ("reserved", "savings_plan"):
                c = self.chosen[cluster["members"][0]]
                for g in cluster["nodes"]:
                    item = want[(kind(c.purchase_option), g["instance_type"], cluster["region"], c.tenancy,
                                 c.term, c.offering_class, c.plan_type, c.payment)]
                    item[0] += g["node_count"]
                    item[2] += cents(g["node_count"] * g["monthly_usd_per_node"])
                    item[3] += cents(g["node_count"] * g["upfront_usd_per_node"])
        for host in self.plan["shared"]["hosts"]:
            if host["purchase_option"] == "reserved":
                item = want[("host_reservation", host["family"], host["region"], "host", host["term"], None, None,
                             host["payment"])]
                item[1] += host["host_count"]
                item[2] += self.figures.host_cents.get(host["id"], 0)
                item[3] += host["host_count"] * cents(host["upfront_usd_per_host"])
        for wid, c in sorted(self.chosen.items()):
            if wid not in in_shared and c.purchase_option in ("reserved", "savings_plan"):
                item = want[(kind(c.purchase_option), c.instance_type or c.service, self.by_id[wid].region,
                             c.tenancy, c.term, c.offering_class, c.plan_type, c.payment)]
                item[0] += c.count if c.instance_type else 0
                item[2] += cents(c.lines[0].monthly_usd)
                item[3] += cents(c.upfront_usd)
        return want

    def _to_buy(self, want: dict[tuple, list[int]]) -> None:
        """The commitments listed to buy against what the plan runs under one: the same, in the same numbers."""
        listed: dict[tuple, dict[str, Any]] = {}
        for b in self.plan["shared"]["commitments"]["to_buy"]:
            key = (b["kind"], b["covers"], b["region"], b["tenancy"], b["term"], b["offering_class"], b["plan_type"],
                   b["payment"])
            if key in listed:
                self.problems.append(f"the commitment {key} is listed twice")
            listed[key] = b
        for key in sorted(set(want) - set(listed), key=str):
            self.problems.append(f"the plan runs under {key} but does not list it among the commitments to buy")
        for key in sorted(set(listed) - set(want), key=str):
            self.problems.append(f"the commitment {key} is listed to buy but nothing in the plan runs under it")
        for key in sorted(set(listed) & set(want), key=str):
            b, (instances, hosts, monthly, upfront) = listed[key], want[key]
            if (b["instance_count"] or 0) != instances or (b["host_count"] or 0) != hosts:
                self.problems.append(f"the commitment {key} buys {b['instance_count']} instances and "
                                     f"{b['host_count']} hosts; the plan runs {instances} and {hosts}")
            for name, value in (("monthly_usd", monthly), ("upfront_usd", upfront)):
                if abs(cents(b[name]) - value) > len(self.chosen):   # each part rounded on its own
                    self.problems.append(f"the commitment {key}: {name} ${b[name]:,.2f}, its parts {_usd(value)}")

    def _owned_used(self) -> None:
        """Owned reserved instances listed as owned, used as the placements say, and why not all, if not."""
        holdings: dict[tuple[str, str], int] = defaultdict(int)
        for h in self.portfolio.constraints.existing_commitments.reserved:
            holdings[(h.instance_type, h.region)] += h.count
        used: dict[tuple[str, str], int] = defaultdict(int)
        for wid, p in self.placement.items():
            if p.get("covered_by_owned_reserved"):
                used[(self.chosen[wid].instance_type, self.by_id[wid].region)] += p["covered_by_owned_reserved"]
        owned = {(o["covers"], o["region"]): o for o in self.plan["shared"]["commitments"]["owned"]
                 if o["kind"] == "reserved_instances"}
        if set(owned) != set(holdings):
            self.problems.append(f"owned reserved instances listed {sorted(owned)}, owned {sorted(holdings)}")
        for key in sorted(set(owned) & set(holdings)):
            o = owned[key]
            if o["instance_count"] != holdings[key] or o["used_instance_count"] != used.get(key, 0):
                self.problems.append(f"owned {key}: {o['used_instance_count']} of {o['instance_count']} used "
                                     f"listed, the placements use {used.get(key, 0)} of {holdings[key]}")
            if (used.get(key, 0) < holdings[key]) != bool(o["unused_reason"]):
                self.problems.append(f"owned {key}: unused reserved instances must say why (and only those)")

    # ------------------------------------------------------------------------- constraints
    def _constraints(self, in_cluster: set[str]) -> None:
        c, f = self.portfolio.constraints, self.figures
        if c.max_monthly_usd is not None and f.monthly_cents > cents(c.max_monthly_usd):
            self.problems.append(f"monthly {_usd(f.monthly_cents)} is over max_monthly_usd ${c.max_monthly_usd:,.2f}")
        if c.max_upfront_usd is not None and f.upfront_cents > cents(c.max_upfront_usd):
            self.problems.append(f"upfront {_usd(f.upfront_cents)} is over max_upfront_usd "
                                 f"${c.max_upfront_usd:,.2f}")
        total = spot = 0.0
        for wid, cand in self.chosen.items():
            v = self._spot_vcpu(wid, cand, wid in in_cluster)
            total += v
            spot += v if cand.purchase_option == "spot" else 0.0
        f.spot_share = spot / total if total else None
        if c.max_spot_share is not None and total and spot / total > c.max_spot_share + 1e-9:
            self.problems.append(f"spot share {spot / total:.3f} is over max_spot_share {c.max_spot_share}")
        self._quotas(in_cluster)

    def _spot_vcpu(self, wid: str, c: Candidate, clustered: bool) -> float:
        """The vCPU a placement counts in the spot share: pods' requests on shared nodes, else provisioned."""
        w = self.by_id[wid]
        if clustered:
            return int(c.config.get("replicas", w.replicas)) * w.vcpu
        return compute_of(c).vcpu

    def _quotas(self, in_cluster: set[str]) -> None:
        """vCPU of standard-family instances and cluster nodes per region, on-demand and Spot, within quotas."""
        c = self.portfolio.constraints
        used: dict[tuple[str, str], float] = defaultdict(float)

        for wid, cand in self.chosen.items():
            if wid not in in_cluster and (kind := standard_quota(cand)):
                used[(self.by_id[wid].region, kind)] += compute_of(cand).vcpu
        for cluster in self.plan["shared"]["clusters"]:
            for g in cluster["nodes"]:
                if vcpu_quota(g["instance_type"]) == "standard":
                    used[(cluster["region"], quota_kind(g["purchase_option"]))] += (
                        self.vcpu_of[g["instance_type"]] * g["node_count"])
        self.figures.quota_vcpu = dict(used)
        for (region, kind), vcpu in sorted(used.items()):
            given = c.vcpu_quotas.get(region)
            quota = getattr(given, kind, None) if given else None
            if quota is None and kind == "on_demand" and c.default_quotas:
                quota = self.catalog.facts.value("quotas.on_demand_standard_default_vcpus")
            if quota is not None and vcpu > quota + 1e-6:
                self.problems.append(f"{region} {kind} standard vCPU {vcpu:g} is over the quota {quota:g}")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
