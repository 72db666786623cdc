"""How coverage results are labelled for people: column headings, gap and unit names, zh and en.

The layers keep their canonical column names (for QGIS and other programs); the gaps CSV a
planner opens in Excel, the maps and the terminal use these labels.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

__all__ = ["GAP_LABELS", "UNIT_LABELS", "beyond_text", "coverage_headers", "labelled_gaps", "reason_labels"]

Lang = Literal["zh", "en"]

GAP_LABELS = {
    "last_hundred_meters": ("最后一百米", "last hundred metres"),
    "last_kilometer": ("最后一公里", "last kilometre"),
    "beyond_radius": ("超出服务半径", "beyond the radius"),
}
UNIT_LABELS = {
    "compounds": ("小区", "compound"),
    "settlements": ("自然村", "settlement"),
    "villages": ("村/社区", "village or community"),
    "communities": ("社区", "community"),
    "grids": ("网格", "grid"),
    "all": ("合计(不重复)", "all, counted once"),
}
_HEADERS = {
    "gap": ("缺口", "Gap"),
    "unit_layer": ("单元图层", "Unit layer"),
    "unit_id": ("单元编号", "Unit id"),
    "unit_name": ("单元名称", "Unit"),
    "unit_kind": ("单元类型", "Unit kind"),
    "households": ("户数", "Households"),
    "population": ("人口", "Population"),
    "households_counted": ("计入户数", "Households counted"),
    "population_counted": ("计入人口", "Population counted"),
    "township_id": ("乡镇编号", "Township id"),
    "township_name": ("乡镇(街道)", "Township"),
    "village_id": ("村(社区)编号", "Village id"),
    "village_name": ("村(社区)", "Village"),
    "grid_id": ("网格编号", "Grid id"),
    "tier": ("层级", "Tier"),
    "facility_id": ("最近阵地编号", "Nearest facility id"),
    "facility_name": ("最近阵地", "Nearest facility"),
    "walk_m": ("步行距离(米)", "Walk (m)"),
    "straight_m": ("直线距离(米)", "Straight line (m)"),
    "radius_m": ("服务半径(米)", "Radius (m)"),
    "to_go_m": ("超出(米)", "Beyond by (m)"),
    "covered": ("覆盖", "Covered"),
    "partial": ("部分覆盖", "Partly covered"),
    "doorstep": ("百米内", "Within 100 m"),
    "method": ("测算方法", "Method"),
    "reason": ("说明", "Reason"),
}


# The reasons coverage gives, canonical (English) in the layers, and their Chinese wording for the
# planner's gap list: (pattern of the English text, its Chinese wording with the groups as \1, \2).
_REASONS_ZH = [
    (r"^([\d,.]+) m on foot, beyond the ([\d,.]+) m radius$", "步行\\1米，超出\\2米服务半径"),
    (
        r"^([\d,.]+) m estimated from the straight line \(no walking network\), beyond the ([\d,.]+) m radius$",
        "按直线估算\\1米（无步行路网），超出\\2米服务半径",
    ),
    (r"^no facility of this tier$", "没有该层级（或可替代层级）的在用阵地"),
    (
        r"^not connected: no facility on the same piece of the walking network$",
        "不连通：所在步行路网片区没有该层级的阵地",
    ),
    (r"^no facility to reach \(none was snapped to the network\)$", "没有可到达的阵地（阵地均未接入路网）"),
    (r"^no facility within ([\d,.]+) m on foot$", "步行\\1米内没有阵地"),
    (r"^unreachable: ([\d,.]+) m from the nearest path$", "无法步行到达：距最近道路\\1米"),
    (r"^unreachable: no path in the network$", "无法步行到达：路网中没有道路"),
]


def beyond_text(walk: float, radius: float) -> str:
    """A distance beyond ``radius`` (metres) written so that it never reads as the radius itself:
    whole metres, or as many decimals (up to two) as it takes.

    Examples
    --------
    >>> beyond_text(1306.4, 1000), beyond_text(1000.21, 1000), beyond_text(300.04, 300)
    ('1,306', '1,000.2', '300.04')
    """
    if round(walk) > radius:
        return f"{walk:,.0f}"
    return f"{walk:,.1f}" if round(walk, 1) > radius else f"{walk:,.2f}"


def reason_labels(reasons: pd.Series, lang: Lang) -> pd.Series:
    """Coverage's reasons in ``lang`` (the layers keep them in English; unknown ones unchanged)."""
    if lang != "zh":
        return reasons
    out = reasons.astype("string")
    for pattern, template in _REASONS_ZH:
        out = out.str.replace(pattern, template, regex=True)
    return out


def coverage_headers(lang: Lang) -> dict[str, str]:
    """Column → heading in ``lang``."""
    i = 0 if lang == "zh" else 1
    return {column: pair[i] for column, pair in _HEADERS.items()}


def labelled_gaps(gaps: pd.DataFrame, tier_labels: dict[str, str], lang: Lang) -> pd.DataFrame:
    """The gap list as a planner reads it: labels for gaps, units and tiers, headings in ``lang``."""
    i = 0 if lang == "zh" else 1
    out = pd.DataFrame(gaps.drop(columns="geometry", errors="ignore"))
    out["gap"] = out["gap"].map({k: v[i] for k, v in GAP_LABELS.items()}).fillna(out["gap"])
    out["unit_kind"] = (
        out["unit_kind"].map({k: v[i] for k, v in UNIT_LABELS.items()}).fillna(out["unit_kind"])
    )
    out["tier"] = out["tier"].map(tier_labels).fillna(out["tier"])
    if "reason" in out.columns:
        out["reason"] = reason_labels(out["reason"], lang)
    if "method" in out.columns and lang == "zh":
        out["method"] = (
            out["method"].map({"network": "步行路网", "euclidean": "直线估算"}).fillna(out["method"])
        )
    shown = [c for c in _HEADERS if c in out.columns]
    return out[shown].rename(columns=coverage_headers(lang))
