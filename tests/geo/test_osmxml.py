"""Tests for servicegrid.geo.osmxml: OSM XML that pyosmium and osmnx read back node for node."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicegrid.errors import CRSError, InputError
from servicegrid.geo.crs import metric_crs_for_lonlat
from servicegrid.geo.osmxml import write_osm_xml


def _read(path):
    """Nodes {id: (lon, lat)} and ways [(id, [node ids], tags)] as pyosmium reads them."""
    nodes, ways = {}, []
    for obj in osmium.FileProcessor(str(path)):
        if obj.is_node():
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            ways.append((obj.id, [n.ref for n in obj.nodes], dict(obj.tags)))
    return nodes, ways


def _roads(lines, crs=4326, **columns):
    return gpd.GeoDataFrame(
        {"highway": columns.pop("highway", ["footway"] * len(lines)), **columns},
        geometry=[None if line is None else shapely.LineString(line) for line in lines],
        crs=crs,
    )


def test_shared_end_point_becomes_one_node(tmp_path):
    roads = _roads(
        [[(114.0, 37.7), (114.001, 37.7)], [(114.001, 37.7), (114.001, 37.701), (114.002, 37.701)]],
        highway=["footway", "residential"],
        name=["东风街", None],
    )
    out = write_osm_xml(roads, tmp_path / "walk.osm")
    nodes, ways = _read(out.path)
    assert (out.nodes, out.ways) == (4, 2)
    assert len(nodes) == 4
    (_, refs_a, tags_a), (_, refs_b, tags_b) = ways
    assert refs_a[-1] == refs_b[0]  # the corner is one node, so the lines connect
    assert len(set(refs_a) | set(refs_b)) == 4
    assert nodes[refs_b[1]] == pytest.approx((114.001, 37.701), abs=1e-9)
    assert tags_a == {"highway": "footway", "name": "东风街"}
    assert tags_b == {"highway": "residential"}  # a blank name is left out


def test_crossing_without_shared_vertex_stays_unconnected(tmp_path):
    roads = _roads([[(114.0, 37.7), (114.002, 37.702)], [(114.0, 37.702), (114.002, 37.7)]])
    nodes, ways = _read(write_osm_xml(roads, tmp_path / "x.osm").path)
    assert len(nodes) == 4
    assert not set(ways[0][1]) & set(ways[1][1])


def test_shared_interior_vertex_connects(tmp_path):
    roads = _roads([[(114.0, 37.7), (114.001, 37.7), (114.002, 37.7)], [(114.001, 37.699), (114.001, 37.7)]])
    _, ways = _read(write_osm_xml(roads, tmp_path / "t.osm").path)
    assert ways[0][1][1] == ways[1][1][1]


def test_projected_input_is_written_in_wgs84_to_seven_decimals(tmp_path):
    crs = metric_crs_for_lonlat(113.6, 37.7)
    lonlat = gpd.GeoSeries(shapely.points([(113.6, 37.7), (113.601234567, 37.7005)]), crs=4326)
    x, y = shapely.get_coordinates(lonlat.to_crs(crs)).T
    roads = _roads([list(zip(x, y, strict=True))], crs=crs)
    out = write_osm_xml(roads, tmp_path / "p.osm")
    text = out.path.read_text(encoding="utf-8")
    assert 'lat="37.7005000" lon="113.6012346"' in text  # rounded to 7 decimals
    nodes, _ = _read(out.path)
    got = np.array(sorted(nodes.values()))
    assert got == pytest.approx(np.array([[113.6, 37.7], [113.6012346, 37.7005]]), abs=1e-9)


def test_bounds_element(tmp_path):
    roads = _roads([[(114.0, 37.7), (114.001, 37.702)]])
    default = write_osm_xml(roads, tmp_path / "a.osm")
    header = osmium.io.Reader(str(default.path)).header().box()
    assert (header.bottom_left.lon, header.bottom_left.lat) == pytest.approx((114.0, 37.7))
    assert (header.top_right.lon, header.top_right.lat) == pytest.approx((114.001, 37.702))
    given_bounds = (113.9, 37.6, 114.1, 37.8)
    text = write_osm_xml(roads, tmp_path / "b.osm", bounds=given_bounds).path.read_text(encoding="utf-8")
    assert (
        '<bounds minlat="37.6000000" minlon="113.9000000" maxlat="37.8000000" maxlon="114.1000000"/>' in text
    )


def test_multilinestring_parts_become_ways_with_the_same_tags(tmp_path):
    roads = gpd.GeoDataFrame(
        {"highway": ["path"], "name": ["河堤路"]},
        geometry=[
            shapely.MultiLineString([[(114.0, 37.7), (114.001, 37.7)], [(114.0, 37.8), (114.0, 37.801)]])
        ],
        crs=4326,
    )
    out = write_osm_xml(roads, tmp_path / "m.osm")
    _, ways = _read(out.path)
    assert out.ways == 2
    assert [w[2] for w in ways] == [{"highway": "path", "name": "河堤路"}] * 2


def test_xml_special_characters_round_trip(tmp_path):
    name = 'A&B <"桥"> \n路'
    roads = _roads([[(114.0, 37.7), (114.001, 37.7)]], name=[name])
    _, ways = _read(write_osm_xml(roads, tmp_path / "e.osm").path)
    assert ways[0][2]["name"] == name


def test_missing_geometry_rows_are_skipped_and_tiny_lines_dropped(tmp_path, caplog):
    roads = _roads(
        [
            [(114.0, 37.7), (114.001, 37.7)],
            None,
            [(114.0, 37.8), (114.00000001, 37.8)],  # collapses to one node at 7 decimals
            [(114.0, 37.9), (114.0, 37.9), (114.0, 37.901)],  # repeated vertex
        ]
    )
    with caplog.at_level("WARNING", logger="servicegrid.geo.osmxml"):
        out = write_osm_xml(roads, tmp_path / "s.osm")
    nodes, ways = _read(out.path)
    assert (out.ways, out.nodes) == (2, 4)
    assert [len(w[1]) for w in ways] == [2, 2]
    assert len(nodes) == 4
    assert "skipped 1 road row(s) without geometry" in caplog.text
    assert "skipped 1 road line(s) shorter than 1 cm" in caplog.text


def test_missing_highway_column_is_refused(tmp_path):
    roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(114, 37.7), (114.001, 37.7)])], crs=4326)
    with pytest.raises(InputError, match=r"layer 'roads', field 'highway': the walking network needs"):
        write_osm_xml(roads, tmp_path / "h.osm")


def test_blank_highway_names_the_row(tmp_path):
    roads = _roads([[(114, 37.7), (114.001, 37.7)], [(114, 37.8), (114.001, 37.8)]], highway=["footway", " "])
    with pytest.raises(InputError, match=r"row 1, field 'highway': blank 'highway' class \(1 such row"):
        write_osm_xml(roads, tmp_path / "h.osm")


def test_polygon_is_refused_naming_the_row(tmp_path):
    roads = gpd.GeoDataFrame(
        {"highway": ["footway", "footway"]},
        geometry=[
            shapely.LineString([(114, 37.7), (114.001, 37.7)]),
            shapely.box(114, 37.7, 114.001, 37.701),
        ],
        crs=4326,
    )
    with pytest.raises(InputError, match=r"row 1, field 'geometry': geometry type POLYGON is not a line"):
        write_osm_xml(roads, tmp_path / "g.osm")


def test_missing_crs_is_refused(tmp_path):
    roads = _roads([[(114, 37.7), (114.001, 37.7)]], crs=None)
    with pytest.raises(CRSError, match="no CRS"):
        write_osm_xml(roads, tmp_path / "c.osm")


def test_metres_declared_as_degrees_are_refused(tmp_path):
    roads = _roads([[(463_000.0, 4_173_000.0), (463_100.0, 4_173_000.0)]], crs=4326)
    with pytest.raises(CRSError, match="not valid longitudes/latitudes"):
        write_osm_xml(roads, tmp_path / "d.osm")


def test_failed_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "keep.osm"
    write_osm_xml(_roads([[(114, 37.7), (114.001, 37.7)]]), path)
    before = path.read_bytes()
    with pytest.raises(InputError):
        write_osm_xml(_roads([[(114, 37.7), (114.002, 37.7)]], highway=[None]), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.osm"]


def test_osmnx_reads_the_file_as_a_connected_graph(tmp_path):
    ox = pytest.importorskip("osmnx")
    roads = _roads(
        [
            [(114.0, 37.7), (114.001, 37.7), (114.002, 37.7)],
            [(114.001, 37.7), (114.001, 37.701)],
            [(114.002, 37.7), (114.002, 37.701), (114.001, 37.701)],
        ],
        highway=["residential", "footway", "service"],
    )
    out = write_osm_xml(roads, tmp_path / "o.osm")
    graph = ox.graph_from_xml(out.path, simplify=False, retain_all=True)
    assert graph.number_of_nodes() == out.nodes == 5
    assert graph.number_of_edges() == 2 * 5  # five segments, both directions (not oneway)
    assert {d["highway"] for *_, d in graph.edges(data=True)} == {"residential", "footway", "service"}
    assert nx.is_weakly_connected(graph)


lattice = st.tuples(st.integers(0, 6), st.integers(0, 6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(lattice, min_size=2, max_size=6), min_size=1, max_size=8))
def test_round_trip_on_a_lattice(tmp_path, lines):
    """pyosmium gives back every way's vertices; equal vertices share one node id."""
    step = 1e-4
    coords = [[(113.6 + i * step, 37.7 + j * step) for i, j in line] for line in lines]
    # expected: consecutive repeats removed; lines with a single distinct vertex dropped
    expected = []
    for line in coords:
        kept = [p for k, p in enumerate(line) if k == 0 or p != line[k - 1]]
        if len(kept) >= 2:
            expected.append(kept)
    if not expected:
        return
    out = write_osm_xml(_roads(coords), tmp_path / "h.osm")
    nodes, ways = _read(out.path)
    assert out.ways == len(ways) == len(expected)
    distinct = {p for line in expected for p in line}
    assert out.nodes == len(nodes) == len(distinct)
    id_of = {}
    for (_, refs, _), line in zip(ways, expected, strict=True):
        got = [nodes[r] for r in refs]
        assert np.allclose(got, line, atol=1e-9)
        for r, p in zip(refs, line, strict=True):
            assert id_of.setdefault(p, r) == r  # the same vertex is the same node everywhere
