"""read_source on vector files: shapefiles and their encodings, GeoJSON, GeoPackage, KML/KMZ."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.testing

from servicegrid.errors import InputError
from servicegrid.geo.crs import to_metric
from servicegrid.geo.readers import read_source
from tests.conftest import shared_path

from .conftest import KML, RARE_NAMES, TOWN_NAMES, village_frame, write_shapefile, xy


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


def test_real_beijing_townships_shapefile(tmp_path):
    path = shared_path("cn-beijing-townships-polygons", "beijing.shp")
    # no id column, and one township name used twice: ids cannot be made up safely (item 12)
    with pytest.raises(
        InputError, match=r"no id column .*the names are not distinct \('八里庄街道' more than once\)"
    ):
        read_source(path, "townships")
    raw = pyogrio.read_dataframe(path)
    raw.insert(0, "编号", [f"T{i:03d}" for i in range(len(raw))])
    copy = tmp_path / "beijing.shp"
    pyogrio.write_dataframe(raw, copy, encoding="UTF-8")
    result = read_source(copy, "townships")
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


def test_shapefile_without_its_dbf_is_refused(tmp_path):
    """Without the .dbf the ids were invented and the names lost (issue 10, item 12)."""
    shp = write_shapefile(tmp_path, village_frame(TOWN_NAMES), "UTF-8")
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputError) as info:
        read_source(shp, "villages")
    assert str(info.value).startswith("villages.shp: the shapefile has no villages.dbf beside it")


def test_register_without_ids_gets_them_only_where_safe(tmp_path):
    """Row ids for layers nothing refers to, distinct names for the others, else an error."""
    frame = village_frame(TOWN_NAMES).drop(columns="编号")
    path = tmp_path / "v.geojson"
    frame.to_file(path, driver="GeoJSON")
    villages = read_source(path, "villages")
    assert villages.frame["id"].tolist() == TOWN_NAMES
    assert any("each feature's name is its id" in n for n in villages.notes)
    settlements = read_source(path, "settlements")
    assert settlements.frame["id"].tolist() == ["S1", "S2", "S3"]
    assert any(
        "generated from the row order (safe: no other layer refers to settlements" in n
        for n in settlements.notes
    )
    frame.assign(名称=["东升镇", "东升镇", "清河街道"]).to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match=r"the names are not distinct \('东升镇' more than once\)"):
        read_source(path, "villages")
    frame.drop(columns="名称").to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match=r"no id column .*, and no name column to take them from"):
        read_source(path, "compounds")
