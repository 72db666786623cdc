"""read_source on CSV and XLSX registers: encodings, headers, coordinate columns, DMS, WKT, workbooks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.testing

from servicegrid.errors import InputError
from servicegrid.geo.readers import read_source

from .conftest import REGISTER, squares, write_csv, xy


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
