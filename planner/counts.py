"""Deciding how many hubs open (and open in the evening), and how many MDT sessions run, before deciding which.

A locality partnership's budget buys only a few hubs (£180,000 a year each, from budgets of £290,000-£860,000), so
the LP relaxation opens fractions of several hubs and evening openings and its bound is loose: for South Bristol
(on the dataset's localities before December 2026, as are the figures below) it is 17,423 against an optimum of
25,788, and HiGHS closes that by branching on single hubs for 15-20 seconds.
Fixing the *number* of hubs and of evening openings removes most of it: the LP of South Bristol's best pair
(2 hubs, 1 evening opening) is 24,008. The pairs the budget allows are few (five for South Bristol), so they are
solved one at a time in the order of their LP bounds, and a pair whose LP bound is already within the gap of
the best plan found is not solved at all (this is branching on the count first, as a solver would on a
special ordered set). The bound on the whole problem is the least of the bounds of what was solved or pruned.

Within a pair, the number of MDT sessions a week is decided the same way. One MDT session costs as much as
2.7 pop-up sessions, and the LP buys a fraction of one (North and West Bristol, 1 hub: 1.75 sessions) where a plan
must choose between one session and fewer pop-ups or two and fewer still; HiGHS spent 5 s on that choice. Each
count gets its own MIP (LP bound 18,581 for one session, 18,948 for two, 19,812 for none, against 18,069 for
the pair). The LP bound is a convex function of the count (it is the value function of an LP in a right-hand
side), so the counts are visited outward from the pair LP's own fractional count, each LP only when the queue
reaches it, and a count whose neighbour nearer the middle is already pruned is pruned too.

Where few hub choices remain within a count (:data:`MAX_HUB_SETS`), each gets its own LP and, best first, its own
MIP: HiGHS would otherwise branch on single hubs even where the count's LP opens one whole hub (Inner City and
East Bristol, 75 zones and 16 hub candidates: 5.7-9.6 s to 3.4-3.6 s; South Bristol 4.2-8.8 s to 3.2-3.7 s).

Where the whole LP places more than :data:`POPUP_LINK_SESSIONS` pop-up sessions a week (South Gloucestershire: 19),
the evening block is the hard part: choosing which venues get 17-22 whole sessions of 12 for about 217 contacts is
close to bin packing, and HiGHS stalls on it. There the counts' models also get the pop-up linking rows
(``serve <= demand x sessions``): in the whole model they only slowed HiGHS down (21 s to 37 s), but with the
counts fixed they halve the time of South Gloucestershire's hardest count (40 s to 18 s). Below that they do not
pay reliably (North and West Bristol, 9.5 sessions: 2.8 s to 4.3 s; South Bristol, 7.9: 2.9 s to 2.2 s).

A count with no hub open in the evening is two independent problems (:func:`separates`): evening demand can then
go only to pop-up sessions, and with the counts fixed so is the budget left for them. So such a count is solved in
two parts (:func:`_solve_apart`): the hubs, daytime and MDT sessions with no pop-up (about a second), then the
evening block with those hubs fixed (cut at the root only where it is large enough for the linking rows below).
HiGHS no longer branches on hubs and venues together: South Gloucestershire's hardest count (2 hubs, 1 MDT
session) took 25-29 s as one MIP and takes about 1 s and 10-13 s in two, and the South Bristol pioneer's 4.6 s
took 2.2 s.

The split is used when the best pair's LP bound is at least :data:`MIN_GAIN` above the LP bound of the whole problem
(a strong-branching test of the count disjunction); measured on every locality and scenario, splitting is never
more than 0.25 s slower, so the threshold is 0 and the split is used whenever the budget limits the hub count.
Measurements are in docs/benchmarks.md.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pyomo.environ as pyo

from planner.inputs import ModelInputs
from planner.model import load_values, popup_linking_rows, solution_values
from planner.solver import Resolver, SolverOutcome, SolverSettings, SolveStatus, relative_gap

MIN_GAIN = 0.0
"""How far above the whole LP bound the best pair's LP bound must be for the split to be used. It was 6% before
the MDT counts and the linking rows, when South Gloucestershire (gain 4-5%) split took 35-63 s instead of 22-40 s;
with them its split takes 8-19 s (gain 3-4%) and no measured case is slower than the whole model by over 0.25 s."""

MAX_PAIRS = 16
"""More (hubs, evening openings) pairs than this and the whole model goes to HiGHS (a large budget or no budget)."""

MAX_HUB_SETS = 40
"""A count whose hubs can be chosen in at most this many ways has each choice solved on its own (one-hub counts of
up to 40 candidates, two-hub counts of up to 9); more, and HiGHS chooses the hubs within the count's MIP."""

