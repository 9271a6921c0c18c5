"""Benchmark: the interactive case, every locality partnership planned on its own.

The default scenario restricted to one locality, with the budget scaled by the locality's share of the 20-64
population, with and without equity weighting; several runs each, medians reported. Each case is solved twice: to
the scenario's 1% gap (how long that takes), and with the solver stopped at ``--interactive-limit`` seconds so that
the whole run stays under 5 s (what a planner gets in that time: the proven gap, and how far the plan is above
the 1% run's). Writes ``bench/results/localities.json`` and prints a markdown table.

Run: ``python -m bench.bench_localities [--runs 3] [--interactive-limit 4.5]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.bench_bnssg import pct, run_case
from geodata.dataset import Dataset, load_dataset
from planner.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "localities.json"


def locality_budgets(dataset: Dataset, base: Scenario) -> dict[str, float]:
    """Each locality's share of ``base``'s annual budget by its 20-64 population, to the nearest £10,000."""
    assert base.budget.annual is not None
    people = dataset.zones.groupby("locality")["pop_20_64"].sum()
    return {str(loc): round(base.budget.annual * float(people[loc] / people.sum()), -4) for loc in sorted(people.index)}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Plan each locality ``--runs`` times with and without equity weighting; write the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--interactive-limit",
        type=float,
        default=4.5,
        help="solver seconds for the interactive solve (inputs and build take the rest of the 5 s)",
    )
    args = parser.parse_args(argv)
    dataset = load_dataset()
    base = load_scenario(ROOT / "scenarios" / "default.yaml")
    rows: list[dict[str, Any]] = []
    for locality, budget in locality_budgets(dataset, base).items():
        for equity in (0.0, 1.0):
            changes = {"localities": [locality], "budget": {"annual": budget}, "weights": {"equity": equity}}
            scenario = base.with_changes({"name": "locality", **changes})
            case = run_case(locality, args.runs, None, scenario=scenario, dataset=dataset)
            quick = run_case(locality, args.runs, args.interactive_limit, scenario=scenario, dataset=dataset)
            excess = None
            if quick["objective"] is not None and case["objective"]:
                excess = round(quick["objective"] / case["objective"] - 1, 5)
            rows.append(
                {
                    "locality": locality,
                    "zones": case["zones"],
                    "budget": budget,
                    "equity": equity,
                    "median_seconds": case["median_total_seconds"],
                    "seconds": case["total_seconds"],
                    "median_gap": case["median_gap"],
                    "statuses": case["statuses"],
                    "interactive": {
                        "time_limit": args.interactive_limit,
                        "median_seconds": quick["median_total_seconds"],
                        "median_gap": quick["median_gap"],
                        "objective_above_1pct_plan": excess,
                    },
                }
            )
            print(f"  {locality} equity={equity}: {rows[-1]['median_seconds']} s", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cases": rows}, indent=1) + "\n")
    lines = [
        "| locality | zones | budget £ | equity weight | median s | under 5 s | gap | status "
        "| stopped at 5 s: s | proven gap | plan above the 1% plan |",
        "|---|---:|---:|---:|---:|:-:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        q = r["interactive"]
        fast = "yes" if r["median_seconds"] < 5 else "no"
        lines.append(
            f"| {r['locality']} | {r['zones']} | {r['budget']:,.0f} | {r['equity']:g} | {r['median_seconds']:.1f} "
            f"| {fast} | {pct(r['median_gap'])} | {', '.join(r['statuses'])} | {q['median_seconds']:.1f} "
            f"| {pct(q['median_gap'])} | {pct(q['objective_above_1pct_plan'])} |"
        )
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
