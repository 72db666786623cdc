"""read_source on real files written in the tests: every format, every broken file, real Beijing data."""

from __future__ import annotations

import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.testing
from pyproj import Geod

from servicegrid.errors import CRSError, InputError
from servicegrid.geo.chinacoords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from servicegrid.geo.crs import to_metric
from servicegrid.geo.readers import ReadResult, read_source
from tests.conftest import shared_path

GEOD = Geod(ellps="WGS84")

TOWN_NAMES = ["学院路街道", "清河街道", "东升镇"]
RARE_NAMES = ["䶮村", "𠀾村", "学院路街道"]  # U+4DAE (Ext-A) and U+2003E (Ext-B) are outside GBK


def squares(n: int, *, lon0: float = 116.30, lat0: float = 39.95, size: float = 0.01) -> list:
    return [shapely.box(lon0 + i * size, lat0, lon0 + (i + 1) * size, lat0 + size) for i in range(n)]


def village_frame(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "编号": [f"V{i + 1}" for i in range(len(names))],
            "名称": names,
            "户数": [120, 80, 45][: len(names)],
        },
        geometry=squares(len(names)),
        crs=4326,
    )


def write_shapefile(tmp_path, frame, encoding, *, stem="villages", keep_cpg=False, keep_prj=True):
    path = tmp_path / f"{stem}.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    if not keep_prj:
        path.with_suffix(".prj").unlink()
    return path


