"""Tests for servicegrid.maps.encode: delta-coded geometry, the vertex budget, compact JSON."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

from servicegrid.maps.encode import (
    decimals_for,
    dumps,
    encode_geometry,
    polyline_text,
    simplify_to_budget,
    table_rows,
    vertex_count,
)


def steps(text: str) -> list[int]:
    """The integers of one ring as the page's script reads them (encoded polyline algorithm)."""
    out, value, shift = [], 0, 0
    for char in text:
        b = ord(char) - 63
        value |= (b & 31) << shift
        shift += 5
        if b < 32:
            out.append(~(value >> 1) if value & 1 else value >> 1)
            value, shift = 0, 0
    assert shift == 0  # the text ends with a whole value
    return out


def decode(text: str, kind: str, decimals: int = 6) -> list:
    """What the page's script does: undo the running integer steps (lon, lat) * 10^decimals."""
    data = json.loads(text)
    x = y = 0
    scale = 10.0**decimals

    def chain(ring: str):
        nonlocal x, y
        values = steps(ring)
        out = []
        for i in range(0, len(values), 2):
            x += values[i]
            y += values[i + 1]
            out.append((x / scale, y / scale))
        return out

    if kind == "polygon":
        return [[[chain(ring) for ring in polygon] for polygon in feature] for feature in data]
    return [[chain(part) for part in feature] for feature in data]


def test_polygons_round_trip_to_6_decimals_with_holes_and_parts():
    square = shapely.box(113.1000004, 37.2, 113.12, 37.21)
    holed = shapely.box(113.2, 37.2, 113.3, 37.3).difference(shapely.box(113.22, 37.22, 113.24, 37.24))
    multi = shapely.MultiPolygon(
        [shapely.box(113.4, 37.4, 113.41, 37.41), shapely.box(113.5, 37.5, 113.51, 37.51)]
    )
    encoded = encode_geometry(np.array([square, holed, multi]))
    assert encoded.kind == "polygon"
    assert encoded.features == 3
    got = decode(encoded.json, "polygon")
    assert [len(f) for f in got] == [1, 1, 2]
    assert [len(p) for p in got[1]] == [2]  # the hole is kept
    expected = [
        shapely.get_coordinates(g.exterior if g.geom_type == "Polygon" else g.geoms[0].exterior)
        for g in (square, holed, multi)
    ]
    for feature, coords in zip(got, expected, strict=True):
        ring = np.array(feature[0][0])
        assert len(ring) == len(coords) - 1  # written open: Leaflet closes rings
        np.testing.assert_allclose(ring, np.round(coords[:-1], 6), atol=1e-9)
    assert encoded.vertices == vertex_count([square, holed, multi]) == 4 + 8 + 8


def test_steps_are_small_integers_after_the_first_vertex():
    grid = [shapely.box(113 + i * 0.001, 37, 113 + (i + 1) * 0.001, 37.001) for i in range(50)]
    data = json.loads(encode_geometry(np.array(grid)).json)
    values = np.concatenate([np.array(steps(f[0][0])) for f in data])
    assert abs(values[0]) > 1e8  # the first vertex of the source is absolute
    assert np.abs(values[2:]).max() <= 2000  # the others steps of at most 0.002 degree
    text = "".join(f[0][0] for f in data)
    assert len(text) <= 2 * 6 + 3 * len(values[2:])  # the first two in six characters, steps in three


def test_polyline_text_round_trips_every_integer_a_map_can_hold():
    rng = np.random.default_rng(7)
    extremes = [0, 1, -1, 15, 16, -16, -17, 180_000_000, -180_000_000, 90_000_000, -90_000_000]
    values = np.concatenate(
        [extremes, rng.integers(-180_000_000, 180_000_001, 2_000), rng.integers(-40, 41, 2_000)]
    )
    text, ends = polyline_text(values)
    assert steps(text) == values.tolist()
    assert ends[-1] == len(text)
    assert [steps(text[a:b])[0] for a, b in zip(np.concatenate([[0], ends[:-1]]), ends, strict=True)][
        :11
    ] == extremes
    assert set(text) <= {chr(c) for c in range(63, 127)}  # printable, never a quote or "<"


def test_a_source_simplified_by_metres_is_written_to_fewer_decimals_within_half_its_tolerance():
    assert decimals_for(0.0) == decimals_for(1.0) == 6
    assert decimals_for(2.0) == 5  # the walking paths: simplified by 2 m, written to ~1.1 m steps
    assert decimals_for(20.0) == 4
    line = shapely.LineString([(113.123456789, 37.987654321), (113.2000049, 37.1000051)])
    encoded = encode_geometry(np.array([line]), decimals=5)
    assert encoded.decimals == 5
    got = np.array(decode(encoded.json, "line", decimals=5)[0][0])
    np.testing.assert_allclose(got, np.round(shapely.get_coordinates(line), 5), atol=1e-12)
    assert np.abs(got - shapely.get_coordinates(line)).max() <= 0.5e-5
    # at most half a step, in metres less than half the tolerance that chose the decimals
    assert 0.5e-5 * 111_320 < 2.0 / 2