APART_SHARE = 0.25
"""Share of the gap a count solved in two parts (:func:`_solve_apart`) gives its hubs, daytime and MDT part, which
solves in about a second; the evening block, the hard part, gets the rest."""

EVENING_NODE_CUTS_WITH_LINKS = False
"""Whether HiGHS separates cuts below the root in the evening block of a count solved in two parts, where the block
is large enough for the pop-up linking rows (elsewhere it does). Only at the root took South Gloucestershire's
evening block (2 hubs, 1 MDT session) from 15-21 s to 10-13 s, three seeds each: its bound moves little below the
root, so the cuts HiGHS separates at each node cost more than they prune. The South Bristol pioneer's smaller block
(no linking rows) went the other way: 3.7 and 4.1 s in all with node cuts, 4.4 and 4.7 s without."""

POPUP_LINK_SESSIONS = 15.0
"""Above this many pop-up sessions a week in the whole LP, the counts' models get the pop-up linking rows (the
evening block alone solves in under 2 s up to 15 sessions and stalls at 17-22; see the module docstring)."""

Pair = tuple[int, int]


def count_pairs(inp: ModelInputs) -> list[Pair]:
    """The (hubs, evening openings) pairs the budget, the core offer and the hub-count levers allow.

    Parameters
    ----------
    inp
        Model inputs.

    Returns
    -------
    list of (int, int)
        Every pair, or an empty list when the budget does not limit the hub count (no budget, free hubs) or
        allows more than :data:`MAX_PAIRS` pairs.
    """
    sc = inp.scenario
    budget, hub_cost, evening_cost = sc.budget.annual, sc.hubs.fixed_cost, sc.hubs.evening_cost
    if budget is None or hub_cost <= 0:
        return []
    candidates = set(inp.sites.index[inp.sites["is_hub"]])
    most = min(len(candidates), math.floor(budget / hub_cost + 1e-9))
    if sc.hubs.max_hubs is not None:
        most = min(most, sc.hubs.max_hubs)
    # Each locality's core hubs are its own, so the core offer needs this many in all.
    least = max(len(candidates & set(sc.sites.fixed_open)), sc.hubs.min_per_locality * inp.zones["locality"].nunique())
    if sc.hubs.exact_hubs is not None:
        least = most = sc.hubs.exact_hubs
    pairs = [
        (n, e) for n in range(least, most + 1) for e in range(n + 1) if n * hub_cost + e * evening_cost <= budget + 1e-6
    ]
    return pairs if len(pairs) <= MAX_PAIRS else []


def _add_count_rows(m: pyo.ConcreteModel) -> None:
    m.count_hubs = pyo.Var(domain=pyo.NonNegativeIntegers)
    m.count_evening = pyo.Var(domain=pyo.NonNegativeIntegers)
    m.count_mdt = pyo.Var(domain=pyo.NonNegativeIntegers)
    m.count_hubs_row = pyo.Constraint(expr=pyo.quicksum(m.hub_open.values()) == m.count_hubs)
    m.count_evening_row = pyo.Constraint(expr=pyo.quicksum(m.hub_evening.values()) == m.count_evening)
    m.count_mdt_row = pyo.Constraint(expr=pyo.quicksum(m.mdt_sessions.values(), start=0) == m.count_mdt)


COUNT_COMPONENTS = (
    "count_hubs_row",
    "count_evening_row",
    "count_mdt_row",
    "count_popup_link",
    "count_hubs",
    "count_evening",
    "count_mdt",
)


def _remove_count_rows(m: pyo.ConcreteModel) -> None:
    for name in COUNT_COMPONENTS:
        if m.find_component(name) is not None:
            m.del_component(name)


def _fix_node(m: pyo.ConcreteModel, pair: Pair, mdt: int | None = None) -> None:
    m.count_hubs.fix(pair[0])
    m.count_evening.fix(pair[1])
    if mdt is None:
        m.count_mdt.unfix()
    else:
        m.count_mdt.fix(mdt)


