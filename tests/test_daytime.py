"""The daytime score of a hub plan and the hub plans placed by it (the hub search's start without its LP)."""

from __future__ import annotations

from collections import Counter

import pytest

from planner.inputs import build_inputs
from planner.model import build_model
from planner.scenario import Scenario
from planner.solver import SolverSettings, solve_pyomo


def _daytime_part_of_the_optimum(inp: object, hubs: frozenset[str]) -> float:
    """The daytime travel and unmet penalty of the model's optimum with ``hubs`` open and no sessions at all.

    With no evening service and no sessions the evening and MDT terms are constants, so the optimum's daytime part
    is the least daytime cost those hubs allow.
    """
    m = build_model(inp)  # type: ignore[arg-type]
    for s in m.HUBS:
        m.hub_open[s].fix(1.0 if s in hubs else 0.0)
        m.hub_evening[s].fix(0.0)
    for var in (*m.popup_sessions.values(), *m.mdt_sessions.values()):
        var.fix(0.0)
    assert solve_pyomo(m, SolverSettings(mip_rel_gap=0.0)).objective is not None
    w = inp.scenario.weights  # type: ignore[attr-defined]
    travel = sum(m._weight[z] * m._t_day[z, s] * m.serve_day[z, s].value for z, s in m.DAY_ARCS)
    unmet = sum(m._weight[z] * m.unmet_day[z].value for z in m.ZONES)
    return float(w.travel * travel + w.unmet * unmet)


@pytest.mark.parametrize("equity", [0.0, 1.0])
def test_the_daytime_score_is_the_daytime_part_of_the_optimum_with_those_hubs(toy: object, equity: float) -> None:
    """Each plan's score is the least daytime travel plus unmet penalty its hubs allow, whatever plan was scored
    before it (the scorer keeps one HiGHS instance and changes only the hubs that differ)."""
    from planner.daytime import DaytimeScorer

    # A small hub capacity, so that some daytime demand goes unmet and the penalty counts; no hub rule or budget, so
    # that any set of hubs is a plan.
    sc = Scenario(name="toy").with_changes(
        {
            "hubs": {"capacity_day": 3.0, "min_per_locality": 0},
            "budget": {"annual": None},
            "weights": {"equity": equity},
        }
    )
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    # HiGHS keeps one thread pool per process; a run asking for another size fails. The scorer must run on the
    # pool another solve left (it once asked for one thread, failed silently after the hub search's LP and read
    # the last objective).
    other = build_model(inp)
    assert solve_pyomo(other, SolverSettings(threads=1)).objective is not None
    candidates = sorted(inp.sites.index[inp.sites["is_hub"]])
    score = DaytimeScorer(inp, candidates)
    plans = [frozenset(candidates[:2]), frozenset(candidates[2:5]), frozenset(candidates[:1]), frozenset(candidates)]
    scores = [score(p) for p in plans]
    assert score.evaluations == len(plans)
    for plan, value in zip(plans, scores, strict=True):
        assert value == pytest.approx(_daytime_part_of_the_optimum(inp, plan), rel=1e-7)
    assert [score(p) for p in reversed(plans)] == pytest.approx(scores[::-1], rel=1e-9)
    assert scores[3] < min(scores[:3])  # every hub open serves best
    assert scores[2] > 0 and score(frozenset()) == pytest.approx(
        inp.scenario.weights.unmet * float((inp.zones["weight"] * inp.zones["contacts_day"]).sum())
    )  # no hub: all the daytime demand unmet


