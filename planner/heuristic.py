"""A warm start for the planning model: the LP relaxation, a search over hub plans, then the sessions.

HiGHS spends most of a minute in the root node of the full BNSSG model and its own heuristics find good plans only
after that (see docs/benchmarks.md). Once the hubs and their evening opening are fixed, though, the rest (pop-up and
MDT sessions and who goes where) is small, and its LP relaxation is within a few per cent of its integer optimum. So
this heuristic searches over hub plans, scoring each by that LP:

1. solve the LP relaxation of the whole model (its value is also a valid lower bound on the optimum);
2. start from the hubs the LP likes best: a core hub per locality, the hubs where the LP holds MDT sessions, then
   the largest LP values up to the whole number of hubs the LP opens; no evening opening. A second start adds one
   or two hubs to the core offer by their daytime service alone (:func:`daytime_plans`);
3. local search, best improvement, from the better-scored start (then from the other, if time is left): drop or
   add evening opening, drop a hub, swap a hub for another in its locality or in another, add a hub; each
   candidate plan is scored by the LP of the whole model with its hubs fixed (:class:`_LPScorer`, 0.1-0.3 s on
   BNSSG) and must keep every hub rule and the budget;
4. with the best hub plan fixed, solve the sessions as a MIP;
5. re-optimise one locality at a time (its hubs, evening opening and sessions, everything elsewhere fixed, the
   current plan as MIP start) for the time left: a large-neighbourhood search that mends hub choices the LP scores
   got wrong. Under a time limit too short for it to give each locality a second (about 21 s on BNSSG,
   :func:`locality_seconds`), this step is left out and its time goes to steps 3 and 4.

With less time than the LP and the search need (:data:`QUICK_BELOW_SECONDS`; more beside HiGHS), steps 1-3 are
skipped. The hubs are then the core offer's (:func:`core_offer_hubs`) or, given :data:`QUICK_COMPARE_MIN_SECONDS`,
whichever of them and one or two hubs more, placed by their daytime service (:func:`daytime_plans`,
:mod:`planner.daytime`), the LP restricted to their hubs scores best; the sessions MIP of step 4 gets the rest.

The plan is then given to HiGHS as a MIP start, or, on a machine with a second core, the search runs in a second
process alongside HiGHS (:class:`BackgroundHubSearch`) and the better of the two plans is kept. Every step keeps the
plan feasible because unmet demand has its own penalised variables; only hard coverage rules can defeat it, and then
the heuristic returns ``None``.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import pyomo.environ as pyo

from planner.daytime import DaytimeScorer
from planner.inputs import ModelInputs
from planner.model import build_model, copy_solution, solution_values
from planner.scenario import WEEKS_PER_YEAR
from planner.solver import Resolver, SolverOutcome, SolverSettings, SolveStatus, solve_pyomo

HubPlan = tuple[frozenset[str], frozenset[str]]
"""Hubs opened, and those of them opened in the evening."""

SESSIONS_SHARE = 0.2
"""Share of the heuristic's time for the sessions MIP of the best hub plan."""

LOCALITY_SHARE = 0.4
"""Share of the heuristic's time for re-optimising one locality at a time (the hub search stops before both)."""

LOCALITY_SETUP_SECONDS = 0.8
"""Pyomo's first hand-over of the full BNSSG model to HiGHS (later locality solves only send changed bounds)."""

LOCALITY_OVERHEAD_SECONDS = 0.25
"""Per locality, on top of HiGHS's time: fixing and unfixing the other sites, sending the bounds, reading the plan."""

LOCALITY_MIN_SECONDS = 1.0
"""HiGHS's least time for one locality in the locality pass; with less, the pass stops (and is not planned for)."""

LP_OPTIONS: dict[str, Any] = {"solver": "ipm"}
"""HiGHS options for the whole LP relaxation: the interior point method with crossover (for the vertex the first
hub plan is read from) takes 5.1-5.3 s on the BNSSG default, dual simplex 7.4-8.7 s (docs/benchmarks.md)."""

SESSIONS_OPTIONS: dict[str, Any] = {"mip_pool_soft_limit": 200}
"""HiGHS options for the sessions MIP. With the default cut pool HiGHS spends 6-8 s of the BNSSG sessions MIP on
root cuts before its sub-MIP heuristic finds a good plan, and the share of the minute left for it can end first
(110,951 instead of 103,337); a smaller pool gets there sooner and better (101,831 at 7 s, docs/benchmarks.md)."""

QUICK_BELOW_SECONDS = 12.0
"""Below this many seconds the hub search skips the LP relaxation and the search over hub plans: it takes the core
offer's hubs (:func:`core_offer_hubs`), or from :data:`QUICK_COMPARE_MIN_SECONDS` the best of them and the daytime
plans by the restricted LP, and gives the sessions MIP the rest. On BNSSG the LP alone takes 5-8 s;
run on its own, the search gave 157,777 in 10 s, 113,542 in 12 s and 104,431 in 14 s, this path 115,944 in 12 s
(docs/benchmarks.md, item 25)."""

QUICK_BELOW_SECONDS_BESIDE_HIGHS = 16.0
""":data:`QUICK_BELOW_SECONDS` for the search in a second process beside HiGHS, whose two threads slow it down: a
15 s solve (about 13 s of search) ended at 157,777 by the LP and at 115,944 by this path."""

QUICK_COMPARE_MIN_SECONDS = 7.0
"""Below this many seconds the quick path keeps the core offer's hubs; from it, :func:`_quick_hubs` may place more."""

QUICK_EXTRA_HUBS = 2
"""Hub counts above the core offer's that the quick path compares."""

DAYTIME_START_SHARE = 0.03
"""Share of the hub search's time for :func:`daytime_plans`, its second start (about 1.5 s of a minute on BNSSG)."""

QUICK_SWAP_OPTIONS = 6
"""The quick path swaps a hub only for the candidates of its locality with the most daytime demand in reach, this
many of them (each swap scored costs 5-10 ms on BNSSG)."""

