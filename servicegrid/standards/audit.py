"""The audit: every facility against the standard of its tier, and the county's positions and grids.

:func:`audit_facilities` grades each facility model (示范型), compliant (达标型) or below standard
(不达标), scores it on the ten-star scale and says what it lacks. Requirements are gathered into
per-tier arrays once and gathered per facility by tier code, so the whole audit is numpy over
facilities (a loop runs over catalogue entries and tiers only).

Grading, for a facility of tier T:

- **compliant** when every compliance item of T is present (required items and required signs),
  the floor area and hall area reach T's compliant minimums, every required window, zone and room
  is present and the hours rule holds (schedule posted and readable, weekdays open, staff on duty,
  weekend duty where the compliant grade needs it);
- **model** when compliant and also: the model area and hall minimums, the model-only signs, the
  model hours rule (weekend duty, evening sessions), at least ``grading.min_optional_share`` of the
  optional items, and at least ``grading.min_stars`` stars;
- **noncompliant** otherwise. A value the register leaves blank (an area, a staff count) is not
  evidence, so the check it feeds fails and the reason says it was not recorded.

Score: the preset's ``scoring`` splits the points into ``basic`` (compliance items, by their
weights), ``function`` (area, hall, windows, zones and rooms by share present, hours) and ``extra``
(optional items, model signs, model area and hall, model hours). Each group earns its points times
the share it fulfils; groups with nothing to check for the tier are dropped and the rest rescaled
to the full points. Stars are whole multiples of ``points_per_star``.

:func:`audit_layers` runs this with the township summaries (:mod:`.summary`) and the grid
checks (:mod:`.grids`) over a whole workspace.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import StandardsError
from ._common import (
    check_lang,
    column_values,
    fill,
    join_masked,
    join_parts,
    pick,
    when,
)
from .grids import GridAudit, audit_grids
from .hours import parse_opening_hours
from .loader import load_preset, resolve_preset_path
from .models import GRADES, Lang, Preset
from .records import VOCABULARIES, FacilityRecords, StandardsWarning, conform_facilities, parse_records
from .summary import AuditSummary, place_facilities, summarize_audit

__all__ = ["AuditResult", "audit_facilities", "audit_layers"]

logger = logging.getLogger(__name__)


# -- per-tier requirement tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    """Requirements of every tier as arrays indexed by tier code."""

    tiers: list[str]
    catalogue: dict[str, list[str]]
    required: dict[str, np.ndarray]  # vocabulary -> (T, K) bool; items: compliance items
    optional: np.ndarray  # (T, I)
    model_items: np.ndarray  # (T, I)
    weights: np.ndarray  # (T, I) weight of each compliance item
    area: dict[str, np.ndarray]  # 'compliant'/'model' -> (T,) float, nan when absent
    hall: dict[str, np.ndarray]
    has_hours: np.ndarray
    schedule_required: np.ndarray
    min_weekdays: np.ndarray
    min_staff: np.ndarray
    weekend_compliant: np.ndarray
    weekend_model: np.ndarray
    min_evenings: np.ndarray
    evening_after: np.ndarray
    min_optional_share: np.ndarray
    min_stars: np.ndarray


def _tables(preset: Preset) -> _Tables:
    tiers = list(preset.tiers)
    catalogue = {kind: list(getattr(preset, kind)) for kind in VOCABULARIES}
    col = {kind: {k: j for j, k in enumerate(ids)} for kind, ids in catalogue.items()}
    n_t = len(tiers)
    required = {kind: np.zeros((n_t, len(catalogue[kind])), dtype=bool) for kind in VOCABULARIES}
    optional = np.zeros((n_t, len(catalogue["items"])), dtype=bool)
    model_items = np.zeros_like(optional)
    weights = np.zeros((n_t, len(catalogue["items"])), dtype=float)
    area = {g: np.full(n_t, np.nan) for g in ("compliant", "model")}
    hall = {g: np.full(n_t, np.nan) for g in ("compliant", "model")}
    hours = {
        k: np.zeros(n_t, dtype=int)
        for k in ("has", "sched", "wd", "staff", "we_c", "we_m", "eve", "after", "stars")
    }
    share = np.zeros(n_t)
    for t, tier_id in enumerate(tiers):
        tier = preset.tiers[tier_id]
        for item in tier.compliance_items:
            required["items"][t, col["items"][item]] = True
            weights[t, col["items"][item]] = tier.item_weights.get(item, 1.0)
        for item in tier.optional_items:
            optional[t, col["items"][item]] = True
        for item in tier.model_items:
            model_items[t, col["items"][item]] = True
        for kind in ("windows", "zones", "rooms"):
            for member in getattr(tier, f"required_{kind}"):
                required[kind][t, col[kind][member]] = True
        for grade in ("compliant", "model"):
            figure = getattr(tier.area_min_m2, grade)
            area[grade][t] = np.nan if figure is None else figure.value
            figure = getattr(tier.hall_min_m2, grade)
            hall[grade][t] = np.nan if figure is None else figure.value
        rule = tier.hours
        if rule is not None:
            hours["has"][t] = 1
            hours["sched"][t] = int(rule.schedule_required)
            hours["wd"][t] = rule.min_weekdays_open
            hours["staff"][t] = rule.min_staff
            hours["we_c"][t] = int(rule.weekend_duty == "compliant")
            hours["we_m"][t] = int(rule.weekend_duty in ("compliant", "model"))
            hours["eve"][t] = rule.min_evening_sessions_model
            hours["after"][t] = rule.evening_after_min
        share[t] = tier.grading.min_optional_share.value
        hours["stars"][t] = int(tier.grading.min_stars.value)
    return _Tables(
        tiers=tiers,
        catalogue=catalogue,
        required=required,
        optional=optional,
        model_items=model_items,
        weights=weights,
        area=area,
        hall=hall,
        has_hours=hours["has"].astype(bool),
        schedule_required=hours["sched"].astype(bool),
        min_weekdays=hours["wd"],
        min_staff=hours["staff"],
        weekend_compliant=hours["we_c"].astype(bool),
        weekend_model=hours["we_m"].astype(bool),
        min_evenings=hours["eve"],
        evening_after=hours["after"],
        min_optional_share=share,
        min_stars=hours["stars"],
    )


# -- facility audit -----------------------------------------------------------------------------------


def audit_facilities(
    facilities: gpd.GeoDataFrame,
    preset: Preset | str,
    *,
    lang: Lang = "zh",
    records: FacilityRecords | None = None,
    source: str | None = None,
) -> gpd.GeoDataFrame:
    """Grade every facility against the standard of its tier.

    Parameters
    ----------
    facilities
        The facilities layer (see ``servicegrid.geo.schema.LAYERS['facilities']``); raw register
        headers are understood.
    preset
        A :class:`Preset` or a preset name / path.
    lang
        Language of the label columns and of ``reason``: 'zh' or 'en'.
    records
        Already parsed records (:func:`~servicegrid.standards.records.parse_records`), to avoid
        parsing twice.
    source
        File name for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility, same index and geometry: ``tier``, ``grade``
        ('model' / 'compliant' / 'noncompliant') and ``grade_label``, ``score`` (0–100) and
        ``stars``, ``missing_*`` ids and ``missing_*_label`` labels for items, windows, zones,
        rooms, optional and model-only items, ``*_present`` ids of what the facility has (after
        the number and set checks), area and hall minimums and shortfalls in m², the
        hours check, ``meets_standard``, ``upgrade_cost`` (to the compliant grade, currency of
        the preset; NaN when the area is unknown) and a one-line ``reason``.

    Raises
    ------
    StandardsError
        When a facility's tier is blank or unknown (naming the facilities and the valid tiers).
    """
    check_lang(lang)
    preset = load_preset(preset)
    frame = conform_facilities(facilities, source=source)
    rec = records if records is not None else parse_records(frame, preset, source=source)
    tab = _tables(preset)
    n = len(frame)
    code = pd.Categorical(rec.tier, categories=tab.tiers).codes.astype(np.int64)
    _warn_absent(frame, rec, tab, code)

    items = rec["items"].to_numpy(dtype=bool).copy()
    have = {kind: rec[kind].to_numpy(dtype=bool) for kind in ("windows", "zones", "rooms")}
    need = {kind: tab.required[kind][code] for kind in VOCABULARIES}
    for j, item_id in enumerate(tab.catalogue["items"]):
        check = preset.items[item_id].check
        if check.kind == "number":
            value = column_values(frame, check.column, "float")
            if value is not None:
                known = ~np.isnan(value)
                items[:, j] = np.where(known, np.nan_to_num(value) >= check.minimum.value, items[:, j])
        elif check.kind == "set":
            index = {k: i for i, k in enumerate(tab.catalogue[check.column])}
            if check.members is not None:
                cols = [index[m] for m in check.members]
                items[:, j] = have[check.column][:, cols].all(axis=1)
            else:
                members = need[check.column]
                decided = members.any(axis=1)
                ok = (~members | have[check.column]).all(axis=1)
                items[:, j] = np.where(decided, ok, items[:, j])

    missing = {"items": need["items"] & ~items}
    for kind in ("windows", "zones", "rooms"):
        missing[kind] = need[kind] & ~have[kind]
    missing_optional = tab.optional[code] & ~items
    missing_model = tab.model_items[code] & ~items

    floor = column_values(frame, "floor_area_m2", "float")
    floor = np.full(n, np.nan) if floor is None else floor
    hall = column_values(frame, "hall_area_m2", "float")
    hall = np.full(n, np.nan) if hall is None else hall
    area = _area_checks(floor, tab.area, code)
    hall_checks = _area_checks(hall, tab.hall, code)
    hours = _hours(frame, tab, code, lang)

    compliant = (
        ~missing["items"].any(axis=1)
        & area["ok_compliant"]
        & hall_checks["ok_compliant"]
        & ~missing["windows"].any(axis=1)
        & ~missing["zones"].any(axis=1)
        & ~missing["rooms"].any(axis=1)
        & hours["ok_compliant"]
    )
    optional_total = tab.optional[code].sum(axis=1)
    optional_share = np.where(
        optional_total > 0, (tab.optional[code] & items).sum(axis=1) / np.maximum(optional_total, 1), 1.0
    )
    score = _score(
        preset, tab, code, items, need, have, area, hall_checks, hours, optional_total, optional_share
    )
    stars = np.minimum(
        np.floor(score / preset.scoring.points_per_star.value + 1e-9), preset.scoring.max_stars
    )
    model = (
        compliant
        & area["ok_model"]
        & hall_checks["ok_model"]
        & hours["ok_model"]
        & ~missing_model.any(axis=1)
        & (optional_share + 1e-9 >= tab.min_optional_share[code])
        & (stars >= tab.min_stars[code])
    )
    grade = np.where(model, "model", np.where(compliant, "compliant", "noncompliant"))

    labels = {
        kind: [getattr(preset, kind)[k].label(lang) for k in tab.catalogue[kind]] for kind in VOCABULARIES
    }
    sep = "、" if lang == "zh" else ", "
    out: dict[str, object] = {
        "id": frame["id"].to_numpy(),
        "name": column_values(frame, "name", "str") if "name" in frame.columns else np.full(n, None),
        "tier": np.array(tab.tiers, dtype=object)[code],
        "tier_label": np.array([preset.tiers[t].label(lang) for t in tab.tiers], dtype=object)[code],
    }
    for col in ("status", "township_id", "village_id", "compound_id"):
        out[col] = frame[col].to_numpy() if col in frame.columns else np.full(n, None)
    grade_labels = {g: preset.grades[g].label(lang) for g in GRADES}
    out |= {
        "grade": grade,
        "grade_label": pd.Series(grade).map(grade_labels).to_numpy(),
        "meets_standard": grade != "noncompliant",
        "score": np.round(score, 1),
        "stars": stars.astype(np.int64),
    }
    for kind in VOCABULARIES:
        out[f"missing_{kind}"] = join_masked(missing[kind], tab.catalogue[kind], "; ")
        out[f"missing_{kind}_label"] = join_masked(missing[kind], labels[kind], sep)
    out["n_missing_items"] = missing["items"].sum(axis=1)
    out["items_present"] = join_masked(items, tab.catalogue["items"], "; ")
    for kind in ("windows", "zones", "rooms"):
        out[f"{kind}_present"] = join_masked(have[kind], tab.catalogue[kind], "; ")
    out["missing_optional"] = join_masked(missing_optional, tab.catalogue["items"], "; ")
    out["missing_optional_label"] = join_masked(missing_optional, labels["items"], sep)
    out["missing_model_items"] = join_masked(missing_model, tab.catalogue["items"], "; ")
    out["missing_model_items_label"] = join_masked(missing_model, labels["items"], sep)
    out |= {
        "floor_area_m2": floor,
        "area_min_m2": tab.area["compliant"][code],
        "area_model_m2": tab.area["model"][code],
        "area_shortfall_m2": area["short_compliant"],
        "area_shortfall_model_m2": area["short_model"],
        "hall_area_m2": hall,
        "hall_min_m2": tab.hall["compliant"][code],
        "hall_shortfall_m2": hall_checks["short_compliant"],
        "hall_shortfall_model_m2": hall_checks["short_model"],
        "opening_hours": column_values(frame, "opening_hours", "str")
        if "opening_hours" in frame.columns
        else np.full(n, None),
        "weekdays_open": hours["weekdays_open"],
        "weekend_duty": hours["weekend"],
        "evening_sessions": hours["evenings"],
        "hours_ok": hours["ok_compliant"],
        "hours_model_ok": hours["ok_model"],
        "hours_problem": hours["problem"],
        "optional_share": np.round(optional_share, 3),
        "upgrade_cost": _upgrade_cost(preset, tab, missing, area, compliant),
    }
    out["reason"] = _reasons(
        lang,
        grade,
        grade_labels,
        out,
        area,
        hall_checks,
        hours,
        stars,
        tab.min_stars[code],
        optional_share,
        code,
        tab,
    )
    result = gpd.GeoDataFrame(
        pd.DataFrame(out, index=frame.index), geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    logger.info(
        "audited %d facilities: %s",
        n,
        ", ".join(f"{g} {int((grade == g).sum())}" for g in GRADES),
    )
    return result


def _warn_absent(frame: pd.DataFrame, rec: FacilityRecords, tab: _Tables, code: np.ndarray) -> None:
    """Warn about register columns that are absent although some facility's tier needs them."""
    needed = {kind: bool(tab.required[kind][code].any()) for kind in VOCABULARIES}
    absent = [k for k in VOCABULARIES if needed[k] and not rec.provided[k]]
    checks = {
        "floor_area_m2": ~np.isnan(tab.area["compliant"][code]),
        "hall_area_m2": ~np.isnan(tab.hall["compliant"][code]),
        "opening_hours": tab.schedule_required[code] | (tab.min_weekdays[code] > 0),
        "staff": tab.min_staff[code] > 0,
    }
    absent += [c for c, used in checks.items() if c not in frame.columns and bool(np.any(used))]
    if absent:
        warnings.warn(
            f"facilities: the register records no {', '.join(absent)}; every requirement on them counts "
            "as unmet (add the columns to audit them)",
            StandardsWarning,
            stacklevel=3,
        )


