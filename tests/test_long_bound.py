"""The long-bound experiment (``bench/long_bound.py``) hands HiGHS the planner's own plan as its MIP start."""

from __future__ import annotations

import pytest

from bench.long_bound import fix_plan
from geodata.dataset import load_dataset
from planner.api import solve_inputs
from planner.inputs import build_inputs
from planner.model import build_model
from planner.scenario import load_scenario
from planner.solver import SolverSettings, solve_pyomo


def test_fixed_plan_is_the_plan_it_was_read_from() -> None:
    # the experiment's figures are only about HiGHS's bound if its start is the plan the planner returned
    dataset, scenario = load_dataset(), load_scenario("weston_option_a")
    inp = build_inputs(dataset, scenario)
    plan = solve_inputs(inp)
    m = build_model(inp)
    fixed = fix_plan(m, plan)
    assert len(fixed) == 2 * len(m.HUBS) + len(m.popup_sessions) + len(m.mdt_sessions)
    routed = solve_pyomo(m, SolverSettings(time_limit=30))
    assert plan.objective is not None and routed.objective is not None
    assert routed.objective == pytest.approx(plan.objective, rel=1e-6)
    for var in fixed:
        var.unfix()
    assert not any(var.fixed for var in fixed)
