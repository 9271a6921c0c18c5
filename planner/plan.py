"""The typed result of a planning run and how it is read off a solved model."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.inputs import ModelInputs
from planner.scenario import EVENING_SLOTS, SPECIALTIES, WEEKS_PER_YEAR
from planner.solver import SolveStatus

ALLOCATION_COLUMNS = ["zone_code", "site_id", "service", "slot", "specialty", "contacts", "minutes"]


@dataclass(frozen=True)
class Plan:
    """A solved (or failed) plan.

    Attributes
    ----------
    scenario_name
        Name of the scenario planned.
    status
        ``optimal``, ``time_limit`` (incumbent with ``gap``), ``no_solution``, ``infeasible`` or ``error``.
    message
        Plain words: for an infeasible plan, which requirement cannot be met and by how much.
    objective, bound, gap
        Objective of the plan, best proven bound, relative gap (``None`` when there is no plan).
    build_seconds, solve_seconds
        Time to build the Pyomo model and to solve it.
    size
        Model size (variables, binaries, integers, constraints) and instance size (zones, sites, arcs).
    sites
        One row per candidate site with its decisions (``hub_open``, ``hub_evening``, ``popup_<slot>``,
        ``mdt_<specialty>``), loads and annual cost.
    zones
        One row per zone with demand, served, unmet, evening gap and travel indicators.
    allocation
        Who goes where: ``zone_code, site_id, service, slot, specialty, contacts, minutes``.
    costs
        Annual cost by component in pounds and the total.
    kpis
        Headline indicators (see :mod:`planner.kpis`).
    violations
        Requirements that cannot be met (infeasible plans only).
    dataset_manifest
        The manifest of the dataset planned on, with any sites the scenario added (set by
        :func:`planner.api.solve_scenario`; what the run folder records of its data).
    """

    scenario_name: str
    status: SolveStatus
    message: str = ""
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    size: dict[str, int] = field(default_factory=dict)
    sites: pd.DataFrame = field(default_factory=pd.DataFrame)
    zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    allocation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ALLOCATION_COLUMNS))
    costs: dict[str, float] = field(default_factory=dict)
    kpis: dict[str, Any] = field(default_factory=dict)
    violations: tuple[dict[str, Any], ...] = ()
    dataset_manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """Whether the plan holds a feasible solution."""
        return self.status.has_solution

    def summary(self) -> dict[str, Any]:
        """The plan's headline as plain JSON-ready values (the content of ``summary.json``)."""
        return {
            "scenario": self.scenario_name,
            "status": str(self.status),
            "message": self.message,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "model_size": dict(self.size),
            "costs": dict(self.costs),
            "kpis": self.kpis,
            "violations": list(self.violations),
        }


def _values(var: Any) -> pd.Series:
    """Values of an indexed Pyomo variable as a Series keyed by its index (``None`` read as 0)."""
    data = {k: (v.value or 0.0) for k, v in var.items()}
    return pd.Series(data, dtype=float)


