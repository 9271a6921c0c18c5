"""Static maps and charts of plans as PNG bytes (matplotlib, Agg backend): offline, embeddable, reproducible."""

from __future__ import annotations

import io
import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D

from planner.plan import Plan, popups_in_use

MEASURES: dict[str, str] = {
    "nearest_hub_minutes": "Minutes to the nearest open hub (daytime)",
    "nearest_evening_minutes": "Minutes to the nearest evening service",
    "mean_minutes": "Mean travel of people served (minutes)",
    "evening_gap_share": "Evening-access gap (% of evening-only demand unserved)",
    "imd_decile": "IMD 2025 decile (1 = most deprived)",
    "demand": "Demand (contacts a week)",
}
"""Zone measures a map can show, with their legend titles."""


def is_share(measure: str) -> bool:
    """Whether a measure is a share (0-1 in the tables), shown on maps and legends as a percentage."""
    return measure.endswith("_share")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def zone_values(plan: Plan, measure: str) -> pd.Series:
    """A plan's zone values of ``measure`` (shares 0-1); ``demand`` is daytime plus evening-only contacts a week."""
    z = plan.zones
    if measure == "demand":
        return (z["contacts_day"] + z["contacts_evening_only"]).astype(float)
    if measure not in z.columns:
        raise ValueError(f"unknown map measure {measure!r}; expected one of {', '.join(MEASURES)}")
    return z[measure].astype(float)


def zone_display_values(plan: Plan, measure: str) -> pd.Series:
    """A plan's zone values of ``measure`` as drawn: shares in percent, everything else as :func:`zone_values`."""
    values = zone_values(plan, measure)
    return 100 * values if is_share(measure) else values


def popup_label(venues: int, at_hubs: int) -> str:
    """The legend entry of pop-up venues drawn as such, naming those at open hubs (drawn as hubs) as well.

    Without them the legend's count would fall short of the plan's pop-up sites in the tables.
    """
    return f"pop-up venues ({venues}" + (f", and {at_hubs} at open hubs)" if at_hubs else ")")


def _draw_sites(ax: Any, plan: Plan) -> list[Line2D]:
    s = plan.sites
    popups = popups_in_use(s)
    mdt = s[[c for c in s.columns if c.startswith("mdt_") and c != "mdt"]].sum(axis=1) > 0
    shown = popups & ~s["hub_open"]  # pop-ups at an open hub are drawn as the hub; venues, not sessions, counted
    day_hub, evening_hub = s["hub_open"] & ~s["hub_evening"], s["hub_evening"]
    layers = [
        (shown, "^", "#1b9e77", 28, popup_label(int(shown.sum()), int((popups & s["hub_open"]).sum()))),
        (day_hub, "s", "#222222", 46, f"hub (daytime) ({int(day_hub.sum())})"),
        (evening_hub, "*", "#d95f02", 120, f"hub, open evenings and Saturdays ({int(evening_hub.sum())})"),
        (mdt, "D", "#7570b3", 22, f"hubs hosting MDT sessions ({int(mdt.sum())})"),
    ]
    handles = []
    for mask, marker, colour, size, label in layers:
        pts = s.loc[mask]
        ax.scatter(
            pts["lon"], pts["lat"], marker=marker, c=colour, s=size, edgecolors="white", linewidths=0.6, zorder=4
        )
        handles.append(
            Line2D([], [], marker=marker, color="none", markerfacecolor=colour, markeredgecolor="white", markersize=8,
                   label=label)
        )  # fmt: skip
    return handles


def _base(zones_geo: gpd.GeoDataFrame, plan: Plan) -> tuple[Any, Any, gpd.GeoDataFrame]:
    geo = zones_geo.loc[zones_geo.index.intersection(plan.zones.index)]
    fig, ax = plt.subplots(figsize=(8.5, 8.0))
    ax.set_axis_off()
    ax.set_aspect(1 / np.cos(np.radians(51.45)))
    return fig, ax, geo


