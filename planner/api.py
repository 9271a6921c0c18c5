"""The planning pipeline in one place: inputs -> arithmetic checks -> build -> solve -> results -> KPIs.

``solve_scenario`` is what the command line, the app and the benchmarks call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyomo.environ as pyo

from geodata.dataset import Dataset, load_dataset
from planner.checks import Violation, check_inputs
from planner.counts import solve_by_counts
from planner.heuristic import BackgroundHubSearch, core_offer_plan, hub_search_start, polish_allocation
from planner.inputs import ModelInputs, build_inputs
from planner.kpis import compute_kpis
from planner.model import build_model, copy_solution, load_values, model_size
from planner.plan import Plan, extract_allocation, extract_costs, extract_sites, extract_zones, trim_idle_capacity
from planner.scenario import Scenario, load_scenario
from planner.solver import SolverOutcome, SolverSettings, SolveStatus, relative_gap, solve_pyomo

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def _settings(scenario: Scenario) -> SolverSettings:
    s = scenario.solver
    return SolverSettings(time_limit=s.time_limit, mip_rel_gap=s.mip_rel_gap, threads=s.threads)


WARM_START_MIN_ZONES = 200
"""Scenarios with more zones than this get the hub search (every locality partnership, the largest with 175 zones,
solves faster with HiGHS alone; see docs/benchmarks.md)."""

SEARCH_GRACE_SECONDS = 4.0
"""How long past its deadline to wait for the background hub search (its last solve may overrun a little)."""

HANDOFF_SECONDS = 1.0
"""Part of the time limit kept for handing the background search's plan over and reading the plan."""

SEARCH_MIN_SECONDS = 5.0
"""Shortest time limit given the hub search. Under about 16 s beside HiGHS it has no time for its LP relaxation (5-8 s
on the whole of BNSSG) and plans the core offer's hubs with a sessions MIP instead
(``planner.heuristic.QUICK_BELOW_SECONDS_BESIDE_HIGHS``): at 5 s that gave 182,998 in 6.1 s in all, where HiGHS
alone gave 277,793 in 8.7 s; under 5 s the second process would start too late to send anything (docs/benchmarks.md,
item 25)."""


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _violation_dicts(violations: list[Violation]) -> tuple[dict[str, object], ...]:
    return tuple(
        {"requirement": v.requirement, "message": v.message, "shortfall": round(v.shortfall, 3), "unit": v.unit,
         "repair": v.repair, "proven": v.proven}
        for v in violations
    )  # fmt: skip


def _families(sc: Scenario) -> list[str]:
    """The hard-requirement families a scenario actually imposes."""
    out = []
    if sc.budget.annual is not None:
        out.append("budget")
    if sc.hubs.min_per_locality > 0:
        out.append("core_hub")
    if sc.hubs.max_hubs is not None or sc.hubs.exact_hubs is not None:
        out.append("hub_count")
    if sc.requirements.full_coverage or sc.requirements.full_evening_coverage:
        out.append("coverage")
    return out


def _describe(label: str, amount: float, sc: Scenario, *, repair: int = 0, proven: bool = True) -> Violation:
    # A check stopped by its time limit found a repair of this size; a smaller one may exist.
    most = "" if proven else "at most "
    if label == "budget":
        message = (
            f"the budget of £{sc.budget.annual:,.0f} a year is {most}£{amount:,.0f} short of the cheapest plan that "
            "meets every other requirement"
        )
        return Violation("budget", message, amount, "GBP/year", repair, proven)
    if label == "core_hub":
        message = f"{most}{amount:g} locality core hub(s) cannot be opened within the other requirements"
        return Violation("core_hub", message, amount, "hubs", repair, proven)
    if label in ("max_hubs", "exact_hubs"):
        message = f"the hub count has to move by {most}{amount:g} to meet the other requirements"
        return Violation("hub_count", message, amount, "hubs", repair, proven)
    what = {
        "coverage_day": "daytime contacts",
        "coverage_evening": "evening-only contacts",
        "coverage_mdt": "MDT reviews",
    }[label]
    message = (
        f"{most}{amount:,.1f} {what} a week cannot be served within {sc.travel.max_minutes:g} minutes by "
        f"{sc.travel.mode} under the budget, capacity and workforce"
    )
    return Violation(label, message, amount, "per week", repair, proven)


DIAGNOSIS_MIN_SECONDS = 5.0
"""Least time for each requirement's check, however short the scenario's time limit."""

DIAGNOSIS_TIME_FACTOR = 2.0
"""The checks together get this many times the scenario's time limit (South Bristol's pioneer scenario under full
coverage needs 23 s to prove its coverage shortfall; checks stopped sooner report theirs as "at most")."""


