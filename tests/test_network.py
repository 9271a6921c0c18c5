"""Road-network car times (osmnx + one multi-source csgraph dijkstra), offline on a hand-written .osm fixture."""

from __future__ import annotations

import json
import math
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

ox = pytest.importorskip("osmnx")

from geodata.errors import NetworkError  # noqa: E402
from geodata.travel.network import load_network, network_times  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_grid.osm"
# Grid of 5 x 5 nodes (id 1000 + 10 row + column) from (-2.6, 51.45), 0.003 deg lon x 0.002 deg lat apart;
# columns are 30 mph primary roads, rows 20 mph residential streets; nodes 2001-2002 are a detached lane.
LON0, LAT0, DLON, DLAT = -2.6, 51.45, 0.003, 0.002
MPH = 1.609344


def node_lonlat(i: int, j: int) -> tuple[float, float]:
    return LON0 + i * DLON, LAT0 + j * DLAT


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle metres with osmnx's earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_009 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def graph() -> Any:
    return load_network(FIXTURE)


def test_hand_calculation_along_a_primary_road(graph: Any) -> None:
    # Column 0 from row 1 to row 3: two 30 mph segments; points exactly on nodes, so no access time.
    a, b = node_lonlat(0, 1), node_lonlat(0, 3)
    metres = haversine_m(*a, *node_lonlat(0, 2)) + haversine_m(*node_lonlat(0, 2), *b)
    expected = metres / (30 * MPH * 1000 / 60)
    got = network_times(graph, np.array([a]), np.array([b]))
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(expected, rel=1e-4)
    assert got[0, 0] == pytest.approx(2 * 222.39 / (30 * MPH * 1000 / 60), rel=1e-3)  # 0.553 minutes


def test_multi_source_matches_networkx_per_pair(graph: Any) -> None:
    rng = np.random.default_rng(3)
    zones = np.column_stack([rng.uniform(LON0, LON0 + 4 * DLON, 9), rng.uniform(LAT0, LAT0 + 4 * DLAT, 9)])
    sites = np.column_stack([rng.uniform(LON0, LON0 + 4 * DLON, 7), rng.uniform(LAT0, LAT0 + 4 * DLAT, 7)])
    got = network_times(graph, zones, sites, access_speed_kmh=20.0)
    zn, zd = ox.distance.nearest_nodes(graph, zones[:, 0], zones[:, 1], return_dist=True)
    sn, sd = ox.distance.nearest_nodes(graph, sites[:, 0], sites[:, 1], return_dist=True)
    per_min = 20.0 * 1000 / 60
    for i, z in enumerate(zn):
        lengths = nx.single_source_dijkstra_path_length(graph, z, weight="travel_time")
        for j, s in enumerate(sn):
            pair = nx.shortest_path_length(graph, z, s, weight="travel_time")
            assert lengths[s] == pytest.approx(pair)
            assert got[i, j] == pytest.approx(pair / 60 + zd[i] / per_min + sd[j] / per_min, abs=1e-9)


def test_unreachable_site_is_inf_and_access_time_added(graph: Any) -> None:
    detached = (LON0 + 4 * DLON + 0.015, LAT0)
    near = (LON0 + 2 * DLON + 0.0005, LAT0 + 2 * DLAT)  # 35 m east of the centre node
    got = network_times(graph, np.array([node_lonlat(2, 2)]), np.array([detached, near]), access_speed_kmh=6.0)
    assert np.isinf(got[0, 0])
    metres = haversine_m(*node_lonlat(2, 2), *near)
    assert got[0, 1] == pytest.approx(metres / 100.0, rel=1e-3)  # 6 km/h = 100 m/min, snapped to the same node


def test_a_point_beyond_the_network_is_refused_when_a_limit_is_set(graph: Any) -> None:
    far = (LON0, LAT0 - 0.05)  # about 5.6 km south of the grid
    zones = np.array([node_lonlat(0, 0), far])
    got = network_times(graph, zones, np.array([node_lonlat(4, 4)]), max_snap_metres=10_000)
    assert np.isfinite(got).all()  # within the limit: routed from its nearest node
    with pytest.raises(NetworkError, match=r"does not reach 1 of 2 zones and 0 of 1 sites: zone Far is 5\.6 km"):
        network_times(
            graph, zones, np.array([node_lonlat(4, 4)]), max_snap_metres=2_000, names=(["Near", "Far"], ["S"])
        )