def locality_outlines(geo: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Each locality's outline, without the slivers between simplified zone polygons.

    Dissolving simplified polygons leaves tiny holes where neighbours no longer meet exactly; drawn, they are
    stray loops inside a locality. A hole smaller than the smallest zone cannot be an enclave of another
    locality (that would be at least one whole zone), so such holes are dropped.
    """
    dissolved = geo[["locality", "geometry"]].dissolve(by="locality").geometry
    # compared in the zones' own units (degrees squared here): only the ratio to a hole's area matters
    smallest = float(shapely.area(geo.geometry.to_numpy()).min()) if len(geo) else 0.0

    def fill_slivers(geom: Any) -> Any:
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            return geom
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        kept = [
            shapely.Polygon(p.exterior, [h for h in p.interiors if shapely.Polygon(h).area >= smallest]) for p in parts
        ]
        return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)

    return dissolved.apply(fill_slivers).boundary


def _outline_localities(ax: Any, geo: gpd.GeoDataFrame) -> None:
    if "locality" in geo.columns:
        locality_outlines(geo).plot(ax=ax, color="#333333", linewidth=1.0, zorder=3)


def zone_map(
    zones_geo: gpd.GeoDataFrame, plan: Plan, *, measure: str = "nearest_hub_minutes", title: str | None = None
) -> bytes:
    """Zones shaded by a measure, with the plan's sites by service and locality outlines.

    Parameters
    ----------
    zones_geo
        Zone polygons (the dataset's zones).
    plan
        A plan with a solution.
    measure
        One of :data:`MEASURES`.
    title
        Title above the map (defaults to the measure's description).

    Returns
    -------
    bytes
        A PNG image.
    """
    values = zone_display_values(plan, measure)
    fig, ax, geo = _base(zones_geo, plan)
    geo = geo.assign(value=values.reindex(geo.index))
    cmap = "cividis_r" if measure != "imd_decile" else "cividis"
    finite = geo["value"].dropna()
    vmin = 0.0 if is_share(measure) or measure == "demand" else None
    # at least a 0-1% scale, so a plan with no gap anywhere is one flat colour rather than a 0-0 colour bar
    vmax = max(float(finite.max()), 1.0) if is_share(measure) and len(finite) else None
    geo.plot(column="value", ax=ax, cmap=cmap, legend=True, linewidth=0.1, edgecolor="white", vmin=vmin, vmax=vmax,
             missing_kwds={"color": "#dddddd", "label": "no service in reach"},
             legend_kwds={"label": MEASURES.get(measure, measure), "shrink": 0.6})  # fmt: skip
    _outline_localities(ax, geo)
    handles = _draw_sites(ax, plan)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8, frameon=False,
              title="Sites", title_fontsize=8)  # fmt: skip
    ax.set_title(title or MEASURES.get(measure, measure), fontsize=11)
    return _png(fig)


def difference_map(
    zones_geo: gpd.GeoDataFrame,
    plan_a: Plan,
    plan_b: Plan,
    *,
    measure: str = "nearest_hub_minutes",
    names: tuple[str, str] | None = None,
) -> bytes:
    """Zones shaded by ``measure`` in plan B minus plan A (diverging palette centred on zero).

    ``names`` labels plans A and B in the title (default: their scenario names, which are the same for two
    settings of one scenario).
    """
    a = zone_display_values(plan_a, measure)
    b = zone_display_values(plan_b, measure)
    diff = (b - a).dropna()
    fig, ax, geo = _base(zones_geo, plan_b)
    geo = geo.assign(value=diff.reindex(geo.index))
    lim = float(np.nanmax(np.abs(diff.to_numpy()))) if len(diff) else 1.0
    lim = lim if lim > 0 else 1.0
    geo.plot(column="value", ax=ax, cmap="PuOr_r", vmin=-lim, vmax=lim, legend=True, linewidth=0.1, edgecolor="white",
             missing_kwds={"color": "#dddddd"},
             legend_kwds={"label": difference_label(measure), "shrink": 0.6})  # fmt: skip
    _outline_localities(ax, geo)
    name_a, name_b = names or (plan_a.scenario_name, plan_b.scenario_name)
    ax.set_title(textwrap.fill(f"Difference: {name_b} minus {name_a}", 80), fontsize=11)
    return _png(fig)


def difference_label(measure: str) -> str:
    """The colour-bar title of a difference map (shares differ in percentage points)."""
    title = MEASURES.get(measure, measure)
    return f"B - A: {title.replace('(%', '(percentage points')}" if is_share(measure) else f"B - A: {title}"


def equity_chart(plan: Plan, *, by: str = "imd_decile") -> bytes:
    """Mean travel before (nearest GP practice) and after (the plan), and the evening gap, by decile or locality."""
    key = {"imd_decile": "by_imd_decile", "imd_quintile": "by_imd_quintile", "locality": "by_locality"}[by]
    table = pd.DataFrame(plan.kpis.get(key, []))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if not table.empty:
        labels = table[by].astype(str).to_numpy()
        x = np.arange(len(labels))
        ax1.bar(x - 0.2, table["baseline_gp_mean_minutes"], 0.4, label="today: to the nearest GP practice",
                color="#bbbbbb")  # fmt: skip
        ax1.bar(x + 0.2, table["mean_minutes"].astype(float), 0.4, label="with the plan: to the service used",
                color="#2c7fb8")  # fmt: skip
        gap = 100 * table["evening_gap_share"].astype(float)
        ax2.bar(x, gap, 0.6, color="#d95f02")
        if not (gap > 0).any():  # an empty chart reads as missing data; say the gap is closed
            ax2.set_ylim(0, 1)
            ax2.text(0.5, 0.5, "no evening-access gap in any group", transform=ax2.transAxes, ha="center",
                     va="center", fontsize=9, color="#555555")  # fmt: skip
        for ax in (ax1, ax2):
            rot, ha = (25, "right") if by == "locality" else (0, "center")
            ax.set_xticks(x, labels, rotation=rot, ha=ha, fontsize=8)
            ax.set_xlabel("IMD decile (1 = most deprived)" if by == "imd_decile" else by.replace("_", " "))
        ax1.legend(fontsize=8)
    ax1.set_ylabel("mean travel (minutes)")
    ax1.set_title("Travel time of people served", fontsize=10)
    ax2.set_ylabel("evening-only demand unserved (%)")
    ax2.set_title("Evening-access gap", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def cost_title(plan: Plan, budget: float | None = None) -> str:
    """The cost chart's title: the plan's annual cost, and the budget it is held to when there is one."""
    total = f"Annual cost: £{plan.costs.get('total', 0):,.0f}"
    return total if budget is None else f"{total} of a £{budget:,.0f} budget"


def cost_chart(plan: Plan, budget: float | None = None) -> bytes:
    """Annual cost by component, with the total against the budget (``None``: no limit) in the title."""
    parts = {k: v for k, v in plan.costs.items() if k != "total"}
    fig, ax = plt.subplots(figsize=(6.5, 2.6))
    names = [k.replace("_", " ") for k in parts]
    ax.barh(names, [v / 1000 for v in parts.values()], color="#2c7fb8")
    ax.set_xlabel("£ thousand a year")
    ax.set_title(cost_title(plan, budget), fontsize=10)
    ax.invert_yaxis()
    fig.tight_layout()
    return _png(fig)


def frontier_chart(frontier: pd.DataFrame) -> bytes:
    """The cost-versus-access frontier: objective and evening gap against annual cost."""
    ok = frontier.loc[frontier["status"].isin(["optimal", "time_limit"])]
    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(15, 4.0))
    # The objective is what never worsens as the budget rises; single indicators can move either way (mean travel
    # rises when more, farther people are served), so it comes first.
    ax0.plot(ok["total_cost"] / 1e6, ok["objective"].astype(float), "o-", color="#333333")
    ax0.set_xlabel("annual cost (£ million)")
    ax0.set_ylabel("objective: travel + penalties (lower is better)")
    ax0.set_title("The plan's objective against cost", fontsize=10)
    ax1.plot(ok["total_cost"] / 1e6, ok["mean_minutes"], "o-", color="#2c7fb8")
    ax1.set_xlabel("annual cost (£ million)")
    ax1.set_ylabel("mean travel of people served (minutes)")
    ax1b = ax1.twinx()
    ax1b.plot(ok["total_cost"] / 1e6, 100 * ok["unmet_share"].astype(float), "s--", color="#888888")
    ax1b.set_ylabel("demand unserved (%)", color="#666666")
    ax2.plot(ok["total_cost"] / 1e6, 100 * ok["evening_gap_share"].astype(float), "o-", color="#d95f02")
    ax2.set_xlabel("annual cost (£ million)")
    ax2.set_ylabel("evening-access gap (%)")
    ax1.set_title("Access against cost", fontsize=10)
    ax2.set_title("Evening gap against cost", fontsize=10)
    fig.tight_layout()
    return _png(fig)
