"""Benchmark of the classic p-median against OR-Library optima and against spopt (PuLP + HiGHS).

Run from the project root with ``python -m bench.bench_classic`` (or ``python bench/bench_classic.py``); not part
of the test suite. Three parts:

(a) pmed1-pmed25: the published optimum is reproduced, median wall time of ``--repeats`` runs each;
(b) a seeded Euclidean instance (600 demand x 300 candidates, p = 30) solved by the planner and by spopt's
    ``PMedian.from_cost_matrix(...).solve(pulp.HiGHS())`` in this process: same optimum, median times, ratio;
(c) a couple of OR-Library instances against spopt in the same way.

Times are wall-clock seconds for building the model from the cost matrix plus solving it (reading files and
computing the cost matrix are excluded for both). Results go to ``bench/results/classic.json`` and a markdown
table is printed. ``--quick`` runs a small version (pmed1-pmed10, a 200 x 100 instance, pmed1 against spopt).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import cdist

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.classic import PMedian  # noqa: E402
from planner.orlib import read_optima, read_pmed  # noqa: E402

DEFAULT_ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib"
RESULTS = ROOT / "bench" / "results" / "classic.json"
FloatArray = npt.NDArray[np.float64]


def timed(fn: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    """Run ``fn`` ``repeats`` times; return its (last) objective and the wall times."""
    times: list[float] = []
    objective = float("nan")
    for _ in range(repeats):
        began = time.perf_counter()
        objective = fn()
        times.append(time.perf_counter() - began)
    return objective, times


def ours(cost: FloatArray, p: int, weights: FloatArray | None, time_limit: float) -> Callable[[], float]:
    """The planner's p-median as a benchmark closure returning the objective."""

    def run() -> float:
        result = PMedian.from_cost_matrix(cost, p_facilities=p, weights=weights).solve(time_limit=time_limit)
        if result.status != "optimal" or result.objective is None:
            raise RuntimeError(f"planner p-median did not prove optimality: {result.status} {result.message}")
        return float(result.objective)

    return run


def spopt_run(cost: FloatArray, p: int, weights: FloatArray | None) -> Callable[[], float]:
    """spopt's PMedian through PuLP's HiGHS interface as a benchmark closure returning the objective."""
    import pulp
    from spopt.locate import PMedian as SpoptPMedian

    w = np.ones(cost.shape[0]) if weights is None else weights

    def run() -> float:
        model = SpoptPMedian.from_cost_matrix(cost, w, p_facilities=p).solve(pulp.HiGHS(msg=False))
        return float(pulp.value(model.problem.objective))

    return run


def seeded_instance(seed: int, n: int, m: int) -> tuple[FloatArray, FloatArray]:
    """Uniform points in a 1000 x 1000 square, Euclidean costs, integer weights 1..9."""
    rng = np.random.default_rng(seed)
    cost = cdist(rng.uniform(0, 1000, (n, 2)), rng.uniform(0, 1000, (m, 2)))
    return cost, rng.integers(1, 10, n).astype(np.float64)


