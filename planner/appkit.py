"""Everything the Streamlit app (``app.py``) needs that is not drawing widgets.

Scenario levers (read from a scenario and applied back with :meth:`Scenario.with_changes`), a solve cache keyed by
the scenario's JSON (so returning to an earlier setting is instant), the map layers (pydeck, which Streamlit
renders from its own bundle, so the map draws offline, without a base map), the legend, checking an uploaded
sites file row by row, plain-words advice for an infeasible plan, and the download payloads.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.dataset import Dataset, load_dataset
from geodata.errors import DataValidationError, PlannerError
from planner.charts import MEASURES, is_share, popup_label
from planner.charts import zone_values as charts_zone_values
from planner.plan import Plan, popups_in_use
from planner.report import formatted_comparison, headline_cards
from planner.scenario import EVENING_SLOTS, LIBRARY_DIR, SPECIALTIES, Scenario, load_scenario, scenario_library
from planner.solver import SolveStatus

MAX_UPLOAD_BYTES = 2_000_000
"""Largest sites file the app accepts (2 MB: tens of thousands of rows, far more than any estate list)."""
MAX_UPLOAD_ROWS = 2_000
"""Most candidate sites one upload may add (each adds travel times to every zone)."""
MAX_ROW_ERRORS = 20
"""Row errors listed for one upload before the rest are summarised."""
HUB_CHOICES = ("free", "exact", "max")
"""How the number of hubs is set: free choice (budget decides), exactly N, at most N."""
HUB_CHOICE_LABELS = {"free": "free choice (the budget decides)", "exact": "exactly", "max": "at most"}
MODE_LABELS = {"pt": "public transport", "car": "car", "walk": "walking"}
WEIGHT_KEYS = ("travel", "unmet", "evening_gap", "mdt_unmet", "equity", "cost")
WEIGHT_LABELS = {
    "travel": "travel (per contact-minute)",
    "unmet": "unserved daytime contact",
    "evening_gap": "unserved evening-only contact",
    "mdt_unmet": "MDT review not given",
    "equity": "equity (extra weight on deprived areas)",
    "cost": "cost (per £1,000 a year)",
}

# ----------------------------------------------------------------------------------------------- scenarios


def load_library_scenario(name: str, folder: Path = LIBRARY_DIR) -> Scenario:
    """Load a library scenario by name (raises ScenarioError naming the file if it is broken)."""
    return load_scenario(scenario_library(folder)[name])


@dataclass(frozen=True)
class Levers:
    """The main levers the app exposes, as plain values.

    Attributes
    ----------
    year
        Demand year (2024 or 2040).
    budget
        Annual budget in pounds, ``None`` for no limit.
    hub_choice, hub_count
        ``free`` (the budget decides), ``exact`` (exactly ``hub_count``) or ``max`` (at most ``hub_count``).
    popups
        Evening pop-ups on or off.
    mdt
        MDT sessions on or off.
    workforce
        MDT sessions a week each specialty can staff.
    max_minutes, mode
        Travel limit and mode.
    weights
        Objective weights (keys of :data:`WEIGHT_KEYS`).
    fixed_open, closed
        Sites that must open as hubs, and sites that may not be used.
    localities
        Locality partnerships planned (``None``: all of BNSSG).
    time_limit
        Solver time limit in seconds.
    gap
        The proven relative gap at which the solve stops (0.01: the plan is within 1% of the best possible). A looser
        gap answers sooner: the whole of BNSSG at 5% in about 41 s instead of the minute.
    """

    year: int = 2024
    budget: float | None = 3_000_000.0
    hub_choice: str = "free"
    hub_count: int = 6
    popups: bool = True
    mdt: bool = True
    workforce: Mapping[str, int] = field(default_factory=dict)
    max_minutes: float = 45.0
    mode: str = "pt"
    weights: Mapping[str, float] = field(default_factory=dict)
    fixed_open: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    localities: tuple[str, ...] | None = None
    time_limit: float = 60.0
    gap: float = 0.01


def levers_of(sc: Scenario) -> Levers:
    """Read the app's levers off a scenario."""
    if sc.hubs.exact_hubs is not None:
        choice, count = "exact", sc.hubs.exact_hubs
    elif sc.hubs.max_hubs is not None:
        choice, count = "max", sc.hubs.max_hubs
    else:
        choice, count = "free", 6
    return Levers(
        year=int(sc.demand.year),
        budget=sc.budget.annual,
        hub_choice=choice,
        hub_count=int(count),
        popups=sc.popups.enabled,
        mdt=sc.mdt.enabled,
        workforce={k: int(sc.mdt.workforce.get(k, 0)) for k in SPECIALTIES},
        max_minutes=float(sc.travel.max_minutes),
        mode=sc.travel.mode,
        weights={k: float(getattr(sc.weights, k)) for k in WEIGHT_KEYS},
        fixed_open=tuple(sc.sites.fixed_open),
        closed=tuple(sc.sites.closed),
        localities=tuple(sc.localities) if sc.localities is not None else None,
        time_limit=float(sc.solver.time_limit),
        gap=float(sc.solver.mip_rel_gap),
    )