@dataclass(order=True)
class _Node:
    """An entry of the best-first queue: a (hubs, evening openings) pair, or one MDT session count within it.

    ``key`` is a lower bound on the node's optimum: its own LP bound once ``known``, else its parent's (the LP
    bound is convex in the MDT count, so it only rises away from the pair LP's own count, the way ``step`` walks).
    """

    key: float
    seq: int
    pair: Pair = field(compare=False)
    mdt: int | None = field(compare=False, default=None)
    known: bool = field(compare=False, default=False)
    step: int = field(compare=False, default=0)
    hubs: tuple[str, ...] | None = field(compare=False, default=None)


def _describe(pair: Pair, mdt: int | None, chosen: tuple[str, ...] | None = None) -> str:
    hubs = f"{pair[0]} hub" + ("s" if pair[0] != 1 else "")
    if chosen:
        hubs += f" ({', '.join(chosen)})"
    if mdt is None:  # the pair's LP did not finish, so its MDT count is left to HiGHS
        return f"{hubs}, {pair[1]} open in the evening"
    sessions = f"{mdt} MDT session" + ("s" if mdt != 1 else "")
    return f"{hubs}, {pair[1]} open in the evening, {sessions} a week"


def free_hubs(m: pyo.ConcreteModel) -> list[str]:
    """The hub candidates whose opening the model leaves to the solver (the scenario fixes none of them)."""
    return [s for s in m.HUBS if not m.hub_open[s].fixed]


def hub_sets(m: pyo.ConcreteModel, hubs: int) -> list[tuple[str, ...]] | None:
    """Every way of choosing the hubs of a count that opens ``hubs`` of them, if there are few enough.

    Hubs the scenario fixes open are in every set; the others are chosen from the candidates the model leaves free.

    Returns
    -------
    list of tuple of str or None
        The free hubs to open, one tuple per choice; ``None`` when there are more than :data:`MAX_HUB_SETS`.
    """
    free = free_hubs(m)
    k = hubs - sum(1 for s in m.HUBS if m.hub_open[s].fixed and (m.hub_open[s].value or 0) > 0.5)
    if k < 0 or k > len(free) or math.comb(len(free), k) > MAX_HUB_SETS:
        return None
    return list(itertools.combinations(free, k))


def _fix_hubs(models: tuple[pyo.ConcreteModel, ...], free: list[str], chosen: tuple[str, ...] | None) -> None:
    """Open exactly ``chosen`` among the ``free`` hubs of each model, or free them again when ``chosen`` is None."""
    opened = set(chosen or ())
    for model in models:
        for s in free:
            if chosen is None:
                model.hub_open[s].unfix()
            else:
                model.hub_open[s].fix(1 if s in opened else 0)


def separates(m: pyo.ConcreteModel) -> bool:
    """Whether a count with no evening opening is two independent problems in ``m``.

    With no hub open in the evening, evening demand can go only to pop-up sessions, which no other decision touches
    but the budget; and with the numbers of hubs, evening openings and MDT sessions fixed, so is what they cost
    (every hub and every MDT session costs the same), and with it the budget left for pop-ups. So the hubs,
    daytime and MDT part and the evening block can be solved one after the other (:func:`_solve_apart`). Not so
    when a budget overrun is priced (elastic mode) or hard evening coverage forbids a plan with no pop-up session,
    and not worth it with no pop-up venue.
    """
    forced = any(v.fixed for v in m.evening_gap.values())
    return len(m.POPUP_SITES) > 0 and not getattr(m, "VIOLATIONS", []) and not forced


def _count_bound(out: SolverOutcome, key: float, cutoff: float | None) -> float:
    """A lower bound on every plan of a count, from its MIP's outcome (``key``: its LP bound)."""
    if out.status is SolveStatus.INFEASIBLE:
        return math.inf if cutoff is None else cutoff  # with a cutoff: nothing better than it
    if out.bound is None:
        return key
    # With a cutoff, HiGHS's bound holds only for plans better than the cutoff.
    return out.bound if cutoff is None else min(out.bound, cutoff)


