"""The p-center model: open ``p`` sites minimising the largest (weighted) cost from a demand point to its nearest.

The optimum is one of the matrix's own values, so it is found by bisection over the sorted distinct costs
between a lower bound (every demand point needs some site: ``max_i min_j c_ij``) and a greedy plan's value. Each
step asks HiGHS for the fewest sites covering every demand point within the trial radius (a set cover, usually
solved at the root); the radius is feasible when that number is at most ``p``. This is much smaller and
stronger than the textbook ``min W, sum_j c_ij x_ij <= W`` formulation spopt builds, whose LP bound is weak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from planner.classic._base import (
    BoolArray,
    FloatArray,
    LocationModel,
    LocationResult,
    Stopwatch,
    check_solve_args,
    nearest_open,
)
from planner.classic._matrix import MatrixAssembler
from planner.classic.coverage import greedy_cover, unique_rows
from planner.classic.pmedian import p_model_fields
from planner.solver import SolverSettings, SolveStatus, relative_gap, solve_matrix


def greedy_center(C: FloatArray, p: int, forced: BoolArray) -> BoolArray:
    """Open sites one at a time, each time the one that most lowers the largest cost (ties: the total)."""
    is_open = forced.copy()
    cur = C[:, is_open].min(axis=1) if is_open.any() else np.full(C.shape[0], np.inf)
    while int(is_open.sum()) < p:
        new = np.minimum(C, cur[:, None])
        worst = new.max(axis=0)
        total = np.where(np.isfinite(new), new, 0.0).sum(axis=0)
        worst[is_open] = np.inf
        best = np.flatnonzero(worst == worst.min())
        j = int(best[np.argmin(total[best])])
        is_open[j] = True
        cur = new[:, j]
    return is_open


def pad_open(C: FloatArray, chosen: BoolArray, p: int) -> BoolArray:
    """Add sites to a plan with fewer than ``p``, each the one lowering the total cost most (never raises the max)."""
    finite = np.isfinite(C)
    big = (float(C[finite].max()) if finite.any() else 1.0) * (C.shape[0] + 1) + 1.0
    Cb = np.where(finite, C, big)
    is_open = chosen.copy()
    cur = Cb[:, is_open].min(axis=1) if is_open.any() else np.full(C.shape[0], 2 * big)
    while int(is_open.sum()) < p:
        score = np.minimum(Cb, cur[:, None]).sum(axis=0)
        score[is_open] = np.inf
        j = int(np.argmin(score))
        is_open[j] = True
        cur = np.minimum(cur, Cb[:, j])
    return is_open


@dataclass(frozen=True, eq=False)
class PCenter(LocationModel):
    """p-center: minimise ``max_i w_i * cost(i, nearest open site)`` with exactly ``p`` sites open.

    With the default weights of 1 this is the classic (unweighted) p-center; demand points of weight 0 are
    ignored.

    Attributes
    ----------
    p
        Number of sites to open (predefined sites count towards it).
    """

    kind = "p-center"

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
        """Validate the inputs and build the model (parameters as for :meth:`PMedian.from_cost_matrix`).

        Raises
        ------
        ModelInputError
            On malformed inputs, ``p`` outside ``[number of predefined sites, number of sites]``, or a weighted
            demand point that reaches no site.
        """
        return cls(*p_model_fields(cost, p_facilities, weights, predefined_facilities, demand_names, site_names))

    def solve(
        self, time_limit: float = 60.0, *, mip_rel_gap: float = 1e-6, threads: int | None = None, verbose: bool = False
    ) -> LocationResult:
        """Find the smallest feasible radius by bisection (see :meth:`PMedian.solve` for the parameters).

        ``mip_rel_gap`` stops the bisection once the bracket is that tight relative to the incumbent.
        """
        check_solve_args(mip_rel_gap, threads)
        clock = Stopwatch(time_limit)
        m, p = self.n_sites, self.p
        rows = np.flatnonzero(self.weights > 0)
        forced = np.array(self.predefined)
        if len(rows) == 0:  # nothing weighs anything: any p sites will do
            return self._result(pad_open(self.cost, forced, p), 0.0, False, clock, 0.0, {})
        C = self.weights[rows, None] * self.cost[rows]
        incumbent = greedy_center(C, p, forced)
        best_value = greedy_value = float(C[:, incumbent].min(axis=1).max())
        lower = float(C.min(axis=1).max())
        radii = np.unique(C[np.isfinite(C) & (lower <= C) & (best_value >= C)])
        lo, hi = 0, int(np.searchsorted(radii, best_value))  # radii[lo] not yet refuted; radii[hi] achieved
        build = clock.elapsed()
        steps, mip_seconds = 0, 0.0
        stopped = False
        while lo < hi:
            if best_value - float(radii[lo]) <= mip_rel_gap * abs(best_value):
                break
            if clock.expired():
                stopped = True
                break
            mid = (lo + hi) // 2
            cover = radii[mid] >= C
            need = ~cover[:, forced].any(axis=1) if forced.any() else np.ones(len(rows), dtype=bool)
            distinct, _ = unique_rows(cover[need]) if need.any() else (np.zeros((0, m), dtype=bool), None)
            start_open = greedy_cover(distinct, forced)
            chosen: BoolArray | None = None
            if int(start_open.sum()) <= p:
                chosen = start_open
            else:
                asm = MatrixAssembler()
                y = asm.add_columns("open_site", np.ones(m), lower=forced.astype(np.float64), integer=True)
                ii, jj = np.nonzero(distinct)
                asm.add_rows("cover", distinct.shape[0], ii, y.start + jj, 1.0, lower=1.0)
                # At most p sites, nothing to minimise: HiGHS stops at the first such cover or proves there is none.
                asm.add_rows("open_count", 1, np.zeros(m), y.start + np.arange(m), 1.0, upper=float(p))
                settings = SolverSettings(
                    time_limit=max(clock.remaining(), 0.01), mip_rel_gap=0.0, threads=threads, verbose=verbose
                )
                outcome = solve_matrix(asm.problem(), settings)
                mip_seconds += outcome.solve_seconds
                steps += 1
                if outcome.values is not None:
                    chosen = np.asarray(outcome.values[y] > 0.5)
                elif outcome.status is not SolveStatus.INFEASIBLE:
                    stopped = True  # neither a cover nor a proof: out of time
                    break
            if chosen is not None:
                value = float(C[:, chosen].min(axis=1).max())
                if value < best_value:
                    best_value, incumbent = value, chosen
                hi = min(int(np.searchsorted(radii, value)), mid)
            else:
                lo = mid + 1
        stats = {
            "greedy_objective": greedy_value,
            "lower_start": lower,
            "candidate_radii": len(radii),
            "bisection_mips": steps,
            "mip_seconds": mip_seconds,
        }
        return self._result(pad_open(C, incumbent, p), float(radii[lo]), stopped, clock, build, stats)

    def _result(
        self,
        chosen: BoolArray,
        bound: float,
        stopped: bool,
        clock: Stopwatch,
        build: float,
        stats: dict[str, Any],
    ) -> LocationResult:
        open_sites = np.flatnonzero(chosen).astype(np.int64)
        assignment, assigned = nearest_open(self.cost, open_sites)
        weighted = self.weights * np.where(assignment >= 0, assigned, 0.0)
        objective = float(weighted.max())
        bound = min(bound, objective)
        gap = relative_gap(objective, bound)
        optimal = not stopped  # the bisection closed the bracket (to within the requested gap)
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
            stats=stats,
        )
