"""The workspace GeoPackage: round trips, settings, and writes that never corrupt what exists."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from servicegrid.errors import InputError
from servicegrid.geo.conform import conform, parse_bool
from servicegrid.geo.schema import layer_spec
from servicegrid.geo.validate import validate_layers
from servicegrid.geo.workspace import WorkspaceSettings, atomic_path, read_workspace, write_layers


def villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["V1", "V2"], "name": ["东村", "新华社区"], "households": pd.array([120, 900], dtype="Int64")},
        geometry=[shapely.box(113.60, 37.70, 113.61, 37.71), shapely.box(113.61, 37.70, 113.62, 37.71)],
        crs=4326,
    )


def test_layers_and_settings_round_trip(tmp_path):
    path = tmp_path / "county.gpkg"
    settings = WorkspaceSettings(name="示范县", radii_m={"compound_station": 250.0}, source_coords="gcj02")
    write_layers(path, {"villages": villages()}, settings=settings)
    ws = read_workspace(path)
    assert ws.settings == settings
    assert ws.layers["villages"]["name"].tolist() == ["东村", "新华社区"]
    assert ws.layers["villages"].crs.to_epsg() == 4326
    assert ws.metric_crs.to_epsg() == 4547
    geodesic = [
        abs(ws.layers["villages"].crs.get_geod().geometry_area_perimeter(g)[0]) for g in villages().geometry
    ]
    assert ws.metric("villages").area.to_numpy() == pytest.approx(geodesic, rel=1e-4)


def test_writing_one_layer_keeps_the_others(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, {"villages": villages()})
    towns = gpd.GeoDataFrame({"id": ["T1"]}, geometry=[shapely.box(113.6, 37.7, 113.62, 37.71)], crs=4326)
    write_layers(path, {"townships": towns})
    assert sorted(read_workspace(path).layers) == ["townships", "villages"]


def test_interrupted_write_leaves_the_previous_workspace_intact(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, {"villages": villages()})
    before = path.read_bytes()

    bad = gpd.GeoDataFrame({"id": ["G1"]}, geometry=[shapely.Point(0, 0)])  # no CRS: refused half-way
    with pytest.raises(Exception, match="no CRS"):
        write_layers(path, {"compounds": villages(), "grids": bad})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["county.gpkg"]


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert len(list(tmp_path.iterdir())) == 1


def test_missing_or_foreign_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="workspace not found"):
        read_workspace(tmp_path / "nope.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a geopackage")
    with pytest.raises(InputError, match="junk.gpkg: not a readable GeoPackage"):
        read_workspace(junk)


def test_invalid_settings_are_named_and_keep_their_defaults(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, {"villages": villages()})
    table = pd.DataFrame(
        {"key": ["walk_speed_m_per_min", "snap_limit_m", "name"], "value": ["-3", "{oops", '"青山县"']}
    )
    pyogrio.write_dataframe(table, path, layer="servicegrid_settings", driver="GPKG")
    ws = read_workspace(path)
    assert ws.settings.walk_speed_m_per_min == 60.0
    assert ws.settings.snap_limit_m == 300.0
    assert ws.settings.name == "青山县"
    assert dict(ws.settings_problems) == {
        "snap_limit_m": "'{oops' is not a readable value (JSON text expected)",
        "walk_speed_m_per_min": "Input should be greater than 0 (got -3)",
    }
    found = validate_layers(ws).findings
    bad = found[found["check"] == "invalid_setting"]
    assert bad[["severity", "layer", "field"]].values.tolist() == [
        ["error", "servicegrid_settings", "snap_limit_m"],
        ["error", "servicegrid_settings", "walk_speed_m_per_min"],
    ]


def test_zero_or_negative_radius_in_settings_is_refused():
    with pytest.raises(ValueError, match="greater than 0"):
        WorkspaceSettings(radii_m={"compound_station": 0})


def test_hostile_settings_in_the_table_are_named_with_the_value_at_fault(tmp_path):
    """Issue 10, item 19: each bad radius named by its tier, with its own value; infinite or NaN
    limits refused (JSON's Infinity and NaN read as numbers)."""
    path = tmp_path / "county.gpkg"
    write_layers(path, {"villages": villages()})
    table = pd.DataFrame(
        {
            "key": ["radii_m", "snap_limit_m", "walk_speed_m_per_min"],
            "value": ['{"compound_station": -100, "village_center": 0}', "Infinity", "NaN"],
        }
    )
    pyogrio.write_dataframe(table, path, layer="servicegrid_settings", driver="GPKG")
    ws = read_workspace(path)
    assert dict(ws.settings_problems) == {
        "radii_m.compound_station": "Input should be greater than 0 (got -100)",
        "radii_m.village_center": "Input should be greater than 0 (got 0)",
        "snap_limit_m": "Input should be a finite number (got inf)",
        "walk_speed_m_per_min": "Input should be a finite number (got nan)",
    }
    assert (ws.settings.radii_m, ws.settings.snap_limit_m, ws.settings.walk_speed_m_per_min) == (
        {},
        300.0,
        60.0,
    )


def test_conform_renames_chinese_headers_and_parses_values():
    raw = gpd.GeoDataFrame(
        {
            "名称": ["甲站"],
            "层级": ["小区党群服务站"],
            "面积(平方米)": ["60平方米"],
            "周末值班": ["是"],
            "窗口": ["党员服务、综合业务"],
        },
        geometry=[shapely.Point(113.6, 37.7)],
        crs=4326,
    )
    out = conform(raw, "阵地")
    assert out[["id", "name", "tier", "floor_area_m2", "weekend_duty", "windows"]].iloc[0].tolist() == [
        "F1",
        "甲站",
        "小区党群服务站",
        60.0,
        True,
        "党员服务; 综合业务",
    ]


def test_conform_names_the_bad_row_and_field():
    raw = gpd.GeoDataFrame({"户数": ["12", "1,200户", "很多"]}, geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    with pytest.raises(InputError) as info:
        conform(raw, "compounds", source="register.xlsx")
    assert str(info.value) == (
        "register.xlsx, layer 'compounds', row 3, field '户数' (households): '很多' is not a number "
        "(1 such value(s) in this column)"
    )


def test_yes_no_values():
    got = parse_bool(
        pd.Series(["是", "否", "有", "无", "Y", "n", "1", "0", "", None]), source=None, layer="x", field="f"
    )
    assert got.tolist()[:8] == [True, False, True, False, True, False, True, False]
    assert got.isna().tolist()[8:] == [True, True]
    with pytest.raises(InputError, match="'也许' is not yes/no"):
        parse_bool(pd.Series(["也许"]), source=None, layer="x", field="f")


def test_unknown_layer_lists_the_known_ones():
    with pytest.raises(
        InputError, match="unknown layer 'roofs'; the workspace layers are: townships, villages"
    ):
        layer_spec("roofs")
