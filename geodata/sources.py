"""The raw open-data files the planning dataset is built from: names, publishers, official sources, readers.

Raw files are never copied into the project. ``planner data build --source DIR`` reads them from ``DIR``
(by default ``../shared/data`` beside the checkout, or ``$BNSSG_SOURCE_DIR``). A user with internet can fetch
the same tables from the official publishers listed in :data:`SOURCES` into a folder with the same layout.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.errors import DataBuildError, DataValidationError, where


@dataclass(frozen=True)
class Source:
    """One raw input.

    Attributes
    ----------
    path
        Path relative to the source folder.
    publisher
        Who publishes the data.
    licence
        The data's licence.
    official
        Where to get it from the publisher (for a rebuild with internet access).
    columns
        Columns the build needs (checked on read, so a wrong file fails with the file and column named).
    """

    path: str
    publisher: str
    licence: str
    official: str
    columns: tuple[str, ...]


SOURCES: dict[str, Source] = {
    "lsoa21": Source(
        "boundaries/lsoa21_bnssg_bsc.geojson",
        "ONS Open Geography Portal: LSOA (Dec 2021) Boundaries EW BSC V4",
        "OGL v3",
        "https://geoportal.statistics.gov.uk/ (search 'LSOA December 2021 Boundaries EW BSC')",
        ("lsoa21_code", "lsoa21_name", "inside_lon", "inside_lat", "area_km2"),
    ),
    "lookup21": Source(
        "boundaries/lookup_lsoa21_ward24_lad24_sicbl24_ruc21_bnssg.csv",
        "ONS: LSOA21 to ward 2024 to LAD 2024 lookup; LSOA21 to SICBL/ICB (Apr 2024); RUC 2021",
        "OGL v3",
        "https://geoportal.statistics.gov.uk/ (LSOA 2021 to Electoral Ward 2024 to LAD 2024 best-fit lookup; RUC 2021)",
        ("lsoa21_code", "ward24_code", "ward24_name", "ltla24_code", "ltla24_name", "ruc21_code", "ruc"),
    ),
    "age": Source(
        "population/census2021_ts007a_age_5yr_bands_lsoa21_bnssg.csv",
        "ONS Census 2021 TS007A (age by five-year bands), via Nomis",
        "OGL v3",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk (TS007A)",
        ("geography code", "Age: Total"),
    ),
    "imd25": Source(
        "deprivation/iod2025_imd_domains_scores_ranks_deciles_lsoa21_bnssg.csv",
        "MHCLG English Indices of Deprivation 2025",
        "OGL v3",
        "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        ("lsoa21_code", "IMD_score", "IMD_rank", "IMD_decile", "Employment_score"),
    ),
    "carers": Source(
        "census/census2021_ts039_unpaid_care_lsoa21_bnssg.csv",
        "ONS Census 2021 TS039 (provision of unpaid care)",
        "OGL v3",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk (TS039)",
        (
            "geography code",
            "Provision of unpaid care: Total: All usual residents aged 5 and over",
            "Provision of unpaid care: Provides no unpaid care",
        ),
    ),
    "health": Source(
        "census/census2021_ts037_general_health_lsoa21_bnssg.csv",
        "ONS Census 2021 TS037 (general health)",
        "OGL v3",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk (TS037)",
        (
            "geography code",
            "General health: Total: All usual residents",
            "General health: Bad health",
            "General health: Very bad health",
        ),
    ),
    "disability": Source(
        "census/census2021_ts038_disability_lsoa21_bnssg.csv",
        "ONS Census 2021 TS038 (disability)",
        "OGL v3",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk (TS038)",
        (
            "geography code",
            "Disability: Total: All usual residents",
            "Disability: Disabled under the Equality Act",
        ),
    ),
    "gp": Source(
        "sites/gp_practices_bnssg_pcn_2022-01_2026-04.csv",
        "NHS England (NHS Digital): Patients Registered at a GP Practice, practice-PCN mapping; OS Code-Point Open",
        "OGL v3",
        "https://digital.nhs.uk/data-and-information/publications/statistical/patients-registered-at-a-gp-practice",
        (
            "practice_code",
            "practice_name",
            "lon",
            "lat",
            "listed_2026_04",
            "pcn_code_2026_04",
            "pcn_name_2026_04",
            "pcn_code_2022_01",
            "pcn_name_2022_01",
        ),
    ),
    "pharmacy": Source(
        "sites/pharmacies_edispensary_bnssg_active_2025-04.csv",
        "NHS England Organisation Data Service (edispensary); OS Code-Point Open",
        "OGL v3",
        "https://digital.nhs.uk/services/organisation-data-service/export-data-files/csv-downloads/gp-and-gp-practice-related-data",
        ("org_code", "name", "lon", "lat"),
    ),
    "library": Source(
        "sites/libraries_ace_basic_dataset_2022-12_bnssg.csv",
        "Arts Council England public libraries basic dataset (Libraries Hacked); OS Code-Point Open",
        "open data, attribution to Arts Council England / Libraries Hacked",
        "https://www.artscouncil.org.uk/ (Public libraries basic dataset)",
        ("Library name", "Postcode", "lon", "lat"),
    ),
    "school": Source(
        "sites/gias_open_schools_bnssg_2025-05.csv",
        "Department for Education: Get Information About Schools",
        "OGL v3",
        "https://get-information-schools.service.gov.uk/Downloads",
        ("urn", "establishment_name", "longitude", "latitude", "inside_bnssg_lsoa21_polygons"),
    ),
    "hospital": Source(
        "sites/hospitals22_bnssg.csv",
        "NHS website trust listings (2022), geocoded with OpenStreetMap Nominatim",
        "OGL v3 (names); ODbL (coordinates, © OpenStreetMap contributors)",
        "https://www.nhs.uk/servicedirectories/ ; https://www.openstreetmap.org/",
        ("hospital22_name", "lon", "lat"),
    ),
    "lad": Source(
        "boundaries/lad24_bnssg.geojson",
        "ONS: Local Authority Districts (May 2024) boundaries",
        "OGL v3",
        "https://geoportal.statistics.gov.uk/",
        ("ltla24_code", "ltla24_name"),
    ),
}
"""Every raw input of the build, keyed by a short name."""

BNSSG_LADS = ("E06000023", "E06000024", "E06000025")
"""Bristol, North Somerset and South Gloucestershire."""


def default_source_dir() -> Path:
    """``$BNSSG_SOURCE_DIR`` if set, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("BNSSG_SOURCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def source_path(source_dir: Path, key: str) -> Path:
    """The path of one raw input; a missing file is a :class:`DataBuildError` naming it."""
    path = Path(source_dir) / SOURCES[key].path
    if not path.is_file():
        raise DataBuildError(
            f"{path}: raw input '{key}' not found (from {SOURCES[key].publisher}; {SOURCES[key].official})"
        )
    return path


def _check_columns(frame: pd.DataFrame, path: Path, key: str) -> None:
    missing = [c for c in SOURCES[key].columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column {missing[0]!r} (raw input '{key}')")


def read_csv_file(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` of a raw or user file, an unreadable one a :class:`DataValidationError` naming it.

    Raises
    ------
    DataValidationError
        For an empty file, a malformed row (e.g. an unclosed quote) or bytes that are not UTF-8.
    """
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"{path}: not a readable UTF-8 CSV ({type(exc).__name__}: {exc})") from None


def read_table(source_dir: Path, key: str) -> pd.DataFrame:
    """Read a raw CSV input and check its columns."""
    path = source_path(source_dir, key)
    frame = read_csv_file(path, low_memory=False)
    _check_columns(frame, path, key)
    _check_coordinates(frame, path)
    return frame


COORDINATE_COLUMNS = ("lon", "lat", "longitude", "latitude", "inside_lon", "inside_lat")
"""Raw columns that hold WGS84 degrees (checked as numbers before anything is projected)."""


def _check_coordinates(frame: pd.DataFrame, path: Path) -> None:
    for col in (c for c in COORDINATE_COLUMNS if c in frame.columns):
        numbers = pd.to_numeric(frame[col], errors="coerce")
        bad = numbers.isna() & frame[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            value = frame[col].iloc[i]
            raise DataValidationError(f"{where(path, row=i + 2, field=col, value=value)}: not a number")
        frame[col] = numbers


def read_layer(source_dir: Path, key: str) -> gpd.GeoDataFrame:
    """Read a raw GeoJSON input (reprojected to EPSG:4326) and check its columns."""
    path = source_path(source_dir, key)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise DataValidationError(f"{path}: not a readable GeoJSON ({exc})") from None
    _check_columns(frame, path, key)
    if frame.crs is None:
        raise DataValidationError(f"{path}: no coordinate reference system declared")
    return frame.to_crs(4326)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file (recorded in the manifest so a rebuild can be traced to its inputs)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def numeric(frame: pd.DataFrame, column: str, path: Path | str) -> pd.Series:
    """A column as numbers; the first unparseable value is reported with its row and column."""
    values = pd.to_numeric(frame[column].astype(str).str.replace(",", "", regex=False), errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            f"{path}, row {row + 2}, field {column!r}: value {frame[column].iloc[row]!r} is not a number"
        )
    return values
