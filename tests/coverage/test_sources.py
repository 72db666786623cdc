"""Tests for servicegrid.coverage.network: building walking networks from OSM, lines and osmnx."""

from __future__ import annotations

import bz2
import shutil
import textwrap
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from servicegrid.coverage.network import (
    StreetNetwork,
    is_walkable,
    load_network,
    network_from_graphml,
    network_from_lines,
    network_from_osm,
    network_from_osmnx,
    read_network,
    write_network,
)
from servicegrid.errors import NetworkError
from tests.conftest import shared_path

METRIC = "EPSG:32650"

HAIDIAN = ("cn-beijing-haidian-xueyuanlu-osm", "map.osm")
NINGHUA = ("cn-fujian-ninghua-county-osm", "map.osm")
OAKLAND = ("intl-osmnx-testdata", "West-Oakland.osm.bz2")
AGUASCALIENTES = ("intl-osmnx-testdata", "aguascalientes.osm.pbf")
GERMANY = ("intl-osmnx-testdata", "planet_10.068,48.135_10.071,48.137.osm")
REAL_FILES = [HAIDIAN, NINGHUA, OAKLAND, AGUASCALIENTES, GERMANY]


def lattice_lines(n: int = 5, spacing: float = 10.0) -> gpd.GeoDataFrame:
    """Streets of an n x n lattice: one line per row and column, with a vertex at every crossing."""
    ticks = np.arange(n) * spacing
    rows = [LineString([(x, y) for x in ticks]) for y in ticks]
    cols = [LineString([(x, y) for y in ticks]) for x in ticks]
    return gpd.GeoDataFrame(geometry=rows + cols, crs=METRIC)


def to_nx(net: StreetNetwork) -> nx.Graph:
    """An undirected networkx graph of the network's edge arrays (shortest of parallel edges)."""
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    for u, v, length in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length.tolist(), strict=True):
        if u != v and (not G.has_edge(u, v) or G[u][v]["length"] > length):
            G.add_edge(u, v, length=length)
    return G


def write_osm(path: Path, body: str, *, bounds: str | None = None) -> Path:
    box = f"\n <bounds {bounds}/>" if bounds else ""
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">{box}\n'
        + textwrap.dedent(body)
        + "\n</osm>\n",
        encoding="utf-8",
    )
    return path


def nodes_xml(coords: dict[int, tuple[float, float]]) -> str:
    return "\n".join(f'<node id="{i}" lat="{lat:.7f}" lon="{lon:.7f}"/>' for i, (lon, lat) in coords.items())


def way_xml(way_id: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tag = "".join(f'<tag k="{k.replace("_", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{way_id}">{nds}{tag}</way>'


def assert_same_network(a: StreetNetwork, b: StreetNetwork) -> None:
    assert a.crs.equals(b.crs)
    for name in ("node_ids", "edge_u", "edge_v", "edge_way", "edge_offsets", "component"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("node_xy", "edge_length", "edge_coords"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.graph != b.graph).nnz == 0


# --------------------------------------------------------------------------------------------
# Lines


def test_lattice_from_lines_has_a_node_at_every_crossing():
    net = network_from_lines(lattice_lines(5, 10.0), crs=METRIC)
    assert net.n_nodes == 25
    assert net.n_edges == 40
    np.testing.assert_allclose(net.edge_length, 10.0)
    assert net.component_sizes.tolist() == [25]
    # Corner to opposite corner walks the Manhattan distance, 80 m, not the diagonal 56.6 m.
    corner = np.flatnonzero((net.node_xy == [0, 0]).all(axis=1))[0]
    far = np.flatnonzero((net.node_xy == [40, 40]).all(axis=1))[0]
    assert dijkstra(net.graph, indices=corner)[far] == pytest.approx(80.0)


def test_lines_crossing_without_a_shared_vertex_are_not_connected():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 10)]), LineString([(0, 10), (10, 0)])], crs=METRIC
    )
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_nodes == 4
    assert net.component_sizes.tolist() == [2, 2]


