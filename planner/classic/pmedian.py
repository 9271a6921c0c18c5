"""The weighted p-median model: open ``p`` sites minimising the total weighted cost to each demand's nearest one.

How it is solved (``method="auto"``), each step measured by ``bench/bench_classic.py``:

1. greedy + fast interchange + a short iterated local search give an incumbent (milliseconds);
2. a subgradient Lagrangian bound with a Lagrangian heuristic; the penalty tests then close sites, fix sites
   open and drop arcs that no plan cheaper than the incumbent can use (provably safe reductions only);
3. if the bound already meets the incumbent, done. Otherwise the reduced problem goes either to HiGHS as the
   radius (Cornuejols-Nemhauser-Wolsey / Elloumi) formulation over the surviving arcs, with the incumbent as MIP
   start, when it is small; or to a Lagrangian tree search (Beasley 1985) when many arcs survive, which is what
   happens with small ``p`` and a wide LP gap (the tree falls back to HiGHS if it runs out of its time share).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.classic import _pmedian_core as core
from planner.classic._base import (
    BoolArray,
    FloatArray,
    IntArray,
    LocationModel,
    LocationResult,
    Stopwatch,
    as_cost_matrix,
    as_names,
    as_predefined,
    as_vector,
    check_p,
    check_solve_args,
    empty_result,
    nearest_open,
)
from planner.classic._matrix import MatrixAssembler
from planner.errors import ModelInputError, where
from planner.solver import MatrixProblem, SolverOutcome, SolverSettings, SolveStatus, relative_gap, solve_matrix

Method = Literal["auto", "lagrangian", "mip", "radius", "classic"]
METHODS: tuple[str, ...] = ("auto", "lagrangian", "mip", "radius", "classic")

#: ``auto`` hands the reduced problem to HiGHS when at most this many arcs per demand point survive the root.
MIP_ARCS_PER_ROW = 8.0
#: Share of the remaining time the Lagrangian tree may use before ``auto`` falls back to HiGHS.
TREE_TIME_SHARE = 0.5


def check_reachable(cost: FloatArray, weights: FloatArray, names: Any) -> None:
    """Every demand point with a positive weight must reach at least one site at finite cost."""
    stranded = np.flatnonzero((weights > 0) & ~np.isfinite(cost).any(axis=1))
    if stranded.size:
        k = int(stranded[0])
        raise ModelInputError(
            f"{where('cost', row=names[k])}: this demand point cannot reach any site (every cost is infinite); "
            f"{stranded.size} demand point(s) in all"
        )


def p_model_fields(
    cost: npt.ArrayLike,
    p_facilities: int,
    weights: npt.ArrayLike | None,
    predefined_facilities: npt.ArrayLike | None,
    demand_names: Any,
    site_names: Any,
) -> tuple[FloatArray, FloatArray, BoolArray, pd.Index, pd.Index, int]:
    """Validated fields of a p-site model (p-median, p-center): cost, weights, predefined mask, names and ``p``."""
    C = as_cost_matrix(cost)
    n, m = C.shape
    w = as_vector(weights, n, what="weights", default=1.0)
    pre = as_predefined(predefined_facilities, m)
    p = check_p(p_facilities, m, int(pre.sum()))
    dn = as_names(demand_names, n, what="demand")
    check_reachable(C, w, dn)
    return C, w, pre, dn, as_names(site_names, m, what="site"), p


@dataclass(frozen=True, eq=False)
class PMedian(LocationModel):
    """Weighted p-median: minimise ``sum_i w_i * cost(i, nearest open site)`` with exactly ``p`` sites open.

    Build it with :meth:`from_cost_matrix` or :meth:`~LocationModel.from_geodataframe`; :meth:`solve` returns a
    new :class:`LocationResult` every call and never changes the model.

    Attributes
    ----------
    p
        Number of sites to open (predefined sites count towards it).
    """

    kind = "p-median"

    p: int

    @classmethod
    def from_cost_matrix(
        cls,
        cost: npt.ArrayLike,
        *,
        p_facilities: int,
        weights: npt.ArrayLike | None = None,
        predefined_facilities: npt.ArrayLike | None = None,
        demand_names: Any = None,
        site_names: Any = None,
    ) -> Self:
        """Validate the inputs and build the model.

        Parameters
        ----------
        cost
            ``n_demand x n_sites`` non-negative costs; ``inf`` marks a pair that cannot be used.
        p_facilities
            Number of sites to open.
        weights
            Demand weight per demand point (default 1).
        predefined_facilities
            Sites that must be open: indices, or a boolean mask over the sites.
        demand_names, site_names
            Optional labels (unique).

        Returns
        -------
        PMedian

        Raises
        ------
        ModelInputError
            On a malformed matrix (NaN, negative), a weight of the wrong length or sign, ``p`` outside
            ``[number of predefined sites, number of sites]``, or a weighted demand point that reaches no site.
        """
        return cls(*p_model_fields(cost, p_facilities, weights, predefined_facilities, demand_names, site_names))

    def solve(
        self,
        time_limit: float = 60.0,
        *,
        mip_rel_gap: float = 1e-6,
        threads: int | None = None,
        verbose: bool = False,
        method: Method = "auto",
    ) -> LocationResult:
        """Solve to the requested gap or until the time limit, and return the plan.

        Parameters
        ----------
        time_limit
            Wall-clock seconds for the whole solve (heuristics, bounds and HiGHS).
        mip_rel_gap
            Relative gap at which the search stops.
        threads
            Threads HiGHS may use (``None``: HiGHS decides).
        verbose
            Stream HiGHS's log.
        method
            ``"auto"`` (default, see the module docstring), ``"lagrangian"`` (Lagrangian tree only), ``"mip"``
            (root reductions, then HiGHS), or the plain formulations kept for benchmarking: ``"radius"``
            (incumbent + radius formulation, no Lagrangian reductions) and ``"classic"`` (``x_ij <= y_j`` over
            every pair, no start: what spopt builds).

        Returns
        -------
        LocationResult
            ``optimal`` with the plan, or ``time_limit`` with the best plan found and its gap.
        """
        if method not in METHODS:
            raise ModelInputError(f"{where('method', value=method)}: choose one of {', '.join(METHODS)}")
        check_solve_args(mip_rel_gap, threads)
        return _PMedianSolve(self, time_limit, mip_rel_gap, threads, verbose, method).run()


class _PMedianSolve:
    """One solve of a :class:`PMedian` (kept out of the model so that the model stays immutable)."""

    def __init__(
        self, model: PMedian, time_limit: float, gap: float, threads: int | None, verbose: bool, method: str
    ) -> None:
        self.model = model
        self.clock = Stopwatch(time_limit)
        self.gap = gap
        self.settings = dict(threads=threads, verbose=verbose)
        self.method = method
        self.build_seconds = 0.0
        self.stats: dict[str, Any] = {"method": method}
        # Rows with zero weight cannot change the objective: they are left out and assigned at the end.
        self.rows = np.flatnonzero(model.weights > 0)
        C = model.weights[self.rows, None] * model.cost[self.rows]
        finite = np.isfinite(C)
        self.finite = finite
        top = float(C[finite].max()) if finite.any() else 1.0
        # A finite stand-in for unusable pairs: any plan using one costs more than every plan that does not.
        self.big = top * (len(self.rows) + 1) + 1.0
        self.C = np.where(finite, C, self.big)
        self.integer = bool(np.all(np.equal(np.round(C[finite]), C[finite])))
        self.fixed = np.array(model.predefined)
        self.build_seconds += self.clock.elapsed()

    # ---------------------------------------------------------------------------------------------- pipeline

    def run(self) -> LocationResult:
        model, C = self.model, self.C
        p, m = model.p, model.n_sites
        if len(self.rows) == 0 or p == m or p == int(self.fixed.sum()):
            return self._trivial()
        began = time.perf_counter()
        if self.method == "classic":
            return self._mip_only(classic=True)
        incumbent = core.interchange(C, core.greedy(C, p, self.fixed), self.fixed, self.clock.deadline)
        incumbent = core.perturbation_search(
            C, incumbent, self.fixed, rounds=30, seed=0, deadline=self.clock.began + 0.2 * self._limit()
        )
        self.stats["heuristic_objective"] = self._real(incumbent.cost)
        self.stats["heuristic_seconds"] = time.perf_counter() - began
        if incumbent.cost >= self.big or self.method == "radius":
            return self._mip_only(classic=False, incumbent=incumbent if incumbent.cost < self.big else None)

        began = time.perf_counter()
        keep_tol = 1e-9 * abs(incumbent.cost) + 1e-9
        root = core.lagrangian_root(
            C,
            p,
            self.fixed,
            incumbent,
            deadline=self.clock.deadline,
            keep_tol=keep_tol,
            stop_gap=self._gap_abs(incumbent.cost),
        )
        incumbent = root.incumbent
        bound = self._round_bound(root.bound)
        self.stats.update(
            root_bound=bound,
            root_iterations=root.iterations,
            root_heuristic_calls=root.heuristic_calls,
            root_seconds=time.perf_counter() - began,
            sites_closed=int((~root.active).sum()),
            sites_forced=int((root.forced & ~self.fixed).sum()),
        )
        if self._closed(incumbent.cost, bound) or self.clock.expired():
            return self._finish(incumbent.open, bound)

        cols = np.flatnonzero(root.active)
        Cr = np.ascontiguousarray(C[:, cols])
        forced_r, fixed_r = root.forced[cols], self.fixed[cols]
        rel = core.relax(Cr, root.lam, p, forced_r, ~forced_r)
        arcs = self._arcs(Cr, cols, root.lam, rel, incumbent, keep_tol)
        per_row = float(arcs.sum()) / len(self.rows)
        self.stats["arcs_per_demand"] = per_row
        use_tree = self.method == "lagrangian" or (self.method == "auto" and per_row > MIP_ARCS_PER_ROW)
        if use_tree:
            began = time.perf_counter()
            share = 1.0 if self.method == "lagrangian" else TREE_TIME_SHARE
            tree = core.branch_and_bound(
                Cr,
                p,
                fixed_r,
                forced_r,
                root.lam,
                core.Incumbent(incumbent.open[cols], incumbent.cost),
                deadline=time.perf_counter() + share * self.clock.remaining(),
                gap_abs=self._gap_abs(incumbent.cost),
                integer=self.integer,
            )
            self.stats.update(
                tree_nodes=tree.nodes, tree_seconds=time.perf_counter() - began, tree_complete=tree.complete
            )
            if tree.incumbent.cost < incumbent.cost:
                full = np.zeros(m, dtype=bool)
                full[cols[tree.incumbent.open]] = True
                incumbent = core.Incumbent(full, tree.incumbent.cost)
            bound = max(bound, self._round_bound(tree.bound))
            if tree.complete or self.method == "lagrangian" or self.clock.expired():
                return self._finish(incumbent.open, bound)
            rel = core.relax(Cr, root.lam, p, forced_r, ~forced_r)
            arcs = self._arcs(Cr, cols, root.lam, rel, incumbent, keep_tol)
        return self._reduced_mip(cols, arcs, forced_r, incumbent, bound)

    def _arcs(
        self,
        Cr: FloatArray,
        cols: IntArray,
        lam: FloatArray,
        rel: core.Relaxation,
        incumbent: core.Incumbent,
        keep_tol: float,
    ) -> BoolArray:
        """Arcs some plan no dearer than the incumbent may use, always including the incumbent's own."""
        arcs = core.arc_mask(Cr, lam, rel, incumbent.cost + keep_tol) & self.finite[:, cols]
        open_r = np.flatnonzero(incumbent.open[cols])
        own = open_r[np.argmin(Cr[:, open_r], axis=1)]
        arcs[np.arange(len(own)), own] = True
        return arcs

    # ---------------------------------------------------------------------------------------------- MIP steps

    def _reduced_mip(
        self, cols: IntArray, arcs: BoolArray, forced: BoolArray, incumbent: core.Incumbent, bound: float
    ) -> LocationResult:
        """HiGHS on the radius formulation over the arcs that survived the reductions."""
        began = time.perf_counter()
        problem, start = radius_problem(self.C[:, cols], arcs, self.model.p, forced, incumbent.open[cols])
        self.build_seconds += time.perf_counter() - began
        outcome = self._highs(problem, start)
        chosen = incumbent.open
        if outcome.values is not None:
            candidate = np.zeros(self.model.n_sites, dtype=bool)
            candidate[cols[outcome.values[: len(cols)] > 0.5]] = True
            if int(candidate.sum()) == self.model.p and core.solution_cost(self.C, candidate) < incumbent.cost:
                chosen = candidate
        if outcome.status is SolveStatus.OPTIMAL or outcome.status is SolveStatus.INFEASIBLE:
            # The reduced model holds every plan costing at most the incumbent, so its optimum is the optimum.
            mip_bound = core.solution_cost(self.C, chosen)
            mip_bound = min(mip_bound, outcome.bound) if outcome.bound is not None else mip_bound
        elif outcome.bound is not None:
            mip_bound = min(incumbent.cost, outcome.bound)
        else:
            mip_bound = -math.inf
        if outcome.status is SolveStatus.ERROR:
            self.stats["solver_message"] = outcome.message
        return self._finish(chosen, max(bound, self._round_bound(mip_bound)))

    def _mip_only(self, *, classic: bool, incumbent: core.Incumbent | None = None) -> LocationResult:
        """The plain formulations (no Lagrangian reductions) over every usable pair."""
        m, p = self.model.n_sites, self.model.p
        began = time.perf_counter()
        cols = np.arange(m)
        if classic:
            problem, start = classic_problem(self.C, self.finite, p, self.fixed), None
        else:
            start_open = incumbent.open if incumbent is not None else None
            problem, start = radius_problem(self.C, self.finite, p, self.fixed, start_open, elloumi_cap=True)
        self.build_seconds += time.perf_counter() - began
        outcome = self._highs(problem, start)
        if outcome.status is SolveStatus.INFEASIBLE:
            return self._result_without_plan(
                SolveStatus.INFEASIBLE,
                f"no choice of {p} sites reaches every weighted demand point at finite cost",
            )
        chosen: BoolArray | None = incumbent.open if incumbent is not None else None
        if outcome.values is not None:
            candidate = np.zeros(m, dtype=bool)
            candidate[cols[outcome.values[:m] > 0.5]] = True
            if int(candidate.sum()) == p and (
                chosen is None or core.solution_cost(self.C, candidate) < core.solution_cost(self.C, chosen)
            ):
                chosen = candidate
        if chosen is None:
            return self._result_without_plan(outcome.status, outcome.message)
        bound = outcome.bound if outcome.bound is not None else -math.inf
        if outcome.status is SolveStatus.OPTIMAL:
            bound = min(core.solution_cost(self.C, chosen), bound) if math.isfinite(bound) else bound
        return self._finish(chosen, self._round_bound(bound))

    def _highs(self, problem: MatrixProblem, start: FloatArray | None) -> SolverOutcome:
        settings = SolverSettings(
            time_limit=max(self.clock.remaining(), 0.01),
            mip_rel_gap=self.gap,
            threads=self.settings["threads"],
            verbose=bool(self.settings["verbose"]),
        )
        began = time.perf_counter()
        outcome = solve_matrix(problem, settings, start=start)
        rows, cols = problem.shape
        self.stats.update(
            mip_rows=rows,
            mip_cols=cols,
            mip_nonzeros=int(problem.A.nnz),
            mip_seconds=time.perf_counter() - began,
            mip_status=outcome.status.value,
        )
        return outcome

    # ---------------------------------------------------------------------------------------------- results

    def _limit(self) -> float:
        return self.clock.deadline - self.clock.began

    def _gap_abs(self, ub: float) -> float:
        return max(self.gap * abs(ub), 1e-9 * abs(ub))

    def _closed(self, ub: float, bound: float) -> bool:
        return ub - bound <= self._gap_abs(ub)

    def _round_bound(self, bound: float) -> float:
        """Integer costs: the optimum is an integer, so a bound can be rounded up (guarding float noise)."""
        if self.integer and math.isfinite(bound):
            return float(math.ceil(bound - 1e-7 - 1e-9 * abs(bound)))
        return float(bound)

    def _real(self, cost: float) -> float | None:
        return float(cost) if cost < self.big else None

    def _trivial(self) -> LocationResult:
        """Every weight zero, or nothing to choose: open the predefined sites plus the cheapest others."""
        model = self.model
        open_mask = self.fixed.copy()
        if int(open_mask.sum()) < model.p:
            C = self.C if len(self.rows) else model.cost
            open_mask = core.greedy(np.where(np.isfinite(C), C, self.big), model.p, self.fixed)
        cost = core.solution_cost(self.C, open_mask) if len(self.rows) else 0.0
        return self._finish(open_mask, cost if cost < self.big else -math.inf)

    def _result_without_plan(self, status: SolveStatus, message: str) -> LocationResult:
        return empty_result(
            self.model,
            status,
            message,
            build_seconds=self.build_seconds,
            solve_seconds=self.clock.elapsed() - self.build_seconds,
            stats=self.stats,
        )

    def _finish(self, open_mask: BoolArray, bound: float) -> LocationResult:
        model = self.model
        cost = core.solution_cost(self.C, open_mask) if len(self.rows) else 0.0
        if cost >= self.big:
            return self._result_without_plan(
                SolveStatus.NO_SOLUTION, "stopped before finding a plan that reaches every demand point"
            )
        open_sites = np.flatnonzero(open_mask).astype(np.int64)
        assignment, assigned = nearest_open(model.cost, open_sites)
        objective = float(np.nansum(model.weights * np.where(assignment >= 0, assigned, 0.0)))
        bound = min(bound, objective) if math.isfinite(bound) else bound
        gap = relative_gap(objective, bound) if math.isfinite(bound) else None
        optimal = gap is not None and gap <= self.gap + 1e-12
        status = SolveStatus.OPTIMAL if optimal else SolveStatus.TIME_LIMIT
        message = "proven optimal" if optimal else "stopped at the time limit with the best plan found"
        total = self.clock.elapsed()
        return model.result(
            status,
            objective=objective,
            bound=float(bound) if math.isfinite(bound) else None,
            gap=gap,
            open_sites=open_sites,
            assignment=assignment,
            assigned_cost=assigned,
            build_seconds=self.build_seconds,
            solve_seconds=max(total - self.build_seconds, 0.0),
            stats=self.stats,
            message=message,
        )


