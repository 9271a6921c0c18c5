"""Route-based public-transport times: walk to a served stop, wait, ride, at most one change, walk from the stop.

The network is a set of *patterns* (a route in one direction: an ordered list of stop calls) with a headway per time
band. The bundled network is First West of England's route structure (stop sequences, July 2026, BODS via
``bristol-bus-bot``), which has **no times**: ride times come from the distance along the stop sequence and headways are
the assumptions of :class:`TransitParameters`. A user's GTFS feed (:func:`read_gtfs`) gives scheduled ride times and
headways derived from its departures.

All zone x site times come from one multi-source shortest-path call (:func:`scipy.sparse.csgraph.dijkstra`, sources
= zones) on a layered stop graph that makes "at most one change" structural::

    zone -walk-> stop(0) -wait + ride-> stop(1) -walk + penalty-> stop(X) -wait + ride-> stop(2) -walk-> site
                                        stop(1) -0-> stop(2)   (no change)

where "wait + ride" edges join every call of a pattern to every later call of the same pattern (half the pattern's
headway plus the ride between them; the fastest pattern is kept for each stop pair).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geodata.errors import DataBuildError, DataValidationError, where
from geodata.travel.distance import project

TRANSIT_SOURCE_DIR = "transit"
"""Folder of the bus stops and routes in the source folder."""
STOPS_FILE = "bus_stops_served_weca_ns_bods_2026-07.csv"
ROUTES_FILE = "first_bus_route_stop_sequences_2026-07.csv"
BANDS: dict[str, tuple[int, int]] = {"day": (9 * 60, 16 * 60), "evening": (18 * 60, 21 * 60)}
"""Time-band windows (minutes after midnight, start inclusive, end exclusive) used to derive GTFS headways."""


@dataclass(frozen=True)
class TransitParameters:
    """Documented assumptions of the route-based public-transport model.

    Attributes
    ----------
    walk_speed_kmh
        Walking speed to, from and between stops (as the distance model).
    walk_circuity
        Street distance over straight-line distance for those walks (as the distance model).
    access_radius_m
        Stops farther than this straight line from a zone or site are not walked to (800 m: the usual
        "10-minute walk" catchment of a bus stop). Pairs with no route within it fall back to the distance model.
    bus_speed_kmh
        Average bus speed along the route including stops and dwell (assumption; urban First services run at
        14-18 km/h scheduled). Used only where the network has no scheduled ride times (the bundled network).
    route_circuity
        Road distance between consecutive stops over the straight line between them (assumption: stops are a few
        hundred metres apart, so less winding than the door-to-door 1.35 of the distance model).
    headway_day_minutes
        Assumed daytime (09:00-16:00) headway of every bundled pattern: the data has no frequencies. The wait is
        half of it. A GTFS feed's own headways replace it.
    headway_evening_minutes
        Assumed evening (18:00-21:00) headway: evening services are thinner, typically half-hourly (assumption).
    max_ride_detour
        A modelled ride is at most this multiple of the straight line between boarding and alighting stops: some
        bundled stop sequences double back or run out and back, and riding the whole detour is not what people do.
    transfer_radius_m
        A change may be made at the same stop or by walking to another stop within this straight line.
    transfer_penalty_minutes
        Extra minutes charged for a change (inconvenience and missed-connection margin), on top of the walk between
        stops and the second wait (half the second pattern's headway).
    max_changes
        0 or 1: the most changes a journey may have.
    """

    walk_speed_kmh: float = 4.8
    walk_circuity: float = 1.3
    access_radius_m: float = 800.0
    bus_speed_kmh: float = 16.0
    route_circuity: float = 1.2
    headway_day_minutes: float = 15.0
    headway_evening_minutes: float = 30.0
    max_ride_detour: float = 2.0
    transfer_radius_m: float = 250.0
    transfer_penalty_minutes: float = 5.0
    max_changes: int = 1

    def __post_init__(self) -> None:
        for name in ("walk_speed_kmh", "bus_speed_kmh", "headway_day_minutes", "headway_evening_minutes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TransitParameters.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_changes not in (0, 1):
            raise ValueError(f"TransitParameters.max_changes must be 0 or 1, got {self.max_changes!r}")

    def walk_minutes(self, metres: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Minutes to walk a straight-line distance in metres."""
        return np.asarray(metres, float) * self.walk_circuity / (self.walk_speed_kmh * 1000.0 / 60.0)

    def headway(self, band: str) -> float:
        """The assumed headway of a band."""
        if band not in BANDS:
            raise ValueError(f"band must be one of {', '.join(BANDS)}, got {band!r}")
        return self.headway_day_minutes if band == "day" else self.headway_evening_minutes


TRANSIT_FILES = ("stops.parquet", "patterns.parquet", "calls.parquet", "transit.json")
"""What :meth:`TransitNetwork.to_parquet` writes (a dataset rebuild replaces nothing else in its folder)."""


@dataclass
class TransitNetwork:
    """Stops, patterns and stop calls of a public-transport network.

    Attributes
    ----------
    stops
        Columns ``stop_id`` (str), ``x``, ``y`` (British National Grid metres, float64); row number = stop index.
    patterns
        Columns ``route``, ``direction`` (str), ``headway_day``, ``headway_evening`` (minutes, float64; NaN: use the
        :class:`TransitParameters` assumption; inf: no service in that band); row number = pattern index.
    calls
        Columns ``pattern``, ``stop`` (int32 indices), ``ride_minutes`` (float32 minutes from the previous call of
        the pattern; NaN: from distance and bus speed), ordered by pattern, then along the pattern.
    source
        Where the network came from.
    """

    stops: pd.DataFrame
    patterns: pd.DataFrame
    calls: pd.DataFrame
    source: str = ""

    def __post_init__(self) -> None:
        self.stops = pd.DataFrame(
            {
                "stop_id": self.stops["stop_id"].astype(str).to_numpy(),
                "x": self.stops["x"].to_numpy(np.float64),
                "y": self.stops["y"].to_numpy(np.float64),
            }
        )
        self.patterns = pd.DataFrame(
            {
                "route": self.patterns["route"].astype(str).to_numpy(),
                "direction": self.patterns["direction"].astype(str).to_numpy(),
                "headway_day": self.patterns["headway_day"].to_numpy(np.float64),
                "headway_evening": self.patterns["headway_evening"].to_numpy(np.float64),
            }
        )
        self.calls = pd.DataFrame(
            {
                "pattern": self.calls["pattern"].to_numpy(np.int32),
                "stop": self.calls["stop"].to_numpy(np.int32),
                "ride_minutes": self.calls["ride_minutes"].to_numpy(np.float32),
            }
        )
        p = self.calls["pattern"].to_numpy()
        s = self.calls["stop"].to_numpy()
        if len(p) and (np.any(np.diff(p) < 0) or p.min() < 0 or p.max() >= len(self.patterns)):
            raise DataBuildError("transit network: calls must be grouped by a valid pattern index")
        if len(s) and (s.min() < 0 or s.max() >= len(self.stops)):
            raise DataBuildError("transit network: a call refers to an unknown stop")

    def __repr__(self) -> str:
        return (
            f"TransitNetwork({len(self.stops)} stops, {len(self.patterns)} patterns, {len(self.calls)} calls, "
            f"source={self.source!r})"
        )

    def equals(self, other: TransitNetwork) -> bool:
        """True when both networks hold identical tables and source."""
        return (
            self.source == other.source
            and self.stops.equals(other.stops)
            and self.patterns.equals(other.patterns)
            and self.calls.equals(other.calls)
        )

    def to_parquet(self, directory: Path) -> None:
        """Write the network compactly (three small parquet files and a JSON note) into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        opts: dict[str, Any] = {"index": False, "compression": "zstd"}
        for frame, name in zip((self.stops, self.patterns, self.calls), TRANSIT_FILES[:3], strict=True):
            frame.to_parquet(d / name, **opts)
        note = {
            "source": self.source,
            "stops": len(self.stops),
            "patterns": len(self.patterns),
            "calls": len(self.calls),
        }
        (d / TRANSIT_FILES[3]).write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_parquet(cls, directory: Path) -> TransitNetwork:
        """Read a network written by :meth:`to_parquet`."""
        d = Path(directory)
        try:
            note = json.loads((d / TRANSIT_FILES[3]).read_text(encoding="utf-8"))
            return cls(
                stops=pd.read_parquet(d / TRANSIT_FILES[0]),
                patterns=pd.read_parquet(d / TRANSIT_FILES[1]),
                calls=pd.read_parquet(d / TRANSIT_FILES[2]),
                source=str(note.get("source", "")),
            )
        except (FileNotFoundError, OSError, KeyError, ValueError) as exc:
            raise DataBuildError(f"{d}: not a transit network folder ({exc})") from None

    def ride_pairs(
        self, params: TransitParameters
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Every (boarding call, later alighting call) pair of every pattern with its ride minutes and pattern.

        Scheduled minutes where the network has them; otherwise the distance along the stop sequence, capped at
        ``params.max_ride_detour`` x the straight line between the two stops, x ``route_circuity`` / bus speed.
        """
        p = self.calls["pattern"].to_numpy(np.int64)
        xy = self.stops[["x", "y"]].to_numpy()[self.calls["stop"].to_numpy()]
        first = np.ones(len(p), bool)
        first[1:] = p[1:] != p[:-1]
        step = np.zeros(len(p))
        step[1:] = np.hypot(*(xy[1:] - xy[:-1]).T)
        step[first] = 0.0
        given = self.calls["ride_minutes"].to_numpy(np.float64)
        scheduled = np.where(first, 0.0, given)
        starts = np.flatnonzero(first)
        ends = np.append(starts[1:], len(p))
        bi_parts, aj_parts = [], []
        for a, b in zip(starts, ends, strict=True):
            i, j = np.triu_indices(int(b - a), 1)
            bi_parts.append(i + a)
            aj_parts.append(j + a)
        bi = np.concatenate(bi_parts).astype(np.int64) if bi_parts else np.array([], np.int64)
        aj = np.concatenate(aj_parts).astype(np.int64) if aj_parts else np.array([], np.int64)
        along = np.cumsum(step)
        metres = np.minimum(along[aj] - along[bi], params.max_ride_detour * np.hypot(*(xy[aj] - xy[bi]).T))
        modelled = metres * params.route_circuity / (params.bus_speed_kmh * 1000.0 / 60.0)
        sched_cum = np.cumsum(np.nan_to_num(scheduled, nan=0.0))
        # a pair is scheduled when every call after the boarding one up to the alighting one has scheduled minutes
        missing = np.cumsum(np.isnan(scheduled) & ~first)
        known = missing[aj] == missing[bi]
        ride = np.where(known & np.isfinite(given[aj]), sched_cum[aj] - sched_cum[bi], modelled)
        return bi, aj, ride, p[bi]

    def headways(self, params: TransitParameters, band: str) -> npt.NDArray[np.float64]:
        """Headway of each pattern in a band (assumption where the network has none; inf: no service)."""
        default = params.headway(band)  # validates the band
        h = self.patterns[f"headway_{band}"].to_numpy(np.float64)
        return np.where(np.isnan(h), default, h)


# ---------------------------------------------------------------------------------------------------------------------
# The bundled First West of England network


def _require(frame: pd.DataFrame, path: object, columns: tuple[str, ...]) -> None:
    for col in columns:
        if col not in frame.columns:
            raise DataValidationError(f"{path}: missing column {col!r} (need {', '.join(columns)})")


def _numeric(frame: pd.DataFrame, path: object, field: str, lo: float, hi: float) -> npt.NDArray[np.float64]:
    values = pd.to_numeric(frame[field], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) | (values < lo) | (values > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"{where(path, row=i + 2, field=field, value=frame[field].iloc[i])}: expected a number in [{lo}, {hi}]"
        )
    return values


def untangle(xy: npt.NDArray[np.float64], jump_m: float = 2000.0, min_jumps: int = 4) -> list[list[int]]:
    """Split a stop sequence that interleaves several route variants into its variants.

    Some sequences in the bundled route file alternate between two or three variants (for example the 174 inbound:
    45 consecutive calls more than 2 km apart, 895 km along the sequence for a 14 km route). A sequence with at
    least ``min_jumps`` such jumps is split greedily: each call joins the variant whose last call is nearest (within
    ``jump_m``), else starts a new one; the split is kept only if it at least halves the length along the sequence.
    Otherwise (including express routes with a few long non-stop sections) the sequence is returned whole.
    """
    n = len(xy)
    whole = [list(range(n))]
    if n < 3:
        return whole
    step = np.hypot(*np.diff(xy, axis=0).T)
    if int((step > jump_m).sum()) < min_jumps:
        return whole
    chains: list[list[int]] = []
    for k in range(n):
        ends = np.array([xy[c[-1]] for c in chains]) if chains else np.empty((0, 2))
        d = np.hypot(*(ends - xy[k]).T) if len(ends) else np.array([])
        if len(d) and d.min() <= jump_m:
            chains[int(d.argmin())].append(k)
        else:
            chains.append([k])
    split_len = sum(float(np.hypot(*np.diff(xy[c], axis=0).T).sum()) for c in chains if len(c) > 1)
    return chains if split_len < 0.5 * float(step.sum()) else whole


def load_transit(source_dir: Path) -> TransitNetwork:
    """Read First West of England's route stop sequences (and NaPTAN stop positions) from the raw data folder.

    Parameters
    ----------
    source_dir
        Raw data folder with ``transit/`` holding the route and stop files (see PROVENANCE.md).

    Returns
    -------
    TransitNetwork
        One pattern per route and direction (interleaved variants split, see :func:`untangle`); headways and ride
        times left to :class:`TransitParameters`.
    """
    folder = Path(source_dir) / TRANSIT_SOURCE_DIR
    routes_path, stops_path = folder / ROUTES_FILE, folder / STOPS_FILE
    if not routes_path.is_file():
        raise DataBuildError(f"{routes_path}: bus route stop sequences not found")
    seq = pd.read_csv(routes_path, dtype=str, keep_default_na=False)
    _require(seq, routes_path, ("route", "direction", "seq", "naptan_code", "lon", "lat"))
    lon = _numeric(seq, routes_path, "lon", -180, 180)
    lat = _numeric(seq, routes_path, "lat", -90, 90)
    order = _numeric(seq, routes_path, "seq", 0, 1e9)
    seq = seq.assign(lon=lon, lat=lat, seq=order)
    empty = seq["naptan_code"].str.strip() == ""
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataValidationError(f"{where(routes_path, row=i + 2, field='naptan_code', value='')}: empty stop code")
    # Stop positions: NaPTAN positions from the served-stops file where present, else the route file's own.
    pos = seq.drop_duplicates("naptan_code").set_index("naptan_code")[["lon", "lat"]]
    if stops_path.is_file():
        st = pd.read_csv(stops_path, dtype=str, keep_default_na=False)
        _require(st, stops_path, ("naptan_code", "lon", "lat"))
        st = st.assign(lon=_numeric(st, stops_path, "lon", -180, 180), lat=_numeric(st, stops_path, "lat", -90, 90))
        st = st.drop_duplicates("naptan_code").set_index("naptan_code")[["lon", "lat"]]
        common = pos.index.intersection(st.index)
        pos.loc[common, ["lon", "lat"]] = st.loc[common, ["lon", "lat"]].to_numpy()
    pos = pos.sort_index()
    xy = project(pos["lon"], pos["lat"])
    stops = pd.DataFrame({"stop_id": pos.index.to_numpy(), "x": xy[:, 0], "y": xy[:, 1]})
    seq = seq.sort_values(["route", "direction", "seq"], kind="mergesort").reset_index(drop=True)
    stop_index = pd.Series(np.arange(len(stops)), index=stops["stop_id"])
    call_stop = stop_index.loc[seq["naptan_code"].to_numpy()].to_numpy()
    call_xy = stops[["x", "y"]].to_numpy()[call_stop]
    pat_rows: list[tuple[str, str]] = []
    call_pat: list[npt.NDArray[np.int64]] = []
    call_idx: list[npt.NDArray[np.int64]] = []
    for (route, direction), rows in seq.groupby(["route", "direction"], sort=True).indices.items():
        chains = untangle(call_xy[rows])
        for k, chain in enumerate(chains):
            if len(chain) < 2:
                continue
            label = str(direction) if len(chains) == 1 else f"{direction} (part {k + 1})"
            call_pat.append(np.full(len(chain), len(pat_rows), np.int64))
            call_idx.append(rows[chain])
            pat_rows.append((str(route), label))
    patterns = pd.DataFrame(
        {
            "route": [r for r, _ in pat_rows],
            "direction": [d for _, d in pat_rows],
            "headway_day": np.nan,
            "headway_evening": np.nan,
        }
    )
    idx = np.concatenate(call_idx)
    calls = pd.DataFrame({"pattern": np.concatenate(call_pat), "stop": call_stop[idx], "ride_minutes": np.nan})
    return TransitNetwork(
        stops, patterns, calls, source="First West of England route stop sequences 2026-07 (BODS); assumed headways"
    )


# ---------------------------------------------------------------------------------------------------------------------
# GTFS

_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


def _gtfs_table(zf: zipfile.ZipFile, path: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    members = {Path(n).name: n for n in zf.namelist() if not n.endswith("/")}
    if name not in members:
        raise DataValidationError(f"{path}: missing {name} in the GTFS zip")
    try:
        frame = pd.read_csv(io.BytesIO(zf.read(members[name])), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(f"{path}:{name}: cannot be read as CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _require(frame, f"{path}:{name}", columns)
    for col in columns:
        frame[col] = frame[col].str.strip()
    return frame


def _gtfs_minutes(frame: pd.DataFrame, file: str, field: str, *, allow_blank: bool) -> npt.NDArray[np.float64]:
    text = frame[field]
    parts = text.str.extract(_TIME)
    blank = text == ""
    bad = parts[0].isna() & ~(blank & allow_blank)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(f"{where(file, row=i + 2, field=field, value=text.iloc[i])}: expected HH:MM:SS")
    p = parts.astype(float).to_numpy()
    return p[:, 0] * 60 + p[:, 1] + p[:, 2] / 60.0


def _unknown(frame: pd.DataFrame, file: str, field: str, known: pd.Index, what: str) -> None:
    bad = ~frame[field].isin(known)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(f"{where(file, row=i + 2, field=field, value=frame[field].iloc[i])}: unknown {what}")


def _service_trips(zf: zipfile.ZipFile, path: Path, trips: pd.DataFrame) -> pd.Series:
    """Mask of trips running on the busiest weekday of ``calendar.txt`` (all trips without it)."""
    names = {Path(n).name for n in zf.namelist()}
    if "calendar.txt" not in names:
        return pd.Series(True, index=trips.index)
    days = ("monday", "tuesday", "wednesday", "thursday", "friday")
    cal = _gtfs_table(zf, path, "calendar.txt", ("service_id", *days))
    for day in days:
        bad = ~cal[day].isin(["0", "1"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(
                f"{where(f'{path}:calendar.txt', row=i + 2, field=day, value=cal[day].iloc[i])}: expected 0 or 1"
            )
    cal = cal.drop_duplicates("service_id").set_index("service_id")
    counts = {d: int(trips["service_id"].map(cal[d]).eq("1").sum()) for d in days}
    best = max(days, key=lambda d: counts[d])
    if counts[best] == 0:
        return pd.Series(True, index=trips.index)
    return trips["service_id"].map(cal[best]).eq("1")


def read_gtfs(path: Path) -> TransitNetwork:
    """Read a GTFS zip into a :class:`TransitNetwork` with scheduled ride times and headways by band.

    Trips with the same route, direction and stop list form a pattern. Its headway in a band is the band's length
    over the number of departures from its first stop in the band (``frequencies.txt`` entries count every
    departure they imply); inf where it does not run. Ride minutes between calls are the median over its trips.
    With ``calendar.txt``, only trips running on the busiest weekday count.

    Raises
    ------
    DataValidationError
        The file is not a zip, lacks a required file or column, or has a bad value (named by file, row, field).
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: GTFS file not found")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataValidationError(f"{path}: not a zip file (a GTFS feed is a zip of .txt tables)") from None
    with zf:
        stops = _gtfs_table(zf, path, "stops.txt", ("stop_id", "stop_lat", "stop_lon"))
        routes = _gtfs_table(zf, path, "routes.txt", ("route_id",))
        trips = _gtfs_table(zf, path, "trips.txt", ("route_id", "service_id", "trip_id"))
        st = _gtfs_table(zf, path, "stop_times.txt", ("trip_id", "stop_id", "stop_sequence", "departure_time"))
        freq = (
            _gtfs_table(zf, path, "frequencies.txt", ("trip_id", "start_time", "end_time", "headway_secs"))
            if "frequencies.txt" in {Path(n).name for n in zf.namelist()}
            else None
        )
        keep = _service_trips(zf, path, trips)
    f_stops, f_trips, f_st = f"{path}:stops.txt", f"{path}:trips.txt", f"{path}:stop_times.txt"
    lat = _numeric(stops, f_stops, "stop_lat", -90, 90)
    lon = _numeric(stops, f_stops, "stop_lon", -180, 180)
    dup = stops["stop_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(f"{where(f_stops, row=i + 2, field='stop_id', value=stops['stop_id'].iloc[i])}: "
                                  "appears twice")  # fmt: skip
    _unknown(trips, f_trips, "route_id", pd.Index(routes["route_id"]), "route")
    _unknown(st, f_st, "trip_id", pd.Index(trips["trip_id"]), "trip")
    _unknown(st, f_st, "stop_id", pd.Index(stops["stop_id"]), "stop")
    seqn = _numeric(st, f_st, "stop_sequence", 0, 1e9)
    dep = _gtfs_minutes(st, f_st, "departure_time", allow_blank=True)
    arr = _gtfs_minutes(st, f_st, "arrival_time", allow_blank=True) if "arrival_time" in st.columns else dep.copy()
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    if "direction_id" not in trips.columns:
        trips["direction_id"] = ""
    trips = trips[keep.to_numpy()]
    xy = project(lon, lat)
    stop_table = pd.DataFrame({"stop_id": stops["stop_id"].to_numpy(), "x": xy[:, 0], "y": xy[:, 1]})
    stop_index = pd.Series(np.arange(len(stop_table)), index=stop_table["stop_id"])
    calls = pd.DataFrame(
        {
            "trip_id": st["trip_id"].to_numpy(),
            "stop": stop_index.loc[st["stop_id"].to_numpy()].to_numpy(),
            "seq": seqn,
            "arr": arr,
            "dep": dep,
            "row": np.arange(len(st)) + 2,
        }
    )
    calls = calls[calls["trip_id"].isin(trips["trip_id"])].sort_values(["trip_id", "seq"], kind="mergesort")
    if calls.empty:
        raise DataValidationError(f"{f_st}: no stop times for the feed's trips, so the feed runs no service")
    first = ~calls["trip_id"].duplicated(keep="first")
    last = ~calls["trip_id"].duplicated(keep="last")
    for mask, what in ((first, "first"), (last, "last")):
        missing = mask & calls["dep"].isna()
        if missing.any():
            r = int(calls.loc[missing, "row"].iloc[0])
            raise DataValidationError(
                f"{where(f_st, row=r, field='departure_time', value='')}: the {what} call of a trip needs a time"
            )
    calls["pos"] = calls.groupby("trip_id", sort=False).cumcount()
    calls["ride"] = calls["arr"] - calls.groupby("trip_id", sort=False)["dep"].shift(1)
    neg = calls["ride"] < 0
    if neg.any():
        r = int(calls.loc[neg, "row"].iloc[0])
        field = "arrival_time" if "arrival_time" in st.columns else "departure_time"
        raise DataValidationError(
            f"{where(f_st, row=r, field=field, value=st[field].iloc[r - 2])}: before the previous call's departure"
        )
    sig = calls.groupby("trip_id", sort=False)["stop"].agg(lambda s: ",".join(map(str, s)))
    tinfo = trips.set_index("trip_id").loc[sig.index, ["route_id", "direction_id"]]
    key = tinfo["route_id"] + "\x1f" + tinfo["direction_id"] + "\x1f" + sig
    pattern_of_trip = pd.Series(pd.factorize(key, sort=True)[0], index=sig.index)
    n_pat = int(pattern_of_trip.max()) + 1 if len(pattern_of_trip) else 0
    calls["pattern"] = pattern_of_trip.loc[calls["trip_id"].to_numpy()].to_numpy()
    # Departures from the first stop by band (frequency-based trips: every departure their window implies).
    start = calls.loc[first.to_numpy(), ["trip_id", "dep"]].set_index("trip_id")["dep"]
    dep_rows = pd.DataFrame({"trip_id": start.index, "t": start.to_numpy()})
    if freq is not None and len(freq):
        f_freq = f"{path}:frequencies.txt"
        fs = _gtfs_minutes(freq, f_freq, "start_time", allow_blank=False)
        fe = _gtfs_minutes(freq, f_freq, "end_time", allow_blank=False)
        hw = _numeric(freq, f_freq, "headway_secs", 1, 86400 * 2) / 60.0
        expanded = [
            pd.DataFrame({"trip_id": tid, "t": np.arange(a, b, h)})
            for tid, a, b, h in zip(freq["trip_id"], fs, fe, hw, strict=True)
        ]
        dep_rows = pd.concat([dep_rows[~dep_rows["trip_id"].isin(freq["trip_id"])], *expanded], ignore_index=True)
        dep_rows = dep_rows[dep_rows["trip_id"].isin(pattern_of_trip.index)]
    dep_rows["pattern"] = pattern_of_trip.loc[dep_rows["trip_id"].to_numpy()].to_numpy()
    heads: dict[str, npt.NDArray[np.float64]] = {}
    for band, (a, b) in BANDS.items():
        tmod = dep_rows["t"].to_numpy() % (24 * 60)
        n = np.bincount(dep_rows["pattern"][(tmod >= a) & (tmod < b)].to_numpy(np.int64), minlength=n_pat)
        with np.errstate(divide="ignore"):
            heads[band] = np.where(n > 0, (b - a) / np.maximum(n, 1), np.inf)
    if not any(np.isfinite(h).any() for h in heads.values()):
        windows = " or ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in BANDS.values())
        raise DataValidationError(
            f"{path}: no departures {windows} (the daytime and evening bands the planner routes), so the feed "
            "would replace the bus network with none"
        )
    # One representative call list per pattern, ride minutes the median over its trips.
    ride = calls.groupby(["pattern", "pos"], sort=True).agg(stop=("stop", "first"), ride=("ride", "median"))
    ride = ride.reset_index()
    pinfo = pd.DataFrame({"key": key.to_numpy(), "pattern": pattern_of_trip.to_numpy()}).drop_duplicates("pattern")
    pinfo = pinfo.sort_values("pattern")
    parts = pinfo["key"].str.split("\x1f", expand=True) if len(pinfo) else pd.DataFrame({0: [], 1: []})
    patterns = pd.DataFrame(
        {
            "route": parts[0].to_numpy() if len(pinfo) else np.array([], str),
            "direction": parts[1].to_numpy() if len(pinfo) else np.array([], str),
            "headway_day": heads["day"],
            "headway_evening": heads["evening"],
        }
    )
    out_calls = pd.DataFrame({"pattern": ride["pattern"], "stop": ride["stop"], "ride_minutes": ride["ride"]})
    return TransitNetwork(stop_table, patterns, out_calls, source=f"GTFS {path.name}: scheduled times and headways")


# ---------------------------------------------------------------------------------------------------------------------
# Routing


def min_csr(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], n: int
) -> sp.csr_matrix:
    """A CSR graph of ``n`` nodes keeping the smallest weight of parallel edges (zero weights stay edges)."""
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    keep = np.ones(len(rows), bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sp.csr_matrix((weights[keep], (rows[keep], cols[keep])), shape=(n, n))


def _pairs_within(
    a_xy: npt.NDArray[np.float64], b_xy: npt.NDArray[np.float64], radius: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Index pairs (i into a, j into b) closer than ``radius`` metres, with their distances."""
    if len(a_xy) == 0 or len(b_xy) == 0:
        e = np.array([], np.int64)
        return e, e, np.array([], float)
    m = cKDTree(a_xy).sparse_distance_matrix(cKDTree(b_xy), radius, output_type="coo_matrix")
    # sparse_distance_matrix drops exact zeros (coincident points): add them back.
    zero_i = cKDTree(b_xy).query_ball_point(a_xy, 1e-9)
    zi = np.repeat(np.arange(len(a_xy)), [len(z) for z in zero_i])
    zj = np.fromiter((j for z in zero_i for j in z), np.int64, count=len(zi))
    rows = np.concatenate([m.row.astype(np.int64), zi])
    cols = np.concatenate([m.col.astype(np.int64), zj])
    dist = np.concatenate([m.data.astype(float), np.zeros(len(zi))])
    return rows, cols, dist


def transit_times(
    zone_xy: npt.NDArray[np.float64],
    site_xy: npt.NDArray[np.float64],
    net: TransitNetwork,
    params: TransitParameters,
    band: str,
    progress: bool = False,
) -> npt.NDArray[np.float64]:
    """Public-transport minutes from every zone to every site by routes of the network, in one band.

    Parameters
    ----------
    zone_xy, site_xy
        (n, 2) and (m, 2) British National Grid metres (:func:`geodata.travel.distance.project`).
    net
        The network.
    params
        Assumptions (walk, headways where the network has none, bus speed, change rules).
    band
        ``"day"`` or ``"evening"``.
    progress
        Show a progress bar over batches of zones.

    Returns
    -------
    numpy.ndarray
        (n, m) minutes: walk + wait + ride (+ change + wait + ride) + walk, the best over all stops within
        ``access_radius_m``; inf where no route serves the pair (the caller falls back to the distance model).
    """
    params.headway(band)  # validates the band
    zone_xy = np.asarray(zone_xy, float).reshape(-1, 2)
    site_xy = np.asarray(site_xy, float).reshape(-1, 2)
    nz, ns = len(zone_xy), len(site_xy)
    out = np.full((nz, ns), np.inf)
    if nz == 0 or ns == 0 or len(net.calls) == 0:
        return out
    S = len(net.stops)
    stop_xy = net.stops[["x", "y"]].to_numpy()
    stop = net.calls["stop"].to_numpy(np.int64)
    wait = net.headways(params, band) / 2.0
    bi, aj, ride, pair_pat = net.ride_pairs(params)
    runs = np.isfinite(wait[pair_pat])
    bi, aj, ride, pair_pat = bi[runs], aj[runs], ride[runs], pair_pat[runs]
    # Node layout: stops before the first ride (L0), after it (L1), after a change (X), at the end (L2); zones; sites.
    L0, L1, X, L2, Z = 0, S, 2 * S, 3 * S, 4 * S
    T = Z + nz
    n = T + ns
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    ws: list[npt.NDArray[np.float64]] = []

    def add(r: npt.NDArray[np.int64], k: npt.NDArray[np.int64], w: npt.NDArray[np.float64]) -> None:
        rows.append(np.asarray(r, np.int64))
        cols.append(np.asarray(k, np.int64))
        ws.append(np.asarray(w, np.float64))

    # A ride: board at call i, wait half the headway, ride to a later call j of the same pattern, alight.
    legs = [(L0, L1)] + ([(X, L2)] if params.max_changes >= 1 else [])
    for before, after in legs:
        add(before + stop[bi], after + stop[aj], wait[pair_pat] + ride)
    if params.max_changes >= 1:
        ti, tj, td = _pairs_within(stop_xy, stop_xy, params.transfer_radius_m)
        add(L1 + ti, X + tj, params.walk_minutes(td) + params.transfer_penalty_minutes)
    add(L1 + np.arange(S), L2 + np.arange(S), np.zeros(S))
    zi, zs, zd = _pairs_within(zone_xy, stop_xy, params.access_radius_m)
    add(Z + zi, L0 + zs, params.walk_minutes(zd))
    si, ss, sd = _pairs_within(site_xy, stop_xy, params.access_radius_m)
    add(L2 + ss, T + si, params.walk_minutes(sd))
    graph = min_csr(np.concatenate(rows), np.concatenate(cols), np.concatenate(ws), n)
    sources = np.unique(zi)
    batches = np.array_split(sources, max(1, int(np.ceil(len(sources) / 64))))
    iterator: Any = batches
    if progress:
        from tqdm import tqdm

        iterator = tqdm(batches, desc=f"public transport ({band})", unit="batch")
    for batch in iterator:
        if len(batch) == 0:
            continue
        d = dijkstra(graph, directed=True, indices=Z + batch)
        out[batch] = d[:, T:]
    return out


__all__ = [
    "BANDS",
    "TransitNetwork",
    "TransitParameters",
    "load_transit",
    "min_csr",
    "read_gtfs",
    "transit_times",
]
