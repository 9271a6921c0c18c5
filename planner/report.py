"""Self-contained HTML pages for commissioners: one plan, a comparison, a frontier.

Every image is an inline base64 PNG and every style is inline, so a page can be e-mailed or opened offline.
All text taken from scenarios or data is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.charts import MEASURES, cost_chart, cost_title, difference_map, equity_chart, zone_map
from planner.plan import Plan, popups_in_use
from planner.scenario import Scenario

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;
color:#1d1d1d;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0.2em}
h2{font-size:1.2em;border-bottom:2px solid #005eb8;padding-bottom:4px;margin-top:2em}
.sub{color:#555}.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.kpi{background:#f0f4f5;border-left:4px solid #005eb8;padding:8px 14px;min-width:150px}
.kpi b{display:block;font-size:1.5em}.kpi span{font-size:0.85em;color:#444}
.alert{background:#fde8e8;border-left:4px solid #d5281b;padding:10px 14px;margin:16px 0}
.warn{background:#fff4d6;border-left:4px solid #ffb81c;padding:10px 14px;margin:16px 0}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f0f4f5}td:first-child,th:first-child{text-align:left}img{max-width:100%}
pre{background:#f7f7f7;padding:10px;overflow-x:auto;font-size:0.8em}
footer{margin-top:3em;font-size:0.8em;color:#555}
"""

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(ONS Census 2021, ONS geography, MHCLG English Indices of Deprivation 2025, NHS England ODS, "
    "DfE Get Information about Schools). Contains OpenStreetMap data © OpenStreetMap contributors, "
    "available under the Open Database Licence (ODbL)."
)

HEADLINE: list[tuple[str, str, str]] = [
    ("status", "Status", "text"),
    ("gap", "Proven gap", "pct"),
    ("total_cost", "Annual cost", "money"),
    ("hubs_open", "Hubs open", "int"),
    ("evening_hubs", "Hubs open evenings", "int"),
    ("popup_sessions_per_week", "Pop-up sessions a week", "int"),
    ("mean_minutes", "Mean travel (min)", "num"),
    ("p90_minutes", "90th percentile travel (min)", "num"),
    ("within_20_all", "Share within 20 min", "pct"),
    ("within_30_all", "Share within 30 min", "pct"),
    ("unmet_share", "Demand unserved", "pct"),
    ("evening_gap_share", "Evening-access gap (share)", "pct"),
    ("evening_gap_people", "Evening-access gap (people)", "num"),
    ("mdt_unmet_per_week", "MDT reviews unmet a week", "num"),
]
"""Headline indicators of the report, the comparison, the app and the command line: key, label, format."""

CARDS = (
    "hubs_open",
    "evening_hubs",
    "popup_sessions_per_week",
    "mean_minutes",
    "within_20_all",
    "evening_gap_share",
    "unmet_share",
    "total_cost",
)
"""The headline indicators shown as cards at the top of the report and of the app (keys of :data:`HEADLINE`)."""


