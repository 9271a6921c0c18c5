"""Benchmark: pop-up arcs by place against each zone's six nearest venues, locality by locality.

The default scenario restricted to one locality, with the budget scaled by the locality's share of the 20-64
population, with and without equity weighting, solved to its gap twice in turn: with the arcs the planner uses
(each zone's nearest venue in each of its ``travel.nearest_popups`` places) and with the arcs it used before
(``nearest_popups: 6, popup_place_metres: 0``). Prints a markdown table: objective, evening-only demand left
unserved, seconds in all (inputs, build and solve) and proven gap, old / new.

Run: ``python -m bench.compare_arcs [locality ...]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.bench_localities import locality_budgets
from geodata.dataset import load_dataset
from planner.api import solve_inputs
from planner.inputs import build_inputs
from planner.invariants import plan_violations
from planner.scenario import load_scenario

OLD_ARCS = {"travel": {"nearest_popups": 6, "popup_place_metres": 0}}


def main(argv: list[str] | None = None) -> list[str]:
    """Solve each locality with the old arcs and the new, alternating; print and return the table's rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("localities", nargs="*", help="localities to compare (all six if none)")
    args = parser.parse_args(argv)
    dataset = load_dataset()
    default = load_scenario("default")
    budgets = locality_budgets(dataset, default)
    rows = [
        "| locality | equity | pop-up arcs old / new | objective old / new | change | evening-only demand unserved "
        "| seconds | proven gap |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(rows), flush=True)
    for locality in args.localities or list(budgets):
        budget = budgets[locality]
        for equity in (0.0, 1.0):
            base = default.with_changes(
                {"localities": [locality], "budget": {"annual": budget}, "weights": {"equity": equity}}
            )
            runs: dict[str, dict[str, Any]] = {}
            for name, scenario in (("old", base.with_changes(OLD_ARCS)), ("new", base)):
                start = time.perf_counter()
                inputs = build_inputs(dataset, scenario)
                plan = solve_inputs(inputs)
                seconds = time.perf_counter() - start
                if plan.objective is None or plan.gap is None or plan_violations(plan, inputs):
                    raise RuntimeError(f"{locality}, equity {equity:g}, {name} arcs: {plan.message}")
                runs[name] = {
                    "arcs": int(inputs.arcs["popup"].sum()),
                    "objective": plan.objective,
                    "gap": plan.gap,
                    "seconds": seconds,
                    "unserved": plan.kpis["evening_gap_share"],
                }
            old, new = runs["old"], runs["new"]
            row = (
                f"| {locality} | {equity:g} | {old['arcs']:,} / {new['arcs']:,} "
                f"| {old['objective']:,.0f} / {new['objective']:,.0f} "
                f"| {100 * (new['objective'] / old['objective'] - 1):+.1f}% "
                f"| {100 * old['unserved']:.0f}% / {100 * new['unserved']:.0f}% "
                f"| {old['seconds']:.1f} / {new['seconds']:.1f} "
                f"| {100 * old['gap']:.2f}% / {100 * new['gap']:.2f}% |"
            )
            print(row, flush=True)
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