def _options(
    settings: SolverSettings, cutoff: float | None, *, abs_gap: float | None = None, node_cuts: bool = True
) -> dict[str, Any]:
    """HiGHS options for one count's MIP (the Resolver starts each solve from HiGHS's defaults)."""
    options = dict(settings.extra)
    if cutoff is not None:  # only a plan better than the best by more than the gap matters: HiGHS prunes the rest
        options["objective_bound"] = cutoff
    if abs_gap is not None:
        options["mip_abs_gap"] = abs_gap
    if not node_cuts:
        options["mip_allow_cut_separation_at_nodes"] = False
    return options


@dataclass(frozen=True)
class _MIPs:
    """What every count's MIP is solved with: one HiGHS instance, the model, its settings, the time left and the
    variables that change between counts."""

    solver: Resolver
    m: pyo.ConcreteModel
    settings: SolverSettings
    left: Callable[[], float]
    changed: list[Any]

    def solve(self, rel_gap: float, extra: dict[str, Any], load: bool | list[Any] = True) -> SolverOutcome:
        settings = replace(self.settings, time_limit=max(self.left(), 0.1), mip_rel_gap=rel_gap, extra=extra)
        return self.solver.solve(self.m, settings, changed=self.changed, load=load)


def _solve_whole(mips: _MIPs, key: float, cutoff: float | None) -> tuple[SolverOutcome, float]:
    """Solve the count fixed in the model as one MIP; return its outcome and a lower bound on its plans."""
    out = mips.solve(mips.settings.mip_rel_gap, _options(mips.settings, cutoff))
    return out, _count_bound(out, key, cutoff)


def _solve_apart(mips: _MIPs, key: float, cutoff: float | None) -> tuple[SolverOutcome, float]:
    """Solve a count with no evening opening as its two independent parts (:func:`separates`).

    First the hubs, daytime and MDT part, with no pop-up session (the evening demand is then all unmet, a constant),
    to within :data:`APART_SHARE` of the gap; then the evening block, those hubs and MDT sessions fixed, to the rest
    of the gap. The plan is the second solve's, and a bound on the count is the second solve's bound less the first
    solve's own absolute gap. Returns the outcome and that bound, as :func:`_solve_whole` does.
    """
    m, settings = mips.m, mips.settings
    gap, base = settings.mip_rel_gap, max(key, 0.0)  # key, the count's LP bound, is at most any of its plans
    popups = list(m.popup_sessions.values())
    for v in popups:
        v.fix(0)
    try:
        decisions = [*m.hub_open.values(), *m.mdt_sessions.values()]  # all the second solve needs of the first
        first = mips.solve(0.0, _options(settings, None, abs_gap=APART_SHARE * gap * base), load=decisions)
    finally:
        for v in popups:
            v.unfix()
    if first.status is SolveStatus.INFEASIBLE:  # a plan with no pop-up fits wherever any plan of the count does
        return first, math.inf
    if first.objective is None or first.bound is None:
        return first, key
    first_gap = max(first.objective - first.bound, 0.0)
    decided = [v for v in decisions if not v.fixed]
    for v in decided:
        v.fix(round(v.value or 0.0))
    try:
        rel = max(gap - first_gap / base, 0.0) if base > 0 else gap
        # Plans of these hubs up to the first solve's gap above the cutoff are kept, so that a bound reached there
        # proves the cutoff for every choice of hubs.
        lifted = None if cutoff is None else cutoff + first_gap
        node_cuts = EVENING_NODE_CUTS_WITH_LINKS or m.find_component("count_popup_link") is None
        second = mips.solve(rel, _options(settings, lifted, node_cuts=node_cuts))
    finally:
        for v in decided:
            v.unfix()
    if second.bound is None and second.status is not SolveStatus.INFEASIBLE:
        found = key  # the evening solve proved nothing
    else:  # every plan of the count costs at least its bound (for these hubs) less the first part's gap
        found = _count_bound(second, key, lifted) - first_gap
    bound = found if math.isfinite(found) else None
    seconds = first.solve_seconds + second.solve_seconds
    return replace(second, bound=bound, gap=relative_gap(second.objective, bound), solve_seconds=seconds), found


