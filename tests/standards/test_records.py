"""Reading what facilities have: list columns, yes/no columns, both, labels and tiers."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from servicegrid.errors import InputError, StandardsError
from servicegrid.standards.records import StandardsWarning, parse_records, resolve_tiers

from .conftest import register


def present(records, kind: str, row: int) -> list[str]:
    matrix = records[kind]
    return [c for c in matrix.columns if matrix.iloc[row][c]]


def test_list_column_with_ids_labels_and_mixed_separators(preset):
    frame = register(
        {
            "id": "A",
            "tier": "village_center",
            "items": "有党旗（国旗）、有党务(村/居务)公开栏; 议事室，rules_posted|有 制度上墙",
            "windows": "党员服务；综合窗口",
        }
    )
    rec = parse_records(frame, preset)
    assert present(rec, "items", 0) == ["flag", "council_room", "rules_posted", "disclosure_board"]
    assert present(rec, "windows", 0) == ["party_member", "general"]
    assert rec.issues.empty
    assert rec.provided == {"items": True, "windows": True, "zones": False, "rooms": False}
    assert list(rec["items"].columns) == list(preset.items)
    pd.testing.assert_index_equal(rec["items"].index, frame.index)


def test_short_forms_of_labels(preset):
    frame = register({"id": "A", "tier": "村", "items": "党旗、公开栏、有书报、便民服务大厅"})
    rec = parse_records(frame, preset)
    assert present(rec, "items", 0) == ["flag", "service_hall", "disclosure_board", "books_papers"]


def test_unknown_label_is_warned_with_the_closest_known(preset):
    frame = register(
        {"id": "A", "tier": "village_center", "items": "有党旗(国旗); 有党旗子"},
        {"id": "B", "tier": "village_center", "items": "有党旗子", "rooms": "书画"},
    )
    with pytest.warns(StandardsWarning) as caught:
        rec = parse_records(frame, preset)
    messages = [str(w.message) for w in caught]
    assert any(
        "field 'items': unknown item '有党旗子' (facility A, B); closest known: 有党旗(国旗) [flag]" in m
        for m in messages
    )
    assert any("unknown room '书画'" in m and "书画室 [calligraphy]" in m for m in messages)
    unknown = rec.issues[rec.issues["problem"] == "unknown"]
    assert unknown[["facility_id", "field", "label"]].values.tolist() == [
        ["A", "items", "有党旗子"],
        ["B", "items", "有党旗子"],
        ["B", "rooms", "书画"],
    ]
    assert present(rec, "items", 0) == ["flag"]


def test_yes_no_columns_only(preset):
    frame = register(
        {
            "id": "A",
            "tier": "village_center",
            "flag": "是",
            "有制度上墙": "有",
            "党旗": None,
            "党员服务": "Y",
            "办公地址": "x路1号",
        },
        {
            "id": "B",
            "tier": "village_center",
            "flag": "否",
            "有制度上墙": "无",
            "党旗": None,
            "党员服务": "0",
            "办公地址": "y",
        },
    )
    # '党旗' also names the flag item; with 'flag' already present both columns are read
    rec = parse_records(frame, preset)
    assert present(rec, "items", 0) == ["flag", "rules_posted"]
    assert present(rec, "items", 1) == []
    assert present(rec, "windows", 0) == ["party_member"]
    assert rec.provided["items"]
    assert rec.provided["windows"]


def test_both_forms_combine_and_contradictions_are_reported(preset):
    frame = register(
        {"id": "A", "tier": "village_center", "items": "flag", "有制度上墙": "是", "有党旗(国旗)": "否"},
        {"id": "B", "tier": "village_center", "items": "", "有制度上墙": "否", "有党旗(国旗)": "是"},
    )
    with pytest.warns(
        StandardsWarning,
        match=r"column '有党旗\(国旗\)' says no but 'items' lists it; counted as present \(facility A\)",
    ):
        rec = parse_records(frame, preset)
    assert present(rec, "items", 0) == ["flag", "rules_posted"]  # listed counts even against 否
    assert present(rec, "items", 1) == ["flag"]
    clash = rec.issues[rec.issues["problem"] == "contradiction"]
    assert clash["facility_id"].tolist() == ["A"]


def test_yes_no_column_with_a_bad_value_names_the_row(preset):
    frame = register(
        {"id": "A", "tier": "village_center", "有党旗(国旗)": "是"},
        {"id": "B", "tier": "village_center", "有党旗(国旗)": "也许"},
    )
    with pytest.raises(
        InputError, match=r"layer 'facilities', row 2, field '有党旗\(国旗\)': '也许' is not yes/no"
    ):
        parse_records(frame, preset)


def test_a_column_named_like_an_item_but_without_yes_no_values_is_ignored(preset):
    frame = register(
        {"id": "A", "tier": "village_center", "场所": "城关镇人民路1号", "items": "flag"},
        {"id": "B", "tier": "village_center", "场所": "城关镇人民路2号", "items": ""},
    )
    with pytest.warns(
        StandardsWarning, match="column '场所' names item site_fixed but holds no yes/no values; ignored"
    ):
        rec = parse_records(frame, preset)
    assert present(rec, "items", 0) == ["flag"]
    assert present(rec, "items", 1) == []


def test_chinese_headers_are_understood(preset):
    frame = gpd.GeoDataFrame(
        {
            "编号": ["A"],
            "层级": ["社区"],
            "窗口": ["党员服务、帮办代办"],
            "功能室": ["图书室；棋牌室"],
            "面积": ["600平方米"],
        },
        geometry=[Point(114, 35)],
        crs=4326,
    )
    rec = parse_records(frame, preset)
    assert rec.tier.tolist() == ["community_center"]
    assert present(rec, "windows", 0) == ["party_member", "proxy"]
    assert present(rec, "rooms", 0) == ["chess", "library"]


def test_tiers_resolve_from_ids_and_names(preset):
    values = pd.Series(
        [
            "village_center",
            "村级党群服务中心",
            "村",
            "社区",
            "小区党群服务站",
            "红扁担驿站",
            " 快递小哥加油站 ",
        ]
    )
    assert resolve_tiers(values, preset).tolist() == [
        "village_center",
        "village_center",
        "village_center",
        "community_center",
        "compound_station",
        "compound_station",
        "courier_station",
    ]


def test_unknown_tier_names_the_facilities_and_the_valid_tiers(preset):
    frame = register(
        {"id": "F1", "tier": "村"},
        {"id": "F2", "tier": "村委会"},
        {"id": "F3", "tier": "村委会"},
        {"id": "F4", "tier": None},
    )
    with pytest.raises(StandardsError) as err:
        parse_records(frame, preset)
    text = str(err.value)
    assert "unknown tier '村委会' for facility F2, F3" in text
    assert "blank tier for facility F4" in text
    assert "Valid tiers: county_center (县级党群服务中心), town_center" in text
    assert "courier_station (快递小哥加油站)" in text
    assert "F1" not in text


def test_parse_does_not_change_its_input(preset):
    frame = register({"id": "A", "tier": "村", "items": "党旗、公开栏"})
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_records(frame, preset)
    pd.testing.assert_frame_equal(frame, before)
