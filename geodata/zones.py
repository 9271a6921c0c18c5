"""Zones: the 581 BNSSG LSOAs (2021) with geography, population, deprivation, care and health."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.errors import DataValidationError
from geodata.sources import BNSSG_LADS, numeric, read_layer, read_table, source_path

AGE_20_64 = [f"Age: Aged {a} to {a + 4} years" for a in range(20, 65, 5)]
"""The Census TS007A five-year bands that make up ages 20-64."""

ZONE_COLUMNS = [
    "zone_name", "lad_code", "lad_name", "ward_code", "ward_name", "ruc_code", "ruc_class", "locality", "lon", "lat",
    "area_km2", "pop_total", "pop_20_64", "imd_score", "imd_rank", "imd_decile", "imd_quintile",
    "imd_employment_score", "carers", "carers_share", "bad_health_share", "disability_share",
]  # fmt: skip


def _by_code(frame: pd.DataFrame, code_col: str, codes: pd.Index, path: Path) -> pd.DataFrame:
    frame = frame.set_index(code_col)
    missing = codes.difference(frame.index)
    if len(missing):
        raise DataValidationError(
            f"{path}: field {code_col!r}: no row for zone {missing[0]!r} ({len(missing)} missing)"
        )
    return frame.loc[codes]


def build_zones(source_dir: Path) -> gpd.GeoDataFrame:
    """Build the zone table (without localities; see :func:`geodata.localities.assign_localities`).

    Parameters
    ----------
    source_dir
        Folder of raw inputs (see :mod:`geodata.sources`).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``zone_code`` (LSOA 2021 code), EPSG:4326, the columns of :data:`ZONE_COLUMNS` except
        ``locality`` (filled with ``None``), and polygon geometry.
    """
    poly = read_layer(source_dir, "lsoa21")
    poly = poly.loc[poly["ltla24_code"].isin(BNSSG_LADS)] if "ltla24_code" in poly else poly
    poly = poly.set_index("lsoa21_code").sort_index()
    codes = poly.index
    if codes.has_duplicates:
        raise DataValidationError(
            f"{source_path(source_dir, 'lsoa21')}: duplicate zone code {codes[codes.duplicated()][0]!r}"
        )
    z = gpd.GeoDataFrame(index=codes, geometry=poly.geometry.values, crs=4326)
    z.index.name = "zone_code"
    z["zone_name"] = poly["lsoa21_name"]
    # Point on surface (always inside the polygon): the ONS population-weighted centroids are not in the data.
    z["lon"] = poly["inside_lon"].astype(float)
    z["lat"] = poly["inside_lat"].astype(float)
    z["area_km2"] = poly["area_km2"].astype(float)

    lk_path = source_path(source_dir, "lookup21")
    lk = _by_code(read_table(source_dir, "lookup21"), "lsoa21_code", codes, lk_path)
    z["lad_code"] = lk["ltla24_code"]
    z["lad_name"] = lk["ltla24_name"]
    z["ward_code"] = lk["ward24_code"]
    z["ward_name"] = lk["ward24_name"]
    z["ruc_code"] = lk["ruc21_code"]
    z["ruc_class"] = np.where(lk["ruc"].astype(str).str.lower().str.startswith("urban"), "urban", "rural")

    age_path = source_path(source_dir, "age")
    age = _by_code(read_table(source_dir, "age"), "geography code", codes, age_path)
    missing = [c for c in AGE_20_64 if c not in age.columns]
    if missing:
        raise DataValidationError(f"{age_path}: missing column {missing[0]!r}")
    z["pop_total"] = numeric(age.reset_index(), "Age: Total", age_path).to_numpy()
    z["pop_20_64"] = sum(numeric(age.reset_index(), c, age_path).to_numpy() for c in AGE_20_64)

    imd_path = source_path(source_dir, "imd25")
    imd = _by_code(read_table(source_dir, "imd25"), "lsoa21_code", codes, imd_path)
    z["imd_score"] = imd["IMD_score"].astype(float)
    z["imd_rank"] = imd["IMD_rank"].astype(int)
    z["imd_decile"] = imd["IMD_decile"].astype(int)
    z["imd_quintile"] = (z["imd_decile"] + 1) // 2
    z["imd_employment_score"] = imd["Employment_score"].astype(float)
    bad = z.index[~z["imd_decile"].between(1, 10)]
    if len(bad):
        raise DataValidationError(f"{imd_path}: field 'IMD_decile': value {z.at[bad[0], 'imd_decile']!r} for {bad[0]}")

    c_path = source_path(source_dir, "carers")
    care = _by_code(read_table(source_dir, "carers"), "geography code", codes, c_path).reset_index()
    total5 = numeric(care, "Provision of unpaid care: Total: All usual residents aged 5 and over", c_path).to_numpy()
    none = numeric(care, "Provision of unpaid care: Provides no unpaid care", c_path).to_numpy()
    z["carers"] = total5 - none
    z["carers_share"] = z["carers"] / np.maximum(total5, 1)

    h_path = source_path(source_dir, "health")
    health = _by_code(read_table(source_dir, "health"), "geography code", codes, h_path).reset_index()
    all_h = numeric(health, "General health: Total: All usual residents", h_path).to_numpy()
    bad_h = (
        numeric(health, "General health: Bad health", h_path).to_numpy()
        + numeric(health, "General health: Very bad health", h_path).to_numpy()
    )
    z["bad_health_share"] = bad_h / np.maximum(all_h, 1)

    d_path = source_path(source_dir, "disability")
    dis = _by_code(read_table(source_dir, "disability"), "geography code", codes, d_path).reset_index()
    all_d = numeric(dis, "Disability: Total: All usual residents", d_path).to_numpy()
    z["disability_share"] = numeric(dis, "Disability: Disabled under the Equality Act", d_path).to_numpy() / np.maximum(
        all_d, 1
    )
    z["locality"] = None
    for col in ("pop_total", "pop_20_64", "carers"):
        z[col] = z[col].astype(np.int64)
    return gpd.GeoDataFrame(z[[*ZONE_COLUMNS, "geometry"]], geometry="geometry", crs=4326)
