"""The phases of a plan and their time, in one place.

Every phase is budgeted on the planner's clock (nominal seconds, deterministic: `clock.py`) as a share of the
plan's time limit: either it ends by a point of the limit (`until`), or it may take a share of it (`share`).
A phase that starts late still gets `MIN_PHASE_S` (`Budget.left`), so a tiny limit still answers. In order:

  candidates -> on the second core: CHOICE, BINDING_PRICES, then plan A packed (PLAN_PACKING);
                meanwhile on this core: RELAXATION
             -> POOLED_CHOICE (plan B, packed: PLAN_PACKING) -> PLAN_SEARCH (plans searched from it, each packed)
             -> BOUNDS (with, on small portfolios, the bound model's choice packed: BOUND_PLAN_PACKING)
             -> the answer: the cheapest valid plan, proven against the best bound, explained, audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.portfolio import clock

MIN_PHASE_S = 0.5   # a phase that starts past its end still gets this long


@dataclass(frozen=True)
class Phase:
    """One phase: what it does and why it gets its time (`until` or `share` of the time limit)."""

    name: str
    why: str
    until: float | None = None   # it ends by this share of the time limit (counted from the plan's start)
    share: float | None = None   # it may take this share of the time limit


CHOICE = Phase("choice", "the choice as if nothing were pooled (plan A, and the model every binding constraint is "
               "priced with): a small model, usually proven in well under a second; a quarter of what is left "
               "at most (and a nominal second at least)", share=0.25)
CHOICE_RETRY = Phase("choice retried", "when the choice found no plan in its share of a tiny limit, a plan is "
                     "still owed: a quarter of the limit, 5 nominal seconds at least", share=0.25)
BINDING_PRICES = Phase("binding prices", "each binding constraint's price: the choice re-solved without it, on "
                       "the second core while the relaxation is tightened", until=0.45)
RELAXATION = Phase("relaxation", "the LP of choice and packing together, tightened by pool cuts until converged: "
                   "the bound, and the prices the pooled choice is made at", until=0.60)
POOLED_CHOICE = Phase("pooled choice", "plan B: CP-SAT on the tightened cut model near the LP's choice",
                      until=0.68)
POOLED_CHOICE_OWED = Phase("pooled choice owed", "when only pooling can meet the limits and no pooled choice met "
                           "them in its share: the pooled choice once more, past the limit (a plan is owed)",
                           share=0.5)
PLAN_SEARCH = Phase("plan search", "plans searched from plan B with pools priced at whole nodes (or whole-node "
                    "rounds when time is short): where most of the saving is found", until=0.88)
PLAN_PACKING = Phase("plan packing", "each plan's clusters packed for real (and never past the end of BOUNDS)",
                     share=0.10)
BOUNDS = Phase("bounds", "the whole-node bounds (Lagrangian parts, CP-SAT on the cut model), side by side",
               until=0.95)
BOUND_PLAN_PACKING = Phase("bound plan packing", "on small portfolios the bound model's choice is a plan worth "
                           "packing: the bound's solve leaves it this share", share=0.05)
ANSWER = Phase("answer", "the bound model's plan packed by the end of the limit; then the answer is written "
               "and audited (charged nothing)", until=1.0)

PHASES = (CHOICE, CHOICE_RETRY, BINDING_PRICES, RELAXATION, POOLED_CHOICE, POOLED_CHOICE_OWED, PLAN_SEARCH,
          PLAN_PACKING, BOUNDS, BOUND_PLAN_PACKING, ANSWER)


@dataclass(frozen=True)
class Budget:
    """The phases' time for one plan's time limit (nominal seconds; the plan starts at 0 on its clock)."""

    limit_s: float

    def until(self, phase: Phase) -> float:
        """The point on the planner's clock by which `phase` ends."""
        assert phase.until is not None, phase.name
        return phase.until * self.limit_s

    def left(self, phase: Phase) -> float:
        """What is left until `phase` ends, at least MIN_PHASE_S."""
        return max(self.until(phase) - clock.now(), MIN_PHASE_S)

    def share(self, phase: Phase) -> float:
        """The nominal seconds `phase` may take."""
        assert phase.share is not None, phase.name
        return phase.share * self.limit_s
