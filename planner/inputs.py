"""Turn a dataset and a scenario into the plain tables the model is built from.

The model never touches geometry (STYLE habit 3): this module selects the zones and candidate sites in
scope, computes each zone's demand by group and specialty, and keeps only the zone-site arcs the model
may use (within the travel limit, and among each zone's nearest candidates of each service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from geodata.dataset import Dataset
from geodata.demand import compute_demand
from planner.errors import ModelInputError
from planner.scenario import SPECIALTIES, Scenario

ZONE_COLUMNS = ("locality", "imd_decile", "imd_quintile", "lad_name", "zone_name")
SITE_COLUMNS = ("name", "kind", "locality", "lon", "lat", "can_hub", "can_popup", "can_mdt")


@dataclass(frozen=True)
class ModelInputs:
    """Everything the optimisation model needs, as tidy tables with named indexes.

    Attributes
    ----------
    scenario
        The validated scenario.
    zones
        Index ``zone_code``; demand columns ``contacts_day``, ``contacts_evening_only``,
        ``mdt_<specialty>`` (reviews per week), people columns ``complex_people``, ``at_risk_people``,
        ``evening_only_share``, the objective weight ``weight`` and descriptive columns.
    sites
        Index ``site_id``; candidate sites in scope with ``is_hub``, ``is_popup``, ``is_mdt`` flags after the
        scenario's kind filters and closures, and ``fixed_open``.
    arcs
        One row per usable zone-site pair: ``zone_code``, ``site_id``, ``minutes_day``, ``minutes_evening``,
        and flags ``hub_day`` (daytime hub service), ``hub_evening`` (evening hub service), ``popup``
        (evening pop-ups) and ``mdt`` (MDT reviews, daytime).
    travel
        The full zone x site travel table for the scenario's mode (``minutes_day``, ``minutes_evening``), for KPIs.
    """

    scenario: Scenario
    zones: pd.DataFrame
    sites: pd.DataFrame
    arcs: pd.DataFrame
    travel: pd.DataFrame

    @property
    def specialties(self) -> tuple[str, ...]:
        """Specialties that have MDT demand in this plan."""
        return SPECIALTIES if self.scenario.mdt.enabled else ()

    def size(self) -> dict[str, Any]:
        """Counts that describe the instance."""
        return {
            "zones": len(self.zones),
            "sites": len(self.sites),
            "hub_candidates": int(self.sites["is_hub"].sum()),
            "popup_candidates": int(self.sites["is_popup"].sum()),
            "arcs": len(self.arcs),
        }


def _zone_weights(zones: pd.DataFrame, equity: float) -> pd.Series:
    # d runs from 1 in IMD decile 1 (most deprived) to 0 in decile 10.
    d = (10 - zones["imd_decile"].astype(float)) / 9.0
    return 1.0 + equity * d


def _select_sites(dataset: Dataset, scenario: Scenario, localities: set[str]) -> pd.DataFrame:
    sites = pd.DataFrame(dataset.sites.drop(columns="geometry", errors="ignore"))
    known = set(sites.index)
    for field, ids in (("sites.fixed_open", scenario.sites.fixed_open), ("sites.closed", scenario.sites.closed)):
        unknown = [s for s in ids if s not in known]
        if unknown:
            raise ModelInputError(
                f"{scenario.located()}, field {field!r}: unknown site id {unknown[0]!r} "
                f"(not in the dataset's {len(known)} sites)"
            )
    sites = sites.loc[~sites.index.isin(scenario.sites.closed)]
    sites = sites.loc[sites["locality"].isin(localities)]
    out = sites.loc[:, list(SITE_COLUMNS)].copy()
    # The kind filters choose among the dataset's own sites; a site the user added is used as its file says
    # (its can_hub/can_popup, or its kind's defaults), or adding a hub to a scenario that names hub kinds would
    # silently do nothing.
    added = out.index.isin(dataset.manifest.get("user_site_ids", []))
    hub_ok = out["can_hub"].astype(bool)
    if scenario.sites.hub_kinds is not None:
        hub_ok &= out["kind"].isin(scenario.sites.hub_kinds) | added
    popup_ok = out["can_popup"].astype(bool) & scenario.popups.enabled
    if scenario.sites.popup_kinds is not None:
        popup_ok &= out["kind"].isin(scenario.sites.popup_kinds) | added
    out["fixed_open"] = out.index.isin(scenario.sites.fixed_open)
    # A fixed site overrides the scenario's hub kinds (an estates planner testing a library), not the site's own
    # suitability: a pharmacy or a school is not a place for a hub (add it with can_hub true if it is).
    unfit = out.index[out["fixed_open"] & ~out["can_hub"].astype(bool)]
    if len(unfit):
        sid = unfit[0]
        raise ModelInputError(
            f"{scenario.located()}, field 'sites.fixed_open': site {sid!r} ({out.at[sid, 'name']}, a "
            f"{out.at[sid, 'kind']}) cannot be a hub (can_hub is false in the dataset); add it through "
            "sites.extra_file with can_hub true if it can"
        )
    out["is_hub"] = hub_ok | out["fixed_open"]
    out["is_popup"] = popup_ok
    out["is_mdt"] = out["is_hub"] & out["can_mdt"].astype(bool) & scenario.mdt.enabled
    outside = [s for s in scenario.sites.fixed_open if s not in out.index]
    if outside:
        raise ModelInputError(
            f"{scenario.located()}, field 'sites.fixed_open': site {outside[0]!r} is outside the "
            f"planned localities {sorted(localities)}"
        )
    out = out.loc[out["is_hub"] | out["is_popup"]]
    out.index.name = "site_id"
    return out


def _site_metres(sites: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each site's British National Grid easting and northing (metres), from its longitude and latitude."""
    east, north = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        sites["lon"].to_numpy(np.float64), sites["lat"].to_numpy(np.float64)
    )
    points = zip(np.asarray(east).tolist(), np.asarray(north).tolist(), strict=True)
    return dict(zip(sites.index, points, strict=True))


