"""Car times on a real road network (osmnx): load or download the graph, then all zone-site times at once.

:func:`network_times` snaps zones and sites to their nearest graph nodes, builds one CSR matrix of edge travel times
(the fastest of parallel edges) and runs a single multi-source :func:`scipy.sparse.csgraph.dijkstra` over the unique
zone nodes, in batches (memory: batch x nodes floats). The straight-line distance from each point to its node is
added at an access speed. :class:`RoadNetwork` is that routing core on its own (node positions and the CSR
matrix), which a dataset built with a network keeps so that sites added later are routed over the same roads.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geodata.errors import NetworkError
from geodata.travel.transit import min_csr

FILE_SUFFIXES = (".osm", ".xml", ".graphml")
FALLBACK_SPEED_KPH = 30.0
"""Speed of edges whose highway type has no maxspeed anywhere in the graph (osmnx ``fallback``)."""
ACCESS_SPEED_KPH = 20.0
"""Default speed from a zone or site to its nearest node: local streets, parking and walking together (assumption)."""
BATCH = 64
"""Sources per dijkstra call (bounds memory to BATCH x nodes float64)."""


def _looks_like_file(network: Path | str) -> bool:
    if isinstance(network, Path):
        return True
    text = str(network)
    # a path-like string (a folder, or a name with a file extension) is a file the user meant, even if it is
    # missing: it must not be sent to the geocoder as a place name
    path_like = "/" in text or "\\" in text or re.fullmatch(r"\.[A-Za-z0-9]{1,8}", Path(text).suffix) is not None
    return text.lower().endswith(FILE_SUFFIXES) or path_like or Path(text).exists()


def load_network(network: Path | str, *, network_type: str = "drive") -> nx.MultiDiGraph:
    """A drivable road graph with ``speed_kph`` and ``travel_time`` (seconds) on every edge.

    Parameters
    ----------
    network
        A local ``.osm`` (OSM XML) or ``.graphml`` file (lon/lat or projected), or a place name (for example
        ``"Clevedon, UK"``) downloaded through osmnx (Nominatim + Overpass, as configured in ``osmnx.settings``)
        where there is internet.
    network_type
        osmnx network type for downloads.

    Raises
    ------
    NetworkError
        The file is missing or unreadable, or the download failed, naming the file or place.
    """
    import osmnx as ox

    if _looks_like_file(network):
        path = Path(network)
        if not path.is_file():
            raise NetworkError(f"{path}: road network file not found (expected a .osm or .graphml file)")
        try:
            if path.suffix.lower() == ".graphml":
                graph = ox.load_graphml(path)
            else:
                # the tags that bar cars must be read to be honoured (osmnx keeps only its useful tags)
                tags = list(ox.settings.useful_tags_way)
                ox.settings.useful_tags_way = [*tags, *(t for t in BARRING_TAGS if t not in tags)]
                try:
                    graph = ox.graph_from_xml(path, retain_all=True)
                finally:
                    ox.settings.useful_tags_way = tags
        except Exception as exc:  # osmnx/lxml raise many types for a bad file
            raise NetworkError(f"{path}: not a readable road network ({type(exc).__name__}: {exc})") from None
    else:
        try:
            graph = ox.graph_from_place(str(network), network_type=network_type)
        except Exception as exc:  # network, geocoding and empty-result errors
            raise NetworkError(
                f"{network!r}: could not download a road network ({type(exc).__name__}: {exc})"
            ) from None
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise NetworkError(f"{network}: the road network has no edges")
    # A file is an extract of everything (railways, rivers, footpaths): keep what a car can use, as osmnx's
    # "drive" download does, or footways become 30 km/h roads and a railway without a highway tag breaks speeds.
    graph = drivable(graph)
    if graph.number_of_edges() == 0:
        raise NetworkError(f"{network}: the file has no roads a car can use (no drivable 'highway' ways)")
    try:
        crs = graph.graph["crs"]
        if ox.projection.is_projected(crs):
            # A graph saved projected (metres) would be snapped and routed as if its metres were degrees.
            graph = ox.projection.project_graph(graph, to_latlong=True)
        graph = ox.routing.add_edge_speeds(graph, fallback=FALLBACK_SPEED_KPH)
        graph = ox.routing.add_edge_travel_times(graph)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise NetworkError(
            f"{network}: not a usable road graph ({type(exc).__name__}: {exc}); a graph needs its 'crs' and "
            "edges with 'highway' and 'length', as osmnx writes them"
        ) from None
    return graph


NOT_DRIVABLE = frozenset(
    {
        "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator", "escalator",
        "footway", "no", "path", "pedestrian", "planned", "platform", "proposed", "raceway", "razed", "rest_area",
        "service", "services", "steps", "track",
    }
)  # fmt: skip
"""OSM ``highway`` values osmnx's "drive" network leaves out (osmnx 2.1 ``_get_osm_filter``)."""


