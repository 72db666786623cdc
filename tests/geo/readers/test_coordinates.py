"""read_source and coordinate systems: declared, assumed or given CRSs, swapped axes, GCJ-02 and BD-09."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import shapely.testing

from servicegrid.errors import CRSError, InputError
from servicegrid.geo.chinacoords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from servicegrid.geo.readers import read_source

from .conftest import GEOD, TOWN_NAMES, max_offset_m, village_frame, write_csv, write_shapefile, xy


def test_prj_less_shapefile_in_degrees_is_assumed_wgs84(tmp_path):
    shp = write_shapefile(tmp_path, village_frame(TOWN_NAMES), "UTF-8", keep_cpg=True, keep_prj=False)
    result = read_source(shp, "villages")
    assert result.frame.crs.to_epsg() == 4326
    assert (
        "the shapefile has no .prj (no coordinate system); the coordinates look like longitude/latitude "
        "degrees and are read as WGS-84 (pass --crs if that is wrong)"
    ) in result.notes
    assert max_offset_m(result.frame, village_frame(TOWN_NAMES)) < 1e-6


def test_layer_in_unknown_projected_crs_asks_for_crs(tmp_path):
    frame = village_frame(TOWN_NAMES).to_crs(4527)  # CGCS2000 / 3-degree Gauss-Kruger zone 39
    shp = write_shapefile(tmp_path, frame, "UTF-8", keep_cpg=True, keep_prj=False)
    expected = "villages.shp: the shapefile has no .prj (no coordinate system), and the coordinates (x 39,44"
    with pytest.raises(InputError) as info:
        read_source(shp, "villages")
    message = str(info.value)
    assert message.startswith(expected)
    assert message.endswith(
        "are not longitude/latitude degrees; pass the source CRS with --crs; eastings of 8 digits "
        "starting with 39 suggest CGCS2000 3-degree Gauss-Kruger zone 39 (EPSG:4527)"
    )
    result = read_source(shp, "villages", crs="EPSG:4527")
    assert (
        "coordinates read in CGCS2000 / 3-degree Gauss-Kruger zone 39 (EPSG:4527) as given with --crs"
        in result.notes
    )
    assert max_offset_m(result.frame, village_frame(TOWN_NAMES)) < 0.01


def test_crs_override_then_cgcs2000(tmp_path):
    frame = village_frame(TOWN_NAMES).to_crs(4547)
    shp = write_shapefile(tmp_path, frame, "UTF-8", keep_cpg=True, keep_prj=False)
    result = read_source(shp, "villages", crs="EPSG:4547", coords="cgcs2000")
    assert max_offset_m(result.frame, village_frame(TOWN_NAMES)) < 0.05
    assert "coordinates converted from CGCS2000 (EPSG:4490) to WGS-84" in " ".join(result.notes)


def test_bad_crs_text_is_refused(tmp_path):
    shp = write_shapefile(tmp_path, village_frame(TOWN_NAMES), "UTF-8", keep_cpg=True)
    with pytest.raises(CRSError, match=r"--crs EPSG:999999 is not a coordinate reference system PROJ knows"):
        read_source(shp, "villages", crs="EPSG:999999")


def test_geographic_crs_declared_over_projected_numbers(tmp_path):
    frame = village_frame(TOWN_NAMES).to_crs(4527).set_crs(4326, allow_override=True)
    path = tmp_path / "lying.gpkg"
    pyogrio.write_dataframe(frame, path)
    with pytest.raises(
        InputError, match=r"^lying\.gpkg: the file declares WGS 84 \(EPSG:4326\), but its coordinates"
    ):
        read_source(path, "villages")


def test_projected_register_needs_crs(tmp_path):
    wgs = gpd.GeoSeries([shapely.Point(116.35, 39.99), shapely.Point(116.36, 39.98)], crs=4326)
    gk = wgs.to_crs(4548)
    text = "name,tier,x,y\n" + "\n".join(f"s{i},village_center,{p.x:.3f},{p.y:.3f}" for i, p in enumerate(gk))
    path = write_csv(tmp_path, text + "\n")
    with pytest.raises(
        InputError,
        match=r"^register\.csv: the register's coordinates carry no coordinate system, and the coordinates \(x 4",
    ):
        read_source(path, "facilities")
    result = read_source(path, "facilities", crs="EPSG:4548")
    got = xy(result)
    assert np.max(GEOD.inv(got[:, 0], got[:, 1], wgs.x.to_numpy(), wgs.y.to_numpy())[2]) < 0.01


def test_swapped_longitude_and_latitude(tmp_path):
    text = "名称,层级,经度,纬度\n甲站,village_center,39.90,116.35\n乙站,village_center,39.91,116.36\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "facilities")
    assert str(info.value) == (
        "register.csv, layer 'facilities': the coordinate columns look swapped: '经度' (read as "
        "longitude) holds latitude-like values (18–54) and '纬度' (read as latitude) holds "
        "longitude-like values (73–135) in 2 of 2 rows; if the headers are swapped, pass --lon 纬度 "
        "--lat 经度, otherwise correct the file"
    )
    result = read_source(write_csv(tmp_path, text), "facilities", lon="纬度", lat="经度")
    np.testing.assert_allclose(xy(result), [[116.35, 39.90], [116.36, 39.91]])


def test_surveying_x_y_order_is_recognised(tmp_path):
    wgs = gpd.GeoSeries([shapely.Point(116.35, 39.99), shapely.Point(116.36, 39.98)], crs=4326)
    gk = wgs.to_crs(4527)  # zone-prefixed eastings of 8 digits
    # surveyors' X is the northing, Y the easting
    text = "名称,层级,X,Y\n" + "\n".join(f"s{i},village_center,{p.y:.3f},{p.x:.3f}" for i, p in enumerate(gk))
    path = write_csv(tmp_path, text + "\n")
    with pytest.raises(InputError) as info:
        read_source(path, "facilities", crs="EPSG:4527")
    assert str(info.value).endswith(
        "in 2 of 2 rows (Chinese surveying calls the northing X and the easting Y); pass --lon Y --lat X"
    )
    result = read_source(path, "facilities", crs="EPSG:4527", lon="Y", lat="X")
    got = xy(result)
    assert np.max(GEOD.inv(got[:, 0], got[:, 1], wgs.x.to_numpy(), wgs.y.to_numpy())[2]) < 0.01


def test_gcj02_register_is_converted(tmp_path):
    rng = np.random.default_rng(7)
    lon = rng.uniform(116.2, 116.5, 20)
    lat = rng.uniform(39.8, 40.1, 20)
    rows = "\n".join(
        f"F{i + 1},站{i + 1},compound_station,{x:.8f},{y:.8f}"
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    )
    path = write_csv(tmp_path, "id,name,tier,lng,lat\n" + rows + "\n")
    result = read_source(path, "facilities", coords="gcj02")
    expected = np.column_stack(gcj02_to_wgs84(np.round(lon, 8), np.round(lat, 8)))
    np.testing.assert_allclose(xy(result), expected, rtol=0, atol=1e-12)
    assert "coordinates converted from GCJ-02 (Amap/Tencent) to WGS-84" in result.notes
    assert "columns lng/lat used as longitude/latitude" in result.notes


def test_bd09_register_round_trips_to_wgs84(tmp_path):
    wgs = np.array([[116.353, 39.992], [121.4737, 31.2304]])
    bd = np.column_stack(wgs84_to_bd09(wgs[:, 0], wgs[:, 1]))
    text = "name,tier,longitude,latitude\n" + "\n".join(
        f"s{i},village_center,{float(x)!r},{float(y)!r}" for i, (x, y) in enumerate(bd)
    )
    result = read_source(write_csv(tmp_path, text + "\n"), "facilities", coords="bd09")
    got = xy(result)
    assert np.max(GEOD.inv(got[:, 0], got[:, 1], wgs[:, 0], wgs[:, 1])[2]) < 0.005


def test_gcj02_geojson_polygons_are_converted_vertex_by_vertex(tmp_path):
    wgs = village_frame(TOWN_NAMES)
    coords = shapely.get_coordinates(wgs.geometry.array)
    gcj = wgs.copy()
    gcj["geometry"] = shapely.transform(
        wgs.geometry.array, lambda a: np.column_stack(wgs84_to_gcj02(a[:, 0], a[:, 1]))
    )
    path = tmp_path / "amap.geojson"
    gcj.to_file(path, driver="GeoJSON")
    result = read_source(path, "villages", coords="gcj02")
    got = xy(result)
    assert np.max(GEOD.inv(got[:, 0], got[:, 1], coords[:, 0], coords[:, 1])[2]) < 0.005


def test_reader_leaves_no_bd09_points_unconverted(tmp_path):
    text = "name,tier,lng,lat\na,village_center,116.40387,39.91489\n"
    result = read_source(write_csv(tmp_path, text), "facilities", coords="bd09")
    np.testing.assert_allclose(
        xy(result), np.column_stack(bd09_to_wgs84([116.40387], [39.91489])), atol=1e-12
    )