def lever_changes(levers: Levers) -> dict[str, Any]:
    """The nested changes (same shape as the YAML) that set a scenario's levers."""
    return {
        "localities": list(levers.localities) if levers.localities else None,
        "demand": {"year": int(levers.year)},
        "budget": {"annual": None if levers.budget is None else float(levers.budget)},
        "hubs": {
            "exact_hubs": int(levers.hub_count) if levers.hub_choice == "exact" else None,
            "max_hubs": int(levers.hub_count) if levers.hub_choice == "max" else None,
        },
        "popups": {"enabled": bool(levers.popups)},
        "mdt": {"enabled": bool(levers.mdt), "workforce": {k: int(v) for k, v in levers.workforce.items()}},
        "travel": {"max_minutes": float(levers.max_minutes), "mode": levers.mode},
        "weights": {k: float(v) for k, v in levers.weights.items()},
        "sites": {"fixed_open": list(levers.fixed_open), "closed": list(levers.closed)},
        "solver": {"time_limit": float(levers.time_limit), "mip_rel_gap": float(levers.gap)},
    }


def apply_levers(sc: Scenario, levers: Levers) -> Scenario:
    """The scenario with the app's levers applied and validated.

    Raises
    ------
    ScenarioError
        If the combination is invalid (e.g. a site both fixed open and excluded), in plain words.
    """
    changes = lever_changes(levers)
    if not levers.workforce:
        changes["mdt"].pop("workforce")
    if not levers.weights:
        changes.pop("weights")
    return sc.with_changes(changes, source="settings")


def scenario_key(sc: Scenario, extra_key: str = "") -> str:
    """The cache key of a scenario: its full JSON (every default explicit) plus the uploaded-sites digest."""
    return sc.model_dump_json() + ("|" + extra_key if extra_key else "")


def describe_changes(base: Scenario, sc: Scenario) -> list[str]:
    """Plain words for the levers in which ``sc`` differs from ``base`` (for plan labels)."""
    a, b = levers_of(base), levers_of(sc)
    out: list[str] = []
    if a.year != b.year:
        out.append(f"year {b.year}")
    if a.budget != b.budget:
        out.append("no budget limit" if b.budget is None else f"budget £{b.budget:,.0f}")
    if (a.hub_choice, a.hub_count) != (b.hub_choice, b.hub_count):
        out.append("hubs free" if b.hub_choice == "free" else f"hubs {HUB_CHOICE_LABELS[b.hub_choice]} {b.hub_count}")
    if a.popups != b.popups:
        out.append("pop-ups " + ("on" if b.popups else "off"))
    if a.mdt != b.mdt:
        out.append("MDT " + ("on" if b.mdt else "off"))
    if dict(a.workforce) != dict(b.workforce):
        out.append("MDT workforce " + "/".join(str(b.workforce.get(k, 0)) for k in SPECIALTIES))
    if (a.max_minutes, a.mode) != (b.max_minutes, b.mode):
        out.append(f"{b.max_minutes:g} min by {MODE_LABELS.get(b.mode, b.mode)}")
    if dict(a.weights) != dict(b.weights):
        out.append("weights " + ", ".join(f"{k} {v:g}" for k, v in b.weights.items() if a.weights.get(k) != v))
    if a.fixed_open != b.fixed_open:
        out.append(f"{len(b.fixed_open)} fixed open")
    if a.closed != b.closed:
        out.append(f"{len(b.closed)} excluded")
    if a.localities != b.localities:
        out.append("all BNSSG" if not b.localities else ", ".join(b.localities))
    if a.time_limit != b.time_limit:
        out.append(f"time limit {b.time_limit:g} s")
    if a.gap != b.gap:
        out.append(f"stop within {100 * b.gap:g}%")
    return out


def plan_label(base: Scenario, sc: Scenario, extra_name: str = "") -> str:
    """A short, readable label for a solved setting: the scenario name and what was changed."""
    changes = describe_changes(base, sc)
    if extra_name:
        changes.append(f"+ sites from {extra_name}")
    return sc.name + (f" ({'; '.join(changes)})" if changes else "")


def site_options(dataset: Dataset, localities: Sequence[str] | None, *, hubs_only: bool) -> dict[str, str]:
    """Candidate sites for the fixed-open / excluded pickers: ``{site_id: "name (kind, locality)"}``."""
    s = dataset.sites
    if localities:
        s = s.loc[s["locality"].isin(list(localities))]
    if hubs_only:
        s = s.loc[s["can_hub"].astype(bool)]
    s = s.sort_values(["locality", "kind", "name"])
    return {str(i): f"{r['name']} ({r['kind']}, {r['locality']})" for i, r in s.iterrows()}


# ------------------------------------------------------------------------------------------------- solving


