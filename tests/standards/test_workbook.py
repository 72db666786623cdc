"""Audit exports read back: workbooks with openpyxl, CSV, GeoJSON and the results GeoPackage."""

from __future__ import annotations

import dataclasses
import warnings

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from rich.console import Console
from shapely.geometry import Point

from servicegrid.geo.workspace import Workspace, WorkspaceSettings, write_layers
from servicegrid.standards.audit import audit_workspace
from servicegrid.standards.export import GRADE_FILLS, run_audit, township_file_name, write_audit
from servicegrid.standards.records import StandardsWarning

from .conftest import model_village, small_county, village

MODEL, COMPLIANT, BELOW = (f"00{GRADE_FILLS[g]}" for g in ("model", "compliant", "noncompliant"))


def _workspace() -> Workspace:
    county = small_county()
    facilities = county["facilities"]
    extra = gpd.GeoDataFrame(
        [
            {**model_village(id="F7", name="张村示范中心"), "village_id": "V1"},
            {**village(id="F8", name="李村中心"), "village_id": "V2"},
        ],
        geometry=[Point(114.004, 35.012), Point(114.015, 35.01)],
        crs=4326,
    )
    layers = {**county, "facilities": pd.concat([facilities, extra], ignore_index=True)}
    return Workspace(path=None, layers=layers, settings=WorkspaceSettings(name="示范县"))


@pytest.fixture
def workspace() -> Workspace:
    return _workspace()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One Chinese audit of the workspace, written once and only read by the tests that use it."""
    out = tmp_path_factory.mktemp("written") / "audit"
    return out, run(_workspace(), out)


def run(workspace, out, lang="zh"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        return run_audit(workspace, out_dir=out, lang=lang)


def rows(ws, first=1, last=None):
    return [list(r) for r in ws.iter_rows(min_row=first, max_row=last, values_only=True)]


def test_files_written(written):
    out, result = written
    names = sorted(str(p.relative_to(out)) for p in result.files)
    assert names == sorted(
        [
            "townships/990101001_城关镇.xlsx",
            "townships/990101002_东街道.xlsx",
            "county_summary.xlsx",
            "audit.csv",
            "audit.geojson",
            "results.gpkg",
        ]
    )
    assert all(p.exists() for p in result.files)
    assert [p.name for p in out.parent.iterdir()] == ["audit"]  # no staging folder left behind


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


def test_csv_geojson_and_geopackage(written):
    tmp_path, _ = written
    raw = (tmp_path / "audit.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    table = pd.read_csv(tmp_path / "audit.csv", encoding="utf-8-sig")
    assert table.columns[:2].tolist() == ["编号", "名称"]
    assert set(table["评级"]) == {"示范型", "达标型", "不达标"}
    assert table.loc[table["编号"] == "F7", "经度"].iloc[0] == pytest.approx(114.004)
    geo = gpd.read_file(tmp_path / "audit.geojson")
    assert len(geo) == 8
    assert geo.crs.to_epsg() == 4326
    assert set(geo["grade"]) == {"model", "compliant", "noncompliant"}
    layers = dict(pyogrio.list_layers(tmp_path / "results.gpkg"))
    assert layers == {"audit_facilities": "Point", "audit_townships": "Polygon", "audit_positions": "Polygon"}
    positions = gpd.read_file(tmp_path / "results.gpkg", layer="audit_positions")
    assert len(positions) == 1 + 2 + 2 + 2 + 3


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


def test_rerun_keeps_other_layers_and_replaces_township_workbooks(workspace, tmp_path):
    other = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(114, 35)], crs=4326)
    write_layers(tmp_path / "results.gpkg", {"coverage_demand": other})
    (tmp_path / "townships").mkdir()
    (tmp_path / "townships" / "old_旧乡镇.xlsx").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    run(workspace, tmp_path)
    assert "coverage_demand" in dict(pyogrio.list_layers(tmp_path / "results.gpkg"))
    assert not (tmp_path / "townships" / "old_旧乡镇.xlsx").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_failed_write_leaves_the_folder_as_it_was(workspace, tmp_path):
    out = tmp_path / "audit"
    run(workspace, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_workspace(workspace)
    broken = dataclasses.replace(
        result,
        summary=dataclasses.replace(
            result.summary, facilities=result.summary.facilities.drop(columns="reason")
        ),
    )
    with pytest.raises(KeyError, match="reason"):
        write_audit(out, broken)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["audit"]


def test_summary_table_for_the_terminal(written):
    _, result = written
    console = Console(record=True, width=120)
    console.print(result.table())
    text = console.export_text()
    assert "评估结果：各层级评级" in text
    assert "村党群服务中心" in text
    assert "合计" in text
    assert "县级党群服务中心" not in text  # tiers without facilities are left out
    grades = result.grades_by_tier().set_index("tier")
    assert grades.loc["village_center", ["n", "n_model", "n_compliant", "n_noncompliant"]].tolist() == [
        3,
        1,
        1,
        1,
    ]


def test_township_file_names():
    assert township_file_name("990101001", "城关镇", "T1") == "990101001_城关镇.xlsx"
    assert township_file_name(None, "东 街道/新区", "T2") == "T2_东_街道_新区.xlsx"
    assert township_file_name(None, None, "", lang="en") == "unassigned_no_township.xlsx"


def test_preset_from_the_workspace_settings_relative_to_the_workspace(tmp_path):
    (tmp_path / "my-county.yaml").write_text(
        "id: my-county\nextends: cn-default\nzh: 某县\nen: My county\n"
        "tiers:\n  village_center:\n    area_min_m2:\n      compliant: {value: 100, source: default}\n",
        encoding="utf-8",
    )
    base = _workspace()
    ws = Workspace(
        path=tmp_path / "county.gpkg",
        layers=base.layers,
        settings=WorkspaceSettings(name="示范县", preset="my-county.yaml"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_workspace(ws)
    assert result.preset.id == "my-county"
    f8 = result.facilities.set_index("id").loc["F8"]
    assert f8["area_min_m2"] == 100.0
    assert any("the register records no" in m for m in result.messages)