def test_daytime_plans_add_hubs_within_the_rules_and_the_budget(toy: object) -> None:
    from planner.daytime import DaytimeScorer
    from planner.heuristic import QUICK_EXTRA_HUBS, QUICK_SWAP_OPTIONS, _Rules, core_offer_hubs, daytime_plans

    sc = Scenario(name="toy").with_changes({"hubs": {"capacity_day": 3.0}, "budget": {"annual": 2_500_000}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    core = core_offer_hubs(inp)
    assert core is not None
    plans = daytime_plans(inp, core, seconds=30.0)
    assert [len(p) for p in plans] == [len(core) + k for k in range(1, QUICK_EXTRA_HUBS + 1)]
    candidates = sorted(inp.sites.index[inp.sites["is_hub"]])
    rules = _Rules(inp, candidates)
    score = DaytimeScorer(inp, candidates)
    # every candidate of a locality is among the swaps tried (the toy has fewer than QUICK_SWAP_OPTIONS each)
    assert max(Counter(rules.locality.values()).values()) <= QUICK_SWAP_OPTIONS
    for plan in plans:
        assert rules.ok((plan, frozenset())) and rules.core_kept(plan)
        # no single swap within a locality scores better: the swaps ran to a local optimum
        for s in plan:
            for c in (c for c in candidates if c not in plan and rules.locality[c] == rules.locality[s]):
                assert score((plan - {s}) | {c}) >= score(plan) * (1 - 1e-4) - 1e-9
    # the first plan is at least as good as the core offer with its best one hub more
    best_add = min(score(core | {c}) for c in candidates if c not in core)
    assert score(plans[0]) <= best_add + 1e-9
    # a budget of the core offer and one hub more allows only that one
    one_more = (len(core) + 1) * inp.scenario.hubs.fixed_cost
    tight = build_inputs(toy, sc.with_changes({"budget": {"annual": one_more}}))  # type: ignore[arg-type]
    assert [len(p) for p in daytime_plans(tight, core, seconds=30.0)] == [len(core) + 1]
    exact = build_inputs(toy, sc.with_changes({"hubs": {"exact_hubs": len(core)}}))  # type: ignore[arg-type]
    assert daytime_plans(exact, core, seconds=30.0) == []


@pytest.mark.slow
def test_on_bnssg_hubs_placed_by_their_daytime_service_beat_the_core_offers(bnssg: object) -> None:
    """On the BNSSG default the core offer's six hubs (the candidate reaching most daytime demand in each locality)
    score 106,512 on the restricted LP; placed by their daytime service, seven score 92,325 (docs/benchmarks.md,
    item 26). The quick path and the search's second start rest on this."""
    from planner.heuristic import _restricted_lp, core_offer_hubs, daytime_plans
    from planner.scenario import load_scenario

    inp = build_inputs(bnssg, load_scenario("default"))  # type: ignore[arg-type]
    core = core_offer_hubs(inp)
    assert core is not None and len(core) == 6
    plans = daytime_plans(inp, core, seconds=60.0)
    assert [len(p) for p in plans] == [7, 8]
    core_lp = _restricted_lp(inp, core, 30.0)
    seven_lp = _restricted_lp(inp, plans[0], 30.0)
    assert seven_lp < 0.9 * core_lp


@pytest.mark.parametrize(
    ("capacity_day", "budget"), [(2000.0, 750_000), (220.0, 2_500_000)], ids=["hubs-ample", "hubs-scarce"]
)
def test_the_search_starts_from_the_lps_plan_and_the_best_daytime_plan_best_scored_first(
    toy: object, capacity_day: float, budget: int
) -> None:
    """The hub search has two starts: the LP's own first plan and the daytime plan the LP scores best; it searches
    from the better-scored one first."""
    import pyomo.environ as pyo

    from planner.heuristic import _first_plan, _LPScorer, _Rules, _starting_plans, core_offer_hubs, daytime_plans

    sc = Scenario(name="toy").with_changes({"budget": {"annual": budget}, "hubs": {"capacity_day": capacity_day}})
    inp = build_inputs(toy, sc)  # type: ignore[arg-type]
    lp = build_model(inp)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
    assert solve_pyomo(lp, SolverSettings(mip_rel_gap=0.0)).objective is not None
    y = {s: float(lp.hub_open[s].value or 0.0) for s in lp.HUBS}
    rules = _Rules(inp, list(lp.HUBS))
    first = _first_plan(lp, y, inp, rules)
    core = core_offer_hubs(inp)
    assert core is not None
    score = _LPScorer(lp)
    daytime = {(p, frozenset()): score((p, frozenset()), 30.0) for p in daytime_plans(inp, core, 30.0)}
    assert len(daytime) == 2 and first not in daytime
    best_daytime = min(daytime, key=daytime.__getitem__)
    expected = sorted([(first, score(first, 30.0)), (best_daytime, daytime[best_daytime])], key=lambda ps: ps[1])

    def left() -> float:
        return 30.0

    starts, evaluations = _starting_plans(lp, y, inp, rules, _LPScorer(lp), left, 30.0)
    assert [p for p, _ in starts] == [p for p, _ in expected] and evaluations == 3
    assert [v for _, v in starts] == pytest.approx([v for _, v in expected], rel=1e-9)
    alone, _ = _starting_plans(lp, y, inp, rules, _LPScorer(lp), left, 0.0)
    assert [p for p, _ in alone] == [first]  # no time for the daytime plans: the LP's own plan only
