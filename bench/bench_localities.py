"""Benchmark: the interactive case, every locality partnership planned on its own.

The default scenario restricted to one locality, with the budget scaled by the locality's share of the 20-64
population, with and without equity weighting; several runs each, medians reported. Writes
``bench/results/localities.json`` and prints a markdown table.

Run: ``python -m bench.bench_localities [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.bench_bnssg import run_case
from geodata.dataset import load_dataset
from planner.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "localities.json"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Plan each locality ``--runs`` times with and without equity weighting; write the JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    dataset = load_dataset()
    base = load_scenario(ROOT / "scenarios" / "default.yaml")
    people = dataset.zones.groupby("locality")["pop_20_64"].sum()
    assert base.budget.annual is not None
    rows: list[dict[str, Any]] = []
    for locality in sorted(people.index):
        budget = round(base.budget.annual * float(people[locality] / people.sum()), -4)
        for equity in (0.0, 1.0):
            changes = {"localities": [locality], "budget": {"annual": budget}, "weights": {"equity": equity}}
            scenario = base.with_changes({"name": "locality", **changes})
            case = run_case(locality, args.runs, None, scenario=scenario, dataset=dataset)
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
                }
            )
            print(f"  {locality} equity={equity}: {rows[-1]['median_seconds']} s", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cases": rows}, indent=1) + "\n")
    lines = [
        "| locality | zones | budget £ | equity weight | median s | under 5 s | gap | status |",
        "|---|---:|---:|---:|---:|:-:|---:|---|",
    ]
    for r in rows:
        gap = "–" if r["median_gap"] is None else f"{100 * r['median_gap']:.2f}%"
        fast = "yes" if r["median_seconds"] < 5 else "no"
        lines.append(
            f"| {r['locality']} | {r['zones']} | {r['budget']:,.0f} | {r['equity']:g} | {r['median_seconds']:.1f} "
            f"| {fast} | {gap} | {', '.join(r['statuses'])} |"
        )
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
