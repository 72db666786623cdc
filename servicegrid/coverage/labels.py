"""How coverage results are labelled for people: column headings, gap and unit names, zh and en.

The layers keep their canonical column names (for QGIS and other programs); the gaps CSV a
planner opens in Excel, the maps and the terminal use these labels.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

__all__ = ["GAP_LABELS", "UNIT_LABELS", "coverage_headers", "labelled_gaps"]

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
    shown = [c for c in _HEADERS if c in out.columns]
    return out[shown].rename(columns=coverage_headers(lang))
