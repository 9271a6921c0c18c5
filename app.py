"""BNSSG neighbourhood access planner: the Streamlit app for commissioners and estates planners.

Run with ``streamlit run app.py``. A thin shell over :mod:`planner` and :mod:`geodata`: every non-widget step
(levers, cached solve, map layers, upload checks, downloads) lives in :mod:`planner.appkit`.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from geodata.dataset import DEFAULT_DATASET_DIR, Dataset
from geodata.errors import PlannerError
from geodata.sites import KINDS
from planner import appkit as ak
from planner.charts import difference_map, equity_chart
from planner.plan import Plan
from planner.report import render_report
from planner.scenario import SPECIALTIES, Scenario

st.set_page_config(page_title="BNSSG neighbourhood access planner", page_icon="🏥", layout="wide")


# $BNSSG_DATASET (empty: the embedded default); the cached resources below are keyed by it. (A comment, not a
# docstring: Streamlit would draw a bare string on the page.)
DATA_DIR = os.environ.get(ak.DATASET_ENV, "").strip()


@st.cache_resource(show_spinner="Loading the BNSSG dataset…")
def dataset(folder: str = DATA_DIR) -> Dataset:
    return ak.app_dataset(folder)


@st.cache_resource(show_spinner=False)
def map_zones(folder: str = DATA_DIR) -> Any:
    return ak.simplified_zones(dataset(folder).zones)


@st.cache_data(show_spinner=False, max_entries=64)
def equity_png(key: str, by: str, _plan: Plan) -> bytes:
    return equity_chart(_plan, by=by)


@st.cache_data(show_spinner=False, max_entries=32)
def difference_png(key_a: str, key_b: str, measure: str, names: tuple[str, str], _a: Plan, _b: Plan) -> bytes:
    return difference_map(dataset(DATA_DIR).zones, _a, _b, measure=measure, names=names)


def state() -> Any:
    ss = st.session_state
    ss.setdefault("runs", {})  # cache key -> {"label", "scenario"}
    ss.setdefault("reports", {})  # cache key -> HTML
    ss.setdefault("uploads", {})  # digest -> UploadCheck
    return ss


ss = state()
library = ak.scenario_library()
try:
    ds = dataset(DATA_DIR)
except PlannerError as exc:  # a $BNSSG_DATASET that is not a planning dataset: say so, not a traceback
    st.error(f"The dataset could not be loaded: {exc}")
    st.stop()
if ds.path is not None and ds.path.resolve() != DEFAULT_DATASET_DIR.resolve():
    st.sidebar.caption(f"Dataset: {ds.path} (car times: {ds.manifest.get('travel', {}).get('car', 'unknown')})")
# Streamlit forgets a widget's value once a run does not draw it, so the levers of the scenarios not shown would be
# lost on switching scenario; writing each back to Session State at the top of every run keeps them.
for _key in [k for k in ss if isinstance(k, str) and k.split(".", 1)[0] in library and "." in k]:
    ss[_key] = ss[_key]

# ------------------------------------------------------------------------------------------------ sidebar
with st.sidebar:
    st.header("Scenario")
    names = list(library)
    first = os.environ.get("BNSSG_APP_SCENARIO", "default")
    choice = st.selectbox(
        "Scenario from the library", names, index=names.index(first) if first in names else 0, key="scenario"
    )
    try:
        base = ak.load_library_scenario(choice)
    except PlannerError as exc:
        st.error(f"This scenario file cannot be read: {exc}")
        st.stop()
    if base.question:
        st.caption(base.question)
    lv = ak.levers_of(base)
    p = f"{choice}."  # each scenario keeps its own lever settings

    localities = sorted(ds.zones["locality"].unique())
    picked = st.multiselect(
        "Localities planned (none = all of BNSSG)",
        localities,
        default=[loc for loc in (lv.localities or ()) if loc in localities],
        key=p + "localities",
        help="Planning one or two locality partnerships solves in seconds; all of BNSSG takes about a minute.",
    )
    years = sorted({2024, 2040, lv.year})
    year = st.radio("Demand year", years, index=years.index(lv.year), horizontal=True, key=p + "year")
    limited = st.toggle("Limit the annual budget", value=lv.budget is not None, key=p + "budget_on")
    budget = (
        st.number_input(
            "Annual budget (£)",
            min_value=0.0,
            value=float(lv.budget if lv.budget is not None else 2_400_000.0),
            step=50_000.0,
            format="%.0f",
            key=p + "budget",
        )
        if limited
        else None
    )
    hub_choice = st.radio(
        "Number of hubs",
        list(ak.HUB_CHOICES),
        index=list(ak.HUB_CHOICES).index(lv.hub_choice),
        format_func=ak.HUB_CHOICE_LABELS.__getitem__,
        key=p + "hub_choice",
    )
    hub_count = lv.hub_count
    if hub_choice != "free":
        hub_count = int(st.number_input("Hubs", min_value=0, max_value=80, value=lv.hub_count, key=p + "hub_count"))
    popups = st.toggle("Evening and Saturday pop-ups", value=lv.popups, key=p + "popups")
    mdt = st.toggle("Specialist MDT sessions", value=lv.mdt, key=p + "mdt")
    with st.expander("MDT workforce (sessions a week)"):
        workforce = {
            spec: int(
                st.number_input(
                    spec.replace("_", " ").capitalize(),
                    min_value=0,
                    max_value=50,
                    value=int(lv.workforce.get(spec, 0)),
                    key=p + "wf_" + spec,
                )
            )
            for spec in SPECIALTIES
        }
    st.subheader("Travel")
    max_minutes = st.slider("Travel limit (minutes)", 10, 120, int(lv.max_minutes), step=5, key=p + "max_minutes")
    modes = list(ak.MODE_LABELS)
    mode = st.selectbox(
        "Travel mode", modes, index=modes.index(lv.mode), format_func=ak.MODE_LABELS.__getitem__, key=p + "mode"
    )
    with st.expander("Objective weights"):
        weights = {
            k: float(st.number_input(ak.WEIGHT_LABELS[k], min_value=0.0, value=float(lv.weights[k]), key=p + "w_" + k))
            for k in ak.WEIGHT_KEYS
        }
    with st.expander("Sites fixed open or excluded"):
        hub_opts = ak.site_options(ds, picked or None, hubs_only=True)
        all_opts = ak.site_options(ds, picked or None, hubs_only=False)
        # sites already chosen stay choosable when the localities change (Streamlit would silently drop them);
        # a fixed-open hub outside the localities is then named below instead of vanishing
        every_site = ak.site_options(ds, None, hubs_only=False)
        for sid in (*lv.fixed_open, *ss.get(p + "fixed_open", ())):
            hub_opts.setdefault(sid, every_site.get(sid, sid))
        for sid in (*lv.closed, *ss.get(p + "closed", ())):
            all_opts.setdefault(sid, every_site.get(sid, sid))
        fixed_open = st.multiselect(
            "Must open as hubs", list(hub_opts), default=list(lv.fixed_open), format_func=lambda s: hub_opts.get(s, s),
            key=p + "fixed_open",
        )  # fmt: skip
        closed = st.multiselect(
            "Not available",
            list(all_opts),
            default=list(lv.closed),
            format_func=lambda s: all_opts.get(s, s),
            key=p + "closed",
        )
        if picked:
            outside = [sid for sid in fixed_open if ds.sites["locality"].get(sid) not in picked]
            if outside:
                st.warning(
                    f"{every_site.get(outside[0], outside[0])} must open as a hub but is outside the localities "
                    "planned: add its locality or remove it from 'Must open as hubs'."
                )
    with st.expander("Add candidate sites from a file"):
        st.caption(
            f"CSV with columns site_id, name, lon, lat (optional kind: one of {', '.join(KINDS)}; can_hub, "
            f"can_popup, can_mdt: true or false) or GeoJSON points; up to {ak.MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        )
        upload = st.file_uploader("Sites file", type=["csv", "geojson", "json"], key="upload")
    check: ak.UploadCheck | None = None
    if upload is not None:
        data = upload.getvalue()
        digest = ak.upload_digest(data)
        check = ss.uploads.get(digest)
        if check is None:
            check = ak.check_upload(upload.name, data, ds)
            ss.uploads[digest] = check
        if check.ok and check.sites is not None:
            st.success(f"{len(check.sites)} site(s) from {check.name} will be added as candidates.")
        else:
            st.error(
                f"{check.name} cannot be used; fix these rows and upload it again (the plan ignores the file "
                "meanwhile):\n\n" + "\n".join(f"- {e}" for e in check.errors)
            )
    st.subheader("Solver")
    time_limit = st.number_input(
        "Time limit (seconds)", min_value=1.0, max_value=3600.0, value=lv.time_limit, step=10.0, key=p + "time_limit"
    )
    gap_percent = st.number_input(
        "Stop when proven within (%)", min_value=0.0, max_value=50.0, value=round(100 * lv.gap, 3), step=0.5,
        key=p + "gap", help="The solve ends once its plan is proven this close to the best possible. 1% is the "
        "default; 5% answers the whole of BNSSG in about 41 s instead of a minute, for a first look at an option.",
    )  # fmt: skip
    solve = st.button("Solve", type="primary", width="stretch", key="solve")

# ------------------------------------------------------------------------------------------------ scenario
levers = ak.Levers(
    year=int(year), budget=budget, hub_choice=hub_choice, hub_count=hub_count, popups=popups, mdt=mdt,
    workforce=workforce, max_minutes=float(max_minutes), mode=mode, weights=weights, fixed_open=tuple(fixed_open),
    closed=tuple(closed), localities=tuple(picked) or None, time_limit=float(time_limit), gap=float(gap_percent) / 100,
)  # fmt: skip
st.title("BNSSG neighbourhood access planner")
try:
    scenario: Scenario | None = ak.apply_levers(base, levers)
except PlannerError as exc:
    scenario = None
    st.error(
        f"These settings do not make a valid scenario: {str(exc).removeprefix('settings: ')}. "
        "Change the setting named and try again."
    )

use_upload = check if check is not None and check.ok else None
extra_key = use_upload.digest if use_upload is not None else ""
if DATA_DIR:  # the same scenario on your own dataset is another plan
    extra_key += f"|dataset:{DATA_DIR}"
plan: Plan | None = None
key = ""
if scenario is not None:
    key = ak.scenario_key(scenario, extra_key)
    label = ak.plan_label(base, scenario, use_upload.name if use_upload is not None else "")
    st.caption(
        f"Settings: **{label}** · solver time limit {scenario.solver.time_limit:g} s, stopping once proven within "
        f"{100 * scenario.solver.mip_rel_gap:g}%"
    )
    if solve:
        with st.status(f"Solving {scenario.name} (time limit {scenario.solver.time_limit:g} s)…", expanded=True) as box:
            try:
                solve_ds = ak.dataset_with_upload(use_upload, ds)
                plan, cached = ak.solve_cached(scenario, solve_ds, extra_key=extra_key, progress=box.write)
            except Exception as exc:  # never show a traceback: say what failed
                plan, cached = ak.failed_plan(scenario, exc), False
            if cached:
                box.write("same settings solved before: plan taken from the cache")
            done = f"{scenario.name}: {ak.status_words(plan)} in {plan.build_seconds + plan.solve_seconds:.1f} s"
            box.update(label=done, state="complete" if plan.has_solution else "error", expanded=not plan.has_solution)
    else:
        plan = ak.PLANS.get(key)
    if plan is not None and plan.status != "error":
        ss.runs[key] = {"label": label, "scenario": scenario}


def show_status(plan: Plan, sc: Scenario) -> None:
    if plan.status == "optimal" and (plan.gap or 0.0) > ak.CLOSE_GAP:
        # Stopped at a looser proof the planner asked for: good enough, but not "optimal" in their words.
        st.success(
            f"Plan {ak.gap_words(plan)}, the {100 * sc.solver.mip_rel_gap:g}% asked for; solved in "
            f"{plan.solve_seconds:.1f} s."
        )
    elif plan.status == "optimal":
        st.success(f"Optimal plan, {ak.gap_words(plan)}; solved in {plan.solve_seconds:.1f} s.")
    elif plan.has_solution:
        st.warning(
            f"Best plan found in the time allowed, {ak.gap_words(plan)} (a longer time limit may find a better one)."
        )
    else:
        what = {"infeasible": "No plan meets every requirement", "error": "The plan could not be made"}.get(
            str(plan.status), "No plan was found"
        )
        items = "\n".join(f"- {v.get('message', v)}" for v in plan.violations) or f"- {plan.message}"
        tips = "\n".join(f"- {t}" for t in ak.advice(plan, sc))
        st.error(f"**{what}.** {plan.message}\n\n**What cannot be met:**\n{items}\n\n**What to change:**\n{tips}")


if plan is None:
    if scenario is not None:
        st.info(
            f"Press **Solve** to plan these settings (time limit {scenario.solver.time_limit:g} s; a locality takes "
            "seconds, all of BNSSG about a minute). Settings solved before reappear instantly."
        )
else:
    assert scenario is not None
    show_status(plan, scenario)
    if plan.has_solution:
        cards = ak.headline_cards(plan)
        for row in (cards[:4], cards[4:]):
            for col, (name, value) in zip(st.columns(len(row)), row, strict=True):
                col.metric(name, value)

# keyed and tracked, so the tab chosen stays chosen when a click elsewhere reruns the app
tab_map, tab_equity, tab_compare, tab_downloads, tab_assumptions = st.tabs(
    ["Map", "Equity", "Compare plans", "Downloads", "Assumptions"], key="tab", on_change="rerun"
)

with tab_map:
    shown = plan if plan is not None and plan.has_solution else None
    measures = list(ak.MAP_MEASURES) if shown is not None else ["imd_decile"]
    measure = st.selectbox(
        "Shade zones by",
        measures,
        format_func=ak.MAP_MEASURES.__getitem__,
        key="measure" if shown is not None else "measure_unsolved",
    )
    lines = st.checkbox("Show allocation lines (who goes where)", value=True, key="lines")
    base_plan = shown if shown is not None else ak.without_plan(scenario or base)
    zones_geo = map_zones(DATA_DIR)
    if shown is None and scenario is not None and scenario.localities:
        zones_geo = zones_geo.loc[zones_geo["locality"].isin(list(scenario.localities))]
    spec = ak.build_map(base_plan, zones_geo, measure=measure, show_lines=lines)
    left, right = st.columns([4, 1])
    with left:
        st.pydeck_chart(spec.deck, height=620, width="stretch")
    with right:
        st.markdown(ak.legend_html(spec), unsafe_allow_html=True)
        st.caption("Hover a zone, site or line for its figures.")
    if shown is not None:
        with st.expander("Sites in the plan"):
            used = shown.sites.loc[shown.sites["used"]]
            st.dataframe(used[["name", "kind", "locality", "services", "annual_cost"]], width="stretch")

with tab_equity:
    if plan is None or not plan.has_solution:
        st.info("Solve a scenario to see travel time and the evening gap by deprivation decile and by locality.")
    else:
        by = st.radio(
            "Split by", ["imd_decile", "locality"], horizontal=True, key="equity_by",
            format_func={"imd_decile": "deprivation decile (1 = most deprived)", "locality": "locality"}.__getitem__,
        )  # fmt: skip
        st.image(equity_png(key, by, plan), caption="Before: nearest GP practice today. After: the plan.")
        st.dataframe(ak.equity_table(plan, by), width="stretch")

with tab_compare:
    runs = {k: v for k, v in ss.runs.items() if ak.PLANS.get(k) is not None}
    if len(runs) < 2:
        st.info("Solve at least two settings (another scenario, or the same one with a lever changed) to compare.")
    else:
        keys = list(runs)
        fmt = {k: runs[k]["label"] for k in keys}.__getitem__
        ca, cb = st.columns(2)
        ka = ca.selectbox("Plan A", keys, index=0, format_func=fmt, key="cmp_a")
        kb = cb.selectbox("Plan B", keys, index=len(keys) - 1, format_func=fmt, key="cmp_b")
        pa, pb = ak.PLANS.get(ka), ak.PLANS.get(kb)
        if pa is not None and pb is not None:
            st.dataframe(ak.comparison_display(pa, pb, runs[ka]["label"], runs[kb]["label"]), width="stretch")
            if pa.has_solution and pb.has_solution:
                dm = st.selectbox(
                    "Difference map of", [m for m in ak.MAP_MEASURES if m not in ("imd_decile", "demand")],
                    format_func=ak.MAP_MEASURES.__getitem__, key="cmp_measure",
                )  # fmt: skip
                st.image(
                    difference_png(ka, kb, dm, (runs[ka]["label"], runs[kb]["label"]), pa, pb),
                    caption="B minus A. Orange: longer or worse in plan B; purple: shorter or better.",
                )
            else:
                st.warning("A difference map needs two solved plans.")

with tab_downloads:
    if plan is None or scenario is None or not plan.has_solution:
        st.info("Solve a scenario to download its plan.")
    else:
        st.download_button(
            "Plan as GeoJSON (zones with indicators, sites with services)",
            ak.plan_geojson(plan, ds.zones),
            file_name=f"{scenario.name}-plan.geojson",
            mime="application/geo+json",
            key="dl_geojson",
        )
        st.download_button(
            "Sites in the plan (CSV)", ak.plan_csv(plan), file_name=f"{scenario.name}-sites.csv", mime="text/csv",
            key="dl_sites",
        )  # fmt: skip
        st.download_button(
            "Zones (CSV)", ak.zones_csv(plan), file_name=f"{scenario.name}-zones.csv", mime="text/csv", key="dl_zones"
        )
        st.download_button(
            "Who goes where (CSV)", ak.allocation_csv(plan), file_name=f"{scenario.name}-allocation.csv",
            mime="text/csv", key="dl_alloc",
        )  # fmt: skip
        report_slot = st.empty()  # the prepare button, then the download in its place
        if key not in ss.reports and report_slot.button("Prepare the HTML report", key="make_report"):
            with st.spinner("Drawing the report's maps and charts…"):
                data = plan.dataset_manifest or ds.manifest  # with any uploaded sites
                ss.reports[key] = render_report(plan, scenario, ds.zones, dataset_manifest=data)
        if key in ss.reports:
            report_slot.download_button(
                "HTML report", ss.reports[key], file_name=f"{scenario.name}-report.html", mime="text/html",
                key="dl_report",
            )  # fmt: skip

with tab_assumptions:
    if scenario is not None:
        st.code(scenario.to_yaml(), language="yaml")
