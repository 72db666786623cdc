"""Audit exports: a workbook per township, the county workbook, CSV, GeoJSON and result layers.

:func:`write_audit` writes, into ``out_dir``::

    townships/<code>_<name>.xlsx   one per township: summary, facilities (grade coloured, what is
                                   missing), item matrix (✓/✗), position system, grids and the
                                   micro-grids with a problem
    county_summary.xlsx            county and township tables, position system, grids, every
                                   facility, warnings, and the thresholds with their sources
    audit.csv                      every facility (UTF-8 with BOM so Excel and WPS read Chinese)
    audit.geojson                  every facility (WGS-84)
    results.gpkg                   layers audit_facilities, audit_townships, audit_positions,
                                   audit_grids, audit_microgrids (other layers of the file kept)

Headers are Chinese with ``lang="zh"`` and English with ``lang="en"``; every sheet has its header
row frozen, an autofilter and column widths fitted to the text. Everything is written into a
staging folder beside ``out_dir`` first and moved in at the end, so a failure leaves ``out_dir``
as it was. :func:`run_audit` is what ``servicegrid audit`` calls.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from rich.table import Table

from ..geo.crs import STORAGE_CRS, to_storage
from ..geo.workspace import Workspace, write_layers
from ._common import UNASSIGNED, check_lang, pick
from .audit import AuditResult, audit_workspace
from .models import Lang, Preset
from .show import threshold_rows

__all__ = [
    "GRADE_FILLS",
    "HEADERS",
    "AuditRun",
    "run_audit",
    "township_file_name",
    "write_audit",
]

logger = logging.getLogger(__name__)

GRADE_FILLS = {"model": "C6EFCE", "compliant": "DDEBF7", "noncompliant": "FFC7CE"}
"""Row fill colours (RGB) by grade: green, light blue, red."""

PRESENT, MISSING, NOT_REQUIRED = "✓", "✗", "–"

HEADERS: dict[str, tuple[str, str]] = {
    "id": ("编号", "Id"),
    "name": ("名称", "Name"),
    "tier": ("层级编号", "Tier id"),
    "tier_label": ("层级", "Tier"),
    "status": ("状态", "Status"),
    "status_class": ("状态类别", "Status class"),
    "township_id": ("乡镇编号", "Township id"),
    "township_name": ("乡镇(街道)", "Township"),
    "village_id": ("村(社区)编号", "Village id"),
    "compound_id": ("小区编号", "Compound id"),
    "grade": ("评级编号", "Grade id"),
    "grade_label": ("评级", "Grade"),
    "meets_standard": ("达标", "Meets standard"),
    "score": ("得分", "Score"),
    "stars": ("星级", "Stars"),
    "missing_items": ("缺少项目编号", "Missing item ids"),
    "missing_items_label": ("缺少项目", "Missing items"),
    "missing_windows": ("缺少窗口编号", "Missing window ids"),
    "missing_windows_label": ("缺少窗口", "Missing windows"),
    "missing_zones": ("缺少功能区编号", "Missing zone ids"),
    "missing_zones_label": ("缺少功能区", "Missing zones"),
    "missing_rooms": ("缺少功能室编号", "Missing room ids"),
    "missing_rooms_label": ("缺少功能室", "Missing rooms"),
    "n_missing_items": ("缺少项目数", "Items missing"),
    "items_present": ("具备项目编号", "Item ids present"),
    "windows_present": ("具备窗口编号", "Window ids present"),
    "zones_present": ("具备功能区编号", "Zone ids present"),
    "rooms_present": ("具备功能室编号", "Room ids present"),
    "missing_optional": ("缺少可选项目编号", "Missing optional item ids"),
    "missing_optional_label": ("缺少可选项目", "Missing optional items"),
    "missing_model_items": ("缺少示范项目编号", "Missing model item ids"),
    "missing_model_items_label": ("缺少示范项目", "Missing model items"),
    "floor_area_m2": ("建筑面积(m²)", "Floor area (m²)"),
    "area_min_m2": ("达标面积(m²)", "Compliant area (m²)"),
    "area_model_m2": ("示范面积(m²)", "Model area (m²)"),
    "area_shortfall_m2": ("面积缺口(m²)", "Area shortfall (m²)"),
    "area_shortfall_model_m2": ("距示范面积缺口(m²)", "Shortfall to model (m²)"),
    "hall_area_m2": ("大厅面积(m²)", "Hall area (m²)"),
    "hall_min_m2": ("达标大厅面积(m²)", "Compliant hall (m²)"),
    "hall_shortfall_m2": ("大厅缺口(m²)", "Hall shortfall (m²)"),
    "hall_shortfall_model_m2": ("距示范大厅缺口(m²)", "Hall shortfall to model (m²)"),
    "opening_hours": ("开放时间", "Opening hours"),
    "weekdays_open": ("工作日开放天数", "Weekdays open"),
    "weekend_duty": ("周末值班", "Weekend duty"),
    "evening_sessions": ("错时延时次数/周", "Evening sessions / week"),
    "hours_ok": ("开放时间达标", "Hours compliant"),
    "hours_model_ok": ("开放时间达示范", "Hours model"),
    "hours_problem": ("开放时间问题", "Hours problems"),
    "optional_share": ("可选项目比例", "Optional share"),
    "upgrade_cost": ("提升估算(元)", "Upgrade cost (CNY)"),
    "reason": ("说明", "Reason"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "n": ("总数", "Total"),
    "n_model": ("示范型", "Model"),
    "n_compliant": ("达标型", "Compliant"),
    "n_noncompliant": ("不达标", "Below standard"),
    "rate_meets": ("达标率", "Share meeting standard"),
    "rate_model": ("示范率", "Share model"),
    "n_planned": ("规划中", "Planned"),
    "code": ("区划代码", "Code"),
    "rule_label": ("阵地体系要求", "Position rule"),
    "per": ("单元类型", "Unit kind"),
    "unit_id": ("单元编号", "Unit id"),
    "unit_name": ("单元名称", "Unit"),
    "min_count": ("应有数量", "Required"),
    "n_facilities": ("现有数量", "Existing"),
    "n_meeting_standard": ("达标数量", "Meeting standard"),
    "ok": ("满足", "Satisfied"),
    "ok_standard": ("满足且达标", "Satisfied by compliant"),
    "units": ("单元数", "Units"),
    "units_ok": ("满足单元数", "Units satisfied"),
    "units_meeting_standard": ("达标满足单元数", "Units satisfied by compliant"),
    "rate_ok": ("满足率", "Share satisfied"),
    "rate_meeting_standard": ("达标满足率", "Share satisfied by compliant"),
    "setting": ("城乡类型", "Setting"),
    "households": ("户数", "Households"),
    "households_min": ("户数下限", "Households min"),
    "households_max": ("户数上限", "Households max"),
    "households_ok": ("户数合规", "Households ok"),
    "population": ("人口", "Population"),
    "population_ok": ("人口合规", "Population ok"),
    "grid_workers": ("网格员", "Grid workers"),
    "workers_ok": ("网格员合规", "Workers ok"),
    "n_microgrids": ("微网格数", "Micro-grids"),
    "problem": ("问题", "Problems"),
    "grids": ("网格数", "Grids"),
    "grids_ok": ("合规网格数", "Grids ok"),
    "households_out_of_range": ("户数超范围网格", "Grids out of household range"),
    "without_worker": ("缺网格员网格", "Grids without worker"),
    "microgrids": ("微网格数", "Micro-grids"),
    "microgrids_size_off": ("户数超范围微网格", "Micro-grids out of size"),
    "microgrids_not_nested": ("未嵌套微网格", "Micro-grids not nested"),
    "field": ("字段", "Field"),
    "label": ("内容", "Entry"),
    "problem_kind": ("问题类型", "Problem"),
    "suggestions": ("最接近的已知项/说明", "Closest known / note"),
    "facility_id": ("阵地编号", "Facility id"),
    "message": ("告警", "Warning"),
    "requirement": ("要求", "Requirement"),
    "value": ("数值", "Value"),
    "unit": ("单位", "Unit"),
    "source": ("来源编号", "Source id"),
    "source_title": ("来源", "Source"),
}

_FACILITY_SHEET = [
    "id",
    "name",
    "tier_label",
    "status",
    "grade_label",
    "score",
    "stars",
    "floor_area_m2",
    "area_min_m2",
    "area_shortfall_m2",
    "area_shortfall_model_m2",
    "hall_area_m2",
    "hall_shortfall_m2",
    "missing_items_label",
    "missing_windows_label",
    "missing_zones_label",
    "missing_rooms_label",
    "missing_optional_label",
    "missing_model_items_label",
    "opening_hours",
    "hours_problem",
    "upgrade_cost",
    "reason",
    "village_id",
    "compound_id",
]
_COUNT_SHEET = ["n", "n_model", "n_compliant", "n_noncompliant", "rate_meets", "rate_model", "n_planned"]
_PERCENT = {"rate_meets", "rate_model", "rate_ok", "rate_meeting_standard", "optional_share"}
_SHEETS = {
    "summary": ("汇总", "Summary"),
    "facilities": ("阵地", "Facilities"),
    "matrix": ("项目矩阵", "Item matrix"),
    "positions": ("阵地体系", "Positions"),
    "grids": ("网格", "Grids"),
    "microgrids": ("微网格", "Micro-grids"),
    "townships": ("乡镇", "Townships"),
    "warnings": ("告警", "Warnings"),
    "standard": ("标准", "Standard"),
}
_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _h(column: str, lang: Lang) -> str:
    zh, en = HEADERS.get(column, (column, column))
    return pick(lang, zh, en)


def _sheet(key: str, lang: Lang) -> str:
    return pick(lang, *_SHEETS[key])


def township_file_name(code: str | None, name: str | None, township_id: str, *, lang: Lang = "zh") -> str:
    """The workbook name of a township: ``<code>_<name>.xlsx`` (the id when there is no code).

    Examples
    --------
    >>> township_file_name("610101001", "城关镇", "T1")
    '610101001_城关镇.xlsx'
    >>> township_file_name(None, None, "")
    'unassigned_未归属乡镇.xlsx'
    """
    if township_id == UNASSIGNED:
        return f"unassigned_{pick(lang, '未归属乡镇', 'no_township')}.xlsx"
    code_text = code if code not in (None, "", "<NA>") and not pd.isna(code) else township_id
    parts = [str(code_text)]
    if name not in (None, "") and not pd.isna(name) and str(name) != str(code_text):
        parts.append(str(name))
    return _UNSAFE.sub("_", "_".join(parts)).strip("_") + ".xlsx"


# -- sheets ---------------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    return value


def _widths(frame: pd.DataFrame, headers: list[str]) -> list[float]:
    """Column widths in Excel character units; CJK characters count double."""
    text = pd.Series(frame.to_numpy(dtype=object).ravel(), dtype="object").astype("string").fillna("")
    length = (text.str.len() + text.str.count(_WIDE.pattern)).to_numpy(dtype=np.int64)
    longest = (
        length.reshape(frame.shape).max(axis=0) if len(frame) else np.zeros(len(headers), dtype=np.int64)
    )
    head = np.array([len(h) + len(_WIDE.findall(h)) for h in headers])
    return [float(min(max(a, b, 6) + 2, 60)) for a, b in zip(longest, head, strict=True)]


def _write_table(
    ws: Worksheet,
    frame: pd.DataFrame,
    lang: Lang,
    *,
    title: str | None = None,
    fills: Sequence[str | None] | None = None,
    freeze_columns: int = 0,
    headers: list[str] | None = None,
) -> None:
    """``frame`` as a table: optional title row, bold header, frozen panes, autofilter, widths."""
    header_row = 2 if title else 1
    if title:
        ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    names = headers if headers is not None else [_h(c, lang) for c in frame.columns]
    for j, name in enumerate(names, start=1):
        cell = ws.cell(row=header_row, column=j, value=name)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    values = frame.astype(object).to_numpy()
    styles = {c: _fill_style(ws.parent, c) for c in set(fills or []) if c}
    percent = [j for j, c in enumerate(frame.columns, start=1) if c in _PERCENT]
    for i, row in enumerate(values, start=header_row + 1):
        style = styles.get(fills[i - header_row - 1]) if fills is not None else None
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j, value=_cell(value))
            if style is not None:
                cell.style = style
        for j in percent:
            ws.cell(row=i, column=j).number_format = "0.0%"
    for j, width in enumerate(_widths(frame, names), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    last_row = header_row + max(len(frame), 1)
    last_col = get_column_letter(max(len(names), 1))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=freeze_columns + 1)
    ws.auto_filter.ref = f"A{header_row}:{last_col}{last_row}"


def _fill_style(wb: Workbook, colour: str) -> str:
    """The name of a workbook style filling cells with ``colour`` (registered once per workbook)."""
    name = f"fill_{colour}"
    if name not in wb.named_styles:
        wb.add_named_style(NamedStyle(name=name, fill=PatternFill("solid", fgColor=colour)))
    return name


def _grade_fills(audit: pd.DataFrame) -> list[str | None]:
    return [GRADE_FILLS.get(g) for g in audit["grade"]]


def _item_matrix(audit: pd.DataFrame, preset: Preset, lang: Lang) -> tuple[pd.DataFrame, list[str]]:
    """Facilities × entries with ✓ present, ✗ missing (needed to be compliant), – absent otherwise.

    Only entries some facility's tier uses are shown; windows, zones and rooms follow the items.
    """
    tiers = set(audit["tier"])
    frames = [audit[["id", "name", "tier_label"]].reset_index(drop=True)]
    headers = [_h("id", lang), _h("name", lang), _h("tier_label", lang)]
    prefix = {
        "items": "",
        "windows": pick(lang, "窗口·", "window · "),
        "zones": pick(lang, "功能区·", "zone · "),
    }
    prefix["rooms"] = pick(lang, "功能室·", "room · ")
    for kind in ("items", "windows", "zones", "rooms"):
        used: list[str] = []
        for tier_id in preset.tiers:
            if tier_id not in tiers:
                continue
            tier = preset.tiers[tier_id]
            ids = (
                (*tier.compliance_items, *tier.optional_items, *tier.model_items)
                if kind == "items"
                else getattr(tier, f"required_{kind}")
            )
            used += [i for i in ids if i not in used]
        if not used:
            continue
        order = [k for k in getattr(preset, kind) if k in used]
        present = _membership(audit[f"{kind}_present"], order)
        missing = _membership(audit[f"missing_{kind}"], order)
        cells = np.where(present, PRESENT, np.where(missing, MISSING, NOT_REQUIRED))
        frames.append(pd.DataFrame(cells, columns=order))
        headers += [prefix[kind] + getattr(preset, kind)[k].label(lang) for k in order]
    return pd.concat(frames, axis=1), headers


def _membership(values: pd.Series, order: list[str]) -> np.ndarray:
    """(rows, len(order)) bool: whether each '; '-separated list names each id."""
    parts = (
        pd.Series(values.to_numpy(), index=np.arange(len(values))).astype("string").str.split("; ").explode()
    )
    parts = parts[parts.notna() & (parts != "")]
    code = parts.map({k: j for j, k in enumerate(order)})
    hit = code.notna().to_numpy()
    out = np.zeros((len(values), len(order)), dtype=bool)
    out[parts.index.to_numpy()[hit], code[hit].to_numpy(dtype=np.int64)] = True
    return out


def _township_workbook(
    path: Path,
    result: AuditResult,
    township_id: str,
    name: str,
    code: str | None,
    lang: Lang,
) -> None:
    summary = result.summary
    facilities = summary.facilities[summary.facilities["township_id"] == township_id]
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet("summary", lang)
    rows = summary.by_township[summary.by_township["township_id"] == township_id]
    total = rows[_COUNT_SHEET].sum()
    total["rate_meets"] = (total["n_model"] + total["n_compliant"]) / total["n"] if total["n"] else np.nan
    total["rate_model"] = total["n_model"] / total["n"] if total["n"] else np.nan
    table = pd.concat(
        [
            rows[["tier_label", *_COUNT_SHEET]],
            pd.DataFrame([{"tier_label": pick(lang, "合计", "Total"), **total}]),
        ],
        ignore_index=True,
    )
    where = f"{name}（{code}）" if code else name
    title = pick(
        lang,
        f"{where} 党群服务阵地评估汇总 · 标准：{result.preset.zh}",
        f"{where}: audit of service positions · standard: {result.preset.en}",
    )
    _write_table(ws, table, lang, title=title)
    legend = pick(
        lang,
        f"项目矩阵：{PRESENT} 具备　{MISSING} 缺少（达标必备）　{NOT_REQUIRED} 不具备（示范或可选，或不适用）",
        f"Item matrix: {PRESENT} present  {MISSING} missing (needed to comply)  {NOT_REQUIRED} absent (model or optional)",
    )
    ws.cell(row=len(table) + 4, column=1, value=legend)

    ws = wb.create_sheet(_sheet("facilities", lang))
    _write_table(
        ws,
        facilities[_FACILITY_SHEET].reset_index(drop=True),
        lang,
        fills=_grade_fills(facilities),
        freeze_columns=2,
    )
    ws = wb.create_sheet(_sheet("matrix", lang))
    matrix, headers = _item_matrix(facilities, result.preset, lang)
    _write_table(ws, matrix, lang, headers=headers, fills=_grade_fills(facilities), freeze_columns=2)

    positions = summary.positions[(summary.positions["township_id"] == township_id)]
    ws = wb.create_sheet(_sheet("positions", lang))
    _write_table(
        ws,
        pd.DataFrame(
            positions[
                [
                    "rule_label",
                    "unit_id",
                    "unit_name",
                    "min_count",
                    "n_facilities",
                    "n_meeting_standard",
                    "n_planned",
                    "ok",
                    "ok_standard",
                ]
            ]
        ).reset_index(drop=True),
        lang,
    )
    if result.grids is not None:
        grids = result.grids.grids[result.grids.grids["township_id"] == township_id]
        ws = wb.create_sheet(_sheet("grids", lang))
        _write_table(
            ws, pd.DataFrame(grids.drop(columns="geometry")).reset_index(drop=True), lang, freeze_columns=1
        )
        micro = result.grids.microgrids
        micro = micro[(micro["township_id"] == township_id) & ~(micro["size_ok"] & micro["nested_ok"])]
        if len(micro):
            ws = wb.create_sheet(_sheet("microgrids", lang))
            _write_table(
                ws,
                pd.DataFrame(micro.drop(columns="geometry")).reset_index(drop=True),
                lang,
                freeze_columns=1,
            )
    wb.save(path)


def _county_workbook(path: Path, result: AuditResult, lang: Lang) -> None:
    summary = result.summary
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet("summary", lang)
    county = result.county_name or pick(lang, "全县", "County")
    title = pick(
        lang,
        f"{county} 党群服务阵地评估汇总 · 标准：{result.preset.zh}",
        f"{county}: audit of service positions · standard: {result.preset.en}",
    )
    _write_table(ws, summary.county[["tier_label", *_COUNT_SHEET]], lang, title=title)

    ws = wb.create_sheet(_sheet("townships", lang))
    towns = pd.DataFrame(summary.townships.drop(columns="geometry"))
    keep = ["township_id", "township_name", *(["code"] if "code" in towns.columns else []), *_COUNT_SHEET]
    _write_table(ws, towns[keep], lang, freeze_columns=2)

    ws = wb.create_sheet(_sheet("positions", lang))
    cols = [
        "township_name",
        "rule_label",
        "units",
        "units_ok",
        "units_meeting_standard",
        "rate_ok",
        "rate_meeting_standard",
        "n_planned",
    ]
    _write_table(ws, summary.position_summary[cols], lang, freeze_columns=1)

    if result.grids is not None:
        ws = wb.create_sheet(_sheet("grids", lang))
        by = result.grids.by_township.copy()
        by.insert(
            1,
            "township_name",
            by["township_id"].map(dict(zip(towns["township_id"], towns["township_name"], strict=True))),
        )
        _write_table(ws, by, lang, freeze_columns=2)

    ws = wb.create_sheet(_sheet("facilities", lang))
    facilities = summary.facilities
    names = dict(zip(towns["township_id"], towns["township_name"], strict=True))
    table = facilities[_FACILITY_SHEET].assign(township_name=facilities["township_id"].map(names))
    table = table[["township_name", *_FACILITY_SHEET]].reset_index(drop=True)
    _write_table(ws, table, lang, fills=_grade_fills(facilities), freeze_columns=3)

    ws = wb.create_sheet(_sheet("warnings", lang))
    issues = result.issues.rename(columns={"problem": "problem_kind"})
    messages = pd.DataFrame(
        {
            "facility_id": None,
            "field": None,
            "label": None,
            "problem_kind": "message",
            "suggestions": list(result.messages),
        }
    )
    _write_table(ws, pd.concat([issues, messages], ignore_index=True), lang)

    ws = wb.create_sheet(_sheet("standard", lang))
    _write_table(ws, threshold_rows(result.preset, lang=lang), lang, freeze_columns=2)
    wb.save(path)


# -- files ----------------------------------------------------------------------------------------------


def _csv(path: Path, result: AuditResult, lang: Lang) -> None:
    facilities = to_storage(result.summary.facilities)
    frame = pd.DataFrame(facilities.drop(columns=facilities.geometry.name))
    points = facilities.geometry
    is_point = points.notna().to_numpy() & (points.geom_type == "Point").to_numpy()
    frame["lon"] = np.where(is_point, points.x.where(is_point), np.nan)
    frame["lat"] = np.where(is_point, points.y.where(is_point), np.nan)
    frame.rename(columns={c: _h(c, lang) for c in frame.columns}).to_csv(
        path, index=False, encoding="utf-8-sig"
    )


def _geojson(path: Path, result: AuditResult) -> None:
    facilities = to_storage(result.summary.facilities)
    pyogrio.write_dataframe(facilities, path, driver="GeoJSON", layer_options={"RFC7946": "YES"})


def _layers(result: AuditResult) -> dict[str, object]:
    layers = {
        "audit_facilities": result.summary.facilities,
        "audit_townships": result.summary.townships,
        "audit_positions": result.summary.positions,
    }
    if result.grids is not None:
        layers["audit_grids"] = result.grids.grids
        if len(result.grids.microgrids):
            layers["audit_microgrids"] = result.grids.microgrids
    return {k: (v if v.crs is not None else v.set_crs(STORAGE_CRS)) for k, v in layers.items()}


def write_audit(
    out_dir: str | os.PathLike[str],
    result: AuditResult,
    *,
    lang: Lang | None = None,
    gpkg_name: str = "results.gpkg",
) -> list[Path]:
    """Write the audit workbooks, CSV, GeoJSON and result layers into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Other files in it are kept; the
        ``townships`` subfolder is replaced whole.
    result
        Output of :func:`~servicegrid.standards.audit.audit_workspace`.
    lang
        Header language; default the language the audit was run in.
    gpkg_name
        Name of the results GeoPackage inside ``out_dir`` (layers it already has are kept).

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.
    """
    lang = lang or result.lang
    check_lang(lang)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        towns_dir = stage / "townships"
        towns_dir.mkdir()
        townships = result.summary.townships
        codes = townships["code"] if "code" in townships.columns else pd.Series(None, index=townships.index)
        present = set(result.summary.facilities["township_id"])
        for tid, name, code in zip(townships["township_id"], townships["township_name"], codes, strict=True):
            if tid == UNASSIGNED and tid not in present:
                continue
            file_name = township_file_name(code, name, tid, lang=lang)
            _township_workbook(
                towns_dir / file_name, result, tid, name, None if pd.isna(code) else code, lang
            )
        _county_workbook(stage / "county_summary.xlsx", result, lang)
        _csv(stage / "audit.csv", result, lang)
        _geojson(stage / "audit.geojson", result)
        existing = out_dir / gpkg_name
        if existing.exists():
            shutil.copyfile(existing, stage / gpkg_name)
        write_layers(stage / gpkg_name, _layers(result), description="servicegrid audit")
        written = _move_in(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    logger.info("wrote %d audit files into %s", len(written), out_dir)
    return written


def _move_in(stage: Path, out_dir: Path) -> list[Path]:
    """Move the staged files into ``out_dir``: the townships folder swapped whole, files replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    old = out_dir / "townships"
    if old.exists():
        os.replace(old, stage / "townships.old")
    os.replace(stage / "townships", old)
    written += sorted(old.iterdir())
    for item in sorted(stage.iterdir()):
        if item.is_file():
            os.replace(item, out_dir / item.name)
            written.append(out_dir / item.name)
    return written


