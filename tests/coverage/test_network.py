"""Tests for servicegrid.coverage.network: how paths become nodes, edges, the matrix and pieces."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from servicegrid.coverage.sources import network_from_lines

from .conftest import METRIC, lattice_lines


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


def test_parallel_edges_keep_the_shorter_in_the_matrix_but_both_for_snapping():
    roads = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (10, 0)]), LineString([(0, 0), (5, 5), (10, 0)])], crs=METRIC
    )
    net = network_from_lines(roads, crs=METRIC)
    assert net.n_edges == 2
    assert net.graph.nnz == 2
    assert net.graph[[0], [1]][0] == pytest.approx(10.0)


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