def extract_sites(m: pyo.ConcreteModel, inp: ModelInputs, alloc: pd.DataFrame) -> pd.DataFrame:
    """Decisions and loads per candidate site."""
    sc = inp.scenario
    s = inp.sites[["name", "kind", "locality", "lon", "lat", "is_hub", "is_popup", "is_mdt", "fixed_open"]].copy()
    s["hub_open"] = _values(m.hub_open).reindex(s.index).fillna(0.0).round().astype(bool)
    s["hub_evening"] = _values(m.hub_evening).reindex(s.index).fillna(0.0).round().astype(bool) & s["hub_open"]
    per_slot = popup_slot_split(_values(m.popup_sessions).reindex(s.index).fillna(0.0), sc.popups.slots)
    for slot in EVENING_SLOTS:
        s[f"popup_{slot}"] = per_slot[slot]
    mdt = _values(m.mdt_sessions)
    for spec in SPECIALTIES:
        col = f"mdt_{spec}"
        if len(mdt):
            per = mdt[mdt.index.get_level_values(1) == spec]
            per.index = per.index.get_level_values(0)
            s[col] = per.reindex(s.index).fillna(0.0).round().astype(int)
        else:
            s[col] = 0
    loads = alloc.groupby(["site_id", "service"])["contacts"].sum().unstack(fill_value=0.0)
    for svc in ("hub_day", "evening", "mdt"):
        s[f"load_{svc}"] = loads[svc].reindex(s.index).fillna(0.0) if svc in loads else 0.0
    popup_sessions = s[[f"popup_{t}" for t in EVENING_SLOTS]].sum(axis=1)
    mdt_sessions = s[[f"mdt_{k}" for k in SPECIALTIES]].sum(axis=1)
    s["annual_cost"] = (
        s["hub_open"] * sc.hubs.fixed_cost
        + s["hub_evening"] * sc.hubs.evening_cost
        + WEEKS_PER_YEAR * (popup_sessions * sc.popups.cost_per_session + mdt_sessions * sc.mdt.cost_per_session)
    )

    def services(row: pd.Series) -> str:
        parts = []
        if row["hub_open"]:
            parts.append("hub")
        if row["hub_evening"]:
            parts.append("evening hub")
        slots = [t for t in EVENING_SLOTS if row[f"popup_{t}"] > 0]
        if slots:
            parts.append("pop-up (" + ", ".join(t.replace("_", " ") for t in slots) + ")")
        specs = [k for k in SPECIALTIES if row[f"mdt_{k}"] > 0]
        if specs:
            parts.append("MDT (" + ", ".join(k.replace("_", " ") for k in specs) + ")")
        return "; ".join(parts)

    s["services"] = s.apply(services, axis=1) if len(s) else ""
    s["used"] = s["services"] != ""
    return s


def trim_idle_capacity(m: pyo.ConcreteModel, inp: ModelInputs) -> float:
    """Drop paid-for capacity that carries no contact from a solved model; return the annual pounds saved.

    Cost enters the objective only through the budget (unless ``weights.cost`` is set), so where the budget does not
    bind, above all with no budget at all, any plan that adds idle hubs, pop-up sessions, MDT sessions or evening
    openings to an optimal one is optimal too, and HiGHS may return it (Weston option B with no budget: 300 pop-up
    sessions a week, 253 of them idle; South Bristol with no budget: 19 hubs, 4 of them serving no one). Each site
    keeps the fewest whole sessions that still hold its load, an evening opening that serves no one is closed, and
    so is a hub that serves no one unless a requirement needs it (fixed open, its locality's core offer, an exact
    hub count). Every contact stays where it is, so the service, travel and penalties are unchanged and every
    constraint still holds (no row asks for a minimum of sessions, and the hub counts are respected); only the cost
    falls.

    Parameters
    ----------
    m
        A model built by :func:`planner.model.build_model` holding a solution; its values are changed in place.
    inp
        The inputs it was built from.

    Returns
    -------
    float
        Annual cost saved, in pounds (0 when nothing was idle).
    """
    sc = inp.scenario
    tol = 1e-6
    d_eve, need_mdt = m._demand_evening, m._need_mdt
    hubs, popups = set(m.HUBS), set(m.POPUP_SITES)
    saved = 0.0
    for sid in m.EVENING_SITES:
        zones = m._by_site["evening"][sid]
        load = sum(m.serve_evening[zc, sid].value or 0.0 for zc in zones)
        reach = sum(d_eve[zc] for zc in zones)
        held = 0.0
        if sid in hubs and round(m.hub_evening[sid].value or 0.0) == 1:
            if load <= tol:
                m.hub_evening[sid].set_value(0)
                saved += sc.hubs.evening_cost
            else:
                held = min(sc.hubs.capacity_evening * len(EVENING_SLOTS), reach)
        if sid in popups:
            sessions = round(m.popup_sessions[sid].value or 0.0)
            per_session = min(sc.popups.capacity_per_session, reach)
            needed = math.ceil(max(0.0, load - held) / per_session - tol) if per_session > 0 else 0
            if needed < sessions:
                m.popup_sessions[sid].set_value(needed)
                saved += (sessions - needed) * WEEKS_PER_YEAR * sc.popups.cost_per_session
    for (sid, k), var in m.mdt_sessions.items():
        sessions = round(var.value or 0.0)
        if sessions == 0:
            continue
        zones = m._by_site["mdt"][sid]
        load = sum(m.serve_mdt[zc, sid, k].value or 0.0 for zc in zones)
        per_session = min(sc.mdt.capacity_per_session, sum(need_mdt[zc, k] for zc in zones))
        needed = math.ceil(load / per_session - tol) if per_session > 0 else 0
        if needed < sessions:
            var.set_value(needed)
            saved += (sessions - needed) * WEEKS_PER_YEAR * sc.mdt.cost_per_session
    return saved + _close_idle_hubs(m, inp, tol)


