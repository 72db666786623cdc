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
