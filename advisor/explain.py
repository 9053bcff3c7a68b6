"""Why the winner won and why each other option lost: alternatives with costs, rejections with reasons.

Nothing is silently skipped: every (service, purchase option) that produced a candidate but was not
chosen appears among the alternatives (its best candidate) or, when no candidate of it meets the
workload's caps, among the rejections with the cap that excluded it.
"""

from __future__ import annotations

from advisor.candidates.base import Candidate, Rejection
from advisor.optimize.choose import within_caps
from models.workload import Workload


def alternatives(candidates: list[Candidate], chosen: Candidate | None, w: Workload, top_k: int) -> list[Candidate]:
    """The top_k best other candidates, then the best of every other (service, purchase option)."""
    feasible = sorted((c for c in candidates if within_caps(c, w.max_monthly_usd, w.max_upfront_usd)),
                      key=lambda c: c.sort_key)
    others = [c for c in feasible if c is not chosen]
    picked = others[:top_k]
    seen = {c.option_key for c in picked} | ({chosen.option_key} if chosen else set())
    for c in others[top_k:]:
        if c.option_key not in seen:
            picked.append(c)
            seen.add(c.option_key)
    return sorted(picked, key=lambda c: c.sort_key)


def cap_rejections(candidates: list[Candidate], w: Workload) -> list[Rejection]:
    """Option groups whose every candidate breaks a cap: the cheapest one's figure against the cap."""
    out = []
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.option_key, []).append(c)
    for (service, option), group in sorted(groups.items()):
        if any(within_caps(c, w.max_monthly_usd, w.max_upfront_usd) for c in group):
            continue
        cheapest = min(group, key=lambda c: c.sort_key)
        if w.max_monthly_usd is not None and cheapest.monthly_usd > w.max_monthly_usd:
            out.append(Rejection(service, option, "over_budget",
                                 f"the cheapest {service} {option} costs ${cheapest.monthly_usd:,.2f} a month, "
                                 f"over max_monthly_usd ${w.max_monthly_usd:,.2f}"))
        else:
            least = min(group, key=lambda c: c.upfront_usd)
            out.append(Rejection(service, option, "over_upfront_cap",
                                 f"{service} {option} needs at least ${least.upfront_usd:,.2f} upfront, "
                                 f"over max_upfront_usd ${w.max_upfront_usd or 0:,.2f}"))
    return out


def dedupe(rejections: list[Rejection]) -> list[Rejection]:
    seen, out = set(), []
    for r in rejections:
        key = (r.service, r.option, r.reason)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
