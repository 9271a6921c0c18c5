"""The planning model: hubs, evening pop-ups and MDT sessions, as a Pyomo mixed-integer program.

One small builder per family of variables or constraints, called in a fixed order by :func:`build_model`
(STYLE habit 1). Every index set comes from a named index: zone codes, site ids, slot names, specialties.

Groups and slots. Each zone's contacts split into people who can attend in the daytime (served at a hub
in the ``weekday_day`` slot) and people who can only come in the evening or at weekends (served in the
``weekday_evening`` or ``saturday`` slots, at a hub opened in the evening or at a pop-up session). The two
evening slots cost the same and serve the same people, so the model decides evening capacity per site
(sessions a week) and the plan spreads it evenly over the slots the scenario allows; this removes a
symmetry that would otherwise double the integer variables and slow branch and bound for no gain. MDT reviews
are daytime sessions at hubs. Demand not served is *unmet*; for the evening-only group it is the
*evening-access gap*.

Elastic mode (``elastic={"budget", ...}``) adds a non-negative slack to the named families of hard
requirements (``budget``, ``core_hub``, ``hub_count``, ``coverage``) and minimises their violation first:
the solution says by how much that requirement must give for the rest to be met.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pyomo.environ as pyo

from planner.inputs import ModelInputs
from planner.scenario import EVENING_SLOTS, WEEKS_PER_YEAR

BIG_PENALTY = 1e6
"""Weight of each unit of requirement violation in elastic mode (dominates every other term)."""


def define_sets(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Named index sets: zones, sites by service, slots, specialties, localities and the arc sets."""
    sites = inp.sites
    arcs = inp.arcs
    m.ZONES = pyo.Set(initialize=list(inp.zones.index), ordered=True)
    m.HUBS = pyo.Set(initialize=list(sites.index[sites["is_hub"]]), ordered=True)
    m.POPUP_SITES = pyo.Set(initialize=list(sites.index[sites["is_popup"]]), ordered=True)
    m.SPECIALTIES = pyo.Set(initialize=list(inp.specialties), ordered=True)
    m.MDT_SITES = pyo.Set(initialize=list(sites.index[sites["is_mdt"]]), ordered=True)
    m.LOCALITIES = pyo.Set(initialize=sorted(inp.zones["locality"].unique()), ordered=True)
    day = arcs.loc[arcs["hub_day"], ["zone_code", "site_id"]]
    m.DAY_ARCS = pyo.Set(dimen=2, initialize=list(day.itertuples(index=False, name=None)), ordered=True)
    evening = arcs.loc[arcs["hub_evening"] | arcs["popup"], ["zone_code", "site_id"]]
    m.EVENING_ARCS = pyo.Set(dimen=2, initialize=list(evening.itertuples(index=False, name=None)), ordered=True)
    mdt = arcs.loc[arcs["mdt"], ["zone_code", "site_id"]]
    m.MDT_ARCS = pyo.Set(dimen=2, initialize=list(mdt.itertuples(index=False, name=None)), ordered=True)
    # Sites reachable in the evening by some zone: only they need evening capacity rows.
    m.EVENING_SITES = pyo.Set(initialize=sorted(set(evening["site_id"])), ordered=True)