QUICK_DAYTIME_SHARE = 0.15
"""Share of the quick path's time for placing extra hubs by their daytime score."""

QUICK_LP_SECONDS = 0.8
"""What one restricted LP of the quick path's comparison takes on BNSSG, build included."""

QUICK_SESSIONS_SECONDS = 4.0
"""What the quick path keeps for the sessions MIP: on BNSSG, for a good seven-hub plan, 3 s gave 109,944 and 5 s
103,267."""

QUICK_RESERVE_SECONDS = 1.0
"""Of the quick path's time, what is kept for building the full model the plan is returned in (0.7 s on BNSSG)."""

IMPROVEMENT = 1e-4
"""Relative improvement of the LP score needed to accept a move (ignores solver noise)."""


@dataclass(frozen=True)
class WarmStart:
    """A feasible plan found by :func:`hub_search_start`.

    Attributes
    ----------
    model
        The full model holding the plan (copy it into another with :func:`planner.model.copy_solution`).
    objective
        The plan's objective value.
    lp_bound
        The LP relaxation value of the whole model, a valid lower bound on its optimum (``None`` if the LP stopped
        at the time limit or, under :data:`QUICK_BELOW_SECONDS`, was not solved).
    hubs, evening
        The hubs opened, and those opened in the evening.
    evaluations
        How many hub plans the local search scored.
    """

    model: pyo.ConcreteModel
    objective: float
    lp_bound: float | None
    hubs: frozenset[str]
    evening: frozenset[str]
    evaluations: int

    def found(self) -> Found:
        """The plan as plain values that can cross a process boundary."""
        values = solution_values(self.model)
        return Found(self.objective, self.lp_bound, self.hubs, self.evening, self.evaluations, values)


@dataclass(frozen=True)
class Found:
    """A plan found by the hub search, as plain values (what :class:`BackgroundHubSearch` hands back).

    Attributes
    ----------
    objective, lp_bound, hubs, evening, evaluations
        As in :class:`WarmStart`.
    values
        The plan's non-zero variable values: component name -> index -> value.
    """

    objective: float
    lp_bound: float | None
    hubs: frozenset[str]
    evening: frozenset[str]
    evaluations: int
    values: dict[str, dict[Any, float]]


def restrict_to_hubs(
    inp: ModelInputs, hubs: frozenset[str] | set[str], evening: frozenset[str] | set[str]
) -> ModelInputs:
    """The inputs with hub service only at ``hubs`` (evening service only at ``evening``).

    Arcs to other hub candidates are kept where the site is also a pop-up venue, since the model lets pop-up
    sessions at a site serve every zone with an evening arc to it.
    """
    sites = inp.sites.copy()
    off = sites["is_hub"] & ~sites.index.isin(list(hubs))
    sites.loc[off, ["is_hub", "is_mdt"]] = False
    sites = sites.loc[sites["is_hub"] | sites["is_popup"]]
    arcs = inp.arcs.copy()
    closed = ~arcs["site_id"].isin(list(hubs))
    popup_site = arcs["site_id"].map(inp.sites["is_popup"]).fillna(False).astype(bool)
    no_evening = ~arcs["site_id"].isin(list(evening))
    arcs.loc[closed, "hub_evening"] = arcs.loc[closed, "hub_evening"] & popup_site[closed]
    arcs.loc[no_evening & ~popup_site, "hub_evening"] = False
    arcs.loc[closed, ["hub_day", "mdt"]] = False
    arcs = arcs.loc[arcs["hub_day"] | arcs["popup"] | arcs["hub_evening"]].reset_index(drop=True)
    return replace(inp, sites=sites, arcs=arcs)


def _fixed_model(inp: ModelInputs, plan: HubPlan) -> pyo.ConcreteModel:
    hubs, evening = plan
    m = build_model(restrict_to_hubs(inp, hubs, evening))
    for s in m.HUBS:
        m.hub_open[s].fix(1.0)
        m.hub_evening[s].fix(1.0 if s in evening else 0.0)
    return m


class _LPScorer:
    """Scores hub plans on the whole model's LP relaxation, the hubs fixed by their bounds in one HiGHS instance.

    Equal to the LP of the model restricted to the plan's hubs (a closed hub's capacity, evening service and MDT
    sessions are zero through their linking rows), but each plan costs a warm-started dual simplex from the last
    plan's basis instead of a new model: 0.1-0.3 s on BNSSG instead of about 1 s, so the search sees more plans.
    """

    def __init__(self, lp: pyo.ConcreteModel) -> None:
        self.lp = lp
        self.solver = Resolver()
        self._site_vars = [*lp.hub_open.values(), *lp.hub_evening.values()]  # all a plan changes

    def __call__(self, plan: HubPlan, time_limit: float) -> float:
        hubs, evening = plan
        for s in self.lp.HUBS:
            self.lp.hub_open[s].fix(1.0 if s in hubs else 0.0)
            self.lp.hub_evening[s].fix(1.0 if s in evening else 0.0)
        settings = SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.0)
        outcome = self.solver.solve(self.lp, settings, changed=self._site_vars, load=False)
        if outcome.status is SolveStatus.OPTIMAL and outcome.objective is not None:
            return outcome.objective
        return math.inf


