"""Tests for servicegrid.coverage.snapping: points onto the nearest edge, offsets and positions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from servicegrid.coverage.network import StreetNetwork
from servicegrid.coverage.snapping import snap_points, unreachable_reason
from servicegrid.coverage.sources import network_from_lines, network_from_osm
from servicegrid.errors import InputError
from tests.conftest import shared_path

METRIC = "EPSG:32650"


def lines(*coords: list[tuple[float, float]]) -> StreetNetwork:
    frame = gpd.GeoDataFrame(geometry=[LineString(c) for c in coords], crs=METRIC)
    return network_from_lines(frame, crs=METRIC)


def points(*xy: tuple[float, float] | None, index: list | None = None) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(p) if p is not None else None for p in xy], crs=METRIC, index=index)


def test_point_beside_a_straight_edge():
    net = lines([(0, 0), (100, 0)])
    snap = snap_points(net, points((30, 5)))
    assert snap.edge.tolist() == [0]
    assert snap.offset[0] == pytest.approx(5.0)
    assert snap.position[0] == pytest.approx(30.0)
    u_is_origin = net.node_xy[net.edge_u[0]].tolist() == [0.0, 0.0]
    assert (snap.to_u[0], snap.to_v[0]) == pytest.approx((30.0, 70.0) if u_is_origin else (70.0, 30.0))
    assert snap.xy[0].tolist() == pytest.approx([30.0, 0.0])
    assert snap.reason[0] is None


def test_point_near_a_bend_measures_along_the_geometry():
    net = lines([(0, 0), (10, 0), (10, 10)])
    snap = snap_points(net, points((12, 5)))
    assert snap.offset[0] == pytest.approx(2.0)
    # 10 m along the first leg and 5 m up the second, from whichever end is u
    assert min(snap.to_u[0], snap.to_v[0]) == pytest.approx(5.0)
    assert snap.to_u[0] + snap.to_v[0] == pytest.approx(20.0)


def test_nearest_edge_not_nearest_node():
    # The nearest node is 40 m away; the edge passes 1 m from the point.
    net = lines([(0, 0), (100, 0)], [(100, 0), (100, 50)])
    snap = snap_points(net, points((60, 1)))
    edge = snap.edge[0]
    assert {tuple(net.node_xy[net.edge_u[edge]]), tuple(net.node_xy[net.edge_v[edge]])} == {
        (0.0, 0.0),
        (100.0, 0.0),
    }
    assert snap.offset[0] == pytest.approx(1.0)
    nearest_node_distance, _ = net.kdtree.query([60, 1])
    assert nearest_node_distance == pytest.approx(np.hypot(40, 1))


def test_point_beyond_the_snap_limit_is_unreachable_with_its_distance():
    net = lines([(0, 0), (100, 0)])
    snap = snap_points(net, points((50, 412.4), (50, 20)), max_distance=300)
    assert snap.edge.tolist() == [-1, 0]
    assert snap.reason[0] == "unreachable: 412 m from the nearest path"
    assert snap.offset[0] == pytest.approx(412.4)
    assert np.isnan(snap.position[0])
    assert snap.node_u[0] == -1
    assert snap.ok.tolist() == [False, True]
    assert unreachable_reason(np.array([1234.4]))[0] == "unreachable: 1,234 m from the nearest path"
    # just beyond the limit (found by the exact piece search, not the far-point fallback)
    near_miss = snap_points(net, points((50, 310.4)), max_distance=300)
    assert near_miss.reason[0] == "unreachable: 310 m from the nearest path"
    assert near_miss.offset[0] == pytest.approx(310.4)


def test_missing_point_has_no_location_and_index_is_kept():
    net = lines([(0, 0), (100, 0)])
    snap = snap_points(net, points((10, 1), None, index=["a", "b"]))
    frame = snap.to_frame()
    assert frame.index.tolist() == ["a", "b"]
    assert frame.loc["b", "reason"] == "no location"
    assert frame.loc["a", "offset_m"] == pytest.approx(1.0)
    assert pd.isna(frame.loc["a", "reason"])


def test_points_in_lonlat_are_reprojected_to_the_network_crs():
    net = network_from_osm(shared_path("cn-fujian-ninghua-county-osm", "map.osm"))
    pts = gpd.GeoSeries([Point(116.655, 26.267), Point(116.652, 26.265)], crs=4326)
    a = snap_points(net, pts)
    b = snap_points(net, pts.to_crs(net.crs))
    np.testing.assert_array_equal(a.edge, b.edge)
    np.testing.assert_allclose(a.offset, b.offset, atol=1e-9)
    assert a.ok.all()


def test_array_input_is_taken_in_the_network_crs():
    net = lines([(0, 0), (100, 0)])
    snap = snap_points(net, np.array([[25.0, -3.0]]))
    assert snap.offset[0] == pytest.approx(3.0)
    assert snap.index.tolist() == [0]


def test_non_points_and_missing_crs_are_refused():
    net = lines([(0, 0), (100, 0)])
    with pytest.raises(InputError, match="row 2: a Polygon cannot be snapped"):
        snap_points(net, gpd.GeoSeries([Point(0, 0), shapely.box(0, 0, 1, 1)], crs=METRIC))
    with pytest.raises(InputError, match="no CRS"):
        snap_points(net, gpd.GeoSeries([Point(0, 0)]))
    with pytest.raises(InputError, match="max_distance must be a positive"):
        snap_points(net, points((0, 0)), max_distance=0)


def test_take_selects_points():
    net = lines([(0, 0), (100, 0)])
    snap = snap_points(net, points((10, 1), (20, 2), (30, 3), index=[7, 8, 9]))
    part = snap.take(np.array([False, True, True]))
    assert part.index.tolist() == [8, 9]
    assert part.offset.tolist() == pytest.approx([2.0, 3.0])
    assert len(part) == 2


LATTICE = network_from_lines(
    gpd.GeoDataFrame(
        geometry=[LineString([(x, y) for x in range(0, 101, 20)]) for y in range(0, 101, 20)]
        + [LineString([(x, y) for y in range(0, 101, 20)]) for x in range(0, 101, 20)],
        crs=METRIC,
    ),
    crs=METRIC,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-30, 130), st.floats(-30, 130)), min_size=1, max_size=20))
def test_snap_equals_brute_force_nearest_edge(xy):
    net = LATTICE
    pts = np.array(xy)
    snap = snap_points(net, pts, max_distance=1000)
    geoms = shapely.points(pts)
    # brute force: the distance to every edge
    dist = shapely.distance(geoms[:, None], net.edge_geometry[None, :])
    np.testing.assert_allclose(snap.offset, dist.min(axis=1), atol=1e-9)
    # the snapped point is on the edge, `offset` away from the point, `position` along it
    on_edge = shapely.line_interpolate_point(net.edge_geometry[snap.edge], snap.position)
    np.testing.assert_allclose(shapely.distance(on_edge, geoms), snap.offset, atol=1e-9)
    np.testing.assert_allclose(snap.to_u + snap.to_v, net.edge_length[snap.edge], atol=1e-9)
    assert (snap.position >= 0).all()
    assert (snap.to_v >= -1e-12).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-60, 160), st.floats(-60, 160)), min_size=2, max_size=12))
def test_one_point_alone_snaps_as_in_a_batch(xy):
    # A single point takes a shorter path (the HTTP service's requests); it must land exactly
    # where the batch puts it, limit and all.
    pts = np.array(xy)
    batch = snap_points(LATTICE, pts, max_distance=25)
    for i in range(len(pts)):
        alone = snap_points(LATTICE, pts[i : i + 1], max_distance=25)
        assert alone.edge.tolist() == [batch.edge[i]]
        assert alone.node_u.tolist() == [batch.node_u[i]]
        assert alone.node_v.tolist() == [batch.node_v[i]]
        assert alone.reason.tolist() == [batch.reason[i]]
        for field in ("offset", "position", "to_u", "to_v", "xy"):
            np.testing.assert_allclose(getattr(alone, field), getattr(batch, field)[i : i + 1], atol=1e-9)