def _area_checks(value: np.ndarray, table: dict[str, np.ndarray], code: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for grade in ("compliant", "model"):
        need = table[grade][code]
        applies = ~np.isnan(need)
        with np.errstate(invalid="ignore"):
            out[f"ok_{grade}"] = ~applies | (value >= need)
            out[f"short_{grade}"] = np.where(applies, np.maximum(need - value, 0.0), np.nan)
        out[f"applies_{grade}"] = applies
        out[f"unknown_{grade}"] = applies & np.isnan(value)
    return out


def _hours(frame: pd.DataFrame, tab: _Tables, code: np.ndarray, lang: Lang) -> dict[str, np.ndarray]:
    n = len(frame)
    text = frame["opening_hours"] if "opening_hours" in frame.columns else pd.Series([None] * n)
    schedule = parse_opening_hours(text)
    staff = column_values(frame, "staff", "float")
    staff = np.full(n, np.nan) if staff is None else staff
    duty_flag = (
        frame["weekend_duty"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "weekend_duty" in frame.columns
        else np.zeros(n, dtype=bool)
    )
    sessions = column_values(frame, "evening_sessions_per_week", "float")
    sessions = np.zeros(n) if sessions is None else np.nan_to_num(sessions)

    has = tab.has_hours[code]
    weekdays = schedule.weekdays_open
    weekend = duty_flag | schedule.weekend_open
    evenings = np.maximum(sessions, schedule.evening_days(tab.evening_after[code])).astype(np.int64)
    min_wd = tab.min_weekdays[code]
    min_staff = tab.min_staff[code]
    no_schedule = tab.schedule_required[code] & ~schedule.recorded
    unreadable = schedule.recorded & ~schedule.readable
    few_days = weekdays < min_wd
    with np.errstate(invalid="ignore"):
        few_staff = (min_staff > 0) & ~(staff >= min_staff)
    no_weekend_c = tab.weekend_compliant[code] & ~weekend
    ok_c = ~has | ~(no_schedule | unreadable | few_days | few_staff | no_weekend_c)
    no_weekend_m = tab.weekend_model[code] & ~weekend
    few_evenings = evenings < tab.min_evenings[code]
    ok_m = ok_c & (~has | ~(no_weekend_m | few_evenings))

    problems = [
        when(has & no_schedule, pick(lang, "未公示开放时间", "no opening hours posted")),
        np.where(
            has & unreadable,
            pick(lang, "开放时间无法识别：", "opening hours not readable: ")
            + text.astype("string").fillna("").to_numpy(dtype=object),
            "",
        ).astype(object),
        fill(
            has & few_days & ~no_schedule & ~unreadable,
            lang,
            "工作日开放{0}天，需{1}天",
            "open {0} weekdays, needs {1}",
            weekdays,
            min_wd,
        ),
        when(
            has & few_staff & np.isnan(staff),
            pick(lang, "未填报坐班人员", "staff on duty not recorded"),
        ),
        fill(
            has & few_staff & ~np.isnan(staff),
            lang,
            "坐班人员{0}人，需{1}人",
            "{0} staff on duty, needs {1}",
            staff,
            min_staff,
        ),
        when(has & no_weekend_c, pick(lang, "无周末值班", "no weekend duty")),
    ]
    model_problems = [
        when(has & no_weekend_m & ~no_weekend_c, pick(lang, "无周末值班", "no weekend duty")),
        fill(
            has & few_evenings,
            lang,
            "错时延时{0}次/周，需{1}次",
            "{0} evening sessions a week, needs {1}",
            evenings,
            tab.min_evenings[code],
        ),
    ]
    sep = "，" if lang == "zh" else ", "
    return {
        "ok_compliant": ok_c,
        "ok_model": ok_m,
        "weekdays_open": weekdays,
        "weekend": weekend,
        "evenings": evenings,
        "problem": join_parts(problems, sep),
        "model_problem": join_parts(model_problems, sep),
        "applies_model": has & (tab.weekend_model[code] | (tab.min_evenings[code] > 0)),
        "applies": has,
    }


def _score(
    preset: Preset,
    tab: _Tables,
    code: np.ndarray,
    items: np.ndarray,
    need: dict[str, np.ndarray],
    have: dict[str, np.ndarray],
    area: dict[str, np.ndarray],
    hall: dict[str, np.ndarray],
    hours: dict[str, np.ndarray],
    optional_total: np.ndarray,
    optional_share: np.ndarray,
) -> np.ndarray:
    weights = tab.weights[code]
    total_weight = weights.sum(axis=1)
    basic_applies = total_weight > 0
    basic = np.where(basic_applies, (weights * items).sum(axis=1) / np.maximum(total_weight, 1e-12), 0.0)

    def share(kind: str) -> tuple[np.ndarray, np.ndarray]:
        required = need[kind].sum(axis=1)
        got = (need[kind] & have[kind]).sum(axis=1)
        return required > 0, np.where(required > 0, got / np.maximum(required, 1), 0.0)

    function_checks = [
        (area["applies_compliant"], area["ok_compliant"].astype(float)),
        (hall["applies_compliant"], hall["ok_compliant"].astype(float)),
        share("windows"),
        share("zones"),
        share("rooms"),
        (hours["applies"], hours["ok_compliant"].astype(float)),
    ]
    model_total = tab.model_items[code].sum(axis=1)
    model_share = np.where(
        model_total > 0, (tab.model_items[code] & items).sum(axis=1) / np.maximum(model_total, 1), 0.0
    )
    extra_checks = [
        (optional_total > 0, optional_share),
        (model_total > 0, model_share),
        (area["applies_model"], area["ok_model"].astype(float)),
        (hall["applies_model"], hall["ok_model"].astype(float)),
        (hours["applies_model"], hours["ok_model"].astype(float)),
    ]

    def group(checks: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        applies = np.stack([a for a, _ in checks], axis=1)
        earned = np.stack([e for _, e in checks], axis=1)
        count = applies.sum(axis=1)
        return count > 0, np.where(count > 0, (applies * earned).sum(axis=1) / np.maximum(count, 1), 0.0)

    function_applies, function = group(function_checks)
    extra_applies, extra = group(extra_checks)
    points = preset.scoring
    groups = [
        (basic_applies, basic, points.basic.value),
        (function_applies, function, points.function.value),
        (extra_applies, extra, points.extra.value),
    ]
    available = sum(np.where(a, p, 0.0) for a, _, p in groups)
    earned = sum(np.where(a, f * p, 0.0) for a, f, p in groups)
    return np.where(available > 0, earned / np.maximum(available, 1e-12) * points.max_points, 0.0)


def _upgrade_cost(
    preset: Preset,
    tab: _Tables,
    missing: dict[str, np.ndarray],
    area: dict[str, np.ndarray],
    compliant: np.ndarray,
) -> np.ndarray:
    """Cost of reaching the compliant grade; NaN when the floor area it depends on is unknown."""
    costs = preset.upgrade_costs
    per_item = np.array(
        [
            costs.item_overrides[i].value if i in costs.item_overrides else costs.per_missing_item.value
            for i in tab.catalogue["items"]
        ]
    )
    short = area["short_compliant"]
    total = (
        missing["items"] @ per_item
        + missing["windows"].sum(axis=1) * costs.per_missing_window.value
        + missing["zones"].sum(axis=1) * costs.per_missing_zone.value
        + missing["rooms"].sum(axis=1) * costs.per_missing_room.value
        + np.where(np.isnan(short), 0.0, short) * costs.per_m2_shortfall.value
    )
    total = np.where(area["unknown_compliant"], np.nan, total)
    return np.where(compliant, 0.0, total)


def _reasons(
    lang: Lang,
    grade: np.ndarray,
    grade_labels: dict[str, str],
    out: dict[str, object],
    area: dict[str, np.ndarray],
    hall: dict[str, np.ndarray],
    hours: dict[str, np.ndarray],
    stars: np.ndarray,
    min_stars: np.ndarray,
    optional_share: np.ndarray,
    code: np.ndarray,
    tab: _Tables,
) -> np.ndarray:
    floor = np.asarray(out["floor_area_m2"], dtype=float)
    hall_area = np.asarray(out["hall_area_m2"], dtype=float)

    def missing_part(key: str, zh: str, en: str) -> np.ndarray:
        labels = np.asarray(out[key], dtype=object)
        prefix = pick(lang, zh, en)
        return np.where(labels != "", prefix + labels, "").astype(object)

    def area_part(
        checks: dict[str, np.ndarray], value: np.ndarray, grade_key: str, what_zh: str, what_en: str
    ) -> np.ndarray:
        short = checks[f"short_{grade_key}"]
        unknown = checks[f"unknown_{grade_key}"]
        lacking = checks[f"applies_{grade_key}"] & ~unknown & (short > 0)
        need = value + np.nan_to_num(short)
        text = fill(
            lacking,
            lang,
            f"{what_zh}{{0}} m²，差{{1}} m²（需{{2}} m²）",
            f"{what_en} {{0}} m², {{1}} m² short (needs {{2}} m²)",
            value,
            short,
            need,
        )
        return np.where(unknown, pick(lang, f"未填报{what_zh}", f"{what_en} not recorded"), text).astype(
            object
        )

    fail = [
        missing_part("missing_items_label", "缺少", "missing "),
        area_part(area, floor, "compliant", "建筑面积", "floor area"),
        area_part(hall, hall_area, "compliant", "服务大厅面积", "hall area"),
        missing_part("missing_windows_label", "缺少窗口：", "missing windows: "),
        missing_part("missing_zones_label", "缺少功能区：", "missing zones: "),
        missing_part("missing_rooms_label", "缺少功能室：", "missing rooms: "),
        hours["problem"],
    ]
    optional_need = tab.min_optional_share[code]
    few_optional = optional_share + 1e-9 < optional_need
    few_stars = stars < min_stars
    to_model = [
        area_part(area, floor, "model", "建筑面积", "floor area"),
        area_part(hall, hall_area, "model", "服务大厅面积", "hall area"),
        missing_part("missing_model_items_label", "缺少", "missing "),
        fill(
            few_optional,
            lang,
            "可选项目达成{0}%，需{1}%",
            "{0}% of optional items, needs {1}%",
            np.round(optional_share * 100),
            np.round(optional_need * 100),
        ),
        hours["model_problem"],
        fill(few_stars, lang, "{0}星，需{1}星", "{0} stars, needs {1}", stars, min_stars),
    ]
    sep = "；" if lang == "zh" else "; "
    fail_text = join_parts(fail, sep)
    model_text = join_parts(to_model, sep)
    head = pd.Series(grade).map(grade_labels).to_numpy(dtype=object)
    star_text = fill(grade != "noncompliant", lang, "{0}星", "{0} stars", stars)
    return np.select(
        [grade == "noncompliant", grade == "compliant"],
        [
            head + pick(lang, "：", ": ") + fail_text,
            head
            + pick(lang, "（", " (")
            + star_text
            + pick(lang, "）；距示范型：", "); to reach model: ")
            + model_text,
        ],
        default=head
        + pick(lang, "（", " (")
        + star_text
        + pick(lang, "）：各项达到示范标准", "): meets every model requirement"),
    ).astype(object)


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit of a workspace produced (written out by ``export.write_audit``)."""

    preset: Preset
    lang: Lang
    facilities: gpd.GeoDataFrame
    summary: AuditSummary | None
    grids: GridAudit | None
    issues: pd.DataFrame
    messages: tuple[str, ...] = ()
    county_name: str = ""

    def summarized(self) -> AuditSummary:
        """The township and county summaries (refused for an audit made with ``summarize=False``)."""
        if self.summary is None:
            msg = "this audit was made with summarize=False: it has no township or county summaries"
            raise ValueError(msg)
        return self.summary

    def grades_by_tier(self) -> pd.DataFrame:
        """Existing facilities per tier and grade, with the total row (the county table)."""
        return self.summarized().county


def audit_layers(
    workspace: object,
    *,
    preset: Preset | str | None = None,
    lang: Lang = "zh",
    summarize: bool = True,
) -> AuditResult:
    """Audit the facilities, position system and grids of a workspace.

    Parameters
    ----------
    workspace
        A :class:`servicegrid.geo.workspace.Workspace`.
    preset
        Preset, name or path; default the workspace setting (a relative path is taken relative
        to the workspace file).
    lang
        'zh' or 'en'.
    summarize
        False: grade the facilities and place them in their townships, villages and compounds,
        without the township and county counts, the position check or the grids (``summary``
        and ``grids`` are None) — what a single changed facility needs.

    Returns
    -------
    AuditResult
        Every standards warning raised on the way is also kept in ``messages``.
    """
    from ..geo.workspace import Workspace

    check_lang(lang)
    if not isinstance(workspace, Workspace):
        msg = f"expected a servicegrid Workspace, got {type(workspace).__name__}"
        raise TypeError(msg)
    if not isinstance(preset, Preset):
        base = workspace.path.parent if workspace.path is not None else None
        preset = load_preset(resolve_preset_path(preset or workspace.settings.preset, relative_to=base))
    if "facilities" not in workspace:
        msg = "the workspace has no facilities to audit; add a 'facilities' layer"
        raise StandardsError(msg)
    source = str(workspace.path) if workspace.path is not None else None
    facilities = workspace.layer("facilities")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StandardsWarning)
        records = parse_records(facilities, preset, source=source)
        audit = audit_facilities(facilities, preset, lang=lang, records=records, source=source)
        layer = {
            name: workspace.layer(name) if name in workspace else None
            for name in ("townships", "villages", "compounds")
        }
        if summarize:
            summary: AuditSummary | None = summarize_audit(
                audit,
                layer["townships"],
                layer["villages"],
                layer["compounds"],
                preset=preset,
                lang=lang,
                county_name=workspace.settings.name,
            )
            placed = summary.facilities
        else:
            summary = None
            placed = place_facilities(audit, layer["townships"], layer["villages"], layer["compounds"])
        grids = (
            audit_grids(
                workspace.layer("grids"),
                workspace.layer("microgrids") if "microgrids" in workspace else None,
                layer["villages"],
                preset,
                lang=lang,
            )
            if summarize and "grids" in workspace
            else None
        )
    messages = tuple(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, StandardsWarning))
    )
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return AuditResult(
        preset=preset,
        lang=lang,
        facilities=placed,
        summary=summary,
        grids=grids,
        issues=records.issues,
        messages=messages,
        county_name=workspace.settings.name,
    )
