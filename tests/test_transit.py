"""Route-based public-transport times: a hand-checked synthetic network, GTFS reading, and the real First routes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geodata.dataset import DEFAULT_DATASET_DIR, load_dataset
from geodata.errors import DataValidationError
from geodata.travel import compute_travel_times
from geodata.travel.distance import project
from geodata.travel.transit import (
    TransitNetwork,
    TransitParameters,
    load_transit,
    read_gtfs,
    transit_times,
    untangle,
)

ROOT = Path(__file__).resolve().parents[1]
NAN = np.nan

# Walking 100 m: 100 x 1.3 / (4.8 km/h = 80 m/min) = 1.625 min; 150 m: 2.4375 min.
# Riding 1000 m: 1000 x 1.2 / (16 km/h = 266.67 m/min) = 4.5 min.


def synthetic() -> TransitNetwork:
    """Route A east along y=0, route B north from a stop 150 m east of A's end, route C east from B's end."""
    stops = pd.DataFrame(
        {
            "stop_id": ["a0", "a1", "a2", "b0", "b1", "b2", "c1", "c2"],
            "x": [0.0, 1000, 2000, 2150, 2150, 2150, 3150, 4150],
            "y": [0.0, 0, 0, 0, 1000, 2000, 2000, 2000],
        }
    )
    patterns = pd.DataFrame(
        {
            "route": ["A", "B", "C"],
            "direction": ["outbound"] * 3,
            "headway_day": [10.0, 10.0, NAN],  # C: the TransitParameters assumption (15 / 30)
            "headway_evening": [20.0, 20.0, NAN],
        }
    )
    calls = pd.DataFrame({"pattern": [0, 0, 0, 1, 1, 1, 2, 2, 2], "stop": [0, 1, 2, 3, 4, 5, 5, 6, 7],
                          "ride_minutes": [NAN] * 9})  # fmt: skip
    return TransitNetwork(stops, patterns, calls, source="synthetic")


ZONES = np.array([[0.0, -100.0], [2150.0, 1900.0]])
SITES = np.array([[2250.0, 2000.0], [1000.0, 100.0], [4150.0, 2100.0]])


def test_synthetic_network_hand_calculation() -> None:
    p = TransitParameters()
    day = transit_times(ZONES, SITES, synthetic(), p, "day")
    eve = transit_times(ZONES, SITES, synthetic(), p, "evening")
    # zone 0 -> site 0: walk 1.625 + wait 5 + ride A 9 + change (walk 150 m 2.4375 + penalty 5) + wait 5 + ride B 9
    # + walk 1.625
    assert day[0, 0] == pytest.approx(38.6875)
    assert eve[0, 0] == pytest.approx(1.625 + 10 + 9 + 7.4375 + 10 + 9 + 1.625)
    # zone 0 -> site 1: one stop on A
    assert day[0, 1] == pytest.approx(1.625 + 5 + 4.5 + 1.625)
    assert eve[0, 1] == pytest.approx(1.625 + 10 + 4.5 + 1.625)
    # zone 0 -> site 2 needs two changes (A, B, C): not served
    assert np.isinf(day[0, 2]) and np.isinf(eve[0, 2])
    # zone 1 -> site 2: route C with the assumed headways (15 day, 30 evening)
    assert day[1, 2] == pytest.approx(1.625 + 7.5 + 9 + 1.625)
    assert eve[1, 2] == pytest.approx(1.625 + 15 + 9 + 1.625)
    # zone 1 is next to B's last stop only: nothing rides backwards to sites 0 and 1
    assert np.isinf(day[1, 0]) and np.isinf(day[1, 1])


def test_at_most_one_change_and_no_change_option() -> None:
    none = transit_times(ZONES, SITES, synthetic(), TransitParameters(max_changes=0), "day")
    assert np.isinf(none[0, 0])  # needs a change
    assert none[0, 1] == pytest.approx(12.75)
    with pytest.raises(ValueError, match="max_changes"):
        TransitParameters(max_changes=2)
    with pytest.raises(ValueError, match="band"):
        transit_times(ZONES, SITES, synthetic(), TransitParameters(), "night")


def test_untangle_interleaved_variants() -> None:
    # two variants 5 km apart called alternately: split; an express route with one long gap: kept whole
    a = np.column_stack([np.arange(6) * 300.0, np.zeros(6)])
    b = np.column_stack([np.arange(6) * 300.0, np.full(6, 5000.0)])
    mixed = np.empty((12, 2))
    mixed[0::2], mixed[1::2] = a, b
    assert untangle(mixed) == [[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9, 11]]
    express = np.vstack([a, a + np.array([20_000.0, 0.0])])
    assert untangle(express) == [list(range(12))]


def test_round_trip_parquet(tmp_path: Path) -> None:
    net = synthetic()
    net.to_parquet(tmp_path / "t")
    again = TransitNetwork.from_parquet(tmp_path / "t")
    assert again.equals(net)
    pd.testing.assert_frame_equal(again.calls, net.calls)


# ---------------------------------------------------------------------------------------------------------------------
# GTFS

STOPS_TXT = (
    "stop_id,stop_name,stop_lat,stop_lon\nS1,One,51.4500,-2.6000\nS2,Two,51.4500,-2.5856\nS3,Three,51.4590,-2.5856\n"
)


def _stop_times(trips: list[tuple[str, int]]) -> str:
    rows = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for tid, start in trips:
        for k, (stop, offset) in enumerate((("S1", 0), ("S2", 3), ("S3", 7))):
            t = start + offset
            rows.append(f"{tid},{t // 60:02d}:{t % 60:02d}:00,{t // 60:02d}:{t % 60:02d}:00,{stop},{k + 1}")
    return "\n".join(rows) + "\n"


def make_gtfs(path: Path, **override: str) -> Path:
    # Day 09:00-16:00 every 10 minutes (42 departures), evening 18:00-21:00 every 30 minutes (6), weekdays.
    starts = [9 * 60 + 10 * k for k in range(42)] + [18 * 60 + 30 * k for k in range(6)]
    trips = [(f"T{k}", s) for k, s in enumerate(starts)]
    files = {
        "stops.txt": STOPS_TXT,
        "routes.txt": "route_id,route_short_name,route_type\nR1,1,3\n",
        "trips.txt": "route_id,service_id,trip_id,direction_id\n"
        + "".join(f"R1,WK,{tid},0\n" for tid, _ in trips)
        + "R1,SUN,X1,0\n",
        "stop_times.txt": _stop_times([*trips, ("X1", 12 * 60)]),
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20261231\nSUN,0,0,0,0,0,0,1,20260101,20261231\n",
    }
    files.update(override)
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            if text:
                zf.writestr(name, text)
    return path


def test_read_gtfs_headways_and_times(tmp_path: Path) -> None:
    net = read_gtfs(make_gtfs(tmp_path / "feed.zip"))
    assert len(net.patterns) == 1 and len(net.calls) == 3 and len(net.stops) == 3
    assert net.patterns["headway_day"].iloc[0] == pytest.approx(420 / 42)  # 10 minutes
    assert net.patterns["headway_evening"].iloc[0] == pytest.approx(180 / 6)  # 30 minutes
    np.testing.assert_allclose(net.calls["ride_minutes"].to_numpy()[1:], [3.0, 4.0])
    stops_xy = net.stops[["x", "y"]].to_numpy()
    zone = stops_xy[[0]] + [[0.0, -100.0]]
    site = stops_xy[[2]] + [[100.0, 0.0]]
    p = TransitParameters()
    walk = float(p.walk_minutes(100.0))
    day = transit_times(zone, site, net, p, "day")
    eve = transit_times(zone, site, net, p, "evening")
    assert day[0, 0] == pytest.approx(walk + 5 + 7 + walk, abs=1e-3)
    assert eve[0, 0] == pytest.approx(walk + 15 + 7 + walk, abs=1e-3)
    net.to_parquet(tmp_path / "n")
    assert TransitNetwork.from_parquet(tmp_path / "n").equals(net)


def test_read_gtfs_frequencies(tmp_path: Path) -> None:
    freq = "trip_id,start_time,end_time,headway_secs\nT0,09:00:00,16:00:00,600\n"
    one_trip = "route_id,service_id,trip_id\nR1,WK,T0\n"
    net = read_gtfs(
        make_gtfs(
            tmp_path / "f.zip",
            **{"frequencies.txt": freq, "trips.txt": one_trip, "stop_times.txt": _stop_times([("T0", 9 * 60)])},
        )
    )
    assert net.patterns["headway_day"].iloc[0] == pytest.approx(10.0)
    assert np.isinf(net.patterns["headway_evening"].iloc[0])  # no evening service
    eve = transit_times(net.stops[["x", "y"]].to_numpy()[[0]], net.stops[["x", "y"]].to_numpy()[[2]], net,
                        TransitParameters(), "evening")  # fmt: skip
    assert np.isinf(eve).all()


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ({"stops.txt": ""}, r"feed\.zip: missing stops\.txt"),
        ({"stops.txt": "stop_id,stop_lat,stop_lon\nS1,51.45,-2.6\nS2,north,-2.58\n"},
         r"stops\.txt, row 3, field 'stop_lat': value 'north'"),
        ({"stops.txt": "stop_id,stop_name,stop_lat\nS1,One,51.45\n"}, r"stops\.txt: missing column 'stop_lon'"),
        ({"stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT0,9:5:00,09:05:00,S1,1\n"},
         r"stop_times\.txt, row 2, field 'arrival_time': value '9:5:00': expected HH:MM:SS"),
        ({"stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT0,09:05:00,09:05:00,S9,1\n"},
         r"stop_times\.txt, row 2, field 'stop_id': value 'S9': unknown stop"),
        ({"trips.txt": "route_id,service_id,trip_id\nR7,WK,T0\n"},
         r"trips\.txt, row 2, field 'route_id': value 'R7': unknown route"),
        ({"calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday\nWK,1,1,yes,1,1\n"},
         r"calendar\.txt, row 2, field 'wednesday': value 'yes'"),
        ({"stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"},
         r"stop_times\.txt: no stop times for the feed's trips, so the feed runs no service"),
        ({"trips.txt": "route_id,service_id,trip_id\nR1,WK,T0\n", "stop_times.txt": _stop_times([("T0", 5 * 60)])},
         r"feed\.zip: no departures 09:00-16:00 or 18:00-21:00 .* would replace the bus network with none"),
    ],
)  # fmt: skip
def test_malformed_gtfs(tmp_path: Path, override: dict[str, str], pattern: str) -> None:
    with pytest.raises(DataValidationError, match=pattern):
        read_gtfs(make_gtfs(tmp_path / "feed.zip", **override))


def test_gtfs_not_a_zip_or_missing(tmp_path: Path) -> None:
    bad = tmp_path / "feed.zip"
    bad.write_text("stop_id\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"feed\.zip: not a zip file"):
        read_gtfs(bad)
    with pytest.raises(DataValidationError, match=r"absent\.zip: GTFS file not found"):
        read_gtfs(tmp_path / "absent.zip")


# ---------------------------------------------------------------------------------------------------------------------
# The real First West of England network


@pytest.fixture(scope="module")
def real(raw_data: Path) -> TransitNetwork:
    return load_transit(raw_data)


def test_real_network_shape(real: TransitNetwork) -> None:
    # 212 route-directions; the interleaved ones split into their variants (2 single-call fragments dropped)
    assert len(real.patterns) == 249 and len(real.calls) == 7885 and len(real.stops) == 3674
    assert real.patterns[["route", "direction"]].drop_duplicates().shape[0] == 249
    assert real.patterns["route"].nunique() == 111
    assert real.patterns[["headway_day", "headway_evening"]].isna().all().all()  # no times in the data


def test_real_network_times(real: TransitNetwork, tmp_path: Path) -> None:
    zones = pd.read_parquet(ROOT / "geodata" / "bnssg" / "zones.parquet")
    sites = pd.read_parquet(ROOT / "geodata" / "bnssg" / "sites.parquet")
    zxy, sxy = project(zones["lon"], zones["lat"]), project(sites["lon"], sites["lat"])
    p = TransitParameters()
    day = transit_times(zxy, sxy, real, p, "day")
    eve = transit_times(zxy, sxy, real, p, "evening")
    assert day.shape == (len(zones), len(sites))
    served = np.isfinite(day)
    assert 0.5 < served.mean() < 0.95  # most pairs have a route within one change; rural gaps fall back
    assert (np.isfinite(eve) == served).all()  # same routes, only the waits differ
    assert (day[served] > 5).all() and (day[served] < 400).all()
    assert (eve[served] >= day[served] + 7.5 - 1e-9).all()  # at least the longer first wait
    # round trip through parquet: identical network and times, compact on disk
    real.to_parquet(tmp_path / "transit")
    size = sum(f.stat().st_size for f in (tmp_path / "transit").iterdir())
    assert size < 300_000
    again = TransitNetwork.from_parquet(tmp_path / "transit")
    assert again.equals(real)
    np.testing.assert_array_equal(transit_times(zxy[:50], sxy, again, p, "day"), day[:50])


def test_a_feed_for_somewhere_else_is_refused_by_name(tmp_path: Path) -> None:
    # the same feed moved to London: it would have replaced the bus network with one that serves no one
    london = STOPS_TXT.replace("51.45", "51.50").replace("-2.60", "-0.12").replace("-2.5856", "-0.1056")
    feed = make_gtfs(tmp_path / "london.zip", **{"stops.txt": london})
    ds = load_dataset()
    zones = ds.zones.iloc[:20]
    sites = ds.sites.iloc[:10]
    with pytest.raises(DataValidationError, match=r"london\.zip: none of the feed's 3 stops is in or near the planned"):
        compute_travel_times(zones, sites, source_dir=None, gtfs=feed, model_dir=DEFAULT_DATASET_DIR)
