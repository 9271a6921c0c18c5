"""The planning dataset as one typed object, loaded from a built folder (the embedded BNSSG default by default)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geodata.errors import DataValidationError

DEFAULT_DATASET_DIR = Path(__file__).resolve().parent / "bnssg"
"""The embedded BNSSG dataset, built by ``planner data build`` and committed."""

ZONES_FILE, SITES_FILE, TRAVEL_FILE, MANIFEST_FILE = "zones.parquet", "sites.parquet", "travel.parquet", "manifest.json"
REQUIRED = {
    ZONES_FILE: ("zone_name", "lad_code", "locality", "lon", "lat", "pop_20_64", "imd_decile", "imd_quintile"),
    SITES_FILE: ("name", "kind", "lon", "lat", "zone_code", "locality", "can_hub", "can_popup", "can_mdt"),
    TRAVEL_FILE: ("zone_code", "site_id", "car_day", "car_evening", "pt_day", "pt_evening", "walk_day", "walk_evening"),
}


@dataclass(frozen=True)
class Dataset:
    """Zones, candidate sites and travel times.

    Attributes
    ----------
    zones
        Index ``zone_code``; see geodata/README.md for every column. EPSG:4326 polygons.
    sites
        Index ``site_id``; EPSG:4326 points.
    travel
        Zone x site minutes by mode and band (wide: ``car_day`` ... ``walk_evening``).
    manifest
        Counts, totals, inputs' hashes, calibration.
    path
        Folder it was loaded from (``None`` for an in-memory dataset).
    """

    zones: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    travel: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def with_user_sites(self, extra: gpd.GeoDataFrame) -> Dataset:
        """A new dataset with extra candidate sites and their travel times (computed offline from this dataset).

        Parameters
        ----------
        extra
            Sites from :func:`geodata.sites.read_user_sites`.

        Returns
        -------
        Dataset
            This dataset plus the extra sites.

        Raises
        ------
        DataValidationError
            If a site id is already used; on a dataset built with a road network, if a site is more than 2 km from
            its roads or the dataset's ``road_network/`` folder is missing.
        """
        from geodata.travel import ROAD_DIR, compute_travel_times

        clash = extra.index.intersection(self.sites.index)
        if len(clash):
            raise DataValidationError(f"site id {clash[0]!r} is already in the dataset")
        model_dir = self.path if self.path is not None else DEFAULT_DATASET_DIR
        network = self.manifest.get("inputs", {}).get("user_network")  # recorded by the build's --network
        if network is not None and not (model_dir / ROAD_DIR).is_dir():
            # Without its roads the added sites would get distance-model car times beside the dataset's road times.
            roads = network.get("file", network.get("place", ""))
            raise DataValidationError(
                f"{model_dir}: the dataset was built with a road network ({roads}) "
                f"but its {ROAD_DIR}/ folder is missing, so sites cannot be added with comparable car times; copy "
                "the whole dataset folder or rebuild it with --network"
            )
        result = compute_travel_times(self.zones, extra, source_dir=None, model_dir=model_dir)
        sites = gpd.GeoDataFrame(pd.concat([self.sites, extra[self.sites.columns]]), crs=self.sites.crs)
        travel = pd.concat([self.travel, result.times], ignore_index=True)
        known = list(self.manifest.get("user_site_ids", []))
        manifest = {**self.manifest, "user_sites": len(known) + len(extra),
                    "user_site_ids": [*known, *map(str, extra.index)]}  # fmt: skip
        return Dataset(zones=self.zones, sites=sites, travel=travel, manifest=manifest, path=self.path)

    def with_sites_file(self, path: Path) -> Dataset:
        """This dataset plus the sites of a user's file (:func:`geodata.sites.read_user_sites`), every error naming
        the file.

        Raises
        ------
        DataValidationError
            A bad row (file, row, field, value), an id already used, or a site the dataset's roads do not reach.
        """
        from geodata.sites import read_user_sites

        extra = read_user_sites(Path(path), self.zones, existing=self.sites.index)
        try:
            return self.with_user_sites(extra)
        except DataValidationError as exc:
            raise DataValidationError(f"{path}: {exc}", problems=[f"{path}: {p}" for p in exc.problems]) from None


def _check(frame: pd.DataFrame, path: Path, name: str) -> None:
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column {missing[0]!r}")
    if name != TRAVEL_FILE and frame.index.has_duplicates:
        raise DataValidationError(f"{path}: duplicate id {frame.index[frame.index.duplicated()][0]!r}")
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None or frame.crs.to_epsg() != 4326:
            raise DataValidationError(f"{path}: expected CRS EPSG:4326, got {frame.crs}")
        if frame.geometry.isna().any() or not frame.geometry.is_valid.all():
            raise DataValidationError(f"{path}: missing or invalid geometry")


def read_dataset(path: Path) -> Dataset:
    """Load and validate a dataset folder (no caching)."""
    path = Path(path)
    if not (path / MANIFEST_FILE).is_file():
        raise DataValidationError(f"{path}: not a planning dataset (no {MANIFEST_FILE}); run 'planner data build'")
    try:
        zones = gpd.read_parquet(path / ZONES_FILE)
        sites = gpd.read_parquet(path / SITES_FILE)
        travel = pd.read_parquet(path / TRAVEL_FILE)
    except (OSError, ValueError) as exc:
        raise DataValidationError(f"{path}: unreadable dataset file ({exc})") from None
    _check(zones, path / ZONES_FILE, ZONES_FILE)
    _check(sites, path / SITES_FILE, SITES_FILE)
    _check(travel, path / TRAVEL_FILE, TRAVEL_FILE)
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError covers bad JSON and bad UTF-8
        raise DataValidationError(f"{path / MANIFEST_FILE}: unreadable dataset manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise DataValidationError(f"{path / MANIFEST_FILE}: the dataset manifest must be a JSON object")
    return Dataset(zones=zones, sites=sites, travel=travel, manifest=manifest, path=path)


@functools.lru_cache(maxsize=4)
def _cached(path: Path) -> Dataset:
    return read_dataset(path)


def load_dataset(path: Path | str | None = None) -> Dataset:
    """Load a planning dataset (cached per folder).

    Parameters
    ----------
    path
        A dataset folder; ``None`` for the embedded BNSSG default.

    Returns
    -------
    Dataset
        The dataset.

    Raises
    ------
    DataValidationError
        If the folder is not a dataset or a table is malformed (naming the file).
    """
    return _cached(Path(path).resolve() if path is not None else DEFAULT_DATASET_DIR)
