"""Arithmetic checks that catch an impossible scenario before solving, with the numbers in the message.

Each check returns zero or more :class:`Violation` objects; :func:`check_inputs` runs them all. After an
infeasible solve the elastic model (``planner.model.build_model(..., elastic=True)``) measures the
violations that arithmetic alone cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.inputs import ModelInputs
from planner.scenario import WEEKS_PER_YEAR


@dataclass(frozen=True)
class Violation:
    """A requirement that cannot be met.

    Attributes
    ----------
    requirement
        Short name of the requirement (``budget``, ``core_hub``, ``coverage_day``...).
    message
        Plain-words explanation with the numbers.
    shortfall
        How much is missing, in ``unit``.
    unit
        Unit of the shortfall (``GBP/year``, ``hubs``, ``contacts/week``...).
    repair
        Which repair the shortfall belongs to: shortfalls with the same number are needed together, those with
        different numbers are alternatives (the infeasibility diagnosis relaxes one family of requirements at a
        time; coverage, for one, can fall short in daytime and MDT reviews at once).
    proven
        ``False`` when the check stopped at its time limit: the shortfall is then the least found, an upper bound
        on the least needed.
    """

    requirement: str
    message: str
    shortfall: float
    unit: str
    repair: int = 0
    proven: bool = True


def _money(x: float) -> str:
    # pence for a shortfall under a pound: "short by £0" would read as no shortfall at all
    return f"£{x:,.2f}" if 0 < abs(x) < 1 else f"£{x:,.0f}"


def check_core_hubs(inp: ModelInputs) -> list[Violation]:
    """Every locality partnership needs enough hub-capable candidates for its core offer."""
    need = inp.scenario.hubs.min_per_locality
    if need == 0:
        return []
    hubs = inp.sites.loc[inp.sites["is_hub"]]
    counts = hubs.groupby("locality").size()
    out = []
    for loc in sorted(inp.zones["locality"].unique()):
        have = int(counts.get(loc, 0))
        if have < need:
            out.append(
                Violation(
                    "core_hub",
                    f"locality {loc!r} needs {need} core hub(s) but has only {have} hub-capable candidate site(s) "
                    "left after closures and kind filters",
                    float(need - have),
                    "hubs",
                )
            )
    return out


def core_hubs(inp: ModelInputs) -> int:
    """Fewest hubs the core offer per locality and the fixed-open sites require."""
    sc = inp.scenario
    hubs = inp.sites.loc[inp.sites["is_hub"]]
    fixed = hubs.loc[hubs["fixed_open"]].groupby("locality").size()
    need = 0
    for loc in inp.zones["locality"].unique():
        need += max(sc.hubs.min_per_locality, int(fixed.get(loc, 0)))
    need += int(hubs.loc[hubs["fixed_open"] & ~hubs["locality"].isin(inp.zones["locality"].unique())].shape[0])
    return need


def minimum_hubs(inp: ModelInputs) -> int:
    """Fewest hubs any feasible plan must open (core offer per locality, fixed-open sites, exact count)."""
    exact = inp.scenario.hubs.exact_hubs
    return core_hubs(inp) if exact is None else max(core_hubs(inp), exact)


def check_hub_counts(inp: ModelInputs) -> list[Violation]:
    """Hub-count levers must leave room for the core offer and fixed-open sites."""
    sc = inp.scenario
    need = minimum_hubs(inp)
    out = []
    cap = sc.hubs.max_hubs if sc.hubs.exact_hubs is None else sc.hubs.exact_hubs
    if cap is not None and need > cap:
        which = "hubs.exact_hubs" if sc.hubs.exact_hubs is not None else "hubs.max_hubs"
        out.append(
            Violation(
                "hub_count",
                f"{which} = {cap} but the core offer and fixed-open sites need at least {need} "
                f"hub{'s' if need != 1 else ''}; short by {need - cap}",
                float(need - cap),
                "hubs",
            )
        )
    n_candidates = int(inp.sites["is_hub"].sum())
    if sc.hubs.exact_hubs is not None and sc.hubs.exact_hubs > n_candidates:
        out.append(
            Violation(
                "hub_count",
                f"hubs.exact_hubs = {sc.hubs.exact_hubs} but only {n_candidates} hub-capable candidate sites exist",
                float(sc.hubs.exact_hubs - n_candidates),
                "hubs",
            )
        )
    return out


def check_budget(inp: ModelInputs) -> list[Violation]:
    """The budget must at least pay for the hubs every feasible plan has to open."""
    sc = inp.scenario
    if sc.budget.annual is None:
        return []
    need = minimum_hubs(inp)
    cost = need * sc.hubs.fixed_cost
    if cost > sc.budget.annual + 1e-6:
        # name the lever that sets the count: an exact hub count above the core offer, else the core offer
        exact = sc.hubs.exact_hubs
        why = (
            f"that hubs.exact_hubs = {exact} asks for"
            if exact is not None and exact > core_hubs(inp)
            else "that the core offer and fixed-open sites require"
        )
        return [
            Violation(
                "budget",
                f"budget {_money(sc.budget.annual)} a year is below {_money(cost)}, the cost of the {need} hubs "
                f"{why} ({need} x {_money(sc.hubs.fixed_cost)}); short by {_money(cost - sc.budget.annual)}",
                cost - sc.budget.annual,
                "GBP/year",
            )
        ]
    return []


def check_coverage(inp: ModelInputs) -> list[Violation]:
    """Under a hard coverage standard, every zone with demand needs a site in reach and enough capacity overall."""
    sc = inp.scenario
    req = sc.requirements
    out: list[Violation] = []
    if not (req.full_coverage or req.full_evening_coverage):
        return out
    z = inp.zones
    arcs = inp.arcs
    limit = sc.travel.max_minutes
    sites = inp.sites
    travel = inp.travel

    def nearest(candidates: pd.Index, minutes: str) -> pd.Series:
        # the nearest site that could offer the service (not a school that cannot be a hub)
        return travel.loc[travel["site_id"].isin(candidates)].groupby("zone_code")[minutes].min()

    checks = []
    if req.full_coverage:
        day_sites = sites.index[sites["is_hub"]]
        checks.append(
            (
                "coverage_day",
                "contacts_day",
                set(arcs.loc[arcs["hub_day"], "zone_code"]),
                "daytime hub",
                nearest(day_sites, "minutes_day"),
            )
        )
    evening_sites = sites.index[sites["is_hub"] | sites["is_popup"]]
    checks.append(
        (
            "coverage_evening",
            "contacts_evening_only",
            set(arcs.loc[arcs["hub_evening"] | arcs["popup"], "zone_code"]),
            "evening service",
            nearest(evening_sites, "minutes_evening"),
        )
    )
    for name, col, reachable, what, nearest_minutes in checks:
        lacking = z.index[(z[col] > 1e-9) & ~z.index.isin(list(reachable))]
        if len(lacking):
            demand = float(z.loc[lacking, col].sum())
            first = lacking[0]
            out.append(
                Violation(
                    name,
                    f"{len(lacking)} zone(s) with {demand:,.1f} contacts/week have no {what} candidate within "
                    f"{limit:g} minutes by {sc.travel.mode} (e.g. {first}, nearest such site "
                    f"{nearest_minutes.get(first, np.nan):.1f} minutes); raise travel.max_minutes or "
                    "travel.nearest_hubs, or add sites",
                    demand,
                    "contacts/week",
                )
            )
    hubs = inp.sites.loc[inp.sites["is_hub"]]
    if req.full_coverage:
        day_cap = len(hubs) * sc.hubs.capacity_day
        demand = float(z["contacts_day"].sum())
        if day_cap < demand:
            out.append(
                Violation(
                    "coverage_day",
                    f"daytime demand {demand:,.0f} contacts/week exceeds the capacity of every hub-capable site "
                    "together "
                    f"({len(hubs)} x {sc.hubs.capacity_day:g} = {day_cap:,.0f})",
                    demand - day_cap,
                    "contacts/week",
                )
            )
        for spec in inp.specialties:
            need = float(z[f"mdt_{spec}"].sum())
            cap = sc.mdt.workforce.get(spec, 0) * sc.mdt.capacity_per_session
            if need > cap + 1e-9:
                out.append(
                    Violation(
                        "mdt_workforce",
                        f"{spec} MDT need {need:,.1f} reviews/week exceeds what its workforce can give "
                        f"({sc.mdt.workforce.get(spec, 0)} sessions x {sc.mdt.capacity_per_session:g} = {cap:,.1f}); "
                        f"short by {need - cap:,.1f} reviews/week",
                        need - cap,
                        "reviews/week",
                    )
                )
    evening_demand = float(z["contacts_evening_only"].sum())
    popup_sites = inp.sites.loc[inp.sites["is_popup"]]
    evening_cap = len(hubs) * sc.hubs.capacity_evening * 2 + len(popup_sites) * len(sc.popups.slots) * (
        sc.popups.max_sessions_per_slot * sc.popups.capacity_per_session
    )
    if evening_cap < evening_demand:
        out.append(
            Violation(
                "coverage_evening",
                f"evening-only demand {evening_demand:,.0f} contacts/week exceeds all evening capacity that could be "
                f"opened ({evening_cap:,.0f})",
                evening_demand - evening_cap,
                "contacts/week",
            )
        )
    if sc.budget.annual is not None and evening_demand > 0 and evening_cap >= evening_demand:
        # Cheapest evening capacity per contact a year, against what the budget leaves after the required hubs
        # (where the capacity itself falls short, as above, no budget is enough and a figure would mislead).
        per_contact = min(
            WEEKS_PER_YEAR * sc.popups.cost_per_session / sc.popups.capacity_per_session
            if sc.popups.enabled and len(popup_sites) and sc.popups.capacity_per_session > 0
            else np.inf,
            sc.hubs.evening_cost / (2 * sc.hubs.capacity_evening) if sc.hubs.capacity_evening > 0 else np.inf,
        )
        left = sc.budget.annual - minimum_hubs(inp) * sc.hubs.fixed_cost
        needed = per_contact * evening_demand
        if np.isfinite(needed) and needed > left + 1e-6 and left >= 0:
            out.append(
                Violation(
                    "budget",
                    f"serving all {evening_demand:,.0f} evening-only contacts/week costs at least "
                    f"{_money(needed)} a year "
                    f"but the budget leaves {_money(left)} after the core hubs; short by {_money(needed - left)}",
                    needed - left,
                    "GBP/year",
                )
            )
    return out


def check_inputs(inp: ModelInputs) -> list[Violation]:
    """Run every arithmetic check.

    Parameters
    ----------
    inp
        The model inputs.

    Returns
    -------
    list of Violation
        Empty if nothing is provably impossible.
    """
    return [*check_core_hubs(inp), *check_hub_counts(inp), *check_budget(inp), *check_coverage(inp)]