class _Rules:
    """The hub rules a plan must keep: fixed-open hubs, core hubs per locality, hub counts and the budget."""

    def __init__(self, inp: ModelInputs, candidates: list[str]) -> None:
        sc = inp.scenario
        self.sc = sc
        self.locality = {s: str(inp.sites.at[s, "locality"]) for s in candidates}
        self.fixed = {s for s in candidates if bool(inp.sites.at[s, "fixed_open"])}
        self.localities = set(inp.zones["locality"])

    def core_kept(self, hubs: frozenset[str] | set[str]) -> bool:
        """Whether every locality with hub candidates keeps its core hubs."""
        count: dict[str, int] = defaultdict(int)
        for s in hubs:
            count[self.locality[s]] += 1
        # A locality without any candidate cannot be helped by the plan; the model reports it as infeasible.
        have_candidates = set(self.locality.values())
        return all(count[loc] >= self.sc.hubs.min_per_locality for loc in self.localities & have_candidates)

    def ok(self, plan: HubPlan) -> bool:
        """Whether ``plan`` keeps every hub rule and the budget."""
        hubs, evening = plan
        sc = self.sc
        if not self.fixed <= hubs or not evening <= hubs:
            return False
        if sc.hubs.exact_hubs is not None and len(hubs) != sc.hubs.exact_hubs:
            return False
        if sc.hubs.max_hubs is not None and len(hubs) > sc.hubs.max_hubs:
            return False
        if not self.core_kept(hubs):
            return False
        if sc.budget.annual is not None:
            return len(hubs) * sc.hubs.fixed_cost + len(evening) * sc.hubs.evening_cost <= sc.budget.annual + 1e-6
        return True


def _first_plan(lp: pyo.ConcreteModel, y: dict[str, float], inp: ModelInputs, rules: _Rules) -> HubPlan:
    """Hubs from the LP values ``y``: core hubs per locality, the LP's MDT hosts, then the largest values."""
    sc = inp.scenario
    mdt: dict[str, float] = defaultdict(float)
    for (s, _k), var in lp.mdt_sessions.items():
        mdt[s] += float(var.value or 0.0)
    n = math.floor(sum(y.values()) + 1e-6)
    if sc.hubs.exact_hubs is not None:
        n = sc.hubs.exact_hubs
    elif sc.hubs.max_hubs is not None:
        n = min(n, sc.hubs.max_hubs)
    chosen = set(rules.fixed)
    by_loc: dict[str, list[str]] = defaultdict(list)
    for s in sorted(y, key=lambda s: -y[s]):
        by_loc[rules.locality[s]].append(s)
    for ranked in by_loc.values():
        for s in ranked:
            if sum(1 for t in chosen if rules.locality[t] == rules.locality[s]) >= sc.hubs.min_per_locality:
                break
            chosen.add(s)
    for s in sorted((s for s in mdt if mdt[s] >= 0.5), key=lambda s: -mdt[s]):
        if len(chosen) < n:
            chosen.add(s)
    for s in sorted(y, key=lambda s: -y[s]):
        if len(chosen) >= n:
            break
        chosen.add(s)
    # Within the budget: drop the least-valued hubs the rules allow.
    for s in sorted(chosen - rules.fixed, key=lambda s: y[s]):
        if rules.ok((frozenset(chosen), frozenset())):
            break
        if rules.core_kept(chosen - {s}):
            chosen.discard(s)
    return frozenset(chosen), frozenset()


def _starting_plans(
    lp: pyo.ConcreteModel,
    y: dict[str, float],
    inp: ModelInputs,
    rules: _Rules,
    score_plan: Callable[[HubPlan, float], float],
    left: Callable[[], float],
    daytime_seconds: float,
) -> tuple[list[tuple[HubPlan, float]], int]:
    """Where the local search starts: :func:`_first_plan` and the best-scored of :func:`daytime_plans`.

    The LP's largest values can start the search far from the best hubs, which its moves then do not reach; hubs
    placed by their daytime service are a second start (docs/benchmarks.md, item 26).

    Returns
    -------
    tuple
        The starts with their scores, best first, and the number of plans scored.
    """
    first = _first_plan(lp, y, inp, rules)
    starts = [(first, score_plan(first, left()))]
    evaluations = 1
    core = core_offer_hubs(inp)
    daytime: list[tuple[HubPlan, float]] = []
    for hubs in daytime_plans(inp, core, daytime_seconds) if core is not None else []:
        plan = (hubs, frozenset[str]())
        if plan != first and rules.ok(plan):
            daytime.append((plan, score_plan(plan, left())))
            evaluations += 1
    if daytime:
        starts.append(min(daytime, key=lambda ps: ps[1]))
    return sorted(starts, key=lambda ps: ps[1]), evaluations


def _local_search(
    plan: HubPlan,
    best: float,
    y: dict[str, float],
    ye: dict[str, float],
    rules: _Rules,
    score_plan: Callable[[HubPlan, float], float],
    seen: set[HubPlan],
    left: Callable[[], float],
    until: float,
) -> tuple[HubPlan, float, int]:
    """Best-improvement local search over hub plans (:func:`_moves`) from ``plan``, while ``left()`` is more than
    ``until`` seconds.

    Every neighbour is scored before moving: taking the first improving one let an early small gain lead the BNSSG
    search away from a neighbour 8% better (docs/benchmarks.md). Plans in ``seen`` are skipped and each plan
    scored is added to it.

    Returns
    -------
    tuple
        The best plan found, its score and the number of plans scored.
    """
    evaluations = 0
    improved = True
    while improved and left() > until:
        improved = False
        step, step_score = plan, best
        for candidate in _moves(plan, y, ye, rules):
            if left() <= until:
                break
            if candidate in seen or not rules.ok(candidate):
                continue
            seen.add(candidate)
            score = score_plan(candidate, left())
            evaluations += 1
            if score < step_score:
                step, step_score = candidate, score
        if step_score < best * (1 - IMPROVEMENT):
            plan, best, improved = step, step_score, True
    return plan, best, evaluations


