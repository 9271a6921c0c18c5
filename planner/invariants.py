"""Invariants every solved plan must satisfy, checked on the plan's own tables (not the solver's word).

Used by the test suite on every plan it solves, and available to users who want to audit a plan.
"""

from __future__ import annotations

import math

import numpy as np

from planner.inputs import ModelInputs
from planner.plan import Plan
from planner.scenario import EVENING_SLOTS, SPECIALTIES


def plan_violations(plan: Plan, inp: ModelInputs, *, tol: float = 1e-5) -> list[str]:
    """List every broken invariant of a solved plan (empty when the plan is sound).

    Checks: demand conserved (served + unmet = demand, per zone, group and specialty); nothing served at a
    site that is closed or in a slot it does not run; capacity per site and slot; no idle paid-for capacity (no more
    whole sessions than a site's load needs, no evening opening or hub serving no one that no requirement needs);
    MDT workforce; budget; a core hub per locality; fixed-open and closed sites respected; allocation only within the
    travel limit.

    Parameters
    ----------
    plan
        A plan with a solution.
    inp
        The inputs it was solved from.
    tol
        Absolute tolerance (contacts or pounds, scaled by magnitude where relevant).

    Returns
    -------
    list of str
        One line per broken invariant.
    """
    if not plan.has_solution:
        return ["plan has no solution"]
    sc = inp.scenario
    out: list[str] = []
    z, s, a = plan.zones, plan.sites, plan.allocation

    # Demand conserved.
    served = a.groupby(["zone_code", "service"])["contacts"].sum().unstack(fill_value=0.0)
    for col, svc, unmet in (
        ("contacts_day", "hub_day", "unmet_day"),
        ("contacts_evening_only", "evening", "evening_gap"),
    ):
        got = served[svc].reindex(z.index).fillna(0.0) if svc in served else 0.0 * z[col]
        diff = (got + z[unmet] - z[col]).abs()
        if (diff > tol * np.maximum(1.0, z[col])).any():
            out.append(f"demand not conserved for {col} in zone {diff.idxmax()} (off by {diff.max():.6f})")
    mdt = a.loc[a["service"] == "mdt"].groupby(["zone_code", "specialty"])["contacts"].sum()
    for spec in SPECIALTIES:
        got = (
            mdt.xs(spec, level="specialty").reindex(z.index).fillna(0.0)
            if spec in mdt.index.get_level_values(1)
            else 0.0
        )
        diff = (got + z[f"unmet_mdt_{spec}"] - z[f"mdt_{spec}"]).abs()
        if (diff > tol * np.maximum(1.0, z[f"mdt_{spec}"])).any():
            out.append(f"MDT need not conserved for {spec} in zone {diff.idxmax()}")
    if (z[["unmet_day", "evening_gap"]] < -tol).any().any() or (a["contacts"] < -tol).any():
        out.append("negative allocation or unmet demand")

    # Nothing at closed sites, slots respected, capacities held.
    day = a.loc[a["service"] == "hub_day"].groupby("site_id")["contacts"].sum()
    for sid, load in day.items():
        if not s.at[sid, "hub_open"]:
            out.append(f"daytime contacts served at {sid}, which is not an open hub")
        elif load > sc.hubs.capacity_day + tol:
            out.append(f"daytime capacity exceeded at {sid}: {load:.3f} > {sc.hubs.capacity_day}")
    eve = a.loc[a["service"] == "evening"].groupby(["site_id", "slot"])["contacts"].sum()
    for (sid, slot), load in eve.items():
        if slot not in EVENING_SLOTS:
            out.append(f"evening-only contacts served in daytime slot {slot} at {sid}")
            continue
        cap = (sc.hubs.capacity_evening if s.at[sid, "hub_evening"] else 0.0) + sc.popups.capacity_per_session * float(
            s.at[sid, f"popup_{slot}"]
        )
        if load > cap + tol:
            out.append(f"evening capacity exceeded at {sid} in {slot}: {load:.3f} > {cap:.3f}")
    if sc.popups.enabled:
        for slot in EVENING_SLOTS:
            n = s[f"popup_{slot}"]
            if slot not in sc.popups.slots and (n > 0).any():
                out.append(f"pop-up sessions in slot {slot}, which the scenario does not allow")
            if (n > sc.popups.max_sessions_per_slot).any():
                out.append(f"more than {sc.popups.max_sessions_per_slot} pop-up sessions in one slot at one site")
    elif (s[[f"popup_{t}" for t in EVENING_SLOTS]].to_numpy() > 0).any():
        out.append("pop-up sessions although pop-ups are disabled")
    if (s["hub_evening"] & ~s["hub_open"]).any():
        out.append("a site is open in the evening without being an open hub")
    mdt_load = a.loc[a["service"] == "mdt"].groupby(["site_id", "specialty"])["contacts"].sum()
    for (sid, spec), load in mdt_load.items():
        cap = sc.mdt.capacity_per_session * float(s.at[sid, f"mdt_{spec}"])
        if load > cap + tol:
            out.append(f"MDT capacity exceeded at {sid} for {spec}: {load:.3f} > {cap:.3f}")
    for spec in SPECIALTIES:
        sessions = s[f"mdt_{spec}"]
        if ((sessions > 0) & ~s["hub_open"]).any():
            out.append(f"{spec} MDT sessions at a site that is not an open hub")
        if sessions.sum() > sc.mdt.workforce.get(spec, 0):
            out.append(
                f"{spec} MDT sessions {int(sessions.sum())} exceed the workforce {sc.mdt.workforce.get(spec, 0)}"
            )

    # No idle paid-for capacity: each site holds the fewest whole sessions its load needs (capacities capped at the
    # demand in reach change nothing here: a site never serves more than it can reach).
    eve_load = eve.groupby(level="site_id").sum()
    hub_eve_cap = sc.hubs.capacity_evening * len(EVENING_SLOTS)
    for sid in s.index[s["hub_evening"]]:
        if eve_load.get(sid, 0.0) <= 0.0:  # the allocation keeps every load above 1e-6, the trim's threshold
            out.append(f"idle capacity: {sid} is open in the evening but serves no one")
    if sc.hubs.exact_hubs is None:  # an exact count may need a hub that serves no one
        mdt_held = s[[f"mdt_{k}" for k in SPECIALTIES]].sum(axis=1)
        hubs = s.loc[s["hub_open"].astype(bool)]
        open_in = hubs["locality"].value_counts()
        for sid, row in hubs.iterrows():
            idle = day.get(sid, 0.0) <= 0.0 and not row["hub_evening"] and mdt_held[sid] == 0
            if idle and not row["fixed_open"] and open_in[row["locality"]] > sc.hubs.min_per_locality:
                out.append(f"idle capacity: hub {sid} is open but serves no one")
    popups = s[[f"popup_{t}" for t in EVENING_SLOTS]].sum(axis=1)
    for sid in popups.index[popups > 0]:
        rest = eve_load.get(sid, 0.0) - (hub_eve_cap if s.at[sid, "hub_evening"] else 0.0)
        needed = math.ceil(max(0.0, rest) / sc.popups.capacity_per_session - 1e-7)
        if popups[sid] > needed:
            out.append(
                f"idle capacity: {sid} runs {int(popups[sid])} pop-up sessions a week where {needed} hold its load"
            )
    for spec in SPECIALTIES:
        for sid in s.index[s[f"mdt_{spec}"] > 0]:
            load = float(mdt_load.get((sid, spec), 0.0))
            needed = math.ceil(load / sc.mdt.capacity_per_session - 1e-7)
            held = int(s.at[sid, f"mdt_{spec}"])
            if held > needed:
                out.append(f"idle capacity: {sid} runs {held} {spec} MDT sessions where {needed} hold its load")

    # Policies.
    if sc.budget.annual is not None and plan.costs["total"] > sc.budget.annual * (1 + 1e-9) + tol:
        out.append(f"budget exceeded: {plan.costs['total']:,.2f} > {sc.budget.annual:,.2f}")
    recomputed = float(s["annual_cost"].sum())
    rounding = 0.005 * len(plan.costs)  # each part of the total is rounded to the penny, the site costs are not
    if abs(recomputed - plan.costs["total"]) > tol * max(1.0, plan.costs["total"]) + rounding:
        out.append(f"site costs {recomputed:,.2f} do not add up to the total {plan.costs['total']:,.2f}")
    if sc.hubs.min_per_locality:
        per = s.loc[s["hub_open"]].groupby("locality").size()
        for loc in sorted(z["locality"].unique()):
            if per.get(loc, 0) < sc.hubs.min_per_locality:
                out.append(f"locality {loc!r} has {per.get(loc, 0)} hubs, fewer than {sc.hubs.min_per_locality}")
    for sid in sc.sites.fixed_open:
        if sid in s.index and not s.at[sid, "hub_open"]:
            out.append(f"fixed-open site {sid} is not open")
    used_closed = set(a["site_id"]) & set(sc.sites.closed)
    if used_closed:
        out.append(f"closed site(s) used: {sorted(used_closed)}")
    n_open = int(s["hub_open"].sum())
    if sc.hubs.exact_hubs is not None and n_open != sc.hubs.exact_hubs:
        out.append(f"{n_open} hubs open, expected exactly {sc.hubs.exact_hubs}")
    if sc.hubs.max_hubs is not None and n_open > sc.hubs.max_hubs:
        out.append(f"{n_open} hubs open, more than max_hubs {sc.hubs.max_hubs}")
    if (a["minutes"] > sc.travel.max_minutes + 1e-6).any():
        out.append(f"allocation beyond the travel limit of {sc.travel.max_minutes} minutes")
    if sc.requirements.full_coverage and (z["unmet_day"] > tol).any():
        out.append("full coverage required but daytime demand is unmet")
    if (sc.requirements.full_coverage or sc.requirements.full_evening_coverage) and (z["evening_gap"] > tol).any():
        out.append("full evening coverage required but there is an evening gap")
    return out
