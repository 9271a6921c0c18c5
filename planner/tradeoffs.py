"""Trade-offs: a cost-versus-access frontier (epsilon constraint on the budget) and side-by-side comparisons."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.dataset import Dataset
from planner.api import Progress, _noop, solve_inputs
from planner.checks import minimum_hubs
from planner.errors import ModelInputError
from planner.inputs import build_inputs
from planner.outputs import atomic_directory, clean_for_json, new_run_path, write_json, write_plan_files
from planner.plan import Plan
from planner.scenario import Scenario
from planner.solver import SolveStatus, relative_gap

CARRIABLE = (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.NO_SOLUTION)
"""Outcomes a better plan from a smaller budget can replace (not an infeasible or failed solve: those say why)."""

FRONTIER_COLUMNS = [
    "budget",
    "status",
    "total_cost",
    "objective",
    "gap",
    "mean_minutes",
    "p90_minutes",
    "within_20_all",
    "evening_gap_share",
    "evening_gap_people",
    "unmet_share",
    "hubs_open",
    "popup_sessions_per_week",
    "message",
]


def _point(budget: float | None, plan: Plan) -> dict[str, Any]:
    k = plan.kpis
    return {
        "budget": budget,
        "status": str(plan.status),
        "total_cost": plan.costs.get("total"),
        "objective": plan.objective,
        "gap": plan.gap,
        "mean_minutes": k.get("mean_minutes"),
        "p90_minutes": k.get("p90_minutes"),
        "within_20_all": k.get("within_20_all"),
        "evening_gap_share": k.get("evening_gap_share"),
        "evening_gap_people": k.get("evening_gap_people"),
        "unmet_share": k.get("unmet_share"),
        "hubs_open": k.get("hubs_open"),
        "popup_sessions_per_week": k.get("popup_sessions_per_week"),
        "message": plan.message,
    }


def budget_frontier(
    scenario: Scenario,
    dataset: Dataset,
    *,
    steps: int = 6,
    budgets: Sequence[float] | None = None,
    progress: Progress = _noop,
) -> pd.DataFrame:
    """Trace access against cost by stepping the annual budget (epsilon-constraint method).

    Without explicit ``budgets`` the steps run evenly from the cheapest admissible plan (the core hubs the
    scenario requires) to the cost of the plan with no budget limit, beyond which more money buys nothing.

    Parameters
    ----------
    scenario
        The scenario; its budget is replaced at each step.
    dataset
        The planning dataset.
    steps
        Number of budget levels (at least 2) when ``budgets`` is not given.
    budgets
        Explicit annual budgets in pounds.
    progress
        Called with a message per step.

    Returns
    -------
    pandas.DataFrame
        One row per budget with the columns of ``FRONTIER_COLUMNS``; the last row (budget ``None``) is the
        unconstrained plan when the levels were derived automatically.

    Raises
    ------
    ModelInputError
        If ``steps`` is below 2 or a budget is negative.
    """
    points: list[tuple[float | None, Plan]] = []
    top: Plan | None = None
    # Demand, sites and arcs do not depend on the budget: prepare them once, change only the scenario per step.
    base = build_inputs(dataset, scenario)
    if budgets is None:
        if steps < 2:
            raise ModelInputError(f"frontier: steps must be at least 2, got {steps}")
        progress("frontier: solving without a budget limit to find where more money stops helping")
        inp = replace(base, scenario=scenario.with_changes({"budget": {"annual": None}}))
        top = solve_inputs(inp)
        low = minimum_hubs(inp) * scenario.hubs.fixed_cost
        high = top.costs.get("total", low) if top.has_solution else low
        levels = list(np.linspace(low, max(high, low), steps)[:-1]) if high > low else [low]
    else:
        bad = [b for b in budgets if not math.isfinite(b) or b < 0]
        if bad:
            raise ModelInputError(f"frontier: field '--budget' (value {bad[0]!r}) must be a finite amount, at least 0")
        levels = sorted({float(b) for b in budgets})  # a budget given twice is solved once
    for i, level in enumerate(levels, 1):
        progress(f"frontier: budget {i}/{len(levels)}: £{level:,.0f} a year")
        sc = scenario.with_changes({"budget": {"annual": float(level)}}, source="--budget")
        points.append((float(level), solve_inputs(replace(base, scenario=sc))))
    if top is not None:
        points.append((None, top))
    points = carry_better_plans_up(points, progress=progress)
    curve = pd.DataFrame([_point(b, plan) for b, plan in points], columns=FRONTIER_COLUMNS)
    for count in ("hubs_open", "popup_sessions_per_week"):  # whole numbers, blank where a budget has no plan
        curve[count] = pd.to_numeric(curve[count]).round().astype("Int64")
    return curve


def _budget_rank(budget: float | None) -> float:
    return math.inf if budget is None else float(budget)


def budget_label(budget: float | None) -> str:
    """A frontier point's budget for display: pounds, or "no limit" (``None``, or NaN once in a data frame)."""
    return "no limit" if budget is None or budget != budget else f"£{budget:,.0f}"