BARRING_TAGS = ("motor_vehicle", "motorcar", "access")
"""Way tags whose value ``no`` or ``private`` keeps cars out."""


def drivable(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The graph without edges a car cannot use (no ``highway`` tag, a non-drivable one, or cars barred by
    :data:`BARRING_TAGS`), and without the nodes left unconnected."""
    drop = []
    for u, v, k, data in graph.edges(keys=True, data=True):
        kinds = data.get("highway")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        barred = any(str(data.get(tag)) in ("no", "private") for tag in BARRING_TAGS)
        if barred or all(kind is None or str(kind) in NOT_DRIVABLE for kind in kinds):
            drop.append((u, v, k))
    if not drop:
        return graph
    graph = graph.copy()
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    return graph


EARTH_RADIUS_M = 6_371_009.0
"""osmnx's mean earth radius: snapping distances are the great-circle metres osmnx reports."""
ROAD_FILES = ("nodes.parquet", "edges.parquet", "road_network.json")
"""What :meth:`RoadNetwork.to_parquet` writes (a dataset rebuild replaces nothing else in its folder)."""


def _unit_vectors(lonlat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


@dataclass(frozen=True)
class RoadNetwork:
    """A road graph reduced to what routing needs: node positions and the fastest edge between each node pair.

    It is what a dataset built with ``--network`` keeps (``road_network/``, a few MB for a city), so sites a user
    adds later get their car times from the same roads as the dataset's own sites, without the original extract.

    Attributes
    ----------
    lonlat
        (n, 2) WGS84 longitude/latitude of the nodes.
    seconds
        (n, n) CSR matrix of edge travel times in seconds (the fastest of parallel edges).
    source
        What the network was made from (the extract's name or the place), for the dataset's manifest.
    """

    lonlat: npt.NDArray[np.float64]
    seconds: Any
    source: str = ""

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, weight: str = "travel_time", source: str = "") -> RoadNetwork:
        """The routing core of an osmnx graph (nodes ``x`` = lon, ``y`` = lat; edges carry ``weight`` seconds)."""
        if graph.number_of_nodes() == 0:
            raise NetworkError("the road network has no nodes")
        csr, index = graph_csr(graph, weight)
        lonlat = np.empty((len(index), 2))
        for node, i in index.items():
            lonlat[i] = graph.nodes[node]["x"], graph.nodes[node]["y"]
        return cls(lonlat=lonlat, seconds=csr, source=source)

    def to_parquet(self, directory: Path) -> None:
        """Write the nodes and edges as two small parquet files (and a JSON note) into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        coo = self.seconds.tocoo()
        opts: dict[str, Any] = {"index": False, "compression": "zstd"}
        pd.DataFrame({"lon": self.lonlat[:, 0], "lat": self.lonlat[:, 1]}).to_parquet(d / ROAD_FILES[0], **opts)
        edges = {"u": coo.row.astype(np.int32), "v": coo.col.astype(np.int32), "seconds": coo.data}
        pd.DataFrame(edges).to_parquet(d / ROAD_FILES[1], **opts)
        note = {"source": self.source, "nodes": len(self.lonlat), "edges": int(coo.nnz)}
        (d / ROAD_FILES[2]).write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_parquet(cls, directory: Path) -> RoadNetwork:
        """Read a network written by :meth:`to_parquet`.

        Raises
        ------
        NetworkError
            When a file is missing or malformed, naming the folder.
        """
        d = Path(directory)
        try:
            note = json.loads((d / ROAD_FILES[2]).read_text(encoding="utf-8"))
            nodes = pd.read_parquet(d / ROAD_FILES[0])
            edges = pd.read_parquet(d / ROAD_FILES[1])
            lonlat = nodes[["lon", "lat"]].to_numpy(float)
            n = len(lonlat)
            seconds = sp.csr_matrix(
                (edges["seconds"].to_numpy(float), (edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64))),
                shape=(n, n),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise NetworkError(f"{d}: not a road network folder ({type(exc).__name__}: {exc})") from None
        return cls(lonlat=lonlat, seconds=seconds, source=str(note.get("source", "")))

    @functools.cached_property
    def _tree(self) -> cKDTree:
        # built once per network: every snap (zones, sites, an added site's reach check) queries it
        return cKDTree(_unit_vectors(self.lonlat))

    def snap(self, lonlat: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Nearest node of each point and the great-circle metres to it (as osmnx's ``nearest_nodes``)."""
        chord, pos = self._tree.query(_unit_vectors(lonlat))
        metres = 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, float) / 2.0, 0.0, 1.0))
        return np.asarray(pos, np.int64), metres

    def times(
        self,
        zone_lonlat: npt.NDArray[np.float64],
        site_lonlat: npt.NDArray[np.float64],
        *,
        access_speed_kmh: float = ACCESS_SPEED_KPH,
        progress: bool = False,
        max_snap_metres: float | None = None,
        names: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Minutes from every zone to every site over the roads; see :func:`network_times`."""
        zone_lonlat = np.asarray(zone_lonlat, float).reshape(-1, 2)
        site_lonlat = np.asarray(site_lonlat, float).reshape(-1, 2)
        out = np.full((len(zone_lonlat), len(site_lonlat)), np.inf)
        if len(zone_lonlat) == 0 or len(site_lonlat) == 0:
            return out
        z_idx, z_dist = self.snap(zone_lonlat)
        s_idx, s_dist = self.snap(site_lonlat)
        if max_snap_metres is not None:
            _check_reach(z_dist, s_dist, max_snap_metres, names)
        sources, z_pos = np.unique(z_idx, return_inverse=True)
        seconds = np.empty((len(sources), len(s_idx)))
        batches = np.array_split(np.arange(len(sources)), max(1, math.ceil(len(sources) / BATCH)))
        iterator: Any = batches
        if progress:
            from tqdm import tqdm

            iterator = tqdm(batches, desc="road network", unit="batch")
        for b in iterator:
            if len(b):
                seconds[b] = dijkstra(self.seconds, directed=True, indices=sources[b])[:, s_idx]
        per_minute = access_speed_kmh * 1000.0 / 60.0
        return seconds[z_pos] / 60.0 + (z_dist / per_minute)[:, None] + (s_dist / per_minute)[None, :]


def _check_reach(
    z_dist: npt.NDArray[np.float64],
    s_dist: npt.NDArray[np.float64],
    limit: float,
    names: tuple[Sequence[str], Sequence[str]] | None,
) -> None:
    """Raise :class:`NetworkError` naming how many zones and sites lie beyond ``limit`` metres of the network."""
    far_z, far_s = np.flatnonzero(z_dist > limit), np.flatnonzero(s_dist > limit)
    if not len(far_z) and not len(far_s):
        return
    z_names, s_names = names or ([str(i) for i in range(len(z_dist))], [str(i) for i in range(len(s_dist))])
    dist, label = (z_dist, z_names) if len(far_z) else (s_dist, s_names)
    worst = int(np.argmax(dist))
    raise NetworkError(
        f"the road network does not reach {len(far_z)} of {len(z_dist)} zones and {len(far_s)} of {len(s_dist)} "
        f"sites: {'zone' if len(far_z) else 'site'} {label[worst]} is {dist[worst] / 1000:,.1f} km from its nearest "
        f"road (at most {limit / 1000:g} km)"
    )


def graph_csr(graph: nx.MultiDiGraph, weight: str = "travel_time") -> tuple[Any, dict[Any, int]]:
    """The graph as a CSR matrix of ``weight`` (fastest parallel edge) and the node -> row index map."""
    index = {node: i for i, node in enumerate(graph.nodes)}
    m = graph.number_of_edges()
    rows = np.empty(m, np.int64)
    cols = np.empty(m, np.int64)
    w = np.empty(m, np.float64)
    for k, (u, v, t) in enumerate(graph.edges(data=weight)):
        rows[k] = index[u]
        cols[k] = index[v]
        w[k] = np.inf if t is None else float(t)
    ok = np.isfinite(w)
    return min_csr(rows[ok], cols[ok], w[ok], len(index)), index


def network_times(
    graph: nx.MultiDiGraph,
    zone_lonlat: npt.NDArray[np.float64],
    site_lonlat: npt.NDArray[np.float64],
    *,
    access_speed_kmh: float = ACCESS_SPEED_KPH,
    weight: str = "travel_time",
    progress: bool = False,
    max_snap_metres: float | None = None,
    names: tuple[Sequence[str], Sequence[str]] | None = None,
) -> npt.NDArray[np.float64]:
    """Minutes from every zone to every site over the road graph.

    Parameters
    ----------
    graph
        From :func:`load_network` (edges carry ``travel_time`` in seconds; nodes ``x`` = lon, ``y`` = lat).
    zone_lonlat, site_lonlat
        (n, 2) and (m, 2) WGS84 longitude/latitude.
    access_speed_kmh
        Speed over the straight line from a point to its nearest node (added at both ends).
    weight
        Edge attribute with seconds.
    progress
        Show a progress bar over source batches.
    max_snap_metres
        Refuse the graph if a zone or site is farther than this from its nearest node: a network that does not
        cover the area would otherwise give the far points times along the few roads it has.
    names
        Zone and site names for that error (default: their positions).

    Returns
    -------
    numpy.ndarray
        (n, m) minutes; inf where the site's node cannot be reached from the zone's node.
    """
    if len(zone_lonlat) == 0 or len(site_lonlat) == 0:
        return np.full((len(zone_lonlat), len(site_lonlat)), np.inf)
    road = RoadNetwork.from_graph(graph, weight)
    return road.times(
        zone_lonlat,
        site_lonlat,
        access_speed_kmh=access_speed_kmh,
        progress=progress,
        max_snap_metres=max_snap_metres,
        names=names,
    )


__all__ = ["RoadNetwork", "load_network", "network_times"]
