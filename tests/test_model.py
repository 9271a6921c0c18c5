"""The planning model: known answers, invariants on solved plans, infeasibility messages, formulation snapshot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from toy import tiny_inputs

from planner.api import solve_inputs
from planner.errors import ModelInputError
from planner.inputs import build_inputs, select_arcs
from planner.invariants import plan_violations
from planner.model import build_model
from planner.plan import Plan
from planner.scenario import Scenario, load_scenario
from planner.solver import SolverSettings, SolveStatus, solve_pyomo
from planner.tradeoffs import carry_better_plans_up

SNAPSHOTS = Path(__file__).parent / "snapshots"


def tiny_scenario(**changes: object) -> Scenario:
    base = {
        "name": "tiny",
        "hubs": {"fixed_cost": 100.0, "evening_cost": 0.0, "capacity_day": 100, "capacity_evening": 100},
        "popups": {"enabled": False},
        "mdt": {"enabled": False},
        "budget": {"annual": 100.0},
        "solver": {"mip_rel_gap": 0.0},
    }
    return Scenario(name="tiny").with_changes(base).with_changes(changes)


def test_known_answer_one_hub_minimises_travel() -> None:
    # Budget buys one hub. S1: 10*5 + 4*5 + 6*30 = 250; S2: 10*20 + 4*20 + 6*10 = 340.
    sc = tiny_scenario()
    plan = solve_inputs(tiny_inputs(sc))
    assert plan.status is SolveStatus.OPTIMAL
    assert plan.objective == pytest.approx(250.0)
    assert list(plan.sites.index[plan.sites["hub_open"]]) == ["gp:S1"]
    assert plan.sites.at["gp:S1", "hub_evening"]


def test_known_answer_travel_limit_changes_the_choice() -> None:
    # With a 25-minute limit B cannot reach S1: S1 costs 50 + 20 + 6*120 = 790, S2 costs 340.
    sc = tiny_scenario(travel={"max_minutes": 25})
    plan = solve_inputs(tiny_inputs(sc, max_minutes=25))
    assert plan.objective == pytest.approx(340.0)
    assert list(plan.sites.index[plan.sites["hub_open"]]) == ["gp:S2"]
    assert plan.kpis["unmet_share"] == pytest.approx(0.0)


def test_known_answer_two_hubs_when_affordable() -> None:
    # Both hubs: A uses S1 (50 + 20), B uses S2 (60) = 130.
    plan = solve_inputs(tiny_inputs(tiny_scenario(budget={"annual": 200.0})))
    assert plan.objective == pytest.approx(130.0)
    assert plan.kpis["hubs_open"] == 2
    assert plan.kpis["mean_minutes"] == pytest.approx(130.0 / 20.0)


def test_headline_shares_within_20_and_30_minutes_whatever_the_scenarios_thresholds() -> None:
    # One hub at S1: A (10 contacts) and B (4) travel 5 minutes, C (6) 30 minutes.
    plan = solve_inputs(tiny_inputs(tiny_scenario(travel={"thresholds": [10, 25]})))
    k = plan.kpis
    assert (k["within_10_all"], k["within_25_all"]) == (pytest.approx(0.7), pytest.approx(0.7))
    assert (k["within_20_all"], k["within_30_all"]) == (pytest.approx(0.7), pytest.approx(1.0))
    assert "within_15_all" not in k


def test_costs_of_closed_sites_are_zero_not_minus_zero() -> None:
    import math

    import pyomo.environ as pyo

    from planner.plan import extract_costs

    m = pyo.ConcreteModel()
    m.closed = pyo.Var(initialize=-0.0)  # as HiGHS returns some binaries at zero
    for part in ("cost_hubs", "cost_evening", "cost_popups", "cost_mdt"):
        m.add_component(part, pyo.Expression(expr=150_000 * m.closed))
    costs = extract_costs(m)
    assert all(v == 0 and math.copysign(1.0, v) == 1.0 for v in costs.values()), costs


def test_capacity_splits_demand_between_hubs() -> None:
    # Daytime capacity 8: A's 10 daytime contacts need both hubs (8 at S1, 2 at S2).
    sc = tiny_scenario(budget={"annual": 200.0}, hubs={"capacity_day": 8})
    plan = solve_inputs(tiny_inputs(sc))
    a = plan.allocation
    day_a = a[(a["zone_code"] == "A") & (a["service"] == "hub_day")].set_index("site_id")["contacts"]
    assert day_a["gp:S1"] == pytest.approx(8.0)
    assert day_a["gp:S2"] == pytest.approx(2.0)
    # B's 6 contacts: S2 has 6 left after A's 2, so all 6 fit there.
    assert plan.objective == pytest.approx(8 * 5 + 2 * 20 + 4 * 5 + 6 * 10)


def test_evening_gap_when_evening_opening_is_unaffordable() -> None:
    sc = tiny_scenario(hubs={"evening_cost": 50.0})
    plan = solve_inputs(tiny_inputs(sc))
    assert plan.kpis["evening_gap_contacts"] == pytest.approx(4.0)
    assert plan.kpis["evening_gap_share"] == pytest.approx(1.0)
    assert plan.objective == pytest.approx(10 * 5 + 6 * 30 + 4 * 240)


@pytest.mark.parametrize(
    "changes",
    [
        {"budget": {"annual": 900_000}},
        {"budget": {"annual": 2_000_000}, "weights": {"equity": 1.0}},
        {"budget": {"annual": 3_000_000}, "popups": {"enabled": False}},
        {"budget": {"annual": None}, "hubs": {"exact_hubs": 3}},
        {"budget": {"annual": 1_500_000}, "sites": {"fixed_open": ["hospital:h"], "closed": ["gp:A"]}},
        {"budget": {"annual": 2_500_000}, "travel": {"mode": "car", "max_minutes": 12}, "demand": {"year": 2040}},
        {"budget": {"annual": 2_500_000}, "popups": {"slots": ["saturday"]}, "mdt": {"workforce": {"diabetes": 1}}},
    ],
    ids=["tight", "equity", "no-popups", "exact-3", "fixed-closed", "car-2040", "saturday-only"],
)
def test_invariants_hold_on_every_toy_plan(toy: object, changes: dict[str, object]) -> None:
    sc = Scenario(name="toy").with_changes(changes)
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    assert plan.has_solution, plan.message
    assert plan_violations(plan, inp) == []
    assert plan.gap is not None and plan.gap <= sc.solver.mip_rel_gap + 1e-9


def test_a_slower_evening_lengthens_every_evening_trip_and_no_daytime_one(toy: object) -> None:
    """``travel.evening_factor`` (evening buses run less often): evening minutes scale, daytime ones do not, and an
    evening trip pushed past the travel limit is no longer an evening arc."""
    base = build_inputs(toy, Scenario(name="toy"))  # type: ignore[arg-type]
    slow = build_inputs(toy, Scenario(name="toy").with_changes({"travel": {"evening_factor": 2.0}}))  # type: ignore[arg-type]
    assert (slow.travel["minutes_evening"] == 2.0 * base.travel["minutes_evening"]).all()
    assert (slow.travel["minutes_day"] == base.travel["minutes_day"]).all()
    limit = slow.scenario.travel.max_minutes
    evening = slow.arcs[slow.arcs["popup"] | slow.arcs["hub_evening"]]
    assert (evening["minutes_evening"] <= limit).all()
    assert len(evening) < len(base.arcs[base.arcs["popup"] | base.arcs["hub_evening"]])


def _one_zone_venues() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One zone and five pop-up venues: a and b 300 m apart, c and d 200 m apart 3 km away, e 8 km away."""
    north = {"a": 0.0, "b": 300.0, "c": 3000.0, "d": 3200.0, "e": 8000.0}
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        [360_000.0] * 5, [170_000 + n for n in north.values()]
    )
    sites = pd.DataFrame(
        {"lon": lon, "lat": lat, "is_hub": False, "is_popup": True, "is_mdt": False, "fixed_open": False},
        index=pd.Index(list(north), name="site_id"),
    )
    minutes = [5.0, 6.0, 10.0, 11.0, 20.0]
    travel = pd.DataFrame(
        {"zone_code": "Z", "site_id": list(north), "minutes_day": minutes, "minutes_evening": minutes}
    )
    return travel, sites


