"""Trade-offs: a cost-versus-access frontier (epsilon constraint on the budget) and side-by-side comparisons."""

from __future__ import annotations

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
from planner.outputs import _clean_for_json, atomic_directory, new_run_path, write_json, write_plan_files
from planner.plan import Plan
from planner.scenario import Scenario

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
    rows: list[dict[str, Any]] = []
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
        rows_top = _point(None, top)
    else:
        bad = [b for b in budgets if b < 0]
        if bad:
            raise ModelInputError(f"frontier: budget {bad[0]!r} is negative")
        levels = list(budgets)
        rows_top = None
    for i, level in enumerate(levels, 1):
        progress(f"frontier: budget {i}/{len(levels)}: £{level:,.0f} a year")
        sc = scenario.with_changes({"budget": {"annual": float(level)}})
        plan = solve_inputs(replace(base, scenario=sc))
        rows.append(_point(float(level), plan))
    if rows_top is not None:
        rows.append(rows_top)
    return pd.DataFrame(rows, columns=FRONTIER_COLUMNS)


def write_frontier(frontier: pd.DataFrame, scenario: Scenario, root: Path, *, folder: Path | None = None) -> Path:
    """Write a frontier run folder: ``frontier.csv``, ``frontier.json``, ``frontier.png`` and ``frontier.html``."""
    from planner.charts import frontier_chart
    from planner.report import render_frontier

    target = folder if folder is not None else new_run_path(Path(root), f"{scenario.name}-frontier")
    png = frontier_chart(frontier)
    html = render_frontier(frontier, scenario.name)

    def fill(tmp: Path) -> None:
        frontier.to_csv(tmp / "frontier.csv", index=False)
        write_json(tmp / "frontier.json", _clean_for_json(frontier.to_dict(orient="records")))
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
) -> Path:
    """Write a comparison run folder: the KPI table side by side with differences, a difference map, an HTML page
    and a sub-folder per plan with its own files.
    """
    from planner.charts import difference_map
    from planner.report import comparison_table, render_comparison, render_report

    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        names = [f"{i + 1}-{n}" for i, n in enumerate(names)]
    target = folder if folder is not None else new_run_path(Path(root), "compare-" + "-vs-".join(names)[:80])
    table = comparison_table(plans, names)
    html = render_comparison(plans, zones_geo, names=names)
    solved = [p for p in plans if p.has_solution]
    diff_png = difference_map(zones_geo, solved[0], solved[1]) if len(solved) >= 2 else None
    reports = [render_report(p, s, zones_geo) for p, s in zip(plans, scenarios, strict=True)]

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / "comparison.csv")
        write_json(tmp / "comparison.json", _clean_for_json([p.summary() for p in plans]))
        (tmp / "comparison.html").write_text(html, encoding="utf-8")
        if diff_png is not None:
            (tmp / "difference_map.png").write_bytes(diff_png)
        for name, plan, sc, rep in zip(names, plans, scenarios, reports, strict=True):
            sub = tmp / name
            sub.mkdir()
            write_plan_files(sub, plan, sc, zones_geo, report_html=rep)

    return atomic_directory(target, fill)
