"""read_source and geometry: the kinds a layer takes, collections, repaired and collapsed polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import shapely.testing

from servicegrid.errors import InputError
from servicegrid.geo.readers import read_source

from .conftest import TOWN_NAMES, squares, village_frame, write_csv


def test_bowtie_polygon_is_repaired_and_reported(tmp_path):
    # metres in CGCS2000 / 3-degree Gauss-Kruger CM 117E; the bowtie's two triangles cover 2 × 10,000 m²
    x0, y0 = 440_000.0, 4_425_000.0
    bowtie = shapely.Polygon([(x0, y0), (x0 + 200, y0 + 200), (x0 + 200, y0), (x0, y0 + 200)])
    square = shapely.box(x0 + 500, y0, x0 + 700, y0 + 200)
    assert not bowtie.is_valid
    frame = gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[square, bowtie], crs=4548)
    path = tmp_path / "bowtie.gpkg"
    pyogrio.write_dataframe(frame, path)
    result = read_source(path, "villages")
    assert "1 invalid polygon repaired with make_valid (row 2)" in result.notes
    out = result.frame
    assert out.is_valid.all()
    assert out.geometry.iloc[1].geom_type == "MultiPolygon"
    area = out.to_crs(4548).area.to_numpy()
    np.testing.assert_allclose(area, [40_000.0, 20_000.0], rtol=1e-4)


def test_polygon_that_collapses_is_refused(tmp_path):
    flat = shapely.Polygon([(116.30, 39.95), (116.31, 39.95), (116.32, 39.95), (116.30, 39.95)])
    frame = gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[squares(1)[0], flat], crs=4326)
    path = tmp_path / "flat.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match=r"^flat\.geojson, layer 'villages': row 2: the polygon has no area"):
        read_source(path, "villages")


def test_points_for_a_polygon_layer_are_refused(tmp_path):
    path = write_csv(tmp_path, "名称,经度,纬度\n甲村,116.35,39.99\n乙村,116.36,39.98\n", name="村.csv")
    with pytest.raises(InputError) as info:
        read_source(path, "villages")
    assert str(info.value) == (
        "村.csv, layer 'villages': the villages layer takes polygons (Polygon or MultiPolygon), but the "
        "file holds 2 Point (rows 1, 2); points cannot stand in for boundaries: import the boundaries "
        "from a shapefile, GeoPackage, GeoJSON or KML, or give a WKT column"
    )


def test_polygons_for_a_point_layer_are_refused(tmp_path):
    path = tmp_path / "fac.geojson"
    village_frame(TOWN_NAMES).to_file(path, driver="GeoJSON")
    with pytest.raises(
        InputError, match=r"the facilities layer takes points, but the file holds 3 Polygon \(rows 1, 2, 3\)"
    ):
        read_source(path, "facilities")


def test_multipolygons_are_accepted_and_empty_geometry_reported(tmp_path):
    multi = shapely.MultiPolygon(
        [shapely.box(116.30, 39.95, 116.31, 39.96), shapely.box(116.32, 39.95, 116.33, 39.96)]
    )
    frame = gpd.GeoDataFrame({"名称": ["甲", "乙", "丙"]}, geometry=[multi, None, squares(1)[0]], crs=4326)
    path = tmp_path / "multi.gpkg"
    pyogrio.write_dataframe(frame, path)
    result = read_source(path, "villages")
    assert result.frame.geometry.geom_type.tolist()[0] == "MultiPolygon"
    assert len(result.frame) == 3
    assert "1 feature(s) without geometry (row 2); they are kept, and validation reports them" in result.notes


def test_geometry_collections_keep_their_parts_of_the_layer_kind(tmp_path):
    mixed = shapely.GeometryCollection([squares(1)[0], shapely.Point(116.305, 39.955)])
    frame = gpd.GeoDataFrame({"名称": ["甲", "乙"]}, geometry=[mixed, squares(2)[1]], crs=4326)
    path = tmp_path / "mixed.geojson"
    frame.to_file(path, driver="GeoJSON")
    result = read_source(path, "villages")
    assert result.frame.geometry.geom_type.tolist() == ["Polygon", "Polygon"]
    assert "1 geometry collection(s) reduced to their polygons (row 1)" in result.notes
    shapely.testing.assert_geometries_equal(result.frame.geometry.iloc[0], squares(1)[0], normalize=True)


def test_settlements_take_points_and_polygons_together(tmp_path):
    frame = gpd.GeoDataFrame(
        {"名称": ["张家庄", "李家沟"]}, geometry=[squares(1)[0], shapely.Point(116.4, 39.9)], crs=4326
    )
    path = tmp_path / "settlements.geojson"
    frame.to_file(path, driver="GeoJSON")
    result = read_source(path, "自然村")
    assert result.layer == "settlements"
    assert result.frame.geometry.geom_type.tolist() == ["Polygon", "Point"]


def test_compound_register_of_points_is_accepted(tmp_path):
    """The usual 小区 list: names, households and one coordinate each (issue 10, item 9)."""
    text = "小区名称,户数,经度,纬度\n幸福小区,400,116.351,39.991\n和平小区,300,116.362,39.982\n"
    result = read_source(write_csv(tmp_path, text, name="小区.csv"), "compounds")
    assert result.frame.geometry.geom_type.tolist() == ["Point", "Point"]
    assert result.frame["households"].tolist() == [400, 300]