@pytest.mark.parametrize(
    ("places", "metres", "expected"),
    [
        (2, 800.0, {"a", "c"}),
        (3, 800.0, {"a", "c", "e"}),
        (9, 800.0, {"a", "c", "e"}),
        (2, 0.0, {"a", "b"}),
        (2, 100.0, {"a", "b"}),
        (3, 250.0, {"a", "b", "c"}),
    ],
)
def test_a_zone_gets_its_nearest_venue_in_each_of_its_nearest_places(
    places: int, metres: float, expected: set[str]
) -> None:
    """Venues closer together than ``popup_place_metres`` are one place: the zone gets only the nearer."""
    travel, sites = _one_zone_venues()
    sc = Scenario(name="t").with_changes({"travel": {"nearest_popups": places, "popup_place_metres": metres}})
    arcs = select_arcs(travel, sites, sc)
    assert set(arcs.loc[arcs["popup"], "site_id"]) == expected


def test_every_zone_reaches_separate_places_on_the_real_data(bnssg: object) -> None:
    """On the BNSSG dataset: no zone's pop-up venues are within 800 m of each other, and each zone has its ten
    places wherever ten lie within the travel limit."""
    inp = build_inputs(bnssg, load_scenario("default"))  # type: ignore[arg-type]
    east, north = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        inp.sites["lon"].to_numpy(), inp.sites["lat"].to_numpy()
    )
    where = pd.DataFrame({"e": east, "n": north}, index=inp.sites.index)
    popup = inp.arcs.loc[inp.arcs["popup"]].join(where, on="site_id")
    closest = []
    for _zone, g in popup.groupby("zone_code"):
        d = np.hypot(g["e"].to_numpy()[:, None] - g["e"].to_numpy(), g["n"].to_numpy()[:, None] - g["n"].to_numpy())
        np.fill_diagonal(d, np.inf)
        closest.append(d.min())
    assert min(closest) >= 800.0
    # A zone with fewer than ten places has no other venue in reach that is not within 800 m of one it uses.
    counts = popup.groupby("zone_code").size()
    assert counts.max() == 10
    venues = inp.sites.index[inp.sites["is_popup"]]
    limit = inp.scenario.travel.max_minutes
    reach = inp.travel.loc[inp.travel["site_id"].isin(venues) & (inp.travel["minutes_evening"] <= limit)]
    for zone in counts.index[counts < 10]:
        used = where.loc[popup.loc[popup["zone_code"] == zone, "site_id"]].to_numpy()
        other = where.loc[reach.loc[reach["zone_code"] == zone, "site_id"]].to_numpy()
        d = np.hypot(other[:, None, 0] - used[:, 0], other[:, None, 1] - used[:, 1])
        assert (d.min(axis=1) < 800.0).all(), zone


@pytest.mark.slow
def test_places_give_woodspring_villages_a_better_evening_plan(bnssg: object) -> None:
    """Woodspring's six nearest venues are often all in a zone's own village, where a session finds too little
    demand to fill it: the nearest venue in each of ten places leaves less of its evening-only demand unserved and
    gives a better plan than the six nearest venues did."""
    sc = load_scenario("default").with_changes({"localities": ["Woodspring"], "budget": {"annual": 300_000}})
    near = sc.with_changes({"travel": {"nearest_popups": 6, "popup_place_metres": 0}})
    plans = {}
    for name, scenario in (("places", sc), ("nearest", near)):
        inp = build_inputs(bnssg, scenario)  # type: ignore[arg-type]
        plans[name] = solve_inputs(inp)
        assert plans[name].gap is not None and plans[name].gap <= 0.01 + 1e-9
        assert plan_violations(plans[name], inp) == []
    assert plans["places"].objective < 0.95 * plans["nearest"].objective  # measured: 18,810 against 20,449
    assert plans["places"].kpis["evening_gap_share"] < plans["nearest"].kpis["evening_gap_share"] - 0.05


def test_more_budget_never_worsens_access(toy: object) -> None:
    objectives = []
    for budget in (800_000, 1_600_000, 2_400_000):
        sc = Scenario(name="toy").with_changes({"budget": {"annual": budget}, "solver": {"mip_rel_gap": 0.0}})
        objectives.append(solve_inputs(build_inputs(toy, sc)).objective)  # type: ignore[arg-type]
    assert objectives[0] >= objectives[1] >= objectives[2]


def test_frontier_carries_a_better_plan_from_a_smaller_budget_up() -> None:
    # A solve stopped at its gap or time limit can return a worse plan for a larger budget; the smaller budget's
    # plan fits the larger budget too, so the frontier uses it, with the gap against the larger budget's own bound.
    def plan(status: SolveStatus, objective: float | None, bound: float | None, cost: float) -> Plan:
        gap = None if objective is None or bound is None else (objective - bound) / objective
        return Plan("p", status, objective=objective, bound=bound, gap=gap, costs={"total": cost})

    points = [
        (600.0, plan(SolveStatus.TIME_LIMIT, 105.0, 90.0, 590.0)),  # worse than the £400 plan
        (400.0, plan(SolveStatus.OPTIMAL, 100.0, 99.5, 390.0)),
        (200.0, plan(SolveStatus.INFEASIBLE, None, None, 0.0)),
        (None, plan(SolveStatus.NO_SOLUTION, None, 80.0, 0.0)),  # stopped before finding a plan
        (800.0, plan(SolveStatus.OPTIMAL, 95.0, 94.5, 790.0)),
    ]
    out = carry_better_plans_up(points)
    assert [b for b, _ in out] == [b for b, _ in points]  # same order
    carried = out[0][1]
    assert carried.objective == 100.0 and carried.costs["total"] == 390.0 <= 600.0
    assert carried.status is SolveStatus.TIME_LIMIT and carried.bound == 90.0
    assert carried.gap == pytest.approx(0.10)
    assert "£400" in carried.message
    assert out[1][1] is points[1][1] and out[4][1] is points[4][1]  # already the best at their budgets
    assert out[2][1].status is SolveStatus.INFEASIBLE  # an infeasible point still says why
    assert out[3][1].objective == 95.0 and out[3][1].status is SolveStatus.TIME_LIMIT
    assert out[3][1].gap == pytest.approx((95.0 - 80.0) / 95.0)
    objectives = [p.objective for b, p in sorted(out, key=lambda bp: bp[0] or 1e18) if p.has_solution]
    assert objectives == sorted(objectives, reverse=True)


