"""Write a plan's results to a new run folder, atomically.

Every run gets a fresh folder (``<root>/<scenario>-<timestamp>[-n]``); nothing earlier is overwritten. The
folder is first written under a hidden temporary name beside it and renamed into place only when every
file is complete, so a failure leaves no half-written run and changes nothing already saved.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from planner.errors import OutputError
from planner.kpis import kpi_table
from planner.plan import Plan
from planner.scenario import Scenario


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON with stable key order and numpy values converted."""
    path.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n", encoding="utf-8")


def clean_for_json(obj: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(obj, dict):
        return {k: clean_for_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_for_json(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def atomic_directory(final: Path, fill: Callable[[Path], None]) -> Path:
    """Create ``final`` by filling a temporary sibling folder and renaming it into place.

    Parameters
    ----------
    final
        The folder to create; it must not exist.
    fill
        Called with the temporary folder; writes every file.

    Returns
    -------
    Path
        ``final``.

    Raises
    ------
    OutputError
        If ``final`` exists or writing fails (the temporary folder is removed; nothing else changes).
    """
    final = Path(final)
    if final.exists():
        raise OutputError(f"{final}: output folder already exists; refusing to overwrite an earlier run")
    check_output_root(final.parent)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise OutputError(f"{final.parent}: cannot write the output folder here ({exc.strerror})") from None
    try:
        fill(tmp)
        os.rename(tmp, final)
    except OutputError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{final}: could not write results ({type(exc).__name__}: {exc}); nothing was saved") from exc
    return final


RUN_MARKERS = ("summary.json", "comparison.json", "frontier.json")
"""Files that make a folder a run (a plan, a comparison, a frontier)."""


def check_output_root(root: Path) -> None:
    """Check that run folders can be written under ``root`` (before a solve, so that its minutes are not lost).

    Raises
    ------
    OutputError
        If ``root``, or the nearest folder above it that exists, is a file or cannot be written to.
    """
    root = Path(root)
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{root}: output folder --out cannot be made: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{root}: output folder --out cannot be written: no permission to write in {existing}")
    # A run, or a comparison or frontier, is never changed once written: a new run is not put inside one.
    runs = (p for p in (existing, *existing.parents) if any((p / m).is_file() for m in RUN_MARKERS))
    inside = next(runs, None)
    if inside is not None:
        raise OutputError(
            f"{root}: --out is inside the earlier run {inside}, which is never changed; choose the folder that holds "
            f"runs ({inside.parent}) or another"
        )


def new_run_path(root: Path, name: str, *, now: datetime | None = None) -> Path:
    """A run folder path under ``root`` that does not exist yet (``<name>-<UTC timestamp>[-n]``)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    base = root / f"{_slug(name)}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def zones_layer(plan: Plan, zones_geo: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zone polygons joined with the plan's per-zone indicators."""
    geo = zones_geo[["geometry"]].join(plan.zones, how="inner")
    return gpd.GeoDataFrame(geo, geometry="geometry", crs=zones_geo.crs)


CANDIDATE_COLUMNS = {"is_hub": "hub_candidate", "is_popup": "popup_candidate", "is_mdt": "mdt_candidate"}
"""What the plan's ``is_*`` columns are called in every file written (CSV, GeoPackage, GeoJSON): the site *could*
be used so (``hub_open`` etc. say what is)."""


def sites_layer(plan: Plan) -> gpd.GeoDataFrame:
    """Candidate sites as points with their decisions."""
    s = plan.sites.rename(columns=CANDIDATE_COLUMNS)
    return gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs="EPSG:4326")


def allocation_lines(plan: Plan, zones_geo: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Allocation as lines from each zone's representative point to the site that serves it."""
    a = plan.allocation
    if a.empty:
        return gpd.GeoDataFrame(a.assign(geometry=[]), geometry="geometry", crs="EPSG:4326")
    zx = zones_geo["lon"].reindex(a["zone_code"]).to_numpy()
    zy = zones_geo["lat"].reindex(a["zone_code"]).to_numpy()
    sx = plan.sites["lon"].reindex(a["site_id"]).to_numpy()
    sy = plan.sites["lat"].reindex(a["site_id"]).to_numpy()
    lines = [LineString([(x0, y0), (x1, y1)]) for x0, y0, x1, y1 in zip(zx, zy, sx, sy, strict=True)]
    return gpd.GeoDataFrame(a.copy(), geometry=lines, crs="EPSG:4326")


def write_plan_files(
    folder: Path,
    plan: Plan,
    scenario: Scenario,
    zones_geo: gpd.GeoDataFrame,
    *,
    report_html: str | None,
    manifest: dict[str, Any] | None = None,
) -> None:
    """Write every file of a run into ``folder`` (which exists and is empty); with the dataset's ``manifest``, the
    summary says which dataset and travel times the plan used and the manifest is kept beside it."""
    summary = clean_for_json(plan.summary())
    manifest = plan.dataset_manifest or manifest
    if manifest:
        from planner.report import dataset_brief

        summary["dataset"] = clean_for_json(dataset_brief(manifest))
        write_json(folder / "dataset_manifest.json", clean_for_json(manifest))
    write_json(folder / "summary.json", summary)
    (folder / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    if plan.violations:
        pd.DataFrame(list(plan.violations)).to_csv(folder / "violations.csv", index=False)
    if plan.has_solution:
        zl = zones_layer(plan, zones_geo)
        sl = sites_layer(plan)
        al = allocation_lines(plan, zones_geo)
        zl.to_file(folder / "plan.gpkg", layer="zones", driver="GPKG")
        sl.to_file(folder / "plan.gpkg", layer="sites", driver="GPKG")
        al.to_file(folder / "plan.gpkg", layer="allocation", driver="GPKG")
        zl.to_file(folder / "zones.geojson", driver="GeoJSON")
        sl.to_file(folder / "sites.geojson", driver="GeoJSON")
        al.to_file(folder / "allocation_lines.geojson", driver="GeoJSON")
        plan.zones.to_csv(folder / "zones.csv")
        plan.sites.rename(columns=CANDIDATE_COLUMNS).to_csv(folder / "sites.csv")
        plan.allocation.to_csv(folder / "allocation.csv", index=False)
        for split in ("by_imd_quintile", "by_imd_decile", "by_locality"):
            kpi_table(plan.kpis, split).to_csv(folder / f"kpis_{split}.csv", index=False)
        pd.Series(plan.costs, name="gbp_per_year").rename_axis("component").to_csv(folder / "costs.csv")
    if report_html is not None:
        (folder / "report.html").write_text(report_html, encoding="utf-8")


def write_run(
    plan: Plan,
    scenario: Scenario,
    zones_geo: gpd.GeoDataFrame,
    root: Path,
    *,
    manifest: dict[str, Any] | None = None,
    folder: Path | None = None,
) -> Path:
    """Write a plan to a new run folder.

    Parameters
    ----------
    plan
        The plan (any status: an infeasible plan still gets its summary, scenario and report).
    scenario
        The scenario that produced it (written back as the assumptions used).
    zones_geo
        Zone polygons and representative points (the dataset's zones).
    root
        Folder under which the run folder is created.
    manifest
        The dataset manifest, where the plan carries none (:func:`planner.api.solve_scenario` sets it, with the
        scenario's added sites): the run's ``summary.json`` ``dataset`` entry, ``dataset_manifest.json`` and the
        report's data section.
    folder
        Exact folder to create instead of a timestamped one (must not exist).

    Returns
    -------
    Path
        The run folder: ``summary.json``, ``scenario.yaml``, ``dataset_manifest.json``, ``plan.gpkg`` (layers zones,
        sites, allocation),
        ``zones.geojson``, ``sites.geojson``, ``allocation_lines.geojson``, CSV tables and ``report.html``.
    """
    from planner.report import render_report  # matplotlib: imported only when a run is written

    target = folder if folder is not None else new_run_path(Path(root), scenario.name)
    html = render_report(plan, scenario, zones_geo, dataset_manifest=plan.dataset_manifest or manifest)
    return atomic_directory(
        target, lambda tmp: write_plan_files(tmp, plan, scenario, zones_geo, report_html=html, manifest=manifest)
    )
