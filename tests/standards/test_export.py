"""Audit exports read back: the files written, CSV, GeoJSON, the results GeoPackage, reruns and failures."""

from __future__ import annotations

import dataclasses
import warnings

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from servicegrid.geo.workspace import write_layers
from servicegrid.standards.audit import audit_layers
from servicegrid.standards.export import write_audit
from servicegrid.standards.records import StandardsWarning

from .conftest import run


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
        result = audit_layers(workspace)
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


def _townships(workspace, **columns):
    townships = workspace.layers["townships"].assign(**columns)
    return dataclasses.replace(workspace, layers={**workspace.layers, "townships": townships})


def test_townships_without_codes_are_audited_and_named_by_id(workspace, tmp_path):
    """Townships without codes (after import-osm): no crash, workbooks named by id and name (item 10)."""
    from servicegrid.pipeline import audit_workspace, open_workspace

    county = _townships(workspace, code=pd.array([pd.NA, pd.NA], dtype="string"))
    project = open_workspace(county)
    assert project.errors == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_workspace(project)
    files = write_audit(tmp_path / "audit", result)
    assert sorted(p.name for p in files if p.parent.name == "townships") == [
        "T1_城关镇.xlsx",
        "T2_东街道.xlsx",
    ]


def test_names_differing_only_in_unsafe_characters_keep_their_own_workbooks(workspace, tmp_path):
    county = _townships(workspace, name=["城关/街道", "城关:街道"], code=["990101001", "990101001"])
    out = run(county, tmp_path / "audit")
    towns = sorted(p.name for p in out.files if p.parent.name == "townships")
    assert towns == ["990101001_城关_街道.xlsx", "990101001_城关_街道_T2.xlsx"]
    from openpyxl import load_workbook

    titles = [load_workbook(tmp_path / "audit" / "townships" / t).active["A1"].value for t in towns]
    assert titles[0].startswith("城关/街道（990101001）")
    assert titles[1].startswith("城关:街道（990101001）")


def test_a_long_township_name_is_shortened_to_fit_the_file_system(workspace, tmp_path):
    long_names = ["城关镇" * 40 + "甲", "城关镇" * 40 + "乙"]  # 121 characters, 363 bytes each
    out = run(_townships(workspace, name=long_names), tmp_path / "audit")
    towns = [p for p in out.files if p.parent.name == "townships"]
    assert len(towns) == 2
    assert len({p.name for p in towns}) == 2
    assert all(len(p.name.encode("utf-8")) <= 255 and p.exists() for p in towns)


def test_control_characters_are_stripped_with_a_finding_and_the_workbooks_written(workspace, tmp_path):
    from servicegrid.pipeline import audit_workspace, open_workspace

    facilities = workspace.layers["facilities"].copy()
    facilities.loc[0, "name"] = "城关镇\x07中心"
    facilities["备注"] = ["见\x1b附件", *[None] * (len(facilities) - 1)]
    county = dataclasses.replace(workspace, layers={**workspace.layers, "facilities": facilities})
    project = open_workspace(county)
    found = project.findings[project.findings["check"] == "control_characters"]
    assert found[["layer", "id", "row", "field", "severity"]].values.tolist() == [
        ["facilities", "F1", 1, "name", "warning"],
        ["facilities", "F1", 1, "备注", "warning"],
    ]
    assert "U+0007 removed" in found["message"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StandardsWarning)
        result = audit_workspace(project)
    write_audit(tmp_path / "audit", result)
    table = pd.read_csv(tmp_path / "audit" / "audit.csv", encoding="utf-8-sig")
    assert table.loc[table["编号"] == "F1", "名称"].iloc[0] == "城关镇中心"
