"""Opening-hours text: the weekly schedule a facility posts, read into per-day arrays.

Schedules follow OpenStreetMap's ``opening_hours`` syntax, evaluated by the ``opening-hours-py``
library (the OSM rules: a later rule for a day replaces the earlier ones, ``off`` closes the days
it names, intervals of one rule are a union, ``,`` between rules adds to the earlier ones). The
forms Chinese registers use are first translated into that syntax (:func:`to_osm_syntax`)::

    周一至周五 8:30-12:00，14:30-18:00；周六 9:00-12:00   ->  Mo-Fr 08:30-12:00,14:30-18:00; Sa 09:00-12:00
    周一至周五上午8:30-12:00，下午2:30-5:30                ->  Mo-Fr 08:30-12:00,14:30-17:30
    工作日 8点半-17点半，周末及节假日休息                  ->  Mo-Fr 08:30-17:30; Sa-Su,PH off

Days: 周一…周日 (星期一…, 礼拜一…, 周天), 工作日 (Mo-Fr), 周末/双休日 (Sa-Su), 每天/每日 (Mo-Su),
节假日/法定节假日 (PH); ``至``, ``到``, ``~`` and dashes are ranges; ``、``, ``及``, ``和`` join days;
上午/早上 before a time are dropped and 下午/晚上 add twelve hours to an hour below 12; ``8点30分``,
``8点半`` and ``8时`` are times; 休息/闭馆/关闭 mean ``off`` and (节假日除外) is ``PH off``; a full-width
``，`` or ``；`` before a new group of days separates rules (``;``); a colon after the days
(``周一至周五：9:00``) and a space or ``、`` between two intervals are accepted. Full-width characters
are accepted. Chinese text that leaves a day without a time (``周六上午``, a bare ``周六``) is not
readable: OSM syntax would read the day as open round the clock. A schedule's week is an
ordinary week without public holidays: ``PH`` rules do not change the weekly figures. An interval
running past midnight belongs to the day it starts on. A day counts as an evening session when
one of its intervals ends after the tier's ``hours.evening_after`` (18:30 by default).

Each distinct text is translated and evaluated once, whatever the number of facilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

__all__ = ["DAYS", "Schedule", "parse_opening_hours", "to_osm_syntax"]

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_TOKEN = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
_RANGE = r"\s*(?:至|到|~|–|—|－|−|-)\s*"
_GROUP_START = r"(?=\s*(?:周|星期|礼拜|工作日|节假日|法定|周末|双休|每天|每日|全周|天天))"
_DAY_NUMBER = "一二三四五六"

#: (pattern, replacement) applied in order after NFKC normalisation.
_WORDS: list[tuple[str, str]] = [
    (r"^\s*(?:开放|办公|服务|营业|工作)时间\s*:?\s*", ""),
    (r"(?<=[^\d\s:])\s*:\s*", " "),  # 周一至周五：9:00 — a colon after the days, not in a time
    (r"24\s*小时(?:开放|营业|服务)?", "00:00-24:00"),
    (r"(\d{1,2})\s*[点时]\s*半", r"\1:30"),
    (r"(\d{1,2})\s*[点时]\s*(\d{1,2})\s*分?", r"\1:\2"),
    (r"(\d{1,2})\s*[点时]整?", r"\1:00"),
    (r"(\d{1,2})\s*:\s*(\d{2})", r"\1:\2"),
    (r"(?:上午|早上|早晨|清晨|凌晨|中午)\s*(?=\d)", ""),  # without a time (周六上午) it stays: unreadable
    (r"\(?\s*(?:法定)?(?:节假日|假日)除外\s*\)?", "; PH off"),
    (r"(?:法定节假日|法定假日|节假日|节日|假日)", "PH"),
    (r"(?:星期|周|礼拜)(?:日|天)", "Su"),
    *((rf"(?:星期|周|礼拜){n}", d) for n, d in zip(_DAY_NUMBER, DAYS, strict=False)),
    (r"工作日", "Mo-Fr"),
    (r"(?:周末|双休日)", "Sa-Su"),
    (r"(?:每天|每日|全周|天天)", "Mo-Su"),
    (r"(?:不开放|休息|闭馆|关闭|停止服务|closed)", " off"),
    (r"(?<=[A-Za-z0-9])\s*(?:、|及|和|与)\s*(?=[A-Za-z])", ","),
    (_RANGE, "-"),
    (r"(?<![\d:])(\d):(\d{2})", r"0\1:\2"),
    (r"(?<=\d\d:\d\d)\s*(?:、|和|及|与|\s)\s*(?=\d\d:\d\d)", ","),  # 9:00-12:00 14:00-18:00
    (rf"(?<={_DAY_TOKEN[3:-1]})(?=\d)", " "),
    (rf"(?<=\d)\s+(?={_DAY_TOKEN}\b)", "; "),
    (r"\s*;\s*", "; "),
    (r"\s*,\s*", ","),
    (rf"(?<=\d|f),(?={_DAY_TOKEN}\b)", ", "),  # after a time or "off": OSM's additional rule
    (r"\s+", " "),
    (r"[;,\s]+$", ""),
]
_CLOCK = 7  # the first rules write clock times as HH:MM; then 下午/晚上 add twelve hours
_PM = re.compile(r"(?:下午|晚上|晚间|傍晚|夜间)\s*(\d{1,2}):(\d{2})(?:" + _RANGE + r"(\d{1,2}):(\d{2}))?")
#: A reference week (Monday 4 March 2024) and a day either side, so intervals crossing the
#: week's edges are attributed to the day they start on.
_MONDAY = datetime(2024, 3, 4)
_WINDOW = (_MONDAY - timedelta(days=1), _MONDAY + timedelta(days=9))


@dataclass(frozen=True)
class Schedule:
    """Weekly schedules of many facilities as arrays (row i is facility i; columns Mo … Su).

    Attributes
    ----------
    recorded
        The facility has schedule text.
    readable
        The text, translated, is valid ``opening_hours`` syntax (False for blank text).
    open
        (n, 7) bool: open on that day.
    latest_end
        (n, 7) int: minutes after that day's midnight at which its last interval ends (0 if
        closed; above 1,440 for an interval past midnight).
    weekly_hours
        Hours open per week (an ordinary week without public holidays).
    osm
        The schedule in OSM syntax as the library normalises it (None when blank or unreadable).
    """

    recorded: np.ndarray
    readable: np.ndarray
    open: np.ndarray
    latest_end: np.ndarray
    weekly_hours: np.ndarray
    osm: np.ndarray

    @property
    def weekdays_open(self) -> np.ndarray:
        """Days open among Monday–Friday."""
        return self.open[:, :5].sum(axis=1)

    @property
    def weekend_open(self) -> np.ndarray:
        """Open on Saturday or Sunday."""
        return self.open[:, 5:].any(axis=1)

    def evening_days(self, after_min: np.ndarray | int) -> np.ndarray:
        """Days a week with an interval ending after ``after_min`` minutes (per facility or one value)."""
        after = np.broadcast_to(np.asarray(after_min), (len(self.open),))
        return (self.open & (self.latest_end > after[:, None])).sum(axis=1)


def to_osm_syntax(values: pd.Series) -> pd.Series:
    """Translate the Chinese forms of schedule text into OSM ``opening_hours`` syntax.

    Examples
    --------
    >>> to_osm_syntax(pd.Series(["周一至周五上午8:30-12:00，下午2:30-5:30", "每天9:00-21:00，周六9:00-12:00"])).tolist()
    ['Mo-Fr 08:30-12:00,14:30-17:30', 'Mo-Su 09:00-21:00; Sa 09:00-12:00']
    >>> to_osm_syntax(pd.Series(["工作日 8点半-17点半；周末及节假日休息"])).tolist()
    ['Mo-Fr 08:30-17:30; Sa-Su,PH off']
    """
    text = values.astype("string")
    text = text.str.replace(rf"\s*[，；]{_GROUP_START}", ";", regex=True)
    text = text.str.normalize("NFKC").str.strip()
    for pattern, word in _WORDS[:_CLOCK]:
        text = text.str.replace(pattern, word, regex=True)
    text = text.str.replace(_PM, _afternoon, regex=True)
    for pattern, word in _WORDS[_CLOCK:]:
        text = text.str.replace(pattern, word, regex=True)
    return text.str.strip()


def parse_opening_hours(values: pd.Series) -> Schedule:
    """Read schedule text such as ``Mo-Fr 08:30-12:00,14:30-18:00`` for every facility at once.

    Examples
    --------
    >>> s = parse_opening_hours(pd.Series(["Mo-Fr 08:30-12:00,14:30-18:00; Sa 09:00-12:00", "周一至周五 9:00-20:00", None]))
    >>> s.weekdays_open.tolist(), s.weekend_open.tolist(), s.weekly_hours.tolist()
    ([5, 5, 0], [True, False, False], [38.0, 55.0, 0.0])
    >>> s.evening_days(18 * 60 + 30).tolist()
    [0, 5, 0]
    >>> parse_opening_hours(pd.Series(["Mo-Su 09:00-21:00; Sa 09:00-12:00"])).weekly_hours.tolist()
    [75.0]
    """
    codes, uniques = pd.factorize(pd.Series(values.to_numpy(dtype=object)).astype("string"))
    distinct = _parse(pd.Series([*uniques, None], dtype="object"))
    codes = np.where(codes < 0, len(uniques), codes)
    return Schedule(
        recorded=distinct.recorded[codes],
        readable=distinct.readable[codes],
        open=distinct.open[codes],
        latest_end=distinct.latest_end[codes],
        weekly_hours=distinct.weekly_hours[codes],
        osm=distinct.osm[codes],
    )


def _afternoon(match: re.Match[str]) -> str:
    """``下午2:30-5:30`` as ``14:30-17:30`` (hours from 12 on are already on the 24-hour clock)."""
    h1, m1, h2, m2 = match.groups()

    def later(hour: str) -> int:
        return int(hour) + 12 if int(hour) < 12 else int(hour)

    first = f"{later(h1):02d}:{m1}"
    return first if h2 is None else f"{first}-{later(h2):02d}:{m2}"


def _parse(values: pd.Series) -> Schedule:
    """:func:`parse_opening_hours` on distinct texts (each one evaluated once)."""
    from opening_hours import OpeningHours, ParserError

    n = len(values)
    raw = pd.Series(values.to_numpy(), index=np.arange(n)).astype("string")
    recorded = (raw.str.strip().fillna("") != "").to_numpy(dtype=bool)
    osm_text = to_osm_syntax(raw)
    readable = np.zeros(n, dtype=bool)
    open_days = np.zeros((n, 7), dtype=bool)
    latest_end = np.zeros((n, 7), dtype=np.int64)
    minutes = np.zeros((n, 7), dtype=float)
    osm = np.full(n, None, dtype=object)
    for i in np.flatnonzero(recorded):  # distinct texts only; the library parses one at a time
        if _bare_days(str(raw.iloc[i]), str(osm_text.iloc[i])):
            continue
        try:
            schedule = OpeningHours(str(osm_text.iloc[i]))
        except (ParserError, SyntaxError, ValueError):
            continue
        readable[i] = True
        osm[i] = str(schedule.normalize())
        open_days[i], latest_end[i], minutes[i] = _week(schedule)
    return Schedule(
        recorded=recorded,
        readable=readable,
        open=open_days,
        latest_end=latest_end,
        weekly_hours=minutes.sum(axis=1) / 60.0,
        osm=osm,
    )


_DAY_SPAN = rf"{_DAY_TOKEN}(?:-{_DAY_TOKEN})?"
_BARE_DAYS = re.compile(rf"^{_DAY_SPAN}(?:,{_DAY_SPAN})*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _bare_days(text: str, osm: str) -> bool:
    """Chinese text one of whose rules, translated, names days without a time (``工作日9:00-17:00，
    周六``): in OSM syntax that day is open round the clock, which the register did not say."""
    if not _CJK.search(text):
        return False
    return any(_BARE_DAYS.match(rule.strip()) for rule in re.split(r";|, ", osm))


def _week(schedule: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open days, latest end and minutes open per day of the reference week.

    The library gives maximal open intervals. Each interval belongs to the day it starts on; a
    later day it covers wholly is open too; its last, partial day (from midnight to its end) is
    the first day's interval running past midnight, counted for that first day.
    """
    from opening_hours import State

    open_days = np.zeros(11, dtype=bool)  # the day before the week, the week, three after
    latest = np.zeros(11, dtype=np.int64)
    minutes = np.zeros(11, dtype=float)
    origin = _WINDOW[0]
    for begin, end, state, _comment in schedule.intervals(*_WINDOW):  # type: ignore[attr-defined]
        if state != State.OPEN:
            continue
        a = int((begin - origin).total_seconds() // 60)
        b = int((end - origin).total_seconds() // 60)
        day = a // 1440
        first_end = min(b, (day + 1) * 1440)
        open_days[day] = True
        minutes[day] += first_end - a
        latest[day] = max(latest[day], first_end - day * 1440)
        d = day + 1
        while d * 1440 < b:
            piece_end = min(b, (d + 1) * 1440)
            if piece_end == (d + 1) * 1440:
                open_days[d], minutes[d], latest[d] = True, minutes[d] + 1440, 1440
            else:
                minutes[d - 1] += piece_end - d * 1440
                latest[d - 1] = max(latest[d - 1], piece_end - (d - 1) * 1440)
            d += 1
    week = slice(1, 8)
    return open_days[week], np.where(open_days[week], latest[week], 0), minutes[week]
