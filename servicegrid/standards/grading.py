"""The parts of a facility's grade: area and hall checks, the hours rule, the score, the upgrade
cost and the reason in words (see :mod:`.audit` for the grading rules they implement).

Each takes the :class:`~.requirements.RequirementTables` and the facilities' tier codes and
returns arrays over the facilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import column_values, fill, join_parts, pick, when
from .hours import parse_opening_hours
from .models import Lang, Preset
from .requirements import RequirementTables

__all__ = ["area_checks", "hours_checks", "reasons", "stars_score", "upgrade_cost"]


def area_checks(value: np.ndarray, table: dict[str, np.ndarray], code: np.ndarray) -> dict[str, np.ndarray]:
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


def hours_checks(
    frame: pd.DataFrame, tab: RequirementTables, code: np.ndarray, lang: Lang
) -> dict[str, np.ndarray]:
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


def stars_score(
    preset: Preset,
    tab: RequirementTables,
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


def upgrade_cost(
    preset: Preset,
    tab: RequirementTables,
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


def reasons(
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
    tab: RequirementTables,
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
