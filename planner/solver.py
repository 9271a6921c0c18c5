"""The one module that talks to HiGHS.

Two entry points share one typed outcome:

* :func:`solve_pyomo` solves a Pyomo model through Pyomo's persistent HiGHS interface (``appsi``) and
  loads the solution back into the model only when the termination status says there is one.
* :func:`solve_matrix` solves a problem given as sparse matrices straight through ``highspy``; the
  classic location models use it because building them as arrays is far faster than through Pyomo.

Both return a :class:`SolverOutcome` whose status tells optimal, stopped at the limit with an
incumbent (and its gap), stopped without one, infeasible, unbounded and error apart.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


class SolveStatus(StrEnum):
    """How a solve ended."""

    OPTIMAL = "optimal"
    """Solved to the requested relative gap."""
    TIME_LIMIT = "time_limit"
    """Stopped by the time limit with a feasible incumbent; ``gap`` says how far from proven."""
    NO_SOLUTION = "no_solution"
    """Stopped by a limit before any feasible solution was found."""
    INFEASIBLE = "infeasible"
    """No plan satisfies every hard requirement."""
    UNBOUNDED = "unbounded"
    """The objective can improve without limit (a modelling error)."""
    ERROR = "error"
    """The solver failed."""

    @property
    def has_solution(self) -> bool:
        """Whether a feasible solution is available."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT)


@dataclass(frozen=True)
class SolverSettings:
    """Options passed to HiGHS.

    Attributes
    ----------
    time_limit
        Wall-clock limit in seconds; the best plan found by then is returned with its gap.
    mip_rel_gap
        Relative optimality gap at which the branch and bound stops.
    threads
        Threads HiGHS may use; ``None`` lets HiGHS choose.
    verbose
        Stream the solver log to standard output.
    seed
        HiGHS random seed, so that repeated runs follow the same path.
    extra
        Further HiGHS options by name (e.g. ``{"mip_max_nodes": 1}``), applied last.
    """

    time_limit: float = 60.0
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    verbose: bool = False
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def highs_options(self) -> dict[str, Any]:
        """Return these settings as HiGHS option names and values."""
        options: dict[str, Any] = {
            "time_limit": float(self.time_limit),
            "mip_rel_gap": float(self.mip_rel_gap),
            "random_seed": int(self.seed),
            "output_flag": bool(self.verbose),
        }
        if self.threads is not None:
            options["threads"] = int(self.threads)
        options.update(self.extra)
        return options


_scheduler_lock = threading.Lock()
_scheduler_threads: int | None = None
"""The thread count this process's HiGHS scheduler was last restarted with (``None``: HiGHS's own choice)."""
_runs_in_progress = 0


@contextmanager
def highs_threads(threads: int | None) -> Iterator[tuple[int | None, str]]:
    """Around one HiGHS run that asks for ``threads``: the count to give HiGHS, and a note if it is not that.

    HiGHS keeps one thread scheduler per process, started by the first run with that run's ``threads`` option, and
    a later run asking for another number fails at once ("the scheduler has already been initialized to use 2
    threads"): a scenario with ``solver.threads: 1`` solved after any other solve in the same process (the app, a
    locality's count LPs) failed every MIP. So the scheduler is restarted for a new count. That is safe only while
    no other run is in progress in this process (two sessions of the app solving at once); then this run gets the
    scheduler as it is, and the note says so. A run that asks for no count is given the scheduler's, so that it
    cannot start a default-sized scheduler between another run's restart and that run's start.
    """
    global _scheduler_threads, _runs_in_progress
    with _scheduler_lock:
        if threads is not None and threads != _scheduler_threads and _runs_in_progress == 0:
            highspy.Highs.resetGlobalScheduler(True)
            _scheduler_threads = threads
        granted = _scheduler_threads
        _runs_in_progress += 1
    note = ""
    if threads is not None and granted != threads:
        note = f"; threads {threads} not applied: HiGHS ran on the thread pool of another solve in this process"
    try:
        yield granted, note
    finally:
        with _scheduler_lock:
            _runs_in_progress -= 1