def diagnose_infeasible(inp: ModelInputs, *, time_limit: float | None = None) -> list[Violation]:
    """Find which hard requirements cannot be met, and by how much.

    Each family of hard requirements (budget, core hub per locality, hub count, coverage) is relaxed on its
    own with a penalised slack while the others stay hard; the least violation that makes the rest feasible
    is that requirement's shortfall. Each family whose relaxation restores feasibility is one repair (its
    violations numbered alike in ``repair``); a check stopped by its time limit reports the violation it found,
    marked ``proven=False``, as an upper bound.

    Parameters
    ----------
    inp
        The inputs of a scenario whose model was infeasible.
    time_limit
        Seconds for all the checks together, shared out evenly as they finish (each gets at least
        :data:`DIAGNOSIS_MIN_SECONDS`); ``None``: :data:`DIAGNOSIS_TIME_FACTOR` times the scenario's time limit.

    Returns
    -------
    list of Violation
        One per requirement whose relaxation restores feasibility, with its shortfall.
    """
    sc = inp.scenario
    settings = _settings(sc)
    families = _families(sc)
    began = time.perf_counter()
    total = DIAGNOSIS_TIME_FACTOR * sc.solver.time_limit if time_limit is None else time_limit
    out: list[Violation] = []
    repair = 0
    for i, family in enumerate(families):
        share = (total - (time.perf_counter() - began)) / (len(families) - i)
        m = build_model(inp, elastic={family})
        outcome = solve_pyomo(m, replace(settings, mip_rel_gap=1e-6, time_limit=max(share, DIAGNOSIS_MIN_SECONDS)))
        if not outcome.status.has_solution:
            continue  # relaxing this requirement alone does not help (or nothing was found in time)
        proven = outcome.status is SolveStatus.OPTIMAL
        totals: dict[str, float] = {}
        for label, var, _scale in m.VIOLATIONS:
            amount = sum((v.value or 0.0) for v in var.values()) if var.is_indexed() else (var.value or 0.0)
            totals[label] = totals.get(label, 0.0) + float(amount)
        found = [_describe(label, amount, sc, repair=repair, proven=proven)
                 for label, amount in totals.items() if amount > 1e-6]  # fmt: skip
        out.extend(found)
        repair += bool(found)
    return out


def repair_message(found: list[Violation]) -> str:
    """The infeasible plan's message: each repair's shortfalls joined by "and", the repairs by "or"."""
    if not found:
        return "no plan meets every hard requirement"
    repairs: dict[int, list[Violation]] = {}
    for v in found:
        repairs.setdefault(v.repair, []).append(v)
    texts = [
        " and ".join(v.message for v in group)
        + ("" if all(v.proven for v in group) else " (its check stopped at the time limit: less may do)")
        for group in repairs.values()
    ]
    if len(texts) == 1:
        return f"no plan meets every hard requirement; this repair would: {texts[0]}"
    return "no plan meets every hard requirement; any one of these repairs would: " + "; or ".join(texts)


def _plan_in(m: pyo.ConcreteModel, outcome: SolverOutcome, **changes: Any) -> SolverOutcome:
    """The outcome for the plan now loaded in ``m``: its objective, and its gap to the bound already proven."""
    objective = float(pyo.value(m.objective))
    return replace(outcome, objective=objective, gap=relative_gap(objective, outcome.bound), **changes)


def _keep_better(
    outcome: SolverOutcome, search: BackgroundHubSearch, m: pyo.ConcreteModel, sc: Scenario, progress: Progress
) -> tuple[SolverOutcome, float | None, bool]:
    """Collect the background hub search's plan and load it into ``m`` if it beats HiGHS's.

    Returns the outcome of the plan now in ``m``, the search's LP bound (``None`` if it sent none) and whether the
    plan in ``m`` is now the search's.
    """
    if outcome.status not in (SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION):
        # HiGHS has settled it (a plan within the gap, or none at all), or failed in a way the search would too.
        newest = search.newest()
        search.stop()
        if outcome.status is SolveStatus.OPTIMAL and outcome.objective is not None:
            fed = newest is not None and abs(newest[0] - outcome.objective) <= 1e-6 * abs(outcome.objective)
            whose = "the hub search's plan" if fed else "its own plan"
            progress(
                f"HiGHS proved {whose} ({outcome.objective:,.0f}) within the gap after {outcome.solve_seconds:.1f} s"
            )
        return outcome, None, False
    began = time.perf_counter()
    found = search.result(timeout=SEARCH_GRACE_SECONDS + 0.1 * sc.solver.time_limit)
    waited = time.perf_counter() - began
    if found is None:
        progress(f"hub search: no plan ({search.error}); keeping HiGHS's")
        return replace(outcome, solve_seconds=outcome.solve_seconds + waited), None, False
    better = outcome.objective is None or found.objective < outcome.objective - 1e-6 * abs(outcome.objective)
    if better:
        load_values(m, found.values)
        outcome = _plan_in(m, outcome, status=SolveStatus.TIME_LIMIT)
        if outcome.gap is not None and outcome.gap <= sc.solver.mip_rel_gap:
            outcome = replace(outcome, status=SolveStatus.OPTIMAL)  # HiGHS's bound proves it within the gap
        progress(f"hub search: its plan ({outcome.objective:,.0f}) is better than HiGHS's; keeping it")
    return replace(outcome, solve_seconds=outcome.solve_seconds + waited), found.lp_bound, better


