"""Opening-hours text: the documented format, Chinese words, off days, evenings and bad text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicegrid.standards.hours import DAYS, parse_opening_hours


def parse(*texts: str | None):
    return parse_opening_hours(pd.Series(list(texts), dtype=object))


def test_weekday_schedule_with_a_lunch_break():
    s = parse("Mo-Fr 08:30-12:00,14:30-18:00")
    assert s.readable.tolist() == [True]
    assert s.open[0].tolist() == [True] * 5 + [False] * 2
    assert s.weekly_hours[0] == pytest.approx(5 * 7.0)
    assert s.latest_end[0].tolist() == [18 * 60] * 5 + [0, 0]
    assert s.weekdays_open.tolist() == [5]
    assert s.weekend_open.tolist() == [False]


def test_saturday_rule_and_evening_sessions():
    s = parse("Mo-Fr 08:30-12:00,14:30-18:00, We 19:00-21:00; Sa 09:00-12:00")  # "," adds a rule
    assert s.weekend_open.tolist() == [True]
    assert s.weekly_hours[0] == pytest.approx(35 + 2 + 3)
    assert s.evening_days(18 * 60 + 30).tolist() == [1]  # Wednesday evening only


def test_later_rule_replaces_the_day_osm_semantics():
    """OSM: a later rule for a day replaces the earlier ones; intervals of a day are a union."""
    s = parse(
        "Mo-Su 09:00-21:00; Sa 09:00-12:00",
        "Mo-Fr 08:30-12:00,14:30-18:00; We 19:00-21:00",  # Wednesday is only the evening
        "Mo-Fr 08:00-12:00,10:00-14:00",  # overlapping intervals count once
        "每天 9:00-21:00；周六 9:00-12:00",
        "周一至周日9:00-21:00，周六9:00-12:00",  # a full-width comma before new days: a new rule
    )
    assert s.weekly_hours.tolist() == pytest.approx([75, 30, 30, 75, 75])
    assert s.latest_end[1].tolist() == [18 * 60, 18 * 60, 21 * 60, 18 * 60, 18 * 60, 0, 0]
    assert s.osm[0] == "Mo-Fr,Su 09:00-21:00; Sa 09:00-12:00"  # as the library normalises it


@pytest.mark.parametrize(
    ("text", "osm", "hours"),
    [
        ("周一至周五上午8:30-12:00，下午2:30-5:30", "Mo-Fr 08:30-12:00,14:30-17:30", 32.5),
        ("工作日 8点半-17点半；周末及节假日休息", "Mo-Fr 08:30-17:30; Sa-Su,PH off", 45),
        ("周一、周三、周五 8:30-17:30", "Mo,We,Fr 08:30-17:30", 27),
        ("开放时间：周一至周五 9:00-17:00 周六 9:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00", 43),
        ("周末及节假日 9:00-12:00", "Sa-Su,PH 09:00-12:00", 6),
        ("周一至周五 9点-17点，晚上7点-9点", "Mo-Fr 09:00-17:00,19:00-21:00", 50),
        ("每天24小时", "Mo-Su 00:00-24:00", 168),
        ("周一闭馆；周二至周日 9:00-17:00", "Mo off; Tu-Su 09:00-17:00", 48),
        # forms registers write that the first translation left unreadable (issue 10, item 8)
        ("周一至周五上午9:00-12:00 下午2:00-6:00，节假日休息", "Mo-Fr 09:00-12:00,14:00-18:00; PH off", 35),
        ("周一至周五：9:00-17:00", "Mo-Fr 09:00-17:00", 40),
        ("周一至周六 8:30-17:30（节假日除外）", "Mo-Sa 08:30-17:30; PH off", 54),
        ("周一至周五 9:00-12:00、14:00-17:30", "Mo-Fr 09:00-12:00,14:00-17:30", 32.5),
    ],
)
def test_chinese_forms_translate_to_osm(text, osm, hours):
    from servicegrid.standards.hours import to_osm_syntax

    assert to_osm_syntax(pd.Series([text])).tolist() == [osm]
    s = parse(text)
    assert s.readable.tolist() == [True]
    assert s.weekly_hours[0] == pytest.approx(hours)


def test_public_holiday_rules_leave_an_ordinary_week_alone():
    s = parse("节假日 9:00-12:00", "Mo-Fr 09:00-17:00; PH off")
    assert s.readable.tolist() == [True, True]
    assert s.weekly_hours.tolist() == pytest.approx([0, 40])


@pytest.mark.parametrize(
    ("text", "weekdays", "weekend"),
    [
        ("周一至周五 8:30-12:00，14:30-18:00", 5, False),
        ("星期一到星期五 09:00-17:00；周六 09:00-12:00", 5, True),
        ("工作日 9:00-17:00", 5, False),
        ("周末 9:00-12:00", 0, True),
        ("每天 9:00-21:00", 5, True),
        ("Mo,We,Fr 08:00-12:00", 3, False),
        ("Fr-Mo 10:00-16:00", 2, True),  # wraps over the weekend
        ("08:00-12:00", 5, True),  # no days: every day
        ("24/7", 5, True),
        ("Ｍｏ－Ｆｒ　０８:００－１２:００", 5, False),  # full-width text
    ],
)
def test_accepted_forms(text, weekdays, weekend):
    s = parse(text)
    assert s.readable.tolist() == [True]
    assert s.weekdays_open.tolist() == [weekdays]
    assert s.weekend_open.tolist() == [weekend]


def test_off_closes_named_days():
    s = parse("Mo-Fr 09:00-17:00; We off")
    assert s.open[0].tolist() == [True, True, False, True, True, False, False]
    assert s.weekly_hours[0] == pytest.approx(32)


def test_interval_past_midnight():
    s = parse("Sa 20:00-02:00")
    assert s.weekly_hours[0] == pytest.approx(6)
    assert s.latest_end[0, 5] == 26 * 60
    assert s.evening_days(18 * 60 + 30).tolist() == [1]


def test_blank_and_unreadable_text():
    s = parse(None, "", "全天开放", "25:00-26:00", "Mo-Fr 08:00-12:00; garbage")
    assert s.recorded.tolist() == [False, False, True, True, True]
    assert s.readable.tolist() == [False, False, False, False, False]
    assert not s.open.any()
    assert s.weekly_hours.tolist() == [0.0] * 5


def test_evening_threshold_per_facility():
    s = parse("Mo-Fr 09:00-19:00", "Mo-Fr 09:00-19:00")
    assert s.evening_days(np.array([18 * 60 + 30, 19 * 60])).tolist() == [5, 0]


def test_repeated_texts_give_identical_rows():
    s = parse("Mo-Fr 09:00-17:00", None, "Mo-Fr 09:00-17:00")
    np.testing.assert_array_equal(s.open[0], s.open[2])
    assert s.recorded.tolist() == [True, False, True]


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(0, 6),
    last=st.integers(0, 6),
    start=st.integers(0, 22 * 60),
    length=st.integers(1, 120),
)
def test_weekly_hours_are_days_times_length(first, last, start, length):
    end = start + length
    text = f"{DAYS[first]}-{DAYS[last]} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    days = (last - first) % 7 + 1
    s = parse(text)
    assert s.readable.tolist() == [True]
    assert int(s.open[0].sum()) == days
    assert s.weekly_hours[0] == pytest.approx(days * length / 60)


def test_days_without_a_time_are_unreadable_not_open_round_the_clock():
    """In OSM syntax a day without a time is open all day: 周六上午 or a bare 周六 in a register
    means hours it does not give, so the schedule is unreadable (the audit names it), never 64 h."""
    s = parse("工作日9:00-17:00，周六上午", "工作日9:00-17:00，周六", "周六下午", "Mo-Fr 09:00-17:00; Sa")
    assert s.readable.tolist() == [False, False, False, True]
    assert s.weekly_hours.tolist() == pytest.approx([0, 0, 0, 40 + 24])  # OSM text keeps OSM's meaning
