"""A portfolio plan (`models.portfolio.PlanDocument`, as JSON) in words a review session reads: a summary in
sentences, the rows that add up to the total (shown), clusters, hosts, commitments and fees in plain words,
each binding constraint's price, the solver in one line (its details folded away). No raw dictionaries and no
internal keys reach the page: every label here is written for a person."""

from __future__ import annotations

from typing import Any

SERVICE = {"ec2": "EC2", "ecs_ec2": "ECS on EC2", "eks_ec2": "EKS on EC2", "ecs_fargate": "ECS on Fargate",
           "eks_fargate": "EKS on Fargate", "lambda": "Lambda", "batch": "AWS Batch", "lightsail": "Lightsail",
           "beanstalk": "Elastic Beanstalk"}
OPTION = {"on_demand": "on-demand", "spot": "Spot", "reserved": "reserved", "savings_plan": "savings plan",
          "capacity_reservation": "capacity reservation"}
FEE = {"eks": "EKS control plane", "dedicated": "dedicated-tenancy per-region fee"}
CONSTRAINT = {"max_monthly_usd": "the monthly budget", "max_upfront_usd": "the upfront cap",
              "max_spot_share": "the Spot share cap"}
ROW_COLUMNS = ["Workload", "Runs as", "In the plan", "Own", "Shared nodes", "Shared hosts", "Shared fees",
               "Owned commitments", "Alone"]


def usd(value: float | None) -> str:
    return "missing" if value is None else f"${value:,.2f}"


def _bound(value: float | None) -> str:
    return "not computed" if value is None else usd(value)


def _words(x: str | None) -> str:
    return (x or "").replace("_", " ")


def _term(term: str | None, payment: str | None, klass: str | None = None) -> str:
    parts = [term.replace("yr", "-year") if term else "", _words(klass), _words(payment)]
    return " ".join(p for p in parts if p)


def _option(option: str, term: str | None, payment: str | None, klass: str | None = None) -> str:
    detail = _term(term, payment, klass)
    return OPTION.get(option, _words(option)) + (f" ({detail})" if detail else "")


def constraint_name(name: str) -> str:
    if name in CONSTRAINT:
        return CONSTRAINT[name]
    if name.startswith("vcpu_quotas."):
        _, region, kind = name.split(".", 2)
        return f"the {region} {_words(kind).replace('on demand', 'on-demand')} vCPU quota"
    return _words(name)


def fee_name(key: str) -> str:
    kind, _, region = key.partition(":")
    return f"{FEE.get(kind, _words(kind))} in {region}"


def cluster_label(c: dict[str, Any]) -> str:
    option = OPTION.get(c["purchase_option"], _words(c["purchase_option"]))
    return f"{SERVICE.get(c['service'], c['service'])} {option} ({', '.join(c['members'])})"


def runs_as(choice: dict[str, Any]) -> str:
    what = SERVICE.get(choice["service"], choice["service"])
    if choice.get("instance_type"):
        what += f", {choice['count']} x {choice['instance_type']}"
    what += f", {_option(choice['purchase_option'], choice.get('term'), choice.get('payment'))}"
    if choice.get("tenancy") not in (None, "shared"):
        what += f", {choice['tenancy']} tenancy"
    return what


def summary(plan: dict[str, Any]) -> list[str]:
    t = plan["totals"]
    n = len(plan["placements"])
    saved = t["alone_monthly_usd"] - t["monthly_usd"]
    out = [f"{n} workloads planned together cost {usd(t['monthly_usd'])} a month and {usd(t['upfront_usd'])} "
           f"upfront, against {usd(t['alone_monthly_usd'])} a month with each chosen alone"
           + (f": {usd(saved)} a month less." if saved > 0 else ".")]
    e = plan["explanation"]
    fees = e["shared_fees"]
    if fees["paid_once_monthly_usd"]:
        out.append(f"Fees paid once per region cost {usd(fees['paid_once_monthly_usd'])} a month; chosen alone, "
                   f"the workloads would pay {usd(fees['alone_would_pay_monthly_usd'])}.")
    if t["packing_savings_monthly_usd"]:
        out.append(f"Packing workloads onto shared cluster nodes saves {usd(t['packing_savings_monthly_usd'])} a "
                   "month against each on nodes of its own.")
    if t["host_sharing_savings_monthly_usd"]:
        out.append(f"Sharing Dedicated Hosts saves {usd(t['host_sharing_savings_monthly_usd'])} a month.")
    for c in e["changed_against_alone"]:
        out.append(f"{c['workload_id']} is placed differently than alone: {_words(c['in_portfolio'])} "
                   f"({usd(c['monthly_usd'])} on its own) instead of {_words(c['alone'])} "
                   f"({usd(c['alone_monthly_usd'])}).")
    return out