def _with_threads(options: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """``options`` with HiGHS's ``threads`` option set to ``threads``, or removed for ``None``."""
    options = {k: v for k, v in options.items() if k != "threads"}
    if threads is not None:
        options["threads"] = int(threads)
    return options


@dataclass(frozen=True)
class SolverOutcome:
    """What a solve returned.

    Attributes
    ----------
    status
        How the solve ended.
    objective
        Objective value of the incumbent, if there is one.
    bound
        Best proven bound on the objective (equal to the objective for an LP solved to optimality).
    gap
        Relative gap ``|objective - bound| / max(|objective|, 1e-9)``, if both are known.
    solve_seconds
        Wall-clock seconds spent in the solver.
    values
        Column values of the incumbent (matrix path only; the Pyomo path loads them into the model).
    message
        The solver's own word for the termination, for logs.
    """

    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    values: npt.NDArray[np.float64] | None = None
    message: str = ""


@dataclass(frozen=True)
class MatrixProblem:
    """A mixed-integer linear problem ``min/max c x + offset`` s.t. ``row_lower <= A x <= row_upper``.

    Attributes
    ----------
    c
        Objective coefficients, one per column.
    A
        Constraint matrix (any scipy sparse format; converted to CSC).
    row_lower, row_upper
        Row bounds (use ``-inf``/``inf`` for one-sided rows).
    col_lower, col_upper
        Column bounds.
    integrality
        True where the column must take an integer value.
    sense
        ``"min"`` or ``"max"``.
    offset
        Constant added to the objective.
    """

    c: npt.NDArray[np.float64]
    A: sp.spmatrix | sp.sparray
    row_lower: npt.NDArray[np.float64]
    row_upper: npt.NDArray[np.float64]
    col_lower: npt.NDArray[np.float64]
    col_upper: npt.NDArray[np.float64]
    integrality: npt.NDArray[np.bool_]
    sense: Literal["min", "max"] = "min"
    offset: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return (len(self.row_lower), len(self.c))


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap between an incumbent and a bound, as HiGHS defines it.

    Parameters
    ----------
    objective
        Incumbent objective value.
    bound
        Proven bound.

    Returns
    -------
    float or None
        ``|objective - bound| / max(|objective|, 1e-9)``, or ``None`` if either is unknown or not finite.
    """
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


_HIGHS_STATUS = {
    highspy.HighsModelStatus.kOptimal: SolveStatus.OPTIMAL,
    highspy.HighsModelStatus.kModelEmpty: SolveStatus.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: SolveStatus.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: SolveStatus.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
}
_LIMITS = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kSolutionLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kObjectiveBound,
    highspy.HighsModelStatus.kObjectiveTarget,
    highspy.HighsModelStatus.kMemoryLimit,
}


def _agrees(achieved: float, reported: float) -> bool:
    return abs(achieved - reported) <= 1e-6 * max(1.0, abs(reported))


def solve_matrix(
    problem: MatrixProblem,
    settings: SolverSettings | None = None,
    *,
    start: npt.NDArray[np.float64] | None = None,
) -> SolverOutcome:
    """Solve a :class:`MatrixProblem` with highspy.

    With a MIP start and presolve on, HiGHS 1.16 can report the optimal objective while its solution still holds
    the start's values (seen on a set-cover MIP solved in presolve). The values returned are therefore checked
    against the reported objective; if they disagree, the problem is solved again without the start.

    Parameters
    ----------
    problem
        The problem in sparse-matrix form.
    settings
        Solver options; defaults to :class:`SolverSettings`.
    start
        Optional feasible (or partial) column values passed to HiGHS as a MIP start.

    Returns
    -------
    SolverOutcome
        Status, objective, bound, gap, seconds and the incumbent's column values (which achieve ``objective``).
    """
    settings = settings or SolverSettings()
    outcome = _solve_matrix_once(problem, settings, start)
    if start is None or outcome.values is None or outcome.objective is None:
        return outcome
    if _agrees(float(problem.c @ outcome.values) + problem.offset, outcome.objective):
        return outcome
    retry = replace(settings, time_limit=max(settings.time_limit - outcome.solve_seconds, 0.01))
    again = _solve_matrix_once(problem, retry, None)
    return replace(again, solve_seconds=outcome.solve_seconds + again.solve_seconds)


def highs_instance(problem: MatrixProblem) -> highspy.Highs:
    """A silent HiGHS instance holding ``problem``, not yet run (callers that re-solve it keep it).

    Raises
    ------
    ValueError
        If the constraint matrix's shape does not match the row bounds and objective.
    """
    n_rows, n_cols = problem.shape
    A = sp.csc_array(problem.A)
    if A.shape != (n_rows, n_cols):
        raise ValueError(f"constraint matrix has shape {A.shape}, expected {(n_rows, n_cols)}")
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.asarray(problem.c, dtype=np.float64)
    lp.col_lower_ = np.asarray(problem.col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(problem.col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(problem.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(problem.row_upper, dtype=np.float64)
    lp.offset_ = float(problem.offset)
    lp.sense_ = highspy.ObjSense.kMaximize if problem.sense == "max" else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(np.float64)
    if np.any(problem.integrality):
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in problem.integrality
        ]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h


def _solve_matrix_once(
    problem: MatrixProblem, settings: SolverSettings, start: npt.NDArray[np.float64] | None
) -> SolverOutcome:
    is_mip = bool(np.any(problem.integrality))
    h = highs_instance(problem)
    if start is not None and is_mip:
        solution = highspy.HighsSolution()
        solution.col_value = list(np.asarray(start, dtype=np.float64))
        solution.value_valid = True
        h.setSolution(solution)
    options = settings.highs_options()
    with highs_threads(options.get("threads")) as (threads, note):
        for name, value in _with_threads(options, threads).items():
            h.setOptionValue(name, value)
        began = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - began
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_primal = info.primal_solution_status == 2  # kSolutionStatusFeasible
    objective = float(info.objective_function_value) if has_primal else None
    if is_mip:
        bound: float | None = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    else:
        bound = objective if model_status == highspy.HighsModelStatus.kOptimal else None
    if model_status in _HIGHS_STATUS:
        status = _HIGHS_STATUS[model_status]
    elif model_status in _LIMITS:
        status = SolveStatus.TIME_LIMIT if has_primal else SolveStatus.NO_SOLUTION
    else:
        status = SolveStatus.ERROR
    if status is SolveStatus.OPTIMAL and not has_primal:
        status = SolveStatus.ERROR
    values = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_primal else None
    gap = relative_gap(objective, bound)
    if status is SolveStatus.OPTIMAL and gap is None and objective is not None:
        gap = 0.0
    return SolverOutcome(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        solve_seconds=seconds,
        values=values,
        message=h.modelStatusToString(model_status) + note,
    )


def _appsi_highs() -> Any:
    from pyomo.contrib.appsi.solvers import Highs

    return Highs()


PlanValues = Mapping[str, Mapping[Any, float]]
"""A plan as plain values: component name -> index -> value (zero where absent), as
:func:`planner.model.solution_values` gives it."""

PlanFeed = Callable[[], "tuple[float, PlanValues] | None"]
"""Called while HiGHS runs: the best plan found elsewhere so far (its objective and values), or ``None``."""


class _Injector:
    """HiGHS's user-solution callback: hands HiGHS each new plan a :data:`PlanFeed` offers.

    HiGHS asks for user solutions after its set-up, between its root node's cut rounds (about once a second on the
    BNSSG default) and before each dive of its tree search. A feasible plan better than its incumbent becomes its
    incumbent, so its own gap test stops the solve as soon as its bound proves that plan within the requested gap,
    and the plan it returns is the better of its own and the feed's.
    """

    def __init__(self, opt: Any, model: Any, feed: PlanFeed) -> None:
        self._opt, self._model, self._feed = opt, model, feed
        self._last: float | None = None  # objective of the last plan handed over: each plan goes once
        self.handed = 0
        self.error: str | None = None

    def _column_values(self, values: PlanValues) -> npt.NDArray[np.float64]:
        columns = self._opt._pyomo_var_to_solver_var_map
        x = np.zeros(self._opt._solver_model.getNumCol())
        for name, by_index in values.items():
            component = self._model.find_component(name)
            if component is None:
                continue
            for index, value in by_index.items():
                column = columns.get(id(component[index])) if index in component else None
                if column is not None:  # fixed variables are not HiGHS columns
                    x[column] = value
        return x

    def __call__(self, event: Any) -> None:
        if self.error is not None:
            return
        try:
            newest = self._feed()
            if newest is None or newest[0] == self._last:
                return
            self._last = newest[0]
            # HiGHS checks the plan and keeps it only if it is feasible and better than its incumbent.
            status = event.data_in.setSolution(self._column_values(newest[1]))
            self.handed += status == highspy.HighsStatus.kOk
        except Exception as exc:  # a callback must not raise into HiGHS; the solve goes on without the feed
            self.error = f"{type(exc).__name__}: {exc}"


def solve_pyomo(
    model: Any, settings: SolverSettings | None = None, *, warm_start: bool = False, feed: PlanFeed | None = None
) -> SolverOutcome:
    """Solve a Pyomo model with HiGHS through Pyomo's persistent ``appsi`` interface.

    The solution is loaded into the model's variables only when a feasible one exists, so a caller
    reading ``var.value`` after an infeasible solve sees ``None`` rather than stale numbers.

    Parameters
    ----------
    model
        A Pyomo ``ConcreteModel`` with one active objective.
    settings
        Solver options; defaults to :class:`SolverSettings`.
    warm_start
        Pass the variables' current values to HiGHS as a MIP start (a feasible start gives an incumbent at once).
    feed
        Plans found elsewhere while HiGHS runs (the background hub search's), handed to HiGHS as they improve: the
        solve ends as soon as HiGHS's bound proves the best of them within the gap, and returns the better plan.

    Returns
    -------
    SolverOutcome
        Status, objective, bound, gap and seconds (``values`` is ``None``: read the model).
    """
    return _solve_with(_appsi_highs(), model, settings, warm_start, feed=feed)[0]


class Resolver:
    """One HiGHS instance for solving the same Pyomo model many times, changing only which variables are fixed.

    :func:`solve_pyomo` hands the whole model to a new HiGHS instance each time (about 0.8 s for the BNSSG
    default). The locality search of :mod:`planner.heuristic` fixes most site decisions, re-solves and unfixes them
    again, and :mod:`planner.counts` fixes the hub counts pair after pair; here only the changed variable bounds go
    to HiGHS between solves (Pyomo still compares every variable with HiGHS's copy, 0.12 s on the BNSSG default,
    unless :meth:`solve` is told which ones changed). Fixed variables are passed as variables with equal bounds
    rather than substituted into the constraints, so fixing and unfixing never rewrites a constraint. Constraints,
    the objective and the set of variables must not change between solves.
    """

    def __init__(self) -> None:
        self._opt = _appsi_highs()
        self._opt.update_config.treat_fixed_vars_as_params = False
        _skip_update_checks(self._opt)  # only variable bounds change between solves (update_vars stays on)
        self._model: Any = None
        self._results: Any = None

    def solve(
        self,
        model: Any,
        settings: SolverSettings | None = None,
        *,
        warm_start: bool = False,
        changed: Sequence[Any] | None = None,
        load: bool | Sequence[Any] = True,
    ) -> SolverOutcome:
        """Solve ``model`` as :func:`solve_pyomo` does, reusing this HiGHS instance (see the class docstring).

        Parameters
        ----------
        model, settings, warm_start
            As for :func:`solve_pyomo`.
        changed
            The only variables whose bounds or fixing changed since the last solve of the same model; they alone
            are sent to HiGHS, instead of every variable being compared with what HiGHS holds (0.12 s on the
            BNSSG default, for a dual simplex that may take 0.1 s).
        load
            Load the solution into the model's variables: all of them (``True``), none (``False``, when only the
            objective is wanted) or only those given. Loading the BNSSG default's 38,500 values takes 0.25 s, and
            in a locality's count split (60 solves) loading every value took as long as HiGHS itself. Unless all are
            loaded, a warm-started solve's objective is HiGHS's report, unchecked against the plan's values (see
            :func:`_solve_with`); :meth:`load_solution` returns the checked one.
        """
        highs = self._opt._solver_model
        if highs is not None:
            # HiGHS keeps an option until it is set again: each solve starts from its defaults, so that an option
            # one solve set (a cutoff, an absolute gap) does not hold for the next; appsi then sets this one's.
            highs.resetOptions()
        update = self._opt.update_config
        if changed is not None and self._model is model:
            update.update_vars = False
            self._opt.update_variables(list(changed))
        try:
            outcome, self._results = _solve_with(self._opt, model, settings, warm_start, load=load)
        finally:
            update.update_vars = True
        # A failed solve may have left HiGHS's copy half set up: the next one compares every variable again.
        self._model = model if outcome.status is not SolveStatus.ERROR else None
        return outcome

    def add_constraints(self, model: Any, constraints: Sequence[Any]) -> None:
        """Hand HiGHS the rows ``model`` gained since its last solve here, keeping HiGHS's copy and its basis.

        A new instance would take the whole model again (0.3 s for South Gloucestershire) and solve its LP from
        scratch. Before any solve of ``model`` there is nothing to add to: its first solve takes it whole.
        """
        if self._model is model:
            self._opt.add_constraints(list(constraints))

    def load_solution(self) -> float:
        """Load every value of the last solve's plan into its model (after a solve with ``load=False`` whose
        objective was worth having) and return that plan's own objective value."""
        if self._results is None or self._model is None:
            raise RuntimeError("no solve has a plan to load")
        self._results.solution_loader.load_vars()
        return _objective_value(self._model)