def test_lines_meeting_at_an_interior_vertex_are_split_there():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 0), (20, 0)]), LineString([(10, 0), (10, 15)])], crs=METRIC
    )
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_nodes == 4
    assert sorted(net.edge_length.tolist()) == [10.0, 10.0, 15.0]
    # edge_way points back to the row of the roads layer
    assert sorted(net.edge_way.tolist()) == [0, 0, 1]


def test_intermediate_vertices_are_kept_as_edge_geometry_and_length():
    roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (3, 4), (3, 14)])], crs=METRIC)
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_nodes == 2
    assert net.edge_length.tolist() == [15.0]
    assert shapely.equals(net.edge_geometry[0], LineString([(0, 0), (3, 4), (3, 14)]))


def test_lines_in_lonlat_are_built_in_the_metric_crs():
    roads = gpd.GeoDataFrame(geometry=[LineString([(116.35, 39.99), (116.35, 40.0)])], crs=4326)
    net = network_from_lines(roads)
    assert net.crs.to_epsg() == 4548  # CGCS2000 3-degree Gauss-Krüger CM 117E
    expected = roads.to_crs(4548).length.iloc[0]
    assert net.edge_length[0] == pytest.approx(expected, abs=1e-6)
    assert 1100 < net.edge_length[0] < 1115  # 0.01 degree of latitude


def test_lines_refuse_polygons_and_missing_crs():
    with pytest.raises(NetworkError, match="row 2: a Polygon"):
        network_from_lines(
            gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 0)]), shapely.box(0, 0, 1, 1)], crs=METRIC)
        )
    with pytest.raises(NetworkError, match="no CRS"):
        network_from_lines(gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 0)])]))


def test_parallel_edges_keep_the_shorter_in_the_matrix_but_both_for_snapping():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 0)]), LineString([(0, 0), (5, 5), (10, 0)])], crs=METRIC
    )
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_edges == 2
    assert net.graph.nnz == 2
    assert net.graph[[0], [1]][0] == pytest.approx(10.0)


# --------------------------------------------------------------------------------------------
# The walk filter


def test_walk_filter_keeps_what_pedestrians_use():
    assert is_walkable({"highway": "footway"})
    assert is_walkable({"highway": "cycleway"})
    assert is_walkable({"highway": "trunk"})
    assert not is_walkable({"highway": "motorway"})
    assert not is_walkable({"highway": "motorway_link"})
    assert not is_walkable({"highway": "construction"})
    assert not is_walkable({"building": "yes"})
    assert not is_walkable({"highway": "pedestrian", "area": "yes"})
    assert not is_walkable({"highway": "primary", "foot": "no"})
    assert not is_walkable({"highway": "trunk", "motorroad": "yes"})
    assert not is_walkable({"highway": "secondary", "sidewalk": "separate"})
    assert not is_walkable({"highway": "service", "access": "private"})
    assert not is_walkable({"highway": "service", "service": "private"})
    assert is_walkable({"highway": "service", "access": "private"}, include_private=True)
    assert is_walkable({"highway": "service", "access": "no", "foot": "designated"})


def test_osm_file_keeps_only_walkable_ways(tmp_path):
    coords = {i: (116.30 + 0.001 * i, 39.99) for i in range(1, 12)}
    body = "\n".join(
        [
            nodes_xml(coords),
            way_xml(1, [1, 2], highway="footway"),
            way_xml(2, [2, 3], highway="motorway"),
            way_xml(3, [3, 4], highway="primary", foot="no"),
            way_xml(4, [4, 5], highway="service", access="private"),
            way_xml(5, [5, 6], highway="pedestrian", area="yes"),
            way_xml(6, [6, 7], highway="cycleway"),
            way_xml(7, [7, 8], highway="trunk", motorroad="yes"),
            way_xml(8, [8, 9], highway="residential", sidewalk="separate"),
            way_xml(9, [9, 10], building="yes"),
            way_xml(10, [10, 11], highway="steps"),
        ]
    )
    path = write_osm(tmp_path / "filter.osm", body)
    assert set(network_from_osm(path).edge_way.tolist()) == {1, 6, 10}
    assert set(network_from_osm(path, include_private=True).edge_way.tolist()) == {1, 4, 6, 10}


