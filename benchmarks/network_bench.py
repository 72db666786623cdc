"""Walking network: loading an OSM file, and nearest facility for a county, against pandana and osmnx.

Run: .venv/bin/python benchmarks/network_bench.py [--quick] [--skip-osmnx-load]

Generates its own inputs in a temporary folder: a jittered street mesh (streets of up to ten
blocks, a bend in every block, diagonal footpaths, buildings) written as OSM XML the way an
openstreetmap.org export looks. Then, in the same run:

(a) a ~100k-node walking network with 500 facilities in each of 3 tiers and 2,000 compounds to
    snap: nearest facility and walking distance for every node and every compound, all 3 tiers,
    once the network is loaded; the same with pandana (``nearest_pois``) and with networkx
    (``multi_source_dijkstra``, sources snapped to nodes as ``osmnx.distance.nearest_nodes``
    does) on the same graph, with the results checked against ours;
(b) loading a ~25 MB .osm file into a metric walking graph (``network_from_osm``) against
    ``osmnx.graph_from_xml`` + ``project_graph``; the cached reload (``load_network``); and peak
    memory. Each load runs in a fresh child process; memory is the child's peak resident set
    size during the load (``VmHWM`` in /proc/self/status, reset after the imports through
    /proc/self/clear_refs) minus its resident size after the imports, so it counts libosmium's
    and numpy's memory too (Linux only). The Python-heap peak measured by ``tracemalloc``
    (numpy arrays included, libosmium excluded) is printed as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from servicegrid.geo.crs import metric_crs_for_lonlat

ORIGIN = (116.65, 26.26)  # lon, lat of the mesh's south-west corner (a county seat in Fujian)
METADATA = 'visible="true" version="3" changeset="81234567" timestamp="2020-05-01T08:00:00Z" user="mapper" uid="4242" '
LIMIT_M = 3_000.0  # search radius for all three tiers (pandana needs one)


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
# Child processes for loading (clean memory figures)


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


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C++ progress output (pandana prints from its core) at the file-descriptor level."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def child(mode: str, path: str, cache: str) -> None:
    """Run one load in this (fresh) process and print its figures as JSON."""
    import tracemalloc

    from servicegrid.coverage.cache import load_network
    from servicegrid.coverage.sources import network_from_osm

    if mode == "osmnx":
        import osmnx as ox

        base = _reset_peak()
        start = time.perf_counter()
        G = ox.graph_from_xml(path)
        P = ox.project_graph(G, to_crs=metric_crs_for_lonlat(ORIGIN[0] + 0.1, ORIGIN[1] + 0.1))
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "rss_mb": _status_mb("VmHWM") - base, "nodes": len(P)}))
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
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": _status_mb("VmHWM") - base,
                "nodes": net.n_nodes,
                "edges": net.n_edges,
            }
        )
    )


def run_child(mode: str, path: Path, cache: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(cache)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# (a) nearest facility


def best_of(repeats: int, fn) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_nearest(workdir: Path, side: int, n_fac: int, n_comp: int, repeats: int) -> None:
    import networkx as nx
    import pandana
    import pandas as pd

    from servicegrid.coverage.cache import load_network
    from servicegrid.coverage.distance import nearest_facility
    from servicegrid.coverage.snapping import snap_points

    path = workdir / "mesh100k.osm"
    info = write_mesh_osm(path, side=side, bends=1, diagonals=0.1)
    start = time.perf_counter()
    net = load_network(path, cache_dir=workdir / "cache")
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    pieces = net.segment_index
    index_s = time.perf_counter() - start
    print(
        f"\n(a) nearest facility — mesh {side}x{side}: {info['bytes'] / 2**20:.1f} MB .osm, {net.summary()}"
    )
    print(
        f"    network built in {build_s:.2f} s; snapping index ({pieces.start.shape[0]:,} pieces) "
        f"built in {index_s * 1000:.0f} ms"
    )

    rng = np.random.default_rng(1)
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    fac_xy = rng.uniform(lo, hi, size=(3 * n_fac, 2))
    comp_xy = rng.uniform(lo, hi, size=(n_comp, 2))
    tier = np.repeat(np.arange(3), n_fac)

    def ours(limit: float | None) -> list:
        fac = snap_points(net, fac_xy)
        comp = snap_points(net, comp_xy)
        return [nearest_facility(net, fac.take(tier == t), comp, limit=limit) for t in range(3)]

    ours(LIMIT_M)  # warm up
    t_ours, res_ours = best_of(repeats, lambda: ours(LIMIT_M))
    t_ours_unbounded, _ = best_of(repeats, lambda: ours(None))
    print(
        f"    servicegrid: snap {3 * n_fac:,} facilities + {n_comp:,} compounds to edges, then 3 tiers "
        f"x nearest facility for {net.n_nodes:,} nodes and {n_comp:,} compounds: "
        f"{t_ours * 1000:.0f} ms (limit {LIMIT_M:,.0f} m), {t_ours_unbounded * 1000:.0f} ms (no limit)"
    )

    # Node-snapped sources: what pandana and osmnx+networkx compute (facilities at their nearest node).
    _, fac_node = net.kdtree.query(fac_xy)

    # pandana
    start = time.perf_counter()
    with _quiet_stdout():
        pnet = pandana.Network(
            net.node_xy[:, 0],
            net.node_xy[:, 1],
            net.edge_u,
            net.edge_v,
            pd.DataFrame({"length": net.edge_length}),
            twoway=True,
        )
        pnet.precompute(LIMIT_M)
    pandana_setup = time.perf_counter() - start

    def with_pandana() -> list:
        out = []
        comp_ids = pnet.get_node_ids(pd.Series(comp_xy[:, 0]), pd.Series(comp_xy[:, 1]))
        for t in range(3):
            xy = fac_xy[tier == t]
            pnet.set_pois(f"tier{t}", LIMIT_M, 1, pd.Series(xy[:, 0]), pd.Series(xy[:, 1]))
            table = pnet.nearest_pois(LIMIT_M, f"tier{t}", num_pois=1, include_poi_ids=True)
            out.append((table, comp_ids))
        return out

    with_pandana()
    t_pandana, res_pandana = best_of(repeats, with_pandana)
    print(
        f"    pandana: Network + precompute({LIMIT_M:,.0f}) {pandana_setup:.1f} s once; "
        f"set_pois + nearest_pois for 3 tiers + get_node_ids for compounds: {t_pandana * 1000:.0f} ms"
    )

    # networkx (the graph osmnx would hand over), sources snapped to nodes
    start = time.perf_counter()
    G = nx.Graph()
    keep = net.edge_u != net.edge_v
    G.add_weighted_edges_from(
        zip(
            net.edge_u[keep].tolist(), net.edge_v[keep].tolist(), net.edge_length[keep].tolist(), strict=True
        ),
        weight="length",
    )
    nx_setup = time.perf_counter() - start

    def with_networkx() -> list:
        out = []
        for t in range(3):
            dist, paths = nx.multi_source_dijkstra(
                G, set(fac_node[tier == t].tolist()), cutoff=LIMIT_M, weight="length"
            )
            out.append((dist, {node: p[0] for node, p in paths.items()}))
        return out

    t_nx, res_nx = best_of(max(1, repeats // 3), with_networkx)
    print(
        f"    networkx: graph built in {nx_setup:.1f} s; multi_source_dijkstra (with paths, to know the "
        f"nearest facility) for 3 tiers: {t_nx * 1000:.0f} ms"
    )

    # Check: with facilities at their nearest node, our node distances equal networkx's.
    from servicegrid.coverage.snapping import snap_points as snap

    worst_nx, worst_pd = 0.0, 0.0
    for t in range(3):
        at_nodes = snap(net, net.node_xy[fac_node[tier == t]])
        ours_nodes = nearest_facility(net, at_nodes, limit=LIMIT_M).node_distance
        dist, _ = res_nx[t]
        theirs = np.full(net.n_nodes, np.inf)
        theirs[list(dist)] = list(dist.values())
        both = np.isfinite(theirs)
        assert np.array_equal(both, np.isfinite(ours_nodes)), "reachability differs from networkx"
        worst_nx = max(worst_nx, float(np.abs(ours_nodes[both] - theirs[both]).max()))
        table, _ = res_pandana[t]
        p = table[1].to_numpy()
        reached = (p < LIMIT_M) & np.isfinite(ours_nodes)
        worst_pd = max(worst_pd, float(np.abs(p[reached] - ours_nodes[reached]).max()))
    print(
        f"    check (facilities at nodes): max |ours - networkx| = {worst_nx:.2e} m; "
        f"max |ours - pandana| = {worst_pd:.3f} m (pandana rounds distances)"
    )
    print(
        f"    ratios: pandana / servicegrid = {t_pandana / t_ours:.1f}x; "
        f"networkx / servicegrid = {t_nx / t_ours:.1f}x"
    )
    _ = res_ours


# --------------------------------------------------------------------------------------------
# (b) loading


def bench_load(workdir: Path, side: int, buildings: int, skip_osmnx: bool) -> None:
    path = workdir / "county25mb.osm"
    info = write_mesh_osm(path, side=side, bends=1, diagonals=0.1, buildings=buildings, metadata=True, seed=2)
    size_mb = info["bytes"] / 2**20
    print(
        f"\n(b) loading — {path.name}: {size_mb:.1f} MB, {info['nodes']:,} nodes, {info['ways']:,} ways "
        f"({buildings:,} buildings)"
    )
    cache = workdir / "cache-b"
    builds = [run_child("ours-build", path, cache) for _ in range(3)]
    build = min(builds, key=lambda r: r["seconds"])
    trace = run_child("ours-trace", path, cache)
    run_child("ours-cached", path, cache)  # writes the cache entry
    cached = min((run_child("ours-cached", path, cache) for _ in range(3)), key=lambda r: r["seconds"])
    print(
        f"    servicegrid network_from_osm: {build['seconds']:.2f} s (best of 3) -> "
        f"{int(build['nodes']):,} nodes, {int(build['edges']):,} edges; peak RSS +{build['rss_mb']:.0f} MB "
        f"({build['rss_mb'] / size_mb:.1f}x the file; tracemalloc peak {trace['traced_peak_mb']:.0f} MB)"
    )
    print(
        f"    servicegrid load_network, cached: {cached['seconds'] * 1000:.0f} ms (best of 3, fresh process each)"
    )
    if skip_osmnx:
        return
    theirs = run_child("osmnx", path, cache)
    print(
        f"    osmnx graph_from_xml + project_graph: {theirs['seconds']:.1f} s -> {int(theirs['nodes']):,} nodes "
        f"(simplified); peak RSS +{theirs['rss_mb']:.0f} MB ({theirs['rss_mb'] / size_mb:.1f}x the file)"
    )
    print(
        f"    ratios: osmnx / servicegrid build = {theirs['seconds'] / build['seconds']:.1f}x; "
        f"osmnx / cached reload = {theirs['seconds'] / cached['seconds']:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-osmnx-load", action="store_true", help="skip the slow osmnx load in (b)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("a", "b"), help="run only part (a) or (b)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="servicegrid-bench-") as tmp:
        workdir = Path(tmp)
        a_side, n_fac, n_comp, b_side, buildings = (
            (60, 50, 200, 60, 1_000) if args.quick else (333, 500, 2_000, 182, 9_000)
        )
        if args.only != "b":
            bench_nearest(workdir, side=a_side, n_fac=n_fac, n_comp=n_comp, repeats=7)
        if args.only != "a":
            bench_load(workdir, side=b_side, buildings=buildings, skip_osmnx=args.skip_osmnx_load)


if __name__ == "__main__":
    main()