def compare(
    name: str, cost: FloatArray, p: int, weights: FloatArray | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Planner vs spopt on one instance."""
    obj_ours, t_ours = timed(ours(cost, p, weights, args.time_limit), args.repeats)
    obj_spopt, t_spopt = timed(spopt_run(cost, p, weights), args.spopt_repeats)
    med_ours, med_spopt = statistics.median(t_ours), statistics.median(t_spopt)
    row = {
        "instance": name,
        "shape": list(cost.shape),
        "p": p,
        "objective": obj_ours,
        "spopt_objective": obj_spopt,
        "same_optimum": bool(abs(obj_ours - obj_spopt) <= 1e-6 * max(1.0, abs(obj_spopt))),
        "seconds": t_ours,
        "spopt_seconds": t_spopt,
        "median_seconds": med_ours,
        "spopt_median_seconds": med_spopt,
        "speedup": med_spopt / med_ours,
    }
    print(f"  {name}: planner {med_ours:.3f}s, spopt {med_spopt:.3f}s, x{row['speedup']:.1f}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 if every optimum matched."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="runs per instance for the planner (median reported)")
    parser.add_argument("--spopt-repeats", type=int, default=1, help="runs per instance for spopt (slow: minutes)")
    parser.add_argument("--quick", action="store_true", help="small version for a smoke test")
    parser.add_argument("--no-spopt", action="store_true", help="skip the spopt comparisons")
    parser.add_argument("--orlib", type=Path, default=DEFAULT_ORLIB, help="folder holding pmed/ and cap/")
    parser.add_argument("--time-limit", type=float, default=300.0, help="planner time limit per solve")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.spopt_repeats < 1:
        parser.error("--repeats and --spopt-repeats must be at least 1")
    if args.quick:
        args.repeats = min(args.repeats, 2)
    pmed_dir = args.orlib / "pmed"
    if not pmed_dir.is_dir():
        parser.error(f"{pmed_dir}: no such folder (give --orlib)")

    optima = read_optima(pmed_dir / "optima.csv")
    names = [f"pmed{k}" for k in range(1, 11 if args.quick else 26)]
    print(f"(a) OR-Library p-median, {args.repeats} run(s) each", flush=True)
    pmed_rows: list[dict[str, Any]] = []
    for name in names:
        inst = read_pmed(pmed_dir / f"{name}.txt")
        objective, times = timed(ours(inst.cost, inst.p, None, args.time_limit), args.repeats)
        row = {
            "instance": name,
            "n": inst.n,
            "p": inst.p,
            "objective": objective,
            "optimum": optima[name],
            "ok": bool(abs(objective - optima[name]) <= 1e-6),
            "median_seconds": statistics.median(times),
            "seconds": times,
        }
        pmed_rows.append(row)
        print(
            f"  {name}: {objective:g} vs {optima[name]:g} {'ok' if row['ok'] else 'MISMATCH'} "
            f"{row['median_seconds']:.3f}s",
            flush=True,
        )

    seeded: list[dict[str, Any]] = []
    orlib_vs: list[dict[str, Any]] = []
    if not args.no_spopt:
        n, m, p = (200, 100, 10) if args.quick else (600, 300, 30)
        print(f"(b) seeded {n} x {m}, p={p}, planner vs spopt (PuLP + HiGHS)", flush=True)
        cost, weights = seeded_instance(0, n, m)
        seeded.append(compare(f"seeded-{n}x{m}-p{p}", cost, p, weights, args))
        print("(c) OR-Library, planner vs spopt", flush=True)
        for name in ["pmed1"] if args.quick else ["pmed1", "pmed6"]:
            inst = read_pmed(pmed_dir / f"{name}.txt")
            orlib_vs.append(compare(name, inst.cost, inst.p, None, args))

    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": bool(args.quick),
        "repeats": args.repeats,
        "spopt_repeats": args.spopt_repeats,
        "pmed": pmed_rows,
        "seeded_vs_spopt": seeded,
        "orlib_vs_spopt": orlib_vs,
        "pmed_total_median_seconds": sum(r["median_seconds"] for r in pmed_rows),
        "all_optima_reproduced": all(r["ok"] for r in pmed_rows) and all(r["same_optimum"] for r in seeded + orlib_vs),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    print("\n| instance | n | p | objective | optimum | ok | median s |")
    print("|---|---:|---:|---:|---:|:-:|---:|")
    for r in pmed_rows:
        print(
            f"| {r['instance']} | {r['n']} | {r['p']} | {r['objective']:g} | {r['optimum']:g} | "
            f"{'yes' if r['ok'] else 'NO'} | {r['median_seconds']:.3f} |"
        )
    if seeded or orlib_vs:
        print("\n| instance | shape | p | planner obj | spopt obj | same | planner s | spopt s | speed-up |")
        print("|---|---|---:|---:|---:|:-:|---:|---:|---:|")
        for r in seeded + orlib_vs:
            print(
                f"| {r['instance']} | {r['shape'][0]}x{r['shape'][1]} | {r['p']} | {r['objective']:.6g} | "
                f"{r['spopt_objective']:.6g} | {'yes' if r['same_optimum'] else 'NO'} | "
                f"{r['median_seconds']:.3f} | {r['spopt_median_seconds']:.3f} | {r['speedup']:.1f}x |"
            )
    print(f"\nresults written to {args.output}")
    return 0 if report["all_optima_reproduced"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