def _b64(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def format_indicator(value: Any, kind: str) -> str:
    """Format an indicator for display.

    ``kind`` is ``pct`` (a share), ``money`` (pounds), ``int``, ``num`` (one decimal), ``num2`` (two), ``yes``
    (a flag: yes or no) or ``text``. Missing and non-finite values show as a dash. The result is plain text
    (escape it for HTML).
    """
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "pct":
        return f"{100 * float(value):.1f}%"
    if kind == "money":
        return f"£{float(value):,.0f}"
    if kind == "int":
        return f"{round(float(value)):,}"
    if kind == "num":
        return f"{float(value):,.1f}"
    if kind == "num2":
        return f"{float(value):,.2f}"
    if kind == "yes":
        return "yes" if bool(value) else "no"
    return str(value)


def format_difference(value: Any, kind: str) -> str:
    """Format a difference of two indicators (B - A) with its sign: shares in percentage points ("+10.3 pp",
    since "-2.2%" would read as a relative change), a difference that rounds to nothing as "±0.0"."""
    if kind == "text":
        return "–"
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    v = float(value)
    if kind == "pct":
        txt = f"{100 * abs(v):.1f} pp"
    elif kind == "int":
        txt = f"{abs(v):,.0f}"
    else:
        txt = format_indicator(abs(v), kind)
    nil = not any(ch in "123456789" for ch in txt)  # "−0.0" would claim a direction
    return ("±" if nil else "+" if v > 0 else "−") + txt


def formatted_table(df: pd.DataFrame, columns: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """The given columns of a table, renamed to their labels and formatted by kind (:func:`format_indicator`).

    ``columns`` maps a column to its (label, kind); columns the table lacks are left out, the index is kept.
    """
    out = pd.DataFrame(index=df.index)
    for col, (label, kind) in columns.items():
        if col in df.columns:
            out[label] = [format_indicator(v, kind) for v in df[col]]
    return out


def headline(plan: Plan) -> dict[str, Any]:
    """The plan's headline indicators as plain values (keys of :data:`HEADLINE`)."""
    k = plan.kpis
    mdt = k.get("mdt", {})
    mdt_unmet = k.get("mdt_unmet_per_week")
    if mdt_unmet is None and mdt:  # a summary written before the total was kept
        mdt_unmet = sum(float(v.get("unmet_per_week") or 0.0) for v in mdt.values())
    out: dict[str, Any] = {"status": str(plan.status), "gap": plan.gap, "total_cost": plan.costs.get("total")}
    for key, _, _ in HEADLINE:
        if key not in out:
            out[key] = k.get(key)
    out["mdt_unmet_per_week"] = mdt_unmet
    return out


def _table_html(df: pd.DataFrame) -> str:
    """A table of already formatted text (see :func:`formatted_table`) as HTML, every cell escaped."""
    return df.to_html(border=0, na_rep="–", escape=True)


BY_LOCALITY_COLUMNS: dict[str, tuple[str, str]] = {
    "demand_contacts": ("demand (contacts a week)", "num"),
    "mean_minutes": ("mean travel (min)", "num"),
    "p90_minutes": ("90th percentile travel (min)", "num"),
    "within_20_all": ("within 20 min", "pct"),
    "unmet_share": ("demand unserved", "pct"),
    "evening_gap_share": ("evening-access gap", "pct"),
    "baseline_gp_mean_minutes": ("today: mean travel to the nearest GP practice (min)", "num"),
}
"""The report's table by locality partnership: column, label and format."""

MDT_COLUMNS: dict[str, tuple[str, str]] = {
    "need_per_week": ("reviews needed a week", "num2"),
    "unmet_per_week": ("reviews unmet a week", "num2"),
    "sessions_per_week": ("sessions a week", "int"),
    "hubs_hosting": ("hubs hosting", "int"),
}
"""The report's table of MDT sessions by specialty: column, label and format."""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{body}<footer><p>{html.escape(ATTRIBUTION)}</p>"
        "<p>Made with the BNSSG neighbourhood access planner (Pyomo + HiGHS).</p></footer></body></html>"
    )


def _status_box(plan: Plan) -> str:
    if plan.status == "optimal":
        return ""
    if plan.has_solution:
        gap = format_indicator(plan.gap, "pct")
        return (f"<div class='warn'><b>Stopped at the time limit.</b> This is the best plan found; it is proven to be "
                f"within {gap} of the best possible.</div>")  # fmt: skip
    items = (
        "".join(f"<li>{html.escape(str(v.get('message', v)))}</li>" for v in plan.violations)
        or f"<li>{html.escape(plan.message)}</li>"
    )
    return (f"<div class='alert'><b>No feasible plan ({html.escape(str(plan.status))}).</b> {html.escape(plan.message)}"
            f"<ul>{items}</ul></div>")  # fmt: skip


def headline_cards(plan: Plan) -> list[tuple[str, str]]:
    """The plan's :data:`CARDS` as (label, formatted value), in order: the report and the app show the same."""
    h = headline(plan)
    spec = {key: (label, kind) for key, label, kind in HEADLINE}
    return [(spec[key][0], format_indicator(h.get(key), spec[key][1])) for key in CARDS]


def _kpi_cards(plan: Plan) -> str:
    return (
        "<div class='kpis'>"
        + "".join(
            f"<div class='kpi'><b>{html.escape(value)}</b><span>{html.escape(label)}</span></div>"
            for label, value in headline_cards(plan)
        )
        + "</div>"
    )


def _sites_table(plan: Plan) -> str:
    s = plan.sites
    if s.empty:
        return "<p>No sites.</p>"
    popup_cols = [c for c in s.columns if c.startswith("popup_")]
    mdt_cols = [c for c in s.columns if c.startswith("mdt_")]
    used = s.loc[s["hub_open"] | popups_in_use(s) | (s[mdt_cols].sum(axis=1) > 0)]
    columns = {"name": ("name", "text"), "kind": ("kind", "text"), "locality": ("locality", "text"),
               "hub_open": ("hub", "yes"), "hub_evening": ("hub open evenings and Saturdays", "yes")}  # fmt: skip
    columns |= {
        c: ("pop-up sessions: " + c.removeprefix("popup_").replace("_", " ").replace("saturday", "Saturday"), "int")
        for c in popup_cols
    }
    columns |= {c: ("MDT sessions: " + c.removeprefix("mdt_").replace("_", " "), "int") for c in mdt_cols}
    columns["annual_cost"] = ("annual cost", "money")
    shown = formatted_table(used.sort_values(["locality", "name"]), columns)
    shown.index.name = "site"
    return _table_html(shown)


def render_report(
    plan: Plan, scenario: Scenario, zones_geo: gpd.GeoDataFrame, *, dataset_manifest: dict[str, Any] | None = None
) -> str:
    """The self-contained HTML report of one plan.

    Parameters
    ----------
    plan
        The plan, of any status: an infeasible plan gets a page saying what cannot be met.
    scenario
        The scenario planned (its question and assumptions are printed).
    zones_geo
        Zone polygons for the maps.
    dataset_manifest
        The dataset's manifest (sources and vintages), if known.

    Returns
    -------
    str
        A complete HTML document.
    """
    title = f"Neighbourhood access plan: {scenario.name}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if scenario.question:
        parts.append(f"<p class='sub'><b>Question.</b> {html.escape(scenario.question)}</p>")
    parts.append(_status_box(plan))
    if plan.has_solution:
        parts.append(_kpi_cards(plan))
        parts.append("<h2>Map</h2>")
        parts.append(_b64(zone_map(zones_geo, plan, measure="nearest_hub_minutes"), "map of travel time"))
        if plan.kpis.get("evening_only_people"):
            parts.append(_b64(zone_map(zones_geo, plan, measure="evening_gap_share"), "map of evening gap"))
        parts.append("<h2>Equity: by deprivation decile</h2>")
        parts.append(_b64(equity_chart(plan, by="imd_decile"), "equity by IMD decile"))
        parts.append("<h2>Equity: by locality partnership</h2>")
        parts.append(_b64(equity_chart(plan, by="locality"), "equity by locality"))
        by_loc = pd.DataFrame(plan.kpis.get("by_locality", []))
        if not by_loc.empty:
            parts.append(_table_html(formatted_table(by_loc.set_index("locality"), BY_LOCALITY_COLUMNS)))
        parts.append("<h2>Cost</h2>")
        parts.append(_b64(cost_chart(plan, scenario.budget.annual), "cost breakdown"))
        parts.append(f"<p class='sub'>{html.escape(cost_title(plan, scenario.budget.annual))}.</p>")
        parts.append("<h2>Sites in the plan</h2>")
        parts.append(_sites_table(plan))
        mdt = plan.kpis.get("mdt", {})
        if mdt:
            parts.append("<h2>Specialist MDT sessions</h2>")
            table = formatted_table(pd.DataFrame(mdt).T, MDT_COLUMNS)
            table.index = [str(spec).replace("_", " ") for spec in table.index]
            table.index.name = "specialty"
            parts.append(_table_html(table))
    parts.append("<h2>How this plan was solved</h2>")
    solve = {
        "status": format_indicator(str(plan.status), "text"),
        "objective": format_indicator(plan.objective, "num"),
        "bound": format_indicator(plan.bound, "num"),
        "proven gap": "–" if plan.gap is None else f"{100 * plan.gap:.2f}%",
        "build seconds": format_indicator(plan.build_seconds, "num2"),
        "solve seconds": format_indicator(plan.solve_seconds, "num2"),
        **{f"model {k.replace('_', ' ')}": format_indicator(v, "int") for k, v in plan.size.items()},
    }
    parts.append(_table_html(pd.DataFrame({"value": solve})))
    parts.append("<h2>Assumptions used</h2>")
    parts.append("<pre>" + html.escape(scenario.to_yaml()) + "</pre>")
    if dataset_manifest:
        parts.append("<h2>Data</h2>")
        parts.append(_data_section(dataset_manifest))
    return _page(title, "".join(parts))


def dataset_brief(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a run records of its dataset (in ``summary.json``): its name, how each mode's travel times were made,
    and the sites a user added."""
    travel = manifest.get("travel", {})
    return {
        "name": manifest.get("name"),
        "travel": {mode: travel.get(mode) for mode in ("car", "pt", "walk") if mode in travel},
        "user_sites": list(manifest.get("user_site_ids", [])),
    }


def _data_section(manifest: dict[str, Any]) -> str:
    """The dataset behind a plan, readable: travel-time sources, added sites, every input with its publisher and
    licence (the whole manifest is ``dataset_manifest.json`` in the run folder)."""
    brief = dataset_brief(manifest)
    rows = {f"{mode} travel times": str(how) for mode, how in brief["travel"].items()}
    if brief["user_sites"]:
        rows["sites you added"] = ", ".join(map(str, brief["user_sites"]))
    parts = [_table_html(pd.DataFrame({"value": rows})) if rows else ""]
    inputs = manifest.get("inputs", {})
    if inputs:
        table = pd.DataFrame(
            {
                key: {"publisher": v.get("publisher", ""), "file": v.get("file", v.get("place", "")),
                      "licence": v.get("licence", "")}
                for key, v in inputs.items()
            }
        ).T  # fmt: skip
        table.index.name = "input"
        parts.append(_table_html(table))
    if manifest.get("licence"):
        parts.append(f"<p class='sub'>{html.escape(str(manifest['licence']))}</p>")
    return "".join(parts)


def comparison_table(plans: Sequence[Plan], names: Sequence[str]) -> pd.DataFrame:
    """Headline indicators side by side, one column per plan, with the difference of each plan against the first.

    Parameters
    ----------
    plans
        Two or more plans.
    names
        A column name per plan.

    Returns
    -------
    pandas.DataFrame
        Rows are indicator labels; columns the plan names then ``<name> - <first>`` per later plan.
    """
    if len(plans) != len(names):
        raise ValueError(f"comparison: {len(plans)} plans but {len(names)} names")
    data = {name: headline(p) for name, p in zip(names, plans, strict=True)}
    table = pd.DataFrame(data).reindex([k for k, _, _ in HEADLINE])
    first = names[0]
    for name in names[1:]:
        diffs = []
        for key in table.index:
            a, b = table.at[key, first], table.at[key, name]
            numeric = isinstance(a, int | float) and isinstance(b, int | float) and key != "status"
            # rounded so that 0.43 - 0.0 does not print as 0.43000000000000005 in comparison.csv
            diffs.append(round(float(b) - float(a), 9) if numeric and a is not None and b is not None else None)
        table[f"{name} - {first}"] = diffs
    table.index = [label for _, label, _ in HEADLINE]
    table.index.name = "indicator"
    return table


def formatted_comparison(plans: Sequence[Plan], names: Sequence[str]) -> pd.DataFrame:
    """:func:`comparison_table` as text: each plan's indicators by :func:`format_indicator`, the differences against
    the first by :func:`format_difference` (the comparison page, the command line and the app show the same)."""
    table = comparison_table(plans, names)
    kinds = {label: kind for _, label, kind in HEADLINE}
    differences = set(table.columns[len(names) :])
    shown = pd.DataFrame(index=table.index, columns=table.columns, dtype=object)
    for label in table.index:
        for col in table.columns:
            fmt = format_difference if col in differences else format_indicator
            shown.at[label, col] = fmt(table.at[label, col], kinds[label])
    return shown


def difference_pair(solved: Sequence[tuple[Plan, str]]) -> tuple[tuple[Plan, str], tuple[Plan, str]] | None:
    """The first solved plan and the first later one planning any of the same zones (``None``: no such pair), the
    two a difference map compares; plans of different areas have no zone to compare."""
    if not solved:
        return None
    first = solved[0]
    for other in solved[1:]:
        if len(first[0].zones.index.intersection(other[0].zones.index)):
            return first, other
    return None


def render_comparison(
    plans: Sequence[Plan], zones_geo: gpd.GeoDataFrame, *, names: Sequence[str], difference_png: bytes | None = None
) -> str:
    """An HTML page comparing plans: the KPI table with differences and a difference map of the pair
    :func:`difference_pair` picks (``difference_png``: that map already drawn, as the comparison folder keeps it)."""
    shown = formatted_comparison(plans, names)
    title = "Comparison: " + " vs ".join(names)
    parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Indicators</h2>", shown.to_html(border=0, escape=True)]
    for p, n in zip(plans, names, strict=True):
        if not p.has_solution:
            parts.append(f"<div class='alert'><b>{html.escape(n)}:</b> {html.escape(p.message or str(p.status))}</div>")
    if len(shown.columns) > len(names):
        parts.append(
            "<p class='sub'>Differences are each later plan minus the first; differences of shares are in percentage "
            "points (pp).</p>"
        )
    solved = [(p, n) for p, n in zip(plans, names, strict=True) if p.has_solution]
    pair = difference_pair(solved)
    if pair is not None:
        (a, na), (b, nb) = pair
        parts.append(f"<h2>Where travel changes: {html.escape(nb)} minus {html.escape(na)}</h2>")
        parts.append("<p class='sub'>Orange: longer in the second plan; purple: shorter.</p>")
        png = difference_png or difference_map(zones_geo, a, b, measure="nearest_hub_minutes")
        parts.append(_b64(png, "difference map"))
    elif len(solved) >= 2:
        parts.append(
            f"<p class='sub'>No difference map: no other plan covers any zone of {html.escape(solved[0][1])}'s "
            "(they plan different areas). Each plan's own map is below.</p>"
        )
    if len(solved) >= 2:
        for p, n in solved:
            parts.append(f"<h2>{html.escape(n)}</h2>")
            parts.append(_b64(zone_map(zones_geo, p, measure="nearest_hub_minutes", title=n), f"map of {n}"))
    return _page(title, "".join(parts))


def render_frontier(frontier: pd.DataFrame, name: str) -> str:
    """An HTML page of a cost-versus-access frontier: the chart and the table."""
    from planner.charts import frontier_chart
    from planner.tradeoffs import budget_label

    title = f"Cost against access: {name}"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<p class='sub'>Each point is the best plan at that annual budget. The objective (left) never worsens as the "
        "budget rises; where it flattens, more money buys little more access. Single indicators can move either way "
        "(mean travel rises when more people, farther away, are served).</p>",
        _b64(frontier_chart(frontier), "frontier chart"),
        _table_html(frontier_display(frontier)),
    ]
    for point in frontier.to_dict(orient="records"):
        if point.get("status") not in ("optimal", "time_limit") and isinstance(point.get("message"), str):
            parts.append(f"<div class='alert'><b>{html.escape(budget_label(point['budget']))}:</b> "
                         f"{html.escape(str(point['message']))}</div>")  # fmt: skip
    return _page(title, "".join(parts))


def frontier_display(frontier: pd.DataFrame) -> pd.DataFrame:
    """A frontier as text: a column per budget, a row per indicator (the table the command line prints).

    Budgets are in pounds or "no limit"; indicators are labelled and formatted like the report's headline.

    Parameters
    ----------
    frontier
        The frontier, columns :data:`planner.tradeoffs.FRONTIER_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Indicator labels as the index (named ``budget``), formatted text in the cells.
    """
    from planner.tradeoffs import FRONTIER_COLUMNS, budget_label

    spec = {key: (label, kind) for key, label, kind in HEADLINE} | {"objective": ("Objective", "num")}
    keys = [key for key in FRONTIER_COLUMNS[1:] if key != "message"]  # the reasons are said below, not in a cell
    points = frontier.to_dict(orient="records")
    table = pd.DataFrame(
        {budget_label(p["budget"]): [format_indicator(p.get(k), spec[k][1]) for k in keys] for p in points},
        index=pd.Index([spec[k][0] for k in keys], name="budget"),
    )
    return table


__all__ = [
    "BY_LOCALITY_COLUMNS",
    "CARDS",
    "HEADLINE",
    "MDT_COLUMNS",
    "MEASURES",
    "comparison_table",
    "format_indicator",
    "formatted_table",
    "frontier_display",
    "headline",
    "headline_cards",
    "render_comparison",
    "render_frontier",
    "render_report",
]
