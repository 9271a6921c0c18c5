"""The Streamlit app (app.py) driven through streamlit.testing.v1.AppTest, and the logic behind it (planner.appkit).

The app is exercised as a commissioner would use it: pick a scenario, change levers, solve, compare two plans,
download the results, upload a sites file, and hit an impossible setting. Solves use the Weston, Worle and Villages
scenarios (a few seconds each); solved plans are cached process-wide, so later tests reuse earlier solves.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner import appkit as ak
from planner.errors import ScenarioError
from planner.report import render_report

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
WESTON_B = "weston_option_b"
WESTON_A = "weston_option_a"
# A point in Weston-super-Mare and one in central Bristol (both inside BNSSG).
GOOD_CSV = b"site_id,name,lon,lat,kind\nuser:1,Weston community room,-2.9700,51.3460,library\n"
BAD_CSV = (
    b"site_id,name,lon,lat\n"
    b"u1,Fine site,-2.97,51.346\n"
    b"u2,No longitude,abc,51.35\n"
    b"u1,Duplicate id,-2.96,51.35\n"
    b"u4,In London,-0.1276,51.5072\n"
    b"u5,Grid metres,336000,160000\n"
)


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def plan_b() -> Any:
    sc = ak.load_library_scenario(WESTON_B)
    plan, _ = ak.solve_cached(sc)
    assert plan.has_solution, plan.message
    return plan


@pytest.fixture(scope="module")
def zones() -> Any:
    from geodata.dataset import load_dataset

    return load_dataset().zones


class MediaRecorder:
    """Keeps every in-memory media store AppTest creates, so download contents can be read back."""

    def __init__(self) -> None:
        self.stores: list[Any] = []

    def content(self, url: str) -> bytes:
        name = url.rsplit("/", 1)[-1]
        for store in reversed(self.stores):
            try:
                return bytes(store.get_file(name).content)
            except Exception:
                continue
        raise AssertionError(f"no media file {url}")


@pytest.fixture()
def media(monkeypatch: pytest.MonkeyPatch) -> MediaRecorder:
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    rec = MediaRecorder()

    class Recording(MemoryMediaFileStorage):
        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            rec.stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    return rec


def new_app() -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose(at: Any, name: str) -> Any:
    at.sidebar.selectbox(key="scenario").select(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def solve(at: Any) -> Any:
    at.sidebar.button(key="solve").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deck(at: Any) -> dict[str, Any]:
    charts = at.get("deck_gl_json_chart")
    assert charts, "the map is missing"
    return json.loads(charts[0].proto.json)


def texts(elements: Any) -> str:
    return "\n".join(str(e.value) for e in elements)


# ------------------------------------------------------------------------------------------ the app


def test_app_opens_with_a_map_and_asks_to_solve() -> None:
    at = new_app()
    assert at.title[0].value == "BNSSG neighbourhood access planner"
    assert "Press **Solve**" in texts(at.info)
    spec = deck(at)
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids == ["zones"], "before solving only the zones (by deprivation) are drawn"
    assert len(spec["layers"][0]["data"]) >= 581  # every BNSSG zone
    assert "time limit 60 s, stopping once proven within 1%" in texts(at.caption)
    at.sidebar.number_input(key="default.gap").set_value(5.0).run()
    assert "stopping once proven within 5%" in texts(at.caption)


def test_a_looser_gap_asked_for_is_said_as_such_not_as_optimal() -> None:
    """A planner who asks for 5% to answer sooner gets a plan proven within it, called what it is."""
    at = choose(new_app(), WESTON_B)
    at.sidebar.number_input(key=f"{WESTON_B}.gap").set_value(5.0).run()
    solve(at)
    said = texts(at.success)
    assert re.search(r"Plan within (\d\.\d)% of the best possible plan, the 5% asked for", said), said
    assert "Optimal plan" not in said


def test_choose_scenario_solve_and_see_plan_map_and_equity() -> None:
    at = choose(new_app(), WESTON_B)
    assert at.sidebar.multiselect(key=f"{WESTON_B}.localities").value == ["Weston, Worle and Villages"]
    assert at.sidebar.number_input(key=f"{WESTON_B}.time_limit").value == 30.0
    solve(at)
    assert "Optimal plan" in texts(at.success)
    m = metrics(at)
    assert m["Hubs open"] == "2"  # the scenario asks for exactly two hubs
    assert int(m["Pop-up sessions a week"]) > 0
    assert m["Annual cost"].startswith("£")
    spec = deck(at)
    ids = {layer["id"] for layer in spec["layers"]}
    assert {"zones", "allocation", "sites_hub"} <= ids
    hubs = next(layer for layer in spec["layers"] if layer["id"] == "sites_hub")
    assert len(hubs["data"]) == 2
    assert "annual cost £" in hubs["data"][0]["tip"]
    zone_tip = spec["layers"][0]["data"][0]["tip"]
    assert "nearest hub" in zone_tip and "IMD decile" in zone_tip
    assert "Sites" in texts(at.markdown) and "hub (daytime) (2)" in texts(at.markdown)
    # the equity view: a chart and a table before/after by decile
    assert at.image, "equity chart missing"
    table = at.dataframe[-1].value
    assert {"before: nearest GP (min)", "after: the plan (min)", "evening gap (%)"} <= set(table.columns)
    at.radio(key="equity_by").set_value("locality").run()
    assert list(at.dataframe[-1].value.index) == ["Weston, Worle and Villages"]
    # the map can be shaded by another measure
    at.selectbox(key="measure").set_value("evening_gap_share").run()
    assert "Evening-access gap" in texts(at.markdown)
    assert "weston_option_b" in at.code[0].value


def test_levers_change_the_plan_cache_makes_returning_instant_and_compare() -> None:
    at = solve(choose(new_app(), WESTON_B))
    first = metrics(at)
    at.sidebar.toggle(key=f"{WESTON_B}.popups").set_value(False).run()
    assert "Press **Solve**" in texts(at.info), "a changed lever must not silently show the old plan"
    solve(at)
    second = metrics(at)
    assert second["Pop-up sessions a week"] == "0"
    assert second != first
    assert "pop-ups off" in texts(at.caption)
    # back to the earlier setting: the plan is shown at once, without solving again
    at.sidebar.toggle(key=f"{WESTON_B}.popups").set_value(True)
    began = time.perf_counter()
    at.run()
    assert time.perf_counter() - began < 20
    assert metrics(at) == first
    # compare the two plans
    a_key, b_key = at.selectbox(key="cmp_a"), at.selectbox(key="cmp_b")
    assert a_key.value != b_key.value
    table = next(df.value for df in at.dataframe if "B − A" in df.value.columns)
    row = table.loc["Pop-up sessions a week"]
    assert row.iloc[0] != row.iloc[1] and row["B − A"] not in ("±0", "–")
    assert any(img for img in at.image), "difference map missing"


def test_exact_hubs_budget_and_mdt_levers() -> None:
    at = choose(new_app(), WESTON_A)
    at.sidebar.number_input(key=f"{WESTON_A}.hub_count").set_value(2).run()
    at.sidebar.number_input(key=f"{WESTON_A}.wf_diabetes").set_value(0).run()
    solve(at)
    assert metrics(at)["Hubs open"] == "2"
    assert "hubs exactly 2" in texts(at.caption) and "MDT workforce 0/1/1" in texts(at.caption)
    assert "diabetes: 0" in at.code[0].value


def test_downloads_have_real_content(media: MediaRecorder) -> None:
    at = solve(choose(new_app(), WESTON_B))
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b for b in at.get("download_button")}
    assert {"dl_geojson", "dl_sites", "dl_zones", "dl_alloc"} <= set(buttons)
    geo = json.loads(media.content(buttons["dl_geojson"].proto.url))
    assert geo["type"] == "FeatureCollection"
    layers = {f["properties"]["layer"] for f in geo["features"]}
    assert layers == {"zone", "site"}
    zone = next(f for f in geo["features"] if f["properties"]["layer"] == "zone")
    assert zone["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert "nearest_hub_minutes" in zone["properties"]
    sites = pd.read_csv(io.BytesIO(media.content(buttons["dl_sites"].proto.url)))
    assert sites["hub_open"].sum() == 2 and "services" in sites.columns
    alloc = pd.read_csv(io.BytesIO(media.content(buttons["dl_alloc"].proto.url)))
    assert len(alloc) > 10 and alloc["contacts"].gt(0).all()
    # the HTML report is drawn on request
    assert "dl_report" not in buttons
    at.button(key="make_report").click().run()
    report = next(b for b in at.get("download_button") if b.proto.id.endswith("dl_report"))
    page = media.content(report.proto.url).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Neighbourhood access plan: weston_option_b" in page


def test_infeasible_budget_says_what_to_change_and_app_keeps_working() -> None:
    at = choose(new_app(), WESTON_B)
    at.sidebar.number_input(key=f"{WESTON_B}.budget").set_value(100_000.0).run()
    solve(at)
    err = texts(at.error)
    assert "No plan meets every requirement" in err
    assert "£260,000" in err  # the shortfall, in pounds
    assert "Raise the annual budget" in err
    assert "Traceback" not in err
    assert not at.metric
    # fix it and the app carries on
    at.sidebar.number_input(key=f"{WESTON_B}.budget").set_value(900_000.0).run()
    assert not at.error
    assert metrics(at) or "Press **Solve**" in texts(at.info)
    solve(at)
    assert metrics(at)["Hubs open"] == "2"


def fix_first_hub_open(at: Any) -> str:
    """Pick the first hub candidate of Weston option B under 'Must open as hubs'; return its site id."""
    label = at.sidebar.multiselect(key=f"{WESTON_B}.fixed_open").options[0]
    sid = next(k for k, v in ak.site_options(_dataset(), ["Weston, Worle and Villages"], hubs_only=True).items()
               if v == label)  # fmt: skip
    at.sidebar.multiselect(key=f"{WESTON_B}.fixed_open").select(sid).run()
    return sid


def test_invalid_lever_combination_is_explained() -> None:
    at = choose(new_app(), WESTON_B)
    sid = fix_first_hub_open(at)
    at.sidebar.multiselect(key=f"{WESTON_B}.closed").select(sid).run()
    err = texts(at.error)
    assert f"site {sid!r} is both fixed open and closed" in err
    assert "<changes>" not in err and "<root>" not in err and "Value error" not in err
    assert not at.exception


def test_lever_settings_survive_a_visit_to_another_scenario() -> None:
    at = choose(new_app(), WESTON_B)
    at.sidebar.number_input(key=f"{WESTON_B}.hub_count").set_value(3).run()
    at.sidebar.radio(key=f"{WESTON_B}.year").set_value(2040).run()
    choose(at, WESTON_A)
    choose(at, WESTON_B)
    assert at.sidebar.number_input(key=f"{WESTON_B}.hub_count").value == 3
    assert at.sidebar.radio(key=f"{WESTON_B}.year").value == 2040


def test_a_fixed_open_site_outside_the_localities_is_named_not_dropped() -> None:
    at = choose(new_app(), WESTON_B)
    sid = fix_first_hub_open(at)
    at.sidebar.multiselect(key=f"{WESTON_B}.localities").set_value(["Woodspring"]).run()
    assert not at.exception
    assert at.sidebar.multiselect(key=f"{WESTON_B}.fixed_open").value == [sid]  # kept, not silently dropped
    assert "is outside the localities planned" in texts(at.sidebar.warning)


def test_bad_upload_lists_row_errors_and_app_keeps_working() -> None:
    at = choose(new_app(), WESTON_B)
    at.sidebar.file_uploader(key="upload").set_value(("my_sites.csv", BAD_CSV, "text/csv")).run()
    assert not at.exception
    err = texts(at.error)
    assert "my_sites.csv cannot be used" in err
    assert "row 3, field 'lon': value 'abc': not a number" in err
    assert "row 4, field 'site_id': value 'u1': duplicate id" in err
    assert "row 5" in err and "outside BNSSG" in err
    assert "row 6" in err and "metres" in err
    assert "row 2" not in err  # the good row is not blamed
    rows = [int(line.split(", row ")[1].split(",")[0]) for line in err.splitlines() if ", row " in line]
    assert rows == sorted(rows) and len(rows) >= 4  # listed in the file's order
    solve(at)  # the plan ignores the broken file and still solves
    assert metrics(at)["Hubs open"] == "2"


def test_good_upload_adds_sites_to_the_plan() -> None:
    at = choose(new_app(), WESTON_B)
    at.sidebar.file_uploader(key="upload").set_value(("extra.csv", GOOD_CSV, "text/csv")).run()
    assert "1 site(s) from extra.csv will be added" in texts(at.success)
    solve(at)
    assert "+ sites from extra.csv" in texts(at.caption)
    assert metrics(at)["Hubs open"] == "2"


# -------------------------------------------------------------------------------------- appkit units


def _dataset() -> Any:
    from geodata.dataset import load_dataset

    return load_dataset()


def test_library_lists_scenarios_default_first() -> None:
    lib = ak.scenario_library()
    assert next(iter(lib)) == "default"
    assert {WESTON_A, WESTON_B, "growth_2040"} <= set(lib)


def test_levers_round_trip_and_apply() -> None:
    sc = ak.load_library_scenario(WESTON_A)
    lv = ak.levers_of(sc)
    assert (lv.hub_choice, lv.hub_count, lv.popups, lv.budget) == ("exact", 3, False, 900_000.0)
    assert ak.apply_levers(sc, lv) == sc
    assert ak.scenario_key(ak.apply_levers(sc, lv)) == ak.scenario_key(sc)
    from dataclasses import replace

    changed = ak.apply_levers(
        sc, replace(lv, budget=None, hub_choice="max", hub_count=4, year=2040, mode="car", gap=0.05)
    )
    assert changed.budget.annual is None and changed.hubs.max_hubs == 4 and changed.hubs.exact_hubs is None
    assert changed.demand.year == 2040 and changed.travel.mode == "car" and changed.solver.mip_rel_gap == 0.05
    assert ak.scenario_key(changed) != ak.scenario_key(sc)
    assert ak.scenario_key(sc, "abc") != ak.scenario_key(sc)
    words = ak.describe_changes(sc, changed)
    assert "no budget limit" in words and "hubs at most 4" in words and "year 2040" in words
    assert "stop within 5%" in words
    assert ak.plan_label(sc, sc) == WESTON_A
    with pytest.raises(ScenarioError, match="both fixed open and closed"):
        ak.apply_levers(sc, replace(lv, fixed_open=("gp:L81004",), closed=("gp:L81004",)))


def test_plan_cache_is_lru() -> None:
    cache = ak.PlanCache(maxsize=2)
    sc = ak.load_library_scenario(WESTON_A)
    plans = [ak.with_name(ak.without_plan(sc), f"p{i}") for i in range(3)]
    for i, p in enumerate(plans):
        cache.put(str(i), p)
    assert "0" not in cache and cache.get("2") is plans[2] and len(cache) == 2


def test_solve_cached_returns_the_same_plan_instantly(plan_b: Any) -> None:
    sc = ak.load_library_scenario(WESTON_B)
    began = time.perf_counter()
    again, cached = ak.solve_cached(sc)
    assert cached and again is plan_b
    assert time.perf_counter() - began < 0.5


def test_solve_cached_turns_errors_into_plain_plans() -> None:
    sc = ak.load_library_scenario(WESTON_B).with_changes({"sites": {"extra_file": "/nonexistent/sites.csv"}})
    plan, cached = ak.solve_cached(sc, cache=ak.PlanCache())
    assert not cached and str(plan.status) == "error"
    assert "sites file not found" in plan.message
    assert ak.advice(plan, sc)


def test_infeasible_advice_names_the_budget() -> None:
    sc = ak.load_library_scenario(WESTON_B).with_changes({"budget": {"annual": 100_000}})
    plan, _ = ak.solve_cached(sc, cache=ak.PlanCache())
    assert str(plan.status) == "infeasible"
    tips = ak.advice(plan, sc)
    assert any("Raise the annual budget by at least £260,000" in t for t in tips)


def test_build_map_layers_tooltips_and_legend(plan_b: Any, zones: Any) -> None:
    geo = ak.simplified_zones(zones)
    assert geo.geometry.is_valid.all()
    assert sum(len(g.exterior.coords) for g in geo.geometry if g.geom_type == "Polygon") <= sum(
        len(g.exterior.coords) for g in zones.geometry if g.geom_type == "Polygon"
    )
    spec = ak.build_map(plan_b, geo, measure="nearest_hub_minutes")
    deck = json.loads(spec.deck.to_json())
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids[0] == "zones" and "allocation" in ids and "sites_hub" in ids
    assert spec.counts["hub"] == 2 and spec.counts["popup"] > 0
    assert spec.lines > 0 and spec.hi >= spec.lo
    assert not deck.get("mapStyle")  # no tile server needed: the map draws offline
    legend = ak.legend_html(spec)
    assert "Minutes to the nearest open hub" in legend and "hub (daytime) (2)" in legend
    no_lines = ak.build_map(plan_b, geo, measure="demand", show_lines=False)
    assert no_lines.lines == 0
    with pytest.raises(ValueError, match="unknown map measure"):
        ak.build_map(plan_b, geo, measure="nonsense")
    empty = ak.build_map(ak.without_plan(ak.load_library_scenario(WESTON_B)), geo, measure="imd_decile")
    assert empty.lo == 1 and empty.hi == 10 and sum(empty.counts.values()) == 0


def test_legends_count_every_pop_up_venue_including_those_at_open_hubs(plan_b: Any, zones: Any) -> None:
    import dataclasses

    import matplotlib.pyplot as plt

    from planner import charts
    from planner.plan import popups_in_use

    sites = plan_b.sites.copy()
    hub = sites.index[sites["hub_open"]][0]
    sites.loc[hub, "popup_weekday_evening"] = 1  # a pop-up session at an open hub is drawn as the hub
    plan = dataclasses.replace(plan_b, sites=sites)
    in_use = int(popups_in_use(sites).sum())
    at_hubs = int((popups_in_use(sites) & sites["hub_open"]).sum())  # the plan may hold sessions at a hub itself
    label = f"pop-up venues ({in_use - at_hubs}, and {at_hubs} at open hubs)"
    legend = ak.legend_html(ak.build_map(plan, ak.simplified_zones(zones)))
    assert label in legend
    fig, ax = plt.subplots()
    labels = [h.get_label() for h in charts._draw_sites(ax, plan)]
    plt.close(fig)
    assert label in labels and "hub (daytime) (2)" in labels
    plain = ak.legend_html(ak.build_map(plan_b, ak.simplified_zones(zones)))
    both = popups_in_use(plan_b.sites)
    assert (
        charts.popup_label(int((both & ~plan_b.sites["hub_open"]).sum()), int((both & plan_b.sites["hub_open"]).sum()))
        in plain
    )


def test_shares_are_shown_as_percentages_on_maps_and_legends(plan_b: Any, zones: Any) -> None:
    from planner.charts import difference_label, zone_display_values

    share = plan_b.zones["evening_gap_share"].astype(float)
    shown = zone_display_values(plan_b, "evening_gap_share")
    assert shown.to_numpy() == pytest.approx(100 * share.to_numpy(), nan_ok=True)
    assert zone_display_values(plan_b, "mean_minutes").equals(plan_b.zones["mean_minutes"].astype(float))
    assert "percentage points" in difference_label("evening_gap_share")
    geo = ak.simplified_zones(zones)
    spec = ak.build_map(plan_b, geo, measure="evening_gap_share")
    legend = ak.legend_html(spec)
    assert "% of evening-only demand unserved" in legend
    assert f">{100 * spec.hi:.1f}%</span>" in legend and f">{100 * spec.lo:.1f}%</span>" in legend
    records, _, _ = ak.zone_records(plan_b, geo, "evening_gap_share")
    assert all(re.search(r"unserved\): <b>(\d+\.\d%|–)</b>", r["tip"]) for r in records)
    flat = ak.colour_scale(pd.Series([0.0, 0.0]), "evening_gap_share")
    assert (flat[1], flat[2]) == (0.0, 0.01)  # no gap anywhere: a 0-1% scale, not 0-100%


def test_locality_outlines_have_no_sliver_loops(zones: Any) -> None:
    from planner.charts import locality_outlines

    outlines = locality_outlines(zones)
    assert sorted(outlines.index) == sorted(zones["locality"].unique())
    # dissolving simplified zones leaves 2-25 tiny holes per locality; each outline should be the edges of the
    # locality's parts only (no BNSSG locality encloses another)
    dissolved = zones[["locality", "geometry"]].dissolve(by="locality").geometry
    for loc, outline in outlines.items():
        parts = len(getattr(dissolved[loc], "geoms", [dissolved[loc]]))
        assert len(getattr(outline, "geoms", [outline])) == parts, loc


def test_popup_sites_show_their_slots(plan_b: Any) -> None:
    layers = ak.site_layers(plan_b)
    assert layers["popup"]
    assert any("weekday evening" in r["tip"] or "saturday" in r["tip"] for r in layers["popup"])


def test_downloads_content(plan_b: Any, zones: Any) -> None:
    geo = json.loads(ak.plan_geojson(plan_b, zones))
    site_props = [f["properties"] for f in geo["features"] if f["properties"]["layer"] == "site"]
    # what a site could be is labelled as such, so that a pop-up venue is not read as a hub
    assert all("is_hub" not in p and "hub_candidate" in p for p in site_props)
    assert sum(bool(p["hub_open"]) for p in site_props) == plan_b.kpis["hubs_open"]
    assert len([f for f in geo["features"] if f["properties"]["layer"] == "zone"]) == len(plan_b.zones)
    sites = pd.read_csv(io.StringIO(ak.plan_csv(plan_b)))
    assert len(sites) == int(plan_b.sites["used"].sum()) and sites["annual_cost"].sum() > 0
    assert len(pd.read_csv(io.StringIO(ak.zones_csv(plan_b)))) == len(plan_b.zones)


def test_comparison_and_equity_tables(plan_b: Any, zones: Any) -> None:
    from planner.report import HEADLINE

    sc_a = ak.load_library_scenario(WESTON_A)
    plan_a, _ = ak.solve_cached(sc_a)
    table = ak.comparison_display(plan_a, plan_b, "A", "B")
    assert list(table.columns) == ["A", "B", "B − A"]
    assert table.loc["Hubs open", "A"] == "3" and table.loc["Hubs open", "B"] == "2"
    assert table.loc["Hubs open", "B − A"] == "−1"
    # shares differ in percentage points, and a difference that rounds to nothing has no sign
    pct = [label for _, label, kind in HEADLINE if kind == "pct" and label in table.index]
    assert pct and all(table.loc[label, "B − A"].endswith(" pp") for label in pct)
    assert all(not d.startswith(("−0.0", "+0.0")) for d in table["B − A"])
    eq = ak.equity_table(plan_b, "imd_decile")
    assert eq.index.name == "imd decile" and eq["before: nearest GP (min)"].notna().all()
    cards = dict(ak.headline_cards(plan_b))
    assert cards["Hubs open"] == "2" and cards["Annual cost"].startswith("£")
    assert cards["Demand unserved"].endswith("%")
    # The HTML report opens with the same cards, in the same order, as the app.
    page = render_report(plan_b, ak.load_library_scenario(WESTON_B), zones)
    opening = page[page.index("<div class='kpis'>") :]
    positions = [opening.index(f"<b>{html.escape(v)}</b><span>{html.escape(k)}</span>") for k, v in cards.items()]
    assert positions == sorted(positions) and len(cards) == 8


def test_check_upload_good_and_bad() -> None:
    ds = _dataset()
    good = ak.check_upload("extra.csv", GOOD_CSV, ds)
    assert good.ok and good.sites is not None and list(good.sites.index) == ["user:1"]
    assert good.sites["locality"].iloc[0] == "Weston, Worle and Villages"
    bad = ak.check_upload("bad.csv", BAD_CSV, ds)
    assert not bad.ok and len(bad.errors) == 4
    assert bad.errors[0] == "bad.csv, row 3, field 'lon': value 'abc': not a number"
    too_big = ak.check_upload("big.csv", b"x" * 100, ds, max_bytes=10)
    assert "the limit is" in too_big.errors[0]
    assert "unsupported file type" in ak.check_upload("sites.xlsx", b"abc", ds).errors[0]
    assert "missing column 'lat'" in ak.check_upload("s.csv", b"site_id,name,lon\na,b,1\n", ds).errors[0]
    clash = ak.check_upload("s.csv", b"site_id,name,lon,lat\ngp:L81004,x,-2.97,51.346\n", ds)
    assert "already used by a dataset site" in clash.errors[0]
    line = b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"site_id":"a","name":"b"},' \
        b'"geometry":{"type":"LineString","coordinates":[[-2.9,51.3],[-2.8,51.4]]}}]}'  # fmt: skip
    geo_err = ak.check_upload("s.geojson", line, ds)
    assert not geo_err.ok and "not a point" in geo_err.errors[0] and "/tmp" not in geo_err.errors[0]
    assert ak.dataset_with_upload(bad, ds) is ds


def test_status_words_are_a_planners_not_the_solvers(plan_b: Any) -> None:
    from dataclasses import replace

    from planner.solver import SolveStatus

    assert ak.status_words(plan_b).startswith("planned, within ")
    stopped = replace(plan_b, status=SolveStatus.TIME_LIMIT, gap=0.0361)
    assert ak.status_words(stopped) == "stopped at the time limit, within 3.6% of the best possible plan"
    assert "time_limit" not in ak.status_words(stopped)


@pytest.mark.filterwarnings("ignore:The Geo(DataFrame|Series) you are attempting to plot is empty")  # made-up zones
def test_plans_of_different_areas_get_no_blank_difference_map(plan_b: Any, zones: Any) -> None:
    import dataclasses

    from planner.report import difference_pair, render_comparison

    elsewhere = dataclasses.replace(plan_b, zones=plan_b.zones.rename(index=lambda z: f"{z}-elsewhere"),
                                    scenario_name="elsewhere")  # fmt: skip
    assert difference_pair([(plan_b, "here"), (elsewhere, "elsewhere")]) is None
    page = render_comparison([plan_b, elsewhere], zones, names=["here", "elsewhere"])
    assert "No difference map: no other plan covers any zone of here's" in page and "Where travel changes" not in page
    # a third plan of the same area is compared with the first instead
    pair = difference_pair([(plan_b, "here"), (elsewhere, "elsewhere"), (plan_b, "again")])
    assert pair is not None and pair[1][1] == "again"


def test_the_app_plans_on_the_dataset_named_by_bnssg_dataset(
    raw_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geodata.build import build_dataset

    # Your own build: here the default data with five Woodspring zones given to Weston in a localities file
    loc = _dataset().zones["locality"].copy()
    moved = loc.index[loc == "Woodspring"][:5]
    loc[moved] = "Weston, Worle and Villages"
    loc.rename("locality").rename_axis("zone_code").to_csv(tmp_path / "localities.csv")
    build_dataset(raw_data, tmp_path / "own", locality_override=tmp_path / "localities.csv", progress=False)
    monkeypatch.setenv(ak.DATASET_ENV, str(tmp_path / "own"))
    at = solve(choose(new_app(), WESTON_B))
    assert f"Dataset: {tmp_path / 'own'}" in texts(at.sidebar.caption)
    zones = next(layer for layer in deck(at)["layers"] if layer["id"] == "zones")["data"]
    from geodata.dataset import read_dataset

    def weston(ds: Any) -> int:
        return int((ds.zones["locality"] == "Weston, Worle and Villages").sum())

    # the plan covers the moved zones: it was made on this dataset, not the default
    codes = {re.search(r"\((E0\d{7})\)", z["tip"]).group(1) for z in zones}  # type: ignore[union-attr]
    assert len(codes) == weston(read_dataset(tmp_path / "own")) > weston(_dataset())
    # a folder that is not a dataset is named, not a traceback
    monkeypatch.setenv(ak.DATASET_ENV, str(tmp_path / "nowhere"))
    from streamlit.testing.v1 import AppTest

    bad = AppTest.from_file(APP, default_timeout=120)
    bad.run()
    assert not bad.exception
    shown = texts(bad.error)
    assert "The dataset could not be loaded" in shown and "nowhere: not a planning dataset" in shown