def carry_better_plans_up(
    points: Sequence[tuple[float | None, Plan]], *, progress: Progress = _noop
) -> list[tuple[float | None, Plan]]:
    """Make the frontier monotone: where a larger budget got a worse plan than a smaller one, use the better plan.

    A plan within a budget is within every larger one (the budget is the only thing that changes between the
    points), so the best plan found at or below a budget is a plan for it. Solves stopped at the time limit or
    at the relative gap can still return a slightly worse plan for a larger budget, and a frontier on which
    access worsens as money is added misleads. The carried plan keeps the larger budget's own proven bound, and
    its gap is recomputed against it.

    Parameters
    ----------
    points
        ``(budget, plan)`` pairs, the budget ``None`` for the point with no budget limit; in any order.
    progress
        Told of each plan carried up.

    Returns
    -------
    list of (budget, plan)
        The points in the same order, each holding the best plan found at its budget or below.
    """
    out = list(points)
    order = sorted(range(len(out)), key=lambda i: _budget_rank(out[i][0]))
    best: tuple[float | None, Plan] | None = None  # the best plan at the budgets so far
    best_obj = math.inf  # and its objective
    for i in order:
        budget, plan = out[i]
        obj = plan.objective if plan.has_solution and plan.objective is not None else math.inf
        if best is None or plan.status not in CARRIABLE or obj <= best_obj + 1e-9 * max(1.0, abs(best_obj)):
            if plan.has_solution and (best is None or obj < best_obj):
                best, best_obj = (budget, plan), obj
            continue
        below, better = best
        progress(
            f"frontier: at {budget_label(budget)} the plan for {budget_label(below)} is better"
            f" ({best_obj:,.1f} against {f'{obj:,.1f}' if plan.has_solution else 'none'}): kept"
        )
        carried = replace(
            better,
            status=plan.status if plan.has_solution else SolveStatus.TIME_LIMIT,
            message=f"the plan found for a budget of {budget_label(below)}, better than this budget's own",
            bound=plan.bound,
            gap=relative_gap(best_obj, plan.bound),
        )
        out[i] = (budget, carried)
    return out


def write_frontier(frontier: pd.DataFrame, scenario: Scenario, root: Path, *, folder: Path | None = None) -> Path:
    """Write a frontier run folder: ``frontier.csv``, ``frontier.json``, ``frontier.png`` and ``frontier.html``."""
    from planner.charts import frontier_chart
    from planner.report import render_frontier

    target = folder if folder is not None else new_run_path(Path(root), f"{scenario.name}-frontier")
    png = frontier_chart(frontier)
    html = render_frontier(frontier, scenario.name)

    def fill(tmp: Path) -> None:
        frontier.to_csv(tmp / "frontier.csv", index=False)
        write_json(tmp / "frontier.json", clean_for_json(frontier.to_dict(orient="records")))
        (tmp / "frontier.png").write_bytes(png)
        (tmp / "frontier.html").write_text(html, encoding="utf-8")

    return atomic_directory(target, fill)


def write_comparison(
    plans: Sequence[Plan],
    scenarios: Sequence[Scenario],
    zones_geo: gpd.GeoDataFrame,
    root: Path,
    *,
    folder: Path | None = None,
    manifest: dict[str, Any] | None = None,
) -> Path:
    """Write a comparison run folder: the KPI table side by side with differences, a difference map, an HTML page
    and a sub-folder per plan with its own files (with the dataset's ``manifest``, as :func:`write_run` writes them).
    """
    from planner.charts import difference_map
    from planner.report import comparison_table, difference_pair, render_comparison, render_report

    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        names = [f"{i + 1}-{n}" for i, n in enumerate(names)]
    target = folder if folder is not None else new_run_path(Path(root), "compare-" + "-vs-".join(names)[:80])
    table = comparison_table(plans, names)
    pair = difference_pair([(p, n) for p, n in zip(plans, names, strict=True) if p.has_solution])
    diff_png = difference_map(zones_geo, pair[0][0], pair[1][0]) if pair is not None else None
    html = render_comparison(plans, zones_geo, names=names, difference_png=diff_png)  # the map drawn once
    reports = [render_report(p, s, zones_geo, dataset_manifest=p.dataset_manifest or manifest)
               for p, s in zip(plans, scenarios, strict=True)]  # fmt: skip

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / "comparison.csv")
        write_json(tmp / "comparison.json", clean_for_json([p.summary() for p in plans]))
        (tmp / "comparison.html").write_text(html, encoding="utf-8")
        if diff_png is not None:
            (tmp / "difference_map.png").write_bytes(diff_png)
        for name, plan, sc, rep in zip(names, plans, scenarios, reports, strict=True):
            sub = tmp / name
            sub.mkdir()
            write_plan_files(sub, plan, sc, zones_geo, report_html=rep, manifest=manifest)

    return atomic_directory(target, fill)
