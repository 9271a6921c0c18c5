"""The capacitated facility location problem (CFLP), as in OR-Library's ``cap`` warehouse instances.

Open sites (each with a fixed cost and a capacity) and split every demand point's demand among open sites,
minimising fixed costs plus allocation costs. The formulation is the strong one: besides the capacity rows
``sum_i d_i x_ij <= s_j y_j`` it has ``x_ij <= y_j`` for every usable pair, which makes the LP bound far tighter
than the aggregated form at the price of more rows (cheap at these sizes, and HiGHS's presolve handles them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from planner.classic._base import (
    FloatArray,
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
)
from planner.classic._matrix import MatrixAssembler
from planner.errors import ModelInputError, where
from planner.solver import SolverSettings, SolveStatus, relative_gap, solve_matrix


@dataclass(frozen=True, eq=False)
class CFLP(LocationModel):
    """Capacitated facility location: minimise ``sum_j f_j y_j + sum_ij w_i c_ij x_ij``.

    ``x_ij`` is the share of demand point ``i``'s demand served by site ``j`` (every demand point fully served,
    ``sum_i d_i x_ij <= s_j`` at open sites). With ``single_source`` each demand point goes to one site.

    Attributes
    ----------
    demand
        Quantity each demand point draws on capacity.
    capacities
        Capacity of each site.
    fixed_costs
        Cost of opening each site.
    p
        Exact number of sites to open, or ``None`` for free.
    single_source
        Whether each demand point must be served by exactly one site.
    """

    kind = "cflp"

    demand: FloatArray
    capacities: FloatArray
    fixed_costs: FloatArray
    p: int | None
    single_source: bool

    @classmethod
    def from_cost_matrix(
        cls,
        cost: npt.ArrayLike,
        *,
        demand: npt.ArrayLike,
        capacities: npt.ArrayLike,
        fixed_costs: npt.ArrayLike | None = None,
        weights: npt.ArrayLike | None = None,
        p_facilities: int | None = None,
        single_source: bool = False,
        predefined_facilities: npt.ArrayLike | None = None,
        demand_names: Any = None,
        site_names: Any = None,
    ) -> Self:
        """Validate the inputs, check capacity against demand by arithmetic, and build the model.

        Parameters
        ----------
        cost
            ``n_demand x n_sites`` allocation cost per unit of weight (``inf``: the pair cannot be used).
        demand
            Quantity each demand point draws on a site's capacity.
        capacities
            Capacity of each site.
        fixed_costs
            Cost of opening each site (default 0).
        weights
            Multiplier of each demand point's row of ``cost`` in the objective; defaults to ``demand`` (so ``cost``
            is per unit of demand). Pass ones when ``cost`` already is the cost of serving all of the demand
            (OR-Library's convention).
        p_facilities
            If given, exactly this many sites open.
        single_source
            Serve each demand point from a single site.
        predefined_facilities
            Sites that must be open (indices or boolean mask).
        demand_names, site_names
            Optional labels.

        Returns
        -------
        CFLP

        Raises
        ------
        ModelInputError
            On malformed inputs; when the largest capacity that may open is below the total demand; when a demand
            point with demand reaches no site; or, single-sourced, when a demand exceeds every reachable capacity.
        """
        C = as_cost_matrix(cost)
        n, m = C.shape
        d = as_vector(demand, n, what="demand")
        cap = as_vector(capacities, m, what="capacities")
        fixed = as_vector(fixed_costs, m, what="fixed_costs", default=0.0)
        w = as_vector(weights, n, what="weights") if weights is not None else d
        pre = as_predefined(predefined_facilities, m)
        p = None if p_facilities is None else check_p(p_facilities, m, int(pre.sum()))
        dn = as_names(demand_names, n, what="demand")
        total = float(d.sum())
        if p is None:
            highest, which = float(cap.sum()), f"all {m} sites"
        else:
            others = np.sort(cap[~pre])[::-1][: p - int(pre.sum())]
            highest = float(cap[pre].sum() + others.sum())
            which = f"the {p} sites with the highest capacity (predefined ones included)"
        if highest < total:
            raise ModelInputError(
                f"{where('capacities')}: the problem is infeasible: the highest possible capacity {highest:g}, "
                f"coming from {which}, is smaller than the total demand {total:g}"
            )
        usable = np.isfinite(C)
        stranded = np.flatnonzero(((d > 0) | (w > 0)) & ~usable.any(axis=1))
        if stranded.size:
            k = int(stranded[0])
            raise ModelInputError(
                f"{where('cost', row=dn[k])}: this demand point cannot reach any site (every cost is infinite); "
                f"{stranded.size} demand point(s) in all"
            )
        if single_source:
            reach = np.where(usable, cap[None, :], 0.0).max(axis=1)
            too_big = np.flatnonzero(d > reach)
            if too_big.size:
                k = int(too_big[0])
                raise ModelInputError(
                    f"{where('demand', row=dn[k], value=float(d[k]))}: single-sourced demand exceeds the largest "
                    f"capacity it can reach ({float(reach[k]):g})"
                )
        return cls(C, w, pre, dn, as_names(site_names, m, what="site"), d, cap, fixed, p, bool(single_source))

    def solve(
        self, time_limit: float = 60.0, *, mip_rel_gap: float = 1e-6, threads: int | None = None, verbose: bool = False
    ) -> LocationResult:
        """Solve with HiGHS (see :meth:`PMedian.solve` for the parameters).

        Returns
        -------
        LocationResult
            ``allocation`` holds the share of each demand point served by each site; ``assignment`` the site
            serving its largest share.
        """
        check_solve_args(mip_rel_gap, threads)
        clock = Stopwatch(time_limit)
        n, m = self.cost.shape
        live = (self.demand > 0) | (self.weights > 0)
        usable = np.isfinite(self.cost) & live[:, None]
        ii, jj = np.nonzero(usable)
        k = len(ii)
        asm = MatrixAssembler()
        y = asm.add_columns(
            "open_site", self.fixed_costs, lower=self.predefined.astype(np.float64), upper=1.0, integer=True
        )
        x = asm.add_columns(
            "serve_share", self.weights[ii] * self.cost[ii, jj], lower=0.0, upper=1.0, integer=self.single_source
        )
        rows_live = np.flatnonzero(live)
        row_of = np.full(n, -1, dtype=np.int64)
        row_of[rows_live] = np.arange(len(rows_live))
        asm.add_rows("serve_all", len(rows_live), row_of[ii], x.start + np.arange(k), 1.0, lower=1.0, upper=1.0)
        asm.add_rows(
            "capacity",
            m,
            np.concatenate([jj, np.arange(m)]),
            np.concatenate([x.start + np.arange(k), y.start + np.arange(m)]),
            np.concatenate([self.demand[ii], -self.capacities]),
            upper=0.0,
        )
        asm.add_rows(
            "serve_if_open",
            k,
            np.concatenate([np.arange(k), np.arange(k)]),
            np.concatenate([x.start + np.arange(k), y.start + jj]),
            np.concatenate([np.ones(k), -np.ones(k)]),
            upper=0.0,
        )
        if self.p is not None:
            asm.add_rows("open_count", 1, np.zeros(m), y.start + np.arange(m), 1.0, lower=self.p, upper=self.p)
        problem = asm.problem()
        build = clock.elapsed()
        settings = SolverSettings(
            time_limit=max(clock.remaining(), 0.01), mip_rel_gap=mip_rel_gap, threads=threads, verbose=verbose
        )
        outcome = solve_matrix(problem, settings)
        rows, cols = problem.shape
        stats: dict[str, Any] = {
            "mip_rows": rows,
            "mip_cols": cols,
            "mip_nonzeros": int(problem.A.nnz),
            "mip_seconds": outcome.solve_seconds,
            "mip_status": outcome.status.value,
        }
        if outcome.values is None or not outcome.status.has_solution:
            message = outcome.message
            if outcome.status is SolveStatus.INFEASIBLE:
                message = "no set of sites can serve every demand point within the capacities (check reachable pairs)"
            return empty_result(
                self,
                outcome.status,
                message,
                build_seconds=build,
                solve_seconds=clock.elapsed() - build,
                stats=stats,
            )
        values = outcome.values
        open_mask = values[y] > 0.5
        share = np.clip(values[x], 0.0, 1.0)
        if self.single_source:
            share = np.round(share)  # integer columns: drop the solver's rounding noise
        share[share < 1e-9] = 0.0
        allocation = sp.csr_array((share, (ii, jj)), shape=(n, m))
        allocation.eliminate_zeros()
        dense_rows = allocation.tocsr()
        assignment = np.full(n, -1, dtype=np.int64)
        has = np.diff(dense_rows.indptr) > 0
        if has.any():
            assignment[has] = np.asarray(dense_rows[has].argmax(axis=1)).ravel()
        assigned = np.full(n, np.nan)
        assigned[has] = self.cost[np.flatnonzero(has), assignment[has]]
        objective = float(self.fixed_costs[open_mask].sum() + (self.weights[ii] * self.cost[ii, jj]) @ share)
        bound = outcome.bound
        gap = relative_gap(objective, bound)
        status = outcome.status
        return self.result(
            status,
            objective=objective,
            bound=min(bound, objective) if bound is not None else None,
            gap=gap,
            open_sites=np.flatnonzero(open_mask).astype(np.int64),
            assignment=assignment,
            assigned_cost=assigned,
            build_seconds=build,
            solve_seconds=clock.elapsed() - build,
            stats=stats,
            allocation=allocation,
        )


CapacitatedFacilityLocation = CFLP
"""Long name of :class:`CFLP`."""
