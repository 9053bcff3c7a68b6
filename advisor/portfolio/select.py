"""The portfolio's choice model (CP-SAT): one placement per workload under constraints on the whole.

Data: every workload's candidates (the same generators as a single recommendation), each with its
monthly cost in cents *without* the fees that are paid once (EKS control plane per region, the
dedicated-tenancy fee per region), its upfront cash, its provisioned vCPU, whether that vCPU is on
Spot, and which vCPU quota it draws on.

Variables: x[w][i] (workload w takes candidate i); fee[k] (a shared fee k is paid); hosts[k] (Dedicated
Hosts of one family and purchase option, shared by every workload placed on them); z[i] (instances
of candidate i covered by reserved instances already owned); y[i] (cents of candidate i's on-demand
spend covered by a savings plan already owned).

Constraints: exactly one candidate per workload; a fee is paid when any candidate needing it is
taken; owned reserved instances and savings-plan dollars are used at most once; the budget, the
upfront cap, the spot share and the vCPU quotas, each guarded by an assumption literal so an
infeasible portfolio names the constraints that conflict.

Objective: monthly cost in cents (candidates + fees + hosts - what owned commitments cover); among
equal costs, each workload's own ranking (the order recommend() uses) decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from advisor.candidates.base import Candidate
from advisor.portfolio import clock
from advisor.portfolio.keys import HostKey, PoolKey
from advisor.portfolio.packing import NodeType, PodShape
from advisor.portfolio.whole_nodes import add_whole_nodes, most_cents


@dataclass(frozen=True)
class Option:
    """One candidate as the model sees it (workloads alike but for their id share their options)."""

    candidate: Candidate
    cost_cents: int                 # monthly, shared fees excluded
    upfront_cents: int
    vcpu_milli: int                 # vCPU x 1000 in the spot share: provisioned, or requested by pods and tasks
    spot: bool
    quota: str | None               # "on_demand" or "spot" standard-family quota it draws on, else None
    region: str
    fees: tuple[str, ...] = ()      # shared fee keys, e.g. "eks:us-east-1", "dedicated:us-east-1"
    ri_key: tuple[str, str] | None = None   # (instance_type, region) an owned RI can cover
    ri_unit_cents: int = 0          # cost of one instance-month that an owned RI would cover
    sp_cents: int = 0               # on-demand compute spend an owned savings plan can cover
    host_key: HostKey | None = None  # Dedicated Hosts shared by every option with this key
    host_milli: int = 0             # thousandths of a host this option's instances fill
    pool_key: PoolKey | None = None  # (bound model only) a node pool that prices this option's replicas
    pool_demand: tuple[int, int, int, int] = (0, 0, 0, 0)  # thousandths of vCPU, GiB, pod slots, GPUs
    quota_milli: int | None = None  # vCPU x 1000 drawn on the quota (instances and nodes); None: vcpu_milli

    @property
    def quota_vcpu_milli(self) -> int:
        return self.vcpu_milli if self.quota_milli is None else self.quota_milli


@dataclass
class Selection:
    status: str
    chosen: dict[str, Option] = field(default_factory=dict)
    fees_paid: list[str] = field(default_factory=list)
    hosts: dict[HostKey, int] = field(default_factory=dict)          # host key -> hosts bought
    ri_used: dict[str, int] = field(default_factory=dict)      # candidate id -> instances covered
    sp_used_cents: dict[str, int] = field(default_factory=dict)
    objective_cents: int | None = None
    bound_cents: int | None = None
    seconds: float = 0.0
    conflicts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_monthly_cents: int | None = None
    max_upfront_cents: int | None = None
    max_spot_share_milli: int | None = None                   # share x 1000
    quotas: dict[tuple[str, str], int] = field(default_factory=dict)   # (region, "on_demand"|"spot") -> vCPU
    ri_owned: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, region) -> count
    sp_cover_cents: int = 0


@dataclass
class PoolModel:
    """What the bound model knows of a node pool's cost. Each cut maps workload id -> thousandths of a cent
    a month: whatever nodes carry the pool's replicas cost at least the sum of a cut's coefficients over the
    workloads placed in the pool. Their upfront is at least `upfront_per_mille` / 1000 x their monthly cost
    (the least ratio over the pool's node types)."""

    cuts: list[dict[str, int]] = field(default_factory=list)
    upfront_per_mille: int = 0
    fixed_cents: int = 0     # (plan search only, never a bound) a charge for using the pool at all
    # (member shapes, node types): the pool also costs at least whole nodes of those types holding its members'
    # replicas, its upfront at least theirs (`whole_nodes.py`)
    whole_nodes: tuple[dict[str, PodShape], list[NodeType]] | None = None
    # (plan search) the real packing of the hinted choice's members: (node type, nodes, replicas per node by member)
    packed_hint: list[tuple[str, int, dict[str, int]]] | None = None


@dataclass(frozen=True)
class HostPrice:
    monthly_cents: int   # one host, per month over the horizon
    upfront_cents: int   # one host's upfront payment


def undominated(opts: list[Option], limits: Limits, drop: frozenset[str]) -> list[int]:
    """Indices of a workload's options that some feasible optimum may need: an option is dropped when an
    earlier one (earlier also wins ties) is no worse on every term of the model: cost, upfront, spot share,
    each quota, fees (a subset), hosts (none, or the same hosts and no more of them) and owned commitments
    (the same ones, as much covered)."""
    share = limits.max_spot_share_milli if "max_spot_share" not in drop else None
    owned = bool(limits.ri_owned) or limits.sp_cover_cents > 0

    def vector(o: Option) -> tuple:
        spot_coef = (o.vcpu_milli * 1000 * o.spot - share * o.vcpu_milli) if share is not None else 0
        return (o.cost_cents, o.upfront_cents, spot_coef,
                o.quota_vcpu_milli if o.quota == "on_demand" else 0, o.quota_vcpu_milli if o.quota == "spot" else 0)

    def no_worse(a: Option, b: Option) -> bool:
        if not set(a.fees) <= set(b.fees) or a.region != b.region:
            return False
        if a.host_key != b.host_key and a.host_key is not None:
            return False
        if a.host_key is not None and a.host_milli > b.host_milli:
            return False
        if owned and (a.ri_key, a.ri_unit_cents, a.sp_cents) != (b.ri_key, b.ri_unit_cents, b.sp_cents):
            return False
        if a.pool_key is not None and (a.pool_key != b.pool_key
                                       or any(x > y for x, y in zip(a.pool_demand, b.pool_demand, strict=True))):
            return False
        return all(x <= y for x, y in zip(vector(a), vector(b), strict=True))

    keep: list[int] = []
    for i, o in enumerate(opts):
        if not any(no_worse(opts[j], o) for j in keep):
            keep.append(i)
    return keep


def undominated_all(options: dict[str, list[Option]], limits: Limits, drop: frozenset[str]) -> dict[str, list[int]]:
    """`undominated` for every workload, once per options list (workloads alike share theirs)."""
    by_list: dict[int, list[int]] = {}
    for opts in options.values():
        if id(opts) not in by_list:
            by_list[id(opts)] = undominated(opts, limits, drop)
    return {w: by_list[id(opts)] for w, opts in options.items()}


def select(options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits, *,
           time_limit_s: float, hint: dict[str, int] | None = None, drop: frozenset[str] = frozenset(),
           host_prices: dict[HostKey, HostPrice] | None = None, pools: dict[PoolKey, PoolModel] | None = None,
           workers: int = 1) -> Selection:
    """Solve the choice; `drop` names constraints to leave out (to price a binding constraint).

    The model is built on each workload's undominated options only; answers map back to the full lists.
    `time_limit_s` is in the planner's nominal seconds (`clock.py`: deterministic time). `workers` > 1 (a plan
    search only): CP-SAT's parallel portfolio, interleaved in one thread so that it is deterministic too."""
    kept = undominated_all(options, limits, drop)
    reduced = {w: [options[w][i] for i in kept[w]] for w in options}
    position = {w: {i: k for k, i in enumerate(kept[w])} for w in options}
    reduced_hint = {w: position[w][i] for w, i in (hint or {}).items() if i in position[w]}
    args = {"time_limit_s": time_limit_s, "hint": reduced_hint, "drop": drop, "host_prices": host_prices,
            "pools": pools or {}, "workers": workers}
    result = _solve(reduced, fee_cents, limits, assumptions=False, **args)
    if result.status == "INFEASIBLE":  # solve again with each constraint behind a literal, to name the conflict
        result = _solve(reduced, fee_cents, limits, assumptions=True, **args)
    return result


def _solve(options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits, *,
           time_limit_s: float, hint: dict[str, int] | None, drop: frozenset[str],
           host_prices: dict[HostKey, HostPrice] | None, pools: dict[PoolKey, PoolModel], assumptions: bool,
           workers: int = 1) -> Selection:
    m = _ChoiceModel(options, fee_cents, limits, host_prices or {}, pools, hint, drop, assumptions)
    return m.solve(time_limit_s, workers)


class _ChoiceModel:
    """The CP-SAT model of the module docstring, built part by part (in a fixed order: the same model, the
    same search), then solved and read back as a Selection."""

    def __init__(self, options: dict[str, list[Option]], fee_cents: dict[str, int], limits: Limits,
                 host_prices: dict[HostKey, HostPrice], pools: dict[PoolKey, PoolModel], hint: dict[str, int] | None,
                 drop: frozenset[str], assumptions: bool):
        self.options, self.fee_cents, self.limits, self.host_prices = options, fee_cents, limits, host_prices
        self.pools, self.hint, self.drop, self.assumptions = pools, hint, drop, assumptions
        self.model = cp_model.CpModel()
        self.names = sorted(options)
        self.cost_terms: list = []
        self.pool_upfront: list = []
        self.covered: list = []
        self.guards: dict[str, cp_model.IntVar] = {}
        self._choices()
        self._fees()
        self._hosts()
        for k, pool in sorted(pools.items()):
            self._pool(k, pool)
        self._owned_reserved()
        self._owned_savings_plan()
        self.objective = sum(self.cost_terms) - sum(self.covered)  # monthly cost in cents
        self._limits()
        self._objective()

    def _taken(self, keep) -> list[tuple[str, int, Option]]:
        """(workload, index, option) of every option `keep` selects, in model order."""
        return [(w, i, o) for w in self.names for i, o in enumerate(self.options[w]) if keep(o)]

    # ------------------------------------------------------------------------- parts of the model
    def _choices(self) -> None:
        """x[w][i]: exactly one option per workload."""
        self.x = {w: [self.model.new_bool_var(f"x[{w}][{i}]") for i in range(len(self.options[w]))]
                  for w in self.names}
        for w in self.names:
            self.model.add_exactly_one(self.x[w])

    def _fees(self) -> None:
        """A fee is paid when any option needing it is taken (one row per workload and fee)."""
        model, x = self.model, self.x
        self.fee = {k: model.new_bool_var(f"fee[{k}]") for k in sorted(self.fee_cents)}
        for w in self.names:
            for k in sorted({k for o in self.options[w] for k in o.fees}):
                model.add(sum(x[w][i] for i, o in enumerate(self.options[w]) if k in o.fees) <= self.fee[k])
        self.cost_terms += [o.cost_cents * x[w][i] for w, i, o in self._taken(lambda o: True)]
        self.cost_terms += [self.fee_cents[k] * self.fee[k] for k in self.fee]

    def _hosts(self) -> None:
        """Enough hosts of a family for every instance placed on them."""
        self.hosts = {k: self.model.new_int_var(0, 100_000, f"hosts[{k}]") for k in sorted(self.host_prices)}
        for k, var in self.hosts.items():
            self.model.add(1000 * var >= sum(o.host_milli * self.x[w][i]
                                             for w, i, o in self._taken(lambda o, k=k: o.host_key == k)))
            self.cost_terms.append(self.host_prices[k].monthly_cents * var)

    def _pool(self, k: PoolKey, pool: PoolModel) -> None:
        """A pool costs at least what each of its cuts says (and, with whole nodes, what they cost)."""
        members: dict[str, list] = {}
        for w, i, _ in self._taken(lambda o: o.pool_key == k):
            members.setdefault(w, []).append(self.x[w][i])
        if not members:
            return
        model = self.model
        most = sum(max((cut.get(w, 0) for cut in pool.cuts), default=0) for w in members) // 1000 + 1
        if pool.whole_nodes:
            most = max(most, most_cents(pool.whole_nodes[1], pool.whole_nodes[0], upfront=False))
        cost = model.new_int_var(0, most + pool.fixed_cents, f"pool[{k}]")   # no cut can ask for more
        used = 0
        if pool.fixed_cents:
            used = model.new_bool_var(f"pool_used[{k}]")
            for v in (v for w in sorted(members) for v in members[w]):
                model.add_implication(v, used)
            model.add(cost >= pool.fixed_cents * used)
        for cut in pool.cuts:
            terms = [coef * v for w, coef in sorted(cut.items()) if coef > 0 and w in members for v in members[w]]
            if terms:
                model.add(1000 * cost >= sum(terms) + 1000 * pool.fixed_cents * used)
        self.cost_terms.append(cost)
        upfront = self._pool_upfront(k, pool, most, cost)
        if pool.whole_nodes:
            self._whole_nodes(k, pool, members, cost, upfront)

    def _pool_upfront(self, k: PoolKey, pool: PoolModel, most: int, cost) -> cp_model.IntVar | None:
        """A pool's upfront: at least its least upfront ratio x its cost (and, with whole nodes, theirs)."""
        if not (pool.upfront_per_mille or pool.whole_nodes):
            return None
        top = most * pool.upfront_per_mille // 1000 + 1
        if pool.whole_nodes:
            top = max(top, most_cents(pool.whole_nodes[1], pool.whole_nodes[0], upfront=True))
        upfront = self.model.new_int_var(0, top, f"pool_upfront[{k}]")
        self.model.add(1000 * upfront >= pool.upfront_per_mille * cost)
        self.pool_upfront.append(upfront)
        return upfront

    def _whole_nodes(self, k: PoolKey, pool: PoolModel, members: dict[str, list], cost, upfront) -> None:
        """Whole nodes of the pool's types holding its members' replicas (`whole_nodes.py`), with the pool's
        cost and upfront at the hinted choice, so that the hint is complete."""
        shapes, types = pool.whole_nodes
        hint = self.hint
        nodes_cents = add_whole_nodes(self.model, {w: shapes[w] for w in members}, types, members, cost, upfront, k,
                                      hint=pool.packed_hint if hint else None)
        if not hint:
            return
        inside = [w for w in members if w in hint and self.options[w][hint[w]].pool_key == k]
        at_cuts = max((sum(cut.get(w, 0) for w in inside) for cut in pool.cuts), default=0)
        hinted = max(-(-at_cuts // 1000), nodes_cents[0]) + (pool.fixed_cents if inside else 0)
        self.model.add_hint(cost, hinted)
        if upfront is not None:
            self.model.add_hint(upfront, max(-(-pool.upfront_per_mille * hinted // 1000), nodes_cents[1]))

    def _owned_reserved(self) -> None:
        """z[i]: instances covered by owned reserved instances, each used at most once."""
        self.ri_vars: dict[tuple[str, int], cp_model.IntVar] = {}
        for key, owned in sorted(self.limits.ri_owned.items()):
            users = self._taken(lambda o, key=key: o.ri_key == key)
            for w, i, o in users:
                z = self.model.new_int_var(0, o.candidate.count, f"ri[{w}][{i}]")
                self.model.add(z <= o.candidate.count * self.x[w][i])
                self.ri_vars[(w, i)] = z
                self.covered.append(o.ri_unit_cents * z)
            if users:
                self.model.add(sum(self.ri_vars[(w, i)] for w, i, _ in users) <= owned)

    def _owned_savings_plan(self) -> None:
        """y[i]: on-demand spend covered by the owned savings plan, its dollars used at most once."""
        self.sp_vars: dict[tuple[str, int], cp_model.IntVar] = {}
        if self.limits.sp_cover_cents <= 0:
            return
        for w, i, o in self._taken(lambda o: o.sp_cents > 0):
            y = self.model.new_int_var(0, o.sp_cents, f"sp[{w}][{i}]")
            self.model.add(y <= o.sp_cents * self.x[w][i])
            self.sp_vars[(w, i)] = y
            self.covered.append(y)
        self.model.add(sum(self.sp_vars.values()) <= self.limits.sp_cover_cents)

    def _guarded(self, name: str, build) -> None:
        """Add the constraint `build()` makes, enforced by an assumption literal (unless `name` is dropped)."""
        if name in self.drop:
            return
        if not self.assumptions:
            build()
            return
        literal = self.model.new_bool_var(f"assume[{name}]")
        build().only_enforce_if(literal)
        self.guards[name] = literal

    def _limits(self) -> None:
        """The budget, upfront cap, spot share and vCPU quotas, each behind its guard."""
        model, x, limits = self.model, self.x, self.limits
        if limits.max_monthly_cents is not None:
            self._guarded("max_monthly_usd", lambda: model.add(self.objective <= limits.max_monthly_cents))
        if limits.max_upfront_cents is not None:
            self._guarded("max_upfront_usd", lambda: model.add(
                sum(o.upfront_cents * x[w][i] for w, i, o in self._taken(lambda o: True))
                + sum(self.host_prices[k].upfront_cents * var for k, var in self.hosts.items())
                + sum(self.pool_upfront) <= limits.max_upfront_cents))
        if limits.max_spot_share_milli is not None:
            self._guarded("max_spot_share", lambda: model.add(sum(
                (o.vcpu_milli * 1000 * o.spot - limits.max_spot_share_milli * o.vcpu_milli) * x[w][i]
                for w, i, o in self._taken(lambda o: True)) <= 0))
        for (region, kind), quota in sorted(limits.quotas.items()):
            users = self._taken(lambda o, region=region, kind=kind: o.region == region and o.quota == kind)
            if users:
                self._guarded(f"vcpu_quotas.{region}.{kind}", lambda users=users, quota=quota: model.add(
                    sum(o.quota_vcpu_milli * x[w][i] for w, i, o in users) <= quota * 1000))

    def _objective(self) -> None:
        """Monthly cost; ties broken toward each workload's own order (options come sorted as recommend() ranks
        them): cost x scale + rank, where the ranks can never add up to one cent of cost."""
        model, x = self.model, self.x
        self.scale = 1 + sum(len(self.options[w]) - 1 for w in self.names)
        tiebreak = sum(i * x[w][i] for w in self.names for i in range(1, len(self.options[w])))
        model.add_assumptions(list(self.guards.values()))
        model.minimize(self.objective * self.scale + tiebreak)
        if self.hint:
            for w, i in self.hint.items():
                for j, var in enumerate(x[w]):
                    model.add_hint(var, j == i)

    # ------------------------------------------------------------------------- solving
    def solve(self, time_limit_s: float, workers: int) -> Selection:
        solver = cp_model.CpSolver()
        whole = any(p.whole_nodes for p in self.pools.values())
        per_det = clock.WHOLE_NODES_PER_DET if whole else clock.NOMINAL_PER_DET
        det_limit = clock.limits(solver.parameters, time_limit_s, per_det)   # deterministic: the same on a busy machine
        solver.parameters.num_workers = workers
        if workers > 1:   # the parallel portfolio (LNS on the second worker), interleaved deterministically
            solver.parameters.interleave_search = True
        solver.parameters.random_seed = 0
        solver.parameters.linearization_level = 2  # the LP relaxation proves the bound on large portfolios
        # Stop once the cost is proven to the cent, or to a millionth on large portfolios (8 cents on $80,000 a
        # month): what is left is the tie-break among equal costs, or less than any price is precise to.
        # With two workers, which of several solutions within that gap is answered depends on their timing: prove
        # the optimum itself instead, so that a search that ends proven answers the same plan on every run.
        ceiling = sum(max(o.cost_cents for o in opts) for opts in self.options.values() if opts)
        solver.parameters.absolute_gap_limit = (float(self.scale * max(1, ceiling // 1_000_000)) if workers == 1
                                                else 0.0)
        status = solver.solve(self.model)
        clock.account(solver, det_limit, "choice (whole nodes)" if whole else "choice",
                      status in (cp_model.OPTIMAL, cp_model.INFEASIBLE), per_det)
        return self._selection(solver, status)

    def _selection(self, solver: cp_model.CpSolver, status) -> Selection:
        name = solver.status_name(status)
        if status == cp_model.MODEL_INVALID:
            raise ValueError(f"invalid choice model: {self.model.validate()[:500]}")
        if status == cp_model.INFEASIBLE:
            core = solver.sufficient_assumptions_for_infeasibility()
            by_index = {v.index: k for k, v in self.guards.items()}
            return Selection(name, conflicts=sorted(by_index[i] for i in core if i in by_index),
                             seconds=solver.wall_time)
        bound = int(solver.best_objective_bound // self.scale)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # no plan, but the bound is still proven
            return Selection(name, seconds=solver.wall_time, bound_cents=bound)
        picked = {w: next(i for i, v in enumerate(self.x[w]) if solver.value(v)) for w in self.names}
        return Selection(
            name, chosen={w: self.options[w][picked[w]] for w in self.names},
            fees_paid=[k for k, v in self.fee.items() if solver.value(v)],
            hosts={k: solver.value(v) for k, v in self.hosts.items() if solver.value(v)},
            ri_used={w: solver.value(v) for (w, i), v in self.ri_vars.items() if picked[w] == i and solver.value(v)},
            sp_used_cents={w: solver.value(v) for (w, i), v in self.sp_vars.items()
                           if picked[w] == i and solver.value(v)},
            objective_cents=round(solver.value(self.objective)), bound_cents=bound, seconds=solver.wall_time)