# -- the command -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRun:
    """An audit written to disk: the result, the output folder and the files."""

    result: AuditResult
    out_dir: Path
    files: tuple[Path, ...]

    def grades_by_tier(self) -> pd.DataFrame:
        """Existing facilities per tier and grade, plus the total row."""
        return self.result.grades_by_tier()

    def table(self) -> Table:
        """The grades-by-tier table for the terminal (tiers without facilities left out)."""
        lang = self.result.lang
        county = self.grades_by_tier()
        shown = county[(county["n"] > 0) | (county["tier"] == "total")]
        table = Table(title=pick(lang, "评估结果：各层级评级", "Audit: grades by tier"))
        for column in ("tier_label", *_COUNT_SHEET[:4], "rate_meets", "n_planned"):
            table.add_column(_h(column, lang), justify="left" if column == "tier_label" else "right")
        for row in shown.itertuples(index=False):
            rate = "–" if pd.isna(row.rate_meets) else f"{row.rate_meets:.0%}"
            table.add_row(
                str(row.tier_label),
                *(str(int(getattr(row, c))) for c in _COUNT_SHEET[:4]),
                rate,
                str(int(row.n_planned)),
            )
        return table


def run_audit(
    workspace: Workspace,
    *,
    preset: Preset | str | None = None,
    lang: Lang = "zh",
    out_dir: str | os.PathLike[str],
) -> AuditRun:
    """Audit a workspace and write every export; what ``servicegrid audit`` runs.

    Parameters
    ----------
    workspace
        The workspace (:func:`servicegrid.geo.workspace.read_workspace`).
    preset
        Preset, built-in name or YAML path; default ``workspace.settings.preset``.
    lang
        'zh' (default) or 'en' for labels, reasons and headers.
    out_dir
        Output folder.

    Returns
    -------
    AuditRun
        ``run.table()`` is the grades-by-tier summary to print; ``run.files`` the files written.
    """
    check_lang(lang)
    result = audit_workspace(workspace, preset=preset, lang=lang)
    files = write_audit(out_dir, result, lang=lang)
    return AuditRun(result=result, out_dir=Path(out_dir), files=tuple(files))
