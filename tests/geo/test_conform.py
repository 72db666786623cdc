"""Conforming: registers' numbers, words and headers become the data model's values, and every
value that cannot be read is a finding (never a traceback, never the first one only)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from servicegrid.errors import InputError
from servicegrid.geo.conform import conform, conform_layer, normalise_header


def layer(columns: dict[str, list]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[shapely.Point(113.6, 37.7)] * n, crs=4326)


def test_numbers_written_as_offices_write_them():
    raw = layer(
        {
            "id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "户数": ["１２００户", "1,200", "约400", "400余户", "300户左右", "1.2万", "-", None],
        }
    )
    out = conform_layer(raw, "compounds")
    assert out.frame["households"].tolist()[:6] == [1200, 1200, 400, 400, 300, 12000]
    assert out.frame["households"].isna().tolist()[6:] == [True, True]
    approx = out.findings[out.findings["check"] == "approximate_value"]
    assert approx[["severity", "id", "row", "field"]].values.tolist() == [
        ["warning", "c", 3, "households"],
        ["warning", "d", 4, "households"],
        ["warning", "e", 5, "households"],
    ]
    assert approx["message"].iloc[0] == "approximate value '约400' read as 400"
    assert (out.findings["severity"] == "error").sum() == 0


def test_costs_in_ten_thousands_of_yuan():
    out = conform_layer(layer({"id": ["1", "2"], "费用": ["30万元", "８０００元"]}), "candidates")
    assert out.frame["cost"].tolist() == [300_000.0, 8_000.0]


def test_every_bad_value_of_every_column_is_a_finding():
    raw = layer(
        {
            "id": ["K1", "K2", "K3", "K4"],
            "户数": ["很多", "12.5", "300", "四百"],
            "人口": ["1000", "x", "900", "1200"],
        }
    )
    out = conform_layer(raw, "compounds")
    errors = out.findings[out.findings["severity"] == "error"]
    assert errors[["id", "row", "field", "message"]].values.tolist() == [
        ["K1", 1, "households", "'很多' is not a number"],
        ["K2", 2, "households", "12.5 is not a whole number of households"],
        ["K2", 2, "population", "'x' is not a number"],
        ["K4", 4, "households", "'四百' is not a number"],
    ]
    # the bad values are blank, the good ones read
    assert out.frame["households"].fillna(-1).tolist() == [-1, -1, 300, -1]


def test_strict_conform_names_every_bad_column_at_once():
    raw = layer({"户数": ["12", "很多", "多"], "人口": ["x", "1", "2"]})
    with pytest.raises(InputError) as info:
        conform(raw, "compounds", source="register.xlsx")
    assert str(info.value) == (
        "register.xlsx, layer 'compounds', row 1, field '人口' (population): 'x' is not a number "
        "(1 such value(s) in this column); also field '户数' row 2: '很多' is not a number (2 such value(s))"
    )


def test_enumerations_take_their_canonical_values():
    raw = layer(
        {
            "id": [f"F{i}" for i in range(7)],
            "tier": ["village_center"] * 7,
            "状态": ["正常", "operating", "暂停使用", "改造中", "已撤并", "拟建", None],
        }
    )
    out = conform_layer(raw, "facilities")
    assert out.frame["status"].tolist() == [
        "existing",
        "existing",
        "suspended",
        "suspended",
        "closed",
        "planned",
        "existing",
    ]
    assert len(out.findings) == 0


def test_an_unknown_word_is_an_error_with_the_closest_ones():
    raw = layer({"id": ["V1", "V2"], "kind": ["comunity", "社区"]})
    out = conform_layer(raw, "villages")
    assert out.findings[["severity", "id", "check", "field"]].values.tolist() == [
        ["error", "V1", "unknown_kind", "kind"]
    ]
    message = out.findings["message"].iloc[0]
    assert message.startswith("kind 'comunity' is not a known value (closest: community)")
    assert "accepted: village (行政村, 村, 农村, 村委会, …); community (社区" in message
    assert out.frame["kind"].fillna("?").tolist() == ["?", "community"]


def test_conforming_twice_changes_nothing_and_finds_nothing():
    raw = layer({"id": [1.0, 2.0], "户数": ["约400", "1,200户"], "名称": [" 甲 ", "乙"]})
    once = conform_layer(raw, "compounds")
    twice = conform_layer(once.frame, "compounds")
    pd.testing.assert_frame_equal(once.frame, twice.frame)
    assert len(twice.findings) == 0
    assert once.frame["id"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("户数(户)", "households"),
        ("人口（人）", "population"),
        ("总户数", "households"),
        ("面积(㎡)", "floor_area_m2"),
        ("面积（平方米）", "floor_area_m2"),
        ("大厅面积(m²)", "hall_area_m2"),
        ("Floor_Area_M2", "floor_area_m2"),
    ],
)
def test_headers_with_units_in_brackets(header, column):
    layer_name = "facilities" if "area" in column else "compounds"
    out = conform_layer(layer({"id": ["x"], header: ["12"]}), layer_name)
    assert column in out.frame.columns


def test_header_normaliser_keeps_a_header_that_is_all_brackets():
    assert normalise_header("(备注)") == "备注"
