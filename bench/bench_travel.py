"""Benchmark: zone x site road times, one multi-source csgraph dijkstra vs networkx one source at a time.

A road-like synthetic graph (a perturbed grid around Bristol with random link speeds, a share of links removed and
some one-way) of at least 100,000 nodes; random zone and site points snapped to it. Both methods use the same
snapping (``ox.distance.nearest_nodes``) and access times, so results must be identical; each is timed end to end,
several runs, medians reported. Writes ``bench/results/travel.json`` and prints a markdown table.

Run: ``python -m bench.bench_travel [--side 320] [--zones 40] [--sites 200] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import osmnx as ox
import scipy

from geodata.travel.network import ACCESS_SPEED_KPH, network_times

RESULTS = Path(__file__).parent / "results" / "travel.json"
LON0, LAT0 = -2.75, 51.38
M_PER_DEG_LAT, M_PER_DEG_LON = 111_200.0, 69_500.0  # at 51.4 N


def road_like_graph(side: int, seed: int = 0) -> nx.MultiDiGraph:
    """A ``side`` x ``side`` perturbed grid: 100 m blocks, 15-70 km/h links, 8% removed, 10% one-way."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x_m = ii.ravel() * 100.0 + rng.normal(0, 20, side * side)
    y_m = jj.ravel() * 100.0 + rng.normal(0, 20, side * side)
    lon = LON0 + x_m / M_PER_DEG_LON
    lat = LAT0 + y_m / M_PER_DEG_LAT
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_nodes_from((int(k), {"x": float(lon[k]), "y": float(lat[k])}) for k in range(side * side))
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:-1, :].ravel(), ids[:, :-1].ravel()])
    v = np.concatenate([ids[1:, :].ravel(), ids[:, 1:].ravel()])
    keep = rng.random(len(u)) > 0.08
    u, v = u[keep], v[keep]
    length = np.hypot(x_m[u] - x_m[v], y_m[u] - y_m[v])
    speed = rng.choice([20.0, 30.0, 30.0, 30.0, 40.0, 50.0, 70.0], len(u)) * rng.uniform(0.75, 1.0, len(u))
    tt = length / (speed / 3.6)
    oneway = rng.random(len(u)) < 0.10
    edges = [(int(a), int(b), {"length": float(d), "speed_kph": float(s), "travel_time": float(t)})
             for a, b, d, s, t in zip(u, v, length, speed, tt, strict=True)]  # fmt: skip
    back = [(b, a, dict(attr)) for (a, b, attr), ow in zip(edges, oneway, strict=True) if not ow]
    graph.add_edges_from(edges)
    graph.add_edges_from(back)
    return graph


def networkx_times(
    graph: nx.MultiDiGraph, zone_lonlat: npt.NDArray[np.float64], site_lonlat: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Baseline: same snapping and access, then ``nx.single_source_dijkstra_path_length`` per zone node."""
    zn, zd = ox.distance.nearest_nodes(graph, zone_lonlat[:, 0], zone_lonlat[:, 1], return_dist=True)
    sn, sd = ox.distance.nearest_nodes(graph, site_lonlat[:, 0], site_lonlat[:, 1], return_dist=True)
    per_min = ACCESS_SPEED_KPH * 1000.0 / 60.0
    out = np.full((len(zn), len(sn)), np.inf)
    cache: dict[Any, dict[Any, float]] = {}
    for i, z in enumerate(zn):
        if z not in cache:
            cache[z] = nx.single_source_dijkstra_path_length(graph, z, weight="travel_time")
        lengths = cache[z]
        out[i] = [lengths.get(s, np.inf) / 60.0 for s in sn]
    return out + (np.asarray(zd) / per_min)[:, None] + (np.asarray(sd) / per_min)[None, :]


def timed(fn: Callable[[], npt.NDArray[np.float64]], runs: int) -> tuple[list[float], npt.NDArray[np.float64]]:
    times, result = [], np.empty(0)
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--side", type=int, default=320, help="grid side (nodes = side^2; default 102,400)")
    ap.add_argument("--zones", type=int, default=40)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    graph = road_like_graph(args.side)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    span_lon, span_lat = (args.side - 1) * 100.0 / M_PER_DEG_LON, (args.side - 1) * 100.0 / M_PER_DEG_LAT

    def points(n: int) -> npt.NDArray[np.float64]:
        return np.column_stack([LON0 + rng.uniform(0, span_lon, n), LAT0 + rng.uniform(0, span_lat, n)])

    zones, sites = points(args.zones), points(args.sites)
    fast_t, fast = timed(lambda: network_times(graph, zones, sites), args.runs)
    slow_t, slow = timed(lambda: networkx_times(graph, zones, sites), args.runs)
    both_inf = np.isinf(fast) & np.isinf(slow)
    diff = np.abs(np.where(both_inf, 0.0, fast - slow))
    identical = bool((np.isinf(fast) == np.isinf(slow)).all() and float(diff.max()) < 1e-9)
    result: dict[str, Any] = {
        "graph": {
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
            "build_seconds": round(build_s, 2),
        },
        "zones": args.zones,
        "sites": args.sites,
        "runs": args.runs,
        "csgraph_multi_source": {
            "median_s": round(statistics.median(fast_t), 4),
            "runs_s": [round(t, 4) for t in fast_t],
        },
        "networkx_per_source": {
            "median_s": round(statistics.median(slow_t), 4),
            "runs_s": [round(t, 4) for t in slow_t],
        },
        "speedup": round(statistics.median(slow_t) / statistics.median(fast_t), 2),
        "identical": identical,
        "max_abs_diff_minutes": float(diff.max()),
        "unreachable_pairs": int(np.isinf(fast).sum()),
        "mean_minutes": round(float(fast[np.isfinite(fast)].mean()), 3),
        "versions": {
            "python": platform.python_version(),
            "networkx": nx.__version__,
            "scipy": scipy.__version__,
            "osmnx": ox.__version__,
        },
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    g = result["graph"]
    print(f"Road-like graph: {g['nodes']:,} nodes, {g['edges']:,} edges; {args.zones} zones x {args.sites} sites; "
          f"{args.runs} runs (median)\n")  # fmt: skip
    print("| method | median s | runs s |")
    print("|---|---:|---|")
    for key, name in (("csgraph_multi_source", "network_times (csgraph multi-source)"),
                      ("networkx_per_source", "networkx single_source_dijkstra per zone")):  # fmt: skip
        r = result[key]
        print(f"| {name} | {r['median_s']:.3f} | {', '.join(f'{t:.3f}' for t in r['runs_s'])} |")
    print(
        f"\nSpeed-up: **{result['speedup']}x**; identical: {identical} "
        f"(max |diff| {result['max_abs_diff_minutes']:.2e} min)"
    )
    if not identical:
        raise SystemExit("results differ")
    return result


if __name__ == "__main__":
    main()