def test_lines_and_points():
    lines = np.array(
        [
            shapely.LineString([(113, 37), (113.001, 37.002)]),
            shapely.MultiLineString([[(113, 37), (113.1, 37.1)], [(113.2, 37.2), (113.3, 37.3)]]),
        ]
    )
    got = decode(encode_geometry(lines).json, "line")
    assert [len(f) for f in got] == [1, 2]
    assert got[1][1][-1] == pytest.approx((113.3, 37.3))
    points = encode_geometry(np.array([shapely.Point(113.12345678, 37.87654321)]))
    assert json.loads(points.json) == [[37.876543, 113.123457]]


def test_a_transform_is_applied_to_every_vertex():
    shifted = encode_geometry(
        np.array([shapely.Point(113.0, 37.0)]), transform=lambda x, y: (x + 0.5, y - 0.25)
    )
    assert json.loads(shifted.json) == [[36.75, 113.5]]


def test_mixed_kinds_are_refused():
    with pytest.raises(ValueError, match="mixes points, lines and polygons"):
        encode_geometry(np.array([shapely.Point(0, 0), shapely.box(0, 0, 1, 1)]))


def _tiles(n: int = 20, wiggle: int = 40) -> gpd.GeoSeries:
    """``n`` side-by-side cells whose shared edges zigzag with many vertices (a real boundary)."""
    xs = np.linspace(0, 1000, n + 1)
    ys = np.linspace(0, 1000, wiggle)
    edges = [
        np.column_stack([np.full(wiggle, x) + np.where(np.arange(wiggle) % 2, 0.3, -0.3), ys]) for x in xs
    ]
    cells = [shapely.Polygon(np.vstack([edges[i], edges[i + 1][::-1]])) for i in range(n)]
    metric = CRS.from_epsg(4547)
    return gpd.GeoSeries(cells, crs=metric).translate(500000, 4_100_000).to_crs(4326)


def test_over_the_budget_tiles_are_simplified_and_stay_tiles():
    tiles = _tiles()
    before = vertex_count(tiles.to_numpy())
    out, tolerances, note = simplify_to_budget(
        {"grids": tiles}, budget=before // 4, metric_crs=CRS.from_epsg(4547), coverages=["grids"]
    )
    after = vertex_count(out["grids"].to_numpy())
    assert after <= before // 4
    assert note is not None
    assert f"{before:,} vertices are over the budget of {before // 4:,}" in note
    assert f"to {after:,} vertices" in note
    assert f"simplified by {tolerances['grids']:g} m" in note
    metric = out["grids"].to_crs(4547).to_numpy()
    # neighbours still share their edge exactly: no gap, no overlap
    assert shapely.union_all(metric).area == pytest.approx(shapely.area(metric).sum(), rel=1e-9)
    assert shapely.coverage_is_valid(metric)


def test_within_the_budget_nothing_changes():
    tiles = _tiles(4, 6)
    out, tolerances, note = simplify_to_budget(
        {"grids": tiles}, budget=10_000, metric_crs=CRS.from_epsg(4547)
    )
    assert note is None
    assert out["grids"] is tiles
    assert tolerances == {"grids": 0.0}


def test_always_simplified_sources_are_simplified_within_the_budget_too():
    wiggly = (
        gpd.GeoSeries([shapely.LineString([(x, (x % 2) * 0.2) for x in range(200)])], crs=4547)
        .translate(500000, 4_100_000)
        .to_crs(4326)
    )
    out, tolerances, note = simplify_to_budget(
        {"paths": wiggly}, budget=10_000, metric_crs=CRS.from_epsg(4547), always={"paths": 2.0}
    )
    assert note is None
    assert tolerances == {"paths": 2.0}
    assert vertex_count(out["paths"].to_numpy()) == 2


def test_table_rows_and_dumps():
    import pandas as pd

    frame = pd.DataFrame(
        {"name": ["城关街道", None], "n": [3.0, np.nan], "rate": [0.25, 1.0], "ok": [True, False]}
    )
    assert table_rows(frame, ["name", "n", "rate", "ok", "absent"]) == [
        ["城关街道", 3, 0.25, True, None],
        [None, None, 1, False, None],
    ]
    text = dumps({"name": "城关街道", "x": "</script>"})
    assert "城关街道" in text
    assert "\\u" not in text
    assert "</script" not in text


def test_a_polygon_source_with_an_overlay_s_stray_line_is_written_as_polygons():
    mixed = shapely.GeometryCollection(
        [shapely.box(113.0, 37.0, 113.001, 37.001), shapely.LineString([(113.002, 37.0), (113.003, 37.0)])]
    )
    encoded = encode_geometry(np.array([shapely.box(113.01, 37.0, 113.011, 37.001), mixed], dtype=object))
    assert encoded.kind == "polygon"
    assert encoded.features == 2