def _close_idle_hubs(m: pyo.ConcreteModel, inp: ModelInputs, tol: float) -> float:
    """Close open hubs that serve no one (after the session trim), where no hub-count requirement needs them."""
    sc = inp.scenario
    if sc.hubs.exact_hubs is not None:
        return 0.0  # the count is fixed: an idle hub is one of the hubs the scenario asks for
    is_open = {sid: round(m.hub_open[sid].value or 0.0) == 1 for sid in m.HUBS}
    open_in = Counter(m._site_locality[sid] for sid in m.HUBS if is_open[sid])
    mdt_sites = set(m.MDT_SITES)
    saved = 0.0
    for sid in m.HUBS:
        if not is_open[sid] or m.hub_open[sid].fixed or open_in[m._site_locality[sid]] <= sc.hubs.min_per_locality:
            continue
        if round(m.hub_evening[sid].value or 0.0) == 1:
            continue
        if sid in mdt_sites and any(round(m.mdt_sessions[sid, k].value or 0.0) > 0 for k in m.SPECIALTIES):
            continue
        if sum(m.serve_day[zc, sid].value or 0.0 for zc in m._by_site["day"][sid]) > tol:
            continue
        m.hub_open[sid].set_value(0)
        open_in[m._site_locality[sid]] -= 1
        saved += sc.hubs.fixed_cost
    return saved


def popups_in_use(sites: pd.DataFrame) -> pd.Series:
    """Whether each site of a plan's sites table holds pop-up sessions (any evening slot)."""
    return sites[[c for c in sites.columns if c.startswith("popup_")]].sum(axis=1) > 0


def popup_slot_split(sessions: pd.Series, slots: tuple[str, ...]) -> pd.DataFrame:
    """Spread each site's weekly pop-up sessions evenly over the allowed slots (earlier slots take the odd one).

    Parameters
    ----------
    sessions
        Sessions a week per site (index site_id).
    slots
        The slots pop-ups may run in, in order.

    Returns
    -------
    pandas.DataFrame
        One integer column per evening slot (zero for slots not allowed).
    """
    n = sessions.round().astype(int)
    out = pd.DataFrame(0, index=sessions.index, columns=list(EVENING_SLOTS))
    allowed = [t for t in EVENING_SLOTS if t in slots]
    if allowed:
        base, extra = n // len(allowed), n % len(allowed)
        for i, slot in enumerate(allowed):
            out[slot] = base + (extra > i).astype(int)
    return out


def evening_slot_shares(m: pyo.ConcreteModel, inp: ModelInputs) -> dict[str, dict[str, float]]:
    """Each site's evening capacity share by slot (hub evening opening plus its pop-up sessions in that slot)."""
    sc = inp.scenario
    popups = popup_slot_split(_values(m.popup_sessions), sc.popups.slots) if len(m.popup_sessions) else None
    hub_eve = _values(m.hub_evening)
    shares: dict[str, dict[str, float]] = {}
    for sid in m.EVENING_SITES:
        caps = {}
        for slot in EVENING_SLOTS:
            cap = sc.hubs.capacity_evening * round(float(hub_eve.get(sid, 0.0)))
            if popups is not None and sid in popups.index:
                cap += sc.popups.capacity_per_session * float(popups.at[sid, slot])
            caps[slot] = cap
        total = sum(caps.values())
        if total > 0:
            shares[sid] = {slot: c / total for slot, c in caps.items() if c > 0}
    return shares