class PlanCache:
    """A thread-safe least-recently-used cache of solved plans keyed by scenario JSON."""

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Plan | None:
        with self._lock:
            plan = self._data.get(key)
            if plan is not None:
                self._data.move_to_end(key)
            return plan

    def put(self, key: str, plan: Plan) -> None:
        with self._lock:
            self._data[key] = plan
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


PLANS = PlanCache()
"""The process-wide plan cache (shared by every browser session of one app server)."""


def failed_plan(sc: Scenario, exc: BaseException) -> Plan:
    """A plan with status ``error`` that says in plain words what went wrong (never a traceback)."""
    text = str(exc).strip() or type(exc).__name__
    return Plan(scenario_name=sc.name, status=SolveStatus.ERROR, message=text)


def solve_cached(
    sc: Scenario,
    dataset: Dataset | None = None,
    *,
    extra_key: str = "",
    progress: Callable[[str], None] | None = None,
    cache: PlanCache = PLANS,
) -> tuple[Plan, bool]:
    """Solve a scenario, or return the plan already solved for exactly the same settings.

    Parameters
    ----------
    sc
        The scenario (levers applied).
    dataset
        The dataset (the embedded BNSSG default if ``None``), including any uploaded sites.
    extra_key
        Digest of uploaded sites, and the dataset if not the default (part of the cache key: the same scenario on
        other data is another plan).
    progress
        Called with a message at each solve step.
    cache
        The cache to use.

    Returns
    -------
    (Plan, bool)
        The plan and whether it came from the cache. A planner error becomes a plan with status ``error`` and
        the error's message; it is not cached, so fixing the input and solving again retries.
    """
    from planner.api import solve_scenario

    key = scenario_key(sc, extra_key)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    try:
        plan = solve_scenario(sc, dataset, progress=progress or (lambda _m: None))
    except PlannerError as exc:
        return failed_plan(sc, exc), False
    if plan.status is not SolveStatus.ERROR:
        cache.put(key, plan)
    return plan, False


CLOSE_GAP = 0.01 + 1e-9
"""A plan proven within this (the scenarios' own 1%) is called optimal in the app; a looser one, which a planner
asked for to answer sooner, is called a plan within the gap asked for."""


def gap_words(plan: Plan) -> str:
    """How far from the best possible plan this one is proven to be, in words."""
    if plan.gap is None:
        return "with no proven bound on how far from the best possible plan it is"
    return f"within {plan.gap:.1%} of the best possible plan"


def status_words(plan: Plan) -> str:
    """How a solve ended, in a planner's words rather than the solver's (``time_limit``, ``optimal``)."""
    words = {
        SolveStatus.OPTIMAL: f"planned, {gap_words(plan)}",
        SolveStatus.TIME_LIMIT: f"stopped at the time limit, {gap_words(plan)}",
        SolveStatus.INFEASIBLE: "no plan meets every requirement",
        SolveStatus.NO_SOLUTION: "no plan found in the time allowed",
    }
    return words.get(plan.status, "the plan could not be made")


def advice(plan: Plan, sc: Scenario) -> list[str]:
    """What to change, in plain words, for a plan with no solution (empty for a solved plan)."""
    if plan.has_solution:
        return []
    tips: list[str] = []
    seen: set[str] = set()
    for v in plan.violations:
        req = str(v.get("requirement", ""))
        short = float(v.get("shortfall") or 0.0)
        if req in seen:
            continue
        seen.add(req)
        if req == "budget":
            now = sc.budget.annual or 0.0
            # an unproven shortfall (its check stopped at the time limit) is enough, but maybe more than needed
            by = "at least" if v.get("proven", True) else "up to"
            tips.append(
                f"Raise the annual budget by {by} £{short:,.0f} (to about £{now + short:,.0f}), or ask for fewer "
                "hubs, fewer fixed-open sites or no core hub in every locality."
            )
        elif req == "core_hub":
            tips.append(
                "Not every locality can keep its core hub: raise the budget, un-exclude some sites, or lower the "
                "hubs-per-locality rule."
            )
        elif req == "hub_count":
            tips.append(
                f"Change the number of hubs by {short:g} (or choose 'free choice'), or remove fixed-open sites."
            )
        elif req.startswith("coverage"):
            tips.append(
                f"Raise the travel limit above {sc.travel.max_minutes:g} minutes or choose another travel mode, raise "
                "the budget, or drop the full-coverage requirement."
            )
        elif req == "mdt_workforce":
            tips.append("Raise the MDT workforce sessions for that specialty, or switch MDT sessions off.")
    if plan.status is SolveStatus.NO_SOLUTION or plan.status is SolveStatus.TIME_LIMIT:
        tips.append(f"Raise the solver time limit (now {sc.solver.time_limit:g} s) or plan fewer localities at once.")
    if plan.status is SolveStatus.ERROR:
        tips.append("Check the settings named in the message above, change them and solve again.")
    if not tips:
        tips.append("Relax a requirement: raise the budget, the travel limit or the hub count, or free fixed sites.")
    return tips