def test_a_network_that_does_not_cover_bnssg_is_refused_by_the_build(raw_data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from planner.cli import app

    out = tmp_path / "dataset"
    result = CliRunner().invoke(app, ["data", "build", "--source", str(raw_data), "--out", str(out),
                                      "--network", str(FIXTURE)])  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "tiny_grid.osm: the road network does not reach" in text and "of 581 zones" in text
    assert "covers the whole of BNSSG" in text
    assert not out.exists()


def test_graphml_round_trip(graph: Any, tmp_path: Path) -> None:
    path = tmp_path / "grid.graphml"
    ox.save_graphml(graph, path)
    again = load_network(path)
    pts = np.array([node_lonlat(0, 0), node_lonlat(4, 4), node_lonlat(1, 3)])
    np.testing.assert_allclose(network_times(again, pts, pts), network_times(graph, pts, pts), rtol=1e-9)


def test_a_projected_graphml_is_routed_in_lon_lat(graph: Any, tmp_path: Path) -> None:
    path = tmp_path / "grid_utm.graphml"
    ox.save_graphml(ox.projection.project_graph(graph), path)  # metres in UTM zone 30N
    again = load_network(path)
    pts = np.array([node_lonlat(0, 0), node_lonlat(4, 4), (LON0 + 0.0011, LAT0 + 0.0013)])
    np.testing.assert_allclose(network_times(again, pts, pts), network_times(graph, pts, pts), rtol=1e-6)


def test_an_extract_keeps_only_what_a_car_can_use(graph: Any, tmp_path: Path) -> None:
    # Diagonal: a footway, a railway, a river (no highway tag), a road closed to motor vehicles and a car park
    # aisle would all be shortcuts or break speeds.
    extra = """
  <way id="90"><nd ref="1011"/><nd ref="1033"/><tag k="highway" v="footway"/></way>
  <way id="91"><nd ref="1011"/><nd ref="1033"/><tag k="railway" v="rail"/></way>
  <way id="92"><nd ref="1033"/><nd ref="1011"/><tag k="waterway" v="river"/></way>
  <way id="93"><nd ref="1033"/><nd ref="1011"/><tag k="highway" v="primary"/><tag k="motor_vehicle" v="no"/></way>
  <way id="94"><nd ref="1011"/><nd ref="1033"/><tag k="highway" v="service"/><tag k="service" v="parking_aisle"/></way>
"""
    text = FIXTURE.read_text(encoding="utf-8").replace("</osm>", extra + "</osm>")
    mixed = tmp_path / "mixed.osm"
    mixed.write_text(text, encoding="utf-8")
    pts = np.array([node_lonlat(1, 1), node_lonlat(3, 3), node_lonlat(1, 3)])
    np.testing.assert_allclose(network_times(load_network(mixed), pts, pts), network_times(graph, pts, pts), rtol=1e-9)
    paths = tmp_path / "paths.osm"
    paths.write_text(text.split("<way")[0] + extra + "</osm>", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"paths\.osm: the file has no roads a car can use"):
        load_network(paths)


def test_a_graphml_without_crs_or_lengths_is_refused_by_name(graph: Any, tmp_path: Path) -> None:
    bare = graph.copy()
    del bare.graph["crs"]
    ox.save_graphml(bare, tmp_path / "nocrs.graphml")
    with pytest.raises(NetworkError, match=r"nocrs\.graphml: not a usable road graph \(KeyError: 'crs'\)"):
        load_network(tmp_path / "nocrs.graphml")
    short = graph.copy()
    for _u, _v, data in short.edges(data=True):
        for key in ("length", "speed_kph", "travel_time"):
            data.pop(key, None)
    ox.save_graphml(short, tmp_path / "nolength.graphml")
    with pytest.raises(NetworkError, match=r"nolength\.graphml: not a usable road graph .*'length'"):
        load_network(tmp_path / "nolength.graphml")


def test_missing_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"missing\.osm: road network file not found"):
        load_network(tmp_path / "missing.osm")
    with pytest.raises(NetworkError, match=r"nowhere\.graphml: road network file not found"):
        load_network(str(tmp_path / "nowhere.graphml"))
    # a missing file with another extension is still a file, not a place name to download
    with pytest.raises(NetworkError, match=r"readme\.txt: road network file not found"):
        load_network(str(tmp_path / "net" / "readme.txt"))
    with pytest.raises(NetworkError, match=r"^roads\.pbf: road network file not found"):
        load_network("roads.pbf")
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"bad\.osm: not a readable road network"):
        load_network(bad)


