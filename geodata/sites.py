"""Candidate sites: GP practices, pharmacies, libraries, schools and hospitals, plus a user's own file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geodata.errors import DataValidationError, where
from geodata.localities import practice_localities
from geodata.sources import read_csv_file, read_table, source_path

KINDS = ("gp", "pharmacy", "library", "school", "hospital", "user")
SITE_COLUMNS = [
    "name", "kind", "lon", "lat", "zone_code", "locality", "lad_code", "pcn_code", "pcn_name",
    "can_hub", "can_popup", "can_mdt", "source",
]  # fmt: skip

EXCLUDED_HOSPITALS: dict[str, str] = {
    "Frenchay Hospital": "closed (services moved to Southmead in 2014)",
    "Nightingale Hospital Bristol": "temporary COVID-19 facility, closed",
    "Bristol Spire Hospital": "private",
    "Spire Bristol Hospital": "private",
    "Nuffield Health Bristol Hospital": "private",
    "Uh Bristol Private Hospitals (Nhs Provided Beds)": "private wing, same site as the BRI",
    "Bristol Eye Hospital": "specialist, on the BRI campus",
    "University Of Bristol Dental Hospital": "specialist, on the BRI campus",
    "Bristol Royal Hospital For Children": "specialist children's hospital",
}
"""Hospitals in the raw list that are not candidate venues, with the reason."""


class SiteServices(BaseModel):
    """Which services each kind of site may host by default (a scenario can narrow it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    hub: tuple[str, ...] = Field(("gp", "hospital", "library", "user"))
    """Kinds that may become a community hub (clinical rooms or community space for a core offer)."""
    popup: tuple[str, ...] = Field(("gp", "pharmacy", "library", "school", "user"))
    """Kinds that may host evening or Saturday pop-up sessions (a room, a hall, a consulting room)."""
    mdt: tuple[str, ...] = Field(("gp", "hospital", "user"))
    """Kinds that may host specialist MDT sessions (clinical settings; MDT also requires a hub)."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _kind_frame(source_dir: Path, kind: str, ids: pd.Series, names: pd.Series, lon: pd.Series, lat: pd.Series,
                **extra: Any) -> pd.DataFrame:  # fmt: skip
    """One source's sites in the common raw layout (``site_id`` is ``<kind>:<id>``)."""
    return pd.DataFrame(
        {
            "site_id": f"{kind}:" + ids.astype(str),
            "name": names,
            "kind": kind,
            "lon": lon,
            "lat": lat,
            **extra,
            "source": source_path(source_dir, kind).name,
        }
    )


def _raw_sites(source_dir: Path) -> pd.DataFrame:
    gp = read_table(source_dir, "gp")
    gp = gp.loc[gp["listed_2026_04"].astype(str) != "no"].copy()  # merged or closed by April 2026
    ph = read_table(source_dir, "pharmacy")
    lib = read_table(source_dir, "library")
    sch = read_table(source_dir, "school")
    sch = sch.loc[sch["inside_bnssg_lsoa21_polygons"].astype(str).str.lower() == "true"]
    hosp = read_table(source_dir, "hospital")
    hosp = hosp.loc[~hosp["hospital22_name"].isin(list(EXCLUDED_HOSPITALS))]
    rows = [
        _kind_frame(source_dir, "gp", gp["practice_code"], gp["practice_name"].str.title(), gp["lon"], gp["lat"],
                    pcn_code=gp["pcn_code_2026_04"].fillna(gp["pcn_code_2022_01"]),
                    pcn_name=gp["pcn_name_2026_04"].fillna(gp["pcn_name_2022_01"]),
                    practice_locality=practice_localities(gp).to_numpy()),
        _kind_frame(source_dir, "pharmacy", ph["org_code"], ph["name"].str.title(), ph["lon"], ph["lat"]),
        _kind_frame(source_dir, "library", lib["Library name"].map(_slug), lib["Library name"] + " Library",
                    lib["lon"], lib["lat"]),
        _kind_frame(source_dir, "school", sch["urn"], sch["establishment_name"], sch["longitude"], sch["latitude"]),
        _kind_frame(source_dir, "hospital", hosp["hospital22_name"].map(_slug), hosp["hospital22_name"], hosp["lon"],
                    hosp["lat"]),
    ]  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def locate(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """Zone code of each point: the polygon containing it, else the nearest within 100 m (generalised boundaries)."""
    joined = gpd.sjoin(points[["geometry"]], zones[["geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    code = joined["zone_code"] if "zone_code" in joined else joined["index_right"]
    code = code.reindex(points.index)
    gap = code.isna()
    if gap.any():
        p = points.loc[gap, ["geometry"]].to_crs(27700)
        near = gpd.sjoin_nearest(p, zones[["geometry"]].to_crs(27700), how="left", max_distance=100.0)
        near = near[~near.index.duplicated(keep="first")]
        code.loc[gap] = (near["zone_code"] if "zone_code" in near else near["index_right"]).reindex(p.index)
    return code


def _with_services(frame: pd.DataFrame, services: SiteServices) -> pd.DataFrame:
    frame["can_hub"] = frame["kind"].isin(services.hub)
    frame["can_popup"] = frame["kind"].isin(services.popup)
    frame["can_mdt"] = frame["kind"].isin(services.mdt) & frame["can_hub"]
    return frame


def build_sites(source_dir: Path, zones: gpd.GeoDataFrame, *, services: SiteServices | None = None) -> gpd.GeoDataFrame:
    """Build the candidate-site table.

    Sites without coordinates or outside the BNSSG zones are dropped (the count is in the manifest); duplicate
    ids (e.g. two libraries with the same name) get a numeric suffix.

    Parameters
    ----------
    source_dir
        Folder of raw inputs.
    zones
        The zone table (for zone, locality and local authority of each site).
    services
        Which services each kind may host; defaults to :class:`SiteServices`.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``site_id``, EPSG:4326, columns :data:`SITE_COLUMNS` and point geometry.
    """
    raw = _raw_sites(source_dir)
    raw = raw.dropna(subset=["lon", "lat"])
    dup = raw["site_id"].duplicated(keep=False)
    if dup.any():
        raw.loc[dup, "site_id"] = (
            raw.loc[dup, "site_id"] + "-" + raw.loc[dup].groupby("site_id").cumcount().add(1).astype(str)
        )
    raw = raw.set_index("site_id").sort_index()
    pts = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(raw["lon"], raw["lat"]), crs=4326)
    pts["zone_code"] = locate(pts, zones)
    pts = pts.dropna(subset=["zone_code"])
    pts["lad_code"] = zones["lad_code"].reindex(pts["zone_code"]).to_numpy()
    pts["locality"] = zones["locality"].reindex(pts["zone_code"]).to_numpy()
    for col in ("pcn_code", "pcn_name"):
        if col not in pts:
            pts[col] = None
        pts[col] = pts[col].astype(object).where(pts[col].notna(), None)
    pts = _with_services(pts, services or SiteServices())
    pts.index.name = "site_id"
    return gpd.GeoDataFrame(pts[[*SITE_COLUMNS, "geometry"]], geometry="geometry", crs=4326)


_BOOLS = {
    **dict.fromkeys(("1", "true", "yes", "y"), True),
    **dict.fromkeys(("0", "false", "no", "n", "", "nan", "none"), False),
}
BOOL_FIELDS = ("can_hub", "can_popup", "can_mdt")
MAX_LISTED_PROBLEMS = 20
"""Row problems spelt out in one error message; the rest are counted."""


def _kinds(frame: pd.DataFrame) -> pd.Series:
    if "kind" not in frame:
        return pd.Series("user", index=frame.index)
    return frame["kind"].astype(str).str.strip().str.lower().replace({"": "user", "nan": "user"})


def _ids_and_names(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Site ids and names as the planner keeps them (text, surrounding spaces trimmed): checked and stored alike."""
    return frame["site_id"].astype(str).str.strip(), frame["name"].map(_as_text).str.strip()


def row_problems(
    frame: pd.DataFrame,
    path: Path | str,
    zones: gpd.GeoDataFrame,
    *,
    existing: pd.Index | None = None,
    first_row: int = 2,
    source_crs: str | None = None,
) -> list[str]:
    """Every problem in the rows of a user's sites table, each naming the file, row, field and value.

    ``source_crs`` names the CRS of a file whose points were reprojected to lon/lat: its own coordinates (columns
    ``source_x``, ``source_y``) are then the values quoted for a point outside BNSSG.

    Parameters
    ----------
    frame
        The table as text (columns ``site_id, name, lon, lat`` present; optional ``kind`` and ``can_*``).
    path
        The file, as named in the messages.
    zones
        Zones (a point must fall in BNSSG).
    existing
        Site ids already in the dataset.
    first_row
        Row number of the first data row (2 for a CSV with its header as row 1).

    Returns
    -------
    list of str
        In row order: empty or duplicate id, id already used, coordinate not a number, metres where degrees are
        expected (wrong CRS), unknown kind, a ``can_*`` value that is not true/false, a point outside BNSSG.
    """
    found: list[tuple[int, str]] = []  # (row, message): listed in row order at the end

    def add(row: int, message: str) -> None:
        found.append((row, message))

    ids, names = _ids_and_names(frame)
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    kinds = _kinds(frame)
    seen: set[str] = set()
    usable = np.ones(len(frame), dtype=bool)
    for i in range(len(frame)):
        row = i + first_row
        sid = ids.iloc[i]
        if sid == "":
            add(row, f"{where(path, row=row, field='site_id', value='')}: empty id")
        elif sid in seen:
            add(row, f"{where(path, row=row, field='site_id', value=sid)}: duplicate id")
        elif existing is not None and sid in existing:
            add(row, f"{where(path, row=row, field='site_id', value=sid)}: id already used by a dataset site")
        seen.add(sid)
        if names.iloc[i] == "":  # the name is what maps, reports and the app show for the site
            add(row, f"{where(path, row=row, field='name', value='')}: empty name")
        for field, values in (("lon", lon), ("lat", lat)):
            value = values.iloc[i]
            if pd.isna(value) or not np.isfinite(value):
                add(row, f"{where(path, row=row, field=field, value=frame[field].iloc[i])}: not a number")
                usable[i] = False
        if usable[i] and (abs(lon.iloc[i]) > 180 or abs(lat.iloc[i]) > 90):
            add(
                row,
                f"{where(path, row=row, field='lon', value=frame['lon'].iloc[i])}: coordinates look like metres "
                "(British National Grid?) but lon/lat in degrees (EPSG:4326) are expected: wrong CRS",
            )
            usable[i] = False
        if kinds.iloc[i] not in KINDS:
            add(row, f"{where(path, row=row, field='kind', value=kinds.iloc[i])}: expected one of {', '.join(KINDS)}")
        for field in BOOL_FIELDS:
            if field in frame.columns and str(frame[field].iloc[i]).strip().lower() not in _BOOLS:
                value = frame[field].iloc[i]
                add(row, f"{where(path, row=row, field=field, value=value)}: expected true or false")
    if usable.any():
        pts = gpd.GeoDataFrame(
            index=frame.index[usable], geometry=gpd.points_from_xy(lon[usable], lat[usable]), crs=4326
        )
        zone = locate(pts, zones)
        outside = zone.index[zone.isna()]
        swapped = gpd.GeoDataFrame(
            index=outside, geometry=gpd.points_from_xy(lat.loc[outside], lon.loc[outside]), crs=4326
        )
        inside_if_swapped = locate(swapped, zones).notna() if len(outside) else pd.Series(dtype=bool)
        for idx in outside:
            i = int(frame.index.get_loc(idx))
            value = (float(lon.iloc[i]), float(lat.iloc[i]))
            hint = " (lon and lat look swapped)" if bool(inside_if_swapped.get(idx, False)) else ""
            field = "lon/lat"
            if source_crs is not None:  # quote the file's own coordinates, not our reprojection of them
                field, hint = "geometry", f" ({source_crs}, {value[0]:.5f}, {value[1]:.5f} in lon/lat)"
                value = (float(frame["source_x"].iloc[i]), float(frame["source_y"].iloc[i]))
            add(
                i + first_row,
                f"{where(path, row=i + first_row, field=field, value=value)}: point is outside BNSSG{hint}",
            )
    return [message for _, message in sorted(found, key=lambda item: item[0])]


def _as_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_user_sites(
    path: Path, zones: gpd.GeoDataFrame, *, existing: pd.Index | None = None, services: SiteServices | None = None
) -> gpd.GeoDataFrame:
    """Read a user's candidate sites from CSV (``site_id, name, lon, lat`` [, ``kind``, ``can_hub``, ``can_popup``,
    ``can_mdt``]) or GeoJSON (points in any declared CRS; same properties).

    Parameters
    ----------
    path
        The file.
    zones
        Zones (the BNSSG extent; each site gets its zone and locality).
    existing
        Site ids already in the dataset (a clash is an error).
    services
        Default services by kind when the file gives no ``can_*`` columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Sites in the dataset's site format (kind ``user`` unless given).

    Raises
    ------
    DataValidationError
        Naming the file, row, field and value: empty file, missing column, unparseable coordinate, coordinates that
        look like British National Grid metres in a lon/lat file (wrong CRS), a point outside BNSSG, a duplicate id.
        Every bad row is reported (:func:`row_problems`; the list is in the error's ``problems``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: sites file not found")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json", ".gpkg"):
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            raise DataValidationError(f"{path}: not a readable GeoJSON ({exc})") from None
        if gdf.empty:
            raise DataValidationError(f"{path}: the file has no features")
        if gdf.crs is None:
            raise DataValidationError(f"{path}: no coordinate reference system declared (wrong CRS)")
        bad_geom = ~gdf.geom_type.isin(["Point"])
        if bad_geom.any():
            i = int(np.flatnonzero(bad_geom.to_numpy())[0])
            raise DataValidationError(
                f"{where(path, row=i + 1, field='geometry', value=gdf.geom_type.iloc[i])}: not a point"
            )
        projected = gdf.crs.to_epsg() != 4326
        source_crs = gdf.crs.to_string() if projected else None
        source_xy = (gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
        gdf = gdf.to_crs(4326)
        # properties as text, as a CSV reads them: a missing id is then an empty one, and the id 1 is "1" not "1.0"
        frame = pd.DataFrame(gdf.drop(columns="geometry")).astype(object).map(_as_text)
        frame["lon"] = gdf.geometry.x.to_numpy()
        frame["lat"] = gdf.geometry.y.to_numpy()
        if projected:
            frame["source_x"], frame["source_y"] = source_xy
        first_row = 1
    elif suffix == ".csv":
        frame = read_csv_file(path, dtype=str, keep_default_na=False)
        first_row = 2  # row 1 is the header
        source_crs = None
    else:
        raise DataValidationError(f"{path}: unsupported file type {suffix!r} (use .csv or .geojson)")
    if frame.empty:
        raise DataValidationError(f"{path}: the file has no rows")
    for col in ("site_id", "name", "lon", "lat"):
        if col not in frame.columns:
            raise DataValidationError(f"{path}: missing column {col!r} (need site_id, name, lon, lat)")
    problems = row_problems(frame, path, zones, existing=existing, first_row=first_row, source_crs=source_crs)
    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(shown)
        summary = "\n".join(shown) + (f"\n... and {more} more problems" if more > 0 else "")
        raise DataValidationError(summary, problems=problems)
    lon = pd.to_numeric(frame["lon"]).astype(float)
    lat = pd.to_numeric(frame["lat"]).astype(float)
    ids, names = _ids_and_names(frame)
    kind = _kinds(frame)
    pts = gpd.GeoDataFrame(
        {"name": names.to_numpy(), "kind": kind.to_numpy(), "lon": lon.to_numpy(),
         "lat": lat.to_numpy()},
        index=pd.Index(ids.to_numpy(), name="site_id"),
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )  # fmt: skip
    pts["zone_code"] = locate(pts, zones)
    pts["lad_code"] = zones["lad_code"].reindex(pts["zone_code"]).to_numpy()
    pts["locality"] = zones["locality"].reindex(pts["zone_code"]).to_numpy()
    pts["pcn_code"] = None
    pts["pcn_name"] = None
    pts["source"] = path.name
    pts = _with_services(pts, services or SiteServices())
    for field in BOOL_FIELDS:
        if field in frame.columns:
            pts[field] = [_BOOLS[str(v).strip().lower()] for v in frame[field].to_numpy()]
    pts["can_mdt"] = pts["can_mdt"] & pts["can_hub"]
    return gpd.GeoDataFrame(pts[[*SITE_COLUMNS, "geometry"]], geometry="geometry", crs=4326)
