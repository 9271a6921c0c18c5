"""Experiment: how far HiGHS's bound on the whole of BNSSG moves given far more than a minute.

Plans the default scenario as the planner does (its time limit, the hub search beside HiGHS), then hands that plan
to HiGHS as a MIP start on the whole model, with or without the pop-up linking rows ``serve <= demand x sessions``
(:func:`planner.model.popup_linking_rows`), for ``--seconds`` more, to a 1% gap, and prints HiGHS's log (its bound
and incumbent over time) and a last line with the objective, bound and gap. Not part of ``bench.run``: a run takes
the time it is given, and the figures are in docs/benchmarks.md item 27.

Run: ``python -m bench.long_bound --seconds 1800 [--links]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pyomo.environ as pyo

from geodata.dataset import load_dataset
from planner.api import solve_scenario
from planner.heuristic import _solve_fixed
from planner.inputs import build_inputs
from planner.model import build_model, popup_linking_rows
from planner.plan import Plan
from planner.scenario import EVENING_SLOTS, load_scenario
from planner.solver import SolverSettings, solve_pyomo


def plan_decisions(m: pyo.ConcreteModel, plan: Plan) -> list[tuple[Any, float]]:
    """``plan``'s site decisions as ``(variable of m, value)`` pairs, for :func:`planner.heuristic._solve_fixed`."""
    sites = plan.sites  # indexed by site id
    slots = [f"popup_{t}" for t in EVENING_SLOTS if f"popup_{t}" in sites.columns]
    pairs: list[tuple[Any, float]] = []
    for sid in m.HUBS:
        pairs += [
            (m.hub_open[sid], float(sites.loc[sid, "hub_open"])),
            (m.hub_evening[sid], float(sites.loc[sid, "hub_evening"])),
        ]
    pairs += [(m.popup_sessions[sid], float(sites.loc[sid, slots].sum())) for sid in m.popup_sessions]
    pairs += [(m.mdt_sessions[sid, k], float(sites.loc[sid, f"mdt_{k}"])) for sid, k in m.mdt_sessions]
    return [(var, float(round(value))) for var, value in pairs]


def main(argv: list[str] | None = None) -> tuple[float | None, float | None]:
    """Plan the default, then give HiGHS ``--seconds`` from that plan; print and return the objective and bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1800.0, help="HiGHS's time from the plan (default 1800)")
    parser.add_argument("--links", action="store_true", help="add the pop-up linking rows to the model")
    args = parser.parse_args(argv)
    dataset, scenario = load_dataset(), load_scenario("default")
    plan = solve_scenario(scenario, dataset)
    print(f"the planner's plan: objective {plan.objective:,.0f}, bound {plan.bound:,.0f}, gap {plan.gap:.2%}")
    m = build_model(build_inputs(dataset, scenario))
    # the plan's allocation (an LP), left in m as the MIP start; the decisions are free again afterwards
    routed = _solve_fixed(m, plan_decisions(m, plan), 120)
    print(f"that plan in this model: {routed.objective:,.0f} ({routed.status})", flush=True)
    if args.links:
        m.popup_link = popup_linking_rows(m)
    began = time.perf_counter()
    settings = SolverSettings(time_limit=args.seconds, mip_rel_gap=0.01, verbose=True)
    out = solve_pyomo(m, settings, warm_start=True)
    print(
        f"links={args.links}: objective {out.objective}, bound {out.bound}, gap {out.gap}, status {out.status}, "
        f"{time.perf_counter() - began:.0f} s",
        flush=True,
    )
    return out.objective, out.bound


if __name__ == "__main__":
    main()
