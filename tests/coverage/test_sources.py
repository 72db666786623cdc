"""Tests for servicegrid.coverage.sources and .osmnx_graphs: walking networks from OSM files, lines
and osmnx graphs."""

from __future__ import annotations

import bz2
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from servicegrid.coverage.cache import load_network
from servicegrid.coverage.network import StreetNetwork
from servicegrid.coverage.osmnx_graphs import network_from_graphml, network_from_osmnx
from servicegrid.coverage.sources import is_walkable, network_from_lines, network_from_osm
from servicegrid.errors import NetworkError
from tests.builders import frame
from tests.conftest import shared_path

from .conftest import (
    AGUASCALIENTES,
    HAIDIAN,
    METRIC,
    NINGHUA,
    OAKLAND,
    REAL_FILES,
    assert_same_network,
    nodes_xml,
    way_xml,
    write_osm,
)


def to_nx(net: StreetNetwork) -> nx.Graph:
    """An undirected networkx graph of the network's edge arrays (shortest of parallel edges)."""
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    for u, v, length in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length.tolist(), strict=True):
        if u != v and (not G.has_edge(u, v) or G[u][v]["length"] > length):
            G.add_edge(u, v, length=length)
    return G


# --------------------------------------------------------------------------------------------
# Lines


def test_lines_crossing_without_a_shared_vertex_are_not_connected():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 10)]), LineString([(0, 10), (10, 0)])], crs=METRIC
    )
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_nodes == 4
    assert net.component_sizes.tolist() == [2, 2]


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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_graphml_railways_and_rivers_are_not_walked(tmp_path):
    """A GraphML from osmnx's graph_from_xml carries every way: the walk filter drops the others."""
    import networkx as nx

    G = nx.MultiDiGraph(crs="EPSG:4326", name="county.graphml")
    xy = {1: (113.600, 37.700), 2: (113.601, 37.700), 3: (113.602, 37.700), 4: (113.603, 37.700)}
    for n, (x, y) in xy.items():
        G.add_node(n, x=x, y=y)
    G.add_edge(1, 2, osmid=10, highway="footway")
    G.add_edge(2, 3, osmid=11, railway="rail")
    G.add_edge(3, 4, osmid=12, highway="['residential', 'motorway']")  # osmnx's merged edge: walkable
    G.add_edge(1, 4, osmid=13, waterway="river")
    G.add_edge(2, 4, osmid=14, highway="motorway")
    path = tmp_path / "county.graphml"
    nx.write_graphml(G, path)
    net = network_from_graphml(path)
    assert sorted(net.edge_way.tolist()) == [10, 12]
    assert net.problems == (
        "dropped 3 of 5 ways that are not walkable: highway=motorway 1, railway=rail 1, waterway=river 1",
    )


def test_roads_layer_with_a_highway_column_is_filtered_but_unclassed_lines_kept():
    roads = frame(
        [
            {"id": "R1", "highway": "footway"},
            {"id": "R2", "highway": "motorway"},
            {"id": "R3", "highway": None},
        ],
        [
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(100, 0), (200, 0)]),
            shapely.LineString([(200, 0), (300, 0)]),
        ],
    )
    net = network_from_lines(roads)
    assert sorted(set(net.edge_way.tolist())) == [0, 2]
    assert net.problems == ("dropped 1 of 2 ways that are not walkable: highway=motorway 1",)
