"""A fast primal heuristic for the planning model: LP relaxation, rounding, LP again.

HiGHS spends most of a minute in the root node of the full BNSSG model before its own heuristics find a good plan
(see docs/benchmarks.md). This heuristic finds a feasible plan in a few seconds, which is then given to HiGHS as a
MIP start:

1. solve the LP relaxation; open the ``round(sum of hub_open)`` hubs with the largest LP values, keeping a core hub
   in every locality and any hub-count rule; the same for evening opening among the open hubs;
2. with those hubs fixed, solve the LP again; round pop-up and MDT sessions to the nearest integer, then take
   sessions away (least used first) until the budget and the MDT workforce hold;
3. with every integer decision fixed, solve the LP for the allocation.

Every step keeps the plan feasible, because unmet demand has its own (penalised) variables; only hard coverage
rules can defeat it, and then the heuristic returns ``None`` and HiGHS starts cold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyomo.environ as pyo

from planner.inputs import ModelInputs
from planner.model import build_model
from planner.scenario import WEEKS_PER_YEAR
from planner.solver import SolverSettings, solve_pyomo


def _lp(m: pyo.ConcreteModel, time_limit: float) -> bool:
    """Solve ``m`` (already relaxed) and load its solution; whether one was found."""
    outcome = solve_pyomo(m, SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.0))
    return outcome.status.has_solution


def _pick_hubs(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Fix ``hub_open`` by rounding the LP values, respecting core hubs per locality and hub-count rules."""
    sc = inp.scenario
    y = {s: float(m.hub_open[s].value or 0.0) for s in m.HUBS}
    n = round(sum(y.values()))
    if sc.hubs.exact_hubs is not None:
        n = sc.hubs.exact_hubs
    elif sc.hubs.max_hubs is not None:
        n = min(n, sc.hubs.max_hubs)
    chosen: set[str] = {s for s in m.HUBS if m.hub_open[s].fixed and (m.hub_open[s].value or 0) > 0.5}
    by_loc: dict[str, list[str]] = defaultdict(list)
    for s in m.HUBS:
        by_loc[inp.sites.at[s, "locality"]].append(s)
    for sites in by_loc.values():
        ranked = sorted(sites, key=lambda s: -y[s])
        have = sum(1 for s in sites if s in chosen)
        for s in ranked:
            if have >= sc.hubs.min_per_locality:
                break
            if s not in chosen:
                chosen.add(s)
                have += 1
    for s in sorted(m.HUBS, key=lambda s: -y[s]):
        if len(chosen) >= n:
            break
        chosen.add(s)
    budget = sc.budget.annual
    if budget is not None:
        # Never spend more than the budget on hubs alone: drop the least-valued non-core hubs first.
        spare = sorted(chosen, key=lambda s: y[s])
        while len(chosen) * sc.hubs.fixed_cost > budget and spare:
            s = spare.pop(0)
            loc = inp.sites.at[s, "locality"]
            if sum(1 for t in chosen if inp.sites.at[t, "locality"] == loc) > sc.hubs.min_per_locality:
                chosen.discard(s)
    for s in m.HUBS:
        m.hub_open[s].fix(1.0 if s in chosen else 0.0)
    ye = {s: float(m.hub_evening[s].value or 0.0) for s in m.HUBS}
    n_eve = round(sum(ye.values()))
    evening = sorted(chosen, key=lambda s: -ye[s])[:n_eve]
    if budget is not None:
        while evening and len(chosen) * sc.hubs.fixed_cost + len(evening) * sc.hubs.evening_cost > budget:
            evening.pop()
    for s in m.HUBS:
        m.hub_evening[s].fix(1.0 if s in evening else 0.0)


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
    """Fix pop-up and MDT sessions at rounded LP values, then trim to the workforce and the budget."""
    sc = inp.scenario
    popups = {s: float(m.popup_sessions[s].value or 0.0) for s in m.POPUP_SITES}
    mdt = {key: float(v.value or 0.0) for key, v in m.mdt_sessions.items()}
    rp = {s: math.floor(v + 0.5) for s, v in popups.items()}
    rm = {key: math.floor(v + 0.5) for key, v in mdt.items()}
    for k in m.SPECIALTIES:
        keys = sorted((key for key in rm if key[1] == k), key=lambda key: mdt[key])
        limit = sc.mdt.workforce.get(k, 0)
        for key in keys:
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


def rounding_start(
    inp: ModelInputs, *, time_limit: float = 10.0, lp_time_limit: float = 60.0
) -> pyo.ConcreteModel | None:
    """A feasible plan for ``inp`` by LP rounding, as a solved (relaxed) Pyomo model whose values can be copied.

    Parameters
    ----------
    inp
        Model inputs (typically a sparser arc set than the final model: :func:`planner.api.sparse_inputs`).
    time_limit
        Seconds for the session stage (a MIP with the hubs fixed).
    lp_time_limit
        Seconds for each LP solve.

    Returns
    -------
    pyomo.environ.ConcreteModel or None
        The model with every variable at a feasible value, or ``None`` if a step found no solution.
    """
    relaxed = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
    if not _lp(relaxed, lp_time_limit):
        return None
    _pick_hubs(relaxed, inp)
    # With the hubs fixed, what is left (sessions and allocation) is small enough for HiGHS's own heuristics.
    m = build_model(inp)
    for s in m.HUBS:
        m.hub_open[s].fix(relaxed.hub_open[s].value)
        m.hub_evening[s].fix(relaxed.hub_evening[s].value)
    outcome = solve_pyomo(m, SolverSettings(time_limit=max(time_limit, 1.0), mip_rel_gap=0.01))
    if outcome.status.has_solution:
        return m
    if not _lp(relaxed, lp_time_limit):
        return None
    _round_sessions(relaxed, inp)
    return relaxed if _lp(relaxed, lp_time_limit) else None


def plan_objective(m: Any) -> float:
    """The objective value of the values currently held by ``m``."""
    return float(pyo.value(m.objective))