# ----------------------------------------------------------------------------------------------- the map

MAP_MEASURES: dict[str, str] = dict(MEASURES)
"""Zone measures the map can shade by (same keys and titles as :data:`planner.charts.MEASURES`)."""

SERVICE_STYLE: dict[str, tuple[str, list[int], int]] = {
    "evening_hub": ("hub open evenings and Saturdays", [217, 95, 2, 255], 420),
    "hub": ("hub (daytime)", [34, 34, 34, 255], 340),
    "popup": ("pop-up venues", [27, 158, 119, 255], 220),
    "mdt": ("MDT sessions (dot on the hub)", [117, 112, 179, 255], 110),
}
"""Site layers: legend label, colour (RGBA) and radius in metres."""

LINE_COLOURS: dict[str, list[int]] = {"hub_day": [44, 127, 184, 150], "evening": [217, 95, 2, 150],
                                      "mdt": [117, 112, 179, 150]}  # fmt: skip
NO_VALUE_COLOUR = [210, 210, 210, 170]


def _cmap_name(measure: str) -> str:
    return "cividis" if measure == "imd_decile" else "cividis_r"


def zone_values(plan: Plan, measure: str, zones_geo: gpd.GeoDataFrame | None = None) -> pd.Series:
    """The values of a map measure per zone (``demand`` is daytime plus evening-only contacts a week).

    Without a plan's zones (``plan.zones`` empty) only ``imd_decile`` can be shown, from ``zones_geo``.
    """
    if plan.zones.empty:
        if measure == "imd_decile" and zones_geo is not None:
            return zones_geo["imd_decile"].astype(float)
        return pd.Series(dtype=float)
    return charts_zone_values(plan, measure)


def colour_scale(values: pd.Series, measure: str) -> tuple[list[list[int]], float, float]:
    """RGBA colours for values (grey where missing) and the scale's range."""
    import matplotlib

    v = values.to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + (0.01 if is_share(measure) else 1.0)  # a flat map: a 1-point (or 1%) scale from its value
    cmap = matplotlib.colormaps[_cmap_name(measure)]
    rgba = (np.asarray(cmap((np.nan_to_num(v, nan=lo) - lo) / (hi - lo))) * 255).astype(int)
    out: list[list[int]] = []
    for ok, c in zip(np.isfinite(v), rgba, strict=True):
        out.append([int(c[0]), int(c[1]), int(c[2]), 185] if ok else list(NO_VALUE_COLOUR))
    return out, lo, hi


def simplified_zones(zones_geo: gpd.GeoDataFrame, tolerance: float = 0.0004) -> gpd.GeoDataFrame:
    """Zone polygons simplified for the browser (topology kept; about 40 m tolerance)."""
    out = zones_geo.copy()
    out["geometry"] = shapely.simplify(out.geometry.to_numpy(), tolerance, preserve_topology=True)
    return out


