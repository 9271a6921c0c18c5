"""The long-bound experiment (``bench/long_bound.py``) hands HiGHS the planner's own plan as its MIP start."""

from __future__ import annotations

import pytest

from bench.long_bound import plan_decisions
from geodata.dataset import load_dataset
from planner.api import solve_inputs
from planner.heuristic import _solve_fixed
from planner.inputs import build_inputs
from planner.model import build_model
from planner.scenario import load_scenario


def test_fixed_plan_is_the_plan_it_was_read_from() -> None:
    # the experiment's figures are only about HiGHS's bound if its start is the plan the planner returned
    dataset, scenario = load_dataset(), load_scenario("weston_option_a")
    inp = build_inputs(dataset, scenario)
    plan = solve_inputs(inp)
    m = build_model(inp)
    pairs = plan_decisions(m, plan)
    assert len(pairs) == 2 * len(m.HUBS) + len(m.popup_sessions) + len(m.mdt_sessions)
    routed = _solve_fixed(m, pairs, 30)
    assert plan.objective is not None and routed.objective is not None
    assert routed.objective == pytest.approx(plan.objective, rel=1e-6)
    assert not any(var.fixed for var, _ in pairs)
