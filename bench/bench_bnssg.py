"""Benchmark: the planning model on the real BNSSG dataset, whole-area and locality-sized scenarios.

For each scenario: model size, input preparation, Pyomo build and HiGHS solve seconds, the proven gap and the
share of the total spent building; several runs, medians reported. Then the default scenario under shorter time
limits than its minute, and asked for a looser proof than 1%: what a planner who cannot wait gets. Writes
``bench/results/bnssg.json`` and prints markdown tables.

Run: ``python -m bench.bench_bnssg [--runs 3] [--scenarios default weston_option_b ...] [--time-limit 60]
[--shorter-limits 10 20 30] [--looser-gaps 0.05]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from geodata.dataset import Dataset, load_dataset
from planner.api import solve_inputs
from planner.inputs import build_inputs
from planner.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "bnssg.json"
DEFAULT_SCENARIOS = ["default", "weston_option_b", "weston_option_a", "south_bristol_pioneer"]


def run_case(
    name: str,
    runs: int,
    time_limit: float | None,
    *,
    scenario: Scenario | None = None,
    dataset: Dataset | None = None,
    gap: float | None = None,
) -> dict[str, Any]:
    """Solve one library scenario (or ``scenario``, reported as ``name``) ``runs`` times, with its own time limit and
    gap unless given; medians of each timing and of the gap, the last run's size."""
    dataset = dataset if dataset is not None else load_dataset()
    if scenario is None:
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    if time_limit is not None:
        scenario = scenario.with_changes({"solver": {"time_limit": time_limit}})
    if gap is not None:
        scenario = scenario.with_changes({"solver": {"mip_rel_gap": gap}})
    rows: list[dict[str, Any]] = []
    for _ in range(runs):
        # The previous run's models are collected before the clock starts, not during this run's build (as timeit
        # and pyperf keep one case's garbage out of the next): Weston option A's 0.03 s build measured 0.14-0.17 s
        # after the whole-BNSSG runs.
        gc.collect()
        began = time.perf_counter()
        inp = build_inputs(dataset, scenario)
        prepared = time.perf_counter() - began
        plan = solve_inputs(inp)
        total = time.perf_counter() - began
        rows.append(
            {
                "inputs_seconds": prepared,
                "build_seconds": plan.build_seconds,
                "solve_seconds": plan.solve_seconds,
                "total_seconds": total,
                "gap": plan.gap,
                "status": str(plan.status),
                "objective": plan.objective,
                "bound": plan.bound,
            }
        )
    med = {k: statistics.median(r[k] for r in rows) for k in ("inputs_seconds", "build_seconds", "solve_seconds",
                                                                "total_seconds")}  # fmt: skip
    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    return {
        "scenario": name,
        "zones": plan.size.get("zones"),
        "size": plan.size,
        "runs": runs,
        "time_limit": scenario.solver.time_limit,
        "mip_rel_gap": scenario.solver.mip_rel_gap,
        **{f"median_{k}": round(v, 3) for k, v in med.items()},
        "total_seconds": [round(r["total_seconds"], 3) for r in rows],
        "median_gap": round(statistics.median(gaps), 5) if gaps else None,
        "build_share": round((med["inputs_seconds"] + med["build_seconds"]) / med["total_seconds"], 3),
        "statuses": sorted({r["status"] for r in rows}),
        "objective": rows[-1]["objective"],
        "median_objective": _median([r["objective"] for r in rows]),
        "bound": rows[-1]["bound"],
        "kpis": {
            k: plan.kpis.get(k)
            for k in (
                "hubs_open",
                "evening_hubs",
                "popup_sessions_per_week",
                "mean_minutes",
                "evening_gap_share",
                "unmet_share",
            )
        },
    }


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def pct(share: float | None) -> str:
    """A share as a percentage with two decimals, or a dash (the tables' format for gaps)."""
    return "–" if share is None else f"{100 * share:.2f}%"


def markdown(results: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| scenario | zones | variables (binary/integer) | constraints | inputs s | build s | solve s | total s "
        "| build share | gap | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["size"]
        gap = pct(r["median_gap"])
        lines.append(
            f"| {r['scenario']} | {r['zones']} | {s.get('variables')} ({s.get('binary')}/{s.get('integer')}) "
            f"| {s.get('constraints')} | {r['median_inputs_seconds']:.2f} | {r['median_build_seconds']:.2f} "
            f"| {r['median_solve_seconds']:.2f} | {r['median_total_seconds']:.2f} | {100 * r['build_share']:.0f}% "
            f"| {gap} | {', '.join(r['statuses'])} |"
        )
    return "\n".join(lines)


def _objective(r: dict[str, Any]) -> str:
    """A case's median objective for the tables, or a dash if it had no plan."""
    return "–" if r["median_objective"] is None else f"{r['median_objective']:,.0f}"


def limits_markdown(cases: list[dict[str, Any]]) -> str:
    """The default scenario by time limit: seconds in all, plan, proven gap and demand left unserved."""
    lines = [
        "| time limit s | total s | objective | proven gap | demand unserved | status |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(cases, key=lambda r: r["time_limit"]):
        unmet = r["kpis"].get("unmet_share")
        lines.append(
            f"| {r['time_limit']:g} | {r['median_total_seconds']:.1f} | {_objective(r)} | {pct(r['median_gap'])} "
            f"| {pct(unmet)} | {', '.join(r['statuses'])} |"
        )
    return "\n".join(lines)


def gaps_markdown(cases: list[dict[str, Any]]) -> str:
    """The default scenario by the gap asked for: seconds in all (every run), plan, proven gap and status."""
    lines = [
        "| gap asked for | total s (runs) | objective | proven gap | status |",
        "|---:|---:|---:|---:|---|",
    ]
    for r in sorted(cases, key=lambda r: r["mip_rel_gap"]):
        runs = ", ".join(f"{t:.1f}" for t in r["total_seconds"])
        lines.append(
            f"| {pct(r['mip_rel_gap'])} | {r['median_total_seconds']:.1f} ({runs}) | {_objective(r)} "
            f"| {pct(r['median_gap'])} | {', '.join(r['statuses'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the cases, write ``bench/results/bnssg.json`` and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", default=DEFAULT_SCENARIOS)
    parser.add_argument("--time-limit", type=float, default=None, help="override every scenario's time limit")
    parser.add_argument(
        "--shorter-limits",
        type=float,
        nargs="*",
        default=[10.0, 15.0, 20.0, 30.0],
        help="also solve the default at these limits",
    )
    parser.add_argument(
        "--looser-gaps", type=float, nargs="*", default=[0.05], help="also solve the default asking for these gaps"
    )
    args = parser.parse_args(argv)
    results = [run_case(name, args.runs, args.time_limit) for name in args.scenarios]
    limits = [run_case("default", args.runs, limit) for limit in args.shorter_limits]
    looser = [run_case("default", args.runs, args.time_limit, gap=gap) for gap in args.looser_gaps]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {"cases": results, "shorter_limits": limits, "looser_gaps": looser}
    RESULTS.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(markdown(results))
    whole = [r for r in results if r["scenario"] == "default"]  # the minute at 1%, the row both tables end on
    if limits:
        print("\nThe default scenario by time limit (plan and gap medians; demand unserved in the last run):\n")
        print(limits_markdown(limits + whole))
    if looser:
        print(
            "\nThe default scenario asked for a looser proof (HiGHS stops once its bound proves the hub search's plan"
            " within the gap; seconds of every run):\n"
        )
        print(gaps_markdown(looser + whole))
    return results


if __name__ == "__main__":
    main()
