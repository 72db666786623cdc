"""Opening-hours text: the weekly schedule a facility posts, read into per-day arrays.

The format is a small subset of OpenStreetMap's ``opening_hours``, with Chinese words accepted::

    schedule := rule (";" rule)*
    rule     := [days] times | days "off" | "24/7"
    days     := span ("," span)*            span := day | day "-" day
    day      := Mo Tu We Th Fr Sa Su | 周一…周日 (星期一…星期日, 周天) | 工作日 (Mo-Fr) | 周末 (Sa-Su) | 每天 (Mo-Su)
    times    := HH:MM-HH:MM ("," HH:MM-HH:MM)*

Examples: ``Mo-Fr 08:30-12:00,14:30-18:00``, ``Mo-Fr 08:30-12:00,14:30-18:00; Sa 09:00-12:00``,
``Mo-Su 09:00-21:00``, ``周一至周五 8:30-12:00,14:30-18:00；周六 9:00-12:00``, ``24/7``.
``至``, ``到``, ``~`` and dashes all mean a range; full-width characters are accepted. A rule without
days applies every day; ``off`` closes the days it names whatever other rules say. An interval that
ends at or before it starts runs past midnight. A day counts as an evening session when one of its
intervals ends after the tier's ``hours.evening_after`` (18:30 by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DAYS", "Schedule", "parse_opening_hours"]

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_CODE = {d.casefold(): i for i, d in enumerate(DAYS)}

_WORDS = [
    (r"24\s*/\s*7", "Mo-Su 00:00-24:00"),
    (r"(?:星期|周|礼拜)(?:日|天)", "Su"),
    (r"(?:星期|周|礼拜)一", "Mo"),
    (r"(?:星期|周|礼拜)二", "Tu"),
    (r"(?:星期|周|礼拜)三", "We"),
    (r"(?:星期|周|礼拜)四", "Th"),
    (r"(?:星期|周|礼拜)五", "Fr"),
    (r"(?:星期|周|礼拜)六", "Sa"),
    (r"工作日", "Mo-Fr"),
    (r"(?:周末|双休日|节假日)", "Sa-Su"),
    (r"(?:每天|每日|全周)", "Mo-Su"),
    (r"(?:休息|闭馆|关闭|closed)", "off"),
    (r"\s*(?:至|到|~|–|—|－)\s*", "-"),
    (r"、", ","),
]
_TIME = r"\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}"
_DAYSPEC = r"[a-z]{2}(?:\s*-\s*[a-z]{2})?"
_RULE = re.compile(
    rf"^(?P<days>{_DAYSPEC}(?:\s*,\s*{_DAYSPEC})*)?\s*(?P<times>{_TIME}(?:\s*,\s*{_TIME})*|off)$"
)


@dataclass(frozen=True)
class Schedule:
    """Weekly schedules of many facilities as arrays (row i is facility i; columns Mo … Su).

    Attributes
    ----------
    recorded
        The facility has schedule text.
    readable
        The text follows the format (False for blank text).
    open
        (n, 7) bool: open on that day.
    latest_end
        (n, 7) int: minutes after midnight at which the day's last interval ends (0 if closed).
    weekly_hours
        Hours open per week.
    """

    recorded: np.ndarray
    readable: np.ndarray
    open: np.ndarray
    latest_end: np.ndarray
    weekly_hours: np.ndarray

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


def parse_opening_hours(values: pd.Series) -> Schedule:
    """Read schedule text such as ``Mo-Fr 08:30-12:00,14:30-18:00`` for every facility at once.

    Examples
    --------
    >>> s = parse_opening_hours(pd.Series(["Mo-Fr 08:30-12:00,14:30-18:00; Sa 09:00-12:00", "周一至周五 9:00-20:00", None]))
    >>> s.weekdays_open.tolist(), s.weekend_open.tolist(), s.weekly_hours.tolist()
    ([5, 5, 0], [True, False, False], [38.0, 55.0, 0.0])
    >>> s.evening_days(18 * 60 + 30).tolist()
    [0, 5, 0]
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
    )


