"""The command line end to end: every library scenario solves on the real dataset, outputs carry real content,
user mistakes give one-line errors with exit code 2, and a failed run leaves earlier runs intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bad_scenario_key_is_one_line_error_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("extends: " + str(LIBRARY / "default.yaml") + "\nbudgett: {annual: 1}\n")
    code, out, err = run("validate", str(path))
    assert code == 2
    assert "typo.yaml: unknown key 'budgett'" in err
    assert "Traceback" not in out + err


def test_missing_scenario_file(tmp_path: Path) -> None:
    code, _, err = run("solve", str(tmp_path / "nope.yaml"), "--out", str(tmp_path))
    assert code == 2
    assert "scenario file not found" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_validate_reports_impossible_budget_with_numbers(tmp_path: Path) -> None:
    path = tmp_path / "poor.yaml"
    path.write_text(f"extends: {LIBRARY / 'default.yaml'}\nname: poor\nbudget: {{annual: 500000}}\n")
    code, out, _ = run("validate", str(path), "--json")
    assert code == 3
    result = json.loads(out)
    assert not result["valid"]
    problem = result["problems"][0]
    assert problem["requirement"] == "budget"
    assert "short by £580,000" in problem["message"]  # 6 localities x £180,000 = £1,080,000


@pytest.mark.slow
def test_unknown_site_id_names_field_and_value(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(f"extends: {LIBRARY / 'default.yaml'}\nname: site\nsites: {{fixed_open: ['gp:XX999']}}\n")
    code, _, err = run("validate", str(path))
    assert code == 2
    assert "field 'sites.fixed_open': unknown site id 'gp:XX999'" in err
    assert f"{path}: scenario 'site', field" in " ".join(err.split())  # the file, though the scenario is renamed


@pytest.mark.slow
def test_solve_writes_a_complete_run_folder(tmp_path: Path) -> None:
    code, out, err = run("solve", "weston_option_b", "--out", str(tmp_path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    folder = Path(summary["run_folder"])
    assert folder.parent == tmp_path and folder.is_dir()
    on_disk = json.loads((folder / "summary.json").read_text())
    for key in ("status", "objective", "bound", "gap", "build_seconds", "solve_seconds", "model_size", "kpis"):
        assert key in on_disk
    assert on_disk["status"] in ("optimal", "time_limit")
    assert on_disk["kpis"]["hubs_open"] == 2
    sites = gpd.read_file(folder / "plan.gpkg", layer="sites")
    zones = gpd.read_file(folder / "plan.gpkg", layer="zones")
    assert int(sites["hub_open"].sum()) == 2
    assert set(zones["locality"]) == {"Weston, Worle and Villages"}
    assert zones.crs is not None and zones.crs.to_epsg() == 4326
    alloc = pd.read_csv(folder / "allocation.csv")
    opened = set(sites.loc[sites["used"].astype(bool), "site_id"])
    assert set(alloc["site_id"]) <= opened
    # Demand is conserved in what was written.
    zc = pd.read_csv(folder / "zones.csv")
    served = alloc.loc[alloc["service"] == "hub_day"].groupby("zone_code")["contacts"].sum()
    merged = zc.set_index("zone_code").join(served.rename("served"), how="left").fillna({"served": 0.0})
    assert ((merged["served"] + merged["unmet_day"] - merged["contacts_day"]).abs() < 1e-4).all()
    html = (folder / "report.html").read_text()
    assert "Weston" in html
    assert "<script src=" not in html and '<link rel="stylesheet" href="http' not in html  # self-contained
    # The tables are for commissioners: labelled, formatted, no Python values or column names.
    tables = html[html.index("<h2>Sites in the plan</h2>") : html.index("<h2>Assumptions used</h2>")]
    for raw in (">True<", ">False<", "NaN", "None", "e-1", "popup_weekday_evening", "need_per_week", "-0.0"):
        assert raw not in tables, raw
    assert "pop-up sessions: weekday evening" in tables and "proven gap" in tables
    assert re.search(r"Annual cost: £[\d,]+ of a £900,000 budget", html)  # the cost against what it is held to
    assert {"hub_candidate", "popup_candidate"} <= set(pd.read_csv(folder / "sites.csv").columns)  # as in plan.gpkg
    assert "-0.0" not in (folder / "costs.csv").read_text()
    by_q = pd.read_csv(folder / "kpis_by_imd_quintile.csv")
    assert set(by_q["imd_quintile"]) <= {1, 2, 3, 4, 5}
    # the run says which dataset and travel times it used, readably and in full
    assert on_disk["dataset"]["travel"]["car"] == "distance model" and on_disk["dataset"]["user_sites"] == []
    assert json.loads((folder / "dataset_manifest.json").read_text())["counts"]["zones"] == 581
    data = html[html.index("<h2>Data</h2>") :]
    assert "pt travel times" in data and "ONS Census 2021 TS007A" in data and "Open Government Licence" in data
    assert '"sha256"' not in data  # a table, not a cut-off JSON dump


def test_gap_option_sets_the_proof_asked_for_and_refuses_a_bad_value(tmp_path: Path) -> None:
    """``--gap`` overrides ``solver.mip_rel_gap`` (a looser proof answers sooner); a gap above 1 names the option,
    field and value, and writes nothing."""
    import yaml

    code, _, err = run("solve", "weston_option_a", "--gap", "2", "--out", str(tmp_path))
    assert code == 2 and "--gap: field 'solver.mip_rel_gap' (value 2.0)" in err
    assert list(tmp_path.iterdir()) == []
    code, out, err = run("solve", "weston_option_a", "--gap", "0.05", "--out", str(tmp_path), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "optimal" and summary["gap"] <= 0.05
    written = yaml.safe_load((Path(summary["run_folder"]) / "scenario.yaml").read_text())
    assert written["solver"]["mip_rel_gap"] == 0.05


@pytest.mark.slow
def test_second_run_never_overwrites_the_first(tmp_path: Path) -> None:
    for _ in range(2):
        code, _, stderr = run("solve", "weston_option_a", "--out", str(tmp_path), "--quiet", "--time-limit", "20")
        assert code == 0, stderr
    folders = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 2
    assert all((f / "summary.json").exists() for f in folders)


@pytest.mark.slow
def test_failed_run_leaves_earlier_runs_intact(tmp_path: Path) -> None:
    code, _, _ = run("solve", "weston_option_a", "--out", str(tmp_path), "--quiet", "--time-limit", "20")
    assert code == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {LIBRARY / 'weston_option_a.yaml'}\ntravel: {{mode: teleport}}\n")
    code, _, err = run("solve", str(bad), "--out", str(tmp_path))
    assert code == 2 and "travel.mode" in err
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p != bad}
    assert {p: t for p, t in before.items() if p != bad} == after


@pytest.mark.slow
def test_infeasible_scenario_exits_3_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "tiny_budget.yaml"
    path.write_text(f"extends: {LIBRARY / 'weston_option_a.yaml'}\nname: tiny_budget\nbudget: {{annual: 100000}}\n")
    code, out, _ = run("solve", str(path), "--out", str(tmp_path), "--json")
    assert code == 3
    summary = json.loads(out)
    assert summary["status"] == "infeasible"
    assert "short by £440,000" in summary["message"]  # exactly 3 hubs x £180,000 = £540,000
    assert "the 3 hubs that hubs.exact_hubs = 3 asks for" in summary["message"]  # the lever, not the core offer
    folder = Path(summary["run_folder"])
    assert (folder / "report.html").exists() and (folder / "violations.csv").exists()


@pytest.mark.slow
def test_compare_writes_side_by_side_kpis_and_difference(tmp_path: Path) -> None:
    code, out, err = run("compare", "weston_option_a", "weston_option_b", "--out", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    folder = Path(result["run_folder"])
    table = pd.read_csv(folder / "comparison.csv", index_col=0)
    assert {"weston_option_a", "weston_option_b"} <= set(table.columns)
    assert (folder / "difference_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hubs = [p["kpis"]["hubs_open"] for p in result["plans"]]
    assert hubs == [3, 2]
    assert (folder / "weston_option_a" / "summary.json").exists()
    assert "<h2>Data</h2>" in (folder / "weston_option_a" / "report.html").read_text()  # as a solve's report
    page = re.sub(r"<img [^>]*>", "", (folder / "comparison.html").read_text())  # the text, not base64 images
    assert "NaN" not in page and "None" not in page
    assert all(len(str(v)) < 16 for v in table.iloc[:, -1].dropna())  # no 0.43000000000000005
    # a difference of two shares is in percentage points, not a per cent that reads as a relative change
    a, b = (p["kpis"]["unmet_share"] for p in result["plans"])
    sign = "+" if b > a else "−"
    assert f"{sign}{100 * abs(b - a):.1f} pp" in page and "in percentage points (pp)" in page
    # the MDT total is summed before rounding (the sum of rounded specialties drifted by 0.01 each)
    for plan in result["plans"]:
        zones = pd.read_csv(folder / plan["scenario"] / "zones.csv")
        unmet = zones[[c for c in zones.columns if c.startswith("unmet_mdt_")]].to_numpy().sum()
        assert plan["kpis"]["mdt_unmet_per_week"] == pytest.approx(unmet, abs=0.005)
    # the terminal table shows the differences too
    code, text, err = run("compare", "weston_option_a", "weston_option_b", "--out", str(tmp_path))
    assert code == 0, err
    assert "weston_option_b - weston_option_a" in text and f"{sign}{100 * abs(b - a):.1f} pp" in text


@pytest.mark.slow
def test_frontier_is_monotone_in_cost_and_access(tmp_path: Path) -> None:
    code, out, err = run(
        "frontier",
        "weston_option_b",
        "--budget",
        "400000",
        "--budget",
        "700000",
        "--budget",
        "1000000",
        "--out",
        str(tmp_path),
        "--json",
        "--time-limit",
        "20",
    )
    assert code == 0, err
    points = json.loads(out)["points"]
    assert [p["budget"] for p in points] == [400000, 700000, 1000000]
    solved = [p for p in points if p["status"] in ("optimal", "time_limit")]
    assert len(solved) == 3
    assert all(p["total_cost"] <= p["budget"] + 1e-6 for p in solved)
    objectives = [p["objective"] for p in solved]
    assert objectives[0] >= objectives[1] >= objectives[2]  # better plans found at lower budgets carry up
    folder = Path(json.loads(out)["run_folder"])
    assert (folder / "frontier.csv").exists() and (folder / "frontier.png").exists()


@pytest.mark.slow
def test_frontier_prints_a_column_per_budget_with_report_labels(tmp_path: Path) -> None:
    code, out, err = run("frontier", "weston_option_b", "--steps", "2", "--out", str(tmp_path), "--time-limit", "20")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if "budget" in line and "no limit" in line)
    assert "£" in header  # the budgeted point is labelled in pounds, the unconstrained one "no limit"
    # Each indicator reads on one line, labelled as in the report, even where the output is not a terminal.
    for label in ("Annual cost", "Evening-access gap (share)", "Pop-up sessions a week"):
        assert any(line.strip("│┃ ").startswith(label) for line in lines), label
    assert "results:" in out
    folder = next(p for p in tmp_path.iterdir() if (p / "frontier.html").exists())
    page = re.sub(r"<img [^>]*>", "", (folder / "frontier.html").read_text())
    assert "no limit" in page and "Evening-access gap (share)" in page  # the printed table, not the raw frame
    assert "hubs_open" not in page and "nan" not in page.lower()
    curve = pd.read_csv(folder / "frontier.csv")
    assert curve["hubs_open"].dtype.kind == "i"  # whole hubs, not 2.0


def test_an_output_folder_that_cannot_be_made_is_refused_before_the_solve(tmp_path: Path) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    for out in (a_file, a_file / "runs"):
        code, out_text, err = run("solve", "weston_option_a", "--out", str(out), "--quiet")
        assert code == 2
        assert "--out cannot be made: " in err and "results.txt is a file, not a folder" in err
        assert "Traceback" not in out_text + err
    assert a_file.read_text(encoding="utf-8") == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]
    # an earlier run is never changed: a new run is not put inside it
    earlier = tmp_path / "weston-20261206-101010"
    earlier.mkdir()
    (earlier / "summary.json").write_text("{}", encoding="utf-8")
    for out in (earlier, earlier / "again"):
        code, _, err = run("solve", "weston_option_a", "--out", str(out), "--quiet")
        said = " ".join(err.split())
        assert code == 2 and f"--out is inside the earlier run {earlier}, which is never changed" in said
    assert [p.name for p in earlier.iterdir()] == ["summary.json"]


def test_frontier_rejects_an_infinite_budget(tmp_path: Path) -> None:
    code, _, err = run("frontier", "weston_option_a", "--budget", "inf", "--out", str(tmp_path), "--quiet")
    assert code == 2
    assert "field '--budget' (value inf) must be a finite amount" in err


@pytest.mark.slow
def test_frontier_and_compare_say_why_a_budget_has_no_plan(tmp_path: Path) -> None:
    # weston_option_a asks for exactly 3 hubs (£540,000): £1,000 cannot pay for them
    code, out, err = run("frontier", "weston_option_a", "--budget", "1000", "--out", str(tmp_path), "--json")
    assert code == 3
    point = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))["points"][0]
    assert point["objective"] is None and point["total_cost"] is None  # null, not NaN
    assert "budget £1,000: infeasible: budget £1,000 a year is below £540,000" in err
    assert "short by £539,000" in err
    curve = pd.read_csv(next(tmp_path.glob("*/frontier.csv")))
    assert "short by £539,000" in curve.loc[0, "message"]
    poor = tmp_path / "poor.yaml"
    poor.write_text(f"extends: {LIBRARY / 'weston_option_a.yaml'}\nbudget: {{annual: 1000}}\n")
    code, _, err = run("compare", "weston_option_b", str(poor), "--out", str(tmp_path), "--quiet")
    assert code == 3
    assert "poor: infeasible: " in err and "short by £539,000" in err


def test_a_zone_out_of_reach_is_told_its_nearest_hub_candidate_not_any_site(tmp_path: Path) -> None:
    # one Weston zone has schools within 15 minutes by bus but no site that could be a hub within 45
    path = tmp_path / "reach.yaml"
    path.write_text(
        f"extends: {LIBRARY / 'weston_option_a.yaml'}\n"
        "requirements: {full_coverage: true}\nbudget: {annual: null}\n"
    )
    code, out, _ = run("validate", str(path), "--json")
    assert code == 3
    problem = next(p for p in json.loads(out)["problems"] if p["requirement"] == "coverage_day")
    nearest = float(problem["message"].split("nearest such site ")[1].split(" minutes")[0])
    assert nearest > 45  # the hub candidate it would need is beyond the 45-minute limit
