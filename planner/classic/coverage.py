"""Coverage models: the maximal covering location problem (MCLP) and the location set covering problem (LSCP).

A demand point is *covered* by a site whose cost is at most the service radius. Both models work on the
boolean coverage matrix; demand points with identical coverage are merged first (their weights summed), which is
exact and often shrinks real instances a lot, and a greedy cover gives HiGHS a MIP start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt

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
    check_radius,
    check_solve_args,
    empty_result,
    nearest_open,
)
from planner.classic._matrix import MatrixAssembler
from planner.errors import ModelInputError, where
from planner.solver import MatrixProblem, SolverOutcome, SolverSettings, SolveStatus, relative_gap, solve_matrix


def unique_rows(mask: BoolArray) -> tuple[BoolArray, IntArray]:
    """Distinct rows of a boolean matrix and, for every row, the index of its distinct row."""
    packed = np.packbits(mask, axis=1)
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    return mask[first], inverse.reshape(-1).astype(np.int64)


def greedy_cover(cover: BoolArray, forced: BoolArray) -> BoolArray:
    """Chvatal's greedy set cover: open the site covering most uncovered rows until every row is covered."""
    is_open = forced.copy()
    uncovered = ~(cover[:, is_open].any(axis=1)) if is_open.any() else np.ones(cover.shape[0], dtype=bool)
    while uncovered.any():
        gain = uncovered.astype(np.float64) @ cover
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break  # the rest cannot be covered (callers check coverage before solving)
        is_open[j] = True
        uncovered &= ~cover[:, j]
    return is_open


def greedy_max_cover(cover: BoolArray, weights: FloatArray, p: int, forced: BoolArray) -> BoolArray:
    """Open ``p`` sites one at a time, each time the one adding the most uncovered weight."""
    is_open = forced.copy()
    uncovered = ~(cover[:, is_open].any(axis=1)) if is_open.any() else np.ones(cover.shape[0], dtype=bool)
    while int(is_open.sum()) < p:
        gain = (weights * uncovered) @ cover
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        uncovered &= ~cover[:, j]
    return is_open


def coverage_mask(cost: FloatArray, radius: float) -> BoolArray:
    """Pairs within the service radius (``cost <= radius``, as spopt defines coverage)."""
    return np.asarray(cost <= radius)


def _settings(clock: Stopwatch, gap: float, threads: int | None, verbose: bool) -> SolverSettings:
    return SolverSettings(time_limit=max(clock.remaining(), 0.01), mip_rel_gap=gap, threads=threads, verbose=verbose)


def _open_from(outcome: SolverOutcome, y: slice, m: int) -> BoolArray | None:
    if outcome.values is None:
        return None
    return np.asarray(outcome.values[y][:m] > 0.5)


def _mip_stats(problem: MatrixProblem, outcome: SolverOutcome) -> dict[str, Any]:
    rows, cols = problem.shape
    return {
        "mip_rows": rows,
        "mip_cols": cols,
        "mip_nonzeros": int(problem.A.nnz),
        "mip_seconds": outcome.solve_seconds,
        "mip_status": outcome.status.value,
    }


