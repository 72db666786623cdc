"""What the demo facilities' registers record, generated from the standards preset.

Floor and hall areas, items, windows, zones, rooms, opening hours, weekend duty, evening
sessions and staff, read from each tier of the preset :data:`DEMO_PRESET` so that its audit
grades every facility as generated: about a quarter model, nearly half compliant and the rest
non-compliant for one reason each. The preset is loaded on first use, not on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..standards.hours import DAYS
from ..standards.loader import load_preset
from ..standards.models import GRADES, AreaRule, HoursRule, Preset

__all__ = [
    "DEMO_PRESET",
    "FACILITY_ITEMS",
    "FACILITY_ROOMS",
    "FACILITY_WINDOWS",
    "FACILITY_ZONES",
    "TIERS",
]

TIERS = (
    "county_center",
    "town_center",
    "community_center",
    "village_center",
    "compound_station",
    "activity_room",
    "courier_station",
)
DEMO_PRESET = "cn-default"
"""The standards preset the demo facilities are generated against (the workspace's preset)."""

# The vocabularies of the facility registers: the preset's ids and Chinese labels, read from the
# preset on first use (see __getattr__).
FACILITY_ITEMS: Mapping[str, str]
FACILITY_WINDOWS: Mapping[str, str]
FACILITY_ZONES: Mapping[str, str]
FACILITY_ROOMS: Mapping[str, str]
_VOCABULARIES = {
    "FACILITY_ITEMS": "items",
    "FACILITY_WINDOWS": "windows",
    "FACILITY_ZONES": "zones",
    "FACILITY_ROOMS": "rooms",
}


@cache
def _preset() -> Preset:
    """The preset :data:`DEMO_PRESET`, loaded on first use."""
    return load_preset(DEMO_PRESET)


@cache
def _vocabulary(kind: str) -> Mapping[str, str]:
    """The ids and Chinese labels of one catalogue of the preset: items, windows, zones or rooms."""
    return MappingProxyType({k: v.zh for k, v in getattr(_preset(), kind).items()})


def __getattr__(name: str) -> Mapping[str, str]:
    """``FACILITY_ITEMS``, ``FACILITY_WINDOWS``, ``FACILITY_ZONES`` and ``FACILITY_ROOMS``."""
    if name in _VOCABULARIES:
        return _vocabulary(_VOCABULARIES[name])
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


# What the preset does not say and a register still records: staff per tier (min, max), before
# the preset's minimums are applied.
_STAFF = {
    "county_center": (8, 20),
    "town_center": (4, 12),
    "community_center": (3, 8),
    "village_center": (1, 4),
    "compound_station": (1, 3),
    "activity_room": (0, 2),
    "courier_station": (0, 1),
}
_GRADE_SHARES = {"model": 0.25, "compliant": 0.45, "noncompliant": 0.30}
_OTHER_GAP_P = 0.5  # chance that a compliant facility also misses each further model requirement
_DEFAULT_AREA_M2 = 60.0  # floor area of a tier whose preset sets no area minimum

# Weekly hours a register records: the time part and when its last interval ends (minutes).
_HOURS_TIMES = (
    ("08:30-12:00,14:30-18:00", 18 * 60),
    ("08:00-12:00,14:00-17:30", 17 * 60 + 30),
    ("09:00-17:00", 17 * 60),
)


@dataclass(frozen=True)
class _TierPlan:
    """A tier's standard as the generator applies it, read from the preset.

    The masks run over the preset's catalogues in catalogue order. ``reasons`` are the ways a
    facility of the tier can fail the compliant grade (the hours reason first, so that it is
    drawn whenever the tier has a non-compliant facility); ``gaps`` are the model requirements
    a compliant facility can miss.
    """

    required: np.ndarray  # compliance items: required items and required signs
    droppable: np.ndarray  # compliance items a register can leave out without failing anything else
    optional: np.ndarray
    model_items: np.ndarray
    listed: np.ndarray  # every item of the tier's checklists
    windows: np.ndarray
    zones: np.ndarray
    rooms: np.ndarray
    area: tuple[float, float]  # compliant and model minimums, NaN when absent
    hall: tuple[float, float]
    records_hall: bool
    hours: HoursRule | None
    optional_needed: int
    staff: tuple[int, int]
    reasons: tuple[str, ...]
    gaps: tuple[str, ...]


def _tier_plan(preset: Preset, tier_id: str) -> _TierPlan:
    """What the generator needs of tier ``tier_id`` of ``preset``."""
    tier = preset.tiers[tier_id]
    rule = tier.hours
    catalogue = {
        kind: np.array(list(getattr(preset, kind))) for kind in ("items", "windows", "zones", "rooms")
    }
    items = catalogue["items"]
    required = np.isin(items, tier.compliance_items)
    optional = np.isin(items, tier.optional_items)
    model_items = np.isin(items, tier.model_items)
    listed = required | optional | model_items
    checks = [preset.items[i].check for i in items]
    staff_checks = np.array([c.kind == "number" and c.column == "staff" for c in checks])
    staff_needed = max(
        (float(c.minimum.value) for c, on in zip(checks, staff_checks & listed, strict=True) if on),
        default=0.0,
    )
    min_staff = rule.min_staff if rule is not None else 0
    flag = np.array([c.kind == "flag" for c in checks])
    droppable = required & (flag | (staff_checks & (min_staff < staff_needed)))

    area, hall = _minimums(tier.area_min_m2), _minimums(tier.hall_min_m2)
    records_hall = bool(
        not np.isnan(hall).all() or "service_hall" in (*tier.compliance_items, *tier.optional_items)
    )
    windows = np.isin(catalogue["windows"], tier.required_windows)

    hours_reason = ()
    if rule is not None and rule.weekend_duty == "compliant":
        hours_reason = ("no_weekend_duty",)
    elif rule is not None and rule.min_weekdays_open >= 2:
        hours_reason = ("short_hours",)
    elif rule is not None and rule.schedule_required:
        hours_reason = ("no_hours_posted",)
    reasons = (
        *hours_reason,
        *("missing_item",) * bool(droppable.any()),
        *("too_small",) * bool(not np.isnan([area[0], hall[0]]).all()),
        *("missing_window",) * bool(windows.any()),
    )
    share = tier.grading.min_optional_share.value
    optional_needed = int(np.ceil(share * optional.sum() - 1e-9))

    def raises(pair: tuple[float, float]) -> bool:
        return bool(not np.isnan(pair[1]) and pair[1] > np.nan_to_num(pair[0]))

    gaps = (
        *("area",) * raises(area),
        *("hall",) * raises(hall),
        *("model_item",) * bool(model_items.any()),
        *("optional",) * (optional_needed > 0),
        *("weekend",) * (rule is not None and rule.weekend_duty == "model"),
        *("evening",) * (rule is not None and rule.min_evening_sessions_model > 0),
    )
    low, high = _STAFF.get(tier_id, (0, 2))
    low = max(low, min_staff, int(np.ceil(staff_needed)))
    return _TierPlan(
        required=required,
        droppable=droppable,
        optional=optional,
        model_items=model_items,
        listed=listed,
        windows=windows,
        zones=np.isin(catalogue["zones"], tier.required_zones),
        rooms=np.isin(catalogue["rooms"], tier.required_rooms),
        area=area,
        hall=hall,
        records_hall=records_hall,
        hours=rule,
        optional_needed=optional_needed,
        staff=(low, max(high, low)),
        reasons=reasons,
        gaps=gaps,
    )


def _minimums(rule: AreaRule) -> tuple[float, float]:
    """The compliant and model minimums of an area rule, NaN where absent."""
    compliant, model = (np.nan if f is None else float(f.value) for f in (rule.compliant, rule.model))
    return compliant, model


def _facility_attributes(
    rng: np.random.Generator, tier: np.ndarray, ids: np.ndarray
) -> tuple[dict, pd.DataFrame]:
    """Floor areas, items, windows, zones, rooms, hours and staff, graded by the demo's preset.

    Within each tier the grades follow ``_GRADE_SHARES`` (whole numbers, in random order). A
    model facility meets every requirement of its tier in the preset, leaving out at most the
    optional items the model grade may lack (a fraction of a star); a compliant one meets the
    compliant grade and misses at least one model requirement (one drawn for it, each other
    with probability ``_OTHER_GAP_P``); a non-compliant one meets everything the compliant grade
    needs except the one thing its reason names.
    """
    n = len(tier)
    preset = _preset()
    width = {kind: len(getattr(preset, kind)) for kind in ("items", "windows", "zones", "rooms")}
    out: dict[str, np.ndarray] = {
        "items": np.zeros((n, width["items"]), dtype=bool),
        "windows": np.zeros((n, width["windows"]), dtype=bool),
        "zones": np.zeros((n, width["zones"]), dtype=bool),
        "rooms": np.zeros((n, width["rooms"]), dtype=bool),
        "floor": np.zeros(n),
        "hall": np.full(n, np.nan),
        "opening_hours": np.full(n, None, dtype=object),
        "weekend": np.zeros(n, dtype=bool),
        "evening": np.zeros(n, dtype=np.int64),
        "staff": np.zeros(n, dtype=np.int64),
        "grade": np.full(n, "", dtype=object),
        "reason": np.full(n, "", dtype=object),
        "missing": np.full(n, "", dtype=object),
    }
    for name in TIERS:  # the seven tiers
        at = np.flatnonzero(tier == name)
        if len(at):
            for key, value in _tier_attributes(rng, preset, name, len(at)).items():
                out[key][at] = value

    zh = rng.random(n) < 0.85  # most registers use the Chinese labels, some the ids
    attrs = {
        "floor_area_m2": out["floor"],
        "hall_area_m2": out["hall"],
        "items": _labels(out["items"], _vocabulary("items"), zh),
        "windows": _labels(out["windows"], _vocabulary("windows"), zh),
        "zones": _labels(out["zones"], _vocabulary("zones"), zh),
        "rooms": _labels(out["rooms"], _vocabulary("rooms"), zh),
        "opening_hours": out["opening_hours"],
        "weekend_duty": out["weekend"],
        "evening_sessions_per_week": out["evening"],
        "staff": out["staff"],
    }
    profile = pd.DataFrame(
        {"id": ids, "tier": tier, "grade": out["grade"], "reason": out["reason"], "missing": out["missing"]}
    )
    return attrs, profile


def _tier_attributes(rng: np.random.Generator, preset: Preset, tier_id: str, m: int) -> dict[str, np.ndarray]:
    """The attributes of ``m`` facilities of one tier (see :func:`_facility_attributes`)."""
    plan = _tier_plan(preset, tier_id)
    shares = np.array([_GRADE_SHARES[g] for g in GRADES])
    if not plan.gaps:  # nothing beyond the compliant grade: every compliant facility is a model
        shares = shares * [1, 0, 1] + [shares[1], 0, 0]
    if not plan.reasons:  # nothing to fail
        shares = shares * [1, 1, 0] + [0, shares[2], 0]
    grade = np.array(GRADES, dtype=object)[_quota(rng, m, shares)]
    model, fine = grade == "model", grade == "compliant"
    reason = np.full(m, "", dtype=object)
    non = np.flatnonzero(grade == "noncompliant")
    reason[non] = np.array(plan.reasons, dtype=object)[rng.permutation(len(non)) % max(len(plan.reasons), 1)]

    # model requirements missed: one drawn for every compliant facility, each other by chance
    drawn = rng.integers(0, max(len(plan.gaps), 1), m)
    misses = (rng.random((m, len(plan.gaps))) < _OTHER_GAP_P) | (
        fine[:, None] & (np.arange(len(plan.gaps)) == drawn[:, None])
    )
    misses &= ~model[:, None]
    gap = dict(zip(plan.gaps, misses.T, strict=True))
    no_gap = np.zeros(m, dtype=bool)

    # floor and hall areas; a facility too small has a small floor, or now and then a small hall
    small = reason == "too_small"
    (floor_c, floor_m), (hall_c, hall_m) = plan.area, plan.hall
    turn = np.zeros(m, dtype=np.int64)
    turn[small] = rng.permutation(int(small.sum()))
    small_hall = small & ~np.isnan(hall_c) & (np.isnan(floor_c) | (turn % 3 == 2))
    small_floor = small & ~small_hall
    floor_c0 = np.nan_to_num(floor_c)
    enough = next((v for v in (floor_m, floor_c) if not np.isnan(v)), _DEFAULT_AREA_M2)
    floor = np.select(
        [small_floor, gap.get("area", no_gap)],
        [np.floor(floor_c0 * rng.uniform(0.45, 0.95, m)), _between(rng, floor_c0, np.nan_to_num(floor_m), m)],
        _between(rng, enough, 1.6 * enough, m),
    )
    hall = np.full(m, np.nan)
    if plan.records_hall:
        hall_c0 = np.nan_to_num(hall_c)
        hall_m0 = hall_c0 if np.isnan(hall_m) else hall_m
        hall = np.select(
            [small_hall, gap.get("hall", no_gap)],
            [np.floor(hall_c0 * rng.uniform(0.5, 0.95, m)), _between(rng, hall_c0, hall_m0, m)],
            np.maximum(
                np.floor(floor * rng.uniform(0.25, 0.45, m)), _between(rng, hall_m0, 1.3 * hall_m0, m)
            ),
        )

    # items: the compliance items, the model signs, a share of the optional items, minus the dropped
    have = np.broadcast_to(plan.required, (m, len(plan.required))).copy()
    have |= plan.model_items[None, :] & ~gap.get("model_item", no_gap)[:, None]
    n_optional = int(plan.optional.sum())
    k = np.where(
        gap.get("optional", no_gap),
        rng.integers(0, max(plan.optional_needed, 1), m),
        rng.integers(min(plan.optional_needed, n_optional), n_optional + 1, m),
    )
    have |= _pick(rng, plan.optional, k)
    n_drop = np.where(
        reason == "missing_item", rng.integers(1, min(3, max(int(plan.droppable.sum()), 1)) + 1, m), 0
    )
    drop = _pick(rng, plan.droppable, n_drop)
    have &= ~drop

    # windows, zones and rooms: the required ones (one window dropped where that is the reason)
    n_w = len(plan.windows)
    windows = np.zeros((m, n_w), dtype=bool)
    if plan.windows.any():
        more = rng.random((m, n_w)) < np.select([model, fine], [1.0, 0.3], 0.15)[:, None]
        windows = plan.windows | more
    w_drop = _pick(rng, plan.windows, (reason == "missing_window").astype(np.int64))
    windows &= ~w_drop
    extra = plan.records_hall  # centres with a service hall record more zones and rooms than needed
    zones = plan.zones | (
        (rng.random((m, len(plan.zones))) < np.where(model, 0.6, 0.25)[:, None])
        & (extra and not plan.zones.any())
    )
    rooms = plan.rooms | ((rng.random((m, len(plan.rooms))) < np.where(model, 0.5, 0.2)[:, None]) & extra)

    # items checked on other columns: staff from the staff count, windows from the windows
    low, high = plan.staff
    staff = rng.integers(low, high + 1, m)
    sets = {"windows": (windows, plan.windows), "zones": (zones, plan.zones), "rooms": (rooms, plan.rooms)}
    for j, item in enumerate(preset.items.values()):  # a few dozen items; number and set checks act
        check = item.check
        if check.kind == "number" and check.column == "staff" and plan.listed[j]:
            staff = np.where(drop[:, j], 0, np.maximum(staff, int(np.ceil(check.minimum.value))))
            have[:, j] = staff >= check.minimum.value
        elif check.kind == "set" and plan.listed[j]:
            present, needed = sets[check.column]
            members = np.isin(list(getattr(preset, check.column)), check.members or ())
            members = members if check.members is not None else needed
            have[:, j] = present[:, members].all(axis=1) if members.any() else present.any(axis=1)
    have &= plan.listed

    # hours: weekend duty, evening sessions, weekdays open and whether a schedule is posted
    rule = plan.hours
    min_weekdays = rule.min_weekdays_open if rule is not None else 0  # at least 2 for short_hours
    weekdays = np.where(
        reason == "short_hours", rng.integers(max(1, min_weekdays - 2), max(min_weekdays, 2), m), 5
    )
    if rule is None or rule.weekend_duty == "none":
        weekend = rng.random(m) < 0.2
    elif rule.weekend_duty == "compliant":
        weekend = np.ones(m, dtype=bool)
    else:
        weekend = ~gap.get("weekend", no_gap)
    weekend &= (reason != "no_weekend_duty") & (weekdays == 5)
    e = rule.min_evening_sessions_model if rule is not None else 0
    evening = (
        np.where(gap.get("evening", no_gap), rng.integers(0, max(e, 1), m), rng.integers(e, e + 4, m))
        if e > 0
        else rng.integers(0, 3, m)
    )
    after = rule.evening_after_min if rule is not None else 24 * 60
    hours = _opening_hours(rng, weekdays, weekend, after)
    hours[reason == "no_hours_posted"] = None

    dropped = _join_rows(np.c_[drop, w_drop], np.r_[list(preset.items), list(preset.windows)])
    missing = np.select(
        [
            small_floor,
            small_hall,
            reason == "no_weekend_duty",
            np.isin(reason, ["short_hours", "no_hours_posted"]),
        ],
        ["floor_area_m2", "hall_area_m2", "weekend_duty", "opening_hours"],
        dropped,
    )
    return {
        "items": have,
        "windows": windows,
        "zones": zones,
        "rooms": rooms,
        "floor": floor,
        "hall": hall,
        "opening_hours": hours,
        "weekend": weekend,
        "evening": evening,
        "staff": staff,
        "grade": grade,
        "reason": reason,
        "missing": missing.astype(object),
    }


def _quota(rng: np.random.Generator, m: int, shares: np.ndarray) -> np.ndarray:
    """``m`` codes 0, 1, … in random order, as many of each as ``shares`` says (largest remainder)."""
    exact = shares / shares.sum() * m
    count = np.floor(exact).astype(np.int64)
    count[np.argsort(count - exact, kind="stable")[: m - count.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), count))