def _moves(plan: HubPlan, y: dict[str, float], ye: dict[str, float], rules: _Rules) -> Iterator[HubPlan]:
    """Neighbouring hub plans, the likeliest improvements first."""
    hubs, evening = plan
    for e in sorted(evening, key=lambda s: ye[s]):
        yield hubs, evening - {e}
    for h in sorted(hubs - evening, key=lambda s: -ye[s])[:3]:
        yield hubs, evening | {h}
    for h in sorted(hubs - rules.fixed, key=lambda s: y[s]):
        yield hubs - {h}, evening - {h}
    closed = sorted((s for s in y if s not in hubs), key=lambda s: -y[s])
    for h in sorted(hubs - rules.fixed, key=lambda s: y[s]):
        same = [c for c in closed if rules.locality[c] == rules.locality[h]][:2]
        for c in same:
            yield (hubs - {h}) | {c}, (evening - {h}) | ({c} if h in evening else set())
    # Swaps across localities: the first plan's last hub goes to the largest LP value left, wherever it is, and a
    # better one may be a locality away (on BNSSG, Inner City's second hub instead of South Gloucestershire's).
    for c in closed[:4]:
        for h in sorted(hubs - rules.fixed, key=lambda s: y[s])[:4]:
            if rules.locality[c] != rules.locality[h]:
                yield (hubs - {h}) | {c}, (evening - {h}) | ({c} if h in evening else set())
    for c in closed[:4]:
        yield hubs | {c}, evening


def _take_away(counts: dict[Any, int], lp: dict[Any, float], over: Callable[[], bool]) -> None:
    """Take sessions away from ``counts`` while ``over()`` holds, those the LP used least (its value per rounded
    session) first."""
    order = sorted((k for k in counts if counts[k] > 0), key=lambda k: lp[k] / counts[k])
    while over() and order:
        k = order[0]
        counts[k] -= 1
        if counts[k] == 0:
            order.pop(0)


def _round_sessions(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Fix pop-up and MDT sessions at rounded LP values, then trim to the workforce and the budget (the fallback
    when the sessions MIP finds nothing in its time)."""
    sc = inp.scenario
    popups = {s: float(m.popup_sessions[s].value or 0.0) for s in m.POPUP_SITES}
    mdt = {key: float(v.value or 0.0) for key, v in m.mdt_sessions.items()}
    rp = {s: math.floor(v + 0.5) for s, v in popups.items()}
    rm = {key: math.floor(v + 0.5) for key, v in mdt.items()}
    for k in m.SPECIALTIES:
        limit = sc.mdt.workforce.get(k, 0)
        for key in sorted((key for key in rm if key[1] == k), key=lambda key: mdt[key]):
            while sum(rm[q] for q in rm if q[1] == k) > limit and rm[key] > 0:
                rm[key] -= 1
    budget = sc.budget.annual
    if budget is not None:
        fixed = float(pyo.value(m.cost_hubs + m.cost_evening))  # the hubs are fixed by now
        per_popup = WEEKS_PER_YEAR * sc.popups.cost_per_session
        per_mdt = WEEKS_PER_YEAR * sc.mdt.cost_per_session

        def over_budget() -> bool:
            return fixed + per_popup * sum(rp.values()) + per_mdt * sum(rm.values()) > budget + 1e-6

        _take_away(rp, popups, over_budget)
        _take_away(rm, mdt, over_budget)
    for s, v in rp.items():
        m.popup_sessions[s].fix(float(v))
    for key, v in rm.items():
        m.mdt_sessions[key].fix(float(v))


def _sessions(inp: ModelInputs, plan: HubPlan, time_limit: float) -> pyo.ConcreteModel | None:
    """The best sessions for a fixed hub plan: a MIP for ``time_limit`` seconds, else rounded LP sessions."""
    m = _fixed_model(inp, plan)
    settings = SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.005, extra=SESSIONS_OPTIONS)
    outcome = solve_pyomo(m, settings)
    if outcome.status.has_solution:
        return m
    # No plan in time: relax the same model, round its sessions and solve the allocation.
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    settings = SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.0)
    if not solve_pyomo(m, settings).status.has_solution:
        return None
    _round_sessions(m, inp)
    return m if solve_pyomo(m, settings).status.has_solution else None


def _daytime_reach(inp: ModelInputs, candidates: list[str]) -> dict[str, float]:
    """Each candidate's reach: the daytime contacts a week of the zones with a daytime arc to it."""
    day = inp.arcs.loc[inp.arcs["hub_day"], ["zone_code", "site_id"]]
    demand = day["zone_code"].map(inp.zones["contacts_day"]).groupby(day["site_id"]).sum()
    return {s: float(demand.get(s, 0.0)) for s in candidates}


def core_offer_hubs(inp: ModelInputs) -> frozenset[str] | None:
    """The hubs of the simplest plan the hub rules allow, or ``None`` if even they break a rule (the budget).

    The fixed-open hubs, then in each locality short of its core hubs the candidates reaching the most daytime
    demand, then (for an exact hub count) the next best anywhere.
    """
    sc = inp.scenario
    candidates = list(inp.sites.index[inp.sites["is_hub"]])
    rules = _Rules(inp, candidates)
    reach = _daytime_reach(inp, candidates)
    ranked = sorted(candidates, key=lambda s: (-reach[s], s))
    hubs = set(rules.fixed)
    for locality in sorted(rules.localities):
        have = sum(1 for s in hubs if rules.locality[s] == locality)
        for s in (s for s in ranked if rules.locality[s] == locality and s not in hubs):
            if have >= sc.hubs.min_per_locality:
                break
            hubs.add(s)
            have += 1
    for s in ranked:
        if sc.hubs.exact_hubs is None or len(hubs) >= sc.hubs.exact_hubs:
            break
        hubs.add(s)
    return frozenset(hubs) if rules.ok((frozenset(hubs), frozenset())) else None


def core_offer_plan(inp: ModelInputs, m: pyo.ConcreteModel, time_limit: float = 10.0) -> bool:
    """Load the simplest plan the hub rules allow into ``m``: the last resort when a solve ends with no plan.

    The fixed-open hubs, then in each locality short of its core hubs the candidates reaching the most daytime
    demand, then (for an exact hub count) the next best anywhere; no evening opening, pop-up or MDT sessions; the
    allocation is then an LP. A very short time limit on the whole of BNSSG can end before HiGHS or the hub search
    has any plan, although this one always exists where the scenario is feasible without hard coverage.

    Parameters
    ----------
    inp
        Model inputs.
    m
        The full model of ``inp``; on success its variables hold the plan (and are left unfixed).
    time_limit
        Seconds for the allocation LP.

    Returns
    -------
    bool
        Whether the plan keeps every rule (budget, hub counts, hard coverage) and was loaded.
    """
    hubs = core_offer_hubs(inp)
    if hubs is None:
        return False
    fixed = []
    for s in m.HUBS:
        fixed += [(m.hub_open[s], 1.0 if s in hubs else 0.0), (m.hub_evening[s], 0.0)]
    fixed += [(var, 0.0) for var in (*m.popup_sessions.values(), *m.mdt_sessions.values())]
    was = [(var, var.value) for var, _ in fixed]
    if not _solve_fixed(m, fixed, time_limit).status.has_solution:
        for var, value in was:
            var.set_value(value, skip_validation=True)
        return False
    return True


def _solve_fixed(m: pyo.ConcreteModel, fixed: list[tuple[Any, float]], time_limit: float) -> SolverOutcome:
    """Solve ``m`` with each of ``fixed``'s variables fixed at its value, then free again those that were free
    (what is left once a plan's sites and sessions are fixed is the allocation LP)."""
    freed = [var for var, _ in fixed if not var.fixed]
    for var, value in fixed:
        var.fix(value)
    try:
        return solve_pyomo(m, SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.0))
    finally:
        for var in freed:
            var.unfix()


