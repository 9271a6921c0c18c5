"""Hub plans scored on their daytime service alone, for when there is no time for the whole model's LP.

The hub search (:mod:`planner.heuristic`) ranks hub plans by the LP relaxation of the whole model, which on the
whole of BNSSG takes 5-8 s to solve once. Under a short time limit the search needs a cheaper guide to where hubs
should go. A hub's daytime capacity is the scarce thing on BNSSG (1,653 daytime contacts a week against 220 a hub),
so the daytime part of the model on its own, a transport problem from zones to open hubs with unmet demand at its
penalty, already tells good hub sites from poor ones: on the default its best seven hubs, with the sessions planned
by a 5 s MIP, give 102,560, where the core offer's six give 116,981 (docs/benchmarks.md, item 26). It knows nothing
of evening demand, MDT sessions or what a hub costs, so it cannot say how many hubs to open; the caller compares
counts on the whole model's LP.
"""

from __future__ import annotations

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.inputs import ModelInputs
from planner.solver import MatrixProblem, highs_instance, highs_threads


class DaytimeScorer:
    """The daytime transport LP of a hub plan, one HiGHS instance warm-started from plan to plan.

    Columns: one per daytime arc (the zone's weighted travel minutes) and one per zone for its unmet daytime demand
    (the unmet penalty, weighted). Rows: each zone's daytime demand met or unmet; each candidate's capacity, zero
    where the plan does not open it. Scoring a plan changes only the capacity rows of the hubs that differ from the
    last plan's, so each costs a few milliseconds on BNSSG (80 candidates, 11,000 arcs).

    Parameters
    ----------
    inp
        Model inputs.
    candidates
        Hub candidates (site ids); any daytime arc to another site is left out.
    """

    def __init__(self, inp: ModelInputs, candidates: list[str]) -> None:
        sc = inp.scenario
        zones = inp.zones
        day = inp.arcs.loc[inp.arcs["hub_day"] & inp.arcs["site_id"].isin(candidates), ["zone_code", "site_id"]]
        minutes = inp.arcs.loc[day.index, "minutes_day"].to_numpy(dtype=np.float64)
        rows = pd.Index(zones.index).get_indexer(day["zone_code"])
        self._candidates = list(candidates)
        self._position = {s: i for i, s in enumerate(self._candidates)}
        sites = pd.Index(self._candidates).get_indexer(day["site_id"])
        n_arcs, n_zones, n_sites = len(day), len(zones), len(self._candidates)
        self._first_capacity_row = n_zones
        self._capacity = float(sc.hubs.capacity_day)
        weight = zones["weight"].to_numpy(dtype=np.float64)
        arc_columns = np.arange(n_arcs)
        a = sp.vstack(
            [
                sp.hstack([sp.csr_array((np.ones(n_arcs), (rows, arc_columns)), shape=(n_zones, n_arcs)),
                           sp.identity(n_zones, format="csr")]),
                sp.hstack([sp.csr_array((np.ones(n_arcs), (sites, arc_columns)), shape=(n_sites, n_arcs)),
                           sp.csr_array((n_sites, n_zones))]),
            ]
        )  # fmt: skip
        demand = zones["contacts_day"].to_numpy(dtype=np.float64)
        n_cols = n_arcs + n_zones
        problem = MatrixProblem(
            c=np.concatenate([sc.weights.travel * weight[rows] * minutes, sc.weights.unmet * weight]),
            A=a,
            row_lower=np.concatenate([demand, np.full(n_sites, -highspy.kHighsInf)]),
            row_upper=np.concatenate([demand, np.zeros(n_sites)]),  # every hub closed to begin with
            col_lower=np.zeros(n_cols),
            col_upper=np.full(n_cols, highspy.kHighsInf),
            integrality=np.zeros(n_cols, dtype=bool),
        )
        self._highs = highs_instance(problem)
        self._open: frozenset[str] = frozenset()
        self.evaluations = 0

    def __call__(self, hubs: frozenset[str]) -> float:
        """The daytime travel and unmet penalty of the plan opening ``hubs`` (candidates only)."""
        changed = hubs.symmetric_difference(self._open)
        for s in changed:
            upper = self._capacity if s in hubs else 0.0
            self._highs.changeRowBounds(self._first_capacity_row + self._position[s], -highspy.kHighsInf, upper)
        self._open = frozenset(hubs)
        # On the process's HiGHS thread pool, whatever its size: asking for another size fails the run.
        with highs_threads(None) as (threads, _):
            if threads is not None:
                self._highs.setOptionValue("threads", threads)
            self._highs.run()
        status = self._highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:  # always feasible (unmet demand is a column): a failure
            raise RuntimeError(
                f"daytime score of {sorted(hubs)}: HiGHS ended with {self._highs.modelStatusToString(status)}"
            )
        self.evaluations += 1
        return float(self._highs.getInfo().objective_function_value)
