"""A small hand-made planning dataset with the same tables as the BNSSG one (for fast model tests)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from geodata.dataset import Dataset

LOCALITIES = ("South Bristol", "Woodspring")


def toy_zones(n_cols: int = 4, n_rows: int = 3) -> gpd.GeoDataFrame:
    """A grid of zones 0.02 degrees wide south of Bristol; the west half is one locality, the east another."""
    rows = []
    k = 0
    for r in range(n_rows):
        for c in range(n_cols):
            x0, y0 = -2.70 + 0.02 * c, 51.40 + 0.02 * r
            decile = 1 + (k * 7) % 10
            rows.append(
                {
                    "zone_code": f"Z{k:03d}",
                    "zone_name": f"Toy {k:03d}",
                    "lad_code": "E06000023",
                    "lad_name": "Bristol, City of",
                    "ward_code": f"W{c}",
                    "ward_name": f"Ward {c}",
                    "ruc_code": "UN1",
                    "ruc_class": "urban",
                    "locality": LOCALITIES[0] if c < n_cols // 2 else LOCALITIES[1],
                    "lon": x0 + 0.01,
                    "lat": y0 + 0.01,
                    "area_km2": 3.0,
                    "pop_total": 1600 + 50 * k,
                    "pop_20_64": 1000 + 37 * k,
                    "imd_score": 60.0 - 5.0 * decile,
                    "imd_rank": 1000 * decile,
                    "imd_decile": decile,
                    "imd_quintile": (decile + 1) // 2,
                    "imd_employment_score": 0.04 + 0.012 * (10 - decile),
                    "carers": 120 + 3 * k,
                    "carers_share": 0.08,
                    "bad_health_share": 0.09 - 0.005 * decile,
                    "disability_share": 0.22 - 0.01 * decile,
                    "geometry": box(x0, y0, x0 + 0.02, y0 + 0.02),
                }
            )
            k += 1
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").set_index("zone_code")


def toy_sites(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Eight candidate sites of every kind, placed at some zones' centres."""
    spec = [
        ("gp:A", "Practice A", "gp", "Z000", True, True, True),
        ("gp:B", "Practice B", "gp", "Z005", True, True, True),
        ("gp:C", "Practice C", "gp", "Z003", True, True, True),
        ("gp:D", "Practice D", "gp", "Z010", True, True, True),
        ("hospital:h", "Toy Hospital", "hospital", "Z006", True, False, True),
        ("school:1", "Toy School", "school", "Z008", False, True, False),
        ("library:l", "Toy Library", "library", "Z002", True, True, False),
        ("pharmacy:p", "Toy Pharmacy", "pharmacy", "Z011", False, True, False),
    ]
    rows = []
    for sid, name, kind, zc, hub, popup, mdt in spec:
        rows.append(
            {
                "site_id": sid,
                "name": name,
                "kind": kind,
                "lon": float(zones.at[zc, "lon"]) + 0.001,
                "lat": float(zones.at[zc, "lat"]) + 0.001,
                "zone_code": zc,
                "locality": zones.at[zc, "locality"],
                "lad_code": "E06000023",
                "pcn_code": None,
                "pcn_name": None,
                "can_hub": hub,
                "can_popup": popup,
                "can_mdt": mdt,
                "source": "toy",
            }
        )
    df = pd.DataFrame(rows).set_index("site_id")
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def toy_travel(zones: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Minutes from straight-line kilometres: car 2 min/km + 3, bus 4 min/km + 8 (evening +30%), walk 12 min/km."""
    zx = zones["lon"].to_numpy()[:, None]
    zy = zones["lat"].to_numpy()[:, None]
    sx = sites["lon"].to_numpy()[None, :]
    sy = sites["lat"].to_numpy()[None, :]
    km = np.hypot((zx - sx) * 69.4, (zy - sy) * 111.2)
    zc = np.repeat(zones.index.to_numpy(), len(sites))
    sid = np.tile(sites.index.to_numpy(), len(zones))
    flat = km.ravel()
    return pd.DataFrame(
        {
            "zone_code": zc,
            "site_id": sid,
            "car_day": (3 + 2 * flat).astype(np.float32),
            "car_evening": (3 + 1.8 * flat).astype(np.float32),
            "pt_day": (8 + 4 * flat).astype(np.float32),
            "pt_evening": (1.3 * (8 + 4 * flat)).astype(np.float32),
            "walk_day": (12 * flat).astype(np.float32),
            "walk_evening": (12 * flat).astype(np.float32),
        }
    )


def toy_dataset() -> Dataset:
    """The toy dataset."""
    zones = toy_zones()
    sites = toy_sites(zones)
    return Dataset(zones=zones, sites=sites, travel=toy_travel(zones, sites), manifest={"name": "toy"})


def tiny_inputs(scenario: object, *, max_minutes: float = 45.0) -> object:
    """Two zones and two hub sites with hand-set demand and times, for known-answer tests.

    Zone A: 10 daytime and 4 evening-only contacts a week; zone B: 6 daytime. Minutes (day = evening):
    A-S1 5, A-S2 20, B-S1 30, B-S2 10.
    """
    from planner.inputs import ModelInputs

    zones = pd.DataFrame(
        {
            "locality": ["South Bristol", "South Bristol"],
            "imd_decile": [1, 10],
            "imd_quintile": [1, 5],
            "lad_name": ["Bristol, City of"] * 2,
            "zone_name": ["A", "B"],
            "complex_people": [50.0, 30.0],
            "at_risk_people": [0.0, 0.0],
            "evening_only_share": [4 / 14, 0.0],
            "contacts_per_week": [14.0, 6.0],
            "contacts_day": [10.0, 6.0],
            "contacts_evening_only": [4.0, 0.0],
            "mdt_diabetes": [0.0, 0.0],
            "mdt_cardiovascular": [0.0, 0.0],
            "mdt_chronic_pain": [0.0, 0.0],
            "weight": [1.0, 1.0],
        },
        index=pd.Index(["A", "B"], name="zone_code"),
    )
    sites = pd.DataFrame(
        {
            "name": ["One", "Two"],
            "kind": ["gp", "gp"],
            "locality": ["South Bristol", "South Bristol"],
            "lon": [-2.6, -2.5],
            "lat": [51.4, 51.4],
            "can_hub": [True, True],
            "can_popup": [False, False],
            "can_mdt": [False, False],
            "fixed_open": [False, False],
            "is_hub": [True, True],
            "is_popup": [False, False],
            "is_mdt": [False, False],
        },
        index=pd.Index(["gp:S1", "gp:S2"], name="site_id"),
    )
    minutes = {("A", "gp:S1"): 5.0, ("A", "gp:S2"): 20.0, ("B", "gp:S1"): 30.0, ("B", "gp:S2"): 10.0}
    travel = pd.DataFrame(
        [(z, s, t, t) for (z, s), t in minutes.items()],
        columns=["zone_code", "site_id", "minutes_day", "minutes_evening"],
    )
    arcs = travel.loc[travel["minutes_day"] <= max_minutes].copy()
    arcs["hub_day"] = True
    arcs["hub_evening"] = True
    arcs["popup"] = False
    arcs["mdt"] = False
    return ModelInputs(scenario=scenario, zones=zones, sites=sites, arcs=arcs.reset_index(drop=True), travel=travel)  # type: ignore[arg-type]
