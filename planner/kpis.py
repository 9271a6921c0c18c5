"""Access and equity indicators of a plan: travel, coverage within thresholds, evening gap, by IMD and locality."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.plan import popups_in_use
from planner.scenario import SPECIALTIES

REPORTED_MINUTES: tuple[float, ...] = (20.0, 30.0)
"""Thresholds whose 'share within' indicators are always computed, whatever a scenario's own: the report, the
frontier, comparisons and the app headline them."""


def weighted_quantile(values: npt.ArrayLike, weights: npt.ArrayLike, q: float) -> float | None:
    """Quantile of ``values`` where each value counts ``weights`` times (inverted empirical CDF).

    Parameters
    ----------
    values
        The observations (minutes).
    weights
        Non-negative weights (contacts).
    q
        Quantile in [0, 1].

    Returns
    -------
    float or None
        The smallest value whose cumulative weight share reaches ``q``; ``None`` if total weight is zero.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if v.size == 0 or w.sum() <= 0:
        return None
    order = np.argsort(v, kind="mergesort")
    cum = np.cumsum(w[order]) / w.sum()
    idx = int(np.searchsorted(cum, q - 1e-12, side="left"))
    return float(v[order][min(idx, v.size - 1)])


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def group_kpis(zones: pd.DataFrame, alloc: pd.DataFrame, thresholds: tuple[float, ...]) -> dict[str, Any]:
    """Indicators for a set of zones.

    Parameters
    ----------
    zones
        Zone rows of a plan (``contacts_day``, ``contacts_evening_only``, ``unmet_day``, ``evening_gap``...).
    alloc
        Allocation rows of those zones.
    thresholds
        Minutes for the 'share within' indicators.

    Returns
    -------
    dict
        ``demand``, ``mean_minutes``, ``p90_minutes``, ``within_<X>`` for all/daytime/evening-only contacts,
        ``unmet_share``, ``evening_gap`` (contacts), ``evening_gap_share``, ``evening_gap_people``.
    """
    contacts = alloc.loc[alloc["service"] != "mdt"]
    day_demand = float(zones["contacts_day"].sum())
    eve_demand = float(zones["contacts_evening_only"].sum())
    demand = day_demand + eve_demand
    w = contacts["contacts"].to_numpy()
    t = contacts["minutes"].to_numpy()
    out: dict[str, Any] = {
        "zones": len(zones),
        "demand_contacts": _r(demand, 1),
        "mean_minutes": _r(float((w * t).sum() / w.sum()) if w.sum() > 0 else None, 2),
        "p90_minutes": _r(weighted_quantile(t, w, 0.9), 2),
    }
    day = contacts["service"] == "hub_day"
    for x in thresholds:
        within = t <= x + 1e-9
        key = f"{x:g}"
        out[f"within_{key}_all"] = _r(float(w[within].sum() / demand) if demand > 0 else None, 4)
        out[f"within_{key}_daytime"] = _r(
            float(w[within & day.to_numpy()].sum() / day_demand) if day_demand > 0 else None, 4
        )
        out[f"within_{key}_evening_only"] = _r(
            float(w[within & ~day.to_numpy()].sum() / eve_demand) if eve_demand > 0 else None, 4
        )
    unmet = float(zones["unmet_day"].sum())
    gap = float(zones["evening_gap"].sum())
    out["unmet_day_contacts"] = _r(unmet, 2)
    out["unmet_share"] = _r((unmet + gap) / demand if demand > 0 else None, 4)
    out["evening_gap_contacts"] = _r(gap, 2)
    out["evening_gap_share"] = _r(gap / eve_demand if eve_demand > 0 else None, 4)
    out["evening_gap_people"] = _r(float(zones["evening_gap_people"].sum()), 1)
    out["evening_only_people"] = _r(
        float((zones["evening_only_share"] * (zones["complex_people"] + zones["at_risk_people"])).sum()), 1
    )
    base = zones["baseline_gp_minutes"]
    weights = zones["contacts_day"] + zones["contacts_evening_only"]
    out["baseline_gp_mean_minutes"] = _r(
        float((base * weights).sum() / weights.sum()) if weights.sum() > 0 else None, 2
    )
    return out


def compute_kpis(
    zones: pd.DataFrame, alloc: pd.DataFrame, sites: pd.DataFrame, thresholds: tuple[float, ...]
) -> dict[str, Any]:
    """All indicators of a plan: headline, MDT, facilities, and splits by IMD quintile, decile and locality.

    Parameters
    ----------
    zones, alloc, sites
        The plan's zone, allocation and site tables.
    thresholds
        Minutes for the 'share within' indicators (:data:`REPORTED_MINUTES` are added).

    Returns
    -------
    dict
        JSON-ready nested indicators.
    """
    thresholds = tuple(sorted(set(thresholds) | set(REPORTED_MINUTES)))
    kpis = group_kpis(zones, alloc, thresholds)
    mdt: dict[str, Any] = {}
    for spec in SPECIALTIES:
        need = float(zones[f"mdt_{spec}"].sum())
        unmet = float(zones[f"unmet_mdt_{spec}"].sum())
        mdt[spec] = {
            "need_per_week": _r(need, 2),
            "unmet_per_week": _r(unmet, 2),
            "sessions_per_week": int(sites[f"mdt_{spec}"].sum()),
            "hubs_hosting": int((sites[f"mdt_{spec}"] > 0).sum()),
        }
    kpis["mdt"] = mdt
    # summed before rounding: the sum of the rounded specialties can be 0.01 off each, and a comparison's
    # difference of two such sums shows it (-1.9 where the plans differ by 1.96)
    kpis["mdt_unmet_per_week"] = _r(float(sum(zones[f"unmet_mdt_{spec}"].sum() for spec in SPECIALTIES)), 2)
    kpis["hubs_open"] = int(sites["hub_open"].sum())
    kpis["evening_hubs"] = int(sites["hub_evening"].sum())
    popup_cols = [c for c in sites.columns if c.startswith("popup_")]
    kpis["popup_sessions_per_week"] = int(sites[popup_cols].to_numpy().sum())
    kpis["popup_sites"] = int(popups_in_use(sites).sum())
    for key, col in (("by_imd_quintile", "imd_quintile"), ("by_imd_decile", "imd_decile"), ("by_locality", "locality")):
        rows = []
        for value, zsub in zones.groupby(col, sort=True):
            asub = alloc.loc[alloc["zone_code"].isin(zsub.index)]
            row = {col: value.item() if hasattr(value, "item") else value}
            row.update(group_kpis(zsub, asub, thresholds))
            rows.append(row)
        kpis[key] = rows
    return kpis


def kpi_table(kpis: dict[str, Any], split: str) -> pd.DataFrame:
    """One of the KPI splits (``by_imd_quintile``, ``by_imd_decile``, ``by_locality``) as a DataFrame."""
    return pd.DataFrame(kpis.get(split, []))