def _overpass_json() -> dict[str, Any]:
    root = ET.parse(FIXTURE).getroot()
    elements: list[dict[str, Any]] = []
    for n in root.iter("node"):
        elements.append({"type": "node", "id": int(n.get("id", 0)), "lat": float(n.get("lat", 0)),
                         "lon": float(n.get("lon", 0))})  # fmt: skip
    for w in root.iter("way"):
        elements.append(
            {
                "type": "way",
                "id": int(w.get("id", 0)),
                "nodes": [int(nd.get("ref", 0)) for nd in w.iter("nd")],
                "tags": {t.get("k"): t.get("v") for t in w.iter("tag")},
            }
        )
    return {"version": 0.6, "generator": "test", "elements": elements}


@pytest.fixture
def fake_osm_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A local HTTP server answering like Nominatim (search) and Overpass (interpreter)."""
    seen: list[str] = []
    west, south, east, north = LON0 - 0.002, LAT0 - 0.002, LON0 + 4 * DLON + 0.02, LAT0 + 4 * DLAT + 0.002
    polygon = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    nominatim = [
        {
            "place_id": 1, "osm_type": "relation", "osm_id": 1, "lat": str(LAT0), "lon": str(LON0),
            "class": "boundary", "type": "administrative", "display_name": "Tiny Grid, Testshire", "importance": 0.5,
            "place_rank": 16, "addresstype": "city", "name": "Tiny Grid",
            "boundingbox": [str(south), str(north), str(west), str(east)],
            "geojson": {"type": "Polygon", "coordinates": [polygon]},
        }
    ]  # fmt: skip
    overpass = _overpass_json()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            seen.append("GET " + self.path.split("?")[0])
            self._send(nominatim if self.path.startswith("/search") else overpass)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append("POST " + self.path)
            self._send(overpass)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(ox.settings, "overpass_url", base + "/api")
    monkeypatch.setattr(ox.settings, "nominatim_url", base + "/")
    monkeypatch.setattr(ox.settings, "use_cache", False)
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "requests_timeout", 10)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def test_place_download_through_osmnx(fake_osm_servers: list[str], graph: Any) -> None:
    downloaded = load_network("Tiny Grid, Testshire")
    assert "GET /search" in fake_osm_servers and "POST /api/interpreter" in fake_osm_servers
    assert downloaded.number_of_nodes() >= 20
    pts = np.array([node_lonlat(0, 1), node_lonlat(3, 4), node_lonlat(4, 0)])
    np.testing.assert_allclose(network_times(downloaded, pts, pts), network_times(graph, pts, pts), rtol=1e-9)
    # and the lower-level point download path hits the same Overpass server
    g2 = ox.graph_from_point((LAT0 + 2 * DLAT, LON0 + 2 * DLON), dist=300, network_type="drive", simplify=False)
    assert g2.number_of_nodes() > 0


def test_road_network_core_round_trips_and_bad_folders_are_named(graph: Any, tmp_path: Path) -> None:
    from geodata.travel.network import RoadNetwork

    road = RoadNetwork.from_graph(graph, source="tiny_grid.osm")
    road.to_parquet(tmp_path / "roads")
    again = RoadNetwork.from_parquet(tmp_path / "roads")
    pts = np.array([node_lonlat(0, 0), node_lonlat(4, 4), node_lonlat(1, 3), (LON0 + 0.0011, LAT0 + 0.0013)])
    np.testing.assert_allclose(again.times(pts, pts), network_times(graph, pts, pts), rtol=1e-12)
    assert again.source == "tiny_grid.osm" and again.seconds.nnz == road.seconds.nnz
    (tmp_path / "roads" / "edges.parquet").unlink()
    with pytest.raises(NetworkError, match=r"roads: not a road network folder"):
        RoadNetwork.from_parquet(tmp_path / "roads")


def _bnssg_grid_graphml(path: Path) -> Path:
    """A synthetic road grid over the whole of BNSSG (about 1 km apart): real networks are not available here."""
    from geodata.dataset import load_dataset

    ds = load_dataset()
    lon = np.concatenate([ds.zones["lon"], ds.sites["lon"]])
    lat = np.concatenate([ds.zones["lat"], ds.sites["lat"]])
    xs = np.arange(lon.min() - 0.02, lon.max() + 0.02, 0.014)
    ys = np.arange(lat.min() - 0.02, lat.max() + 0.02, 0.009)
    g = nx.MultiDiGraph(crs="epsg:4326")
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            g.add_node(i * 1000 + j, x=float(x), y=float(y), street_count=4)
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            for di, dj, kind in ((1, 0, "primary"), (0, 1, "residential")):
                if i + di < len(xs) and j + dj < len(ys):
                    a, b = i * 1000 + j, (i + di) * 1000 + j + dj
                    metres = haversine_m(float(x), float(y), float(xs[i + di]), float(ys[j + dj]))
                    for u, v in ((a, b), (b, a)):
                        g.add_edge(u, v, highway=kind, length=metres, oneway=False, reversed=u != a)
    ox.save_graphml(g, path)
    return path


def test_sites_added_to_a_network_dataset_are_routed_over_its_roads(raw_data: Path, tmp_path: Path) -> None:
    from geodata.build import build_dataset
    from geodata.dataset import load_dataset, read_dataset
    from geodata.sites import read_user_sites

    roads = _bnssg_grid_graphml(tmp_path / "bnssg_grid.graphml")
    out = tmp_path / "dataset"
    manifest = build_dataset(raw_data, out, network=roads, progress=False)
    assert manifest["travel"]["car"].startswith(f"osmnx road network {roads}")
    assert (out / "road_network" / "edges.parquet").is_file()
    ds = read_dataset(out)
    default = load_dataset()
    # the grid's car times are not the distance model's
    assert not np.allclose(ds.travel["car_day"].to_numpy(), default.travel["car_day"].to_numpy(), rtol=0.05)

    # a user site standing where a dataset site stands gets that site's times, by road, bus and on foot
    twin = ds.sites.index[17]
    csv = tmp_path / "my_sites.csv"
    site = ds.sites.loc[twin]
    csv.write_text(f"site_id,name,lon,lat\nMY1,Twin,{site['lon']},{site['lat']}\n", encoding="utf-8")
    added = ds.with_user_sites(read_user_sites(csv, ds.zones, existing=ds.sites.index))
    cols = ["car_day", "car_evening", "pt_day", "pt_evening", "walk_day", "walk_evening"]
    mine = added.travel[added.travel["site_id"] == "MY1"].set_index("zone_code")[cols].sort_index()
    theirs = ds.travel[ds.travel["site_id"] == twin].set_index("zone_code")[cols].sort_index()
    np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(), atol=0.011)
    # the same site on the default dataset (no road network kept) gets the distance model's car times
    plain = default.with_user_sites(read_user_sites(csv, default.zones, existing=default.sites.index))
    by_model = plain.travel[plain.travel["site_id"] == "MY1"].set_index("zone_code")["car_day"].sort_index()
    assert not np.allclose(mine["car_day"].to_numpy(), by_model.to_numpy(), rtol=0.05)

    # a site the dataset's roads do not reach is refused by name (here the roads are swapped for the tiny grid)
    from geodata.errors import DataValidationError
    from geodata.travel.network import RoadNetwork

    shutil.rmtree(out / "road_network")
    RoadNetwork.from_graph(load_network(FIXTURE)).to_parquet(out / "road_network")
    far = tmp_path / "far.csv"
    far.write_text("site_id,name,lon,lat\nFAR1,Weston,-2.9770,51.3460\nOK1,Twin,-2.5990,51.4510\n"
                   "FAR2,Yate,-2.4180,51.5400\n", encoding="utf-8")  # fmt: skip
    refused = (
        r"far\.csv: site FAR1 \(-2\.97700, 51\.34600\) is 28\.7 km from the nearest road of the dataset's road "
        r"network; site FAR2 \(-2\.41800, 51\.54000\) is \d+\.\d km .*place each on a road"
    )
    with pytest.raises(DataValidationError, match=refused):
        read_dataset(out).with_sites_file(far)
    # the app's upload check says so at once, naming the file, not when the planner presses solve
    from planner import appkit

    check = appkit.check_upload("far.csv", far.read_bytes(), read_dataset(out))
    assert not check.ok and "far.csv: site FAR1" in check.errors[0] and "site FAR2" in check.errors[0]
    # a copy of the dataset without its roads cannot add sites with comparable car times
    shutil.rmtree(out / "road_network")
    with pytest.raises(DataValidationError, match=r"built with a road network \(.*bnssg_grid\.graphml\) but its "
                       r"road_network/ folder is missing"):  # fmt: skip
        read_dataset(out).with_sites_file(csv)
