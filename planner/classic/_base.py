"""What every classic location model shares: input checks, the typed result and the GeoDataFrame constructor.

The models never touch geometry: :meth:`LocationModel.from_geodataframe` turns two point
layers into a cost matrix and hands it to the model's ``from_cost_matrix``, which is the one real constructor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from planner.errors import InfeasibleError, ModelInputError, where
from planner.solver import SolveStatus

if TYPE_CHECKING:
    import geopandas as gpd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DistanceMetric = str | Callable[[FloatArray, FloatArray], Any]

#: British National Grid, the projected CRS (metres) geographic layers are moved to.
BNG_EPSG = 27700


def readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return ``array`` marked read-only (results and models are immutable values)."""
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class LocationResult:
    """The outcome of solving a classic location model.

    Attributes
    ----------
    model
        Which model produced it (``"p-median"``, ``"p-center"``, ``"mclp"``, ``"lscp"``, ``"cflp"``).
    status
        How the solve ended; only ``optimal`` and ``time_limit`` carry a plan.
    objective
        Objective of the returned plan (``None`` without one).
    bound
        Best proven bound on the optimal objective (lower for minimisation, upper for MCLP).
    gap
        Relative gap ``|objective - bound| / |objective|``.
    open_sites
        Indices (columns of the cost matrix) of the open sites, ascending.
    assignment
        Per demand point, the index of the site that serves it (for CFLP the one serving its largest share);
        ``-1`` if it is not served (uncovered in MCLP, or no plan).
    assigned_cost
        Per demand point, the unweighted cost to its assigned site (``nan`` where ``assignment`` is ``-1``).
    covered
        Per demand point, whether it is within the service radius of an open site (MCLP, LSCP), else ``None``.
    allocation
        CFLP only: ``n_demand x n_sites`` sparse matrix of the share of each demand served by each site.
    build_seconds
        Seconds spent building the model's matrices.
    solve_seconds
        Seconds spent solving (heuristics, bounds and the solver together).
    message
        A plain-words note on how the solve ended.
    stats
        Figures about the solve (reductions, nodes, heuristic value, method), for benchmarks and logs.
    demand_names, site_names
        Labels of the demand points and sites.
    weights
        Demand weights the objective used.
    """

    model: str
    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None
    open_sites: IntArray
    assignment: IntArray
    assigned_cost: FloatArray
    covered: BoolArray | None
    allocation: sp.csr_array | None
    build_seconds: float
    solve_seconds: float
    message: str
    demand_names: pd.Index
    site_names: pd.Index
    weights: FloatArray
    stats: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("open_sites", "assignment", "assigned_cost", "covered", "weights"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                readonly(value)
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))

    @property
    def has_solution(self) -> bool:
        """Whether a plan (optimal or the best found within the limit) is available."""
        return self.status.has_solution

    @property
    def total_seconds(self) -> float:
        """Build plus solve seconds."""
        return self.build_seconds + self.solve_seconds

    @property
    def open_site_names(self) -> list[Any]:
        """Labels of the open sites."""
        return list(self.site_names[self.open_sites])

    def require_solution(self) -> Self:
        """Return this result, or raise if the solve produced no plan.

        Raises
        ------
        InfeasibleError
            If the status is not ``optimal`` or ``time_limit``; the message says why.
        """
        if not self.has_solution:
            raise InfeasibleError(f"{self.model}: no plan ({self.status.value}): {self.message}")
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per demand point: its assigned site, the cost to it, its weight and coverage.

        Returns
        -------
        pandas.DataFrame
            Indexed by the demand labels; columns ``site`` (label, missing if unserved), ``site_index``
            (-1 if unserved), ``cost``, ``weight``, ``weighted_cost`` and, where the model defines them,
            ``covered`` (MCLP, LSCP) and ``share`` (CFLP: share served by ``site``).
        """
        served = self.assignment >= 0
        site = pd.Series(pd.NA, index=self.demand_names, dtype="object")
        site[served] = np.asarray(self.site_names, dtype=object)[self.assignment[served]]
        frame = pd.DataFrame(
            {
                "site": site,
                "site_index": self.assignment,
                "cost": self.assigned_cost,
                "weight": self.weights,
                "weighted_cost": self.assigned_cost * self.weights,
            },
            index=self.demand_names,
        )
        if self.covered is not None:
            frame["covered"] = self.covered
        if self.allocation is not None:
            share = np.zeros(len(frame))
            rows = np.flatnonzero(served)
            share[rows] = np.asarray(self.allocation[rows, self.assignment[rows]]).ravel()
            frame["share"] = share
        return frame

    def sites_frame(self) -> pd.DataFrame:
        """One row per open site: how many demand points it serves and their total weight.

        Returns
        -------
        pandas.DataFrame
            Indexed by the open sites' labels; columns ``site_index``, ``demand_points``, ``weight_served``.
        """
        served = self.assignment >= 0
        m = len(self.site_names)
        counts = np.bincount(self.assignment[served], minlength=m)
        if self.allocation is not None:
            load = np.asarray(self.allocation.T @ self.weights).ravel()
        else:
            load = np.bincount(self.assignment[served], weights=self.weights[served], minlength=m)
        idx = self.open_sites
        return pd.DataFrame(
            {"site_index": idx, "demand_points": counts[idx], "weight_served": load[idx]},
            index=self.site_names[idx],
        )


# ----------------------------------------------------------------------------------------------- input checks


def as_cost_matrix(cost: Any, *, allow_inf: bool = True, what: str = "cost") -> FloatArray:
    """Validate a demand x site cost matrix and return it as a read-only float array.

    ``+inf`` marks a pair that cannot be used (no route, beyond a limit); NaN and negative values are errors.
    """
    try:
        arr = np.array(cost, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{where(what)}: not a numeric matrix ({exc})") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ModelInputError(f"{where(what, value=arr.shape)}: expected a non-empty 2-D (demand x site) matrix")
    nan = np.argwhere(np.isnan(arr))
    if len(nan):
        i, j = (int(v) for v in nan[0])
        raise ModelInputError(f"{where(what, row=i, field=f'site {j}')}: NaN cost ({len(nan)} NaN entries in all)")
    neg = np.argwhere(arr < 0)
    if len(neg):
        i, j = (int(v) for v in neg[0])
        raise ModelInputError(f"{where(what, row=i, field=f'site {j}', value=float(arr[i, j]))}: negative cost")
    if not allow_inf and np.isinf(arr).any():
        i, j = (int(v) for v in np.argwhere(np.isinf(arr))[0])
        raise ModelInputError(f"{where(what, row=i, field=f'site {j}', value=float(arr[i, j]))}: infinite cost")
    return readonly(arr)


def as_vector(values: Any, n: int, *, what: str, default: float | None = None, positive: bool = False) -> FloatArray:
    """Validate a per-row vector (weights, demand, capacities, fixed costs): length ``n``, finite, non-negative."""
    if values is None:
        if default is None:
            raise ModelInputError(f"{where(what)}: required")
        return readonly(np.full(n, float(default)))
    try:
        arr = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{where(what)}: not numeric ({exc})") from None
    if arr.shape[0] != n:
        raise ModelInputError(f"{where(what, value=arr.shape[0])}: length does not match the {n} rows it describes")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | ((arr <= 0) if positive else False))
    if bad.size:
        k = int(bad[0])
        need = "positive" if positive else "finite and non-negative"
        raise ModelInputError(f"{where(what, row=k, value=float(arr[k]))}: must be {need}")
    return readonly(arr)


def as_predefined(predefined: Any, m: int) -> BoolArray:
    """Validate predefined (kept-open) sites given as indices or as a boolean mask of length ``m``."""
    mask = np.zeros(m, dtype=bool)
    if predefined is None:
        return readonly(mask)
    arr = np.asarray(predefined)
    if arr.dtype == bool:
        if arr.shape != (m,):
            raise ModelInputError(
                f"{where('predefined_facilities', value=arr.shape)}: a boolean mask needs one entry per site ({m})"
            )
        mask[:] = arr
        return readonly(mask)
    if arr.size == 0:
        return readonly(mask)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ModelInputError(
            f"{where('predefined_facilities', value=arr.dtype.name)}: give site indices (integers) or a boolean mask"
        )
    idx = arr.reshape(-1).astype(np.int64)
    out = np.flatnonzero((idx < 0) | (idx >= m))
    if out.size:
        raise ModelInputError(
            f"{where('predefined_facilities', value=int(idx[out[0]]))}: site index outside 0..{m - 1}"
        )
    if len(np.unique(idx)) != len(idx):
        dup = int(idx[np.flatnonzero(np.bincount(idx) > 1)[0]]) if idx.size else -1
        hint = ""
        if idx.size == m and np.isin(idx, (0, 1)).all():
            hint = " (this looks like spopt's 0/1 mask: pass it as a boolean array, e.g. mask.astype(bool))"
        raise ModelInputError(f"{where('predefined_facilities', value=dup)}: site listed twice{hint}")
    mask[idx] = True
    return readonly(mask)


def as_names(names: Any, n: int, *, what: str) -> pd.Index:
    """Validate optional labels (unique, one per row); default ``0..n-1``."""
    if names is None:
        return pd.RangeIndex(n, name=what)
    index = pd.Index(names)
    if len(index) != n:
        raise ModelInputError(f"{where(what, value=len(index))}: {len(index)} labels for {n} rows")
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ModelInputError(f"{where(what, value=dup)}: label appears more than once")
    return index.rename(index.name or what)


def check_p(p: Any, m: int, n_predefined: int) -> int:
    """Validate the number of facilities to open against the sites available and those already fixed open."""
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise ModelInputError(f"{where('p_facilities', value=p)}: must be an integer")
    p = int(p)
    if p < 1:
        raise ModelInputError(f"{where('p_facilities', value=p)}: must be at least 1")
    if p > m:
        raise ModelInputError(f"{where('p_facilities', value=p)}: more facilities than the {m} candidate sites")
    if p < n_predefined:
        raise ModelInputError(
            f"{where('p_facilities', value=p)}: fewer than the {n_predefined} predefined facilities that must stay open"
        )
    return p


def check_radius(radius: Any) -> float:
    """Validate a service radius (finite, non-negative)."""
    try:
        value = float(radius)
    except (TypeError, ValueError):
        raise ModelInputError(f"{where('service_radius', value=radius)}: not a number") from None
    if not np.isfinite(value) or value < 0:
        raise ModelInputError(f"{where('service_radius', value=radius)}: must be finite and non-negative")
    return value


# ----------------------------------------------------------------------------------------------- geometry


def _points(gdf: gpd.GeoDataFrame, what: str) -> FloatArray:
    """x/y of each feature: the point itself, or a point on the surface of a line or polygon."""
    geom = gdf.geometry
    bad = geom.isna() | geom.is_empty
    if bad.any():
        raise ModelInputError(f"{where(what, row=geom.index[bad.to_numpy()][0], field='geometry')}: missing or empty")
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()]).astype(np.float64)


def _projected(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in a projected CRS in metres (geographic layers are moved to EPSG:27700)."""
    crs = gdf.crs
    if crs is None:
        raise ModelInputError(f"{where(what, field='crs')}: no CRS set; set one (e.g. EPSG:27700 or EPSG:4326)")
    if crs.is_geographic:
        return gdf.to_crs(epsg=BNG_EPSG)
    units = {axis.unit_name for axis in crs.axis_info}
    if not units <= {"metre", "meter"}:
        raise ModelInputError(
            f"{where(what, field='crs', value=crs.to_string())}: projected CRS not in metres ({units})"
        )
    return gdf