def binding(plan: dict[str, Any]) -> list[str]:
    items = plan["explanation"]["binding_constraints"]
    if not items:
        return ["No portfolio constraint is binding: dropping any of them would not lower the cost."]
    return [f"{constraint_name(b['constraint']).capitalize()} costs {usd(b['costs_monthly_usd'])} a month: without "
            f"it the plan would cost {usd(b['monthly_usd_if_relaxed'])}." for b in items]


def solver_line(plan: dict[str, Any]) -> str:
    s = plan["solver"]
    if s["status"] == "OPTIMAL":
        line = f"Proven optimal: no plan costs less than {usd(s['bound_monthly_usd'])} a month"
    elif s["bound_monthly_usd"] is not None:
        line = (f"Feasible, within {s['gap']:.2%} of the best possible: no plan costs less than "
                f"{usd(s['bound_monthly_usd'])} a month")
    else:
        line = "Feasible; no lower bound was proven in the time given"
    if s["defects"]:
        line += f"; {len(s['defects'])} defect(s) found in the bounds (see the details)"
    if not s["work"]["reproducible"]:
        line += "; the wall clock stopped a solve, so another run may differ"
    return line + "."


def solver_details(plan: dict[str, Any]) -> list[str]:
    s, r, w = plan["solver"], plan["solver"]["relaxation"], plan["solver"]["work"]
    out = [f"Time limit {w['time_limit_nominal_s']:g} s (deterministic clock), {w['used_nominal_s']:g} s of it used; "
           f"answered in {s['seconds']:g} s of wall clock.",
           f"Lower bounds: the LP relaxation {_bound(r['lp_bound_monthly_usd'])}, with whole nodes "
           f"{_bound(r['whole_node_bound_monthly_usd'])}, CP-SAT on the cut model "
           f"{_bound(r['cp_sat_bound_monthly_usd'])}.",
           f"The relaxation solved {r['iterations']} LPs with {r['pattern_cuts']} pattern cuts over {r['pools']} pools "
           f"and {'converged' if r['converged'] else 'was stopped by the time limit'}.",
           "Plans compared: " + ", ".join(usd(x) for x in r["plans_compared"]) + ".",
           *[f"{note}." for note in r["pooled_plans"]],
           *[f"Defect: {d}." for d in s["defects"]],
           f"How the bound is made: {s['bound_basis']}."]
    if r["rejected_plans"]:
        out.append(f"{len(r['rejected_plans'])} plan(s) failed the audit and were not answered.")
    return out


def rows(plan: dict[str, Any]) -> dict[str, Any]:
    """The workloads' rows with their shares, and the total row: the rows add up to the plan's total."""
    body = [[p["workload_id"], runs_as(p["choice"]), usd(p["monthly_usd"]), usd(p["own_monthly_usd"]),
             usd(p["shared_nodes_monthly_usd"]), usd(p["shared_hosts_monthly_usd"]), usd(p["shared_fees_monthly_usd"]),
             usd(-p["owned_commitments_monthly_usd"]) if p["owned_commitments_monthly_usd"] else usd(0.0),
             usd(p["alone_monthly_usd"])] for p in plan["placements"]]

    def total(name: str) -> float:
        return sum(round(p[name] * 100) for p in plan["placements"]) / 100

    foot = ["Total", "", usd(total("monthly_usd")), usd(total("own_monthly_usd")),
            usd(total("shared_nodes_monthly_usd")), usd(total("shared_hosts_monthly_usd")),
            usd(total("shared_fees_monthly_usd")), usd(-total("owned_commitments_monthly_usd")),
            usd(total("alone_monthly_usd"))]
    return {"columns": ROW_COLUMNS, "rows": body, "total": foot,
            "reconciles": f"The rows add up to {usd(total('monthly_usd'))}, the plan's total of "
                          f"{usd(plan['totals']['monthly_usd'])} a month. Shared nodes are split by what each "
                          "workload requests (its largest share of the cluster's vCPU, memory or GPUs), Dedicated "
                          "Hosts by the hosts' worth of instances each places, fees paid once equally among the "
                          "workloads that need them; to the cent by largest remainder."}