def _fmt(value: Any, digits: int = 1, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if pct:
        return f"{100 * float(value):.{digits}f}%"
    return f"{float(value):,.{digits}f}"


def _rings(geom: Any) -> list[list[list[float]]]:
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    return [[[round(x, 5), round(y, 5)] for x, y in p.exterior.coords] for p in polys if not p.is_empty]


def zone_records(plan: Plan, zones_geo: gpd.GeoDataFrame, measure: str) -> tuple[list[dict[str, Any]], float, float]:
    """One record per zone polygon part: ``polygon``, ``fill`` colour and a ``tip`` (HTML) with its figures."""
    values = zone_values(plan, measure, zones_geo)
    geo = zones_geo if plan.zones.empty else zones_geo.loc[zones_geo.index.intersection(plan.zones.index)]
    values = values.reindex(geo.index)
    colours, lo, hi = colour_scale(values, measure)
    z = plan.zones.reindex(geo.index) if not plan.zones.empty else None
    records: list[dict[str, Any]] = []
    for (code, row), colour, val in zip(geo.iterrows(), colours, values.to_numpy(), strict=True):
        lines = [
            f"<b>{html.escape(str(row.get('zone_name', code)))}</b> ({html.escape(str(code))})",
            f"{html.escape(str(row.get('locality', '')))}; IMD decile {row.get('imd_decile', '–')}",
            f"{html.escape(MAP_MEASURES.get(measure, measure))}: "
            f"<b>{_fmt(val, 1, pct=True) if is_share(measure) else _fmt(val, 2)}</b>",
        ]
        if z is not None:
            zr = z.loc[code]
            lines += [
                f"demand {_fmt(zr['contacts_day'] + zr['contacts_evening_only'])} contacts a week",
                f"nearest hub {_fmt(zr['nearest_hub_minutes'])} min; nearest evening service "
                f"{_fmt(zr['nearest_evening_minutes'])} min",
                f"mean travel {_fmt(zr['mean_minutes'])} min (nearest GP today {_fmt(zr['baseline_gp_minutes'])} min)",
                f"evening gap {_fmt(zr['evening_gap_share'], 0, pct=True)}; unserved daytime "
                f"{_fmt(zr['unmet_day'])} contacts",
            ]
        tip = "<br/>".join(lines)
        for ring in _rings(row.geometry):
            records.append({"polygon": ring, "fill": colour, "tip": tip})
    return records, lo, hi


def site_layers(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The plan's sites by service (``evening_hub``, ``hub``, ``popup``, ``mdt``) as records with a ``tip``."""
    s = plan.sites
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in SERVICE_STYLE}
    if s.empty:
        return out
    popup_cols = [f"popup_{t}" for t in EVENING_SLOTS if f"popup_{t}" in s.columns]
    mdt_cols = [f"mdt_{k}" for k in SPECIALTIES if f"mdt_{k}" in s.columns]
    for sid, r in s.iterrows():
        popups = {c.removeprefix("popup_").replace("_", " "): int(r[c]) for c in popup_cols if r[c] > 0}
        mdts = {c.removeprefix("mdt_").replace("_", " "): int(r[c]) for c in mdt_cols if r[c] > 0}
        lines = [f"<b>{html.escape(str(r['name']))}</b> ({html.escape(str(r['kind']))}, "
                 f"{html.escape(str(r['locality']))})"]  # fmt: skip
        if r["hub_open"]:
            lines.append("hub" + (", open evenings and Saturdays" if r["hub_evening"] else " (daytime)"))
            lines.append(f"daytime load {_fmt(r.get('load_hub_day'))} contacts a week")
        if popups:
            lines.append("pop-up sessions a week: " + ", ".join(f"{k} {v}" for k, v in popups.items()))
        if popups or r["hub_evening"]:
            lines.append(f"evening load {_fmt(r.get('load_evening'))} contacts a week")
        if mdts:
            lines.append("MDT sessions a week: " + ", ".join(f"{k} {v}" for k, v in mdts.items()))
        lines.append(f"annual cost £{float(r.get('annual_cost', 0.0)):,.0f}")
        rec = {"position": [float(r["lon"]), float(r["lat"])], "tip": "<br/>".join(lines), "site_id": str(sid)}
        if r["hub_evening"]:
            out["evening_hub"].append(rec)
        elif r["hub_open"]:
            out["hub"].append(rec)
        elif popups:
            out["popup"].append(rec)
        if mdts:
            out["mdt"].append(rec)
    return out


def allocation_records(plan: Plan, zones_geo: gpd.GeoDataFrame, min_contacts: float = 0.05) -> list[dict[str, Any]]:
    """Allocation lines from each zone's centre to the sites serving it, one per zone, site and service."""
    a = plan.allocation
    if a.empty or plan.sites.empty:
        return []
    g = a.groupby(["zone_code", "site_id", "service"], as_index=False).agg(
        contacts=("contacts", "sum"), minutes=("minutes", "first")
    )
    g = g.loc[g["contacts"] >= min_contacts]
    zx = zones_geo["lon"].reindex(g["zone_code"]).to_numpy()
    zy = zones_geo["lat"].reindex(g["zone_code"]).to_numpy()
    sx = plan.sites["lon"].reindex(g["site_id"]).to_numpy()
    sy = plan.sites["lat"].reindex(g["site_id"]).to_numpy()
    names = plan.sites["name"].reindex(g["site_id"]).to_numpy()
    label = {"hub_day": "daytime", "evening": "evening/Saturday", "mdt": "MDT"}
    out = []
    for i, r in enumerate(g.itertuples(index=False)):
        if not all(np.isfinite([zx[i], zy[i], sx[i], sy[i]])):
            continue
        out.append({
            "source": [float(zx[i]), float(zy[i])],
            "target": [float(sx[i]), float(sy[i])],
            "width": float(min(6.0, 0.6 + r.contacts / 2.0)),
            "colour": LINE_COLOURS.get(str(r.service), [80, 80, 80, 150]),
            "tip": f"{html.escape(str(r.zone_code))} → {html.escape(str(names[i]))}<br/>"
                   f"{label.get(str(r.service), r.service)}: {r.contacts:,.1f} contacts a week, {r.minutes:,.0f} min",
        })  # fmt: skip
    return out


def map_view(
    zones_geo: gpd.GeoDataFrame, zone_codes: Sequence[str] | None = None, *, width: int = 900, height: int = 600
) -> dict[str, float]:
    """Centre and zoom (web-Mercator, 512-pixel tiles) that fit the zones shown in a ``width`` x ``height`` map."""
    geo = zones_geo if not zone_codes else zones_geo.loc[zones_geo.index.intersection(list(zone_codes))]
    minx, miny, maxx, maxy = geo.total_bounds
    lat = float((miny + maxy) / 2)
    dx = max(float(maxx - minx), 1e-3)
    dy = max(float(maxy - miny), 1e-3) / np.cos(np.radians(lat))
    zoom = min(np.log2(width * 360.0 / (512.0 * dx)), np.log2(height * 360.0 / (512.0 * dy))) - 0.15
    return {"longitude": float((minx + maxx) / 2), "latitude": lat, "zoom": round(float(np.clip(zoom, 6.0, 14.0)), 2)}


@dataclass(frozen=True)
class MapSpec:
    """What the app draws: pydeck deck plus the legend's content."""

    deck: Any
    measure: str
    lo: float
    hi: float
    counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0


def build_map(
    plan: Plan, zones_geo: gpd.GeoDataFrame, *, measure: str = "nearest_hub_minutes", show_lines: bool = True
) -> MapSpec:
    """The map of a plan: zones shaded by ``measure``, sites by service, allocation lines, tooltips.

    Parameters
    ----------
    plan
        A plan (zones and sites are drawn if it has a solution; otherwise only the zones by IMD decile).
    zones_geo
        Zone polygons (simplify them first with :func:`simplified_zones`).
    measure
        One of :data:`MAP_MEASURES`.
    show_lines
        Draw the allocation lines.

    Returns
    -------
    MapSpec
        The pydeck ``Deck`` and the legend's range and counts. ``map_style=None`` lets Streamlit add its theme's
        base map where there is internet; offline the zones and sites draw on a plain background (the browser
        logs the failed style request).
    """
    import pydeck as pdk

    if measure not in MAP_MEASURES:
        raise ValueError(f"unknown map measure {measure!r}; expected one of {', '.join(MAP_MEASURES)}")
    zrec, lo, hi = zone_records(plan, zones_geo, measure)
    layers: list[Any] = [
        pdk.Layer("PolygonLayer", zrec, id="zones", get_polygon="polygon", get_fill_color="fill",
                  get_line_color=[255, 255, 255, 200], line_width_min_pixels=0.5, stroked=True, filled=True,
                  pickable=True, auto_highlight=True),
    ]  # fmt: skip
    lines = allocation_records(plan, zones_geo) if show_lines else []
    if lines:
        layers.append(
            pdk.Layer("LineLayer", lines, id="allocation", get_source_position="source",
                      get_target_position="target", get_color="colour", get_width="width", pickable=True)
        )  # fmt: skip
    sites = site_layers(plan)
    for key in ("popup", "hub", "evening_hub", "mdt"):  # MDT dots on top of their hubs
        _label, colour, radius = SERVICE_STYLE[key]
        if sites[key]:
            layers.append(
                pdk.Layer("ScatterplotLayer", sites[key], id=f"sites_{key}", get_position="position",
                          get_fill_color=colour, get_line_color=[255, 255, 255, 255], stroked=True,
                          line_width_min_pixels=1, get_radius=radius, radius_min_pixels=4 if key != "mdt" else 3,
                          radius_max_pixels=14, pickable=True)
            )  # fmt: skip
    view = pdk.ViewState(**map_view(zones_geo, list(plan.zones.index) if not plan.zones.empty else None))
    deck = pdk.Deck(
        layers=layers,
        initial_view_state=view,
        map_style=None,
        tooltip={"html": "{tip}", "style": {"fontSize": "12px", "maxWidth": "360px"}},
    )
    counts = {k: len(v) for k, v in sites.items()}
    if not plan.sites.empty:  # pop-ups at open hubs are drawn as the hubs; the legend names them too
        counts["popup_at_hub"] = int((popups_in_use(plan.sites) & plan.sites["hub_open"]).sum())
    return MapSpec(deck=deck, measure=measure, lo=lo, hi=hi, counts=counts, lines=len(lines))


def legend_html(spec: MapSpec) -> str:
    """The map legend: the colour bar of the measure and the site symbols with counts (HTML)."""
    import matplotlib

    cmap = matplotlib.colormaps[_cmap_name(spec.measure)]
    stops = ", ".join(
        "rgb({},{},{}) {:.0f}%".format(*(int(255 * c) for c in cmap(t)[:3]), 100 * t) for t in np.linspace(0, 1, 6)
    )
    title = html.escape(MAP_MEASURES.get(spec.measure, spec.measure))

    def bound(value: float) -> str:
        return _fmt(value, 1, pct=True) if is_share(spec.measure) else f"{value:,.2f}"

    parts = [
        "<div class='bnssg-legend' style='font-size:0.85em;line-height:1.5'>",
        f"<b>{title}</b>",
        f"<div style='height:12px;background:linear-gradient(to right, {stops});border-radius:2px'></div>",
        f"<div style='display:flex;justify-content:space-between'><span>{bound(spec.lo)}</span>"
        f"<span>{bound(spec.hi)}</span></div>",
        "<div><span style='display:inline-block;width:12px;height:12px;background:rgb(210,210,210)'></span> "
        "no service in reach / no value</div>",
        "<b>Sites</b>",
    ]
    for key, (label, colour, _r) in SERVICE_STYLE.items():
        rgb = f"rgb({colour[0]},{colour[1]},{colour[2]})"
        n = spec.counts.get(key, 0)
        text = popup_label(n, spec.counts.get("popup_at_hub", 0)) if key == "popup" else f"{label} ({n})"
        parts.append(
            f"<div><span style='display:inline-block;width:12px;height:12px;border-radius:50%;background:{rgb}'>"
            f"</span> {html.escape(text)}</div>"
        )
    if spec.lines:
        parts.append("<b>Lines</b>")
        for svc, label in (("hub_day", "daytime"), ("evening", "evening/Saturday"), ("mdt", "MDT")):
            c = LINE_COLOURS[svc]
            parts.append(
                f"<div><span style='display:inline-block;width:16px;height:3px;vertical-align:middle;"
                f"background:rgb({c[0]},{c[1]},{c[2]})'></span> {label} allocation</div>"
            )
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ uploads


@dataclass(frozen=True)
class UploadCheck:
    """The outcome of checking an uploaded sites file."""

    name: str
    digest: str
    sites: gpd.GeoDataFrame | None = None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.sites is not None and not self.errors


def upload_digest(data: bytes) -> str:
    """A short digest of an uploaded file's bytes (the upload's part of the plan cache key)."""
    return hashlib.sha256(data).hexdigest()[:16]


def _safe_name(name: str) -> str:
    base = Path(name or "sites.csv").name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base) or "sites.csv"


