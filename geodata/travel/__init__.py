"""Travel times from every zone to every candidate site, by mode (car, public transport, walk) and band (day, evening).

Sources, best first:

* car: a real road network through osmnx when one is given (``network=``: a local .osm/.graphml, or a place to
  download with internet), else the calibrated distance model (:mod:`geodata.travel.distance`);
* public transport: the real First West of England route structure (stop sequences) with walk, wait (half the
  assumed headway, sparser in the evening), ride and at most one change (:mod:`geodata.travel.transit`), or a
  user's GTFS feed (``gtfs=``); where no route serves, the distance model's bus estimate; never slower than walking;
* walk: straight line x circuity at walking speed.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import DataBuildError, DataValidationError, NetworkError
from geodata.travel.distance import (
    TravelParameters,
    calibrate,
    distance_times,
    load_parameters,
    project,
    save_parameters,
)

TIME_COLUMNS = ["car_day", "car_evening", "pt_day", "pt_evening", "walk_day", "walk_evening"]
PARAMETERS_FILE = "travel_model.json"
TRANSIT_DIR = "transit"
ROAD_DIR = "road_network"
"""Where a dataset built with ``--network`` keeps the roads' routing core (for sites added later)."""


@dataclass(frozen=True)
class TravelResult:
    """Travel times and how they were made.

    Attributes
    ----------
    times
        Columns ``zone_code, site_id`` and :data:`TIME_COLUMNS` (float32 minutes), every pair, sorted.
    metrics
        Calibration error and the sources used for each mode.
    params
        The distance-model parameters used.
    transit
        The public-transport network used, if any (written with the dataset so user sites can be added offline).
    road
        The road network's routing core used for car times, if any (:class:`geodata.travel.network.RoadNetwork`,
        written with the dataset for the same reason).
    """

    times: pd.DataFrame
    metrics: dict[str, Any]
    params: TravelParameters
    transit: Any = field(default=None)
    road: Any = field(default=None)

    def write_support(self, out_dir: Path) -> None:
        """Write what :func:`compute_travel_times` needs to add sites later without the raw data."""
        save_parameters(self.params, self.metrics.get("calibration", {}), Path(out_dir) / PARAMETERS_FILE)
        if self.transit is not None:
            tdir = Path(out_dir) / TRANSIT_DIR
            tdir.mkdir(exist_ok=True)
            self.transit.to_parquet(tdir)
        if self.road is not None:
            self.road.to_parquet(Path(out_dir) / ROAD_DIR)


def _transit_module() -> Any:
    """The route-based public-transport module, if installed (it is optional at import time)."""
    if importlib.util.find_spec("geodata.travel.transit") is None:
        return None
    return importlib.import_module("geodata.travel.transit")


SNAP_LIMIT_METRES = 2_000.0
"""How far a zone's or site's point may be from the road network's nearest node (every BNSSG point is well within
this of a road; a partial or wrong-area network is refused rather than routed along its few roads)."""

FEED_MARGIN_METRES = 2_000.0
"""How far outside the zones' extent a GTFS stop may be and still count as serving the area."""


def _check_feed_reaches(stops: pd.DataFrame, zone_xy: np.ndarray, path: Path) -> None:
    """A feed for somewhere else would silently replace the bus network with none: refuse it by name."""
    lo = zone_xy.min(axis=0) - FEED_MARGIN_METRES
    hi = zone_xy.max(axis=0) + FEED_MARGIN_METRES
    x, y = stops["x"].to_numpy(float), stops["y"].to_numpy(float)
    inside = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
    if not inside.any():
        raise DataValidationError(
            f"{path}: none of the feed's {len(stops):,} stops is in or near the planned area (BNSSG); "
            "is it the right GTFS feed?"
        )