def solve_by_counts(
    inp: ModelInputs,
    m: pyo.ConcreteModel,
    settings: SolverSettings,
    *,
    progress: Callable[[str], None] | None = None,
) -> SolverOutcome | None:
    """Solve ``m`` one (hubs, evening openings, MDT sessions) count at a time, if that pays (module docstring).

    Parameters
    ----------
    inp
        Model inputs (for the budget and the hub-count rules).
    m
        The model of ``inp``; left holding the best plan when one is returned, and as built either way.
    settings
        HiGHS settings: the time limit covers everything here, and ``mip_rel_gap`` is both each count's gap and the
        margin by which a count must be able to beat the best plan to be solved.
    progress
        Called with a short message at each step.

    Returns
    -------
    SolverOutcome or None
        The best plan's outcome (bound: the least of the counts' bounds), or ``None`` when the split does not pay,
        finds no plan in time or the pairs' LPs fail; then ``m`` is unchanged and the whole model should be solved.
    """
    say = progress or (lambda _: None)
    pairs = count_pairs(inp)
    if len(pairs) < 2:
        return None
    began = time.perf_counter()

    def left() -> float:
        return settings.time_limit - (time.perf_counter() - began)

    _add_count_rows(m)
    try:
        lp = m.clone()
        pyo.TransformationFactory("core.relax_integer_vars").apply_to(lp)
        lp_solver = Resolver()  # between counts only the count variables' bounds change
        lp_settings = SolverSettings(time_limit=max(left(), 1.0), mip_rel_gap=0.0, threads=settings.threads)
        whole = lp_solver.solve(lp, lp_settings)
        sessions = sum(float(v.value or 0.0) for v in lp.popup_sessions.values())
        if whole.status is SolveStatus.OPTIMAL and sessions > POPUP_LINK_SESSIONS:
            say(f"the LP places {sessions:.0f} pop-up sessions a week: adding the pop-up linking rows")
            for model in (m, lp):
                model.count_popup_link = popup_linking_rows(model)
            # The whole LP again with the rows, from the last basis: only the rows go to HiGHS.
            lp_solver.add_constraints(lp, list(lp.count_popup_link.values()))
            whole = lp_solver.solve(lp, replace(lp_settings, time_limit=max(left(), 1.0)), changed=[])
        if whole.status is not SolveStatus.OPTIMAL or whole.objective is None:
            return None
        whole_lp = whole.objective
        free = free_hubs(m)
        # Between solves only the counts and the free hubs change, and of an LP only its MDT count is read: telling
        # HiGHS only those (Resolver.solve) halves South Bristol's time (docs/benchmarks.md).
        lp_changed = [lp.count_hubs, lp.count_evening, lp.count_mdt, *(lp.hub_open[s] for s in free)]
        separable = separates(m)
        m_changed = [m.count_hubs, m.count_evening, m.count_mdt, *(m.hub_open[s] for s in free)]
        if separable:  # _solve_apart fixes and frees the sessions too
            m_changed += [*m.popup_sessions.values(), *m.mdt_sessions.values()]

        def lp_value(pair: Pair, mdt: int | None, fallback: float) -> tuple[float, bool]:
            """The LP bound with these counts fixed, and whether that LP was solved to optimality."""
            _fix_node(lp, pair, mdt)
            settings_now = replace(lp_settings, time_limit=max(left(), 1.0))
            out = lp_solver.solve(lp, settings_now, changed=lp_changed, load=[lp.count_mdt])
            if out.status is SolveStatus.INFEASIBLE:
                return math.inf, True
            if out.status is SolveStatus.OPTIMAL and out.objective is not None:
                return out.objective, True
            return fallback, False  # an LP that did not finish still has its parent's bound

        lp_bound: dict[Pair, float] = {}
        lp_mdt: dict[Pair, float | None] = {}  # MDT sessions in each pair's LP optimum (None: LP not solved)
        for pair in pairs:
            lp_bound[pair], solved_lp = lp_value(pair, None, whole_lp)
            lp_mdt[pair] = float(lp.count_mdt.value or 0.0) if solved_lp and math.isfinite(lp_bound[pair]) else None
        gain = min(lp_bound.values()) / whole_lp - 1 if whole_lp > 0 else 0.0
        if gain < MIN_GAIN - 1e-9:  # a pair LP equal to the whole LP must not fail a threshold of 0 by rounding
            say(f"deciding hub counts first would not pay (LP bound +{gain:.1%}); solving the whole model")
            return None
        say(f"deciding hub counts first: {len(pairs)} (hubs, evening) pairs, LP bound +{gain:.1%}")
        mips = _MIPs(Resolver(), m, settings, left, m_changed)
        best, best_values = math.inf, None
        gap = settings.mip_rel_gap
        bounds: list[float] = []  # a lower bound for every count settled (solved, pruned or out of time)
        solved = 0
        queue = [_Node(lp_bound[p], i, p) for i, p in enumerate(pairs) if math.isfinite(lp_bound[p])]
        heapq.heapify(queue)
        seq = len(queue)

        def push(
            key: float, pair: Pair, mdt: int, *, known: bool, step: int, hubs: tuple[str, ...] | None = None
        ) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(queue, _Node(key, seq, pair, mdt, known, step, hubs))

        while queue:
            node = heapq.heappop(queue)
            cutoff = best * (1 - gap) if best_values is not None else None
            if (cutoff is not None and node.key >= cutoff) or left() < 0.5:
                # Pruned (every node left is at least as high) or out of time: the keys are the bounds.
                bounds += [node.key, *(n.key for n in queue)]
                break
            t = lp_mdt[node.pair]
            if node.mdt is None and t is not None:
                # The pair's LP takes a fractional MDT count t; its LP bound is convex in the count, so walk
                # outward from floor(t) and ceil(t), each step at least as high as the one before.
                low, high = math.floor(t + 1e-6), math.ceil(t - 1e-6)
                if low == high:
                    push(node.key, node.pair, low, known=False, step=0)
                else:
                    push(node.key, node.pair, low, known=False, step=-1)
                    push(node.key, node.pair, high, known=False, step=1)
                continue
            if node.mdt is not None and not node.known:
                value, _ = lp_value(node.pair, node.mdt, node.key)
                if math.isinf(value):
                    continue  # impossible, and so is every count further out
                if node.step <= 0 and node.mdt > 0:
                    push(value, node.pair, node.mdt - 1, known=False, step=-1)
                if node.step >= 0:
                    push(value, node.pair, node.mdt + 1, known=False, step=1)
                push(max(value, node.key), node.pair, node.mdt, known=True, step=node.step)
                continue
            if node.mdt is not None and node.hubs is None and (sets := hub_sets(lp, node.pair[0])) is not None:
                # Few ways to choose the hubs: each choice gets its own LP bound and, if it can beat the best, its
                # own MIP. Even where the count's LP opens one whole hub, HiGHS spends seconds proving that no
                # other hub does better (Inner City and East Bristol's 1-hub count: 4.1 s as one MIP; here 16 LPs of
                # 0.02 s and one MIP of 0.7 s, the other hubs' LP bounds above the cutoff).
                try:
                    for chosen in sets:
                        _fix_hubs((lp,), free, chosen)
                        value, _ = lp_value(node.pair, node.mdt, node.key)
                        if math.isfinite(value):
                            push(max(value, node.key), node.pair, node.mdt, known=True, step=node.step, hubs=chosen)
                finally:
                    _fix_hubs((lp,), free, None)
                continue
            _fix_node(m, node.pair, node.mdt)
            if node.hubs is not None:
                _fix_hubs((m,), free, node.hubs)
            try:
                if node.mdt is not None and node.pair[1] == 0 and separable:
                    out, found = _solve_apart(mips, node.key, cutoff)
                    how = "hubs and MDT, then the evening"
                else:
                    out, found = _solve_whole(mips, node.key, cutoff)
                    how = "one MIP"
            finally:
                if node.hubs is not None:
                    _fix_hubs((m,), free, None)
            solved += 1
            if out.objective is not None and out.objective < best:
                best, best_values = out.objective, solution_values(m)
            bounds.append(max(node.key, found))
            say(f"  {_describe(node.pair, node.mdt, node.hubs)}: best so far {best:,.0f} ({out.status}; {how})")
        if best_values is None:
            return None
        load_values(m, best_values)
        lower = min(bounds, default=best)
        objective = float(pyo.value(m.objective))
        gap_now = relative_gap(objective, lower)
        status = SolveStatus.OPTIMAL if gap_now is not None and gap_now <= gap + 1e-9 else SolveStatus.TIME_LIMIT
        return SolverOutcome(
            status,
            objective,
            lower,
            gap_now,
            time.perf_counter() - began,
            None,
            f"{len(pairs)} hub-count pairs, {solved} MIPs",
        )
    finally:
        _remove_count_rows(m)