def stranded_demand(m: pyo.ConcreteModel, tol: float = 1e-5) -> float:
    """Demand a plan in ``m`` leaves unmet although a site within its reach has spare capacity for it.

    A cheap sign that the plan's routing can be improved (a unit served there instead of unmet saves its penalty,
    120-1,000 by default, for a travel cost of at most 45 weighted minutes); ``0`` for the plans HiGHS settles, so
    the LP of :func:`polish_allocation` is spent only where it can pay.
    """

    def spare(con: Any) -> bool:
        return con.active and float(con.uslack()) > tol

    day = {sid for sid, con in m.hub_day_capacity.items() if spare(con)}
    evening = {sid for sid, con in m.evening_capacity.items() if spare(con)}
    mdt = {key for key, con in m.mdt_capacity.items() if spare(con)}
    by_zone = m._by_zone
    total = 0.0
    for zc in m.ZONES:
        unmet = float(m.unmet_day[zc].value or 0.0)
        if unmet > tol and any(sid in day for sid in by_zone["day"][zc]):
            total += unmet
        gap = float(m.evening_gap[zc].value or 0.0)
        if gap > tol and any(sid in evening for sid in by_zone["evening"][zc]):
            total += gap
        for k in m.SPECIALTIES:
            need = float(m.unmet_mdt[zc, k].value or 0.0)
            if need > tol and any((sid, k) in mdt for sid in by_zone["mdt"][zc]):
                total += need
    return total


def polish_allocation(m: pyo.ConcreteModel, time_limit: float = 10.0) -> float:
    """Re-solve who goes where for the sites and sessions a plan HiGHS stopped at holds in ``m``; return the gain.

    A plan HiGHS stops at is its incumbent, and the incumbents its heuristics find early need not route the demand
    well among their own sites: the whole-BNSSG default stopped at 5 s kept 14 hubs open while leaving 94.8% of the
    daytime demand unserved (objective 409,585). With every integer decision fixed the rest is an LP (1-2 s for the
    whole of BNSSG), and its optimum can only be better (286,132 for that plan). The LP is solved only where
    :func:`stranded_demand` finds demand left unmet beside spare capacity: the plans HiGHS stopped at on the
    localities, and at 10 s on the whole of BNSSG, gained nothing from it and took 0.2-2 s longer.

    Parameters
    ----------
    m
        A model built by :func:`planner.model.build_model` holding a feasible plan; left holding the polished plan,
        or unchanged if the LP found none in its time.
    time_limit
        Seconds for the LP.

    Returns
    -------
    float
        How much the objective fell (0 if it did not).
    """
    if stranded_demand(m) <= 0:
        return 0.0  # no demand beside idle capacity: the routing is HiGHS's own, at most a little off in travel
    before = float(pyo.value(m.objective))
    values = [(v, v.value) for v in m.component_data_objects(pyo.Var) if not v.fixed]
    decisions = [(v, float(round(value or 0.0))) for v, value in values if v.is_integer() or v.is_binary()]
    outcome = _solve_fixed(m, decisions, time_limit)
    after = float(pyo.value(m.objective)) if outcome.status.has_solution else math.inf
    if after < before:
        return before - after
    for var, value in values:  # no better allocation: keep the plan as it was, to the last value
        var.set_value(value, skip_validation=True)
    return 0.0


def _per_locality(seconds: float, localities: int, setup: float) -> float:
    """HiGHS's seconds for the next of ``localities`` localities sharing ``seconds`` (less a first ``setup``)."""
    return (seconds - setup) / localities - LOCALITY_OVERHEAD_SECONDS


