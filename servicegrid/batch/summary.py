"""The province summary workbook of a batch: one row per county, and the problems of those that failed.

:func:`write_summary` writes ``summary.xlsx`` atomically (a temporary file beside it, renamed
when complete), with the audit workbooks' table style (bold frozen header, autofilter, widths
fitted to Chinese text, :func:`servicegrid.standards.workbook._write_table`):

- sheet 各县汇总 / Counties — per county: its name, workspace, results folder, status (成功 ok /
  失败 failed) and reason, the walking network used, existing facilities by grade (示范型,
  达标型, 不达标) and planned, the warnings of its workspace, for each walk-based tier the
  units and households covered, and the plan for compound stations (status, new sites,
  upgrades, cost, households newly covered, coverage before and after). Failed rows are red.
- sheet 问题 / Problems — the error findings of every refused workspace (layer, id, row,
  field, message), or the one-line reason of a county that failed otherwise.

Headings are Chinese with ``lang="zh"`` and English with ``lang="en"``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ..geo.workspace import atomic_path
from ..standards.headers import _h
from ..standards.workbook import GRADE_FILLS, _write_table
from .county import CountySummary, Lang

__all__ = ["summary_frame", "write_summary"]

_HEADERS: dict[str, tuple[str, str]] = {
    "county": ("县(区)", "County"),
    "workspace": ("工作区", "Workspace"),
    "folder": ("结果文件夹", "Results folder"),
    "status": ("状态", "Status"),
    "reason": ("原因", "Reason"),
    "network": ("步行路网", "Walking network"),
    "warnings": ("警告数", "Warnings"),
    "plan_status": ("选址求解状态", "Plan status"),
    "plan_new_sites": ("新建处数", "New sites"),
    "plan_upgrades": ("改造处数", "Upgrades"),
    "plan_cost": ("方案费用(元)", "Plan cost (yuan)"),
    "plan_households_new": ("方案新覆盖户数", "Households newly covered"),
    "plan_rate_before": ("方案前覆盖率", "Rate before the plan"),
    "plan_rate_after": ("方案后覆盖率", "Rate with the plan"),
    "seconds": ("用时(秒)", "Seconds"),
}
_TIER_HEADERS: dict[str, tuple[str, str]] = {
    "units": ("单元数", "units"),
    "units_covered": ("覆盖单元", "units covered"),
    "households": ("户数", "households"),
    "households_covered": ("覆盖户数", "households covered"),
    "household_rate": ("户覆盖率", "household rate"),
}
_GRADES = ("n", "n_model", "n_compliant", "n_noncompliant", "n_planned")
_STATUS = {"ok": ("成功", "ok"), "failed": ("失败", "failed")}
_FINDING_COLUMNS = ("severity", "layer", "id", "row", "field", "message")
_SHEETS = {"counties": ("各县汇总", "Counties"), "problems": ("问题", "Problems")}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def summary_frame(counties: Sequence[CountySummary], *, lang: Lang = "zh") -> tuple[pd.DataFrame, list[str]]:
    """The counties sheet as a frame (one row per county, in order) and its headings in ``lang``.

    The tiers' columns follow the tiers in the order the counties list them; a county without a
    tier (or that failed) has blanks there.
    """
    tiers: dict[str, str] = {}
    for county in counties:
        for cov in county.coverage:
            tiers.setdefault(cov.tier, cov.label)
    rows = []
    for county in counties:
        row: dict[str, object] = {
            "county": county.name,
            "workspace": str(county.workspace),
            "folder": str(county.folder),
            "status": _pick(_STATUS[county.status], lang),
            "reason": county.reason or None,
            "network": county.network or None,
            "warnings": county.warnings if county.ok else None,
        }
        grades = county.grades
        values = (
            (grades.total, grades.model, grades.compliant, grades.noncompliant, grades.planned)
            if grades
            else (None,) * len(_GRADES)
        )
        row.update(zip(_GRADES, values, strict=True))
        covered = {cov.tier: cov for cov in county.coverage}
        for tier in tiers:
            cov = covered.get(tier)
            for key in _TIER_HEADERS:
                row[f"{tier}:{key}"] = getattr(cov, key) if cov is not None else None
        plan = county.plan
        row.update(
            {
                "plan_status": plan.status if plan else None,
                "plan_new_sites": plan.new_sites if plan else None,
                "plan_upgrades": plan.upgrades if plan else None,
                "plan_cost": plan.cost if plan else None,
                "plan_households_new": plan.households_new if plan else None,
                "plan_rate_before": plan.rate_before if plan else None,
                "plan_rate_after": plan.rate_after if plan else None,
                "seconds": round(county.seconds, 1),
            }
        )
        rows.append(row)
    order = ["county", "workspace", "folder", "status", "reason", "network", *_GRADES, "warnings"]
    order += [f"{tier}:{key}" for tier in tiers for key in _TIER_HEADERS]
    order += [k for k in _HEADERS if k.startswith("plan_")] + ["seconds"]
    frame = pd.DataFrame(rows, columns=order)
    headers = []
    for column in order:
        if column in _GRADES:
            headers.append(_h(column, lang))
        elif ":" in column:
            tier, key = column.split(":", 1)
            headers.append(f"{tiers[tier]} {_pick(_TIER_HEADERS[key], lang)}")
        else:
            headers.append(_pick(_HEADERS[column], lang))
    return frame, headers


def _problems(counties: Sequence[CountySummary], lang: Lang) -> tuple[pd.DataFrame, list[str]]:
    frames = []
    for county in counties:
        if county.ok:
            continue
        if county.findings is not None and len(county.findings):
            found = county.findings.reindex(columns=list(_FINDING_COLUMNS)).astype(object)
        else:
            found = pd.DataFrame(
                [{"severity": "error", "message": county.reason}], columns=list(_FINDING_COLUMNS)
            )
        frames.append(found.assign(county=county.name)[["county", *_FINDING_COLUMNS]])
    columns = ["county", *_FINDING_COLUMNS]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    names = {
        "county": _HEADERS["county"],
        "severity": ("级别", "Severity"),
        "layer": ("图层", "Layer"),
        "id": ("编号", "Id"),
        "row": ("行", "Row"),
        "field": ("字段", "Field"),
        "message": ("问题", "Problem"),
    }
    return frame, [_pick(names[c], lang) for c in columns]


def write_summary(
    path: str | os.PathLike[str], counties: Sequence[CountySummary], *, lang: Lang = "zh"
) -> Path:
    """Write the province summary workbook to ``path`` atomically; returns ``path``."""
    path = Path(path)
    frame, headers = summary_frame(counties, lang=lang)
    failed = sum(not c.ok for c in counties)
    title = (
        f"各县(区)党群服务阵地规划汇总：{len(counties)} 个，失败 {failed} 个"
        if lang == "zh"
        else f"Service network plans of {len(counties)} counties, {failed} failed"
    )
    wb = Workbook()
    ws = wb.active
    ws.title = _pick(_SHEETS["counties"], lang)
    fills = [None if c.ok else GRADE_FILLS["noncompliant"] for c in counties]
    _write_table(ws, frame, lang, title=title, fills=fills, freeze_columns=1, headers=headers)
    for j, column in enumerate(frame.columns, start=1):
        if column.endswith("rate") or column.endswith("rate_before") or column.endswith("rate_after"):
            letter = get_column_letter(j)
            for i in range(3, len(frame) + 3):
                ws[f"{letter}{i}"].number_format = "0.0%"
    problems, problem_headers = _problems(counties, lang)
    _write_table(
        wb.create_sheet(_pick(_SHEETS["problems"], lang)),
        problems,
        lang,
        freeze_columns=1,
        headers=problem_headers,
    )
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