def _parse(values: pd.Series) -> Schedule:
    """:func:`parse_opening_hours` on distinct texts."""
    n = len(values)
    text = pd.Series(values.to_numpy(), index=np.arange(n)).astype("string").str.normalize("NFKC")
    text = text.str.strip()
    recorded = (text.notna() & (text != "")).to_numpy(dtype=bool)
    for pattern, word in _WORDS:
        text = text.str.replace(pattern, word, regex=True, flags=re.IGNORECASE)
    rules = text.str.casefold().str.split(";").explode().str.strip()
    rules = rules[rules.notna() & (rules != "")]
    parts = rules.str.extract(_RULE)
    good_rule = parts["times"].notna()
    bad_rows = np.unique(rules.index.to_numpy()[~good_rule.to_numpy()])
    parts = parts[good_rule]
    rule_pos = np.arange(len(parts))
    owner = parts.index.to_numpy()
    off = (parts["times"] == "off").to_numpy(dtype=bool)

    day_bits = _day_bits(parts["days"].fillna("mo-su"), rule_pos)
    minutes, latest, bad_time = _times(parts["times"].where(~pd.Series(off, index=parts.index)), rule_pos)
    bad_rows = np.union1d(bad_rows, owner[bad_time])

    open_days = np.zeros((n, 7), dtype=bool)
    closed = np.zeros((n, 7), dtype=bool)
    latest_end = np.zeros((n, 7), dtype=np.int64)
    np.logical_or.at(open_days, owner[~off], day_bits[~off])
    np.logical_or.at(closed, owner[off], day_bits[off])
    np.maximum.at(latest_end, owner[~off], np.where(day_bits[~off], latest[~off, None], 0))
    open_days &= ~closed
    latest_end = np.where(open_days, latest_end, 0)
    per_rule = minutes[:, None] * day_bits
    weekly = np.zeros((n, 7), dtype=float)
    np.add.at(weekly, owner[~off], per_rule[~off])
    weekly_hours = np.where(open_days, weekly, 0).sum(axis=1) / 60.0

    readable = recorded.copy()
    readable[bad_rows] = False
    has_rule = np.zeros(n, dtype=bool)
    has_rule[owner] = True
    readable &= has_rule
    zero = ~readable
    open_days[zero] = False
    latest_end[zero] = 0
    weekly_hours[zero] = 0.0
    return Schedule(
        recorded=recorded,
        readable=readable,
        open=open_days,
        latest_end=latest_end,
        weekly_hours=weekly_hours,
    )


def _day_bits(days: pd.Series, rule_pos: np.ndarray) -> np.ndarray:
    """(rules, 7) bool of the days each rule names."""
    spans = days.set_axis(rule_pos).str.split(",").explode().str.replace(r"\s+", "", regex=True)
    ends = spans.str.extract(r"^([a-z]{2})(?:-([a-z]{2}))?$")
    first = ends[0].map(_DAY_CODE)
    last = ends[1].map(_DAY_CODE).fillna(first)
    ok = first.notna() & last.notna()
    a = first[ok].to_numpy(dtype=np.int64)
    b = last[ok].to_numpy(dtype=np.int64)
    day = np.arange(7)
    inside = np.where(
        (a <= b)[:, None],
        (day >= a[:, None]) & (day <= b[:, None]),
        (day >= a[:, None]) | (day <= b[:, None]),
    )
    bits = np.zeros((len(rule_pos), 7), dtype=bool)
    np.logical_or.at(bits, spans.index.to_numpy()[ok.to_numpy()], inside)
    return bits


def _times(times: pd.Series, rule_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes open, the latest end (minutes after midnight) and impossible times, per rule."""
    spans = times.set_axis(rule_pos).str.split(",").explode().str.strip()
    spans = spans[spans.notna() & (spans != "")]
    hm = spans.str.extract(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$").astype(float)
    start = (hm[0] * 60 + hm[1]).to_numpy()
    end = (hm[2] * 60 + hm[3]).to_numpy()
    impossible = ((hm[[0, 2]] > 24) | (hm[[1, 3]].to_numpy() > 59)).any(axis=1).to_numpy() | (
        (start > 24 * 60) | (end > 24 * 60)
    )
    end = np.where(end <= start, end + 24 * 60, end)
    owner = spans.index.to_numpy()
    bad = np.zeros(len(rule_pos), dtype=bool)
    bad[owner[impossible]] = True
    minutes = np.zeros(len(rule_pos), dtype=float)
    latest = np.zeros(len(rule_pos), dtype=np.int64)
    np.add.at(minutes, owner, end - start)
    np.maximum.at(latest, owner, end.astype(np.int64))
    return minutes, latest, bad