@dataclass(frozen=True, eq=False)
class LSCP(LocationModel):
    """Location set covering: open the fewest sites so that every demand point is within the service radius.

    Attributes
    ----------
    service_radius
        Largest cost at which a site covers a demand point.
    """

    kind = "lscp"

    service_radius: float

    @classmethod
    def from_cost_matrix(
        cls,
        cost: npt.ArrayLike,
        *,
        service_radius: float,
        weights: npt.ArrayLike | None = None,
        predefined_facilities: npt.ArrayLike | None = None,
        demand_names: Any = None,
        site_names: Any = None,
    ) -> Self:
        """Validate the inputs and build the model.

        Parameters
        ----------
        cost
            ``n_demand x n_sites`` non-negative costs (``inf``: never covers).
        service_radius
            Largest cost at which a site covers a demand point.
        weights
            Demand weights, only reported (every demand point must be covered whatever its weight).
        predefined_facilities
            Sites that must be open (indices or boolean mask).
        demand_names, site_names
            Optional labels.

        Returns
        -------
        LSCP

        Raises
        ------
        ModelInputError
            On malformed inputs, or when some demand point has no site within the radius (the message names the
            first such point, its nearest cost and how many there are).
        """
        C = as_cost_matrix(cost)
        n, m = C.shape
        radius = check_radius(service_radius)
        dn = as_names(demand_names, n, what="demand")
        reach = coverage_mask(C, radius).any(axis=1)
        if not reach.all():
            bad = np.flatnonzero(~reach)
            k = int(bad[0])
            raise ModelInputError(
                f"{where('cost', row=dn[k])}: no site within the service radius {radius:g} (nearest at "
                f"{float(C[k].min()):g}); {bad.size} of {n} demand points cannot be covered, so no set of sites "
                "covers everyone"
            )
        return cls(
            C,
            as_vector(weights, n, what="weights", default=1.0),
            as_predefined(predefined_facilities, m),
            dn,
            as_names(site_names, m, what="site"),
            radius,
        )

    def solve(
        self, time_limit: float = 60.0, *, mip_rel_gap: float = 1e-6, threads: int | None = None, verbose: bool = False
    ) -> LocationResult:
        """Find the smallest covering set of sites (see :meth:`PMedian.solve` for the parameters)."""
        check_solve_args(mip_rel_gap, threads)
        clock = Stopwatch(time_limit)
        m = self.n_sites
        cover = coverage_mask(self.cost, self.service_radius)
        forced = np.array(self.predefined)
        need = ~cover[:, forced].any(axis=1) if forced.any() else np.ones(self.n_demand, dtype=bool)
        rows, _ = unique_rows(cover[need]) if need.any() else (np.zeros((0, m), dtype=bool), None)
        start_open = greedy_cover(rows, forced)
        asm = MatrixAssembler()
        y = asm.add_columns("open_site", np.ones(m), lower=forced.astype(np.float64), upper=1.0, integer=True)
        ii, jj = np.nonzero(rows)
        asm.add_rows("cover", rows.shape[0], ii, y.start + jj, 1.0, lower=1.0)
        problem = asm.problem()
        build = clock.elapsed()
        outcome = solve_matrix(
            problem, _settings(clock, mip_rel_gap, threads, verbose), start=start_open.astype(np.float64)
        )
        stats = {
            "distinct_rows": int(rows.shape[0]),
            "greedy_sites": int(start_open.sum()),
            **_mip_stats(problem, outcome),
        }
        chosen = _open_from(outcome, y, m)
        if chosen is None:
            if outcome.status is SolveStatus.INFEASIBLE or outcome.status is SolveStatus.ERROR:
                return empty_result(
                    self,
                    outcome.status,
                    outcome.message,
                    build_seconds=build,
                    solve_seconds=clock.elapsed() - build,
                    stats=stats,
                )
            chosen = start_open  # stopped before HiGHS found a cover: the greedy one is still a plan
        return self._result(chosen, outcome, build, clock.elapsed() - build, stats)

    def _result(
        self, chosen: BoolArray, outcome: SolverOutcome, build: float, solve: float, stats: dict[str, Any]
    ) -> LocationResult:
        open_sites = np.flatnonzero(chosen).astype(np.int64)
        assignment, assigned = nearest_open(self.cost, open_sites)
        covered: BoolArray = np.asarray(coverage_mask(self.cost[:, open_sites], self.service_radius).any(axis=1))
        objective = float(len(open_sites))
        # Without a bound from HiGHS (stopped early), the sites fixed open (or one, if anything needs covering) are one.
        trivial = float(max(int(self.predefined.sum()), 1 if self.weights.size else 0))
        bound = max(float(np.ceil(outcome.bound - 1e-6)), trivial) if outcome.bound is not None else trivial
        bound = min(bound, objective)
        gap = relative_gap(objective, bound)
        status = SolveStatus.OPTIMAL if gap is not None and gap <= 1e-9 else SolveStatus.TIME_LIMIT
        return self.result(
            status,
            objective=objective,
            bound=bound,
            gap=gap,
            open_sites=open_sites,
            assignment=assignment,
            assigned_cost=assigned,
            build_seconds=build,
            solve_seconds=solve,
            stats=stats,
            covered=covered,
        )


