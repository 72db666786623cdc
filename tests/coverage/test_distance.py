"""Tests for servicegrid.coverage.distance: nearest facility and sparse distance matrices."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from servicegrid.coverage.distance import distance_matrix_sparse, nearest_facility
from servicegrid.coverage.network import StreetNetwork
from servicegrid.coverage.snapping import SnapResult, snap_points
from servicegrid.coverage.sources import network_from_lines, network_from_osm
from servicegrid.errors import InputError
from tests.conftest import shared_path

METRIC = "EPSG:32650"


def network(*coords: list[tuple[float, float]]) -> StreetNetwork:
    frame = gpd.GeoDataFrame(geometry=[LineString(c) for c in coords], crs=METRIC)
    return network_from_lines(frame, crs=METRIC)


def lattice(n: int = 11, spacing: float = 10.0) -> StreetNetwork:
    ticks = np.arange(n) * spacing
    rows = [[(x, y) for x in ticks] for y in ticks]
    cols = [[(x, y) for y in ticks] for x in ticks]
    return network(*rows, *cols)


def snap(net: StreetNetwork, *xy: tuple[float, float], limit: float = 300.0) -> SnapResult:
    return snap_points(net, gpd.GeoSeries([Point(p) for p in xy], crs=METRIC), max_distance=limit)


# --------------------------------------------------------------------------------------------
# Hand-built networks with known distances


def test_lattice_walk_is_manhattan_not_straight_line():
    net = lattice()
    result = nearest_facility(net, snap(net, (0, 0)), snap(net, (30, 40)))
    assert result.distance[0] == pytest.approx(70.0)  # not 50
    assert result.source.tolist() == [0]
    assert result.reason[0] is None


def test_offsets_and_position_along_the_edge_are_counted():
    net = lattice()
    # source 3 m left of the corner; target 2 m above the edge (30,40)-(40,40), 5 m along it
    result = nearest_facility(net, snap(net, (-3, 0)), snap(net, (35, 42)))
    assert result.distance[0] == pytest.approx(3 + 75 + 2)


def test_river_with_one_bridge():
    # Two banks 50 m apart, joined by a single bridge at x = 1000.
    net = network(
        [(0, -25), (500, -25), (1000, -25)],
        [(0, 25), (100, 25), (1000, 25)],
        [(1000, -25), (1000, 25)],
    )
    a, b = (100, -25), (100, 25)
    result = nearest_facility(net, snap(net, a), snap(net, b))
    assert result.distance[0] == pytest.approx(900 + 50 + 900)
    # A facility 600 m along the same bank beats one 50 m away across the river.
    facilities = snap(net, (100, 25), (700, -25))
    nearest = nearest_facility(net, facilities, snap(net, a))
    assert nearest.source.tolist() == [1]
    assert nearest.distance[0] == pytest.approx(600.0)


def test_source_and_target_on_the_same_edge_walk_directly():
    net = network([(0, 0), (100, 0)])
    result = nearest_facility(net, snap(net, (20, 3)), snap(net, (70, -4)))
    assert result.distance[0] == pytest.approx(3 + 50 + 4)
    matrix = distance_matrix_sparse(net, snap(net, (20, 3)), snap(net, (70, -4)), limit=1000)
    assert matrix[[0], [0]][0] == pytest.approx(57.0)


def test_same_edge_on_a_loop_takes_the_shorter_way_round():
    # A closed loop of 400 m meeting the rest of the network at one node.
    net = network([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)], [(0, 0), (-50, 0)])
    loop_edge = int(np.flatnonzero(net.edge_u == net.edge_v)[0])
    assert net.edge_length[loop_edge] == pytest.approx(400.0)
    # Source near (0, 10): 10 m from the node one way, 390 m the other; target near (10, 0).
    src, dst = snap(net, (-1, 10)), snap(net, (10, -1))
    assert src.edge[0] == loop_edge
    assert dst.edge[0] == loop_edge
    assert nearest_facility(net, src, dst).distance[0] == pytest.approx(1 + 10 + 10 + 1)
    # Far apart on the loop: (0, 90) and (90, 0) are 180 m through the node or 220 m directly.
    src, dst = snap(net, (-1, 90)), snap(net, (90, -1))
    assert nearest_facility(net, src, dst).distance[0] == pytest.approx(1 + 180 + 1)


def test_nearest_of_several_sources_and_every_node():
    net = network([(0, 0), (100, 0), (200, 0), (300, 0)])
    sources = snap(net, (0, 0), (300, 0))
    result = nearest_facility(net, sources, snap(net, (90, 0), (260, 0)))
    assert result.source.tolist() == [0, 1]
    assert result.distance.tolist() == pytest.approx([90.0, 40.0])
    ends = {tuple(xy): i for i, xy in enumerate(net.node_xy.tolist())}
    assert result.node_distance[ends[(0.0, 0.0)]] == 0.0
    assert result.node_distance[ends[(300.0, 0.0)]] == 0.0
    assert result.node_source[ends[(0.0, 0.0)]] == 0
    assert result.node_source[ends[(300.0, 0.0)]] == 1


def test_limit_and_other_pieces_give_reasons_not_errors():
    net = network([(0, 0), (100, 0)], [(1000, 0), (1100, 0)])
    sources = snap(net, (0, 0))
    targets = snap(net, (90, 0), (1050, 0), (5000, 5000))
    result = nearest_facility(net, sources, targets, limit=50)
    assert result.source.tolist() == [-1, -1, -1]
    assert np.isinf(result.distance).all()
    assert result.reason.tolist() == [
        "no facility within 50 m on foot",
        "not connected: no facility on the same piece of the walking network",
        "unreachable: 6,341 m from the nearest path",  # hypot(3900, 5000)
    ]
    unbounded = nearest_facility(net, sources, targets)
    assert unbounded.distance[0] == pytest.approx(90.0)
    assert unbounded.reason[1] == "not connected: no facility on the same piece of the walking network"


def test_no_snapped_source_is_a_reason():
    net = network([(0, 0), (100, 0)])
    result = nearest_facility(net, snap(net, (0, 5000)), snap(net, (10, 0)))
    assert result.source.tolist() == [-1]
    assert result.reason[0] == "no facility to reach (none was snapped to the network)"
    assert np.isinf(result.node_distance).all()


def test_bad_limit_is_refused():
    net = network([(0, 0), (100, 0)])
    with pytest.raises(InputError, match="limit must be a positive"):
        nearest_facility(net, snap(net, (0, 0)), limit=-5)
    with pytest.raises(InputError, match="finite limit"):
        distance_matrix_sparse(net, snap(net, (0, 0)), snap(net, (1, 0)), limit=np.inf)


def test_matrix_keeps_pairs_within_limit_and_explicit_zeros():
    net = lattice(6, 10.0)
    sources = snap(net, (0, 0), (50, 50), (20, 0))
    targets = snap(net, (0, 0), (10, 0), (50, 40), (5000, 0))
    m = distance_matrix_sparse(net, sources, targets, limit=25)
    assert m.shape == (3, 4)
    dense = np.full(m.shape, np.inf)
    coo = m.tocoo()
    dense[coo.row, coo.col] = coo.data
    expected = np.array(
        [
            [0.0, 10.0, np.inf, np.inf],
            [np.inf, np.inf, 10.0, np.inf],
            [20.0, 10.0, np.inf, np.inf],
        ]
    )
    np.testing.assert_allclose(dense, expected)
    assert m.nnz == 5  # the zero distance is stored


# --------------------------------------------------------------------------------------------
# Real networks: equal to networkx on a graph with the points inserted


def augmented_nx(net: StreetNetwork, sources: SnapResult, targets: SnapResult) -> nx.Graph:
    """networkx graph of the network with every snapped point inserted as its own node."""
    G = nx.Graph()
    for u, v, length in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length.tolist(), strict=True):
        if u != v and (not G.has_edge(u, v) or G[u][v]["length"] > length):
            G.add_edge(u, v, length=length)

    def link(a, b, length):
        if not G.has_edge(a, b) or G[a][b]["length"] > length:
            G.add_edge(a, b, length=length)

    for name, pts in (("s", sources), ("t", targets)):
        for i in np.flatnonzero(pts.ok).tolist():
            link((name, i), int(pts.node_u[i]), float(pts.offset[i] + pts.to_u[i]))
            link((name, i), int(pts.node_v[i]), float(pts.offset[i] + pts.to_v[i]))
    for i in np.flatnonzero(sources.ok).tolist():
        for j in np.flatnonzero(targets.ok & (targets.edge == sources.edge[i])).tolist():
            gap = abs(sources.position[i] - targets.position[j])
            link(("s", i), ("t", j), float(sources.offset[i] + gap + targets.offset[j]))
    return G


def random_points(net: StreetNetwork, count: int, rng: np.random.Generator) -> gpd.GeoSeries:
    """Points scattered around random edges (up to 40 m off them)."""
    edges = rng.choice(net.n_edges, size=count)
    along = rng.random(count) * net.edge_length[edges]
    import shapely

    base = shapely.get_coordinates(shapely.line_interpolate_point(net.edge_geometry[edges], along))
    jitter = rng.normal(0, 20, size=(count, 2))
    return gpd.GeoSeries(shapely.points(base + jitter), crs=net.crs)


REAL = [
    ("cn-beijing-haidian-xueyuanlu-osm", "map.osm"),
    ("cn-fujian-ninghua-county-osm", "map.osm"),
    ("intl-osmnx-testdata", "West-Oakland.osm.bz2"),
    ("intl-osmnx-testdata", "aguascalientes.osm.pbf"),
]


@pytest.mark.parametrize("parts", REAL, ids=lambda p: f"{p[0]}/{p[1]}")
def test_nearest_facility_equals_networkx_on_real_networks(parts):
    net = network_from_osm(shared_path(*parts))
    rng = np.random.default_rng(42)
    sources = snap_points(net, random_points(net, 12, rng))
    targets = snap_points(net, random_points(net, 200, rng))
    G = augmented_nx(net, sources, targets)
    src_nodes = [("s", i) for i in np.flatnonzero(sources.ok).tolist()]
    expected = nx.multi_source_dijkstra_path_length(G, src_nodes, weight="length")

    result = nearest_facility(net, sources, targets)
    want = np.array([expected.get(("t", j), np.inf) for j in range(len(targets))])
    np.testing.assert_allclose(result.distance[targets.ok], want[targets.ok], atol=0.01)
    # the reported source is at the reported distance
    G_single = {
        i: nx.single_source_dijkstra_path_length(G, ("s", i), weight="length")
        for i in set(result.source.tolist()) - {-1}
    }
    for j in np.flatnonzero(result.source >= 0).tolist():
        assert G_single[result.source[j]][("t", j)] == pytest.approx(result.distance[j], abs=0.01)
    node_want = np.array([expected.get(i, np.inf) for i in range(net.n_nodes)])
    np.testing.assert_allclose(result.node_distance, node_want, atol=0.01)
    assert (targets.ok.sum()) > 150


@pytest.mark.parametrize("parts", REAL[:2], ids=lambda p: p[0])
def test_distance_matrix_equals_networkx_within_limit(parts):
    net = network_from_osm(shared_path(*parts))
    rng = np.random.default_rng(3)
    sources = snap_points(net, random_points(net, 15, rng))
    targets = snap_points(net, random_points(net, 150, rng))
    limit = 800.0
    G = augmented_nx(net, sources, targets)
    m = distance_matrix_sparse(net, sources, targets, limit=limit, block_bytes=50_000)
    coo = m.tocoo()
    got = {(int(r), int(c)): float(d) for r, c, d in zip(coo.row, coo.col, coo.data, strict=True)}
    pairs = 0
    for i in np.flatnonzero(sources.ok).tolist():
        lengths = nx.single_source_dijkstra_path_length(G, ("s", i), cutoff=limit, weight="length")
        for j in range(len(targets)):
            want = lengths.get(("t", j))
            if want is None or want > limit:
                assert (i, j) not in got
            else:
                assert got[(i, j)] == pytest.approx(want, abs=0.01)
                pairs += 1
    assert pairs > 50
