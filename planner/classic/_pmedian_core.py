"""Heuristics, Lagrangian bounds and the Lagrangian tree search behind :class:`planner.classic.PMedian`.

Everything works on a weighted cost matrix ``C`` (``C[i, j] = w_i * d_ij``; unusable pairs carry a large finite
penalty) with vectorised numpy; there is no loop over matrix elements.

* :func:`greedy` and :func:`interchange` (Whitaker's fast interchange, evaluated for all swaps at once with one
  sparse-dense product) give an incumbent within a fraction of a percent of the optimum in milliseconds;
  :func:`perturbation_search` (iterated local search) and the Lagrangian heuristic usually close the rest.
* :func:`lagrangian_root` relaxes the assignment constraints ``sum_j x_ij = 1`` with multipliers ``lam``
  (subgradient ascent, Polyak steps). For any ``lam`` the relaxation is solved exactly by opening the ``p``
  sites with the most negative ``rho_j = sum_i min(0, C_ij - lam_i)``; its value is a valid lower bound, and it
  converges to the LP bound. The same numbers give provably safe reductions (Beasley 1985 "penalty tests"):
  a site whose forced opening lifts the bound above the incumbent is closed, one whose forced closing does is
  opened, and an arc (i, j) whose forced use does is never needed.
* :func:`branch_and_bound` is Beasley's Lagrangian tree search: best-first, a warm-started subgradient bound and
  the penalty tests at every node, branching on an open site. ``PMedian.solve`` uses it when many arcs survive
  the root reductions (small p, where the LP gap is widest: pmed6, pmed16, pmed17, pmed22 in OR-Library).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Incumbent:
    """Best known plan: a mask of open columns and its weighted cost."""

    open: BoolArray
    cost: float


def solution_cost(C: FloatArray, open_mask: BoolArray) -> float:
    """Weighted cost of serving every row from its nearest open column."""
    return float(C[:, open_mask].min(axis=1).sum())


def _nearest_two(C: FloatArray, open_idx: IntArray) -> tuple[FloatArray, IntArray, FloatArray]:
    """Cost to the nearest and second-nearest open column, and the nearest column, for every row."""
    n = C.shape[0]
    sub = C[:, open_idx]
    if len(open_idx) == 1:
        return sub[:, 0].copy(), np.full(n, open_idx[0], dtype=np.int64), np.full(n, np.inf)
    part = np.argpartition(sub, 1, axis=1)[:, :2]
    two = np.take_along_axis(sub, part, axis=1)
    rows = np.arange(n)
    first = (two[:, 1] < two[:, 0]).astype(np.int64)
    c1 = two[rows, first]
    c2 = two[rows, 1 - first]
    phi1 = open_idx[part[rows, first]].astype(np.int64)
    return c1, phi1, c2


def greedy(C: FloatArray, p: int, fixed: BoolArray) -> BoolArray:
    """Open ``p`` columns one at a time, each time the one that lowers the total cost most.

    Parameters
    ----------
    C
        Weighted cost matrix.
    p
        Number of columns to open.
    fixed
        Columns that are open from the start.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the ``p`` open columns.
    """
    is_open = fixed.copy()
    cur = C[:, is_open].min(axis=1) if is_open.any() else None
    while int(is_open.sum()) < p:
        score = C.sum(axis=0) if cur is None else np.minimum(C, cur[:, None]).sum(axis=0)
        score[is_open] = np.inf
        j = int(np.argmin(score))
        is_open[j] = True
        cur = C[:, j].copy() if cur is None else np.minimum(cur, C[:, j])
    return is_open


def interchange(C: FloatArray, open_mask: BoolArray, fixed: BoolArray, deadline: float = math.inf) -> Incumbent:
    """Best-improvement vertex substitution (Teitz-Bart), all ``open x closed`` swaps scored at once.

    The change in cost of swapping out ``r`` for ``j`` is ``G(j) + L(r) - E(r, j)`` (Whitaker 1983; Resende and
    Werneck 2007): ``G`` the gain of adding ``j``, ``L`` the loss of removing ``r`` and ``E`` the correction for
    rows served by ``r`` that ``j`` would take; ``E`` is one sparse (open x rows) by dense (rows x columns) product.

    Parameters
    ----------
    C
        Weighted cost matrix.
    open_mask
        Starting open columns.
    fixed
        Columns that must stay open.
    deadline
        ``time.perf_counter()`` value after which the search stops with what it has.

    Returns
    -------
    Incumbent
        A local optimum (or the best found by the deadline).
    """
    n, m = C.shape
    is_open = open_mask.copy()
    while True:
        open_idx = np.flatnonzero(is_open).astype(np.int64)
        c1, phi1, c2 = _nearest_two(C, open_idx)
        cost = float(c1.sum())
        if len(open_idx) == m or time.perf_counter() > deadline:
            return Incumbent(is_open, cost)
        gain = np.minimum(C - c1[:, None], 0.0).sum(axis=0)
        pos = np.full(m, -1, dtype=np.int64)
        pos[open_idx] = np.arange(len(open_idx))
        loss = np.bincount(pos[phi1], weights=c2 - c1, minlength=len(open_idx))
        loss[~np.isfinite(loss)] = np.inf
        second = np.where(np.isfinite(c2), c2, np.finfo(np.float64).max / 4)
        V = np.maximum(second[:, None] - np.maximum(C, c1[:, None]), 0.0)
        P = sp.csr_array((np.ones(n), (pos[phi1], np.arange(n))), shape=(len(open_idx), n))
        delta = gain[None, :] + loss[:, None] - P @ V
        delta[:, open_idx] = np.inf
        delta[fixed[open_idx], :] = np.inf
        r, j = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[r, j] < -1e-9 * max(1.0, abs(cost)):
            return Incumbent(is_open, cost)
        is_open[open_idx[r]] = False
        is_open[j] = True


def perturbation_search(
    C: FloatArray,
    best: Incumbent,
    fixed: BoolArray,
    *,
    rounds: int,
    seed: int,
    deadline: float,
) -> Incumbent:
    """Iterated local search: swap one to three random open sites out, re-run :func:`interchange`, keep improvements."""
    rng = np.random.default_rng(seed)
    m = C.shape[1]
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        movable = np.flatnonzero(best.open & ~fixed)
        closed = np.flatnonzero(~best.open)
        if movable.size == 0 or closed.size == 0 or m < 2:
            break
        k = int(rng.integers(1, 4))
        k = min(k, movable.size, closed.size)
        trial = best.open.copy()
        trial[rng.choice(movable, k, replace=False)] = False
        trial[rng.choice(closed, k, replace=False)] = True
        found = interchange(C, trial, fixed, deadline)
        if found.cost < best.cost - 1e-9 * max(1.0, abs(best.cost)):
            best = found
    return best


# --------------------------------------------------------------------------------------- Lagrangian relaxation


def _improves(value: float, best: float) -> bool:
    """``value`` beats ``best`` by more than rounding noise (``best`` may be ``-inf``)."""
    return value > best + (1e-12 * max(1.0, abs(best)) if math.isfinite(best) else 0.0)


@dataclass
class Relaxation:
    """The Lagrangian relaxation at one multiplier vector, with the penalty-test numbers.

    Attributes
    ----------
    bound
        ``sum(lam) + sum of rho over the chosen columns``: a lower bound on every plan respecting the masks.
    rho
        ``rho_j = sum_i min(0, C_ij - lam_i)`` for every column (``inf`` for columns that are not allowed).
    chosen
        Mask of the columns the relaxation opens (the forced ones plus the most negative free ``rho``).
    last, nxt
        ``rho`` of the last free column chosen and of the first free column not chosen (``-inf``/``inf`` if none).
    """

    bound: float
    rho: FloatArray
    chosen: BoolArray
    last: float
    nxt: float


def relax(C: FloatArray, lam: FloatArray, p: int, forced: BoolArray, free: BoolArray) -> Relaxation:
    """Solve the Lagrangian relaxation exactly for multipliers ``lam`` (see :class:`Relaxation`)."""
    R = C - lam[:, None]
    np.minimum(R, 0.0, out=R)
    rho = R.sum(axis=0)
    return _relaxation(rho, float(lam.sum()), p, forced, free)


def _relaxation(rho: FloatArray, lam_sum: float, p: int, forced: BoolArray, free: BoolArray) -> Relaxation:
    k = p - int(forced.sum())
    free_idx = np.flatnonzero(free)
    chosen = forced.copy()
    last, nxt = -math.inf, math.inf
    if k > 0:
        order = free_idx[np.argsort(rho[free_idx], kind="stable")]
        chosen[order[:k]] = True
        last = float(rho[order[k - 1]])
        if len(order) > k:
            nxt = float(rho[order[k]])
    bound = lam_sum + float(rho[chosen].sum())
    return Relaxation(bound, rho, chosen, last, nxt)


def penalty_tests(rel: Relaxation, free: BoolArray, threshold: float) -> tuple[BoolArray, BoolArray]:
    """Columns that can be closed / must be opened because the other choice lifts the bound above ``threshold``.

    Returns
    -------
    (close, open)
        Masks over the columns; both are subsets of ``free``.
    """
    rho = rel.rho
    close = free & ~rel.chosen & (rel.bound - rel.last + rho > threshold)
    must_open = free & rel.chosen & (rel.bound - rho + rel.nxt > threshold)
    return close, must_open


def arc_mask(C: FloatArray, lam: FloatArray, rel: Relaxation, threshold: float) -> BoolArray:
    """Arcs ``(i, j)`` that some plan costing at most ``threshold`` may use.

    Forcing row ``i`` onto column ``j`` adds ``max(0, C_ij - lam_i)`` to ``rho_j`` and forces ``j`` open, so the
    bound becomes ``bound + max(0, C_ij - lam_i) + (rho_j - last if j was not chosen)``.
    """
    extra = np.where(rel.chosen, 0.0, rel.rho - rel.last)
    extra = np.where(np.isfinite(extra), extra, np.inf)
    return (rel.bound + np.maximum(C - lam[:, None], 0.0) + extra[None, :]) <= threshold


@dataclass
class RootOutcome:
    """What the root Lagrangian phase established.

    Attributes
    ----------
    bound
        Best Lagrangian lower bound (valid for every plan).
    lam
        Multipliers that gave it.
    active
        Columns not closed by the penalty tests.
    forced
        Columns proven open in every plan cheaper than the incumbent (includes the predefined ones).
    incumbent
        Best plan found (the Lagrangian heuristic may have improved it).
    iterations
        Subgradient iterations.
    heuristic_calls
        Local searches started from Lagrangian solutions.
    """

    bound: float
    lam: FloatArray
    active: BoolArray
    forced: BoolArray
    incumbent: Incumbent
    iterations: int
    heuristic_calls: int


def lagrangian_root(
    C: FloatArray,
    p: int,
    fixed: BoolArray,
    incumbent: Incumbent,
    *,
    deadline: float,
    keep_tol: float,
    stop_gap: float,
    max_iter: int = 3000,
) -> RootOutcome:
    """Subgradient ascent on the Lagrangian dual with a Lagrangian heuristic and penalty tests along the way.

    Parameters
    ----------
    C
        Weighted cost matrix.
    p
        Number of columns to open.
    fixed
        Columns that must be open.
    incumbent
        Starting plan (its cost is the Polyak target).
    deadline
        ``time.perf_counter()`` value to stop at.
    keep_tol
        Absolute slack: reductions keep every plan costing at most ``incumbent + keep_tol``.
    stop_gap
        Stop once ``incumbent - bound <= stop_gap``.
    max_iter
        Iteration cap.

    Returns
    -------
    RootOutcome
        Bound, multipliers, reductions and the (possibly improved) incumbent.
    """
    m = C.shape[1]
    forced = fixed.copy()
    active = np.ones(m, dtype=bool)
    srt = np.partition(C, 1, axis=1) if m > 1 else C
    lam = (srt[:, 1] if m > 1 else srt[:, 0]).astype(np.float64).copy()
    best_bound, best_lam = -math.inf, lam.copy()
    theta, stall = 2.0, 0
    seen: set[bytes] = set()
    calls = fruitless = 0
    cols = np.flatnonzero(active)
    Cact = C
    it = 0
    for it in range(1, max_iter + 1):
        free_act = active[cols] & ~forced[cols]
        R = Cact - lam[:, None]
        np.minimum(R, 0.0, out=R)
        rho = R.sum(axis=0)
        rel = _relaxation(rho, float(lam.sum()), p, forced[cols], free_act)
        if _improves(rel.bound, best_bound):
            best_bound, best_lam, stall = rel.bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 30:
                theta, stall = theta / 2, 0
        # Lagrangian heuristic: local search from the relaxation's open set, over the columns still in play
        # (closed ones cannot be in a cheaper plan); given up after a run of calls that bring nothing.
        if fruitless < 8 and ((it <= 300 and it % 20 == 1) or it % 100 == 1):
            key = np.packbits(rel.chosen).tobytes() + cols.tobytes()
            if key not in seen:
                seen.add(key)
                calls += 1
                found = interchange(Cact, rel.chosen, fixed[cols], deadline)
                fruitless += 1
                if found.cost < incumbent.cost:
                    full = np.zeros(m, dtype=bool)
                    full[cols[found.open]] = True
                    incumbent, fruitless = Incumbent(full, found.cost), 0
        if incumbent.cost - best_bound <= stop_gap or theta < 1e-4 or time.perf_counter() > deadline:
            break
        # Penalty tests with the current multipliers (valid for any lam): shrink the matrix now and then.
        if it % 50 == 0:
            close, must = penalty_tests(rel, free_act, incumbent.cost + keep_tol)
            close &= ~incumbent.open[cols]
            if close.any() or must.any():
                forced[cols[must]] = True
                active[cols[close]] = False
                cols = np.flatnonzero(active)
                Cact = C[:, cols]
                continue
        g = 1.0 - (R[:, rel.chosen] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0.0:  # the relaxation's assignment is a feasible plan: the bound is tight
            break
        lam = lam + theta * (incumbent.cost - rel.bound) / norm * g
    # Final tests with the best multipliers over the still-active columns.
    rel = relax(Cact, best_lam, p, forced[cols], active[cols] & ~forced[cols])
    best_bound = max(best_bound, rel.bound)
    close, must = penalty_tests(rel, active[cols] & ~forced[cols], incumbent.cost + keep_tol)
    close &= ~incumbent.open[cols]
    forced[cols[must]] = True
    active[cols[close]] = False
    active |= incumbent.open  # never lose the incumbent's own sites to rounding
    return RootOutcome(best_bound, best_lam, active, forced, incumbent, it, calls)


def _node_ascent(
    C: FloatArray,
    p: int,
    forced: BoolArray,
    free: BoolArray,
    lam: FloatArray,
    target: float,
    *,
    prune_at: float,
    iterations: int,
) -> tuple[float, FloatArray]:
    """A short warm-started subgradient ascent for one tree node; returns the best bound and multipliers."""
    best, best_lam = -math.inf, lam
    theta, stall = 1.0, 0
    for _ in range(iterations):
        R = C - lam[:, None]
        np.minimum(R, 0.0, out=R)
        rho = R.sum(axis=0)
        rel = _relaxation(rho, float(lam.sum()), p, forced, free)
        if _improves(rel.bound, best):
            best, best_lam, stall = rel.bound, lam, 0
        else:
            stall += 1
            if stall >= 15:
                theta, stall = theta / 2, 0
        if best >= prune_at or theta < 1e-3:
            break
        g = 1.0 - (R[:, rel.chosen] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0.0:
            break
        lam = lam + theta * (target - rel.bound) / norm * g
    return best, best_lam


@dataclass
class TreeOutcome:
    """Result of :func:`branch_and_bound`.

    Attributes
    ----------
    incumbent
        Best plan found.
    bound
        Proven lower bound on the optimum.
    nodes
        Nodes evaluated.
    complete
        True if the tree was exhausted (the incumbent is optimal within the gap).
    """

    incumbent: Incumbent
    bound: float
    nodes: int
    complete: bool


def branch_and_bound(
    C: FloatArray,
    p: int,
    fixed: BoolArray,
    forced: BoolArray,
    lam: FloatArray,
    incumbent: Incumbent,
    *,
    deadline: float,
    gap_abs: float,
    integer: bool,
    node_limit: int = 20_000,
    node_iterations: int = 200,
) -> TreeOutcome:
    """Lagrangian tree search (Christofides and Beasley 1982; Beasley 1985) on the reduced columns.

    Parameters
    ----------
    C
        Weighted cost matrix restricted to the columns still in play.
    p
        Number of columns to open.
    fixed
        Columns the user fixed open (local search never closes them).
    forced
        Columns proven open at the root (includes ``fixed``).
    lam
        Root multipliers (warm start).
    incumbent
        Best plan so far, as a mask over these columns.
    deadline
        ``time.perf_counter()`` value to stop at.
    gap_abs
        A node is pruned once its bound is within ``gap_abs`` of the incumbent.
    integer
        Every cost is an integer, so a bound can be rounded up.
    node_limit
        Maximum number of nodes.
    node_iterations
        Subgradient iterations per node.

    Returns
    -------
    TreeOutcome
        Incumbent, proven bound, node count and whether the search finished.
    """
    eps = 1e-7

    def effective(b: float) -> float:
        return math.ceil(b - eps - 1e-9 * abs(b)) if integer and math.isfinite(b) else b

    def prunable(b: float) -> bool:
        return effective(b) >= incumbent.cost - gap_abs

    heap: list[tuple[float, int, BoolArray, BoolArray, FloatArray]] = []
    heap.append((-math.inf, 0, forced.copy(), ~forced, lam))
    counter, nodes = 1, 0
    closed_bound = math.inf  # least bound among the pruned subtrees
    while heap:
        if nodes >= node_limit or time.perf_counter() > deadline:
            open_bound = min(effective(b) for b, *_ in heap)
            bound = min(incumbent.cost, closed_bound, open_bound)
            return TreeOutcome(incumbent, bound, nodes, False)
        parent_bound, _, F1, free, lam_node = heapq.heappop(heap)
        if prunable(parent_bound):
            closed_bound = min(closed_bound, effective(parent_bound))
            continue
        n_forced = int(F1.sum())
        if n_forced > p or n_forced + int(free.sum()) < p:
            continue  # no plan in this subtree
        nodes += 1
        if n_forced == p:
            cost = solution_cost(C, F1)
            if cost < incumbent.cost:
                incumbent = Incumbent(F1.copy(), cost)
            closed_bound = min(closed_bound, cost)
            continue
        bound, lam_node = _node_ascent(
            C, p, F1, free, lam_node, incumbent.cost, prune_at=incumbent.cost - gap_abs, iterations=node_iterations
        )
        bound = max(bound, parent_bound)
        if prunable(bound):
            closed_bound = min(closed_bound, effective(bound))
            continue
        rel = relax(C, lam_node, p, F1, free)
        close, must = penalty_tests(rel, free, incumbent.cost - gap_abs)
        if close.any() or must.any():
            free = free & ~close & ~must
            F1 = F1 | must
            if int(F1.sum()) > p or int(F1.sum()) + int(free.sum()) < p:
                closed_bound = min(closed_bound, effective(bound))
                continue
            rel = relax(C, lam_node, p, F1, free)
        node_bound = max(bound, rel.bound)
        if nodes <= 200 or nodes % 10 == 0:
            found = interchange(C, rel.chosen, fixed, deadline)
            if found.cost < incumbent.cost:
                incumbent = found
        if prunable(node_bound):
            closed_bound = min(closed_bound, effective(node_bound))
            continue
        if int(F1.sum()) == p:
            heapq.heappush(heap, (node_bound, counter, F1, np.zeros_like(free), lam_node))
            counter += 1
            continue
        candidates = np.flatnonzero(rel.chosen & free)
        penalty = rel.bound - rel.rho[candidates] + rel.nxt
        j = int(candidates[int(np.argmax(penalty))])
        without = free.copy()
        without[j] = False
        heapq.heappush(heap, (max(node_bound, float(penalty.max())), counter, F1, without, lam_node))
        with_j = F1.copy()
        with_j[j] = True
        heapq.heappush(heap, (node_bound, counter + 1, with_j, without, lam_node))
        counter += 2
    return TreeOutcome(incumbent, min(incumbent.cost, closed_bound), nodes, True)