def _objective_value(model: Any) -> float:
    """The value of ``model``'s active objective at its variables' current values."""
    import pyomo.environ as pyo

    return float(pyo.value(next(model.component_data_objects(pyo.Objective, active=True))))


def _skip_update_checks(opt: Any, *, variables: bool = True) -> None:
    """Tell appsi that the model it holds will not change its constraints, objective, parameters or set of variables
    (nor, unless ``variables``, its variables' bounds), so a solve does not compare them all with HiGHS's copy."""
    update = opt.update_config
    update.check_for_new_or_removed_constraints = False
    update.check_for_new_or_removed_vars = False
    update.check_for_new_or_removed_params = False
    update.check_for_new_objective = False
    update.update_constraints = False
    update.update_params = False
    update.update_named_expressions = False
    update.update_objective = False
    if not variables:
        update.update_vars = False


def _attach_feed(opt: Any, model: Any, feed: PlanFeed) -> _Injector:
    """Hand ``model`` to a fresh ``opt`` now (its HiGHS instance is created then) and subscribe an :class:`_Injector`
    to HiGHS's user-solution callback; nothing changes before the solve, so appsi is told not to look again."""
    opt.set_instance(model)
    _skip_update_checks(opt, variables=False)
    injector = _Injector(opt, model, feed)
    opt._solver_model.cbMipUserSolution.subscribe(injector)
    return injector


