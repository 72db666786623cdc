"""The plan as a workbook a township prints: the headline, coverage before and after per
township, and the sites to build or upgrade in build order with their names, costs and whom
they newly cover — in Chinese or English. The layers themselves go to the plan GeoPackage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..geo.crs import STORAGE_CRS
from ..geo.workspace import atomic_path

if TYPE_CHECKING:
    from .plan import PlanResult

__all__ = ["write_plan_workbook"]

Lang = Literal["zh", "en"]

_HEADERS = {
    "township_id": ("乡镇编号", "Township id"),
    "township_name": ("乡镇(街道)", "Township"),
    "units": ("单元数", "Units"),
    "households": ("户数", "Households"),
    "households_before": ("现有达标覆盖户数", "Covered today"),
    "households_after": ("方案后覆盖户数", "Covered with the plan"),
    "rate_before": ("现有覆盖率", "Rate today"),
    "rate_after": ("方案后覆盖率", "Rate with the plan"),
    "build_order": ("建设顺序", "Build order"),
    "site_id": ("点位编号", "Site id"),
    "kind": ("类型", "Kind"),
    "decision": ("决定", "Decision"),
    "source": ("来源", "Source"),
    "facility_id": ("阵地编号", "Facility id"),
    "name": ("名称", "Name"),
    "cost": ("费用(元)", "Cost (yuan)"),
    "units_new": ("新覆盖单元", "Units newly covered"),
    "households_new": ("新覆盖户数", "Households newly covered"),
    "population_new": ("新覆盖人口", "People newly covered"),
    "households_served": ("服务户数", "Households served"),
    "capacity": ("容量(户)", "Capacity (households)"),
    "village_id": ("村(社区)编号", "Village id"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
}
_KINDS = {"new": ("新建", "new"), "upgrade": ("改造提升", "upgrade"), "existing": ("现有", "existing")}
_SUMMARY = {
    "tier": ("层级", "Tier"),
    "model": ("模型", "Model"),
    "status": ("求解状态", "Status"),
    "new_sites": ("新建处数", "New sites"),
    "upgrades": ("改造处数", "Upgrades"),
    "cost": ("费用(元)", "Cost (yuan)"),
    "objective": ("目标值", "Objective"),
    "bound": ("证明的界", "Proven bound"),
    "gap": ("与最优的差距", "Gap to the optimum"),
    "households": ("户数", "Households"),
    "rate_before": ("现有覆盖率", "Rate today"),
    "rate_after": ("方案后覆盖率", "Rate with the plan"),
    "households_uncoverable": ("无法覆盖户数", "Households out of reach"),
    "weight": ("计量", "Weighed by"),
}


def write_plan_workbook(
    result: PlanResult,
    path: str | os.PathLike[str],
    *,
    tier_labels: dict[str, str] | None = None,
    lang: Lang = "zh",
    notes: tuple[str, ...] = (),
) -> Path:
    """Write the plan's workbook to ``path`` (atomically): sheets 汇总, 各乡镇, 选址点位."""
    i = 0 if lang == "zh" else 1
    path = Path(path)
    summary = result.summary.iloc[0]
    rows = [
        (
            label[i],
            tier_labels.get(summary[key], summary[key]) if key == "tier" and tier_labels else summary[key],
        )
        for key, label in _SUMMARY.items()
        if key in summary.index
    ]
    head = pd.DataFrame(rows, columns=["项目" if lang == "zh" else "Item", "值" if lang == "zh" else "Value"])
    if notes:
        extra = pd.DataFrame(
            {head.columns[0]: ["说明" if lang == "zh" else "Note"] * len(notes), head.columns[1]: notes}
        )
        head = pd.concat([head, extra], ignore_index=True)
    towns = result.before_after.drop(columns=["units_before", "units_after"], errors="ignore")
    sites = result.proposed_sites
    points = sites.geometry.to_crs(STORAGE_CRS) if len(sites) else sites.geometry
    sites = pd.DataFrame(sites.drop(columns="geometry")).assign(
        lon=np.round(points.x.to_numpy(), 6) if len(sites) else [],
        lat=np.round(points.y.to_numpy(), 6) if len(sites) else [],
    )
    sites["kind"] = sites["kind"].map({k: v[i] for k, v in _KINDS.items()}).fillna(sites["kind"])
    order = [
        "build_order",
        "site_id",
        "kind",
        "decision",
        "source",
        "facility_id",
        "name",
        "cost",
        "units_new",
        "households_new",
        "population_new",
        "households_served",
        "capacity",
        "township_id",
        "village_id",
        "lon",
        "lat",
    ]
    shown = [c for c in order if c in sites.columns]
    headers = {k: v[i] for k, v in _HEADERS.items()}
    sheets = {
        "汇总" if lang == "zh" else "Summary": head,
        "各乡镇" if lang == "zh" else "Townships": towns.rename(columns=headers),
        "选址点位" if lang == "zh" else "Sites": sites[shown].rename(columns=headers),
    }
    with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as book:
        for name, frame in sheets.items():
            frame.to_excel(book, sheet_name=name, index=False)
            sheet = book.sheets[name]
            for column in sheet.columns:  # wide enough for the headings, Chinese counted double
                width = max(len(str(c.value or "")) * (2 if lang == "zh" else 1) for c in column[:50])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    return path