def test_way_with_missing_node_is_split_not_bridged(tmp_path):
    coords = {1: (116.30, 39.99), 2: (116.301, 39.99), 4: (116.303, 39.99)}
    path = write_osm(
        tmp_path / "gap.osm", nodes_xml(coords) + "\n" + way_xml(7, [1, 2, 3, 4], highway="footway")
    )
    net = network_from_osm(path)
    # 1-2 stays an edge; 4 is alone (a one-node piece is no path) and node 3 is not invented.
    assert net.n_edges == 1
    assert sorted(net.node_ids.tolist()) == [1, 2]
    assert any("missing from the file" in p and "node 3" in p for p in net.problems)


# --------------------------------------------------------------------------------------------
# Real files: distances equal networkx's and osmnx's


@pytest.mark.parametrize("parts", REAL_FILES, ids=lambda p: p[0] if p[1] == "map.osm" else p[1])
def test_real_file_distances_equal_networkx(parts):
    net = network_from_osm(shared_path(*parts))
    assert net.crs.is_projected
    np.testing.assert_allclose(shapely.length(net.edge_geometry), net.edge_length, atol=1e-6)
    G = to_nx(net)
    rng = np.random.default_rng(20240601)
    sources = rng.choice(net.n_nodes, size=min(20, net.n_nodes), replace=False)
    ours = dijkstra(net.graph, directed=True, indices=sources)
    pairs = 0
    for row, s in enumerate(sources.tolist()):
        theirs = nx.single_source_dijkstra_path_length(G, s, weight="length")
        targets = rng.choice(net.n_nodes, size=min(30, net.n_nodes), replace=False)
        for t in targets.tolist():
            expected = theirs.get(t, np.inf)
            assert ours[row, t] == pytest.approx(expected, abs=0.01)
            pairs += 1
    assert pairs >= min(100, net.n_nodes**2)


def osmnx_walk_graph(path: Path, net: StreetNetwork) -> nx.Graph:
    """osmnx's unsimplified graph of ``path``, projected to ``net.crs``, restricted to the same
    ways, with edge lengths measured in that CRS (osmnx's own lengths are great-circle)."""
    ox = pytest.importorskip("osmnx", reason="osmnx is needed for the cross-check against osmnx")
    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    P = ox.project_graph(G, to_crs=net.crs)
    ways = set(net.edge_way.tolist())
    H = nx.Graph()
    segments = {}
    for u, v, data in P.edges(data=True):
        if data.get("osmid") in ways and u != v:
            length = float(np.hypot(P.nodes[u]["x"] - P.nodes[v]["x"], P.nodes[u]["y"] - P.nodes[v]["y"]))
            segments[(min(u, v), max(u, v), data["osmid"])] = length
            if not H.has_edge(u, v) or H[u][v]["length"] > length:
                H.add_edge(u, v, length=length)
    for node in H.nodes:
        H.nodes[node]["xy"] = (P.nodes[node]["x"], P.nodes[node]["y"])
    H.graph["way_length"] = sum(segments.values())
    return H


@pytest.mark.parametrize("parts", [HAIDIAN, OAKLAND], ids=lambda p: p[0] if p[1] == "map.osm" else p[1])
def test_real_file_distances_equal_osmnx_unsimplified_graph(parts):
    path = shared_path(*parts)
    net = network_from_osm(path)
    H = osmnx_walk_graph(path, net)
    # Every node of ours is an OSM node of osmnx's graph, at the same projected position.
    ours_ids = net.node_ids.tolist()
    assert set(ours_ids) <= set(H.nodes)
    theirs_xy = np.array([H.nodes[i]["xy"] for i in ours_ids])
    np.testing.assert_allclose(net.node_xy, theirs_xy, atol=1e-6)
    # The same ways have the same total length (each segment of each way counted once).
    assert H.graph["way_length"] == pytest.approx(net.total_length_m, rel=1e-9)
    rng = np.random.default_rng(7)
    sources = rng.choice(net.n_nodes, size=15, replace=False)
    ours = dijkstra(net.graph, directed=True, indices=sources)
    checked = 0
    for row, s in enumerate(sources.tolist()):
        theirs = nx.single_source_dijkstra_path_length(H, ours_ids[s], weight="length")
        for t in rng.choice(net.n_nodes, size=25, replace=False).tolist():
            assert ours[row, t] == pytest.approx(theirs.get(ours_ids[t], np.inf), abs=0.01)
            checked += 1
    assert checked >= 300


