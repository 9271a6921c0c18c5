"""Locality partnerships: which of BNSSG's six each zone belongs to.

No official LSOA-to-locality lookup is published, so it is derived (method and confidence in geodata/README.md):

1. each GP practice's Primary Care Network (April 2026 where listed, else January 2022) is mapped to a locality
   with the inferred PCN table of :data:`PCN_LOCALITY` (from FACTS.md; medium confidence for some PCNs);
2. the local authority constrains the answer: South Gloucestershire LSOAs are "South Gloucestershire"; North
   Somerset LSOAs are "Woodspring" or "Weston, Worle and Villages"; Bristol LSOAs one of the three Bristol ones;
3. within that set, each zone takes the locality of its nearest practice (in EPSG:27700) that belongs to an allowed
   locality (of the rules tried, the one closest to the published residents per Bristol locality: geodata/README.md);
4. the result is smoothed to whole electoral wards (ward majority), since partnerships follow neighbourhoods.

A user's CSV (columns ``zone_code``, ``locality``) overrides any zone.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geodata.errors import DataValidationError, where
from geodata.sources import read_csv_file

LOCALITIES: tuple[str, ...] = (
    "Inner City and East Bristol",
    "North and West Bristol",
    "South Bristol",
    "South Gloucestershire",
    "Woodspring",
    "Weston, Worle and Villages",
)
"""BNSSG's six locality partnerships."""

PCN_LOCALITY: dict[str, str] = {
    "BRISTOL INNER CITY PCN": "Inner City and East Bristol",
    "FABB (FISHPONDS, AIR BALLOON & BEECHWOOD) PCN": "Inner City and East Bristol",
    "FOSS (FIRECLAY & OLD SCHOOL SURGERY) PCN": "Inner City and East Bristol",
    "BRISDOC PCN": "Inner City and East Bristol",
    "AFFINITY (BNSSG) PCN": "North and West Bristol",
    "HEALTHWEST PCN": "North and West Bristol",
    "NORTHERN ARC PCN": "North and West Bristol",
    "PHOENIX (BNSSG) PCN": "North and West Bristol",
    "BRIDGE VIEW PCN": "South Bristol",
    "CONNEXUS PCN": "South Bristol",
    "SWIFT PCN": "South Bristol",
    "4PCC (BNSSG) PCN": "South Gloucestershire",
    "4PCN (BNSSG) PCN": "South Gloucestershire",
    "NETWORK 4 (BNSSG) PCN": "South Gloucestershire",
    "SEVERNVALE PCN": "South Gloucestershire",
    "STOKES PCN": "South Gloucestershire",
    "YATE & FRAMPTON PCN": "South Gloucestershire",
    "GORDANO VALLEY PCN": "Woodspring",
    "TYNTESFIELD PCN": "Woodspring",
    "MENDIP VALE PCN": "Woodspring",
    "PIER HEALTH PCN": "Weston, Worle and Villages",
}
"""PCN -> locality, inferred (FACTS.md). "Concord Mendip" (2024+, members unverified) is not mapped: its practices
fall back to their January 2022 PCN. BRISDOC's one practice moved from Bristol Inner City PCN."""

LA_LOCALITIES: dict[str, tuple[str, ...]] = {
    "E06000023": ("Inner City and East Bristol", "North and West Bristol", "South Bristol"),
    "E06000024": ("Woodspring", "Weston, Worle and Villages"),
    "E06000025": ("South Gloucestershire",),
}
"""Localities allowed within each local authority."""


def practice_localities(practices: pd.DataFrame) -> pd.Series:
    """Locality of each GP practice from its PCN (2026 where mapped, else 2022); unmapped practices get NaN."""
    pcn26 = practices["pcn_name_2026_04"].map(PCN_LOCALITY)
    pcn22 = practices["pcn_name_2022_01"].map(PCN_LOCALITY)
    return pcn26.fillna(pcn22)


