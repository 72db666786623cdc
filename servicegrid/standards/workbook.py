"""The audit workbooks: one per township and the county summary, written with openpyxl.

``townships/<code>_<name>.xlsx`` (:func:`township_file_name`) holds a township's summary, its
facilities (rows coloured by grade, :data:`GRADE_FILLS`, with what is missing), the item matrix
(✓ present, ✗ missing, – absent otherwise), the position system, and its grids and the
micro-grids with a problem. ``county_summary.xlsx`` holds the county and township tables, the
position system, grids, every facility, the warnings, and the thresholds with their sources.

Headers are Chinese with ``lang="zh"`` and English with ``lang="en"`` (:mod:`.headers`); every
sheet has its header row frozen, an autofilter and column widths fitted to the text (CJK
characters count double). :func:`~servicegrid.standards.export.write_audit` writes the workbooks
with the other export files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ._common import UNASSIGNED, pick
from .audit import AuditResult
from .headers import _COUNT_SHEET, _h
from .models import Lang, Preset
from .show import threshold_rows

__all__ = ["GRADE_FILLS", "MAX_NAME_BYTES", "township_file_name", "township_file_names"]

GRADE_FILLS = {"model": "C6EFCE", "compliant": "DDEBF7", "noncompliant": "FFC7CE"}
"""Row fill colours (RGB) by grade: green, light blue, red."""

PRESENT, MISSING, NOT_REQUIRED = "✓", "✗", "–"

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
_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f\x7f]+')


def _sheet(key: str, lang: Lang) -> str:
    return pick(lang, *_SHEETS[key])


def _plain(value: object) -> str:
    """Text of a scalar that may be None, NaN or pd.NA ('' for all three)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def township_file_name(code: str | None, name: str | None, township_id: str, *, lang: Lang = "zh") -> str:
    """The workbook name of a township: ``<code>_<name>.xlsx`` (the id when there is no code).

    Characters that file systems refuse (``/ \\ : * ? " < > |``, spaces, control characters) become
    ``_``; a name longer than :data:`MAX_NAME_BYTES` in UTF-8 is shortened and ends in a hash of
    the whole name, so that two long names stay apart. :func:`township_file_names` also keeps
    names apart that differ only in such characters.

    Examples
    --------
    >>> township_file_name("610101001", "城关镇", "T1")
    '610101001_城关镇.xlsx'
    >>> township_file_name(None, "城关/街道", "T1")
    'T1_城关_街道.xlsx'
    >>> township_file_name(None, None, "")
    'unassigned_未归属乡镇.xlsx'
    """
    if township_id == UNASSIGNED:
        return f"unassigned_{pick(lang, '未归属乡镇', 'no_township')}.xlsx"
    code_text = _plain(code) or _plain(township_id)
    parts = [code_text]
    name_text = _plain(name)
    if name_text and name_text != code_text:
        parts.append(name_text)
    stem = _UNSAFE.sub("_", "_".join(parts)).strip("_.") or "township"
    return _fit(stem, "_".join(parts)) + ".xlsx"


MAX_NAME_BYTES = 200
"""Longest workbook name stem in UTF-8 bytes (file systems allow 255 for the whole name)."""


def _fit(stem: str, whole: str) -> str:
    """``stem`` cut to :data:`MAX_NAME_BYTES` at a character boundary, plus a hash of ``whole``."""
    if len(stem.encode("utf-8")) <= MAX_NAME_BYTES:
        return stem
    import hashlib

    digest = hashlib.sha1(whole.encode("utf-8")).hexdigest()[:8]
    cut = stem.encode("utf-8")[: MAX_NAME_BYTES - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{cut.rstrip('_.')}_{digest}"


def township_file_names(
    codes: Sequence[object], names: Sequence[object], ids: Sequence[str], *, lang: Lang = "zh"
) -> list[str]:
    """:func:`township_file_name` of every township, each name used once (compared case-folded).

    A name already taken gets the township id (``城关:街道`` after ``城关/街道`` with the same
    code), and then a counter, so no workbook overwrites another.

    Examples
    --------
    >>> township_file_names(["140724100", "140724100"], ["城关/街道", "城关:街道"], ["T1", "T2"])
    ['140724100_城关_街道.xlsx', '140724100_城关_街道_T2.xlsx']
    """
    out: list[str] = []
    taken: set[str] = set()
    for code, name, tid in zip(codes, names, ids, strict=True):
        file_name = township_file_name(code, name, tid, lang=lang)
        stem = file_name[: -len(".xlsx")]
        extra = _UNSAFE.sub("_", _plain(tid)).strip("_.")
        candidates = [stem, f"{stem}_{extra}" if extra and not stem.endswith(extra) else None]
        candidates += [f"{stem}_{i}" for i in range(2, len(ids) + 3)]
        for candidate in (_fit(c, c) for c in candidates if c):
            if candidate.casefold() not in taken:
                break
        taken.add(candidate.casefold())
        out.append(candidate + ".xlsx")
    return out


# -- sheets ---------------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        # conform strips control characters with a finding; anything left (a message quoting
        # one) is stripped here, since openpyxl refuses them
        return ILLEGAL_CHARACTERS_RE.sub("", value)
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
    summary = result.summarized()
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
    summary = result.summarized()
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