# --------------------------------------------------------------------------------------------
# Every format loads to the same graph


def test_osm_and_bz2_load_to_the_same_network(tmp_path):
    src = shared_path(*HAIDIAN)
    packed = tmp_path / "map.osm.bz2"
    packed.write_bytes(bz2.compress(src.read_bytes()))
    assert_same_network(network_from_osm(src), network_from_osm(packed))


def test_pbf_and_its_xml_conversion_load_to_the_same_network(tmp_path):
    pbf = shared_path(*AGUASCALIENTES)
    xml = tmp_path / "aguascalientes.osm"
    header = osmium.io.Header()
    header.add_box(osmium.io.Reader(str(pbf), osmium.osm.NOTHING).header().box())
    with osmium.SimpleWriter(str(xml), header=header) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
    a, b = network_from_osm(pbf), network_from_osm(xml)
    assert a.n_edges > 1000
    assert_same_network(a, b)


def test_graphml_and_osmnx_graph_give_the_osm_distances(tmp_path):
    ox = pytest.importorskip("osmnx", reason="osmnx writes the GraphML under test")
    path = shared_path(*HAIDIAN)
    net = network_from_osm(path)
    G = ox.graph_from_xml(path, simplify=False, retain_all=True)
    ways = set(net.edge_way.tolist())
    G.remove_edges_from([(u, v, k) for u, v, k, w in G.edges(keys=True, data="osmid") if w not in ways])
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    G = ox.simplify_graph(G)
    graphml = tmp_path / "haidian.graphml"
    ox.save_graphml(G, graphml)

    for other in (network_from_graphml(graphml, crs=net.crs), network_from_osmnx(G, crs=net.crs)):
        assert other.crs.equals(net.crs)
        assert other.total_length_m == pytest.approx(net.total_length_m, rel=1e-9)
        common = np.intersect1d(other.node_ids, net.node_ids)
        assert common.size > 200
        rng = np.random.default_rng(11)
        picks = rng.choice(common, size=12, replace=False)
        pos_net = {v: i for i, v in enumerate(net.node_ids.tolist())}
        pos_other = {v: i for i, v in enumerate(other.node_ids.tolist())}
        a = dijkstra(net.graph, indices=[pos_net[p] for p in picks.tolist()])
        b = dijkstra(other.graph, indices=[pos_other[p] for p in picks.tolist()])
        cols_a = [pos_net[c] for c in common.tolist()]
        cols_b = [pos_other[c] for c in common.tolist()]
        np.testing.assert_allclose(a[:, cols_a], b[:, cols_b], atol=0.01)


# --------------------------------------------------------------------------------------------
# Cache