# -------------------------------------------------------------------------------------------------- formulations


def radius_problem(
    C: FloatArray,
    arcs: BoolArray,
    p: int,
    forced: BoolArray,
    start_open: BoolArray | None,
    *,
    elloumi_cap: bool = False,
) -> tuple[MatrixProblem, FloatArray | None]:
    """The radius formulation (Cornuejols, Nemhauser and Wolsey 1980; Elloumi 2010) over the given arcs.

    For demand row ``i`` with distinct arc costs ``D_1 < ... < D_K`` the cost is
    ``D_1 + sum_k (D_k - D_{k-1}) z_ik`` where ``z_ik = 1`` means "no open site cheaper than ``D_k``". The
    constraints are written incrementally, one row per level, ``sum_{j at level k} y_j + z_i,k+1 - z_ik >= [k = 1]``,
    so each arc appears once (the textbook form repeats every closer site in every level: quadratic size).
    The last level has no ``z`` after it: row ``i`` must be served by one of its arcs.

    Parameters
    ----------
    C
        Weighted costs of the columns in play.
    arcs
        Pairs a plan may use.
    p
        Number of columns to open.
    forced
        Columns fixed open.
    start_open
        Incumbent open columns for a MIP start (``None``: no start).
    elloumi_cap
        Drop levels that cannot be reached: at most ``m - p`` columns are closed, so every row is served within
        its ``(m - p + 1)``-th cheapest cost (and within its cheapest forced column).

    Returns
    -------
    (MatrixProblem, start)
        The problem (columns: ``open_site`` then ``beyond_level``) and the start vector (or ``None``).
    """
    n, m = C.shape
    arcs = arcs.copy()
    if elloumi_cap:
        k = m - p
        cap = np.partition(C, k, axis=1)[:, k] if k < m else np.full(n, np.inf)
        if forced.any():
            cap = np.minimum(cap, C[:, forced].min(axis=1))
        arcs &= cap[:, None] >= C
    ii, jj = np.nonzero(arcs)
    cc = C[ii, jj]
    order = np.lexsort((cc, ii))
    ii, jj, cc = ii[order], jj[order], cc[order]
    new_level = np.ones(len(ii), dtype=bool)
    new_level[1:] = (ii[1:] != ii[:-1]) | (cc[1:] != cc[:-1])
    level = np.cumsum(new_level) - 1
    level_row = ii[new_level]
    level_cost = cc[new_level]
    n_levels = len(level_row)
    first = np.ones(n_levels, dtype=bool)
    first[1:] = level_row[1:] != level_row[:-1]
    later = np.flatnonzero(~first)

    asm = MatrixAssembler()
    y = asm.add_columns("open_site", np.zeros(m), lower=forced.astype(np.float64), upper=1.0, integer=True)
    z = asm.add_columns("beyond_level", level_cost[later] - level_cost[later - 1], lower=0.0, upper=1.0)
    z_of_level = np.full(n_levels, -1, dtype=np.int64)
    z_of_level[later] = z.start + np.arange(len(later))
    # Level rows: the sites at this level, plus "beyond the next level", minus "beyond this level".
    r_site, c_site = level, y.start + jj
    r_next, c_next = later - 1, z_of_level[later]
    r_this, c_this = later, z_of_level[later]
    asm.add_rows(
        "serve_within_level",
        n_levels,
        np.concatenate([r_site, r_next, r_this]),
        np.concatenate([c_site, c_next, c_this]),
        np.concatenate([np.ones(len(r_site)), np.ones(len(r_next)), -np.ones(len(r_this))]),
        lower=first.astype(np.float64),
    )
    asm.add_rows("open_count", 1, np.zeros(m), y.start + np.arange(m), 1.0, lower=float(p), upper=float(p))
    offset = float(level_cost[first].sum())
    problem = asm.problem(offset=offset)

    start: FloatArray | None = None
    if start_open is not None:
        open_at_level = np.bincount(level, weights=start_open[jj].astype(np.float64), minlength=n_levels) > 0
        # z of a level is 1 while no earlier level of the row has an open site.
        seen = np.cumsum(open_at_level)
        before: IntArray = seen - open_at_level
        row_base: IntArray = np.repeat(before[first], np.diff(np.append(np.flatnonzero(first), n_levels)))
        open_before = (before - row_base) > 0
        served = np.bincount(level_row, weights=open_at_level.astype(np.float64), minlength=n)
        rows_with_levels = np.unique(level_row)
        if np.all(served[rows_with_levels] > 0) and len(rows_with_levels) == n:
            start = np.zeros(asm.n_cols)
            start[y] = start_open.astype(np.float64)
            start[z] = (~open_before[later]).astype(np.float64)
    return problem, start


def classic_problem(C: FloatArray, usable: BoolArray, p: int, forced: BoolArray) -> MatrixProblem:
    """The textbook formulation: ``sum_j x_ij = 1``, ``x_ij <= y_j``, ``sum_j y_j = p`` over every usable pair."""
    n, m = C.shape
    ii, jj = np.nonzero(usable)
    k = len(ii)
    asm = MatrixAssembler()
    y = asm.add_columns("open_site", np.zeros(m), lower=forced.astype(np.float64), upper=1.0, integer=True)
    x = asm.add_columns("assign", C[ii, jj], lower=0.0, upper=1.0)
    asm.add_rows("assign_once", n, ii, x.start + np.arange(k), 1.0, lower=1.0, upper=1.0)
    asm.add_rows(
        "assign_to_open",
        k,
        np.concatenate([np.arange(k), np.arange(k)]),
        np.concatenate([x.start + np.arange(k), y.start + jj]),
        np.concatenate([np.ones(k), -np.ones(k)]),
        upper=0.0,
    )
    asm.add_rows("open_count", 1, np.zeros(m), y.start + np.arange(m), 1.0, lower=float(p), upper=float(p))
    return asm.problem()