def improve_by_locality(
    inp: ModelInputs, m: pyo.ConcreteModel, time_limit: float, on_improve: Callable[[float], None] | None = None
) -> int:
    """Large-neighbourhood search over localities on a full model ``m`` that holds a feasible plan.

    For each locality in turn, its hubs, evening opening, pop-up and MDT sessions are re-solved with every other
    site's decisions fixed and the current plan as the MIP start; a better plan is kept, otherwise the current one
    is restored. Each such problem is locality-sized, so HiGHS settles it in seconds.

    Parameters
    ----------
    inp
        Model inputs (for the sites' localities).
    m
        The full model of ``inp``, its variables holding a feasible plan; left holding the improved plan.
    time_limit
        Seconds for all the localities together, shared out evenly.
    on_improve
        Called with the new objective value each time a locality improves the plan (``m`` then holds it).

    Returns
    -------
    int
        How many localities improved the plan.
    """
    began = time.perf_counter()
    site_locality = inp.sites["locality"].to_dict()
    localities = sorted(set(site_locality.values()))
    site_vars = [(var, site) for comp in (m.hub_open, m.hub_evening, m.popup_sessions) for site, var in comp.items()]
    site_vars += [(var, site) for (site, _k), var in m.mdt_sessions.items()]
    decisions = [var for var, _ in site_vars]
    best = float(pyo.value(m.objective))
    improved = 0
    solver = Resolver()  # one HiGHS instance: between localities only the fixings change
    setup = LOCALITY_SETUP_SECONDS
    for i, locality in enumerate(localities):
        per = _per_locality(time_limit - (time.perf_counter() - began), len(localities) - i, setup)
        setup = 0.0
        if per < LOCALITY_MIN_SECONDS:
            break
        elsewhere = [var for var, site in site_vars if not var.fixed and site_locality[site] != locality]
        for var in elsewhere:
            var.fix(round(var.value or 0.0))
        # Only site decisions are fixed or freed between solves, and a plan is loaded only if it may be better:
        # checking and loading all 38,500 values took 0.4 s of each locality's time.
        settings = SolverSettings(time_limit=per, mip_rel_gap=0.002)
        outcome = solver.solve(m, settings, warm_start=True, changed=decisions, load=False)
        for var in elsewhere:
            var.unfix()
        if outcome.objective is None or outcome.objective >= best * (1 - IMPROVEMENT):
            continue
        current = [(var, var.value) for var in m.component_data_objects(pyo.Var) if not var.fixed]
        value = solver.load_solution()  # the loaded plan's own value, which a warm start can make differ
        if value < best * (1 - IMPROVEMENT):
            best, improved = value, improved + 1
            if on_improve is not None:
                on_improve(best)
        else:
            for var, old in current:
                var.set_value(old, skip_validation=True)
    return improved


def locality_seconds(inp: ModelInputs, time_limit: float) -> float:
    """Seconds the hub search keeps for the locality pass: its share of ``time_limit``, or none if that share would
    give a locality less than :data:`LOCALITY_MIN_SECONDS`.

    With too little time the pass stops before its first locality, so its share goes to the search and the sessions
    MIP instead: the whole of BNSSG at a 20 s limit had 4 s of sessions MIP (107,497) and 7 s of a pass that did
    nothing; with that time the search converges and the sessions MIP ends at 103,267.
    """
    share = LOCALITY_SHARE * time_limit
    per = _per_locality(share, max(inp.sites["locality"].nunique(), 1), LOCALITY_SETUP_SECONDS)
    return share if per >= LOCALITY_MIN_SECONDS else 0.0


def hub_search_start(
    inp: ModelInputs,
    *,
    time_limit: float = 30.0,
    on_plan: Callable[[WarmStart], None] | None = None,
    beside_highs: bool = False,
) -> WarmStart | None:
    """A good feasible plan for ``inp`` by LP-scored local search over hub plans (see the module docstring).

    Parameters
    ----------
    inp
        Model inputs.
    time_limit
        Seconds for the whole heuristic: the LP relaxation and the search for 40% of it, the sessions MIP for 20%,
        then one locality at a time for the rest (where :func:`locality_seconds` leaves that out, the search for
        80% and the sessions MIP for the rest).
    on_plan
        Called with each plan as it improves before the end: the sessions MIP's, then each locality's (the
        background search hands them to HiGHS, which may prove one within the gap long before the deadline).
    beside_highs
        Whether HiGHS solves the full model at the same time (the background search): the quick path is then taken
        below :data:`QUICK_BELOW_SECONDS_BESIDE_HIGHS` instead of :data:`QUICK_BELOW_SECONDS`.

    Returns
    -------
    WarmStart or None
        The plan and the LP bound, or ``None`` if no feasible plan was found (e.g. a hard coverage rule fails).
    """
    began = time.perf_counter()

    def left() -> float:
        return time_limit - (time.perf_counter() - began)

    if time_limit < (QUICK_BELOW_SECONDS_BESIDE_HIGHS if beside_highs else QUICK_BELOW_SECONDS):
        return _quick_start(inp, left, on_plan, locality_seconds(inp, time_limit))
    lp = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
    outcome = solve_pyomo(lp, SolverSettings(time_limit=max(left(), 1.0), mip_rel_gap=0.0, extra=LP_OPTIONS))
    if not outcome.status.has_solution or outcome.objective is None:
        return None
    # Only an LP solved to optimality bounds the MIP; one stopped by the time limit still guides the search.
    lp_bound = float(outcome.objective) if outcome.status is SolveStatus.OPTIMAL else None
    y = {s: float(lp.hub_open[s].value or 0.0) for s in lp.HUBS}
    ye = {s: float(lp.hub_evening[s].value or 0.0) for s in lp.HUBS}
    rules = _Rules(inp, list(lp.HUBS))
    score_plan = _LPScorer(lp)
    starts, evaluations = _starting_plans(lp, y, inp, rules, score_plan, left, DAYTIME_START_SHARE * time_limit)
    # A plan scored before scored no better than the plan the search then moved to, so it cannot improve on the
    # current one: each plan is scored once (on BNSSG one neighbour in seven had been scored before).
    seen = {start for start, _ in starts}
    locality_time = locality_seconds(inp, time_limit)
    search_until = SESSIONS_SHARE * time_limit + locality_time  # seconds left when the search stops
    plan, best = starts[0]
    # From the best-scored start first; where that search converges with time to spare, from the other as well (on
    # BNSSG at 58 s the two end at different hub plans, docs/benchmarks.md item 26).
    for start, start_score in starts:
        if left() <= search_until:
            break
        found, found_score, scored = _local_search(
            start, start_score, y, ye, rules, score_plan, seen, left, search_until
        )
        evaluations += scored
        if found_score < best:
            plan, best = found, found_score
    fixed = _sessions(inp, plan, left() - locality_time)
    if fixed is None:
        return None
    return _finish(inp, fixed, lp_bound, evaluations, left, on_plan, by_locality=True)