def clusters(plan: dict[str, Any]) -> list[str]:
    out = []
    for c in plan["shared"]["clusters"]:
        groups = " and ".join(
            f"{g['node_count']} x {g['instance_type']} ("
            + ", ".join(f"{w} {n}" for w, n in g["replicas_per_node"].items()) + " per node)" for g in c["nodes"])
        saving = c["standalone_monthly_usd"] - c["monthly_usd"]
        out.append(f"{SERVICE.get(c['service'], c['service'])} cluster in {c['region']} ({c['os']}, {c['tenancy']} "
                   f"tenancy, {_option(c['purchase_option'], c['term'], c['payment'], c['offering_class'])}) for "
                   f"{', '.join(c['members'])}: {groups}; {usd(c['monthly_usd'])} a month and "
                   f"{usd(c['upfront_usd'])} upfront"
                   + (f", {usd(saving)} a month less than each on nodes of its own." if saving > 0.004
                      else ", as each on nodes of its own."))
    return out


def hosts(plan: dict[str, Any]) -> list[str]:
    out = []
    for h in plan["shared"]["hosts"]:
        held = ", ".join(f"{w} {i['instance_count']} x {i['instance_type']} ({i['instances_per_host']} fit a host)"
                         for w, i in h["instances"].items())
        out.append(f"{h['host_count']} {h['family']} Dedicated Host(s) in {h['region']}, "
                   f"{_option(h['purchase_option'], h['term'], h['payment'])}, {usd(h['monthly_usd_per_host'])} a "
                   f"month each: {held}; alone they would take {h['standalone_host_count']} host(s).")
    return out


def commitments(plan: dict[str, Any]) -> list[str]:
    out = []
    for b in plan["shared"]["commitments"]["to_buy"]:
        if b["kind"] == "host_reservation":
            what = f"{b['host_count']} {b['covers']} Dedicated Host reservation(s)"
        elif b["kind"] == "reserved_instances":
            what = f"{b['instance_count']} {b['covers']} reserved instance(s), {b['tenancy']} tenancy"
        else:
            what = f"a savings plan for {b['covers']}" + (f" ({b['instance_count']} covered)"
                                                          if b["instance_count"] else "")
        terms = _term(b["term"], b["payment"], b["offering_class"] or b["plan_type"])
        out.append(f"Buy {what} in {b['region']}, {terms}, for {', '.join(b['used_by'])}: "
                   f"{usd(b['monthly_usd'])} a month, {usd(b['upfront_usd'])} upfront.")
    for o in plan["shared"]["commitments"]["owned"]:
        if o["kind"] == "reserved_instances":
            text = (f"Owned: {o['instance_count']} {o['covers']} reserved instance(s) in {o['region']}; the plan uses "
                    f"{o['used_instance_count']}, covering {usd(o['covered_on_demand_monthly_usd'])} a month.")
        else:
            text = (f"Owned: a savings plan of {usd(o['usd_per_hour'])} an hour; it covers "
                    f"{usd(o['covered_on_demand_monthly_usd'])} of on-demand spend a month in the plan.")
        out.append(text + (f" Why not all of it: {o['unused_reason']}." if o["unused_reason"] else ""))
    return out


def fees(plan: dict[str, Any]) -> list[str]:
    return [f"{fee_name(f['fee']).capitalize()}: {usd(f['monthly_usd'])} a month, paid once for "
            f"{', '.join(f['shared_by'])}." for f in plan["shared"]["fees"]]


def view(plan: dict[str, Any]) -> dict[str, Any]:
    """Everything the portfolio page and report show, as sentences and a table of strings."""
    return {"summary": summary(plan), "binding": binding(plan), "solver": solver_line(plan),
            "solver_details": solver_details(plan), "rows": rows(plan), "clusters": clusters(plan),
            "hosts": hosts(plan), "commitments": commitments(plan), "fees": fees(plan)}
