"""Audit workbooks read back with openpyxl: township and county workbooks, headers, grids sheets."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio

from servicegrid.standards.workbook import GRADE_FILLS, township_file_name

from .conftest import rows, run

MODEL, COMPLIANT, BELOW = (f"00{GRADE_FILLS[g]}" for g in ("model", "compliant", "noncompliant"))


def test_township_workbook(written):
    out, _ = written
    wb = openpyxl.load_workbook(out / "townships" / "990101001_城关镇.xlsx")
    assert wb.sheetnames == ["汇总", "阵地", "项目矩阵", "阵地体系"]

    summary = wb["汇总"]
    assert summary["A1"].value.startswith("城关镇（990101001） 党群服务阵地评估汇总")
    assert rows(summary, 2, 2)[0] == [
        "层级",
        "总数",
        "示范型",
        "达标型",
        "不达标",
        "达标率",
        "示范率",
        "规划中",
    ]
    body = {r[0]: r[1:5] for r in rows(summary, 3, 5)}
    assert body["村党群服务中心"] == [3, 1, 1, 1]  # F2 (nothing recorded), F7, F8
    assert body["合计"] == [4, 1, 1, 2]
    assert summary.freeze_panes == "A3"
    assert summary.auto_filter.ref == "A2:H5"

    sheet = wb["阵地"]
    header = rows(sheet, 1, 1)[0]
    assert header[:7] == ["编号", "名称", "层级", "状态", "评级", "得分", "星级"]
    assert "缺少项目" in header
    assert "说明" in header
    table = {r[0]: r for r in rows(sheet, 2)}
    assert set(table) == {"F1", "F2", "F7", "F8"}
    grade = header.index("评级")
    assert table["F7"][grade] == "示范型"
    assert table["F8"][grade] == "达标型"
    assert table["F1"][grade] == "不达标"
    missing = header.index("缺少项目")
    assert "有党旗(国旗)" in table["F1"][missing]
    fills = {
        sheet.cell(row=i, column=1).value: sheet.cell(row=i, column=1).fill.fgColor.rgb for i in range(2, 6)
    }
    assert fills == {"F1": BELOW, "F2": BELOW, "F7": MODEL, "F8": COMPLIANT}
    last = sheet.cell(row=2, column=len(header))  # the whole row is coloured
    assert last.fill.fgColor.rgb in (MODEL, COMPLIANT, BELOW)
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}5"
    assert sheet.column_dimensions["A"].width >= 6

    matrix = wb["项目矩阵"]
    header = rows(matrix, 1, 1)[0]
    assert header[:3] == ["编号", "名称", "层级"]
    assert "有党旗(国旗)" in header
    assert "窗口·党员服务" in header
    cells = {r[0]: dict(zip(header, r, strict=True)) for r in rows(matrix, 2)}
    assert cells["F7"]["有党旗(国旗)"] == "✓"
    assert cells["F2"]["有党旗(国旗)"] == "✗"
    assert cells["F8"]["标识夜间可视"] == "–"  # optional for villages, absent
    assert cells["F7"]["窗口·党员服务"] == "✓"
    assert matrix.freeze_panes == "C2"

    positions = rows(wb["阵地体系"])
    assert positions[0][:3] == ["阵地体系要求", "单元编号", "单元名称"]
    villages = {r[1]: r for r in positions[1:] if r[0] == "每个行政村1个村党群服务中心"}
    assert villages["V1"][4] == 2  # F2 and F7
    assert villages["V2"][7] is True


def test_county_workbook(written):
    out, _ = written
    wb = openpyxl.load_workbook(out / "county_summary.xlsx")
    assert wb.sheetnames == ["汇总", "乡镇", "阵地体系", "阵地", "告警", "标准"]
    summary = wb["汇总"]
    assert summary["A1"].value.startswith("示范县 党群服务阵地评估汇总")
    total = next(r for r in rows(summary, 3) if r[0] == "合计")
    assert total[1:5] == [7, 1, 1, 5]
    towns = rows(wb["乡镇"])
    assert towns[0][:3] == ["乡镇编号", "乡镇(街道)", "区划代码"]
    assert [r[1] for r in towns[1:]] == ["城关镇", "东街道"]
    standard = rows(wb["标准"])
    assert standard[0][:4] == ["层级编号", "层级", "要求", "数值"]
    village_area = next(r for r in standard if r[0] == "village_center" and r[2] == "建筑面积（达标）")
    assert village_area[3] == 200
    assert village_area[5] == "shaanxi-qiancun"
    facilities = wb["阵地"]
    assert rows(facilities, 1, 1)[0][0] == "乡镇(街道)"
    assert facilities.freeze_panes == "D2"


def test_english_headers(workspace, tmp_path):
    run(workspace, tmp_path, lang="en")
    wb = openpyxl.load_workbook(tmp_path / "townships" / "990101002_东街道.xlsx")
    assert wb.sheetnames == ["Summary", "Facilities", "Item matrix", "Positions"]
    assert rows(wb["Facilities"], 1, 1)[0][:5] == ["Id", "Name", "Tier", "Status", "Grade"]
    assert "Below standard" in [r[4] for r in rows(wb["Facilities"], 2)]
    table = pd.read_csv(tmp_path / "audit.csv", encoding="utf-8-sig")
    assert table.columns[:2].tolist() == ["Id", "Name"]


def test_grids_sheets(workspace, tmp_path):
    from shapely.geometry import box

    grids = gpd.GeoDataFrame(
        {"id": ["G1"], "village_id": ["V1"], "households": [250], "grid_workers": [1]},
        geometry=[box(114.0, 35.0, 114.01, 35.01)],
        crs=4326,
    )
    ws = workspace.with_layers(grids=grids)
    run(ws, tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "townships" / "990101001_城关镇.xlsx")
    assert wb.sheetnames[-1] == "网格"
    assert rows(wb["网格"], 2, 2)[0][0] == "G1"
    county = openpyxl.load_workbook(tmp_path / "county_summary.xlsx")
    assert "网格" in county.sheetnames
    assert "audit_grids" in dict(pyogrio.list_layers(tmp_path / "results.gpkg"))


def test_township_file_names():
    assert township_file_name("990101001", "城关镇", "T1") == "990101001_城关镇.xlsx"
    assert township_file_name(None, "东 街道/新区", "T2") == "T2_东_街道_新区.xlsx"
    assert township_file_name(None, None, "", lang="en") == "unassigned_no_township.xlsx"