def cost_from_geodataframes(
    demand_gdf: gpd.GeoDataFrame, sites_gdf: gpd.GeoDataFrame, distance_metric: DistanceMetric = "euclidean"
) -> FloatArray:
    """Demand x site cost matrix (metres for the built-in metrics) from two GeoDataFrames.

    Parameters
    ----------
    demand_gdf, sites_gdf
        Layers of points (other geometries use a point on their surface). Geographic layers are
        reprojected to EPSG:27700; the sites are moved to the demand layer's CRS if they differ.
    distance_metric
        A metric name understood by :func:`scipy.spatial.distance.cdist` or a callable
        ``f(demand_xy, site_xy) -> (n_demand, n_sites) array``.

    Returns
    -------
    numpy.ndarray
        The cost matrix.
    """
    demand = _projected(demand_gdf, "demand_gdf")
    sites = _projected(sites_gdf, "sites_gdf")
    if sites.crs != demand.crs:
        sites = sites.to_crs(demand.crs)
    a, b = _points(demand, "demand_gdf"), _points(sites, "sites_gdf")
    if callable(distance_metric):
        cost = np.asarray(distance_metric(a, b), dtype=np.float64)
        if cost.shape != (len(a), len(b)):
            raise ModelInputError(
                f"{where('distance_metric', value=cost.shape)}: the callable must return ({len(a)}, {len(b)})"
            )
        return cost
    try:
        return np.asarray(cdist(a, b, metric=distance_metric), dtype=np.float64)
    except ValueError as exc:
        raise ModelInputError(f"{where('distance_metric', value=distance_metric)}: {exc}") from None