def _between(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    """Whole numbers drawn uniformly, at least ``low`` and below ``high`` (``ceil(low)`` if none is)."""
    first = np.ceil(low)
    return first + np.floor(rng.random(size) * max(np.ceil(high) - first, 0.0))


def _pick(rng: np.random.Generator, allowed: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per row, ``k[row]`` of the columns where ``allowed`` (1-D) is true, drawn at random."""
    key = np.where(allowed[None, :], rng.random((len(k), len(allowed))), np.inf)
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    return (rank < np.asarray(k)[:, None]) & allowed[None, :]


def _opening_hours(
    rng: np.random.Generator, weekdays: np.ndarray, weekend: np.ndarray, after: int
) -> np.ndarray:
    """Schedule text such as ``Mo-Fr 08:30-12:00,14:30-18:00``, one per facility.

    It opens ``weekdays`` days from Monday, and Saturday or the whole weekend too where
    ``weekend``; its intervals end no later than ``after`` minutes after midnight, so that the
    schedule adds no evening session of its own.
    """
    fits = [text for text, end in _HOURS_TIMES if end <= after] or [min(_HOURS_TIMES, key=lambda t: t[1])[0]]
    times = np.array(fits)[rng.integers(0, len(fits), len(weekdays))]
    last = np.where(weekend, np.where(rng.random(len(weekdays)) < 0.5, 5, 6), weekdays - 1)
    days = np.where(last == 0, "Mo", np.char.add("Mo-", np.array(DAYS)[np.maximum(last, 0)]))
    return np.char.add(np.char.add(days, " "), times).astype(object)


def _join_rows(mask: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Per row, the words where ``mask`` is true, joined by '; '."""
    out = np.full(len(mask), "", dtype=object)
    for j, word in enumerate(words):  # a few dozen columns, each vectorized over the rows
        out = np.where(mask[:, j], np.where(out == "", word, out + "; " + word), out)
    return out.astype(str)


def _labels(mask: np.ndarray, vocabulary: Mapping[str, str], zh: np.ndarray) -> np.ndarray:
    """'; '-separated labels per row: Chinese where ``zh``, ids elsewhere; None when empty."""
    text = np.where(
        zh,
        _join_rows(mask, np.array(list(vocabulary.values()))),
        _join_rows(mask, np.array(list(vocabulary))),
    )
    return np.where(text == "", None, text).astype(object)