def test_budget_below_core_hubs_is_caught_before_solving(toy: object) -> None:
    sc = Scenario(name="toy").with_changes({"budget": {"annual": 200_000}})
    plan = solve_inputs(build_inputs(toy, sc))  # type: ignore[arg-type]
    assert plan.status is SolveStatus.INFEASIBLE
    assert "budget £200,000 a year is below £360,000" in plan.message
    assert "short by £160,000" in plan.message
    assert "the 2 hubs that the core offer and fixed-open sites require" in plan.message
    assert plan.violations[0]["requirement"] == "budget"
    assert plan.violations[0]["shortfall"] == pytest.approx(160_000)


def test_locality_without_hub_candidates_is_named(toy: object) -> None:
    closed = ["gp:A", "gp:B", "library:l"]  # every hub candidate in the west (South Bristol) half
    sc = Scenario(name="toy").with_changes({"sites": {"closed": closed}})
    plan = solve_inputs(build_inputs(toy, sc))  # type: ignore[arg-type]
    assert plan.status is SolveStatus.INFEASIBLE
    assert "locality 'South Bristol' needs 1 core hub(s) but has only 0" in plan.message


def test_infeasible_solve_says_which_requirement_and_by_how_much() -> None:
    # Full coverage within 25 minutes needs S2 (B cannot reach S1) and S1 is fixed open: two hubs, budget for one.
    sc = tiny_scenario(
        travel={"max_minutes": 25},
        requirements={"full_coverage": True},
        sites={"fixed_open": ["gp:S1"]},
        budget={"annual": 150.0},
    )
    plan = solve_inputs(tiny_inputs(sc, max_minutes=25))
    assert plan.status is SolveStatus.INFEASIBLE
    assert plan.violations, plan.message
    found = {v["requirement"]: v for v in plan.violations}
    # Two repairs: £50 more budget (open both hubs), or leave B's 6 daytime contacts unserved.
    assert found["budget"]["shortfall"] == pytest.approx(50.0)
    assert found["coverage_day"]["shortfall"] == pytest.approx(6.0)
    assert "£50 short" in plan.message
    assert "6.0 daytime contacts a week cannot be served within 25 minutes" in plan.message
    # two alternatives, each proven by its check
    assert found["budget"]["repair"] != found["coverage_day"]["repair"]
    assert found["budget"]["proven"] and found["coverage_day"]["proven"]
    assert "any one of these repairs would:" in plan.message and "; or " in plan.message
    assert "at most" not in plan.message


def test_a_check_stopped_by_its_time_limit_reports_its_shortfall_as_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import planner.api as api
    from planner import appkit

    real = api.solve_pyomo

    def stopped(m: object, settings: SolverSettings, **kw: object) -> object:
        out = real(m, settings, **kw)  # type: ignore[arg-type]
        # the slack found, as if the solver had not proven it least
        return dataclasses.replace(out, status=SolveStatus.TIME_LIMIT) if out.status.has_solution else out

    sc = tiny_scenario(
        travel={"max_minutes": 25},
        requirements={"full_coverage": True},
        sites={"fixed_open": ["gp:S1"]},
        budget={"annual": 150.0},
    )
    inp = tiny_inputs(sc, max_minutes=25)
    monkeypatch.setattr(api, "solve_pyomo", stopped)
    found = api.diagnose_infeasible(inp)
    assert found and not any(v.proven for v in found)
    message = api.repair_message(found)
    assert "is at most £50 short" in message and "at most 6.0 daytime contacts" in message
    assert message.count("(its check stopped at the time limit: less may do)") == 2
    plan = Plan(scenario_name="tiny", status=SolveStatus.INFEASIBLE, message=message,
                violations=api._violation_dicts(found))  # fmt: skip
    assert any("by up to £50" in tip for tip in appkit.advice(plan, sc))


@pytest.mark.slow
def test_shortfalls_needed_together_are_one_repair_on_real_data() -> None:
    from geodata.dataset import load_dataset
    from planner.api import diagnose_infeasible, repair_message
    from planner.scenario import load_scenario

    # South Bristol's pioneer offer with full coverage: budget alone cannot fix it; relaxing coverage leaves both
    # daytime contacts and MDT reviews unserved, and only the two together restore feasibility.
    sc = load_scenario("south_bristol_pioneer").with_changes({"requirements": {"full_coverage": True}})
    found = diagnose_infeasible(build_inputs(load_dataset(), sc), time_limit=120)
    by = {v.requirement: v for v in found}
    assert set(by) == {"coverage_day", "coverage_mdt"}
    assert by["coverage_day"].repair == by["coverage_mdt"].repair and all(v.proven for v in found)
    assert by["coverage_day"].shortfall == pytest.approx(98.9, abs=0.1)
    message = repair_message(found)
    assert message.startswith("no plan meets every hard requirement; this repair would: ")
    assert " daytime contacts a week cannot be served" in message and " and 0.6 MDT reviews a week" in message
    assert "; or " not in message


def test_a_fixed_open_site_must_be_able_to_hold_a_hub(bnssg: object) -> None:
    sc = Scenario(name="fx").with_changes({"localities": ["South Bristol"]})
    with pytest.raises(ModelInputError, match=r"'sites.fixed_open': site 'school:108896' \(Ilminster Avenue Nursery "
                       r"School, a school\) cannot be a hub \(can_hub is false"):  # fmt: skip
        build_inputs(bnssg, sc.with_changes({"sites": {"fixed_open": ["school:108896"]}}))  # type: ignore[arg-type]
    # a library can hold a hub: fixing one open overrides the scenario's hub kinds (gp, hospital)
    sites = bnssg.sites  # type: ignore[attr-defined]
    library = sites.index[(sites["kind"] == "library") & (sites["locality"] == "South Bristol")][0]
    inp = build_inputs(bnssg, sc.with_changes({"sites": {"fixed_open": [library], "hub_kinds": ["gp"]}}))  # type: ignore[arg-type]
    assert inp.sites.at[library, "is_hub"] and inp.sites.at[library, "fixed_open"]