def test_cache_reloads_an_identical_network_and_rebuilds_when_a_byte_changes(tmp_path):
    src = tmp_path / "ninghua.osm"
    shutil.copyfile(shared_path(*NINGHUA), src)
    cache = tmp_path / "cache"
    first = load_network(src, cache_dir=cache)
    files = sorted(cache.glob("*.network.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = load_network(src, cache_dir=cache)
    assert_same_network(first, second)
    assert files[0].stat().st_mtime_ns == stamp  # read, not rewritten
    assert second.source == first.source

    # Move one node of a walkable way by changing one digit: a new cache entry and a new graph.
    text = src.read_text(encoding="utf-8")
    node = int(first.node_ids[0])
    start = text.index(f'<node id="{node}"')
    lat_at = text.index('lat="', start) + len('lat="') + 5
    digit = text[lat_at]
    src.write_text(text[:lat_at] + ("1" if digit != "1" else "2") + text[lat_at + 1 :], encoding="utf-8")
    third = load_network(src, cache_dir=cache)
    assert len(sorted(cache.glob("*.network.npz"))) == 2
    assert not np.array_equal(third.node_xy, first.node_xy)


def test_cache_key_includes_the_crs(tmp_path):
    src = shared_path(*NINGHUA)
    a = load_network(src, cache_dir=tmp_path)
    b = load_network(src, cache_dir=tmp_path, crs="EPSG:32650")
    assert a.crs.to_epsg() == 4548
    assert b.crs.to_epsg() == 32650
    assert len(list(tmp_path.glob("*.network.npz"))) == 2


def test_corrupt_cache_entry_is_rebuilt(tmp_path, caplog):
    src = shared_path(*NINGHUA)
    first = load_network(src, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.network.npz")
    entry.write_bytes(b"not a zip file")
    again = load_network(src, cache_dir=tmp_path)
    assert_same_network(first, again)
    assert "ignoring the cached network" in caplog.text
    assert_same_network(first, read_network(entry))


def test_write_and_read_round_trip_keeps_geometry(tmp_path):
    net = network_from_lines(lattice_lines(4, 25.0), crs=METRIC)
    back = read_network(write_network(net, tmp_path / "n.npz"))
    assert_same_network(net, back)
    assert shapely.equals(back.edge_geometry, net.edge_geometry).all()


# --------------------------------------------------------------------------------------------
# Bad input


def test_empty_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "empty.osm"
    path.write_bytes(b"")
    with pytest.raises(NetworkError, match=r"empty\.osm: the file is empty"):
        network_from_osm(path)


def test_truncated_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "cut.osm"
    path.write_bytes(shared_path(*NINGHUA).read_bytes()[:5000])
    with pytest.raises(
        NetworkError, match=r"cut\.osm: cannot read as OpenStreetMap data .*XML parsing error"
    ):
        network_from_osm(path)


def test_file_without_walkable_ways_is_refused(tmp_path):
    coords = {1: (116.30, 39.99), 2: (116.301, 39.99), 3: (116.301, 39.991)}
    path = write_osm(
        tmp_path / "houses.osm", nodes_xml(coords) + "\n" + way_xml(1, [1, 2, 3, 1], building="yes")
    )
    with pytest.raises(NetworkError, match=r"houses\.osm: no walkable ways"):
        network_from_osm(path)


def test_wrong_kind_of_file_is_refused(tmp_path):
    path = tmp_path / "roads.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(NetworkError, match=r"roads\.csv: not an OpenStreetMap file name"):
        network_from_osm(path)
    with pytest.raises(NetworkError, match="no such file"):
        load_network(tmp_path / "missing.osm", cache_dir=None)
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><graph>")
    with pytest.raises(NetworkError, match=r"bad\.graphml: not a readable GraphML file"):
        network_from_graphml(bad)


def test_disconnected_pieces_are_kept_and_reported(tmp_path, caplog):
    roads = gpd.GeoDataFrame(
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (100, 100)]),
            LineString([(500, 500), (510, 500)]),
        ],
        crs=METRIC,
    )
    with caplog.at_level("INFO", logger="servicegrid.coverage.network"):
        net = network_from_lines(roads, crs=METRIC)
    assert net.component_sizes.tolist() == [3, 2]
    island = np.flatnonzero(net.component == 1)
    assert sorted(net.node_xy[island, 0].tolist()) == [500.0, 510.0]
    assert "1 smaller piece(s) not connected" in caplog.text
    nodes, edges = net.to_frames()
    assert len(nodes) == 5
    assert len(edges) == 3
    assert edges.crs.equals(net.crs)
    assert edges["component"].tolist().count(1) == 1