def _project(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(27700)
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def read_locality_override(path: Path, zone_codes: pd.Index) -> pd.Series:
    """Read and check a user's zone -> locality CSV.

    Raises
    ------
    DataValidationError
        Missing file or column, unknown zone code or locality (naming file, row, field and value), duplicates.
    """
    if not path.is_file():
        raise DataValidationError(f"{path}: locality override file not found")
    frame = read_csv_file(path, dtype=str, keep_default_na=False)
    frame = frame.apply(lambda column: column.str.strip())  # " E01014741 " is the zone E01014741
    for col in ("zone_code", "locality"):
        if col not in frame.columns:
            raise DataValidationError(f"{path}: missing column {col!r}")
    for i, row in frame.iterrows():
        line = int(str(i)) + 2
        if row["zone_code"] not in zone_codes:
            raise DataValidationError(
                f"{where(path, row=line, field='zone_code', value=row['zone_code'])}: unknown zone"
            )
        if row["locality"] not in LOCALITIES:
            raise DataValidationError(
                f"{where(path, row=line, field='locality', value=row['locality'])}: not one of {', '.join(LOCALITIES)}"
            )
    dup = frame["zone_code"].duplicated()
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        code = frame["zone_code"].iloc[first]
        earlier = int(np.flatnonzero((frame["zone_code"] == code).to_numpy())[0]) + 2
        raise DataValidationError(
            f"{where(path, row=first + 2, field='zone_code', value=code)}: appears twice (first in row {earlier})"
        )
    return frame.set_index("zone_code")["locality"]


def assign_localities(
    zones: gpd.GeoDataFrame, practices: pd.DataFrame, *, override: Path | None = None, k: int = 1
) -> pd.Series:
    """Locality partnership of every zone (see the module docstring for the method).

    Parameters
    ----------
    zones
        Zones with ``lon``, ``lat``, ``lad_code`` and ``ward_code``.
    practices
        GP practices with ``lon``, ``lat`` and PCN names (the raw practice file).
    override
        Optional CSV of ``zone_code, locality`` that wins over the derived value.
    k
        Nearest practices that vote (majority, ties to the nearest). One, the default, puts the city centre in
        Inner City and East Bristol; three puts it in South Bristol, across the river (geodata/README.md).

    Returns
    -------
    pandas.Series
        Locality name per zone code.
    """
    prac = practices.dropna(subset=["lon", "lat"]).copy()
    prac["locality"] = practice_localities(prac)
    prac = prac.dropna(subset=["locality"])
    pxy = _project(prac["lon"].to_numpy(), prac["lat"].to_numpy())
    zxy = _project(zones["lon"].to_numpy(), zones["lat"].to_numpy())
    out = pd.Series(index=zones.index, dtype=object)
    for lad, allowed in LA_LOCALITIES.items():
        in_lad = (zones["lad_code"] == lad).to_numpy()
        if not in_lad.any():
            continue
        if len(allowed) == 1:
            out[in_lad] = allowed[0]
            continue
        mask = prac["locality"].isin(allowed).to_numpy()
        tree = cKDTree(pxy[mask])
        _, idx = tree.query(zxy[in_lad], k=min(k, int(mask.sum())))
        idx = np.asarray(idx).reshape(int(in_lad.sum()), -1)  # k = 1 returns a flat array
        names = prac["locality"].to_numpy()[mask]
        votes = names[idx]
        # Majority of the k nearest; ties go to the nearest practice.
        chosen = []
        for row in votes:
            values, counts = np.unique(row, return_counts=True)
            best = values[counts == counts.max()]
            chosen.append(row[0] if row[0] in best else best[0])
        out[in_lad] = chosen
    # Ward smoothing: partnerships follow neighbourhoods, so a ward goes whole to its majority locality.
    majority = out.groupby(zones["ward_code"]).agg(lambda s: s.value_counts().index[0])
    out = zones["ward_code"].map(majority).astype(object)
    if override is not None:
        user = read_locality_override(override, zones.index)
        out.loc[user.index] = user
    missing = [loc for loc in LOCALITIES if loc not in set(out)]
    if missing and override is not None:
        raise DataValidationError(
            f"{override}: with its reassignments, locality {missing[0]!r} has no zone left (every partnership "
            "needs at least one)"
        )
    if missing:
        raise DataValidationError(f"locality derivation left {missing[0]!r} without any zone")
    return out.rename("locality")