def _solve_with(
    opt: Any,
    model: Any,
    settings: SolverSettings | None,
    warm_start: bool,
    *,
    load: bool | Sequence[Any] = True,
    feed: PlanFeed | None = None,
) -> tuple[SolverOutcome, Any]:
    """Solve with ``opt``; the outcome, and appsi's results when they hold a plan (for a later load). A ``feed``
    needs a fresh ``opt`` (see :func:`solve_pyomo`)."""
    from pyomo.contrib.appsi.base import TerminationCondition

    settings = settings or SolverSettings()
    opt.config.load_solution = False
    opt.config.warmstart = warm_start
    opt.config.stream_solver = settings.verbose
    opt.config.time_limit = float(settings.time_limit)
    opt.config.mip_gap = float(settings.mip_rel_gap)
    options = {k: v for k, v in settings.highs_options().items() if k not in {"time_limit", "mip_rel_gap"}}
    began = time.perf_counter()
    injector: _Injector | None = None
    with highs_threads(options.get("threads")) as (threads, note):
        opt.highs_options = _with_threads(options, threads)
        try:
            if feed is not None:
                injector = _attach_feed(opt, model, feed)
            results = opt.solve(model)
        except Exception as exc:  # the solver's own failure, reported as a status rather than a traceback
            seconds = time.perf_counter() - began
            return SolverOutcome(SolveStatus.ERROR, None, None, None, seconds, message=str(exc) + note), None
    seconds = time.perf_counter() - began
    tc = results.termination_condition
    objective = results.best_feasible_objective
    objective = float(objective) if objective is not None and math.isfinite(objective) else None
    bound = results.best_objective_bound
    bound = float(bound) if bound is not None and math.isfinite(bound) else None
    if tc == TerminationCondition.optimal:
        status = SolveStatus.OPTIMAL
    elif tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        status = SolveStatus.INFEASIBLE
    elif tc == TerminationCondition.unbounded:
        status = SolveStatus.UNBOUNDED
    elif tc in (
        TerminationCondition.maxTimeLimit,
        TerminationCondition.maxIterations,
        TerminationCondition.interrupted,
        TerminationCondition.objectiveLimit,
    ):
        status = SolveStatus.TIME_LIMIT if objective is not None else SolveStatus.NO_SOLUTION
    else:
        status = SolveStatus.ERROR
    if status.has_solution and objective is None:
        status = SolveStatus.ERROR
    if status.has_solution and load is not False:
        results.solution_loader.load_vars(None if load is True else list(load))
        started = warm_start or (injector is not None and injector.handed > 0)
        if started and objective is not None and load is True:
            # HiGHS 1.16 may report the optimum's objective yet return the start's values (see solve_matrix): the
            # values loaded are the plan, so the objective and gap must be theirs.
            achieved = _objective_value(model)
            if not _agrees(achieved, objective):
                objective = achieved
                gap_now = relative_gap(objective, bound)
                if status is SolveStatus.OPTIMAL and (gap_now is None or gap_now > settings.mip_rel_gap):
                    status = SolveStatus.TIME_LIMIT
    gap = relative_gap(objective, bound)
    if status is SolveStatus.OPTIMAL and gap is None:
        gap = 0.0
    message = str(tc) + note
    if injector is not None:
        message += f"; {injector.handed} plan(s) from the feed handed to HiGHS"
        if injector.error is not None:
            message += f"; the feed failed ({injector.error})"
    outcome = SolverOutcome(status, objective, bound, gap, seconds, None, message)
    return outcome, results if status.has_solution else None