def test_unknown_site_id_is_a_clear_error(toy: object) -> None:
    sc = Scenario(name="toy").with_changes({"sites": {"fixed_open": ["gp:NOPE"]}})
    with pytest.raises(ModelInputError, match=r"field 'sites.fixed_open': unknown site id 'gp:NOPE'"):
        build_inputs(toy, sc)  # type: ignore[arg-type]


def test_an_input_error_names_the_scenario_file(toy: object, tmp_path: Path) -> None:
    """A site id the dataset lacks is found only when the inputs are built, after every change a planner made; the
    error still names the file the scenario came from, its field and the value."""
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nsites: {fixed_open: ['gp:NOPE']}\n")
    sc = load_scenario(path)
    assert sc.source == str(path)
    changed = sc.with_changes({"budget": {"annual": 2_000_000}})
    assert changed.source == str(path) and changed == Scenario(**changed.model_dump())  # the source is not content
    expected = rf"^{re.escape(str(path))}: scenario 'mine', field 'sites.fixed_open': unknown site id 'gp:NOPE'"
    with pytest.raises(ModelInputError, match=expected):
        build_inputs(toy, changed)  # type: ignore[arg-type]


def test_unknown_locality_is_a_clear_error(toy: object) -> None:
    sc = Scenario(name="toy").with_changes({"localities": ["Atlantis"]})
    with pytest.raises(ModelInputError, match=r"field 'localities': unknown locality 'Atlantis'"):
        build_inputs(toy, sc)  # type: ignore[arg-type]


def test_formulation_snapshot(tmp_path: Path) -> None:
    """The LP of a fixed tiny instance matches the stored one; set UPDATE_SNAPSHOTS=1 to accept a deliberate change."""
    sc = tiny_scenario(
        popups={"enabled": True},
        mdt={"enabled": True},
        requirements={"full_evening_coverage": True},
        hubs={"max_hubs": 2},
    )
    inp = tiny_inputs(sc)
    m = build_model(inp)  # type: ignore[arg-type]
    path = tmp_path / "tiny.lp"
    m.write(str(path), io_options={"symbolic_solver_labels": True})
    text = path.read_text()
    stored = SNAPSHOTS / "tiny_model.lp"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not stored.exists():
        stored.parent.mkdir(exist_ok=True)
        stored.write_text(text)
    assert text == stored.read_text(), "formulation changed: review the diff, then rerun with UPDATE_SNAPSHOTS=1"


def assert_feasible(m: object) -> None:
    """Every integer variable of the solved model ``m`` is whole (to the solver's tolerance) and every constraint
    holds."""
    import pyomo.environ as pyo

    for var in m.component_data_objects(pyo.Var):  # type: ignore[attr-defined]
        if var.is_integer() or var.is_binary():
            assert abs(var.value - round(var.value)) <= 1e-6, var.name
    for con in m.component_data_objects(pyo.Constraint, active=True):  # type: ignore[attr-defined]
        body = pyo.value(con.body)
        assert con.lower is None or body >= pyo.value(con.lower) - 1e-6, con.name
        assert con.upper is None or body <= pyo.value(con.upper) + 1e-6, con.name


