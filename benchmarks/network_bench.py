"""Walking network: loading an OSM file, and nearest facility for a county, against pandana and osmnx.

Run: .venv/bin/python benchmarks/network_bench.py [--quick] [--only a|b] [--skip-osmnx-load]
     [--pandana-threads 1,2] [--repeats 7]

Generates its own inputs in a temporary folder: a jittered street mesh (streets of up to ten
blocks, a bend in every block, diagonal footpaths, buildings) written as OSM XML the way an
openstreetmap.org export looks. Then, in the same run:

(a) a ~100k-node walking network with 500 facilities in each of 3 tiers and 2,000 compounds:
    nearest facility and walking distance for every node and every compound, all 3 tiers, at a
    tier's walking radius (300 m and 1,000 m, both timed), once the network is loaded. Each tool
    is timed for what a run of it pays after loading:

    - servicegrid: the snapping index built fresh (``StreetNetwork.segment_index``, which the
      first ``servicegrid coverage`` run on a network builds; later runs read it with the cached
      network, timed too), facilities and compounds snapped to edges, one multi-source dijkstra
      per tier (``nearest_facility``); also without a limit, which is what ``servicegrid
      coverage`` runs;
    - pandana (contraction hierarchies, OpenMP): ``Network`` and ``precompute(radius)`` as setup,
      then ``get_node_ids`` for the compounds and ``set_pois`` + ``nearest_pois`` at the radius
      per tier; run in a child process per ``OMP_NUM_THREADS`` (1 and 2), the better one compared;
    - networkx (the graph osmnx hands over): a KD-tree of the nodes and the nearest node of every
      point (what ``osmnx.distance.nearest_nodes`` does), then ``multi_source_dijkstra_path_length``
      with the radius as cutoff per tier: distances only, networkx's fastest call for them (it does
      not say which facility is nearest; servicegrid and pandana do).

    Times are the median of ``--repeats`` runs after a warm-up; ratios are taken between medians
    of the same run. With facilities at their nearest node, the distances are checked against
    networkx's and pandana's.
(b) loading a ~25 MB .osm file into a metric walking graph (``network_from_osm``) against
    ``osmnx.graph_from_xml`` + ``project_graph``; servicegrid's cached reload (``load_network``)
    against osmnx's fastest reload of its projected graph (``pickle.load``); and peak memory. Each
    load runs in a fresh child process (median of 3); memory is the child's peak resident set
    size during the load (``VmHWM`` in /proc/self/status, reset after the imports through
    /proc/self/clear_refs) minus its resident size after the imports, so it counts libosmium's
    and numpy's memory too (Linux only). The Python-heap peak measured by ``tracemalloc``
    (numpy arrays included, libosmium excluded) is printed as well.

Standard output is Markdown (tables and a load-average line) to paste into benchmarks/README.md;
progress goes to standard error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    LoadAverage,
    command_line,
    machine_line,
    median,
    milliseconds,
    progress,
    quiet_stdout,
    ratio_text,
    repeated,
    seconds,
    slower,
    spread,
    table,
    timed,
)

from servicegrid.geo.crs import metric_crs_for_lonlat

ORIGIN = (116.65, 26.26)  # lon, lat of the mesh's south-west corner (a county seat in Fujian)
METADATA = 'visible="true" version="3" changeset="81234567" timestamp="2020-05-01T08:00:00Z" user="mapper" uid="4242" '
LIMITS_M = (300.0, 1_000.0)  # walking radii of the tiers (cn-default: 300 m and 1,000 m)


# --------------------------------------------------------------------------------------------
# Input generation


def write_mesh_osm(
    path: Path,
    *,
    side: int,
    spacing: float = 80.0,
    drop: float = 0.3,
    bends: int = 1,
    diagonals: float = 0.1,
    buildings: int = 0,
    metadata: bool = False,
    seed: int = 0,
) -> dict[str, int]:
    """Write a jittered street mesh as OSM XML and return what it holds.

    Junctions sit on a ``side`` x ``side`` lattice (``spacing`` metres, jittered); each block side
    is a street segment with ``bends`` shape nodes, and a share ``drop`` of them is missing, so
    blocks are irregular and streets end in dead ends as in a real town (a perfect grid would
    also be the worst case for pandana's contraction hierarchies). Streets run for up to ten
    blocks per way; ``diagonals`` of the blocks get a footpath across; ``buildings`` small closed
    ways are added for the loader to skip. ``metadata`` adds the version/user/timestamp attributes
    an openstreetmap.org export carries.
    """
    rng = np.random.default_rng(seed)
    to_lat = 1 / 111_320.0
    to_lon = 1 / (111_320.0 * np.cos(np.radians(ORIGIN[1])))
    meta = METADATA if metadata else ""

    iy, ix = np.mgrid[0:side, 0:side]
    jx = (ix * spacing + rng.normal(0, spacing * 0.12, ix.shape)).ravel()
    jy = (iy * spacing + rng.normal(0, spacing * 0.12, iy.shape)).ravel()
    junction = (np.arange(side * side) + 1).reshape(side, side)
    xs, ys, ids = [jx], [jy], [junction.ravel()]
    next_id = side * side + 1

    ways: list[tuple[list[int], str]] = []
    for direction in ("east", "north"):
        grid = junction if direction == "east" else junction.T
        kept = rng.random((side, side - 1)) >= drop
        a, b = grid[:, :-1][kept] - 1, grid[:, 1:][kept] - 1
        t = (np.arange(bends) + 1) / (bends + 1)
        px = jx[a][:, None] + (jx[b] - jx[a])[:, None] * t + rng.normal(0, 4, (a.size, bends))
        py = jy[a][:, None] + (jy[b] - jy[a])[:, None] * t + rng.normal(0, 4, (a.size, bends))
        shape = np.zeros((side, side - 1, bends), dtype=np.int64)
        shape[kept] = next_id + np.arange(a.size * bends).reshape(a.size, bends)
        next_id += a.size * bends
        xs.append(px.ravel())
        ys.append(py.ravel())
        ids.append(shape[kept].ravel())
        for r in range(side):
            major = r % 8 == 0
            highway = (
                ("secondary" if major else "residential")
                if direction == "east"
                else ("tertiary" if major else ("footway" if r % 2 else "service"))
            )
            refs: list[int] = []
            blocks = 0
            for c in range(side - 1):
                if not kept[r, c]:
                    if refs:
                        ways.append((refs, highway))
                    refs, blocks = [], 0
                    continue
                if not refs:
                    refs = [int(grid[r, c])]
                refs.extend(shape[r, c].tolist())
                refs.append(int(grid[r, c + 1]))
                blocks += 1
                if blocks == 10:
                    ways.append((refs, highway))
                    refs, blocks = [], 0
            if refs:
                ways.append((refs, highway))
    pick = rng.random((side - 1, side - 1)) < diagonals
    for r, c in zip(*np.nonzero(pick), strict=True):
        ways.append(([int(junction[r, c]), int(junction[r + 1, c + 1])], "path"))
    building_ways: list[list[int]] = []
    if buildings:
        cx = rng.uniform(0.3, side - 1.3, buildings) * spacing
        cy = rng.uniform(0.3, side - 1.3, buildings) * spacing
        half = 6.0
        xs.append(np.stack([cx - half, cx + half, cx + half, cx - half], axis=1).ravel())
        ys.append(np.stack([cy - half, cy - half, cy + half, cy + half], axis=1).ravel())
        new = next_id + np.arange(buildings * 4).reshape(buildings, 4)
        next_id += buildings * 4
        ids.append(new.ravel())
        building_ways = [[*row.tolist(), int(row[0])] for row in new]

    x, y, nid = np.concatenate(xs), np.concatenate(ys), np.concatenate(ids)
    lon = ORIGIN[0] + x * to_lon
    lat = ORIGIN[1] + y * to_lat
    order = np.argsort(nid)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<osm version="0.6" generator="servicegrid network_bench">\n')
        out.write(
            f' <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
            f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>\n'
        )
        out.writelines(
            f' <node id="{i}" {meta}lat="{la:.7f}" lon="{lo:.7f}"/>\n'
            for i, la, lo in zip(nid[order].tolist(), lat[order].tolist(), lon[order].tolist(), strict=True)
        )
        way_id = 1
        for refs, highway in ways:
            nds = "".join(f'\n  <nd ref="{r}"/>' for r in refs)
            out.write(f' <way id="{way_id}" {meta}>{nds}\n  <tag k="highway" v="{highway}"/>\n </way>\n')
            way_id += 1
        for refs in building_ways:
            nds = "".join(f'\n  <nd ref="{r}"/>' for r in refs)
            out.write(f' <way id="{way_id}" {meta}>{nds}\n  <tag k="building" v="yes"/>\n </way>\n')
            way_id += 1
        out.write("</osm>\n")
    return {"nodes": int(nid.size), "ways": way_id - 1, "bytes": path.stat().st_size}


# --------------------------------------------------------------------------------------------
# Child processes (clean memory figures; pandana's thread count is fixed when it loads)


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> float:
    """Reset the peak resident set size (VmHWM) to the current size and return it, MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def child(mode: str, path: str, cache: str) -> None:
    """Run one load in this (fresh) process and print its figures as JSON."""
    import pickle
    import tracemalloc

    from servicegrid.coverage.cache import load_network
    from servicegrid.coverage.sources import network_from_osm

    if mode == "osmnx":
        import osmnx as ox

        base = _reset_peak()
        start = time.perf_counter()
        G = ox.graph_from_xml(path)
        P = ox.project_graph(G, to_crs=metric_crs_for_lonlat(ORIGIN[0] + 0.1, ORIGIN[1] + 0.1))
        secs = time.perf_counter() - start
        rss = _status_mb("VmHWM") - base
        with open(cache + ".osmnx.pickle", "wb") as out:  # for the reload, after the timing
            pickle.dump(P, out, protocol=pickle.HIGHEST_PROTOCOL)
        print(json.dumps({"seconds": secs, "rss_mb": rss, "nodes": len(P)}))
        return
    if mode == "osmnx-reload":
        import osmnx  # noqa: F401  (the classes the pickle holds)

        base = _reset_peak()
        start = time.perf_counter()
        with open(cache + ".osmnx.pickle", "rb") as handle:
            P = pickle.load(handle)
        secs = time.perf_counter() - start
        print(json.dumps({"seconds": secs, "rss_mb": _status_mb("VmHWM") - base, "nodes": len(P)}))
        return
    if mode == "ours-trace":
        tracemalloc.start()
        network_from_osm(path)
        print(json.dumps({"traced_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20}))
        return
    base = _reset_peak()
    start = time.perf_counter()
    if mode == "ours-build":
        net = network_from_osm(path)
    elif mode == "ours-cached":
        net = load_network(path, cache_dir=cache)
    else:
        raise SystemExit(f"unknown mode {mode}")
    secs = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": secs,
                "rss_mb": _status_mb("VmHWM") - base,
                "nodes": net.n_nodes,
                "edges": net.n_edges,
            }
        )
    )


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def pandana_child(data_path: str, out_path: str, limits: str, repeats: str) -> None:
    """(a) with pandana in this process (``OMP_NUM_THREADS`` set by the parent): figures as JSON,
    each tier's node distances saved to ``out_path`` for the check."""
    import pandana
    import pandas as pd

    data = np.load(data_path)
    node_xy, fac_xy, comp_xy, tier = data["node_xy"], data["fac_xy"], data["comp_xy"], data["tier"]
    with quiet_stdout():
        pnet, network_s = timed(
            pandana.Network,
            node_xy[:, 0],
            node_xy[:, 1],
            data["edge_u"],
            data["edge_v"],
            pd.DataFrame({"length": data["edge_length"]}),
            twoway=True,
        )
    figures: dict = {"threads": os.environ.get("OMP_NUM_THREADS", ""), "network_s": network_s, "limits": {}}
    saved: dict[str, np.ndarray] = {}
    for limit in (float(x) for x in limits.split(",")):
        with quiet_stdout():
            _, precompute_s = timed(pnet.precompute, limit)

        def query(limit: float = limit) -> tuple[list[np.ndarray], list[np.ndarray]]:
            with quiet_stdout():
                comp_ids = pnet.get_node_ids(pd.Series(comp_xy[:, 0]), pd.Series(comp_xy[:, 1]))
                nodes, comps = [], []
                for t in range(3):
                    xy = fac_xy[tier == t]
                    pnet.set_pois(
                        category=f"tier{t}",
                        maxdist=limit,
                        maxitems=1,
                        x_col=pd.Series(xy[:, 0]),
                        y_col=pd.Series(xy[:, 1]),
                    )
                    found = pnet.nearest_pois(limit, f"tier{t}", num_pois=1, include_poi_ids=True)
                    nodes.append(found[1].to_numpy())
                    comps.append(found.loc[comp_ids.to_numpy(), 1].to_numpy())  # each compound's
            return nodes, comps

        query()  # warm-up
        times, (nodes, _) = repeated(query, int(repeats))
        figures["limits"][str(limit)] = {"precompute_s": precompute_s, "query_s": times}
        for t, dist in enumerate(nodes):
            saved[f"{limit:g}_{t}"] = dist
    np.savez(out_path, **saved)
    print(json.dumps(figures))


# --------------------------------------------------------------------------------------------
# (a) nearest facility


def bench_nearest(
    workdir: Path,
    side: int,
    n_fac: int,
    n_comp: int,
    repeats: int,
    limits: tuple[float, ...],
    threads: tuple[int, ...],
) -> None:
    import dataclasses

    import networkx as nx
    from scipy.spatial import cKDTree

    from servicegrid.coverage.cache import load_network
    from servicegrid.coverage.distance import nearest_facility
    from servicegrid.coverage.snapping import snap_points

    path = workdir / "mesh100k.osm"
    info = write_mesh_osm(path, side=side, bends=1, diagonals=0.1)
    progress(f"(a) mesh {side}x{side} written ({info['bytes'] / 2**20:.1f} MB); building the network")
    net, build_s = timed(load_network, path, cache_dir=workdir / "cache")
    load_times, net = repeated(lambda: load_network(path, cache_dir=workdir / "cache"), 3)
    pieces = net.segment_index

    rng = np.random.default_rng(1)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    fac_xy = rng.uniform(lo, hi, size=(3 * n_fac, 2))
    comp_xy = rng.uniform(lo, hi, size=(n_comp, 2))
    tier = np.repeat(np.arange(3), n_fac)

    index_times: list[float] = []  # the part of servicegrid's runs spent building the index

    def ours(limit: float | None) -> list:
        fresh = dataclasses.replace(net)  # as loaded: no snapping index yet
        index_times.append(timed(lambda: fresh.segment_index)[1])
        fac = snap_points(fresh, fac_xy)
        comp = snap_points(fresh, comp_xy)
        return [nearest_facility(fresh, fac.take(tier == t), comp, limit=limit) for t in range(3)]

    def ours_cached(limit: float) -> list:
        # the network as a later run loads it: its snapping index restored from the cache
        fac = snap_points(net, fac_xy)
        comp = snap_points(net, comp_xy)
        return [nearest_facility(net, fac.take(tier == t), comp, limit=limit) for t in range(3)]

    sg: dict[float | None, list[float]] = {}
    for limit in (*limits, None):
        progress(f"    servicegrid, limit {limit}")
        ours(limit)  # warm-up
        sg[limit], _ = repeated(lambda limit=limit: ours(limit), repeats)
    sg_cached: dict[float, list[float]] = {}
    for limit in limits:
        ours_cached(limit)
        sg_cached[limit], _ = repeated(lambda limit=limit: ours_cached(limit), repeats)

    # pandana, in a child process per thread count
    data = workdir / "nearest-inputs.npz"
    np.savez(
        data,
        node_xy=net.node_xy,
        edge_u=net.edge_u,
        edge_v=net.edge_v,
        edge_length=net.edge_length,
        fac_xy=fac_xy,
        comp_xy=comp_xy,
        tier=tier,
    )
    pandana_runs: dict[int, dict] = {}
    for n_threads in threads:
        progress(f"    pandana, OMP_NUM_THREADS={n_threads}")
        out = workdir / f"pandana-{n_threads}.npz"
        env = {**os.environ, "OMP_NUM_THREADS": str(n_threads)}
        figures = run_child(
            ["--pandana-child", str(data), str(out), ",".join(f"{x:g}" for x in limits), str(repeats)], env
        )
        figures["distances"] = dict(np.load(out))
        pandana_runs[n_threads] = figures

    def pandana_median(run: dict, limit: float) -> float:
        return median(run["limits"][str(float(limit))]["query_s"])

    best_threads = min(pandana_runs, key=lambda k: sum(pandana_median(pandana_runs[k], x) for x in limits))

    # networkx (the graph osmnx would hand over); the shortest of parallel edges is added last
    progress("    networkx")
    keep = net.edge_u != net.edge_v
    order = np.argsort(-net.edge_length[keep], kind="stable")
    G = nx.Graph()
    _, nx_setup = timed(
        G.add_weighted_edges_from,
        zip(
            net.edge_u[keep][order].tolist(),
            net.edge_v[keep][order].tolist(),
            net.edge_length[keep][order].tolist(),
            strict=True,
        ),
        weight="length",
    )
    node_xy = net.node_xy

    def with_networkx(limit: float) -> list[dict]:
        tree = cKDTree(node_xy)  # what osmnx.distance.nearest_nodes builds
        _, fac_node = tree.query(fac_xy)
        _, comp_node = tree.query(comp_xy)
        out = []
        for t in range(3):
            dist = nx.multi_source_dijkstra_path_length(
                G, set(fac_node[tier == t].tolist()), cutoff=limit, weight="length"
            )
            _ = [dist.get(c, np.inf) for c in comp_node.tolist()]  # each compound's distance
            out.append(dist)
        return out

    nx_times: dict[float, list[float]] = {}
    nx_results: dict[float, list[dict]] = {}
    for limit in limits:
        with_networkx(limit)  # warm-up
        nx_times[limit], nx_results[limit] = repeated(lambda limit=limit: with_networkx(limit), repeats)

    # Check: with facilities at their nearest node, our node distances equal networkx's and pandana's.
    _, fac_node = net.kdtree.query(fac_xy)
    worst_nx, worst_pd, differ = 0.0, 0.0, 0
    for limit in limits:
        for t in range(3):
            at_nodes = snap_points(net, net.node_xy[fac_node[tier == t]])
            ours_nodes = nearest_facility(net, at_nodes, limit=limit).node_distance
            dist = nx_results[limit][t]
            theirs = np.full(net.n_nodes, np.inf)
            theirs[list(dist)] = list(dist.values())
            both = np.isfinite(theirs) & np.isfinite(ours_nodes)
            differ += int((np.isfinite(theirs) != np.isfinite(ours_nodes)).sum())
            worst_nx = max(worst_nx, float(np.abs(ours_nodes[both] - theirs[both]).max(initial=0)))
            for run in pandana_runs.values():
                p = run["distances"][f"{limit:g}_{t}"]
                reached = (p < limit) & np.isfinite(ours_nodes)
                worst_pd = max(worst_pd, float(np.abs(p[reached] - ours_nodes[reached]).max(initial=0)))

    # The table
    cols = [f"{x:,.0f} m" for x in limits]
    ours_cells = [spread_ms(sg[x]) for x in limits]
    base = {x: median(sg[x]) for x in limits}
    rows = [
        [
            f"servicegrid: snapping index built fresh ({pieces.start.shape[0]:,} pieces), "
            f"{3 * n_fac:,} facilities + {n_comp:,} compounds snapped to edges, "
            "3 × one multi-source dijkstra (`nearest_facility`)",
            "1",
            f"`load_network`, cached: {spread_ms(load_times)}",
            *ours_cells,
            *["—"] * len(limits),
        ],
        [
            "servicegrid, the same without a limit (what `servicegrid coverage` runs): "
            f"**{spread_ms(sg[None])}**",
            "1",
            "",
            *["—"] * (2 * len(limits)),
        ],
        [
            "servicegrid, the snapping index read with the cached network (every run after the first)",
            "1",
            "in `load_network`, cached",
            *[spread_ms(sg_cached[x]) for x in limits],
            *["—"] * len(limits),
        ],
    ]
    for n_threads in sorted(pandana_runs, key=lambda k: k != best_threads):
        run = pandana_runs[n_threads]
        pre = ", ".join(
            f"`precompute({x:g})` {seconds(run['limits'][str(float(x))]['precompute_s'])}" for x in limits
        )
        label = "pandana: `get_node_ids` (compounds) + 3 × (`set_pois` + `nearest_pois`) at the radius"
        if n_threads != best_threads:
            label = "pandana, the other thread count"
        rows.append(
            [
                label,
                f"{n_threads} (OMP_NUM_THREADS)" + (", the better" if n_threads == best_threads else ""),
                f"`Network` {seconds(run['network_s'])}; {pre}",
                *[spread_ms(run["limits"][str(float(x))]["query_s"]) for x in limits],
                *[slower(pandana_median(run, x) / base[x]) for x in limits],
            ]
        )
    rows.append(
        [
            "networkx: KD-tree of the nodes + nearest node of every point + "
            "3 × `multi_source_dijkstra_path_length` (distances only)",
            "1",
            f"`Graph` from the edge arrays: {seconds(nx_setup)}",
            *[spread_ms(nx_times[x]) for x in limits],
            *[slower(median(nx_times[x]) / base[x]) for x in limits],
        ]
    )
    print(f"\n### (a) Nearest facility, 3 tiers, {net.n_nodes:,}-node network\n")
    print(
        f"Mesh {side} × {side} ({info['bytes'] / 2**20:.1f} MiB .osm): {net.summary()}. "
        f"{n_fac:,} facilities in each of 3 tiers, {n_comp:,} compounds, uniform over the mesh. "
        f"Each tool's time is the median (max) of {repeats} runs after a warm-up; setup is paid once per run "
        f"and is not in the ratios. Network built from the .osm in {seconds(build_s)}.\n"
    )
    print(
        table(
            ["tool: what is timed", "threads", "setup", *cols, *[f"vs servicegrid, {c}" for c in cols]],
            rows,
        )
    )
    print(
        f"\nOf servicegrid's time, building the snapping index took {spread_ms(index_times)} "
        f"(all {len(index_times)} runs, warm-ups included). "
        f"With facilities at their nearest node, servicegrid's node distances equal networkx's within "
        f"{worst_nx:.1e} m ({differ} nodes reached by one and not the other) and pandana's within "
        f"{worst_pd:.3f} m (pandana rounds distances)."
    )


def spread_ms(values: list[float]) -> str:
    return spread(values, milliseconds)


# --------------------------------------------------------------------------------------------
# (b) loading


def bench_load(workdir: Path, side: int, buildings: int, skip_osmnx: bool, repeats: int) -> None:
    path = workdir / "county25mb.osm"
    info = write_mesh_osm(path, side=side, bends=1, diagonals=0.1, buildings=buildings, metadata=True, seed=2)
    size_mb = info["bytes"] / 2**20
    progress(f"(b) {path.name} written ({size_mb:.1f} MiB)")
    cache = workdir / "cache-b"
    args = [str(path), str(cache)]

    def runs(mode: str) -> list[dict]:
        return [run_child(["--child", mode, *args]) for _ in range(repeats)]

    def mid(found: list[dict], key: str) -> float:
        return median(r[key] for r in found)

    builds = runs("ours-build")
    trace = run_child(["--child", "ours-trace", *args])
    run_child(["--child", "ours-cached", *args])  # writes the cache entry
    cached = runs("ours-cached")
    rows = [
        [
            "servicegrid `network_from_osm`",
            seconds(mid(builds, "seconds")),
            f"+{mid(builds, 'rss_mb'):.0f} MB ({mid(builds, 'rss_mb') / size_mb:.1f}× the file; "
            f"tracemalloc peak {trace['traced_peak_mb']:.0f} MB)",
            f"{int(builds[0]['nodes']):,} nodes, {int(builds[0]['edges']):,} edges",
        ],
        ["servicegrid `load_network`, cached", seconds(mid(cached, "seconds")), "", ""],
    ]
    ratios = ""
    if not skip_osmnx:
        progress("    osmnx")
        theirs = runs("osmnx")
        reload = runs("osmnx-reload")
        rows += [
            [
                "osmnx `graph_from_xml` + `project_graph`",
                seconds(mid(theirs, "seconds")),
                f"+{mid(theirs, 'rss_mb'):.0f} MB ({mid(theirs, 'rss_mb') / size_mb:.1f}× the file)",
                f"{int(theirs[0]['nodes']):,} nodes (simplified, largest piece only)",
            ],
            ["osmnx graph reloaded with `pickle.load`", seconds(mid(reload, "seconds")), "", ""],
        ]
        ratios = (
            f"\nosmnx / servicegrid: building {ratio_text(mid(theirs, 'seconds') / mid(builds, 'seconds'))}; "
            f"reloading {ratio_text(mid(reload, 'seconds') / mid(cached, 'seconds'))} "
            f"(servicegrid's reload also hashes the .osm file to know its cache entry is current; "
            "the pickle is not checked against anything)."
        )
    print(f"\n### (b) Loading a {size_mb:.1f} MiB .osm file into a metric walking graph\n")
    print(
        f"{info['nodes']:,} nodes, {info['ways']:,} ways ({buildings:,} buildings). Median of {repeats} "
        "fresh processes each; memory is the peak resident set over the imports.\n"
    )
    print(table(["", "time", "peak memory over imports", "graph"], rows))
    print(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-osmnx-load", action="store_true", help="skip the slow osmnx load in (b)")
    parser.add_argument("--only", choices=("a", "b"), help="run only part (a) or (b)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per tool and radius in (a)")
    parser.add_argument(
        "--pandana-threads",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=(1, 2),
        help="OMP_NUM_THREADS values to run pandana with (comma-separated; the better is compared)",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--pandana-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.pandana_child:
        pandana_child(*args.pandana_child)
        return
    logging.basicConfig(level=logging.WARNING)
    load = LoadAverage()
    print("## network_bench\n")
    print(f"{command_line()}. {machine_line('pandana', 'networkx', 'osmnx', 'shapely')}.")
    with tempfile.TemporaryDirectory(prefix="servicegrid-bench-") as tmp:
        workdir = Path(tmp)
        a_side, n_fac, n_comp, b_side, buildings = (
            (60, 50, 200, 60, 1_000) if args.quick else (333, 500, 2_000, 182, 9_000)
        )
        if args.only != "b":
            bench_nearest(
                workdir,
                side=a_side,
                n_fac=n_fac,
                n_comp=n_comp,
                repeats=args.repeats,
                limits=LIMITS_M,
                threads=args.pandana_threads,
            )
        if args.only != "a":
            bench_load(workdir, side=b_side, buildings=buildings, skip_osmnx=args.skip_osmnx_load, repeats=3)
    print(f"\n{load.line()}")


if __name__ == "__main__":
    main()
