"""The solver module: statuses, incumbents, gaps and MIP starts, on tiny problems with known answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp

import planner.solver as solver
from planner.solver import (
    MatrixProblem,
    Resolver,
    SolverSettings,
    SolveStatus,
    relative_gap,
    solve_matrix,
    solve_pyomo,
)


def knapsack(n: int, seed: int = 0) -> MatrixProblem:
    rng = np.random.default_rng(seed)
    w = rng.integers(10, 100, n).astype(float)
    v = w + rng.integers(0, 20, n)
    return MatrixProblem(
        c=v,
        A=sp.csr_array(w[None, :]),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([w.sum() / 2]),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integrality=np.ones(n, dtype=bool),
        sense="max",
    )


def test_matrix_mip_known_optimum() -> None:
    # max 5x + 4y s.t. 6x + 4y <= 24, x + 2y <= 6, x, y integer >= 0: optimum 20 at (4, 0).
    p = MatrixProblem(
        c=np.array([5.0, 4.0]),
        A=sp.csr_array(np.array([[6.0, 4.0], [1.0, 2.0]])),
        row_lower=np.full(2, -np.inf),
        row_upper=np.array([24.0, 6.0]),
        col_lower=np.zeros(2),
        col_upper=np.full(2, np.inf),
        integrality=np.array([True, True]),
        sense="max",
    )
    out = solve_matrix(p)
    assert out.status is SolveStatus.OPTIMAL
    assert out.objective == pytest.approx(20.0)
    assert out.values is not None and out.values == pytest.approx([4.0, 0.0], abs=1e-9)
    assert out.gap == pytest.approx(0.0, abs=1e-9)


def test_infeasible_lp_has_no_values() -> None:
    p = MatrixProblem(
        c=np.ones(2),
        A=sp.csr_array(np.ones((1, 2))),
        row_lower=np.array([3.0]),
        row_upper=np.array([2.0]),
        col_lower=np.zeros(2),
        col_upper=np.full(2, np.inf),
        integrality=np.zeros(2, dtype=bool),
    )
    out = solve_matrix(p)
    assert out.status is SolveStatus.INFEASIBLE
    assert out.values is None and out.objective is None


def test_shape_mismatch_is_reported() -> None:
    p = knapsack(5)
    bad = MatrixProblem(
        **{
            **p.__dict__,
            "c": np.ones(4),
            "col_lower": np.zeros(4),
            "col_upper": np.ones(4),
            "integrality": np.ones(4, dtype=bool),
        }
    )
    with pytest.raises(ValueError, match=r"constraint matrix has shape \(1, 5\), expected \(1, 4\)"):
        solve_matrix(bad)


def multi_knapsack(n: int, m: int, seed: int = 0) -> MatrixProblem:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 1000, (m, n)).astype(float)
    return MatrixProblem(
        c=w.sum(axis=0) / m + rng.integers(0, 500, n),
        A=sp.csr_array(w),
        row_lower=np.full(m, -np.inf),
        row_upper=w.sum(axis=1) / 4,
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integrality=np.ones(n, dtype=bool),
        sense="max",
    )


def test_stopped_solve_returns_incumbent_with_gap() -> None:
    # A 100-item, 10-constraint knapsack is not proven at the root; a node limit of 1 (deterministic, unlike a
    # time limit) stops branch and bound there. The outcome must carry the best plan, its bound and its gap.
    p = multi_knapsack(100, 10)
    out = solve_matrix(p, SolverSettings(time_limit=60, mip_rel_gap=0.0, extra={"mip_max_nodes": 1}))
    assert out.status is SolveStatus.TIME_LIMIT
    assert out.values is not None and out.objective is not None and out.bound is not None
    assert out.gap is not None and out.gap > 0
    assert out.bound >= out.objective  # maximisation: the bound is above the incumbent
    weights = p.A @ out.values  # the incumbent is feasible
    assert np.all(weights <= p.row_upper + 1e-6)


def test_mip_start_is_accepted() -> None:
    p = knapsack(30, seed=1)
    start = np.zeros(30)
    out = solve_matrix(p, start=start)
    assert out.status is SolveStatus.OPTIMAL
    assert out.objective is not None and out.objective > 0


def test_relative_gap_definition() -> None:
    assert relative_gap(100.0, 99.0) == pytest.approx(0.01)
    assert relative_gap(None, 1.0) is None
    assert relative_gap(1.0, float("-inf")) is None


def test_pyomo_solution_loaded_only_when_feasible() -> None:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(within=pyo.NonNegativeIntegers)
    m.c = pyo.Constraint(expr=m.x >= 2.5)
    m.o = pyo.Objective(expr=m.x)
    out = solve_pyomo(m)
    assert out.status is SolveStatus.OPTIMAL and m.x.value == pytest.approx(3.0)
    m.x.value = None
    m.c2 = pyo.Constraint(expr=m.x <= 1)
    out = solve_pyomo(m)
    assert out.status is SolveStatus.INFEASIBLE
    assert m.x.value is None


def test_stale_start_values_are_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS 1.16 can report the optimum's objective with the start's values; solve_matrix must re-solve."""
    import planner.solver as solver

    p = knapsack(30, seed=1)
    start = np.zeros(30)
    real = solver._solve_matrix_once
    calls: list[bool] = []

    def stale_once(problem, settings, start_values):  # type: ignore[no-untyped-def]
        out = real(problem, settings, start_values)
        calls.append(start_values is not None)
        if start_values is not None:  # what the bug looks like: the right objective, the start's values
            return solver.replace(out, values=np.asarray(start_values, dtype=np.float64))
        return out

    monkeypatch.setattr(solver, "_solve_matrix_once", stale_once)
    out = solve_matrix(p, start=start)
    assert calls == [True, False]
    assert out.values is not None and out.objective is not None
    assert float(p.c @ out.values) == pytest.approx(out.objective)
    assert out.objective > 0