def solve_inputs(inp: ModelInputs, *, progress: Progress = _noop) -> Plan:
    """Check, build, solve and read back one scenario's model.

    Parameters
    ----------
    inp
        Model inputs.
    progress
        Called with a short message at each step (the CLI shows them).

    Returns
    -------
    Plan
        The plan; ``status`` says whether it is optimal, stopped at the time limit (with its gap) or infeasible
        (``message`` and ``violations`` say which requirement cannot be met and by how much).
    """
    sc = inp.scenario
    started = time.perf_counter()
    progress("checking the scenario's arithmetic")
    problems = check_inputs(inp)
    if problems:
        return Plan(
            scenario_name=sc.name,
            status=SolveStatus.INFEASIBLE,
            message="; ".join(v.message for v in problems),
            size=inp.size(),
            violations=_violation_dicts(problems),
        )
    progress(f"building the model ({len(inp.zones)} zones, {len(inp.sites)} sites, {len(inp.arcs)} arcs)")
    began = time.perf_counter()
    m = build_model(inp)
    build_seconds = time.perf_counter() - began
    size = {**inp.size(), **model_size(m)}
    settings = _settings(sc)
    warm_seconds = 0.0
    warm = False
    lp_bound: float | None = None
    search: BackgroundHubSearch | None = None
    searched = False  # whether the plan is the hub search's (its allocation is already an LP's or a MIP's optimum)
    use_search = (
        sc.solver.warm_start and len(inp.zones) > WARM_START_MIN_ZONES and sc.solver.time_limit >= SEARCH_MIN_SECONDS
    )
    if use_search and sc.solver.parallel_search and _cores() >= 2:
        # HiGHS keeps one core busy raising its bound; the hub search finds the good plans on the other.
        progress("hub search started in a second process, alongside HiGHS")
        left = sc.solver.time_limit - (time.perf_counter() - started) - HANDOFF_SECONDS
        search = BackgroundHubSearch(inp, deadline=time.time() + max(left, 1.0))
        settings = replace(settings, time_limit=max(left, 1.0))
    elif use_search:
        # One core: HiGHS alone spends most of a minute in the root node of the full BNSSG model and finds poor
        # incumbents there, so a plan from the hub search comes first and is given to it as a MIP start.
        progress("warm start: searching hub plans scored by the LP relaxation")
        began = time.perf_counter()
        start = hub_search_start(inp, time_limit=sc.solver.warm_start_share * sc.solver.time_limit)
        if start is not None:
            copy_solution(start.model, m)
            warm = True
            lp_bound = start.lp_bound
        warm_seconds = time.perf_counter() - began
        settings = replace(settings, time_limit=max(sc.solver.time_limit - warm_seconds, 1.0))
    progress(f"solving with HiGHS (time limit {sc.solver.time_limit:g} s, gap {sc.solver.mip_rel_gap:g})")
    split: SolverOutcome | None = None
    if not use_search and sc.solver.split_counts:
        began = time.perf_counter()
        split = solve_by_counts(inp, m, settings, progress=progress)
        warm_seconds = time.perf_counter() - began  # spent whether or not the split paid
        settings = replace(settings, time_limit=max(settings.time_limit - warm_seconds, 1.0))
    try:
        feed = None if search is None else search.newest  # the search's plans, handed to HiGHS as they improve
        outcome = split if split is not None else solve_pyomo(m, settings, warm_start=warm, feed=feed)
    except BaseException:
        if search is not None:
            search.stop()
        raise
    if split is None:
        outcome = replace(outcome, solve_seconds=outcome.solve_seconds + warm_seconds)
    if search is not None:
        outcome, lp_bound, searched = _keep_better(outcome, search, m, sc, progress)
    if lp_bound is not None and outcome.objective is not None and (outcome.bound is None or lp_bound > outcome.bound):
        # The heuristic's LP relaxation of this same model is a valid bound; HiGHS may stop before its root LP.
        outcome = replace(outcome, bound=lp_bound, gap=relative_gap(outcome.objective, lp_bound))
    if outcome.status is SolveStatus.INFEASIBLE:
        progress("infeasible: measuring which requirement cannot be met")
        found = diagnose_infeasible(inp)
        message = repair_message(found)
        return Plan(
            scenario_name=sc.name,
            status=outcome.status,
            message=message,
            build_seconds=build_seconds,
            solve_seconds=outcome.solve_seconds,
            size=size,
            violations=_violation_dicts(found),
        )
    fallback = False
    if outcome.status is SolveStatus.NO_SOLUTION:
        # Stopped before any plan (a very short time limit on the whole of BNSSG): the core offer is a plan.
        began = time.perf_counter()
        if core_offer_plan(inp, m):
            outcome = _plan_in(m, outcome, status=SolveStatus.TIME_LIMIT)
            fallback = True
            progress("no plan in the time limit: returning the core offer (the hubs the rules require, no sessions)")
        outcome = replace(outcome, solve_seconds=outcome.solve_seconds + time.perf_counter() - began)
    if outcome.status.has_solution and outcome.gap != 0.0 and not fallback and not searched:
        # HiGHS's early incumbents can leave demand unserved beside open sites; the sites kept, the routing is an LP.
        # Not only when stopped by the limit: a plan proven within a loose gap (`mip_rel_gap: 0.5`) may be such an
        # incumbent too (South Bristol at a gap of 1: 52,606, re-routed 38,958).
        began = time.perf_counter()
        gain = polish_allocation(m)
        outcome = replace(outcome, solve_seconds=outcome.solve_seconds + time.perf_counter() - began)
        if gain > 0:
            outcome = _plan_in(m, outcome)
            progress(f"re-routed the plan's demand among its own sites: objective {outcome.objective:,.0f} "
                     f"({gain:,.0f} less)")  # fmt: skip
    if not outcome.status.has_solution:
        return Plan(
            scenario_name=sc.name,
            status=outcome.status,
            message=(
                f"no feasible plan found within the time limit of {sc.solver.time_limit:g} s; raise solver.time_limit"
                if outcome.status is SolveStatus.NO_SOLUTION
                else f"the solver failed: {outcome.message}"
            ),
            build_seconds=build_seconds,
            solve_seconds=outcome.solve_seconds,
            size=size,
        )
    progress("reading the plan")
    saved = trim_idle_capacity(m, inp)
    if saved > 0:
        progress(f"dropped idle hubs, sessions and evening openings worth £{saved:,.0f} a year (no contact moves)")
        if sc.weights.cost > 0 and outcome.objective is not None:
            objective = outcome.objective - sc.weights.cost * saved / 1000.0
            outcome = replace(outcome, objective=objective, gap=relative_gap(objective, outcome.bound))
    alloc = extract_allocation(m, inp)
    sites = extract_sites(m, inp, alloc)
    zones = extract_zones(m, inp, alloc, sites)
    costs = extract_costs(m)
    kpis = compute_kpis(zones, alloc, sites, sc.travel.thresholds)
    message = "optimal within the requested gap"
    if outcome.status is SolveStatus.TIME_LIMIT:
        gap_text = "unknown" if outcome.gap is None else f"{outcome.gap:.2%}"
        message = f"stopped at the time limit of {sc.solver.time_limit:g} s; best plan returned, gap {gap_text}"
        if fallback:
            message = (
                f"no plan found within the time limit of {sc.solver.time_limit:g} s; returned the core offer "
                f"(the hubs the rules require, no evening opening or sessions), gap {gap_text}: raise "
                "solver.time_limit for a real plan"
            )
    return Plan(
        scenario_name=sc.name,
        status=outcome.status,
        message=message,
        objective=outcome.objective,
        bound=outcome.bound,
        gap=outcome.gap,
        build_seconds=build_seconds,
        solve_seconds=outcome.solve_seconds,
        size=size,
        sites=sites,
        zones=zones,
        allocation=alloc,
        costs=costs,
        kpis=kpis,
    )


def solve_scenario(
    scenario: Scenario | str | Path, dataset: Dataset | None = None, *, progress: Progress = _noop
) -> Plan:
    """Plan one scenario on a dataset (the embedded BNSSG dataset by default).

    Parameters
    ----------
    scenario
        A validated scenario or the path of a scenario YAML file.
    dataset
        The planning dataset; ``None`` loads the embedded BNSSG default (plus the scenario's extra sites file).
    progress
        Called with a short message at each step.

    Returns
    -------
    Plan
        See :func:`solve_inputs`.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if dataset is None:
        dataset = load_dataset()
    if scenario.sites.extra_file:
        progress(f"adding sites from {scenario.sites.extra_file}")
        dataset = dataset.with_sites_file(Path(scenario.sites.extra_file))
    progress("preparing demand, candidate sites and arcs")
    inp = build_inputs(dataset, scenario)
    # the run records the data it planned on, the scenario's added sites included
    return replace(solve_inputs(inp, progress=progress), dataset_manifest=dataset.manifest)


__all__ = ["copy_solution", "diagnose_infeasible", "load_values", "solve_inputs", "solve_scenario"]
