"""Classic location models (planner.classic): hand-checked answers, brute force, spopt agreement, invariants, errors."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.distance import cdist

from planner.classic import CFLP, LSCP, MCLP, PCenter, PMedian
from planner.errors import ModelInputError
from planner.solver import SolveStatus

FloatArray = npt.NDArray[np.float64]


def random_instance(seed: int, n: int, m: int) -> tuple[FloatArray, FloatArray]:
    """Euclidean cost between ``n`` demand points and ``m`` sites in a 1000 x 1000 square, and integer weights."""
    rng = np.random.default_rng(seed)
    cost = cdist(rng.uniform(0, 1000, (n, 2)), rng.uniform(0, 1000, (m, 2)))
    weights = rng.integers(1, 10, n).astype(np.float64)
    return cost, weights


def line_cost() -> FloatArray:
    """Six points on a line (two clusters, 0-2 and 10-12); every point is also a site."""
    x = np.array([0.0, 1.0, 2.0, 10.0, 11.0, 12.0])
    return np.abs(x[:, None] - x[None, :])


def brute_force(cost: FloatArray, p: int, score: Any, fixed: tuple[int, ...] = ()) -> float:
    """Best ``score(open_sites)`` over every set of ``p`` sites containing ``fixed``."""
    others = [j for j in range(cost.shape[1]) if j not in fixed]
    return min(score(np.array(fixed + c)) for c in combinations(others, p - len(fixed)))


# ----------------------------------------------------------------------------------------------- hand-checked


def test_pmedian_two_clusters() -> None:
    result = PMedian.from_cost_matrix(line_cost(), p_facilities=2).solve(time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == 4.0
    assert result.open_sites.tolist() == [1, 4]
    assert result.assignment.tolist() == [1, 1, 1, 4, 4, 4]
    assert result.gap == 0.0
    assert result.bound == 4.0
    assert result.solve_seconds >= 0.0


def test_pmedian_weights_pull_the_median() -> None:
    weights = np.array([100.0, 1, 1, 1, 1, 1])
    result = PMedian.from_cost_matrix(line_cost(), p_facilities=2, weights=weights).solve(time_limit=10)
    assert result.open_sites.tolist() == [0, 4]
    assert result.objective == 1 + 2 + 1 + 1


def test_pcenter_two_clusters() -> None:
    result = PCenter.from_cost_matrix(line_cost(), p_facilities=2).solve(time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == 1.0
    assert result.open_sites.tolist() == [1, 4]


def test_mclp_hand_case() -> None:
    # Site 0 covers demand 0, 1; site 1 covers 2, 3 (weight 5 + 1); site 2 covers 1, 2.
    cost = np.array([[1.0, 9, 9], [1, 9, 1], [9, 1, 1], [9, 1, 9]])
    weights = np.array([2.0, 2, 5, 1])
    result = MCLP.from_cost_matrix(cost, service_radius=2, p_facilities=1, weights=weights).solve(time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == 7.0
    assert result.open_sites.tolist() == [2]
    assert result.covered is not None and result.covered.tolist() == [False, True, True, False]
    two = MCLP.from_cost_matrix(cost, service_radius=2, p_facilities=2, weights=weights).solve(time_limit=10)
    assert two.objective == 10.0
    assert two.open_sites.tolist() == [0, 1]


def test_lscp_hand_case() -> None:
    # No single site covers all four; sites 0 and 1 together do.
    cost = np.array([[1.0, 9, 9], [1, 9, 1], [9, 1, 1], [9, 1, 9]])
    result = LSCP.from_cost_matrix(cost, service_radius=2).solve(time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.objective == 2.0
    assert result.open_sites.tolist() == [0, 1]
    assert result.covered is not None and result.covered.all()
    kept = LSCP.from_cost_matrix(cost, service_radius=2, predefined_facilities=[2]).solve(time_limit=10)
    assert kept.objective == 3.0
    assert 2 in kept.open_sites


def test_cflp_capacity_forces_a_split() -> None:
    # Site 0 is cheap but holds 10 of the 15 units; the rest must go to site 1 (alone it would cost 10 + 24).
    cost = np.array([[1.0, 8], [1, 8], [1, 8]])
    model = CFLP.from_cost_matrix(
        cost, demand=[5, 5, 5], capacities=[10, 100], fixed_costs=[10, 10], weights=np.ones(3)
    )
    result = model.solve(time_limit=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.open_sites.tolist() == [0, 1]
    assert result.objective == pytest.approx(10 + 10 + 1 + 1 + 8)
    assert result.allocation is not None
    load = result.allocation.T @ np.array([5.0, 5, 5])
    assert load.tolist() == pytest.approx([10, 5])


def test_cflp_fixed_cost_closes_a_site() -> None:
    cost = np.array([[1.0, 2], [2, 1]])
    result = CFLP.from_cost_matrix(cost, demand=[1, 1], capacities=[5, 5], fixed_costs=[3, 30]).solve(time_limit=10)
    assert result.open_sites.tolist() == [0]
    assert result.objective == pytest.approx(3 + 1 + 2)  # weights default to the demand
    assert result.assignment.tolist() == [0, 0]


# ----------------------------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("fixed", [(), (3,), (0, 7)])
def test_pmedian_and_pcenter_match_brute_force(fixed: tuple[int, ...]) -> None:
    cost, weights = random_instance(5, 30, 12)
    pm = PMedian.from_cost_matrix(cost, p_facilities=4, weights=weights, predefined_facilities=list(fixed))
    result = pm.solve(time_limit=20)
    best = brute_force(cost, 4, lambda s: float(weights @ cost[:, s].min(axis=1)), fixed)
    assert result.objective == pytest.approx(best, rel=1e-9)
    assert set(fixed) <= set(result.open_sites.tolist())
    pc = PCenter.from_cost_matrix(cost, p_facilities=4, predefined_facilities=list(fixed)).solve(time_limit=20)
    assert pc.objective == pytest.approx(brute_force(cost, 4, lambda s: float(cost[:, s].min(axis=1).max()), fixed))
    assert set(fixed) <= set(pc.open_sites.tolist())


@pytest.mark.parametrize("fixed", [(), (5,)])
def test_mclp_matches_brute_force(fixed: tuple[int, ...]) -> None:
    cost, weights = random_instance(6, 40, 12)
    result = MCLP.from_cost_matrix(
        cost, service_radius=250, p_facilities=3, weights=weights, predefined_facilities=list(fixed)
    ).solve(time_limit=20)
    best = -brute_force(cost, 3, lambda s: -float(weights[(cost[:, s] <= 250).any(axis=1)].sum()), fixed)
    assert result.objective == pytest.approx(best)
    assert set(fixed) <= set(result.open_sites.tolist())


# ----------------------------------------------------------------------------------------------- against spopt


def _spopt_objective(model: Any) -> float:
    import pulp

    return float(pulp.value(model.problem.objective))


@pytest.mark.parametrize("seed", [11, 12])
def test_pmedian_matches_spopt(seed: int) -> None:
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    cost, weights = random_instance(seed, 60, 25)
    ours = PMedian.from_cost_matrix(cost, p_facilities=5, weights=weights).solve(time_limit=30)
    theirs = spopt_locate.PMedian.from_cost_matrix(cost, weights, p_facilities=5).solve(pulp.HiGHS(msg=False))
    assert ours.objective == pytest.approx(_spopt_objective(theirs), rel=1e-7)


def test_pmedian_predefined_matches_spopt() -> None:
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    cost, weights = random_instance(13, 50, 20)
    mask = np.zeros(20, dtype=bool)
    mask[[2, 9]] = True
    ours = PMedian.from_cost_matrix(cost, p_facilities=4, weights=weights, predefined_facilities=mask).solve(30)
    theirs = spopt_locate.PMedian.from_cost_matrix(
        cost, weights, p_facilities=4, predefined_facilities_arr=mask.astype(int)
    ).solve(pulp.HiGHS(msg=False))
    assert ours.objective == pytest.approx(_spopt_objective(theirs), rel=1e-7)
    assert {2, 9} <= set(ours.open_sites.tolist())


def test_coverage_models_match_spopt() -> None:
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    cost, weights = random_instance(14, 50, 20)
    solver = pulp.HiGHS(msg=False)
    mclp = MCLP.from_cost_matrix(cost, service_radius=200, p_facilities=4, weights=weights).solve(30)
    s_mclp = spopt_locate.MCLP.from_cost_matrix(cost, weights, service_radius=200, p_facilities=4).solve(solver)
    assert mclp.objective == pytest.approx(_spopt_objective(s_mclp))
    lscp = LSCP.from_cost_matrix(cost, service_radius=350).solve(30)
    s_lscp = spopt_locate.LSCP.from_cost_matrix(cost, service_radius=350).solve(solver)
    assert lscp.objective == pytest.approx(_spopt_objective(s_lscp))
    pc = PCenter.from_cost_matrix(cost, p_facilities=4).solve(30)
    s_pc = spopt_locate.PCenter.from_cost_matrix(cost, p_facilities=4).solve(solver)
    assert pc.objective == pytest.approx(_spopt_objective(s_pc), rel=1e-7)


# ----------------------------------------------------------------------------------------------- invariants


def test_pmedian_invariants_on_a_larger_instance() -> None:
    cost, weights = random_instance(21, 300, 120)
    model = PMedian.from_cost_matrix(cost, p_facilities=12, weights=weights, predefined_facilities=[7, 50])
    result = model.solve(time_limit=30)
    assert result.status is SolveStatus.OPTIMAL
    assert len(result.open_sites) == 12
    assert {7, 50} <= set(result.open_sites.tolist())
    assert np.isin(result.assignment, result.open_sites).all()
    nearest = cost[:, result.open_sites].min(axis=1)
    assert result.assigned_cost == pytest.approx(nearest)
    assert result.objective == pytest.approx(float(weights @ nearest))
    assert result.bound is not None and result.bound <= result.objective + 1e-6
    # Solving twice gives the same plan, and the model is left unchanged.
    again = model.solve(time_limit=30)
    assert again.open_sites.tolist() == result.open_sites.tolist()


def test_mclp_and_pcenter_keep_predefined_and_count() -> None:
    cost, weights = random_instance(22, 80, 30)
    mclp = MCLP.from_cost_matrix(
        cost, service_radius=150, p_facilities=5, weights=weights, predefined_facilities=[0]
    ).solve(20)
    assert len(mclp.open_sites) == 5 and 0 in mclp.open_sites
    assert mclp.covered is not None
    assert mclp.objective == pytest.approx(float(weights[mclp.covered].sum()))
    served = mclp.assignment >= 0
    assert (served == mclp.covered).all()
    assert np.isin(mclp.assignment[served], mclp.open_sites).all()
    pc = PCenter.from_cost_matrix(cost, p_facilities=5, predefined_facilities=[0]).solve(20)
    assert len(pc.open_sites) == 5 and 0 in pc.open_sites
    assert pc.objective == pytest.approx(float(cost[:, pc.open_sites].min(axis=1).max()))


def test_cflp_invariants_with_p_and_single_source() -> None:
    cost, weights = random_instance(23, 40, 10)
    demand = weights
    caps = np.full(10, demand.sum() / 3)
    model = CFLP.from_cost_matrix(
        cost,
        demand=demand,
        capacities=caps,
        fixed_costs=np.full(10, 500.0),
        p_facilities=4,
        single_source=True,
        predefined_facilities=[3],
    )
    result = model.solve(time_limit=30)
    assert result.has_solution
    assert len(result.open_sites) == 4 and 3 in result.open_sites
    assert result.allocation is not None
    share = result.allocation.toarray()
    assert share.sum(axis=1) == pytest.approx(np.ones(40))
    assert set(np.unique(share)) <= {0.0, 1.0}
    load = share.T @ demand
    assert (load <= caps + 1e-6).all()
    assert (load[np.setdiff1d(np.arange(10), result.open_sites)] == 0).all()


def test_unusable_pairs_are_never_used() -> None:
    cost = line_cost()
    cost[0, 0] = cost[0, 1] = np.inf
    result = PMedian.from_cost_matrix(cost, p_facilities=2).solve(time_limit=10)
    assert np.isfinite(result.assigned_cost).all()
    assert result.assignment[0] not in (0, 1)


def test_time_limit_returns_best_plan_with_gap() -> None:
    cost, weights = random_instance(31, 500, 500)
    result = PMedian.from_cost_matrix(cost, p_facilities=8, weights=weights).solve(time_limit=0.02)
    assert result.status is SolveStatus.TIME_LIMIT
    assert result.has_solution
    assert len(result.open_sites) == 8
    assert result.objective is not None and result.bound is not None
    assert result.bound <= result.objective
    assert result.gap is not None and 0 < result.gap < 1
    assert np.isin(result.assignment, result.open_sites).all()


def test_coverage_time_limit_still_has_a_plan_and_gap() -> None:
    cost, weights = random_instance(32, 400, 400)
    mclp = MCLP.from_cost_matrix(cost, service_radius=120, p_facilities=6, weights=weights).solve(time_limit=1e-4)
    assert mclp.has_solution and len(mclp.open_sites) == 6
    assert mclp.gap is not None and mclp.bound is not None and mclp.bound >= mclp.objective


# ----------------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"cost": [[1.0, np.nan]]}, r"NaN cost"),
        ({"cost": [[1.0, -2.0]]}, r"negative cost"),
        ({"cost": [1.0, 2.0]}, r"expected a non-empty 2-D"),
        ({"cost": [["a", "b"]]}, r"not a numeric matrix"),
        ({"weights": [1.0]}, r"weights.*length does not match the 2 rows"),
        ({"weights": [1.0, -1.0]}, r"weights, row 1: value -1\.0: must be finite and non-negative"),
        ({"p_facilities": 3}, r"more facilities than the 2 candidate sites"),
        ({"p_facilities": 0}, r"must be at least 1"),
        ({"p_facilities": 1.5}, r"p_facilities: value 1\.5: must be an integer"),
        ({"predefined_facilities": [5]}, r"site index outside 0\.\.1"),
        ({"predefined_facilities": [0, 1], "p_facilities": 1}, r"fewer than the 2 predefined facilities"),
        ({"predefined_facilities": [0.5]}, r"give site indices \(integers\) or a boolean mask"),
        ({"cost": [[np.inf, np.inf], [1.0, 2.0]]}, r"cannot reach any site"),
    ],
)
def test_pmedian_bad_inputs(kwargs: dict[str, Any], pattern: str) -> None:
    args: dict[str, Any] = {"cost": [[1.0, 2.0], [3.0, 4.0]], "p_facilities": 1, **kwargs}
    with pytest.raises(ModelInputError, match=pattern):
        PMedian.from_cost_matrix(args.pop("cost"), **args)


def test_spopt_style_mask_gets_a_hint() -> None:
    with pytest.raises(ValueError, match=r"looks like spopt's 0/1 mask"):
        PMedian.from_cost_matrix(np.ones((3, 3)), p_facilities=1, predefined_facilities=[0, 1, 0])


def test_bad_solve_options() -> None:
    model = PMedian.from_cost_matrix(line_cost(), p_facilities=2)
    with pytest.raises(ModelInputError, match=r"time_limit: value -1\.0: must be a positive number of seconds"):
        model.solve(time_limit=-1.0)
    with pytest.raises(ModelInputError, match=r"mip_rel_gap.*must be in \[0, 1\)"):
        model.solve(mip_rel_gap=2.0)
    with pytest.raises(ModelInputError, match=r"method: value 'fast': choose one of"):
        model.solve(method="fast")  # type: ignore[arg-type]


def test_coverage_and_cflp_bad_inputs() -> None:
    cost = np.array([[1.0, 5.0], [9.0, 9.0]])
    with pytest.raises(ModelInputError, match=r"service_radius: value -1: must be finite and non-negative"):
        MCLP.from_cost_matrix(cost, service_radius=-1, p_facilities=1)
    with pytest.raises(ModelInputError, match=r"no site within the service radius 2 \(nearest at 9\)"):
        LSCP.from_cost_matrix(cost, service_radius=2)
    with pytest.raises(ModelInputError, match=r"highest possible capacity 3.*smaller than the total demand 4"):
        CFLP.from_cost_matrix(cost, demand=[2, 2], capacities=[1, 2])
    with pytest.raises(ModelInputError, match=r"capacities.*length does not match the 2 rows"):
        CFLP.from_cost_matrix(cost, demand=[2, 2], capacities=[10])
    with pytest.raises(ModelInputError, match=r"single-sourced demand exceeds the largest capacity"):
        CFLP.from_cost_matrix(cost, demand=[3, 1], capacities=[2, 2], single_source=True, weights=[1, 1])


def test_names_and_frames() -> None:
    model = PMedian.from_cost_matrix(
        line_cost(), p_facilities=2, demand_names=list("abcdef"), site_names=[f"s{k}" for k in range(6)]
    )
    result = model.solve(time_limit=10)
    assert result.open_site_names == ["s1", "s4"]
    frame = result.to_frame()
    assert frame.loc["a", "site"] == "s1"
    assert result.sites_frame()["demand_points"].tolist() == [3, 3]
    with pytest.raises(ModelInputError, match=r"label appears more than once"):
        PMedian.from_cost_matrix(line_cost(), p_facilities=2, demand_names=list("aacdef"))


def test_from_geodataframe_matches_cost_matrix() -> None:
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import Point

    x = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0]
    demand = gpd.GeoDataFrame({"pop": [1.0] * 6}, geometry=[Point(v, 0) for v in x], crs="EPSG:27700")
    sites = gpd.GeoDataFrame({"keep": [True] + [False] * 5}, geometry=[Point(v, 0) for v in x], crs="EPSG:27700")
    result = PMedian.from_geodataframe(demand, sites, weights_col="pop", predefined_col="keep", p_facilities=2).solve(
        time_limit=10
    )
    assert result.open_sites.tolist() == [0, 4]
    assert result.objective == pytest.approx(3 + 2)
    with pytest.raises(ModelInputError, match=r"demand_gdf, field 'people': no such column"):
        PMedian.from_geodataframe(demand, sites, weights_col="people", p_facilities=2)


def test_pmedian_on_the_real_bnssg_inputs_serves_every_zone_within_the_limit(bnssg: object) -> None:
    from pathlib import Path

    from planner.classic.bnssg import hub_cost_matrix, hub_ids
    from planner.inputs import build_inputs
    from planner.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "default.yaml")
    sc = sc.with_changes({"travel": {"mode": "car", "max_minutes": 30}})
    inp = build_inputs(bnssg, sc)  # type: ignore[arg-type]
    cost, weights = hub_cost_matrix(inp)
    assert cost.shape == (581, len(hub_ids(inp)))
    result = PMedian.from_cost_matrix(cost, p_facilities=8, weights=weights).solve(time_limit=60)
    assert result.status == "optimal"
    assert len(result.open_sites) == 8
    assert (result.assignment >= 0).all()
    assert np.isfinite(result.assigned_cost).all() and (result.assigned_cost <= 30).all()
    # Each zone goes to its nearest open hub, and the objective is the demand-weighted sum of those minutes.
    nearest = cost[:, result.open_sites].min(axis=1)
    assert result.assigned_cost == pytest.approx(nearest)
    assert result.objective == pytest.approx(float(weights @ nearest), rel=1e-6)