def write_csv(tmp_path, text: str, *, name="register.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def xy(result: ReadResult) -> np.ndarray:
    return shapely.get_coordinates(result.frame.geometry.array)


def max_offset_m(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> float:
    """Largest Hausdorff distance between paired geometries, in metres (any vertex order)."""
    a = to_metric(got.to_crs(4326)).geometry.array
    b = gpd.GeoSeries(want.to_crs(4326).geometry.array, crs=4326).to_crs(got.pipe(to_metric).crs).array
    return float(np.max(shapely.hausdorff_distance(a, b)))


# ---------------------------------------------------------------------------------------------
# Shapefiles and encodings


@pytest.mark.parametrize(
    ("names", "encoding", "note"),
    [
        (TOWN_NAMES, "GBK", "encoding GBK detected from the .dbf bytes (no .cpg)"),
        (RARE_NAMES, "GB18030", "encoding GB18030 detected from the .dbf bytes (no .cpg)"),
        (TOWN_NAMES, "UTF-8", "encoding UTF-8 detected from the .dbf bytes (no .cpg)"),
    ],
)
def test_shapefile_without_cpg_reads_chinese_names_exactly(tmp_path, names, encoding, note):
    shp = write_shapefile(tmp_path, village_frame(names), encoding)
    assert not shp.with_suffix(".cpg").exists()
    assert names[0].encode(encoding) in shp.with_suffix(".dbf").read_bytes()
    result = read_source(shp, "villages")
    assert result.frame["name"].tolist() == names
    assert result.frame["id"].tolist() == ["V1", "V2", "V3"]
    assert result.frame["households"].tolist() == [120, 80, 45]
    assert any(n.startswith(note) for n in result.notes), result.notes
    assert result.frame.crs.to_epsg() == 4326
    assert result.layer == "villages"
    assert result.source == "villages.shp"


def test_gbk_shapefile_read_by_gdal_alone_would_be_mojibake(tmp_path):
    shp = write_shapefile(tmp_path, village_frame(TOWN_NAMES), "GBK")
    raw = pyogrio.read_dataframe(shp)
    assert "名称" not in raw.columns  # what a reader without detection returns
    assert read_source(shp, "villages").frame["name"].iloc[0] == "学院路街道"


def test_shapefile_with_given_encoding(tmp_path):
    shp = write_shapefile(tmp_path, village_frame(RARE_NAMES), "GB18030")
    result = read_source(shp, "村", encoding="gb18030")
    assert result.frame["name"].tolist() == RARE_NAMES
    assert "encoding GB18030 as given" in result.notes
    with pytest.raises(InputError, match=r"^villages\.shp: the \.dbf text is not valid GBK"):
        read_source(shp, "villages", encoding="gbk")


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


# ---------------------------------------------------------------------------------------------
# Real data


def test_real_beijing_townships_shapefile():
    path = shared_path("cn-beijing-townships-polygons", "beijing.shp")
    result = read_source(path, "townships")
    frame = result.frame
    assert len(frame) == 331
    assert frame.crs.to_epsg() == 4326
    assert "学院路街道" in set(frame["name"])  # header 乡 is read as the township name
    assert set(frame["县"]) >= {"海淀区", "朝阳区", "延庆县"}
    assert frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert frame["id"].is_unique
    assert not any("repaired" in n for n in result.notes)  # the provenance says all are valid
    area_km2 = to_metric(frame).area.sum() / 1e6
    assert area_km2 == pytest.approx(16_394, rel=0.005)


# ---------------------------------------------------------------------------------------------
# GeoJSON, GeoPackage, KML/KMZ


def test_truncated_geojson(tmp_path):
    good = tmp_path / "grids.geojson"
    village_frame(TOWN_NAMES).to_file(good, driver="GeoJSON")
    data = good.read_bytes()
    bad = tmp_path / "truncated.geojson"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        read_source(bad, "grids")
    message = str(info.value)
    assert message.startswith(
        "truncated.geojson: cannot be read as GeoJSON; the file may be truncated, corrupt or of another format ("
    )
    assert "Traceback" not in message
    assert read_source(good, "grids").frame["name"].tolist() == TOWN_NAMES


def test_empty_json_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("")
    with pytest.raises(InputError, match=r"^empty\.json: cannot be read as GeoJSON"):
        read_source(path, "villages")


def test_geopackage_layer_choice(tmp_path):
    path = tmp_path / "many.gpkg"
    pyogrio.write_dataframe(village_frame(TOWN_NAMES), path, layer="村界")
    pyogrio.write_dataframe(village_frame(TOWN_NAMES[:2]), path, layer="old")
    pyogrio.write_dataframe(pd.DataFrame({"k": ["v"]}), path, layer="meta")
    with pytest.raises(
        InputError, match=r"^many\.gpkg: the file holds 2 layers: 村界, old; choose one with --source-layer$"
    ):
        read_source(path, "villages")
    assert len(read_source(path, "villages", source_layer="old").frame) == 2
    with pytest.raises(InputError, match=r"no layer 'new'; the layers are: 村界, old, meta"):
        read_source(path, "villages", source_layer="new")


def test_geopackage_single_spatial_layer_is_taken(tmp_path):
    path = tmp_path / "one.gpkg"
    pyogrio.write_dataframe(village_frame(TOWN_NAMES), path, layer="村界")
    pyogrio.write_dataframe(pd.DataFrame({"k": ["v"]}), path, layer="meta")
    result = read_source(path, "villages")
    assert result.frame["name"].tolist() == TOWN_NAMES
    assert "layer '村界' read (the only one with geometry)" in result.notes


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document><name>东升镇</name>
 <Folder><name>北片</name>
  <Placemark><name>学院路党群服务中心</name><Point><coordinates>116.3530,39.9920,0</coordinates></Point></Placemark>
  <Placemark><name>清华园站</name><Point><coordinates>116.3260,40.0050,0</coordinates></Point></Placemark>
 </Folder>
 <Folder><name>南片</name>
  <Placemark><name>双清路驿站</name><Point><coordinates>116.3420,40.0010</coordinates></Point></Placemark>
  <Placemark><name>镇界</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
   116.30,39.98 116.38,39.98 116.38,40.02 116.30,40.02 116.30,39.98</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
 </Folder>
</Document></kml>
"""


def test_kml_folders_are_combined_and_other_kinds_skipped(tmp_path):
    path = tmp_path / "map.kml"
    path.write_text(KML, encoding="utf-8")
    result = read_source(path, "facilities")
    frame = result.frame
    assert frame["name"].tolist() == ["学院路党群服务中心", "清华园站", "双清路驿站"]
    assert frame["kml_folder"].tolist() == ["北片", "北片", "南片"]
    np.testing.assert_allclose(xy(result), [[116.353, 39.992], [116.326, 40.005], [116.342, 40.001]])
    assert "2 KML folders combined: '北片' (2), '南片' (2)" in result.notes
    assert "1 placemark(s) skipped because they are not points: '镇界'" in result.notes
    assert "id" in frame.columns
    assert not {"tessellate", "extrude", "visibility", "drawOrder"} & set(frame.columns)
    north = read_source(path, "facilities", source_layer="北片")
    assert len(north.frame) == 2
    with pytest.raises(InputError, match=r"^map\.kml: no folder '西片'; the folders are: 北片, 南片$"):
        read_source(path, "facilities", source_layer="西片")


def test_kmz_round_trip(tmp_path):
    frame = village_frame(TOWN_NAMES).rename(columns={"名称": "Name"})
    kml = tmp_path / "doc.kml"
    pyogrio.write_dataframe(frame.iloc[:2], kml, layer="东片", driver="LIBKML")
    pyogrio.write_dataframe(frame.iloc[2:], kml, layer="西片", driver="LIBKML", append=True)
    kmz = tmp_path / "villages.kmz"
    with zipfile.ZipFile(kmz, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(kml, "doc.kml")
    result = read_source(kmz, "villages")
    assert result.frame["name"].tolist() == TOWN_NAMES
    assert result.frame["households"].tolist() == [120, 80, 45]
    assert result.frame["id"].tolist() == ["V1", "V2", "V3"]
    for got, want in zip(result.frame.geometry, frame.geometry, strict=True):
        shapely.testing.assert_geometries_equal(got, want, tolerance=1e-9, normalize=True)


# ---------------------------------------------------------------------------------------------
# Geometry checks


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


# ---------------------------------------------------------------------------------------------
# CSV and XLSX registers

REGISTER = (
    "编号,名称,层级,经度,纬度,户数,面积\n"
    "F1,学院路街道党群服务中心,town_center,116.3530,39.9920,,800\n"
    "F2,清华园社区党群服务站,compound_station,116.3260,40.0050,,120\n"
    "F3,双清路快递小哥加油站,courier_station,116.3420,40.0010,,30\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_register_in_each_encoding(tmp_path, encoding):
    path = write_csv(tmp_path, REGISTER, encoding=encoding)
    result = read_source(path, "facilities")
    frame = result.frame
    assert frame["name"].tolist() == [
        "学院路街道党群服务中心",
        "清华园社区党群服务站",
        "双清路快递小哥加油站",
    ]
    assert frame["floor_area_m2"].tolist() == [800.0, 120.0, 30.0]
    assert "columns 经度/纬度 used as longitude/latitude" in result.notes
    assert "经度" not in frame.columns
    np.testing.assert_allclose(xy(result), [[116.353, 39.992], [116.326, 40.005], [116.342, 40.001]])


def test_csv_encoding_note(tmp_path):
    path = write_csv(tmp_path, REGISTER, encoding="gbk")
    notes = read_source(path, "facilities").notes
    assert "encoding GBK detected: the text is not valid UTF-8 and decodes cleanly as GBK" in notes


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


def test_register_with_missing_coordinate_column(tmp_path):
    path = write_csv(tmp_path, "名称,经度,户数\n甲站,116.35,30\n")
    with pytest.raises(InputError) as info:
        read_source(path, "facilities")
    assert str(info.value) == (
        "register.csv: no coordinate columns: expected longitude/latitude columns (经度/纬度, lon/lat, "
        "lng, longitude/latitude, x/y, 东经/北纬) or a WKT column (wkt, geometry, geom, 几何); the "
        "columns are: 名称, 经度, 户数. Name them with --lon COL --lat COL or --wkt COL"
    )


def test_explicit_columns_and_missing_explicit_column(tmp_path):
    path = write_csv(tmp_path, "名称,层级,E坐标,N坐标\n甲站,village_center,116.35,39.9\n")
    result = read_source(path, "facilities", lon="E坐标", lat="N坐标")
    np.testing.assert_allclose(xy(result), [[116.35, 39.9]])
    with pytest.raises(
        InputError, match=r"^register\.csv: no column 'Lat'; the columns are: 名称, 层级, E坐标, N坐标$"
    ):
        read_source(path, "facilities", lon="E坐标", lat="Lat")
    with pytest.raises(InputError, match="give both --lon and --lat"):
        read_source(path, "facilities", lon="E坐标")


def test_text_in_a_numeric_column_names_row_and_field(tmp_path):
    text = "名称,经度,纬度,户数\n甲庄,116.35,39.90,30\n乙庄,116.36,39.91,三十\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "settlements")
    assert str(info.value).startswith(
        "register.csv, layer 'settlements', row 2, field '户数' (households): '三十' is not a number"
    )


def test_text_in_a_coordinate_column_names_row_and_field(tmp_path):
    text = "名称,层级,经度,纬度\n甲站,village_center,116.35,39.90\n乙站,village_center,116.36,39.91\n丙站,village_center,见附件,39.92\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "facilities")
    assert str(info.value).startswith(
        "register.csv, layer 'facilities', row 3, field '经度': '见附件' is not a coordinate (give decimal degrees"
    )


def test_blank_coordinates_are_refused_with_their_rows(tmp_path):
    text = "名称,层级,经度,纬度\n甲站,village_center,116.35,39.90\n乙站,village_center,,\n丙站,village_center,116.37,\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "facilities")
    assert str(info.value) == (
        "register.csv, layer 'facilities': rows 2, 3 have no coordinates in 经度/纬度; a register row "
        "without coordinates cannot be placed on the map: fill them in or remove the row(s)"
    )


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


def test_one_swapped_row_is_named(tmp_path):
    text = "name,tier,lon,lat\na,village_center,116.35,39.90\nb,village_center,116.36,39.91\nc,village_center,39.92,116.37\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "facilities")
    assert str(info.value) == (
        "register.csv, layer 'facilities', row 3, field 'lat': 116.37 is outside −90…90 and is not a "
        "latitude (are longitude and latitude swapped in this row?) (1 such row(s))"
    )


def test_degrees_minutes_seconds_and_fullwidth_digits(tmp_path):
    text = "名称,层级,东经,北纬\n甲站,village_center,116°21′00″,39°54′36″\n乙站,village_center,１１６.５,39度30分\n"
    result = read_source(write_csv(tmp_path, text), "facilities")
    np.testing.assert_allclose(xy(result), [[116.35, 39.91], [116.5, 39.5]], atol=1e-12)


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


def test_wkt_register_for_polygons(tmp_path):
    polys = squares(2)
    text = "名称,户数,WKT\n" + "\n".join(f'村{i},{10 * (i + 1)},"{p.wkt}"' for i, p in enumerate(polys))
    result = read_source(write_csv(tmp_path, text + "\n"), "villages")
    assert result.frame["households"].tolist() == [10, 20]
    assert "column WKT used as WKT geometry" in result.notes
    for got, want in zip(result.frame.geometry, polys, strict=True):
        shapely.testing.assert_geometries_equal(got, want, normalize=True)


def test_bad_wkt_names_the_row(tmp_path):
    text = 'name,geometry\na,"POINT (116.3 39.9)"\nb,"POLYGON ((116.3 39.9, 116.4"\n'
    with pytest.raises(
        InputError,
        match=r"^register\.csv, layer 'facilities', row 2, field 'geometry': 'POLYGON \(\(116\.3 39\.9, 116\.4' is not valid WKT",
    ):
        read_source(write_csv(tmp_path, text), "facilities")


def test_xlsx_register_with_title_line_and_sheets(tmp_path):
    path = tmp_path / "台账.xlsx"
    data = pd.DataFrame(
        [
            ["东升镇党群服务阵地台账（2024年）", None, None, None, None],
            ["名称", "层级", "经度", "纬度", "户数"],
            ["学院路街道党群服务中心", "town_center", 116.353, 39.992, 300],
            ["清华园站", "compound_station", 116.326, 40.005, "abc"],
        ]
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        data.to_excel(writer, sheet_name="阵地", header=False, index=False)
        data.iloc[[1, 2]].to_excel(writer, sheet_name="旧表", header=False, index=False)
    with pytest.raises(InputError) as info:
        read_source(path, "settlements")
    # the row is counted below the header line, the title excluded
    assert str(info.value).startswith(
        "台账.xlsx, layer 'settlements', row 2, field '户数' (households): 'abc' is not a number"
    )
    old = read_source(path, "settlements", source_layer="旧表")
    assert old.frame["name"].tolist() == ["学院路街道党群服务中心"]
    np.testing.assert_allclose(xy(old), [[116.353, 39.992]])
    with pytest.raises(InputError, match=r"^台账\.xlsx: no sheet 'x'; the sheets are: 阵地, 旧表$"):
        read_source(path, "settlements", source_layer="x")


def test_xlsx_first_sheet_note_and_title_note(tmp_path):
    path = tmp_path / "ok.xlsx"
    data = pd.DataFrame([["登记表", None, None], ["名称", "经度", "纬度"], ["甲站", 116.35, 39.9]])
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        data.to_excel(writer, sheet_name="表1", header=False, index=False)
        data.to_excel(writer, sheet_name="表2", header=False, index=False)
    result = read_source(path, "candidates")
    assert "sheet '表1' read (the workbook also has: 表2)" in result.notes
    assert any(n.startswith("header found on line 2;") for n in result.notes)
    np.testing.assert_allclose(xy(result), [[116.35, 39.9]])


def test_corrupt_xlsx(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"^broken\.xlsx: cannot be read as an \.xlsx workbook"):
        read_source(path, "facilities")


# ---------------------------------------------------------------------------------------------
# Files and options


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a.xls", "a.xls: the old Excel .xls format is not read; save the workbook as .xlsx"),
        ("a.dbf", "a.dbf: this is one part of a shapefile; import its .shp file"),
        ("a.zip", "a.zip: unzip the archive first"),
        (
            "a.dwg",
            "a.dwg: unknown file type '.dwg'; servicegrid reads: .gpkg (GeoPackage), .geojson (GeoJSON)",
        ),
    ],
)
def test_unsupported_files(tmp_path, name, fragment):
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(InputError, match="^" + re.escape(fragment)):
        read_source(path, "villages")


def test_missing_file_and_unknown_layer_and_coords(tmp_path):
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_source(tmp_path / "nope.csv", "facilities")
    path = write_csv(tmp_path, REGISTER)
    with pytest.raises(InputError, match="unknown layer 'shops'"):
        read_source(path, "shops")
    with pytest.raises(CRSError, match="unknown coordinate system 'wgs'"):
        read_source(path, "facilities", coords="wgs")  # type: ignore[arg-type]


def test_table_options_are_refused_for_vector_files(tmp_path):
    path = tmp_path / "v.geojson"
    village_frame(TOWN_NAMES).to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match="--lon/--lat/--wkt apply to CSV and XLSX registers"):
        read_source(path, "villages", lon="x", lat="y")
    kml = tmp_path / "v.kml"
    kml.write_text(KML, encoding="utf-8")
    with pytest.raises(
        InputError, match="--encoding applies to shapefiles, GeoJSON and CSV files; KML files"
    ):
        read_source(kml, "facilities", encoding="gbk")


def test_gbk_geojson_is_detected(tmp_path):
    utf8 = tmp_path / "u.geojson"
    village_frame(TOWN_NAMES).to_file(utf8, driver="GeoJSON")
    gbk = tmp_path / "platform.geojson"
    gbk.write_bytes(utf8.read_text(encoding="utf-8").encode("gbk"))
    result = read_source(gbk, "villages")
    assert result.frame["name"].tolist() == TOWN_NAMES
    assert (
        "encoding GBK detected: the text is not valid UTF-8 and decodes cleanly as GBK "
        "(GeoJSON should be UTF-8; the file is not)"
    ) in result.notes
    assert read_source(gbk, "villages", encoding="gbk").frame["name"].tolist() == TOWN_NAMES


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
