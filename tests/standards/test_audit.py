"""The facility audit: every grade path on hand-built facilities, scores, stars, costs and reasons."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from servicegrid.errors import StandardsError
from servicegrid.standards.audit import audit_facilities
from servicegrid.standards.records import StandardsWarning

from .conftest import TEN_HAVES, model_village, register, village


def audit(*rows, preset, lang="zh"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        return audit_facilities(register(*rows), preset, lang=lang)


def one(row, preset, lang="zh"):
    return audit(row, preset=preset, lang=lang).iloc[0]


def test_model_grade(preset):
    got = one(model_village(), preset)
    assert got["grade"] == "model"
    assert got["grade_label"] == "示范型"
    assert got["score"] == 100.0
    assert got["stars"] == 10
    assert got["meets_standard"]
    assert got["missing_items"] == ""
    assert got["upgrade_cost"] == 0.0
    assert got["reason"] == "示范型（10星）：各项达到示范标准"


def test_compliant_grade_and_what_it_lacks_for_model(preset):
    got = one(village(), preset)
    assert got["grade"] == "compliant"
    # basic 50 of 50, function 30 of 30, extra 0 of 20 (no optional item, below model area and
    # hall, no weekend duty or evening session)
    assert got["score"] == 80.0
    assert got["stars"] == 8
    assert got["area_shortfall_m2"] == 0.0
    assert got["area_shortfall_model_m2"] == 50.0
    assert got["hall_shortfall_model_m2"] == 5.0
    assert got["reason"] == (
        "达标型（8星）；距示范型：建筑面积250 m²，差50 m²（需300 m²）；服务大厅面积45 m²，差5 m²（需50 m²）；"
        "可选项目达成0%，需75%；无周末值班，错时延时0次/周，需1次"
    )


def test_noncompliant_for_area(preset):
    got = one(village(floor_area_m2=150.0), preset)
    assert got["grade"] == "noncompliant"
    assert got["area_min_m2"] == 200.0
    assert got["area_shortfall_m2"] == 50.0
    assert got["area_shortfall_model_m2"] == 150.0
    # function group: area fails, hall, windows and hours pass -> 3/4 of 30
    assert got["score"] == pytest.approx(50 + 22.5)
    assert got["stars"] == 7
    assert got["upgrade_cost"] == 50 * 3000
    assert got["reason"] == "不达标：建筑面积150 m²，差50 m²（需200 m²）"


def test_noncompliant_for_a_missing_item(preset):
    got = one(village(items=TEN_HAVES.replace("flag; ", "")), preset)
    assert got["grade"] == "noncompliant"
    assert got["missing_items"] == "flag"
    assert got["missing_items_label"] == "有党旗(国旗)"
    assert got["n_missing_items"] == 1
    assert got["score"] == pytest.approx(45 + 30)
    assert got["upgrade_cost"] == 5000
    assert got["reason"] == "不达标：缺少有党旗(国旗)"


def test_noncompliant_for_a_missing_window(preset):
    got = one(village(windows="general"), preset)
    assert got["grade"] == "noncompliant"
    assert got["missing_windows"] == "party_member"
    assert got["missing_windows_label"] == "党员服务"
    assert got["missing_items"] == ""  # the 十有 list has no window item
    assert got["score"] == pytest.approx(50 + 30 * (1 + 1 + 0.5 + 1) / 4, abs=0.05)  # shown to 0.1
    assert got["upgrade_cost"] == 10000
    assert got["reason"] == "不达标：缺少窗口：党员服务"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"opening_hours": None}, "未公示开放时间"),
        ({"opening_hours": "Mo-We 09:00-17:00"}, "工作日开放3天，需5天"),
        ({"opening_hours": "全天开放"}, "开放时间无法识别：全天开放"),
        ({"staff": 0}, "坐班人员0人，需1人"),
        ({"staff": None}, "未填报坐班人员"),
    ],
)
def test_noncompliant_for_hours(preset, overrides, problem):
    got = one(village(**overrides), preset)
    assert got["grade"] == "noncompliant"
    assert not got["hours_ok"]
    assert got["hours_problem"] == problem
    assert got["reason"] == f"不达标：{problem}"


def test_model_needs_weekend_duty_and_an_evening_session(preset):
    no_weekend = one(model_village(weekend_duty=False), preset)
    assert no_weekend["grade"] == "compliant"
    assert no_weekend["hours_ok"]
    assert not no_weekend["hours_model_ok"]
    # a Saturday in the schedule counts as weekend duty; an interval ending 19:00 as an evening
    schedule = one(
        model_village(
            weekend_duty=False,
            evening_sessions_per_week=0,
            opening_hours="Mo-Fr 08:30-12:00,14:30-19:00; Sa 09:00-12:00",
        ),
        preset,
    )
    assert schedule["grade"] == "model"
    assert schedule["weekend_duty"]
    assert schedule["evening_sessions"] == 5


def test_town_center_needs_weekend_duty_to_comply(preset):
    row = {
        "id": "T",
        "tier": "乡镇",
        "items": "site_fixed; flag; service_hall; party_room; rules_posted; duty_roster; sign_unified; sign_night; guide_sign",
        "windows": "党员服务、综合业务、帮办代办、咨询投诉",
        "zones": "日常办公、综合服务、党群活动、宣传教育",
        "floor_area_m2": 1200.0,
        "opening_hours": "Mo-Fr 08:30-12:00,14:30-18:00",
        "weekend_duty": False,
        "staff": 5,
    }
    got = one(row, preset)
    assert got["grade"] == "noncompliant"
    assert got["hours_problem"] == "无周末值班"
    assert got["items_present"].split("; ").count("windows") == 1  # set check: all four windows
    assert one({**row, "weekend_duty": True}, preset)["grade"] == "compliant"


def test_window_item_is_checked_against_the_tier_windows(preset):
    row = {
        "id": "T",
        "tier": "town_center",
        "items": "windows",
        "windows": "党员服务、综合业务",
        "floor_area_m2": 1200.0,
    }
    got = one(row, preset)
    assert "windows" in got["missing_items"].split("; ")
    assert got["missing_windows"] == "proxy; complaints"


def test_staff_item_is_checked_against_the_staff_count(preset):
    station = {
        "id": "S",
        "tier": "compound_station",
        "items": "site_fixed; sign_unified; flag; staff; rules_posted; facilities_basic; activities_log; contact_notice",
        "floor_area_m2": 40.0,
        "opening_hours": "Sa 09:00-12:00",
    }
    nobody = one({**station, "staff": 0}, preset)
    assert nobody["missing_items"] == "staff"
    assert nobody["grade"] == "noncompliant"
    unknown = one({**station, "staff": None}, preset)  # blank count: the listed item decides
    assert unknown["missing_items"] == ""
    assert unknown["grade"] == "compliant"
    two = one({**station, "staff": 2, "items": station["items"].replace("staff; ", "")}, preset)
    assert two["missing_items"] == ""


def test_area_not_recorded(preset):
    got = one(village(floor_area_m2=None), preset)
    assert got["grade"] == "noncompliant"
    assert np.isnan(got["area_shortfall_m2"])
    assert np.isnan(got["upgrade_cost"])
    assert got["reason"] == "不达标：未填报建筑面积"


def test_area_text_is_understood(preset):
    got = one(village(floor_area_m2="260平方米"), preset)
    assert got["floor_area_m2"] == 260.0
    assert got["grade"] == "compliant"


def test_english_labels_and_reason(preset):
    got = one(village(floor_area_m2=150.0, windows="general"), preset, lang="en")
    assert got["grade_label"] == "Below standard"
    assert got["tier_label"] == "Village party-mass service center"
    assert got["reason"] == (
        "Below standard: floor area 150 m², 50 m² short (needs 200 m²); missing windows: Party member services"
    )


def test_grades_in_one_vectorised_call(preset):
    rows = [
        model_village(id="M"),
        village(id="C"),
        village(id="A", floor_area_m2=150.0),
        village(id="I", items=TEN_HAVES.replace("flag; ", "")),
        village(id="W", windows="general"),
        village(id="H", opening_hours=None),
    ]
    frame = register(*rows)
    frame.index = pd.Index([10, 11, 12, 13, 14, 15])
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        got = audit_facilities(frame, preset)
    assert got["grade"].tolist() == ["model", "compliant"] + ["noncompliant"] * 4
    assert got["id"].tolist() == ["M", "C", "A", "I", "W", "H"]
    pd.testing.assert_index_equal(got.index, frame.index)
    assert got.crs == frame.crs
    assert got.geometry.equals(frame.geometry)
    pd.testing.assert_frame_equal(frame, before)  # input untouched


def test_activity_and_courier_rooms(preset):
    room = {
        "id": "R",
        "tier": "党员活动室",
        "items": "有场所、有设施、有标志、有党旗、有书报、有制度",  # the 六有 in the seed's words
        "floor_area_m2": 30.0,
    }
    got = one(room, preset)
    assert got["tier"] == "activity_room"
    assert got["grade"] == "model"  # no hours rule, no optional items: area decides
    courier = one(
        {
            "id": "K",
            "tier": "快递小哥加油站",
            "items": "有统一标识、休息区、饮水机、充电、微波炉、卫生间、药箱",
            "floor_area_m2": 15.0,
            "opening_hours": "Mo-Su 08:00-20:00",
        },
        preset,
    )
    assert courier["missing_items"] == "contact_notice"
    assert courier["grade"] == "noncompliant"


def test_unknown_tier_is_an_error(preset):
    with pytest.raises(
        StandardsError,
        match=r"unknown tier '镇政府' for facility X \(closest: 镇级 → town_center.*\)\. Valid tiers: county_center",
    ):
        audit(village(id="X", tier="镇政府"), preset=preset)


def test_absent_columns_are_warned_once(preset):
    frame = register({"id": "V", "tier": "村", "items": TEN_HAVES})
    with pytest.warns(
        StandardsWarning,
        match="the register records no windows, floor_area_m2, hall_area_m2, opening_hours, staff; every requirement",
    ):
        got = audit_facilities(frame, preset)
    assert got["grade"].tolist() == ["noncompliant"]


def test_bad_lang_is_refused(preset):
    with pytest.raises(ValueError, match=r"lang='fr' not supported; use one of \('zh', 'en'\)"):
        audit_facilities(register(village()), preset, lang="fr")