class Stopwatch:
    """Deadline bookkeeping for one solve."""

    def __init__(self, time_limit: float) -> None:
        if not np.isfinite(time_limit) or time_limit <= 0:
            raise ModelInputError(f"{where('time_limit', value=time_limit)}: must be a positive number of seconds")
        self.began = time.perf_counter()
        self.deadline = self.began + float(time_limit)

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.began

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.perf_counter())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.perf_counter() >= self.deadline


def check_solve_args(mip_rel_gap: float, threads: int | None) -> None:
    """Validate the solve options every model shares."""
    if not (np.isfinite(mip_rel_gap) and 0 <= mip_rel_gap < 1):
        raise ModelInputError(f"{where('mip_rel_gap', value=mip_rel_gap)}: must be in [0, 1)")
    if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
        raise ModelInputError(f"{where('threads', value=threads)}: must be a positive integer or None")


@dataclass(frozen=True, eq=False)
class LocationModel:
    """Validated inputs of a location model; :meth:`solve` returns a new :class:`LocationResult` each time.

    Attributes
    ----------
    cost
        ``n_demand x n_sites`` cost (distance or travel time); ``inf`` marks unusable pairs.
    weights
        Demand weight of each demand point.
    predefined
        Boolean mask of sites that must be open.
    demand_names, site_names
        Labels of the rows and columns of ``cost``.
    """

    kind: ClassVar[str] = "location"

    cost: FloatArray
    weights: FloatArray
    predefined: BoolArray
    demand_names: pd.Index
    site_names: pd.Index

    @property
    def n_demand(self) -> int:
        """Number of demand points (rows)."""
        return int(self.cost.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of candidate sites (columns)."""
        return int(self.cost.shape[1])

    def result(
        self,
        status: SolveStatus,
        *,
        objective: float | None,
        bound: float | None,
        gap: float | None,
        open_sites: IntArray,
        assignment: IntArray,
        assigned_cost: FloatArray,
        build_seconds: float,
        solve_seconds: float,
        stats: Mapping[str, Any],
        covered: BoolArray | None = None,
        allocation: Any = None,
        message: str | None = None,
    ) -> LocationResult:
        """A :class:`LocationResult` of this model (its kind, labels and weights filled in).

        ``message`` defaults to "proven optimal" or "stopped at the time limit" by ``status``.
        """
        if message is None:
            message = "proven optimal" if status is SolveStatus.OPTIMAL else "stopped at the time limit"
        return LocationResult(
            model=self.kind,
            status=status,
            objective=objective,
            bound=bound,
            gap=gap,
            open_sites=open_sites,
            assignment=assignment,
            assigned_cost=assigned_cost,
            covered=covered,
            allocation=allocation,
            build_seconds=build_seconds,
            solve_seconds=solve_seconds,
            message=message,
            demand_names=self.demand_names,
            site_names=self.site_names,
            weights=np.array(self.weights),
            stats=stats,
        )

    @classmethod
    def from_cost_matrix(cls, *args: Any, **params: Any) -> Self:  # pragma: no cover - overridden
        """Build the model from a cost matrix (each model defines its own parameters)."""
        raise NotImplementedError

    @classmethod
    def from_geodataframe(
        cls,
        demand_gdf: gpd.GeoDataFrame,
        sites_gdf: gpd.GeoDataFrame,
        *,
        weights_col: str | None = None,
        distance_metric: DistanceMetric = "euclidean",
        predefined_col: str | None = None,
        **params: Any,
    ) -> Self:
        """Build the model from demand and site layers (computes the cost matrix, then ``from_cost_matrix``).

        Parameters
        ----------
        demand_gdf
            Demand points (or areas: a point on each surface is used). Its index labels the demand points.
        sites_gdf
            Candidate sites. Its index labels the sites.
        weights_col
            Column of ``demand_gdf`` holding the demand weights; every weight is 1 if omitted.
        distance_metric
            Metric name for :func:`scipy.spatial.distance.cdist` (``"euclidean"``, ``"cityblock"``...) or a
            callable ``f(demand_xy, site_xy)`` returning the cost matrix. Coordinates are metres: geographic
            layers are reprojected to EPSG:27700 (British National Grid).
        predefined_col
            Boolean column of ``sites_gdf`` marking sites that must stay open.
        **params
            The model's own parameters (``p_facilities``, ``service_radius``, ``capacities``...).

        Returns
        -------
        The model.

        Raises
        ------
        ModelInputError
            If a layer has no CRS, a projected CRS not in metres, an empty geometry, or a column is missing.
        """
        for gdf, col, what in ((demand_gdf, weights_col, "demand_gdf"), (sites_gdf, predefined_col, "sites_gdf")):
            if col is not None and col not in gdf.columns:
                raise ModelInputError(f"{where(what, field=col)}: no such column")
        cost = cost_from_geodataframes(demand_gdf, sites_gdf, distance_metric)
        if weights_col is not None:
            params.setdefault("weights", demand_gdf[weights_col].to_numpy(dtype=np.float64))
        if predefined_col is not None:
            params.setdefault("predefined_facilities", sites_gdf[predefined_col].to_numpy(dtype=bool))
        params.setdefault("demand_names", demand_gdf.index)
        params.setdefault("site_names", sites_gdf.index)
        return cls.from_cost_matrix(cost, **params)


def nearest_open(cost: FloatArray, open_sites: IntArray) -> tuple[IntArray, FloatArray]:
    """Each demand point's nearest open site (``-1`` and ``nan`` if none is reachable)."""
    n = cost.shape[0]
    if open_sites.size == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    sub = cost[:, open_sites]
    k = np.argmin(sub, axis=1)
    best = sub[np.arange(n), k]
    assignment = open_sites[k].astype(np.int64)
    reachable = np.isfinite(best)
    assignment[~reachable] = -1
    return assignment, np.where(reachable, best, np.nan)


def empty_result(
    model: LocationModel,
    status: SolveStatus,
    message: str,
    *,
    build_seconds: float,
    solve_seconds: float,
    bound: float | None = None,
    stats: Mapping[str, Any] | None = None,
) -> LocationResult:
    """A result without a plan (infeasible, error, or stopped before any solution)."""
    n = model.n_demand
    return model.result(
        status,
        objective=None,
        bound=bound,
        gap=None,
        open_sites=np.zeros(0, dtype=np.int64),
        assignment=np.full(n, -1, dtype=np.int64),
        assigned_cost=np.full(n, np.nan),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        stats=stats or {},
        message=message,
    )


def as_int_sequence(values: Sequence[int] | IntArray) -> IntArray:
    """Sorted unique int64 array."""
    return np.unique(np.asarray(values, dtype=np.int64))