def compute_travel_times(
    zones: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    source_dir: Path | None,
    model_dir: Path | None = None,
    network: Path | str | None = None,
    gtfs: Path | None = None,
    params: TravelParameters | None = None,
    progress: bool = False,
) -> TravelResult:
    """Minutes from every zone to every site, by mode and band.

    Parameters
    ----------
    zones
        Index ``zone_code``; columns ``lon``, ``lat``, ``ruc_class``.
    sites
        Index ``site_id``; columns ``lon``, ``lat``.
    source_dir
        Raw data folder: the distance model is calibrated from it and the bus network read from it.
    model_dir
        A built dataset folder to take calibrated parameters, the bus network and (if it was built with one) the
        road network from instead (offline, for user-added sites).
    network
        A road network for car times (.osm/.graphml file, or a place name to download with internet).
    gtfs
        A GTFS zip whose routes and headways replace the bundled bus network.
    params
        Distance-model parameters (skips calibration).
    progress
        Show progress bars.

    Returns
    -------
    TravelResult
        The times (no missing or infinite values), metrics and what was used.
    """
    if source_dir is None and model_dir is None and params is None:
        raise DataBuildError("travel times need source_dir (raw data) or model_dir (a built dataset)")
    metrics: dict[str, Any] = {"car": "distance model", "pt": "distance model", "walk": "distance model"}
    if params is None:
        if model_dir is not None and (Path(model_dir) / PARAMETERS_FILE).exists():
            params, calibration = load_parameters(Path(model_dir) / PARAMETERS_FILE)
        elif source_dir is not None:
            params, calibration = calibrate(Path(source_dir))
        else:
            raise DataBuildError(f"{model_dir}: no {PARAMETERS_FILE}; rebuild the dataset")
        metrics["calibration"] = calibration
    zone_xy = project(zones["lon"], zones["lat"])
    site_xy = project(sites["lon"], sites["lat"])
    rural = (zones["ruc_class"].astype(str) == "rural").to_numpy()
    t = distance_times(zone_xy, rural, site_xy, params)

    net = None
    transit = _transit_module()
    if transit is not None:
        if gtfs is not None:
            net = transit.read_gtfs(Path(gtfs))
            _check_feed_reaches(net.stops, zone_xy, Path(gtfs))
            metrics["pt"] = f"GTFS feed {Path(gtfs).name}: routes and headways"
        elif model_dir is not None and (Path(model_dir) / TRANSIT_DIR).is_dir():
            net = transit.TransitNetwork.from_parquet(Path(model_dir) / TRANSIT_DIR)
            metrics["pt"] = "First West of England route structure (bundled), assumed headways"
        elif source_dir is not None:
            net = transit.load_transit(Path(source_dir))
            metrics["pt"] = "First West of England route structure, assumed headways"
    elif gtfs is not None:
        raise DataBuildError("a GTFS feed was given but the transit module is not available")
    if net is not None:
        tp = transit.TransitParameters()
        for band in ("day", "evening"):
            routed = transit.transit_times(zone_xy, site_xy, net, tp, band, progress=progress)
            col = f"pt_{band}"
            served = np.isfinite(routed)
            metrics[f"pt_{band}_route_share"] = round(float(served.mean()), 4)
            # Route-based where a route serves; the distance model's estimate elsewhere; never slower than walking.
            t[col] = np.minimum(np.where(served, routed, t[col]), t["walk_day"])
    road = None
    if network is not None:
        from geodata.travel.network import RoadNetwork, load_network

        road = RoadNetwork.from_graph(load_network(network), source=str(network))
    elif model_dir is not None and (Path(model_dir) / ROAD_DIR).is_dir():
        from geodata.travel.network import RoadNetwork

        road = RoadNetwork.from_parquet(Path(model_dir) / ROAD_DIR)
        # The dataset's zones were checked against these roads when it was built; an added site is checked here.
        _, metres = road.snap(sites[["lon", "lat"]].to_numpy(float))
        far = np.flatnonzero(metres > SNAP_LIMIT_METRES)
        if len(far):
            problems = [
                f"site {sites.index[i]} ({sites['lon'].iloc[i]:.5f}, {sites['lat'].iloc[i]:.5f}) is "
                f"{metres[i] / 1000:,.1f} km from the nearest road of the dataset's road network"
                for i in far
            ]
            raise DataValidationError(
                "; ".join(problems) + f" ({Path(model_dir) / ROAD_DIR}; at most {SNAP_LIMIT_METRES / 1000:g} km): "
                "place each on a road",
                problems=problems,
            )
    if road is not None:
        try:
            car = road.times(
                zones[["lon", "lat"]].to_numpy(float),
                sites[["lon", "lat"]].to_numpy(float),
                max_snap_metres=SNAP_LIMIT_METRES,
                names=([str(z) for z in zones.index], [str(s) for s in sites.index]),
            )
        except NetworkError as exc:
            where = network if network is not None else Path(model_dir or ".") / ROAD_DIR
            raise NetworkError(f"{where}: {exc}; use an extract that covers the whole of BNSSG") from None
        fallback = ~np.isfinite(car)
        t["car_day"] = np.where(fallback, t["car_day"], car)
        t["car_evening"] = t["car_day"] * params.car_evening_factor
        metrics["car"] = f"osmnx road network {road.source} ({int(fallback.sum())} pairs unreachable: distance model)"

    n_z, n_s = len(zones), len(sites)
    out = pd.DataFrame(
        {
            "zone_code": np.repeat(zones.index.to_numpy(), n_s),
            "site_id": np.tile(sites.index.to_numpy(), n_z),
            **{col: np.round(t[col].ravel(), 2).astype(np.float32) for col in TIME_COLUMNS},
        }
    )
    out = out.sort_values(["zone_code", "site_id"], kind="mergesort").reset_index(drop=True)
    values = out[TIME_COLUMNS].to_numpy()
    if not np.isfinite(values).all() or (values < 0).any():
        raise DataBuildError("travel times contain missing, infinite or negative values")
    return TravelResult(times=out, metrics=metrics, params=params, transit=net, road=road)


__all__ = ["ROAD_DIR", "TIME_COLUMNS", "TravelParameters", "TravelResult", "compute_travel_times"]