def define_parameters(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Plain Python lookups the builders share (kept off the Pyomo model's components for build speed)."""
    z = inp.zones
    a = inp.arcs.set_index(["zone_code", "site_id"])
    m._demand_day = z["contacts_day"].to_dict()
    m._demand_evening = z["contacts_evening_only"].to_dict()
    m._need_mdt = {(zc, k): float(z.at[zc, f"mdt_{k}"]) for zc in z.index for k in inp.specialties}
    m._weight = z["weight"].to_dict()
    m._t_day = a["minutes_day"].to_dict()
    m._t_evening = a["minutes_evening"].to_dict()
    by_zone: dict[str, dict[str, list[str]]] = {
        "day": defaultdict(list),
        "evening": defaultdict(list),
        "mdt": defaultdict(list),
    }
    by_site: dict[str, dict[str, list[str]]] = {
        "day": defaultdict(list),
        "evening": defaultdict(list),
        "mdt": defaultdict(list),
    }
    for key, arcset in (("day", m.DAY_ARCS), ("evening", m.EVENING_ARCS), ("mdt", m.MDT_ARCS)):
        for zc, sid in arcset:
            by_zone[key][zc].append(sid)
            by_site[key][sid].append(zc)
    m._by_zone = by_zone
    m._by_site = by_site
    m._site_locality = inp.sites["locality"].to_dict()


def define_site_variables(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Decisions at sites: hubs opened, opened in the evening, pop-up sessions, MDT sessions."""
    sc = inp.scenario
    m.hub_open = pyo.Var(m.HUBS, domain=pyo.Binary)
    m.hub_evening = pyo.Var(m.HUBS, domain=pyo.Binary)
    # Sessions a week over all allowed evening slots (spread evenly over them when the plan is read).
    max_popups = sc.popups.max_sessions_per_slot * len(sc.popups.slots)
    m.popup_sessions = pyo.Var(m.POPUP_SITES, domain=pyo.NonNegativeIntegers, bounds=(0, max_popups))
    m.mdt_sessions = pyo.Var(
        m.MDT_SITES, m.SPECIALTIES, domain=pyo.NonNegativeIntegers, bounds=(0, sc.mdt.max_sessions_per_hub)
    )
    fixed = set(sc.sites.fixed_open)
    for sid in m.HUBS:
        if sid in fixed:
            m.hub_open[sid].fix(1)


def define_allocation_variables(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Who is served where and when (contacts per week), and what is left unmet."""
    m.serve_day = pyo.Var(m.DAY_ARCS, domain=pyo.NonNegativeReals)
    m.serve_evening = pyo.Var(m.EVENING_ARCS, domain=pyo.NonNegativeReals)
    m.serve_mdt = pyo.Var(m.MDT_ARCS, m.SPECIALTIES, domain=pyo.NonNegativeReals)
    m.unmet_day = pyo.Var(m.ZONES, domain=pyo.NonNegativeReals)
    m.evening_gap = pyo.Var(m.ZONES, domain=pyo.NonNegativeReals)
    m.unmet_mdt = pyo.Var(m.ZONES, m.SPECIALTIES, domain=pyo.NonNegativeReals)


def define_demand_constraints(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Served plus unmet equals demand, for every zone, group and specialty (demand is conserved)."""

    def day_rule(m: Any, zc: str) -> Any:
        return sum(m.serve_day[zc, s] for s in m._by_zone["day"][zc]) + m.unmet_day[zc] == m._demand_day[zc]

    def evening_rule(m: Any, zc: str) -> Any:
        served = sum(m.serve_evening[zc, s] for s in m._by_zone["evening"][zc])
        return served + m.evening_gap[zc] == m._demand_evening[zc]

    def mdt_rule(m: Any, zc: str, k: str) -> Any:
        return sum(m.serve_mdt[zc, s, k] for s in m._by_zone["mdt"][zc]) + m.unmet_mdt[zc, k] == m._need_mdt[zc, k]

    m.meet_day_demand = pyo.Constraint(m.ZONES, rule=day_rule)
    m.meet_evening_demand = pyo.Constraint(m.ZONES, rule=evening_rule)
    m.meet_mdt_need = pyo.Constraint(m.ZONES, m.SPECIALTIES, rule=mdt_rule)


def define_capacity_constraints(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Capacity by site and slot: nothing is served at a closed site or in a slot it does not run.

    Each capacity is capped at the demand the site can reach at all (``min(capacity, reachable demand)``). The
    cap changes no integer plan, since a site never serves more than it can reach, but it tightens the LP
    relaxation sharply where a whole pop-up session or hub is far more than the demand around it (the LP bound of
    the BNSSG default rises from 72,500 to 91,400; see docs/benchmarks.md).
    """
    sc = inp.scenario
    hubs = set(m.HUBS)
    popups = set(m.POPUP_SITES)
    d_day, d_eve, need = m._demand_day, m._demand_evening, m._need_mdt

    def day_rule(m: Any, sid: str) -> Any:
        zones = m._by_site["day"][sid]
        if not zones:
            return pyo.Constraint.Skip
        cap = min(sc.hubs.capacity_day, sum(d_day[zc] for zc in zones))
        return sum(m.serve_day[zc, sid] for zc in zones) <= cap * m.hub_open[sid]

    n_slots = len(EVENING_SLOTS)

    def evening_rule(m: Any, sid: str) -> Any:
        zones = m._by_site["evening"][sid]
        reach = sum(d_eve[zc] for zc in zones)
        cap: Any = 0
        if sid in hubs:
            cap += min(sc.hubs.capacity_evening * n_slots, reach) * m.hub_evening[sid]
        if sid in popups:
            cap += min(sc.popups.capacity_per_session, reach) * m.popup_sessions[sid]
        return sum(m.serve_evening[zc, sid] for zc in zones) <= cap

    def mdt_rule(m: Any, sid: str, k: str) -> Any:
        zones = m._by_site["mdt"][sid]
        if not zones:
            return pyo.Constraint.Skip
        cap = min(sc.mdt.capacity_per_session, sum(need[zc, k] for zc in zones))
        return sum(m.serve_mdt[zc, sid, k] for zc in zones) <= cap * m.mdt_sessions[sid, k]

    m.hub_day_capacity = pyo.Constraint(m.HUBS, rule=day_rule)
    m.evening_capacity = pyo.Constraint(m.EVENING_SITES, rule=evening_rule)
    m.mdt_capacity = pyo.Constraint(m.MDT_SITES, m.SPECIALTIES, rule=mdt_rule)


def define_linking_constraints(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Disaggregated links for services with a fixed cost: a zone sends at most its whole demand to a hub, and
    only if the hub is open (in the evening, if it is open in the evening).

    Implied by the capacity rows for integer solutions, but they tighten the LP relaxation sharply (the strong
    facility-location formulation). Pop-up and MDT sessions have no fixed cost (cost is proportional to
    capacity), so their relaxation is already tight and linking rows would only slow the LP down.
    """
    popups = set(m.POPUP_SITES)
    d_day, d_eve = m._demand_day, m._demand_evening
    hub_only_evening = [(zc, sid) for zc, sid in m.EVENING_ARCS if sid in set(m.HUBS) and sid not in popups]
    m.link_day = pyo.Constraint(m.DAY_ARCS, rule=lambda m, zc, sid: m.serve_day[zc, sid] <= d_day[zc] * m.hub_open[sid])
    m.link_evening = pyo.Constraint(
        hub_only_evening, rule=lambda m, zc, sid: m.serve_evening[zc, sid] <= d_eve[zc] * m.hub_evening[sid]
    )


def popup_linking_rows(m: pyo.ConcreteModel) -> pyo.Constraint:
    """``serve <= demand x sessions`` on every pop-up arc (plus the evening opening where the venue is a hub too).

    Not part of the model :func:`build_model` builds (in the whole model they slow HiGHS down); returned unattached
    for :mod:`planner.counts`, which adds them where the counts are fixed and they pay (docs/benchmarks.md).
    """
    hubs, popups, demand = set(m.HUBS), set(m.POPUP_SITES), m._demand_evening
    arcs = [(zc, sid) for zc, sid in m.EVENING_ARCS if sid in popups]

    def link(m: pyo.ConcreteModel, zc: str, sid: str) -> Any:
        held = m.popup_sessions[sid] + (m.hub_evening[sid] if sid in hubs else 0)
        return m.serve_evening[zc, sid] <= demand[zc] * held

    return pyo.Constraint(arcs, rule=link)


def define_site_logic(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Evening opening and MDT sessions only at open hubs."""
    cap = inp.scenario.mdt.max_sessions_per_hub
    m.evening_needs_hub = pyo.Constraint(m.HUBS, rule=lambda m, s: m.hub_evening[s] <= m.hub_open[s])
    m.mdt_at_open_hub = pyo.Constraint(
        m.MDT_SITES, m.SPECIALTIES, rule=lambda m, s, k: m.mdt_sessions[s, k] <= cap * m.hub_open[s]
    )


def define_workforce_constraints(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Each specialty's MDT sessions across all hubs stay within its workforce."""
    workforce = inp.scenario.mdt.workforce

    def rule(m: Any, k: str) -> Any:
        if len(m.MDT_SITES) == 0:
            return pyo.Constraint.Skip
        return sum(m.mdt_sessions[s, k] for s in m.MDT_SITES) <= workforce.get(k, 0)

    m.mdt_workforce = pyo.Constraint(m.SPECIALTIES, rule=rule)


def annual_cost_expressions(m: pyo.ConcreteModel, inp: ModelInputs) -> None:
    """Annual cost by component, in pounds (hubs, evening opening, pop-ups, MDT sessions)."""
    sc = inp.scenario
    m.cost_hubs = pyo.Expression(expr=sc.hubs.fixed_cost * pyo.quicksum(m.hub_open[s] for s in m.HUBS))
    m.cost_evening = pyo.Expression(expr=sc.hubs.evening_cost * pyo.quicksum(m.hub_evening[s] for s in m.HUBS))
    m.cost_popups = pyo.Expression(
        expr=WEEKS_PER_YEAR * sc.popups.cost_per_session * pyo.quicksum(m.popup_sessions.values())
    )
    m.cost_mdt = pyo.Expression(expr=WEEKS_PER_YEAR * sc.mdt.cost_per_session * pyo.quicksum(m.mdt_sessions.values()))
    m.annual_cost = pyo.Expression(expr=m.cost_hubs + m.cost_evening + m.cost_popups + m.cost_mdt)


ELASTIC_FAMILIES = ("budget", "core_hub", "hub_count", "coverage")
"""Hard-requirement families that elastic mode can relax."""


def define_policy_constraints(m: pyo.ConcreteModel, inp: ModelInputs, *, elastic: frozenset[str]) -> None:
    """Budget, a core hub in every locality, hub counts and hard coverage standards.

    In elastic mode each gets a slack variable named ``<constraint>_shortfall``.
    """
    sc = inp.scenario
    violations: list[tuple[str, Any, float]] = []  # (label, slack component, unit scale)
    m.VIOLATIONS = violations

    def slack(name: str, index: Any = None) -> Any:
        var = pyo.Var(index, domain=pyo.NonNegativeReals) if index is not None else pyo.Var(domain=pyo.NonNegativeReals)
        m.add_component(f"{name}_shortfall", var)
        return var

    if sc.budget.annual is not None:
        budget = float(sc.budget.annual)
        if "budget" in elastic:
            over = slack("budget")
            m.VIOLATIONS.append(("budget", over, max(budget, 1.0)))
            m.budget_limit = pyo.Constraint(expr=m.annual_cost / 1000.0 <= (budget + over) / 1000.0)
        else:
            # In thousands of pounds: keeps the row's coefficients near the others' (numerically better scaled).
            m.budget_limit = pyo.Constraint(expr=m.annual_cost / 1000.0 <= budget / 1000.0)

    need = sc.hubs.min_per_locality
    if need > 0:
        by_loc: dict[str, list[str]] = defaultdict(list)
        for sid in m.HUBS:
            by_loc[m._site_locality[sid]].append(sid)
        short = slack("core_hub", m.LOCALITIES) if "core_hub" in elastic else None
        if short is not None:
            m.VIOLATIONS.append(("core_hub", short, 1.0))

        def core_rule(m: Any, loc: str) -> Any:
            lhs = sum(m.hub_open[s] for s in by_loc.get(loc, []))
            if short is not None:
                lhs = lhs + short[loc]
            if isinstance(lhs, int | float):
                return pyo.Constraint.Infeasible if lhs < need else pyo.Constraint.Feasible
            return lhs >= need

        m.core_hub = pyo.Constraint(m.LOCALITIES, rule=core_rule)

    n_open = pyo.quicksum(m.hub_open[s] for s in m.HUBS)
    if sc.hubs.max_hubs is not None:
        if "hub_count" in elastic:
            excess = slack("max_hubs")
            m.VIOLATIONS.append(("max_hubs", excess, 1.0))
            m.hub_count_max = pyo.Constraint(expr=n_open <= sc.hubs.max_hubs + excess)
        else:
            m.hub_count_max = pyo.Constraint(expr=n_open <= sc.hubs.max_hubs)
    if sc.hubs.exact_hubs is not None:
        if "hub_count" in elastic:
            up, down = slack("exact_hubs_over"), slack("exact_hubs_under")
            m.VIOLATIONS += [("exact_hubs", up, 1.0), ("exact_hubs", down, 1.0)]
            m.hub_count_exact = pyo.Constraint(expr=n_open - up + down == sc.hubs.exact_hubs)
        else:
            m.hub_count_exact = pyo.Constraint(expr=n_open == sc.hubs.exact_hubs)

    total_day = max(sum(m._demand_day.values()), 1e-9)
    total_eve = max(sum(m._demand_evening.values()), 1e-9)
    total_mdt = max(sum(m._need_mdt.values()), 1e-9)
    if sc.requirements.full_coverage:
        if "coverage" in elastic:
            m.VIOLATIONS.append(("coverage_day", m.unmet_day, total_day))
            m.VIOLATIONS.append(("coverage_mdt", m.unmet_mdt, total_mdt))
        else:
            for var in (*m.unmet_day.values(), *m.unmet_mdt.values()):
                var.fix(0)
    if sc.requirements.full_coverage or sc.requirements.full_evening_coverage:
        if "coverage" in elastic:
            m.VIOLATIONS.append(("coverage_evening", m.evening_gap, total_eve))
        else:
            for var in m.evening_gap.values():
                var.fix(0)


def define_objective(m: pyo.ConcreteModel, inp: ModelInputs, *, elastic: frozenset[str]) -> None:
    """Demand-weighted travel plus penalties for unmet need and the evening gap (plus cost if weighted)."""
    w = inp.scenario.weights
    wt = m._weight
    m.travel_term = pyo.Expression(
        expr=w.travel
        * (
            pyo.quicksum(wt[zc] * m._t_day[zc, s] * m.serve_day[zc, s] for zc, s in m.DAY_ARCS)
            + pyo.quicksum(wt[zc] * m._t_evening[zc, s] * m.serve_evening[zc, s] for zc, s in m.EVENING_ARCS)
            + pyo.quicksum(
                wt[zc] * m._t_day[zc, s] * m.serve_mdt[zc, s, k] for zc, s in m.MDT_ARCS for k in m.SPECIALTIES
            )
        )
    )
    m.unmet_term = pyo.Expression(
        expr=w.unmet * pyo.quicksum(wt[zc] * m.unmet_day[zc] for zc in m.ZONES)
        + w.mdt_unmet * pyo.quicksum(wt[zc] * m.unmet_mdt[zc, k] for zc in m.ZONES for k in m.SPECIALTIES)
    )
    m.evening_gap_term = pyo.Expression(expr=w.evening_gap * pyo.quicksum(wt[zc] * m.evening_gap[zc] for zc in m.ZONES))
    m.cost_term = pyo.Expression(expr=w.cost * m.annual_cost / 1000.0)
    expr = m.travel_term + m.unmet_term + m.evening_gap_term + m.cost_term
    if elastic:
        violation = pyo.quicksum(
            pyo.quicksum(var.values()) / scale if var.is_indexed() else var / scale for _, var, scale in m.VIOLATIONS
        )
        expr = BIG_PENALTY * violation + expr
    m.objective = pyo.Objective(expr=expr, sense=pyo.minimize)


def build_model(inp: ModelInputs, *, elastic: frozenset[str] | set[str] = frozenset()) -> pyo.ConcreteModel:
    """Build the Pyomo planning model for one scenario.

    Parameters
    ----------
    inp
        Model inputs from :func:`planner.inputs.build_inputs`.
    elastic
        Families of hard requirements (see ``ELASTIC_FAMILIES``) to relax with penalised slacks, for
        infeasibility diagnosis; empty for the normal model.

    Returns
    -------
    pyomo.environ.ConcreteModel
        The model, with components named after what they mean (``hub_open``, ``serve_day``, ``evening_gap``...).
    """
    m = pyo.ConcreteModel(name=inp.scenario.name)
    define_sets(m, inp)
    define_parameters(m, inp)
    define_site_variables(m, inp)
    define_allocation_variables(m, inp)
    define_demand_constraints(m, inp)
    define_capacity_constraints(m, inp)
    define_linking_constraints(m, inp)
    define_site_logic(m, inp)
    define_workforce_constraints(m, inp)
    annual_cost_expressions(m, inp)
    relaxed = frozenset(elastic)
    unknown = sorted(relaxed - set(ELASTIC_FAMILIES))
    if unknown:
        raise ValueError(f"unknown requirement family {unknown[0]!r}; expected one of {ELASTIC_FAMILIES}")
    define_policy_constraints(m, inp, elastic=relaxed)
    define_objective(m, inp, elastic=relaxed)
    return m


def model_size(m: pyo.ConcreteModel) -> dict[str, int]:
    """Count the model's variables (by kind) and constraints."""
    n_var = n_bin = n_int = 0
    for var in m.component_data_objects(pyo.Var, active=True):
        if var.fixed:
            continue
        n_var += 1
        if var.is_binary():
            n_bin += 1
        elif var.is_integer():
            n_int += 1
    n_con = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
    return {
        "variables": n_var,
        "binary": n_bin,
        "integer": n_int,
        "continuous": n_var - n_bin - n_int,
        "constraints": n_con,
    }


def load_values(target: pyo.ConcreteModel, values: Mapping[str, Mapping[Any, float]]) -> None:
    """Set ``target``'s variables from ``values`` (component name -> index -> value; 0 where absent), rounding
    integers, so that ``target`` holds that plan (or can be warm-started from it). Fixed variables are kept."""
    for var in target.component_data_objects(pyo.Var, descend_into=True):
        if not var.fixed:
            var.set_value(0.0, skip_validation=True)
    for name, by_index in values.items():
        twin = target.find_component(name)
        if twin is None:
            continue
        for index, value in by_index.items():
            if index in twin and not twin[index].fixed:
                var = twin[index]
                value = round(value) if var.is_integer() or var.is_binary() else max(value, 0.0)
                var.set_value(value, skip_validation=True)


def solution_values(m: pyo.ConcreteModel) -> dict[str, dict[Any, float]]:
    """The non-zero variable values ``m`` holds, as component name -> index -> value (what :func:`load_values`
    takes; plain data, so it can cross a process boundary)."""
    values: dict[str, dict[Any, float]] = {}
    for comp in m.component_objects(pyo.Var, active=True):
        nonzero = {index: float(var.value) for index, var in comp.items() if var.value}
        if nonzero:
            values[comp.name] = nonzero
    return values


def copy_solution(source: pyo.ConcreteModel, target: pyo.ConcreteModel) -> None:
    """Set ``target``'s variables to ``source``'s solution by name and index (see :func:`load_values`)."""
    load_values(target, solution_values(source))