@pytest.mark.parametrize(
    "changes",
    [
        {"budget": {"annual": 1_200_000}},
        {"budget": {"annual": 2_500_000}, "popups": {"slots": ["saturday"]}, "mdt": {"workforce": {"diabetes": 1}}},
        {"budget": {"annual": None}, "hubs": {"exact_hubs": 3}},
    ],
    ids=["tight", "saturday-only", "exact-3"],
)
def test_hub_search_gives_a_feasible_start_between_the_lp_bound_and_the_optimum(toy: object, changes: dict) -> None:
    import pyomo.environ as pyo

    from planner.api import copy_solution
    from planner.heuristic import hub_search_start

    sc = Scenario(name="toy").with_changes({**changes, "solver": {"mip_rel_gap": 0.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    start = hub_search_start(inp, time_limit=20.0)  # at least QUICK_BELOW_SECONDS: the LP and the search
    assert start is not None
    assert start.evaluations >= 1
    m = build_model(inp)
    copy_solution(start.model, m)
    assert pyo.value(m.objective) == pytest.approx(start.objective, rel=1e-6)
    assert {s for s in m.HUBS if m.hub_open[s].value > 0.5} == set(start.hubs)
    assert_feasible(m)
    optimum = solve_inputs(inp).objective
    assert optimum is not None
    assert start.lp_bound is not None
    assert start.lp_bound <= optimum + 1e-6 <= pyo.value(m.objective) + 2e-6


def test_a_search_too_short_for_its_lp_plans_the_core_offers_hubs_and_their_sessions(toy: object) -> None:
    """Under ``QUICK_COMPARE_MIN_SECONDS`` the hub search skips its LP and search: the core offer's hubs, with the
    best sessions a MIP finds for them, a feasible plan sent as soon as it is found (whole BNSSG at 10 s: 116,981
    where HiGHS alone had 206,559)."""
    import pyomo.environ as pyo

    from planner.api import copy_solution
    from planner.heuristic import QUICK_COMPARE_MIN_SECONDS, core_offer_hubs, hub_search_start

    sc = Scenario(name="toy").with_changes({"budget": {"annual": 2_500_000}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    sent: list[float] = []
    start = hub_search_start(inp, time_limit=QUICK_COMPARE_MIN_SECONDS - 1, on_plan=lambda w: sent.append(w.objective))
    assert start is not None and sent == [start.objective]
    assert start.evaluations == 0 and start.lp_bound is None and not start.evening
    assert start.hubs == core_offer_hubs(inp) and len(start.hubs) == inp.zones["locality"].nunique()
    m = build_model(inp)
    copy_solution(start.model, m)
    assert pyo.value(m.objective) == pytest.approx(start.objective, rel=1e-6)
    assert {s for s in m.HUBS if m.hub_open[s].value > 0.5} == set(start.hubs)
    assert sum(v.value for v in m.popup_sessions.values()) > 0  # the budget left after the hubs buys sessions
    assert_feasible(m)
    # the sessions are the best for those hubs: the optimum with the hubs fixed, within the MIP's gap
    for s in m.HUBS:
        m.hub_open[s].fix(1.0 if s in start.hubs else 0.0)
        m.hub_evening[s].fix(0.0)
    best = solve_pyomo(m, SolverSettings(mip_rel_gap=0.0))
    assert best.objective is not None and start.objective <= best.objective * 1.005 + 1e-6


@pytest.mark.parametrize(
    ("capacity_day", "budget"), [(2000.0, 750_000), (220.0, 2_500_000)], ids=["hubs-ample", "hubs-scarce"]
)
def test_with_a_few_seconds_more_the_quick_path_takes_the_hubs_the_restricted_lp_scores_best(
    toy: object, capacity_day: float, budget: int
) -> None:
    """From ``QUICK_COMPARE_MIN_SECONDS`` the quick path compares the core offer with one or two hubs more, placed by
    their daytime service, on the LP restricted to each plan's hubs, and plans the sessions of the best (whole BNSSG
    at 12 s: 102,560 where the core offer's hubs gave 116,981). Where daytime capacity is scarce and the budget
    ample, more hubs pay; where the core offer's hubs hold the daytime demand and the budget is tight, the pop-up
    sessions another hub would cost are worth more, and the core offer stands."""
    import pyomo.environ as pyo

    from planner.api import copy_solution
    from planner.heuristic import (
        QUICK_BELOW_SECONDS,
        QUICK_BELOW_SECONDS_BESIDE_HIGHS,
        QUICK_COMPARE_MIN_SECONDS,
        _restricted_lp,
        core_offer_hubs,
        daytime_plans,
        hub_search_start,
        locality_seconds,
    )

    sc = Scenario(name="toy").with_changes({"budget": {"annual": budget}, "hubs": {"capacity_day": capacity_day}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    core = core_offer_hubs(inp)
    assert core is not None
    plans = [core, *daytime_plans(inp, core, seconds=30.0)]
    assert len(plans) == 3
    scores = {p: _restricted_lp(inp, p, 30.0) for p in plans}
    best = min(plans, key=lambda p: (scores[p], len(p)))
    assert (best != core) == (capacity_day == 220.0)
    seconds = QUICK_COMPARE_MIN_SECONDS + 0.5
    assert locality_seconds(inp, seconds) == 0  # no locality pass after the sessions MIP: its hubs are returned
    start = hub_search_start(inp, time_limit=seconds)
    assert start is not None and start.lp_bound is None and not start.evening
    assert start.hubs == best and start.evaluations == 3
    m = build_model(inp)
    copy_solution(start.model, m)
    assert_feasible(m)
    assert pyo.value(m.objective) == pytest.approx(start.objective, rel=1e-6)
    # Beside HiGHS (whose threads slow its LP) the search takes this path up to a longer limit than on its own.
    between = (QUICK_BELOW_SECONDS + QUICK_BELOW_SECONDS_BESIDE_HIGHS) / 2
    alone = hub_search_start(inp, time_limit=between)
    beside = hub_search_start(inp, time_limit=between, beside_highs=True)
    assert alone is not None and alone.evaluations >= 1 and alone.lp_bound is not None
    # beside HiGHS: the same comparison, then the locality pass, which only keeps what improves the plan
    assert locality_seconds(inp, between) > 0
    assert beside is not None and beside.lp_bound is None and beside.evaluations == 3
    assert beside.objective <= start.objective * 1.005 + 1e-6


def test_restricting_to_the_chosen_hubs_keeps_their_optimum(toy: object) -> None:
    """The heuristic scores a hub plan on the inputs restricted to its hubs: same optimum as fixing them."""
    from planner.heuristic import restrict_to_hubs

    # One pop-up venue per zone: pop-up sessions at a closed hub candidate still reach more zones by its evening arcs.
    sc = Scenario(name="toy").with_changes(
        {"budget": {"annual": 2_500_000}, "travel": {"nearest_popups": 1}, "solver": {"mip_rel_gap": 0.0}}
    )
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    candidates = inp.sites.loc[inp.sites["is_hub"]]
    hubs = sorted(candidates.groupby("locality").head(1).index)  # a core hub in each locality
    evening = hubs[:1]
    full = build_model(inp)
    for s in full.HUBS:
        full.hub_open[s].fix(1.0 if s in hubs else 0.0)
        full.hub_evening[s].fix(1.0 if s in evening else 0.0)
    small = build_model(restrict_to_hubs(inp, set(hubs), set(evening)))
    for s in small.HUBS:
        small.hub_open[s].fix(1.0)
        small.hub_evening[s].fix(1.0 if s in evening else 0.0)
    assert len(small.HUBS) == 2
    # Every evening arc that can carry service with these hubs is kept (pop-ups at any venue, evening hubs).
    popup = set(inp.sites.index[inp.sites["is_popup"]])
    usable = {(z, s) for z, s in full.EVENING_ARCS if s in popup or s in evening}
    assert set(small.EVENING_ARCS) == usable
    settings = SolverSettings(mip_rel_gap=0.0)
    a, b = solve_pyomo(full, settings), solve_pyomo(small, settings)
    assert a.status is SolveStatus.OPTIMAL and b.status is SolveStatus.OPTIMAL
    assert b.objective == pytest.approx(a.objective, rel=1e-7)


def test_hub_plan_scores_on_one_lp_equal_the_lp_of_the_restricted_model(toy: object) -> None:
    """The search scores hub plans one after another on one warm HiGHS instance: each score must be the LP of the
    model restricted to that plan's hubs, whatever plan came before it."""
    import itertools

    import pyomo.environ as pyo

    from planner.heuristic import _LPScorer, restrict_to_hubs

    sc = Scenario(name="toy").with_changes({"budget": {"annual": 2_500_000}, "solver": {"mip_rel_gap": 0.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    lp = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
    score = _LPScorer(lp)
    candidates = list(inp.sites.index[inp.sites["is_hub"]])
    plans = [frozenset(c) for c in itertools.combinations(candidates, 2)][:4]
    compared = 0
    for hubs, evening in [(plans[0], frozenset()), (plans[1], plans[1]), (plans[2], frozenset()), (plans[0], plans[0])]:
        small = build_model(restrict_to_hubs(inp, hubs, evening))
        for s in small.HUBS:
            small.hub_open[s].fix(1.0)
            small.hub_evening[s].fix(1.0 if s in evening else 0.0)
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(small)
        expected = solve_pyomo(small, SolverSettings(mip_rel_gap=0.0))
        if expected.status is not SolveStatus.OPTIMAL:  # a plan that breaks a hub rule: no score either
            assert score((hubs, evening), 30.0) == float("inf")
            continue
        assert score((hubs, evening), 30.0) == pytest.approx(expected.objective, rel=1e-7)
        compared += 1
    assert compared >= 2


def test_background_hub_search_hands_back_a_plan_the_full_model_accepts(toy: object) -> None:
    """The search run in a second process sends its plan as plain values; loaded into the full model they give the
    same objective and break no constraint."""
    import time

    import pyomo.environ as pyo

    from planner.api import load_values
    from planner.heuristic import BackgroundHubSearch

    sc = Scenario(name="toy").with_changes({"budget": {"annual": 1_200_000}, "solver": {"mip_rel_gap": 0.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    search = BackgroundHubSearch(inp, deadline=time.time() + 20.0)
    waited = time.time()
    while search.newest() is None and time.time() < waited + 90.0:  # its first plan comes before its last
        time.sleep(0.2)
    interim = search.newest()
    found = search.result(timeout=90.0)
    assert found is not None, search.error
    assert interim is not None and found.objective <= interim[0] + 1e-6
    m = build_model(inp)
    load_values(m, interim[1])
    assert pyo.value(m.objective) == pytest.approx(interim[0], rel=1e-6)
    assert_feasible(m)
    load_values(m, found.values)
    assert pyo.value(m.objective) == pytest.approx(found.objective, rel=1e-6)
    assert {s for s in m.HUBS if m.hub_open[s].value > 0.5} == set(found.hubs)
    assert_feasible(m)
    optimum = solve_inputs(inp).objective
    assert optimum is not None and found.lp_bound is not None
    assert found.lp_bound <= optimum + 1e-6 <= found.objective + 2e-6


def test_background_hub_search_reports_its_failure_instead_of_a_plan() -> None:
    import time

    from planner.heuristic import BackgroundHubSearch

    search = BackgroundHubSearch("not model inputs", deadline=time.time() + 5.0)  # type: ignore[arg-type]
    assert search.result(timeout=60.0) is None
    assert search.error is not None and "AttributeError" in search.error


def test_background_hub_search_works_from_a_script_without_a_main_guard(tmp_path: Path) -> None:
    """A short script that calls the planner at top level, with no ``if __name__ == "__main__":`` guard, still gets
    the hub search's plan: the spawned search process must not re-run the script (it used to, multiprocessing
    refused the nested start, and the search was lost)."""
    import subprocess
    import sys
    import textwrap

    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "plan_it.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            sys.path.insert(0, {str(root / "tests")!r})
            from toy import toy_dataset
            from planner.heuristic import BackgroundHubSearch
            from planner.inputs import build_inputs
            from planner.scenario import Scenario
            inp = build_inputs(toy_dataset(), Scenario(name="toy").with_changes({{"budget": {{"annual": 1200000}}}}))
            search = BackgroundHubSearch(inp, deadline=time.time() + 10.0)
            found = search.result(timeout=90.0)
            print("FOUND" if found is not None else f"NOTHING: {{search.error}}")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "FOUND", run.stdout + run.stderr
    assert "RuntimeError" not in run.stderr


def test_plan_from_the_background_search_is_kept_when_highs_has_none(
    toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When HiGHS stops without a plan, the hub search's plan (from the second process) is the answer, with the
    time-limit status, a gap against the search's LP bound, and every invariant held."""
    import dataclasses

    import planner.api as api
    from planner.solver import SolverOutcome

    real = api.solve_pyomo

    def highs_finds_nothing(model: object, settings: object = None, **kw: object) -> SolverOutcome:
        out = real(model, settings, **kw)  # type: ignore[arg-type]
        return dataclasses.replace(out, status=SolveStatus.NO_SOLUTION, objective=None, bound=None, gap=None)

    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 0)
    monkeypatch.setattr(api, "solve_pyomo", highs_finds_nothing)
    monkeypatch.setattr(api, "_cores", lambda: 2)
    # HiGHS settles the toy at once; wait as long as a busy machine needs to start the search process and hear
    # from it (the test is about keeping its plan, not about how soon it comes)
    monkeypatch.setattr(api, "SEARCH_GRACE_SECONDS", 120.0)
    sc = Scenario(name="toy").with_changes({"budget": {"annual": 1_200_000}, "solver": {"time_limit": 20.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    assert plan.status is SolveStatus.TIME_LIMIT
    assert plan.objective is not None and plan.bound is not None and plan.gap is not None
    assert plan.bound <= plan.objective + 1e-6
    assert plan_violations(plan, inp) == []
    monkeypatch.setattr(api, "solve_pyomo", real)
    optimum = solve_inputs(dataclasses.replace(inp, scenario=sc.with_changes({"solver": {"mip_rel_gap": 0.0}})))
    assert optimum.objective is not None and optimum.objective <= plan.objective + 1e-6


def test_highs_ends_the_solve_once_it_proves_the_search_plan_within_the_gap(
    toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search's plans go to HiGHS as they come: once HiGHS's bound proves one within the gap, the solve ends
    there with that plan, without waiting for the search's last one (on the BNSSG default with a 5% gap: 41 s
    instead of the whole minute)."""
    import planner.api as api
    from planner.model import solution_values

    sc = Scenario(name="toy").with_changes({"budget": {"annual": 1_200_000}, "solver": {"mip_rel_gap": 0.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    m = build_model(inp)
    optimum = solve_pyomo(m, SolverSettings(mip_rel_gap=0.0))
    assert optimum.objective is not None
    best = (optimum.objective, solution_values(m))
    events: list[str] = []

    class FedSearch:
        def __init__(self, inp: object, deadline: float) -> None:
            events.append("started")

        def newest(self) -> tuple[float, dict[str, dict[object, float]]]:
            events.append("asked")
            return best

        def result(self, timeout: float) -> None:
            raise AssertionError("waited for the search's last plan")

        def stop(self) -> None:
            events.append("stopped")

    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 0)
    monkeypatch.setattr(api, "_cores", lambda: 2)
    monkeypatch.setattr(api, "BackgroundHubSearch", FedSearch)
    messages: list[str] = []
    plan = solve_inputs(inp, progress=messages.append)
    assert plan.status is SolveStatus.OPTIMAL and plan.objective == pytest.approx(optimum.objective)
    assert events[0] == "started" and "asked" in events and events[-1] == "stopped"
    assert any(msg.startswith("HiGHS proved the hub search's plan") for msg in messages), messages
    assert plan_violations(plan, inp) == []


@pytest.mark.parametrize("parallel", [True, False], ids=["alongside", "first"])
def test_hub_search_either_way_gives_the_optimum_on_a_small_plan(
    toy: object, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    import planner.api as api

    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 0)
    sc = Scenario(name="toy").with_changes(
        {"budget": {"annual": 2_500_000}, "solver": {"mip_rel_gap": 0.0, "parallel_search": parallel}}
    )
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 10**6)
    alone = solve_inputs(inp)
    assert plan.status is SolveStatus.OPTIMAL and alone.status is SolveStatus.OPTIMAL
    assert plan.objective == pytest.approx(alone.objective, rel=1e-7)
    assert plan_violations(plan, inp) == []


def test_the_hub_search_run_first_gets_its_share_of_the_time_limit(
    toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the search run first (one core, or ``parallel_search: false``), ``warm_start_share`` of the time limit
    is the search's."""
    import planner.api as api

    given: list[float] = []
    search = api.hub_search_start

    def recorded(inp: object, *, time_limit: float) -> object:
        given.append(time_limit)
        return search(inp, time_limit=time_limit)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 0)
    monkeypatch.setattr(api, "hub_search_start", recorded)
    solver = {"parallel_search": False, "warm_start_share": 0.25, "time_limit": 40}
    sc = Scenario(name="toy").with_changes({"budget": {"annual": 2_500_000}, "solver": solver})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    assert given == [pytest.approx(10.0)]
    assert plan.has_solution and plan_violations(plan, inp) == []


def test_locality_search_mends_a_poor_hub_choice(toy: object) -> None:
    """Re-optimising one locality at a time, everything else fixed, undoes a poor hub choice and keeps the plan
    feasible; it never makes the plan worse."""
    import pyomo.environ as pyo

    from planner.heuristic import improve_by_locality

    sc = Scenario(name="toy").with_changes({"budget": {"annual": 1_200_000}, "solver": {"mip_rel_gap": 0.0}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    optimum = solve_inputs(inp)
    assert optimum.status is SolveStatus.OPTIMAL and optimum.objective is not None
    m = build_model(inp)
    best_hubs = set(optimum.sites.index[optimum.sites["hub_open"]])
    # A poor start: each locality's hub moved to the candidate furthest (by id order) from the optimal one.
    for s in m.HUBS:
        m.hub_open[s].fix(0.0)
        m.hub_evening[s].fix(0.0)
    for locality in sorted(set(inp.sites["locality"])):
        candidates = sorted(s for s in m.HUBS if inp.sites.at[s, "locality"] == locality)
        poor = next(s for s in reversed(candidates) if s not in best_hubs)
        m.hub_open[poor].fix(1.0)
    start = solve_pyomo(m, SolverSettings(mip_rel_gap=0.0))
    assert start.status is SolveStatus.OPTIMAL and start.objective is not None
    assert start.objective > optimum.objective * 1.001
    for s in m.HUBS:
        m.hub_open[s].unfix()
        m.hub_evening[s].unfix()
    improved = improve_by_locality(inp, m, time_limit=20.0)
    assert improved >= 1
    value = pyo.value(m.objective)
    assert optimum.objective - 1e-6 <= value < start.objective * (1 - 1e-4)
    assert_feasible(m)


def test_hub_search_keeps_no_locality_pass_it_cannot_run(bnssg: object) -> None:
    """Below about 21 s on the whole of BNSSG the locality pass would stop before its first locality, so the hub
    search plans none and its time goes to the search and the sessions MIP; from there on it keeps its share."""
    from planner.heuristic import LOCALITY_SHARE, locality_seconds

    inp = build_inputs(bnssg, Scenario(name="default"))  # type: ignore[arg-type]
    assert inp.sites["locality"].nunique() == 6
    assert locality_seconds(inp, 15.0) == 0.0
    assert locality_seconds(inp, 20.0) == 0.0
    assert locality_seconds(inp, 30.0) == pytest.approx(LOCALITY_SHARE * 30.0)
    assert locality_seconds(inp, 60.0) == pytest.approx(LOCALITY_SHARE * 60.0)


def test_arithmetic_checks_give_no_absurd_budget_and_show_pence(bnssg: object) -> None:
    from planner.checks import check_inputs
    from planner.scenario import load_scenario

    # No evening capacity anywhere: the capacity check says so, and no budget figure is made up (it was £14 quadrillion)
    sc = load_scenario("weston_option_a").with_changes(
        {"hubs": {"capacity_evening": 0}, "popups": {"enabled": False}, "requirements": {"full_evening_coverage": True}}
    )
    problems = {v.requirement: v for v in check_inputs(build_inputs(bnssg, sc))}  # type: ignore[arg-type]
    assert "exceeds all evening capacity that could be opened (0)" in problems["coverage_evening"].message
    assert "budget" not in problems
    # A budget 40p under the six core hubs' cost: the shortfall is not shown as £0
    cut = load_scenario("default").with_changes({"budget": {"annual": 1_079_999.6}})
    budget = [v for v in check_inputs(build_inputs(bnssg, cut)) if v.requirement == "budget"]  # type: ignore[arg-type]
    assert budget and budget[0].message.endswith("short by £0.40")


def test_a_solve_with_no_plan_in_time_returns_the_core_offer(bnssg: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.api as api
    from planner.scenario import load_scenario
    from planner.solver import SolverOutcome

    def nothing_in_time(m: object, settings: SolverSettings, **kw: object) -> SolverOutcome:
        # what HiGHS reports when a very short limit ends before its first plan
        return SolverOutcome(status=SolveStatus.NO_SOLUTION, objective=None, bound=500.0, gap=None, solve_seconds=1.0)

    monkeypatch.setattr(api, "solve_pyomo", nothing_in_time)
    sc = load_scenario("weston_option_a").with_changes({"solver": {"split_counts": False, "time_limit": 1}})
    inp = build_inputs(bnssg, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    assert plan.status is SolveStatus.TIME_LIMIT and plan.has_solution
    assert "returned the core offer" in plan.message and "raise solver.time_limit" in plan.message
    assert plan_violations(plan, inp) == []  # demand conserved, capacity and budget held, ...
    opened = plan.sites.loc[plan.sites["hub_open"]]
    assert len(opened) == 3  # option A asks for exactly three hubs
    assert not plan.sites["hub_evening"].any() and plan.costs["total"] == pytest.approx(3 * 180_000)
    assert plan.gap == pytest.approx((plan.objective - 500.0) / plan.objective)


def test_a_time_limited_plan_is_re_routed_among_its_own_sites(bnssg: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan stopped at the time limit keeps its sites and sessions but gets the best routing among them: HiGHS's
    early incumbents can leave demand unserved beside open sites (the whole-BNSSG default stopped at 5 s kept 14
    hubs open and served 5% of the daytime demand)."""
    import pyomo.environ as pyo

    import planner.api as api
    from planner.scenario import load_scenario
    from planner.solver import SolverOutcome

    real = api.solve_pyomo
    poor: dict[str, float] = {}

    def incumbent_that_serves_no_one(m: object, settings: SolverSettings, **kw: object) -> SolverOutcome:
        # The optimum's sites and sessions, with every contact left unserved: feasible, and what an early incumbent
        # can look like. Only the main solve is replaced; the re-routing LP runs for real.
        if poor:
            return real(m, settings, **kw)  # type: ignore[arg-type]
        out = real(m, settings, **kw)  # type: ignore[arg-type]
        for name in ("serve_day", "serve_evening", "serve_mdt"):
            for var in getattr(m, name).values():
                var.set_value(0.0)
        for zc in m.ZONES:  # type: ignore[attr-defined]
            m.unmet_day[zc].set_value(m._demand_day[zc])  # type: ignore[attr-defined]
            m.evening_gap[zc].set_value(m._demand_evening[zc])  # type: ignore[attr-defined]
        for (zc, k), var in m.unmet_mdt.items():  # type: ignore[attr-defined]
            var.set_value(m._need_mdt[zc, k])  # type: ignore[attr-defined]
        poor["objective"] = float(pyo.value(m.objective))  # type: ignore[attr-defined]
        poor["optimum"] = float(out.objective or 0.0)
        return SolverOutcome(
            status=SolveStatus.TIME_LIMIT, objective=poor["objective"], bound=out.bound, gap=0.5, solve_seconds=1.0
        )

    monkeypatch.setattr(api, "solve_pyomo", incumbent_that_serves_no_one)
    sc = load_scenario("weston_option_a").with_changes({"solver": {"split_counts": False, "mip_rel_gap": 0.0}})
    inp = build_inputs(bnssg, sc)  # type: ignore[arg-type]
    said: list[str] = []
    plan = solve_inputs(inp, progress=said.append)
    optimum = solve_inputs(inp)  # the same scenario solved for real (the patched solve passes later calls on)
    assert plan.status is SolveStatus.TIME_LIMIT and plan.objective is not None
    assert plan.objective < poor["objective"]
    assert plan.objective == pytest.approx(poor["optimum"], rel=1e-6)
    assert any(line.startswith("re-routed the plan's demand among its own sites") for line in said)
    assert plan_violations(plan, inp) == []  # demand conserved, no service at a closed site, capacity and budget
    assert plan.kpis["unmet_share"] < 0.5  # the KPIs are read from the re-routed plan
    columns = ["hub_open", "hub_evening", *(c for c in plan.sites.columns if c.startswith(("popup_", "mdt_")))]
    assert plan.sites[columns].equals(optimum.sites[columns])  # same sites and sessions
    assert plan.gap == pytest.approx((plan.objective - plan.bound) / plan.objective)


def test_a_time_limit_too_short_for_the_hub_search_does_not_start_it(
    toy: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``SEARCH_MIN_SECONDS`` the search's process would start too late to send a plan and would only delay the
    answer (a 1-second solve took 15 s), so HiGHS plans alone."""
    import planner.api as api

    started: list[float] = []

    class Recorded:
        def __init__(self, inp: object, deadline: float) -> None:
            started.append(deadline)
            raise AssertionError("the hub search was started")

    monkeypatch.setattr(api, "WARM_START_MIN_ZONES", 0)
    monkeypatch.setattr(api, "_cores", lambda: 2)
    monkeypatch.setattr(api, "BackgroundHubSearch", Recorded)
    sc = Scenario(name="toy").with_changes({"budget": {"annual": 1_200_000}, "solver": {"time_limit": 4.0}})
    plan = solve_inputs(build_inputs(toy, sc))  # type: ignore[arg-type]
    assert started == [] and plan.has_solution
    with pytest.raises(AssertionError, match="the hub search was started"):
        solve_inputs(build_inputs(toy, sc.with_changes({"solver": {"time_limit": api.SEARCH_MIN_SECONDS}})))  # type: ignore[arg-type]


def test_only_a_plan_with_demand_beside_idle_capacity_is_re_routed(bnssg: object) -> None:
    """The re-routing LP runs only where demand is left unmet beside spare capacity in its reach: never on a plan
    HiGHS settled (it gained nothing there and cost up to 2 s), always on one that strands demand."""
    import pyomo.environ as pyo

    from planner.heuristic import polish_allocation, stranded_demand
    from planner.scenario import load_scenario

    inp = build_inputs(bnssg, load_scenario("weston_option_a"))  # type: ignore[arg-type]
    m = build_model(inp)
    assert solve_pyomo(m, SolverSettings(mip_rel_gap=0.0)).status is SolveStatus.OPTIMAL
    optimum = float(pyo.value(m.objective))
    assert stranded_demand(m) == 0.0
    assert polish_allocation(m) == 0.0 and pyo.value(m.objective) == pytest.approx(optimum)
    zone = next(zc for zc in m.ZONES if m._demand_day[zc] > 0 and any(v.value > 0 for v in
                (m.serve_day[zc, s] for s in m._by_zone["day"][zc])))  # fmt: skip
    moved = sum(m.serve_day[zone, s].value for s in m._by_zone["day"][zone])
    for s in m._by_zone["day"][zone]:
        m.serve_day[zone, s].set_value(0.0)
    m.unmet_day[zone].set_value(m.unmet_day[zone].value + moved)  # still feasible: the contacts go unmet
    assert stranded_demand(m) == pytest.approx(m.unmet_day[zone].value)
    stranding = float(pyo.value(m.objective))
    assert stranding > optimum
    assert polish_allocation(m) == pytest.approx(stranding - optimum, rel=1e-6)
    assert pyo.value(m.objective) == pytest.approx(optimum, rel=1e-9) and stranded_demand(m) == 0.0
    assert_feasible(m)


def test_a_plan_proven_only_within_a_loose_gap_does_not_strand_demand(bnssg: object) -> None:
    """Asked for a loose gap (`mip_rel_gap: 1`), HiGHS stops at an early incumbent that left most of South
    Bristol's evening demand unmet beside the pop-up sessions it pays for (52,606); the plan returned is that
    incumbent's sites and sessions with the demand re-routed among them (38,958)."""
    from planner.scenario import load_scenario

    default = load_scenario("default")
    south = {"name": "loose", "localities": ["South Bristol"], "budget": {"annual": 510_000}}
    loose = default.with_changes({**south, "solver": {"mip_rel_gap": 1.0}})
    inp = build_inputs(bnssg, loose)  # type: ignore[arg-type]
    messages: list[str] = []
    plan = solve_inputs(inp, progress=messages.append)
    assert plan.status is SolveStatus.OPTIMAL and plan.objective is not None
    assert any(msg.startswith("re-routed the plan's demand among its own sites") for msg in messages), messages
    assert plan_violations(plan, inp) == []
    sessions = plan.sites["popup_weekday_evening"] + plan.sites["popup_saturday"]
    held = sessions.sum() * default.popups.capacity_per_session
    used = plan.sites.loc[sessions > 0, "load_evening"].sum()
    assert held > 0 and used > 0.5 * held  # the sessions are used, not left idle beside unmet demand


def test_site_costs_add_up_to_the_total_to_the_penny(toy: object) -> None:
    """The plan's cost parts are rounded to the penny and its site costs are not: with sub-penny prices the check
    once reported "site costs 0.06 do not add up to the total 0.06" (£0.0596 and £0.06); a pound astray is still
    caught."""
    prices = {"hubs": {"fixed_cost": 0.01, "evening_cost": 1.0}, "popups": {"cost_per_session": 0.00005}}
    sc = Scenario(name="toy").with_changes({**prices, "mdt": {"cost_per_session": 0.00005}, "budget": {"annual": 0.06}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    plan = solve_inputs(inp)
    assert plan.has_solution and plan_violations(plan, inp) == []
    site = plan.sites.index[plan.sites["annual_cost"] > 0][0]
    plan.sites.loc[site, "annual_cost"] += 1.0
    assert any("do not add up to the total" in v for v in plan_violations(plan, inp))