@dataclass(frozen=True, eq=False)
class MCLP(LocationModel):
    """Maximal covering: open exactly ``p`` sites to maximise the demand weight within the service radius.

    Attributes
    ----------
    service_radius
        Largest cost at which a site covers a demand point.
    p
        Number of sites to open (predefined sites count towards it).
    """

    kind = "mclp"

    service_radius: float
    p: int

    @classmethod
    def from_cost_matrix(
        cls,
        cost: npt.ArrayLike,
        *,
        service_radius: float,
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
            ``n_demand x n_sites`` non-negative costs (``inf``: never covers).
        service_radius
            Largest cost at which a site covers a demand point.
        p_facilities
            Number of sites to open.
        weights
            Demand weight per demand point (default 1).
        predefined_facilities
            Sites that must be open (indices or boolean mask).
        demand_names, site_names
            Optional labels.

        Returns
        -------
        MCLP

        Raises
        ------
        ModelInputError
            On malformed inputs or ``p`` outside ``[number of predefined sites, number of sites]``.
        """
        C = as_cost_matrix(cost)
        n, m = C.shape
        pre = as_predefined(predefined_facilities, m)
        return cls(
            C,
            as_vector(weights, n, what="weights", default=1.0),
            pre,
            as_names(demand_names, n, what="demand"),
            as_names(site_names, m, what="site"),
            check_radius(service_radius),
            check_p(p_facilities, m, int(pre.sum())),
        )

    def solve(
        self, time_limit: float = 60.0, *, mip_rel_gap: float = 1e-6, threads: int | None = None, verbose: bool = False
    ) -> LocationResult:
        """Maximise the covered demand weight (see :meth:`PMedian.solve` for the parameters)."""
        check_solve_args(mip_rel_gap, threads)
        clock = Stopwatch(time_limit)
        m, p = self.n_sites, self.p
        cover = coverage_mask(self.cost, self.service_radius)
        forced = np.array(self.predefined)
        always = cover[:, forced].any(axis=1) if forced.any() else np.zeros(self.n_demand, dtype=bool)
        # Only weighted rows that some site could cover and that the predefined sites do not already cover matter.
        live = (self.weights > 0) & cover.any(axis=1) & ~always
        if live.any():
            rows, inverse = unique_rows(cover[live])
            w = np.bincount(inverse, weights=self.weights[live], minlength=rows.shape[0]).astype(np.float64)
        else:
            rows, w = np.zeros((0, m), dtype=bool), np.zeros(0, dtype=np.float64)
        start_open = greedy_max_cover(rows, w, p, forced)
        asm = MatrixAssembler()
        y = asm.add_columns("open_site", np.zeros(m), lower=forced.astype(np.float64), upper=1.0, integer=True)
        z = asm.add_columns("covered", w, lower=0.0, upper=1.0)
        ii, jj = np.nonzero(rows)
        k = rows.shape[0]
        asm.add_rows(
            "cover_if_open",
            k,
            np.concatenate([np.arange(k), ii]),
            np.concatenate([z.start + np.arange(k), y.start + jj]),
            np.concatenate([np.ones(k), -np.ones(len(ii))]),
            upper=0.0,
        )
        asm.add_rows("open_count", 1, np.zeros(m), y.start + np.arange(m), 1.0, lower=float(p), upper=float(p))
        offset = float(self.weights[always].sum())
        problem = asm.problem(sense="max", offset=offset)
        start = np.concatenate([start_open.astype(np.float64), rows[:, start_open].any(axis=1).astype(np.float64)])
        build = clock.elapsed()
        outcome = solve_matrix(problem, _settings(clock, mip_rel_gap, threads, verbose), start=start)
        stats = {
            "distinct_rows": int(k),
            "greedy_objective": offset + float(w @ rows[:, start_open].any(axis=1)),
            **_mip_stats(problem, outcome),
        }
        chosen = _open_from(outcome, y, m)
        if chosen is None or int(chosen.sum()) != p:
            if outcome.status in (SolveStatus.INFEASIBLE, SolveStatus.ERROR, SolveStatus.UNBOUNDED):
                return empty_result(
                    self,
                    outcome.status,
                    outcome.message,
                    build_seconds=build,
                    solve_seconds=clock.elapsed() - build,
                    stats=stats,
                )
            chosen = start_open
        open_sites = np.flatnonzero(chosen).astype(np.int64)
        covered: BoolArray = np.asarray(cover[:, open_sites].any(axis=1))
        objective = float(self.weights[covered].sum())
        masked = np.where(cover[:, open_sites], self.cost[:, open_sites], np.inf)
        assignment, assigned = nearest_open(masked, np.arange(len(open_sites), dtype=np.int64))
        assignment = np.where(assignment >= 0, open_sites[np.maximum(assignment, 0)], -1).astype(np.int64)
        # Without a bound from HiGHS (stopped early), all the weight that any site could cover is one.
        coverable = float(self.weights[cover.any(axis=1)].sum())
        bound = max(min(outcome.bound, coverable) if outcome.bound is not None else coverable, objective)
        gap = relative_gap(objective, bound)
        optimal = outcome.status is SolveStatus.OPTIMAL or (gap is not None and gap <= mip_rel_gap)
        return self.result(
            SolveStatus.OPTIMAL if optimal else SolveStatus.TIME_LIMIT,
            objective=objective,
            bound=bound,
            gap=gap,
            open_sites=open_sites,
            assignment=assignment,
            assigned_cost=assigned,
            build_seconds=build,
            solve_seconds=clock.elapsed() - build,
            stats={**stats, "covered_share": objective / float(self.weights.sum()) if self.weights.sum() else 1.0},
            covered=covered,
        )