def pyomo_knapsack(n: int, seed: int = 0) -> pyo.ConcreteModel:
    """A 0-1 knapsack as a Pyomo model (maximise value within half the total weight)."""
    rng = np.random.default_rng(seed)
    value, weight = rng.integers(5, 50, n), rng.integers(5, 50, n)
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.cap = pyo.Constraint(expr=sum(int(weight[i]) * m.x[i] for i in range(n)) <= int(weight.sum()) // 2)
    m.o = pyo.Objective(expr=sum(int(value[i]) * m.x[i] for i in range(n)), sense=pyo.maximize)
    return m


def test_resolver_sends_only_the_changed_variables_and_loads_only_what_is_asked() -> None:
    """Told which variables changed, the resolver gives what a fresh solve gives; asked to load nothing, or one
    variable, it leaves every other value as it was."""
    m = pyomo_knapsack(25, seed=5)
    exact = SolverSettings(mip_rel_gap=0.0)
    resolver = Resolver()
    free = resolver.solve(m, exact)
    chosen = [i for i in m.x if m.x[i].value > 0.5]
    twin = pyomo_knapsack(25, seed=5)
    for first, second in [(chosen[0], chosen[1]), (chosen[1], chosen[2])]:
        m.x[first].fix(0)
        m.x[second].fix(0)
        before = {i: m.x[i].value for i in m.x}
        # Every variable fixed or freed since the last solve is named (the first pass frees what it fixed).
        quick = resolver.solve(m, exact, changed=[m.x[i] for i in chosen[:3]], load=False)
        assert {i: m.x[i].value for i in m.x} == before  # nothing loaded
        assert resolver.load_solution() == pytest.approx(quick.objective)  # loaded when asked, with its value
        assert m.x[first].value == 0 and m.x[second].value == 0
        assert pyo.value(m.o) == pytest.approx(quick.objective)
        for i in twin.x:
            twin.x[i].unfix()
        twin.x[first].fix(0)
        twin.x[second].fix(0)
        fresh = solve_pyomo(twin, exact)
        assert quick.objective is not None and free.objective is not None
        assert quick.objective == pytest.approx(fresh.objective)
        assert quick.objective < free.objective
        m.x[first].unfix()
        m.x[second].unfix()
    # Everything free again: the optimum comes back, and only the one variable asked for is loaded.
    m.x[chosen[0]].set_value(0)
    m.x[chosen[3]].set_value(0)
    again = resolver.solve(m, exact, changed=[m.x[i] for i in chosen[:3]], load=[m.x[chosen[0]]])
    assert again.objective == pytest.approx(free.objective)
    assert m.x[chosen[0]].value == pytest.approx(1.0)
    assert m.x[chosen[3]].value == 0


def test_resolver_agrees_with_fresh_solves_as_fixings_change() -> None:
    """Re-solving one HiGHS instance after fixing and unfixing variables gives what a fresh solve gives."""
    m = pyomo_knapsack(25, seed=3)
    exact = SolverSettings(mip_rel_gap=0.0)
    resolver = Resolver()
    free = resolver.solve(m, exact)
    assert free.status is SolveStatus.OPTIMAL and free.objective is not None
    chosen = [i for i in m.x if m.x[i].value > 0.5]
    # Forbid the optimum's first item: worse, and that item stays out.
    m.x[chosen[0]].fix(0)
    forced = resolver.solve(m, exact, warm_start=True)
    twin = pyomo_knapsack(25, seed=3)
    twin.x[chosen[0]].fix(0)
    fresh = solve_pyomo(twin, exact)
    assert forced.objective is not None and fresh.objective is not None
    assert forced.objective == pytest.approx(fresh.objective)
    assert forced.objective < free.objective
    assert m.x[chosen[0]].value == 0
    # Unfixed again, the optimum comes back.
    m.x[chosen[0]].unfix()
    again = resolver.solve(m, exact, warm_start=True)
    assert again.objective == pytest.approx(free.objective)


def test_rows_added_to_a_held_model_count_as_in_a_fresh_solve() -> None:
    """Rows a model gains after its first solve go to the HiGHS instance that holds it (the counts' pop-up linking
    rows): the re-solve gives what a fresh instance given the whole model gives, and a resolver that holds no model
    yet takes the rows with the rest at its first solve."""
    m = pyomo_knapsack(25, seed=7)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(m)
    exact = SolverSettings(mip_rel_gap=0.0)
    resolver = Resolver()
    loose = resolver.solve(m, exact)
    assert loose.objective is not None
    # At most three items whatever their weight: binding at the LP optimum, which takes more than three.
    assert sum(m.x[i].value for i in m.x) > 3.5
    m.few = pyo.Constraint(expr=sum(m.x[i] for i in m.x) <= 3)
    resolver.add_constraints(m, [m.few])
    tight = resolver.solve(m, exact, changed=[])
    fresh = solve_pyomo(m, exact)
    assert tight.objective is not None and fresh.objective is not None
    assert tight.objective == pytest.approx(fresh.objective) and tight.objective < loose.objective - 1
    assert sum(m.x[i].value for i in m.x) == pytest.approx(3.0)
    other = Resolver()
    other.add_constraints(m, [m.few])  # holds nothing yet: a no-op, not a second copy of the row
    assert other.solve(m, exact).objective == pytest.approx(fresh.objective)


def test_resolver_does_not_carry_an_option_into_the_next_solve() -> None:
    """HiGHS keeps an option until it is set again; a re-solve must not inherit the last one's (a count of the
    split once inherited the cutoff of the count before it)."""
    m = pyomo_knapsack(25, seed=3)
    exact = SolverSettings(mip_rel_gap=0.0)
    resolver = Resolver()
    free = resolver.solve(m, exact)
    highs = resolver._opt._solver_model
    defaults = {name: highs.getOptionValue(name) for name in ("objective_bound", "mip_abs_gap")}
    once = {"objective_bound": 1e9, "mip_abs_gap": 123.0}
    resolver.solve(m, replace(exact, extra=once))
    again = resolver.solve(m, exact)
    assert {name: highs.getOptionValue(name) for name in once} == defaults
    assert again.status is SolveStatus.OPTIMAL and again.objective == pytest.approx(free.objective)


def test_each_solve_gets_the_thread_count_it_asks_for() -> None:
    """HiGHS keeps one thread pool per process, sized by the first run: a later solve asking for another number of
    threads failed ("the scheduler has already been initialized to use 2 threads"), as every MIP of a scenario with
    ``solver.threads: 1`` did after any other solve in the same process."""
    p = knapsack(30, seed=4)
    exact = SolverSettings(mip_rel_gap=0.0)
    first = solve_matrix(p, exact)
    m = pyomo_knapsack(25, seed=3)
    by_pyomo = solve_pyomo(m, exact)
    resolver = Resolver()
    for threads in (1, 2, None, 1):
        asked = replace(exact, threads=threads)
        out = solve_matrix(p, asked)
        assert out.status is SolveStatus.OPTIMAL, (threads, out.message)
        assert out.objective == pytest.approx(first.objective) and "not applied" not in out.message
        again = solve_pyomo(m, asked)
        assert again.status is SolveStatus.OPTIMAL and again.objective == pytest.approx(by_pyomo.objective)
        reused = resolver.solve(m, asked)
        assert reused.status is SolveStatus.OPTIMAL and reused.objective == pytest.approx(by_pyomo.objective)


def test_a_thread_count_that_cannot_be_had_while_another_solve_runs_is_reported() -> None:
    """The thread pool can be resized only while no other HiGHS run is in progress in the process (two sessions of
    the app solving at once); a solve asking for another size then runs on the pool as it is and says so."""
    with solver.highs_threads(2) as (granted, note):  # another solve, on two threads, in progress
        assert granted == 2 and note == ""
        out = solve_matrix(knapsack(30, seed=4), SolverSettings(mip_rel_gap=0.0, threads=1))
    assert out.status is SolveStatus.OPTIMAL
    assert "threads 1 not applied" in out.message
    assert solve_matrix(knapsack(30, seed=4), SolverSettings(threads=1)).message.count("not applied") == 0


def test_a_plan_fed_in_while_highs_runs_becomes_its_incumbent_and_can_end_the_solve() -> None:
    """The background hub search hands its plans to HiGHS while it runs: a better plan than HiGHS finds itself is
    the plan returned, proven within the gap; a feed that fails is reported and the solve goes on without it."""
    from planner.model import solution_values

    m = pyomo_knapsack(60, seed=7)
    optimum = solve_pyomo(m, SolverSettings(mip_rel_gap=0.0))
    assert optimum.objective is not None
    best = solution_values(m)
    # HiGHS kept to its root node with its heuristics off: on its own it stops at a poorer plan.
    weak = SolverSettings(
        mip_rel_gap=0.5,
        extra={"mip_max_nodes": 1, "mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False},
    )
    twin = pyomo_knapsack(60, seed=7)
    alone = solve_pyomo(twin, weak)
    assert alone.objective is not None and alone.objective < optimum.objective
    fed = solve_pyomo(twin, weak, feed=lambda: (optimum.objective, best))
    assert fed.status is SolveStatus.OPTIMAL and fed.gap is not None and fed.gap <= 0.5
    assert fed.objective == pytest.approx(optimum.objective)
    assert {i for i in twin.x if twin.x[i].value > 0.5} == {i for i in m.x if m.x[i].value > 0.5}
    assert "1 plan(s) from the feed handed to HiGHS" in fed.message

    def broken() -> tuple[float, dict[str, dict[int, float]]]:
        raise KeyError("no plan")

    failed = solve_pyomo(twin, weak, feed=broken)
    assert failed.objective == pytest.approx(alone.objective)
    assert "the feed failed (KeyError" in failed.message
