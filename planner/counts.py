"""Deciding how many hubs open (and open in the evening) before deciding which.

A locality partnership's budget buys only a few hubs (£180,000 a year each, from budgets of £290,000-£860,000), so
the LP relaxation opens fractions of several hubs and evening openings and its bound is loose: for South Bristol
it is 17,423 against an optimum of 25,788, and HiGHS closes that by branching on single hubs for 15-20 seconds.
Fixing the *number* of hubs and of evening openings removes most of it: the LP of South Bristol's best pair
(2 hubs, 1 evening opening) is 24,008. The pairs the budget allows are few (five for South Bristol), so they are
solved as separate MIPs in the order of their LP bounds, and a pair whose LP bound is already within the gap of
the best plan found is not solved at all (this is branching on the count first, as a solver would on a
special ordered set). The bound on the whole problem is the least of the pairs' bounds.

The split is only used when it pays: when the best pair's LP bound is at least :data:`MIN_GAIN` above the LP bound of
the whole problem (a strong-branching test of the count disjunction). Where it is not (South Gloucestershire:
4-5%, and there the slow part is the pop-up sessions, not the hubs), the whole model goes to HiGHS as before.
Measurements are in docs/benchmarks.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

import pyomo.environ as pyo

from planner.inputs import ModelInputs
from planner.model import load_values, solution_values
from planner.solver import Resolver, SolverOutcome, SolverSettings, SolveStatus, relative_gap

MIN_GAIN = 0.06
"""How far above the whole LP bound the best pair's LP bound must be for the split to be used (measured: 8-38%
for the localities where it helps, 4-5% for South Gloucestershire, where it does not)."""

MAX_PAIRS = 16
"""More (hubs, evening openings) pairs than this and the whole model goes to HiGHS (a large budget or no budget)."""

Pair = tuple[int, int]


def count_pairs(inp: ModelInputs) -> list[Pair]:
    """The (hubs, evening openings) pairs the budget, the core offer and the hub-count levers allow.

    Parameters
    ----------
    inp
        Model inputs.

    Returns
    -------
    list of (int, int)
        Every pair, or an empty list when the budget does not limit the hub count (no budget, free hubs) or
        allows more than :data:`MAX_PAIRS` pairs.
    """
    sc = inp.scenario
    budget, hub_cost, evening_cost = sc.budget.annual, sc.hubs.fixed_cost, sc.hubs.evening_cost
    if budget is None or hub_cost <= 0:
        return []
    candidates = set(inp.sites.index[inp.sites["is_hub"]])
    most = min(len(candidates), math.floor(budget / hub_cost + 1e-9))
    if sc.hubs.max_hubs is not None:
        most = min(most, sc.hubs.max_hubs)
    # Each locality's core hubs are its own, so the core offer needs this many in all.
    least = max(len(candidates & set(sc.sites.fixed_open)), sc.hubs.min_per_locality * inp.zones["locality"].nunique())
    if sc.hubs.exact_hubs is not None:
        least = most = sc.hubs.exact_hubs
    pairs = [
        (n, e) for n in range(least, most + 1) for e in range(n + 1) if n * hub_cost + e * evening_cost <= budget + 1e-6
    ]
    return pairs if len(pairs) <= MAX_PAIRS else []


def _add_count_rows(m: pyo.ConcreteModel) -> None:
    m.count_hubs = pyo.Var(domain=pyo.NonNegativeIntegers)
    m.count_evening = pyo.Var(domain=pyo.NonNegativeIntegers)
    m.count_hubs_row = pyo.Constraint(expr=pyo.quicksum(m.hub_open.values()) == m.count_hubs)
    m.count_evening_row = pyo.Constraint(expr=pyo.quicksum(m.hub_evening.values()) == m.count_evening)


def _remove_count_rows(m: pyo.ConcreteModel) -> None:
    for name in ("count_hubs_row", "count_evening_row", "count_hubs", "count_evening"):
        m.del_component(name)


def _fix_pair(m: pyo.ConcreteModel, pair: Pair) -> None:
    m.count_hubs.fix(pair[0])
    m.count_evening.fix(pair[1])


def solve_by_counts(
    inp: ModelInputs,
    m: pyo.ConcreteModel,
    settings: SolverSettings,
    *,
    progress: Callable[[str], None] | None = None,
) -> SolverOutcome | None:
    """Solve ``m`` one (hubs, evening openings) pair at a time, if that pays (see the module docstring).

    Parameters
    ----------
    inp
        Model inputs (for the budget and the hub-count rules).
    m
        The model of ``inp``; left holding the best plan when one is returned, and as built either way.
    settings
        HiGHS settings: the time limit covers everything here, and ``mip_rel_gap`` is both each pair's gap and the
        margin by which a pair must be able to beat the best plan to be solved.
    progress
        Called with a short message at each step.

    Returns
    -------
    SolverOutcome or None
        The best plan's outcome (bound: the least of the pairs' bounds), or ``None`` when the split does not pay,
        finds no plan in time or the pairs' LPs fail; then ``m`` is unchanged and the whole model should be solved.
    """
    say = progress or (lambda _: None)
    pairs = count_pairs(inp)
    if len(pairs) < 2:
        return None
    began = time.perf_counter()

    def left() -> float:
        return settings.time_limit - (time.perf_counter() - began)

    _add_count_rows(m)
    try:
        lp = m.clone()
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
        lp_solver = Resolver()  # between pairs only the two count variables' bounds change
        lp_settings = SolverSettings(time_limit=max(left(), 1.0), mip_rel_gap=0.0)
        whole = lp_solver.solve(lp, lp_settings)
        if whole.status is not SolveStatus.OPTIMAL or whole.objective is None:
            return None
        lp_bound: dict[Pair, float] = {}
        for pair in pairs:
            _fix_pair(lp, pair)
            out = lp_solver.solve(lp, replace(lp_settings, time_limit=max(left(), 1.0)))
            if out.status is SolveStatus.INFEASIBLE:
                lp_bound[pair] = math.inf
            elif out.status is SolveStatus.OPTIMAL and out.objective is not None:
                lp_bound[pair] = out.objective
            else:  # an LP that did not finish still has the whole LP's bound
                lp_bound[pair] = whole.objective
        gain = min(lp_bound.values()) / whole.objective - 1 if whole.objective > 0 else 0.0
        if gain < MIN_GAIN:
            say(f"deciding hub counts first would not pay (LP bound +{gain:.1%}); solving the whole model")
            return None
        say(f"deciding hub counts first: {len(pairs)} (hubs, evening) pairs, LP bound +{gain:.1%}")
        solver = Resolver()
        best, best_values = math.inf, None
        bound: dict[Pair, float] = {}
        gap = settings.mip_rel_gap
        for pair in sorted(pairs, key=lambda p: lp_bound[p]):
            cutoff = best * (1 - gap) if best_values is not None else None
            if math.isinf(lp_bound[pair]) or (cutoff is not None and lp_bound[pair] >= cutoff) or left() < 0.5:
                bound[pair] = lp_bound[pair]  # pruned, impossible or out of time: the LP bound stands
                continue
            _fix_pair(m, pair)
            # Only a plan better than the best by more than the gap matters: HiGHS prunes everything else.
            extra = {**settings.extra, **({"objective_bound": cutoff} if cutoff is not None else {})}
            out = solver.solve(m, replace(settings, time_limit=left(), extra=extra))
            if out.objective is not None and out.objective < best:
                best, best_values = out.objective, solution_values(m)
            if out.status is SolveStatus.INFEASIBLE:
                found = math.inf if cutoff is None else cutoff  # with a cutoff: nothing better than it
            elif out.bound is None:
                found = lp_bound[pair]
            else:  # with a cutoff, HiGHS's bound holds only for plans better than the cutoff
                found = out.bound if cutoff is None else min(out.bound, cutoff)
            bound[pair] = max(lp_bound[pair], found)
            hubs = f"{pair[0]} hub" + ("s" if pair[0] != 1 else "")
            say(f"  {hubs}, {pair[1]} open in the evening: best so far {best:,.0f} ({out.status})")
        if best_values is None:
            return None
        load_values(m, best_values)
        lower = min(bound.values())
        objective = float(pyo.value(m.objective))
        gap_now = relative_gap(objective, lower)
        status = SolveStatus.OPTIMAL if gap_now is not None and gap_now <= gap + 1e-9 else SolveStatus.TIME_LIMIT
        return SolverOutcome(
            status, objective, lower, gap_now, time.perf_counter() - began, None, f"{len(pairs)} hub-count pairs"
        )
    finally:
        _remove_count_rows(m)