def extract_allocation(m: pyo.ConcreteModel, inp: ModelInputs) -> pd.DataFrame:
    """The allocation as a tidy table (rows with fewer than 1e-6 contacts dropped)."""
    rows: list[tuple[str, str, str, str, str, float, float]] = []
    t_day = m._t_day
    t_eve = m._t_evening
    for (zc, sid), var in m.serve_day.items():
        v = var.value or 0.0
        if v > 1e-6:
            rows.append((zc, sid, "hub_day", "weekday_day", "", v, t_day[zc, sid]))
    shares = evening_slot_shares(m, inp)
    for (zc, sid), var in m.serve_evening.items():
        v = var.value or 0.0
        if v > 1e-6:
            for slot, share in shares.get(sid, {}).items():
                if v * share > 1e-6:
                    rows.append((zc, sid, "evening", slot, "", v * share, t_eve[zc, sid]))
    for (zc, sid, spec), var in m.serve_mdt.items():
        v = var.value or 0.0
        if v > 1e-6:
            rows.append((zc, sid, "mdt", "weekday_day", spec, v, t_day[zc, sid]))
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)


def extract_zones(m: pyo.ConcreteModel, inp: ModelInputs, alloc: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Demand, service and travel indicators per zone."""
    z = inp.zones.copy()
    z["unmet_day"] = _values(m.unmet_day).reindex(z.index).fillna(0.0).clip(lower=0.0)
    z["evening_gap"] = _values(m.evening_gap).reindex(z.index).fillna(0.0).clip(lower=0.0)
    unmet_mdt = _values(m.unmet_mdt)
    for spec in SPECIALTIES:
        if len(unmet_mdt):
            per = unmet_mdt[unmet_mdt.index.get_level_values(1) == spec]
            per.index = per.index.get_level_values(0)
            z[f"unmet_mdt_{spec}"] = per.reindex(z.index).fillna(0.0).clip(lower=0.0)
        else:
            z[f"unmet_mdt_{spec}"] = 0.0
    z["served_day"] = z["contacts_day"] - z["unmet_day"]
    z["served_evening"] = z["contacts_evening_only"] - z["evening_gap"]
    z["evening_gap_share"] = np.where(
        z["contacts_evening_only"] > 0, z["evening_gap"] / z["contacts_evening_only"], 0.0
    )
    z["evening_gap_people"] = (
        z["evening_gap_share"] * z["evening_only_share"] * (z["complex_people"] + z["at_risk_people"])
    )
    contacts = alloc.loc[alloc["service"] != "mdt"]
    weighted = (contacts["contacts"] * contacts["minutes"]).groupby(contacts["zone_code"]).sum()
    served = contacts.groupby("zone_code")["contacts"].sum()
    z["mean_minutes"] = (weighted / served).reindex(z.index)
    # Time to the nearest open hub (day) and nearest evening service, from the full travel table.
    t = inp.travel
    open_hubs = sites.index[sites["hub_open"]]
    eve_sites = sites.index[sites["hub_evening"] | (sites[[f"popup_{s}" for s in EVENING_SLOTS]].sum(axis=1) > 0)]
    z["nearest_hub_minutes"] = (
        t.loc[t["site_id"].isin(open_hubs)].groupby("zone_code")["minutes_day"].min().reindex(z.index)
    )
    z["nearest_evening_minutes"] = (
        t.loc[t["site_id"].isin(eve_sites)].groupby("zone_code")["minutes_evening"].min().reindex(z.index)
    )
    gp = inp.travel.loc[inp.travel["site_id"].str.startswith("gp:")]
    z["baseline_gp_minutes"] = gp.groupby("zone_code")["minutes_day"].min().reindex(z.index)
    return z


def extract_costs(m: pyo.ConcreteModel) -> dict[str, float]:
    """Annual cost by component (pounds)."""
    parts = {
        "hubs": pyo.value(m.cost_hubs),
        "evening_opening": pyo.value(m.cost_evening),
        "popups": pyo.value(m.cost_popups),
        "mdt": pyo.value(m.cost_mdt),
    }
    # + 0.0: HiGHS can return -0.0 for a closed binary, and "-0.0" in costs.csv reads as a refund
    out = {k: round(float(v), 2) + 0.0 for k, v in parts.items()}
    out["total"] = round(sum(out.values()), 2)
    return out
