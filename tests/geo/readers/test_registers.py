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


# Registers as offices write them (issue 10, item 11)


def test_fullwidth_digits_in_every_column_kind(tmp_path):
    text = (
        "编号,名称,层级,所属村,面积,坐班人数,经度,纬度\n"
        "Ｆ１,甲站,village_center,Ｖ１,８００平方米,３人,１１６.３５,３９.９０\n"
        "F2,乙站,village_center,V2,1，200,２,116.36,39.91\n"
    )
    result = read_source(write_csv(tmp_path, text), "facilities")
    frame = result.frame
    assert frame["id"].tolist() == ["F1", "F2"]
    assert frame["village_id"].tolist() == ["V1", "V2"]
    assert frame["floor_area_m2"].tolist() == [800.0, 1200.0]
    assert frame["staff"].tolist() == [3, 2]
    np.testing.assert_allclose(xy(result), [[116.35, 39.90], [116.36, 39.91]])
    wkt = 'name,households,wkt\n甲,６００户,"ＰＯＩＮＴ (１１６.３ ３９.９)"\n'
    settlements = read_source(write_csv(tmp_path, wkt, name="s.csv"), "settlements")
    assert settlements.frame["households"].tolist() == [600]
    np.testing.assert_allclose(xy(settlements), [[116.3, 39.9]])


def test_a_fractional_household_count_is_an_error_on_import(tmp_path):
    text = "名称,户数,经度,纬度\n幸福小区,12.5,116.35,39.9\n和平小区,３００,116.36,39.9\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "compounds")
    assert str(info.value) == (
        "register.csv, layer 'compounds', row 1, field '户数' (households): 12.5 is not a whole number "
        "of households (1 such value(s) in this column)"
    )


def test_two_columns_that_both_mean_households_are_an_error_naming_both(tmp_path):
    text = "名称,户数,总户数,经度,纬度\n幸福小区,300,320,116.35,39.9\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "compounds")
    assert str(info.value) == (
        "register.csv, layer 'compounds': columns '户数' and '总户数' both mean households; keep one of "
        "them (delete or rename the others)"
    )
    # a row number beside the code (序号 and 编号) is no conflict worth refusing: 编号 is the id
    text = "序号,编号,名称,经度,纬度\n1,XQ-01,幸福小区,116.35,39.9\n"
    assert read_source(write_csv(tmp_path, text), "compounds").frame["id"].tolist() == ["XQ-01"]


def test_headers_with_units_in_brackets_are_recognised(tmp_path):
    text = "小区名称,户数(户),人口（人）,经度,纬度\n幸福小区,300,900,116.35,39.9\n"
    compounds = read_source(write_csv(tmp_path, text), "compounds").frame
    assert compounds[["name", "households", "population"]].values.tolist() == [["幸福小区", 300, 900]]
    text = "名称,层级,面积(㎡),服务大厅面积（平方米）,经度,纬度\n甲站,village_center,300,80,116.35,39.9\n"
    facilities = read_source(write_csv(tmp_path, text, name="f.csv"), "facilities").frame
    assert facilities[["floor_area_m2", "hall_area_m2"]].values.tolist() == [[300.0, 80.0]]


def _workbook(path, sheets):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows, state in sheets:
        ws = book.create_sheet(title)
        ws.sheet_state = state
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def test_formula_cells_without_a_saved_value_are_a_warning_naming_the_cells(tmp_path):
    rows = [
        ["名称", "户数", "人口", "经度", "纬度"],
        ["幸福小区", "=100+200", 900, 116.35, 39.9],  # openpyxl writes formulas without their values
        ["和平小区", 250, "=B3*3", 116.36, 39.9],
    ]
    path = _workbook(tmp_path / "小区.xlsx", [("小区", rows, "visible")])
    result = read_source(path, "compounds")
    note = next(n for n in result.notes if "formulas" in n)
    assert "cell(s) B2, C3 hold formulas without a saved value" in note
    assert "open and save the workbook in Excel/WPS" in note
    assert result.frame["households"].tolist()[1] == 250
    assert pd.isna(result.frame["households"].iloc[0])


def test_a_hidden_first_sheet_is_skipped_for_the_first_visible_one(tmp_path):
    old = [["名称", "经度", "纬度"], ["旧站", 110.0, 30.0]]
    new = [["名称", "层级", "经度", "纬度"], ["甲站", "village_center", 116.35, 39.9]]
    path = _workbook(tmp_path / "台账.xlsx", [("旧表", old, "hidden"), ("阵地", new, "visible")])
    result = read_source(path, "facilities")
    assert result.frame["name"].tolist() == ["甲站"]
    assert (
        "hidden sheet(s) '旧表' skipped; sheet '阵地' read (name another with --source-layer)" in result.notes
    )
    named = read_source(path, "facilities", source_layer="旧表")  # a hidden sheet named is read
    assert named.frame["name"].tolist() == ["旧站"]


def test_bad_coordinates_and_bad_values_are_named_at_once(tmp_path):
    """Every bad column in one message: both coordinate columns and the attributes (issue 10)."""
    text = "编号,名称,户数,人口,经度,纬度\nC1,甲,abc,1.5,113.6x,37.7\nC2,乙,3,x,113.6,北纬三十七\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "compounds")
    assert str(info.value) == (
        "register.csv, layer 'compounds', row 1, field '经度': '113.6x' is not a coordinate (give decimal "
        "degrees such as 116.35, or 116°20′30″) (1 such value(s) in this column); also field '纬度' row 2: "
        "'北纬三十七' is not a coordinate (give decimal degrees such as 116.35, or 116°20′30″) (1 such "
        "value(s) in this column); also field '户数' row 1: 'abc' is not a number (1 such value(s) in this "
        "column); also field '人口' row 1: 1.5 is not a whole number of people (1 such value(s), and 1 "
        "other bad value(s))"
    )
    wkt = 'name,households,wkt\n甲,12.5,"POINT (116.3 39.9)"\n乙,3,"POINT ("\n'
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, wkt, name="s.csv"), "settlements")
    assert str(info.value) == (
        "s.csv, layer 'settlements', row 2, field 'wkt': 'POINT (' is not valid WKT (1 such value(s) in "
        "this column); also field 'households' row 1: 12.5 is not a whole number of households (1 such "
        "value(s) in this column)"
    )


def test_a_column_with_fractions_and_words_counts_each_kind(tmp_path):
    text = "名称,户数,经度,纬度\n甲,１２.５,113.6,37.7\n乙,12.5,113.6,37.7\n丙,很多,113.6,37.7\n"
    with pytest.raises(InputError) as info:
        read_source(write_csv(tmp_path, text), "compounds")
    assert str(info.value) == (
        "register.csv, layer 'compounds', row 1, field '户数' (households): 12.5 is not a whole number of "
        "households (2 such value(s) in this column, and 1 other bad value(s))"
    )