def _finish(
    inp: ModelInputs,
    fixed: pyo.ConcreteModel,
    lp_bound: float | None,
    evaluations: int,
    left: Callable[[], float],
    on_plan: Callable[[WarmStart], None] | None,
    *,
    by_locality: bool,
) -> WarmStart:
    """The sessions MIP's plan ``fixed`` in the full model, sent to ``on_plan``, then (if ``by_locality``) mended by
    :func:`improve_by_locality` for the time left, each improvement sent as well."""
    m = build_model(inp)
    copy_solution(fixed, m)

    def held(objective: float) -> WarmStart:
        return _held(m, objective, lp_bound, evaluations)

    report = None if on_plan is None else (lambda objective: on_plan(held(objective)))
    if report is not None:
        report(float(pyo.value(m.objective)))
    if by_locality:
        improve_by_locality(inp, m, left(), on_improve=report)
    return held(float(pyo.value(m.objective)))


def _held(m: pyo.ConcreteModel, objective: float, lp_bound: float | None, evaluations: int) -> WarmStart:
    """The plan in the full model ``m`` as a :class:`WarmStart`, its hubs and evening openings read from ``m``."""
    return WarmStart(
        model=m,
        objective=objective,
        lp_bound=lp_bound,
        hubs=frozenset(s for s in m.HUBS if (m.hub_open[s].value or 0.0) > 0.5),
        evening=frozenset(s for s in m.HUBS if (m.hub_evening[s].value or 0.0) > 0.5),
        evaluations=evaluations,
    )


def _quick_start(
    inp: ModelInputs, left: Callable[[], float], on_plan: Callable[[WarmStart], None] | None, locality_time: float
) -> WarmStart | None:
    """The hub search's plan without its LP: hubs by :func:`_quick_hubs` (with too little time for that, the core
    offer's), the sessions by a MIP, then ``locality_time`` seconds of :func:`improve_by_locality`."""
    core = core_offer_hubs(inp)
    if core is None:
        return None
    hubs, evaluations = core, 0
    if left() >= QUICK_COMPARE_MIN_SECONDS:
        hubs, evaluations = _quick_hubs(inp, core, left)
    fixed = _sessions(inp, (hubs, frozenset()), left() - locality_time - QUICK_RESERVE_SECONDS)
    if fixed is None:
        return None
    return _finish(inp, fixed, None, evaluations, left, on_plan, by_locality=locality_time > 0)


def _restricted_lp(inp: ModelInputs, hubs: frozenset[str], time_limit: float) -> float:
    """The LP relaxation of the model restricted to ``hubs`` (none open in the evening): a cold
    :class:`_LPScorer` score, 0.7-0.8 s on BNSSG with the build, for when the whole LP has not been solved."""
    m = _fixed_model(inp, (hubs, frozenset()))
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    outcome = solve_pyomo(m, SolverSettings(time_limit=max(time_limit, 0.5), mip_rel_gap=0.0))
    if outcome.status is SolveStatus.OPTIMAL and outcome.objective is not None:
        return outcome.objective
    return math.inf


def _daytime_swaps(
    hubs: frozenset[str], score: DaytimeScorer, rules: _Rules, options: dict[str, list[str]], until: float
) -> frozenset[str]:
    """Best-improvement swaps of a hub for another of ``options[its locality]``, by the daytime score, until no swap
    improves it or ``time.perf_counter()`` passes ``until``. Swaps keep each locality's hub count, so the core
    hubs per locality stay kept."""
    best = score(hubs)
    while time.perf_counter() < until:
        step, step_score = hubs, best
        for s in sorted(hubs - rules.fixed):
            for c in options.get(rules.locality[s], []):
                if c in hubs or time.perf_counter() >= until:
                    continue
                plan = (hubs - {s}) | {c}
                if not rules.ok((plan, frozenset())):
                    continue
                value = score(plan)
                if value < step_score:
                    step, step_score = plan, value
        if step_score >= best * (1 - IMPROVEMENT):
            break
        hubs, best = step, step_score
    return hubs


def daytime_plans(inp: ModelInputs, core: frozenset[str], seconds: float) -> list[frozenset[str]]:
    """Hub plans with one or two hubs more than ``core``, placed by their daytime service.

    For each count above the core offer's (:data:`QUICK_EXTRA_HUBS` at most, within the hub rules and the budget),
    the best extra hub by the :class:`~planner.daytime.DaytimeScorer`, then swaps within localities by the same
    score, for ``seconds`` in all. The daytime score cannot weigh a hub against the pop-up sessions its cost would
    buy, so the caller compares the plans (and ``core``) on the LP of the whole model.

    Parameters
    ----------
    inp
        Model inputs.
    core
        The core offer's hubs (:func:`core_offer_hubs`), the first plan extended.
    seconds
        Time for the whole placement; a plan not reached in it is left out.

    Returns
    -------
    list of frozenset
        The plans, one hub more each than the last.
    """
    until = time.perf_counter() + seconds
    candidates = sorted(inp.sites.index[inp.sites["is_hub"]])
    rules = _Rules(inp, candidates)
    score = DaytimeScorer(inp, candidates)
    reach = _daytime_reach(inp, candidates)
    options: dict[str, list[str]] = defaultdict(list)
    for c in sorted(candidates, key=lambda c: (-reach[c], c)):
        if len(options[rules.locality[c]]) < QUICK_SWAP_OPTIONS:
            options[rules.locality[c]].append(c)
    plans: list[frozenset[str]] = []
    hubs = core
    for _ in range(QUICK_EXTRA_HUBS):
        more = [
            hubs | {c} for cs in options.values() for c in cs if c not in hubs and rules.ok((hubs | {c}, frozenset()))
        ]
        if not more or time.perf_counter() >= until:
            break
        hubs = _daytime_swaps(min(more, key=score), score, rules, options, until)
        plans.append(hubs)
    return plans