def check_upload(
    name: str, data: bytes, dataset: Dataset | None = None, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> UploadCheck:
    """Check an uploaded sites file (CSV or GeoJSON) and read it as extra candidate sites.

    Every row problem is listed (:func:`geodata.sites.row_problems`; in a CSV the header is row 1).

    Parameters
    ----------
    name
        The file's name as uploaded (its suffix picks the format).
    data
        The file's bytes.
    dataset
        The dataset the sites join (default: the embedded BNSSG dataset).
    max_bytes
        Size limit.

    Returns
    -------
    UploadCheck
        ``sites`` when the file is good, otherwise ``errors`` in plain words.
    """
    from geodata.sites import read_user_sites

    ds = dataset if dataset is not None else load_dataset()
    safe = _safe_name(name)
    digest = upload_digest(data)
    if len(data) > max_bytes:
        return UploadCheck(safe, digest, errors=(
            f"{safe}: the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB",))  # fmt: skip
    suffix = Path(safe).suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        return UploadCheck(safe, digest, errors=(f"{safe}: unsupported file type {suffix!r} (use .csv or .geojson)",))
    with tempfile.TemporaryDirectory(prefix="bnssg-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        if suffix == ".csv" and data.strip():
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                return UploadCheck(safe, digest, errors=(f"{safe}: not a readable CSV ({exc})",))
            if len(frame) > MAX_UPLOAD_ROWS:
                too_many = f"{safe}: {len(frame):,} rows; at most {MAX_UPLOAD_ROWS:,} sites can be added at once"
                return UploadCheck(safe, digest, errors=(too_many,))
        try:
            sites = read_user_sites(path, ds.zones, existing=ds.sites.index)
        except DataValidationError as exc:
            errors = [e.replace(str(path), safe) for e in exc.problems]
            more = len(errors) - MAX_ROW_ERRORS
            shown = errors[:MAX_ROW_ERRORS] + ([f"... and {more} more problems"] if more > 0 else [])
            return UploadCheck(safe, digest, errors=tuple(shown))
        except PlannerError as exc:
            return UploadCheck(safe, digest, errors=(str(exc).replace(str(path), safe),))
        if len(sites) > MAX_UPLOAD_ROWS:
            return UploadCheck(safe, digest, errors=(f"{safe}: at most {MAX_UPLOAD_ROWS:,} sites can be added",))
        checked = UploadCheck(safe, digest, sites=sites.assign(source=safe))
        try:
            # the travel times now, once (cached for the solve): a site the dataset's own roads do not reach is
            # refused here, with the file, not when the planner presses solve
            _with_upload(ds, checked)
        except PlannerError as exc:
            return UploadCheck(safe, digest, errors=(f"{safe}: {exc}",))
    return checked


_DATASETS: dict[str, Dataset] = {}


def _with_upload(ds: Dataset, check: UploadCheck) -> Dataset:
    """``ds`` plus a checked upload's sites, their travel times computed once per file, name and dataset."""
    assert check.sites is not None
    # an upload on another dataset has other travel times; under another name, another source column
    key = f"{ds.path}|{check.digest}|{check.name}"
    if key not in _DATASETS:
        _DATASETS[key] = ds.with_user_sites(check.sites)
    return _DATASETS[key]


def dataset_with_upload(check: UploadCheck | None, base: Dataset | None = None) -> Dataset:
    """The dataset plus an upload's sites (travel times computed once per file and cached)."""
    ds = base if base is not None else load_dataset()
    if check is None or not check.ok or check.sites is None:
        return ds
    return _with_upload(ds, check)


DATASET_ENV = "BNSSG_DATASET"
"""Environment variable naming a dataset folder for the app (one built with ``planner data build``); unset, the
embedded BNSSG default."""


def app_dataset(folder: str | None = None) -> Dataset:
    """The dataset the app plans on: ``folder``, else ``$BNSSG_DATASET`` if set (your own build: a road network, a
    GTFS feed, your localities), else the embedded default.

    Raises
    ------
    DataValidationError
        When the folder named is not a planning dataset (named in the message).
    """
    folder = (folder if folder is not None else os.environ.get(DATASET_ENV, "")).strip()
    return load_dataset(Path(folder) if folder else None)


# ------------------------------------------------------------------------------------------------ outputs


def comparison_display(plan_a: Plan, plan_b: Plan, name_a: str, name_b: str) -> pd.DataFrame:
    """The comparison table (:func:`planner.report.formatted_comparison`) with B - A differences."""
    if name_a == name_b:
        name_a, name_b = f"A: {name_a}", f"B: {name_b}"
    shown = formatted_comparison([plan_a, plan_b], [name_a, name_b])
    shown.columns = [name_a, name_b, "B − A"]
    return shown


def equity_table(plan: Plan, by: str = "imd_decile") -> pd.DataFrame:
    """Travel before (nearest GP practice) and after (the plan) and the evening gap, by decile or locality."""
    key = {"imd_decile": "by_imd_decile", "locality": "by_locality", "imd_quintile": "by_imd_quintile"}[by]
    rows = pd.DataFrame(plan.kpis.get(key, []))
    if rows.empty:
        return rows
    out = pd.DataFrame({
        by.replace("_", " "): rows[by],
        "demand (contacts a week)": rows["demand_contacts"].astype(float).round(1),
        "before: nearest GP (min)": rows["baseline_gp_mean_minutes"].astype(float).round(1),
        "after: the plan (min)": rows["mean_minutes"].astype(float).round(1),
        "within 20 min (%)": (100 * rows["within_20_all"].astype(float)).round(1),
        "evening gap (%)": (100 * rows["evening_gap_share"].astype(float)).round(1),
        "unserved (%)": (100 * rows["unmet_share"].astype(float)).round(1),
    })  # fmt: skip
    return out.set_index(by.replace("_", " "))


def plan_geojson(plan: Plan, zones_geo: gpd.GeoDataFrame) -> str:
    """The plan as one GeoJSON FeatureCollection: zone polygons with their indicators (``layer: zone``) and the
    sites used, with their services (``layer: site``)."""
    from planner.outputs import sites_layer, zones_layer

    zl = zones_layer(plan, zones_geo).reset_index().assign(layer="zone")
    sl = sites_layer(plan)
    sl = sl.loc[sl["used"]].reset_index().assign(layer="site")
    zj = json.loads(zl.to_json(na="null", drop_id=True))
    sj = json.loads(sl.to_json(na="null", drop_id=True))
    fc = {"type": "FeatureCollection", "name": plan.scenario_name, "features": zj["features"] + sj["features"]}
    return json.dumps(fc, allow_nan=False, default=str)


def plan_csv(plan: Plan) -> str:
    """The sites the plan uses, with their services, sessions, loads and cost, as CSV."""
    s = plan.sites
    used = s.loc[s["used"]] if "used" in s.columns else s
    return used.drop(columns=["is_hub", "is_popup", "is_mdt"], errors="ignore").to_csv()


def zones_csv(plan: Plan) -> str:
    """Per-zone demand, service and travel indicators as CSV."""
    return plan.zones.to_csv()


def allocation_csv(plan: Plan) -> str:
    """Who goes where (zone, site, service, slot, contacts, minutes) as CSV."""
    return plan.allocation.to_csv(index=False)


def without_plan(sc: Scenario) -> Plan:
    """An empty plan (no solution yet) used to draw the zones before anything is solved."""
    return Plan(scenario_name=sc.name, status=SolveStatus.NO_SOLUTION, message="not solved yet")


def with_name(plan: Plan, name: str) -> Plan:
    """The plan under another name (for comparisons of the same scenario with different levers)."""
    return replace(plan, scenario_name=name)


__all__ = [
    "MAP_MEASURES",
    "MAX_UPLOAD_BYTES",
    "PLANS",
    "Levers",
    "MapSpec",
    "PlanCache",
    "UploadCheck",
    "advice",
    "apply_levers",
    "build_map",
    "check_upload",
    "comparison_display",
    "dataset_with_upload",
    "describe_changes",
    "equity_table",
    "gap_words",
    "headline_cards",
    "legend_html",
    "levers_of",
    "plan_csv",
    "plan_geojson",
    "plan_label",
    "scenario_key",
    "scenario_library",
    "simplified_zones",
    "site_options",
    "solve_cached",
    "status_words",
]
