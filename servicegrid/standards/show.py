"""Readable views of a preset: tier and item tables for the terminal, thresholds with their sources.

``servicegrid standards show [PRESET]`` prints :func:`preset_table`; ``servicegrid standards
check FILE`` prints :func:`describe_preset` of the validated preset. :func:`threshold_rows` is
the table of every number and the document it comes from, also written into the county
workbook.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Group
from rich.rule import Rule
from rich.table import Table

from ._common import check_lang, pick
from .loader import load_preset
from .models import Figure, Lang, NumberCheck, Preset, SetCheck, Vocabulary

__all__ = ["describe_preset", "preset_rows", "preset_table", "threshold_rows"]


def _area(rule_compliant: Figure | None, rule_model: Figure | None) -> str:
    def one(f: Figure | None) -> str:
        return "–" if f is None else f"{f.value:g}"

    if rule_compliant is None and rule_model is None:
        return "–"
    return f"{one(rule_compliant)} / {one(rule_model)}"


def preset_rows(preset: Preset | str, *, lang: Lang = "zh") -> list[dict[str, str]]:
    """One row per tier: names, level, area and hall minimums, items, windows, zones, rooms, radius.

    Examples
    --------
    >>> rows = preset_rows("cn-default")
    >>> rows[3]["tier"], rows[3]["area_m2"]
    ('village_center', '200 / 300')
    """
    check_lang(lang)
    preset = load_preset(preset)
    sep = "、" if lang == "zh" else ", "
    rows = []
    for tier_id, tier in preset.tiers.items():

        def names(kind: Vocabulary, ids: tuple[str, ...]) -> str:
            return sep.join(preset.label(kind, i, lang) for i in ids) or "–"

        radius = "–"
        if tier.walk_radius_m is not None:
            radius = f"{tier.walk_radius_m.value:g} m"
            if tier.partial_radius_m is not None:
                radius += f" ({tier.partial_radius_m.value:g} m)"
        elif tier.drive_minutes is not None:
            radius = pick(
                lang, f"车程{tier.drive_minutes.value:g}分钟", f"{tier.drive_minutes.value:g} min drive"
            )
        rows.append(
            {
                "tier": tier_id,
                "name": tier.label(lang),
                "level": str(tier.level),
                "standard_set": tier.standard_set.label(lang) if tier.standard_set else "–",
                "area_m2": _area(tier.area_min_m2.compliant, tier.area_min_m2.model),
                "hall_m2": _area(tier.hall_min_m2.compliant, tier.hall_min_m2.model),
                "required_items": names("items", tier.compliance_items),
                "optional_items": names("items", (*tier.optional_items, *tier.model_items)),
                "windows": names("windows", tier.required_windows),
                "zones": names("zones", tier.required_zones),
                "rooms": names("rooms", tier.required_rooms),
                "radius": radius,
                "stand_ins": sep.join(tier.stand_ins) or "–",
            }
        )
    return rows


_TIER_HEADERS = {
    "tier": ("层级", "Tier"),
    "name": ("名称", "Name"),
    "standard_set": ("标准", "Standard"),
    "area_m2": ("面积 m² 达标/示范", "Area m² compliant/model"),
    "hall_m2": ("大厅 m²", "Hall m²"),
    "required_items": ("必备项目", "Required items"),
    "optional_items": ("可选/示范项目", "Optional / model items"),
    "windows": ("窗口", "Windows"),
    "zones": ("功能区", "Zones"),
    "rooms": ("功能室", "Rooms"),
    "radius": ("服务半径", "Radius"),
    "stand_ins": ("可由上级代替", "Higher tiers standing in"),
}


def preset_table(preset: Preset | str, *, lang: Lang = "zh") -> Group:
    """A rich renderable: the tier table and the item catalogue of ``preset``."""
    check_lang(lang)
    preset = load_preset(preset)
    title = f"{preset.id} — {preset.zh if lang == 'zh' else preset.en}"
    if preset.extends:
        title += pick(lang, f"（继承 {preset.extends}）", f" (extends {preset.extends})")
    # One two-column table per tier reads well in a narrow terminal; a wide one would not.
    tier_tables = []
    for row in preset_rows(preset, lang=lang):
        table = Table(show_header=False, box=None, padding=(0, 1), expand=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, (zh, en) in _TIER_HEADERS.items():
            table.add_row(pick(lang, zh, en), row[key])
        tier_tables.append(table)
    items = Table(title=pick(lang, "项目目录", "Item catalogue"), show_lines=False)
    for header in (
        ("编号", "Id"),
        ("中文", "Chinese"),
        ("English", "English"),
        ("检查方式", "Check"),
        ("层级", "Tiers"),
    ):
        items.add_column(pick(lang, *header), overflow="fold")
    for item_id, item in preset.items.items():
        check = item.check
        if isinstance(check, NumberCheck):
            how = f"{check.column} ≥ {check.minimum.value:g}"
        elif isinstance(check, SetCheck):
            how = f"{check.column} ⊇ {', '.join(check.members) if check.members else pick(lang, '层级要求', 'tier list')}"
        else:
            how = pick(lang, "有/无", "yes/no")
        used = [
            t
            for t, tier in preset.tiers.items()
            if item_id in (*tier.compliance_items, *tier.optional_items, *tier.model_items)
        ]
        items.add_row(item_id, item.zh, item.en, how, ", ".join(used) or "–")
    return Group(Rule(title), *(g for t in tier_tables for g in (t, Rule(style="dim"))), items)


def threshold_rows(preset: Preset | str, *, lang: Lang = "zh") -> pd.DataFrame:
    """Every number of every tier with its source: tier, requirement, value, unit, source, status.

    Examples
    --------
    >>> rows = threshold_rows("cn-default", lang="en")
    >>> rows[(rows.tier == "village_center") & (rows.requirement == "floor area, compliant")][["value", "source"]].values.tolist()
    [[200.0, 'shaanxi-qiancun']]
    """
    check_lang(lang)
    preset = load_preset(preset)
    rows: list[dict[str, object]] = []
    for tier_id, tier in preset.tiers.items():
        entries: list[tuple[str, str, str, Figure | None]] = [
            ("建筑面积（达标）", "floor area, compliant", "m²", tier.area_min_m2.compliant),
            ("建筑面积（示范）", "floor area, model", "m²", tier.area_min_m2.model),
            ("服务大厅（达标）", "hall area, compliant", "m²", tier.hall_min_m2.compliant),
            ("服务大厅（示范）", "hall area, model", "m²", tier.hall_min_m2.model),
            ("步行服务半径", "walking radius", "m", tier.walk_radius_m),
            ("部分覆盖半径", "partial-coverage radius", "m", tier.partial_radius_m),
            ("车程", "drive time", "min", tier.drive_minutes),
            ("示范型可选项目比例", "model: share of optional items", "", tier.grading.min_optional_share),
            ("示范型最少星级", "model: minimum stars", "★", tier.grading.min_stars),
            ("新建费用", "new-build cost", preset.upgrade_costs.currency, tier.new_build_cost),
        ]
        for zh, en, unit, figure in entries:
            if figure is None:
                continue
            rows.append(
                _row(
                    preset,
                    tier_id,
                    tier.label(lang),
                    pick(lang, zh, en),
                    figure.value,
                    unit,
                    figure.source,
                    lang,
                )
            )
        if tier.hours is not None:
            h = tier.hours
            for zh, en, value in (
                ("工作日开放天数", "weekdays open", h.min_weekdays_open),
                ("坐班人数", "staff on duty", h.min_staff),
                ("示范型错时延时次数/周", "model: evening sessions a week", h.min_evening_sessions_model),
            ):
                rows.append(
                    _row(preset, tier_id, tier.label(lang), pick(lang, zh, en), value, "", h.source, lang)
                )
    return pd.DataFrame(
        rows,
        columns=["tier", "tier_label", "requirement", "value", "unit", "source", "source_title", "status"],
    )


def _row(
    preset: Preset, tier_id: str, tier_label: str, what: str, value: float, unit: str, source: str, lang: Lang
) -> dict[str, object]:
    doc = preset.sources.get(source)
    reserved = {
        "seed": ("种子文件", "seed documents", "SEED"),
        "default": ("servicegrid 默认值", "servicegrid default", "I"),
    }
    if doc is not None:
        title, status = doc.title, doc.status
    else:
        zh, en, status = reserved.get(source, (source, source, ""))
        title = pick(lang, zh, en)
    return {
        "tier": tier_id,
        "tier_label": tier_label,
        "requirement": what,
        "value": float(value),
        "unit": unit,
        "source": source,
        "source_title": title,
        "status": status,
    }


def describe_preset(preset: Preset) -> str:
    """One line about a valid preset, for ``servicegrid standards check``."""
    parent = f", extends {preset.extends}" if preset.extends else ""
    return (
        f"preset '{preset.id}' is valid: {len(preset.tiers)} tiers, {len(preset.items)} items, "
        f"{len(preset.windows)} windows, {len(preset.zones)} zones, {len(preset.rooms)} rooms{parent}"
    )