def _quick_hubs(inp: ModelInputs, core: frozenset[str], left: Callable[[], float]) -> tuple[frozenset[str], int]:
    """Hubs for the quick path: the core offer's, or one of :func:`daytime_plans`.

    The plans are compared on the LP of the model restricted to their hubs (:func:`_restricted_lp`), the
    one-more-hub plan first, while :data:`QUICK_SESSIONS_SECONDS` are left for the sessions MIP. The core offer
    stands unless it was one of two plans or more so compared and another scored lower.

    Returns
    -------
    tuple
        The hubs and the number of plans compared.
    """
    plans = [core, *daytime_plans(inp, core, QUICK_DAYTIME_SHARE * left())]
    compared: list[tuple[float, frozenset[str]]] = []
    for plan in [*plans[1:2], plans[0], *plans[2:]]:
        if left() < QUICK_SESSIONS_SECONDS + QUICK_LP_SECONDS:
            break
        compared.append((_restricted_lp(inp, plan, left() - QUICK_SESSIONS_SECONDS), plan))
    if len(compared) < 2:
        return core, len(compared)
    return min(compared, key=lambda sp: (sp[0], len(sp[1])))[1], len(compared)


@dataclass(frozen=True)
class _Interim:
    """A plan the background search sends before its last one (see :func:`_search_in_child`)."""

    found: Found


def _search_in_child(conn: Connection, deadline: float) -> None:
    """Process target: receive the inputs, run the hub search until ``deadline`` (a ``time.time()`` value), sending
    each plan as it improves (:class:`_Interim`) and then what it found (``None`` if nothing, the error's text if it
    failed)."""
    try:
        inp = conn.recv()
        start = hub_search_start(
            inp,
            time_limit=max(deadline - time.time(), 1.0),
            on_plan=lambda held: conn.send(_Interim(held.found())),
            beside_highs=True,
        )
        conn.send(None if start is None else start.found())
    except Exception as exc:  # reported to the parent, which falls back to HiGHS's own plan
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a ``spawn`` child is started, hide the path and spec of the caller's ``__main__`` module.

    A spawned child imports the parent's main module before it runs its target. A script that calls the planner at
    top level, without an ``if __name__ == "__main__":`` guard (the natural way to write a short one), would then
    start a second solve inside the child, which multiprocessing refuses, and the search would be lost (HiGHS alone
    returned 157,906 with a 38% gap for the BNSSG default instead of about 101,000). The child needs nothing from
    ``__main__``: its target and its inputs are this package's, so the child is started without it.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {key: main.__dict__[key] for key in ("__file__", "__spec__") if key in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None  # multiprocessing reads __main__.__spec__.name, so it must exist
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class BackgroundHubSearch:
    """The hub search running in a second process while HiGHS solves the full model in this one.

    HiGHS's branch and bound on the full BNSSG model keeps one core busy (about 103% CPU measured) and spends the
    minute raising its bound; the hub search finds the good plans. Run side by side on a two-core machine each gets
    the whole time limit instead of half of it. The search sends each plan as it improves; :meth:`newest` is the
    :data:`planner.solver.PlanFeed` through which HiGHS takes them, so that its bound can prove one within the gap
    and end the solve before the time limit. The process is started with ``spawn`` (a fresh interpreter), since
    forking a process whose HiGHS thread pool may be running is unsafe. Start it before HiGHS: the child inherits
    this process's standard output, which Pyomo redirects while a solve runs.

    Parameters
    ----------
    inp
        Model inputs (sent to the child once it has started).
    deadline
        ``time.time()`` by which the search must hand back its plan.
    """

    def __init__(self, inp: ModelInputs, deadline: float) -> None:
        self.error: str | None = None
        self._lock = threading.Lock()
        self._newest: Found | None = None
        self._final: object = None
        self._finished = threading.Event()
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_search_in_child, args=(child, deadline), daemon=True)
        with _main_script_hidden():  # the child's start-up data is taken in start()
            self._process.start()
        child.close()
        # The child reads the inputs only once it has imported the project (1-2 s); a thread waits to send them
        # while this process gets on with HiGHS. Another reads the plans as they come, so the child never waits
        # for this process (HiGHS holds it for seconds at a time) to take one.
        self._sender = threading.Thread(target=self._send, args=(inp,), daemon=True)
        self._sender.start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _send(self, inp: ModelInputs) -> None:
        try:
            self._conn.send(inp)
        except OSError as exc:  # the child died before reading; result() reports it
            self.error = f"the hub search process could not be given its inputs ({exc})"

    def _read(self) -> None:
        try:
            while True:
                message = self._conn.recv()
                if not isinstance(message, _Interim):
                    self._final = message
                    return
                with self._lock:
                    if self._newest is None or message.found.objective < self._newest.objective:
                        self._newest = message.found
        except (EOFError, OSError) as exc:
            self._final = f"the hub search process ended without a plan ({exc or type(exc).__name__})"
        finally:
            self._finished.set()

    def newest(self) -> tuple[float, dict[str, dict[Any, float]]] | None:
        """The best plan the search has sent so far (its objective and values), or ``None``; never waits."""
        with self._lock:
            found = self._newest
        return None if found is None else (found.objective, found.values)

    def result(self, timeout: float) -> Found | None:
        """Wait up to ``timeout`` seconds for the search's last plan and return the best plan it sent; ``None``
        (with :attr:`error` set) if it sent none."""
        began = time.perf_counter()
        try:
            self._sender.join(timeout=max(timeout, 0.0))
            finished = self._finished.wait(max(timeout - (time.perf_counter() - began), 0.0))
        finally:
            self.stop()
        final = self._final if finished else None
        if not finished:
            self.error = self.error or f"the hub search sent no last plan within {timeout:.0f} s"
        elif isinstance(final, str):
            self.error = final
        with self._lock:
            plans = [plan for plan in (final, self._newest) if isinstance(plan, Found)]
        return min(plans, key=lambda plan: plan.objective) if plans else None

    def stop(self) -> None:
        """End the search process (at once if it is still running)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5.0)
        self._reader.join(timeout=5.0)  # the child's end is closed, so the reader has its end of file
        self._conn.close()