def _popup_places(candidates: pd.DataFrame, sites: pd.DataFrame, places: int, metres: float) -> pd.Series:
    """Which of each zone's pop-up venues (sorted nearest first) it may use: its nearest venue in each of its
    ``places`` nearest places, a venue within ``metres`` of one the zone already uses being the same place."""
    if metres <= 0:
        rank = pd.Series(1, index=candidates.index).groupby(candidates["zone_code"]).cumsum()
        return rank <= places
    metres_at = _site_metres(sites)
    limit = metres * metres
    keep = np.zeros(len(candidates), dtype=bool)
    zones = candidates["zone_code"].to_numpy()
    ids = candidates["site_id"].to_numpy()
    pos = 0
    # Greedy, nearest first: few venues are looked at per zone before it has its places, so plain Python is quick.
    for _zone, size in zip(*np.unique(zones, return_counts=True), strict=True):
        used: list[tuple[float, float]] = []
        for k in range(pos, pos + size):
            x, y = metres_at[ids[k]]
            if all((x - ux) ** 2 + (y - uy) ** 2 >= limit for ux, uy in used):
                used.append((x, y))
                keep[k] = True
                if len(used) == places:
                    break
        pos += size
    return pd.Series(keep, index=candidates.index)


def select_arcs(travel: pd.DataFrame, sites: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Usable zone-site pairs: each zone's ``nearest_hubs`` hub candidates (plus every fixed-open hub in reach)
    and its nearest pop-up venue in each of its ``nearest_popups`` nearest places, within the travel limit.

    A place is a venue and every venue within ``popup_place_metres`` of it: a venue that close to one the zone
    already uses is not given to the zone, so that its arcs reach the next village rather than the rest of its
    own (a session needs about ten zones' evening demand to fill it). ``popup_place_metres: 0`` gives each zone
    its ``nearest_popups`` nearest venues.
    """
    limit = scenario.travel.max_minutes
    t = travel.loc[travel["site_id"].isin(sites.index)].copy()
    t = t.join(sites[["is_hub", "is_popup", "is_mdt", "fixed_open"]], on="site_id")
    # Rank candidates per zone by time and keep the k nearest of each service (ties broken by site id).
    t = t.sort_values(["zone_code", "minutes_day", "site_id"], kind="mergesort")
    hub_in = t["is_hub"] & (t["minutes_day"] <= limit)
    hub_rank = hub_in.astype(int).groupby(t["zone_code"]).cumsum()
    t["hub_day"] = hub_in & ((hub_rank <= scenario.travel.nearest_hubs) | t["fixed_open"])
    t["hub_evening"] = t["hub_day"] & (t["minutes_evening"] <= limit)
    t["mdt"] = t["hub_day"] & t["is_mdt"]
    t = t.sort_values(["zone_code", "minutes_evening", "site_id"], kind="mergesort")
    pop = t.loc[t["is_popup"] & (t["minutes_evening"] <= limit), ["zone_code", "site_id"]]
    chosen = _popup_places(pop, sites, scenario.travel.nearest_popups, scenario.travel.popup_place_metres)
    t["popup"] = chosen.reindex(t.index, fill_value=False)
    keep = t["hub_day"] | t["popup"]
    arcs = t.loc[
        keep, ["zone_code", "site_id", "minutes_day", "minutes_evening", "hub_day", "hub_evening", "popup", "mdt"]
    ]
    return arcs.sort_values(["zone_code", "site_id"]).reset_index(drop=True)


def build_inputs(dataset: Dataset, scenario: Scenario) -> ModelInputs:
    """Prepare the model's tables for one scenario.

    Parameters
    ----------
    dataset
        The planning dataset (zones, sites, travel times).
    scenario
        The validated scenario.

    Returns
    -------
    ModelInputs
        Zones with demand, candidate sites, usable arcs and travel times for the scenario's mode.

    Raises
    ------
    ModelInputError
        If the scenario names an unknown locality or site id.
    """
    all_localities = sorted(dataset.zones["locality"].unique())
    if scenario.localities is None:
        localities = set(all_localities)
    else:
        unknown = [name for name in scenario.localities if name not in all_localities]
        if unknown:
            raise ModelInputError(
                f"{scenario.located()}, field 'localities': unknown locality {unknown[0]!r} "
                f"(known: {', '.join(all_localities)})"
            )
        localities = set(scenario.localities)
    zones_all = pd.DataFrame(dataset.zones.drop(columns="geometry", errors="ignore"))
    demand = compute_demand(zones_all, scenario.demand.parameters, scenario.demand.year)
    zones = zones_all.loc[zones_all["locality"].isin(localities), list(ZONE_COLUMNS)].join(demand)
    scale = scenario.demand.scale
    if not scenario.demand.include_at_risk:
        # Keep only the complex cohort's share of contacts.
        params = scenario.demand.parameters
        complex_c = zones["complex_people"] * params.contacts_per_year_complex
        risk_c = zones["at_risk_people"] * params.contacts_per_year_at_risk
        share = (complex_c / (complex_c + risk_c)).fillna(0.0)
        for col in ("contacts_per_week", "contacts_day", "contacts_evening_only"):
            zones[col] = zones[col] * share
        zones["at_risk_people"] = 0.0
    for col in ("contacts_per_week", "contacts_day", "contacts_evening_only"):
        zones[col] = zones[col] * scale
    for spec in SPECIALTIES:
        zones[f"mdt_{spec}"] = (zones[f"mdt_per_week_{spec}"] * scale) if scenario.mdt.enabled else 0.0
    zones["weight"] = _zone_weights(zones, scenario.weights.equity)
    zones.index.name = "zone_code"

    sites = _select_sites(dataset, scenario, localities)
    mode = scenario.travel.mode
    travel = dataset.travel.loc[
        dataset.travel["zone_code"].isin(zones.index), ["zone_code", "site_id", f"{mode}_day", f"{mode}_evening"]
    ].rename(columns={f"{mode}_day": "minutes_day", f"{mode}_evening": "minutes_evening"})
    travel = travel.astype({"minutes_day": np.float64, "minutes_evening": np.float64})
    travel["minutes_evening"] = travel["minutes_evening"] * scenario.travel.evening_factor
    arcs = select_arcs(travel, sites, scenario)
    return ModelInputs(scenario=scenario, zones=zones, sites=sites, arcs=arcs, travel=travel.reset_index(drop=True))
