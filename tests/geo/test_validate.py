"""Validation: each kind of problem is found, named and located; a clean workspace passes."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from servicegrid.geo.hierarchy import fill_parent_ids
from servicegrid.geo.validate import validate_layers
from servicegrid.geo.vocabularies import Vocabulary
from servicegrid.geo.workspace import Workspace
from tests.builders import CRS, X0, Y0, box, clean_layers, frame


def checks(report, check: str) -> pd.DataFrame:
    return report.findings[report.findings["check"] == check]


def test_clean_workspace_has_no_findings():
    report = validate_layers(Workspace(None, clean_layers()))
    assert report.findings.empty, report.findings.to_string()
    assert report.ok


def test_every_problem_is_collected_not_only_the_first():
    layers = clean_layers()
    layers["villages"] = layers["villages"].assign(households=[300, -5, 900, 800])
    layers["compounds"] = layers["compounds"].assign(village_id=["V9"])
    layers["grids"] = layers["grids"].assign(id=["G0", "G0", "G2", "G3"])
    report = validate_layers(Workspace(None, layers))
    assert set(report.findings["check"]) >= {"impossible_value", "orphan_reference", "duplicate_id"}
    assert report.errors >= 3
    assert not report.ok


def test_impossible_value_names_layer_id_row_and_field():
    layers = clean_layers()
    layers["facilities"] = layers["facilities"].assign(floor_area_m2=[300.0, 10_000_000.0])
    found = checks(validate_layers(Workspace(None, layers)), "impossible_value")
    assert found[["layer", "id", "row", "field"]].values.tolist() == [
        ["facilities", "F2", 2, "floor_area_m2"]
    ]
    assert found["message"].iloc[0].startswith("1e+07 m² is impossible for floor_area_m2")


def test_duplicate_and_orphan_ids():
    layers = clean_layers()
    layers["grids"] = layers["grids"].assign(id=["G0", "G0", "G2", "G3"], village_id=["V1", "V1", "V2", "VX"])
    report = validate_layers(Workspace(None, layers))
    dup = checks(report, "duplicate_id")
    assert dup["row"].tolist() == [1, 2]
    assert dup["message"].iloc[1] == "id 'G0' is used more than once (first at row 1); ids must be unique"
    orphan = checks(report, "orphan_reference")
    assert orphan[["id", "field"]].values.tolist() == [["G3", "village_id"]]
    assert orphan["message"].iloc[0] == "village_id 'VX' does not exist in villages"


def test_self_intersecting_polygon_is_repaired_and_reported():
    layers = clean_layers()
    bowtie = shapely.Polygon([(2100, 100), (2400, 400), (2400, 100), (2100, 400)])
    layers["compounds"] = frame([{"id": "C1", "village_id": "V3", "households": 400}], [bowtie])
    report = validate_layers(Workspace(None, layers))
    found = checks(report, "invalid_geometry")
    assert found["severity"].tolist() == ["warning"]
    assert "Self-intersection" in found["message"].iloc[0]
    fixed = report.workspace.layers["compounds"].to_crs(CRS).geometry.iloc[0]
    assert fixed.is_valid
    assert fixed.area == pytest.approx(2 * 0.5 * 300 * 150, rel=1e-6)  # two triangles of the bow tie


def test_empty_and_wrong_type_geometry_are_errors():
    layers = clean_layers()
    layers["compounds"] = frame(
        [{"id": "C1", "village_id": "V3"}, {"id": "C2", "village_id": "V3"}],
        [shapely.Polygon(), shapely.LineString([(2200, 200), (2300, 200)])],
    )
    report = validate_layers(Workspace(None, layers))
    assert checks(report, "empty_geometry")["id"].tolist() == ["C1"]
    wrong = checks(report, "geometry_type")
    assert wrong["message"].tolist() == ["LineString where compounds need a polygon or point geometry"]


def test_child_sticking_out_of_parent_and_overlapping_siblings():
    layers = clean_layers()
    grids = layers["grids"].to_crs(CRS)
    moved = [shapely.affinity.translate(g, -X0, -Y0) for g in grids.geometry]
    moved[0] = box(-300, 0, 1000, 1000)  # 300 m outside village V1
    moved[1] = box(0, 900, 1000, 2000)  # overlaps G0 by 100 m x 1000 m
    layers["grids"] = frame(grids.drop(columns="geometry").to_dict("records"), moved)
    report = validate_layers(Workspace(None, layers))
    out = checks(report, "sticks_out_of_parent")
    assert out["id"].tolist() == ["G0"]
    assert out["message"].iloc[0] == "300,000 m² (23%) lies outside its village 'V1'"
    overlap = checks(report, "overlapping_siblings")
    assert overlap["message"].tolist() == ["overlaps 'G1' by 100,000 m²; siblings should not overlap"]


def test_village_parts_not_covered_by_grids():
    layers = clean_layers()
    layers["grids"] = layers["grids"].iloc[[0, 2, 3]]  # V1 loses its northern grid
    report = validate_layers(Workspace(None, layers))
    found = checks(report, "not_covered_by_grids")
    assert found["id"].tolist() == ["V1"]
    assert found["message"].iloc[0].startswith("1,000,000 m² (50%) is covered by no grid")


def test_facility_outside_planning_area():
    layers = clean_layers()
    layers["facilities"] = frame(
        [{"id": "F1", "tier": "town_center"}, {"id": "F9", "tier": "village_center"}],
        [shapely.Point(500, 500), shapely.Point(4000 + 1500, 500)],
    )
    found = checks(validate_layers(Workspace(None, layers)), "outside_planning_area")
    assert found["id"].tolist() == ["F9"]
    assert found["message"].iloc[0].startswith("lies 1,500 m outside the planning area")


def test_swapped_coordinates_are_an_error():
    layers = clean_layers()
    f = layers["facilities"]
    swapped = shapely.points(f.geometry.y.to_numpy(), f.geometry.x.to_numpy())
    layers["facilities"] = f.set_geometry(gpd.GeoSeries(swapped, crs=4326))
    found = checks(validate_layers(Workspace(None, layers)), "swapped_coordinates")
    assert found["id"].tolist() == ["F1", "F2"]
    assert "looks like latitude/longitude swapped" in found["message"].iloc[0]


def test_missing_layers_and_columns():
    layers = clean_layers()
    report = validate_layers(Workspace(None, {"townships": layers["townships"]}))
    missing = checks(report, "missing_layer")
    assert sorted(missing["layer"]) == ["compounds", "facilities"]
    no_tier = clean_layers()
    no_tier["facilities"] = no_tier["facilities"].drop(columns="tier")
    found = checks(validate_layers(Workspace(None, no_tier)), "missing_column")
    assert found["field"].tolist() == ["tier"]
    assert "层级" in found["message"].iloc[0]


def test_text_in_numeric_column_is_a_type_error():
    layers = clean_layers()
    layers["compounds"] = layers["compounds"].assign(households=["四百"])
    found = checks(validate_layers(Workspace(None, layers)), "wrong_type")
    assert found[["row", "field"]].values.tolist() == [[1, "households"]]
    assert found["message"].iloc[0].startswith("'四百' is not a number")


def test_village_code_must_start_with_township_code():
    layers = clean_layers()
    layers["villages"] = layers["villages"].assign(
        code=["140724100201", "140724999202", "140724101001", "140724101002"]
    )
    found = checks(validate_layers(Workspace(None, layers)), "code_mismatch")
    assert found["id"].tolist() == ["V2"]


def test_unknown_tier_reported_when_tiers_are_given():
    layers = clean_layers()
    layers["facilities"] = layers["facilities"].assign(tier=["乡镇党群服务中心", "space_station"])
    tiers = Vocabulary("tier", {"town_center": ("乡镇党群服务中心",), "village_center": ("村",)})
    report = validate_layers(Workspace(None, layers), vocabularies={"tier": tiers})
    found = checks(report, "unknown_tier")
    assert found["id"].tolist() == ["F2"]
    assert found["message"].iloc[0].startswith("tier 'space_station' is not a known value")
    assert report.workspace.layers["facilities"]["tier"].fillna("?").tolist() == ["town_center", "?"]


@pytest.mark.parametrize("n", [30, 1_300])  # 1,300: measured on a sample of every second point
def test_gcj02_declared_as_wgs84_is_detected_against_roads(n):
    from servicegrid.geo.chinacoords import wgs84_to_gcj02

    layers = clean_layers()
    # A sparse street grid (every 1.5 km) with the facilities on the streets, as WGS-84 truth.
    lines = [shapely.LineString([(x, -3000), (x, 5000)]) for x in range(-3000, 7600, 1500)]
    lines += [shapely.LineString([(-3000, y), (7500, y)]) for y in range(-3000, 5100, 1500)]
    layers["roads"] = frame([{"id": f"R{i}"} for i in range(len(lines))], lines)
    rng = np.random.default_rng(1)
    along = rng.uniform(0, 4000, n)
    on_street = [shapely.Point(a, 1500) if i % 2 else shapely.Point(1500, a / 2) for i, a in enumerate(along)]
    honest = frame([{"id": f"F{i}", "tier": "compound_station"} for i in range(n)], on_street)
    assert checks(
        validate_layers(Workspace(None, {**layers, "facilities": honest})), "looks_like_gcj02"
    ).empty
    lon, lat = wgs84_to_gcj02(honest.geometry.x.to_numpy(), honest.geometry.y.to_numpy())
    shifted = honest.set_geometry(gpd.GeoSeries(shapely.points(lon, lat), crs=4326))
    found = checks(validate_layers(Workspace(None, {**layers, "facilities": shifted})), "looks_like_gcj02")
    assert found["layer"].tolist() == ["facilities"]
    assert "re-import with --coords gcj02" in found["message"].iloc[0]


def test_report_serialises_to_json():
    layers = clean_layers()
    layers["compounds"] = layers["compounds"].assign(village_id=["V9"])
    payload = json.loads(validate_layers(Workspace(None, layers)).to_json())
    assert payload["errors"] == 1
    assert payload["findings"][0]["id"] == "C1"
    assert payload["findings"][0]["row"] == 1


def test_parent_ids_are_filled_by_spatial_join():
    layers = clean_layers()
    layers["grids"] = layers["grids"].assign(village_id=[None, None, "V2", None])
    station = frame([{"id": "F3", "tier": "compound_station"}], [shapely.Point(2200, 200)])
    layers["facilities"] = pd.concat([layers["facilities"], station], ignore_index=True).assign(
        township_id=None, village_id=None
    )
    filled = fill_parent_ids(Workspace(None, layers))
    ws, notes = filled.workspace, filled.notes
    assert ws.layers["grids"]["village_id"].tolist() == ["V1", "V1", "V2", "V2"]
    facilities = ws.layers["facilities"]
    assert facilities["village_id"].tolist() == ["V1", "V3", "V3"]
    assert facilities["township_id"].tolist() == ["T1", "T2", "T2"]
    assert facilities["compound_id"].fillna("-").tolist() == ["-", "-", "C1"]
    assert "grids.village_id: 3 filled by spatial join" in notes


def test_given_parent_ids_are_kept():
    layers = clean_layers()
    layers["compounds"] = layers["compounds"].assign(village_id=["V4"])  # deliberately not the containing one
    ws = fill_parent_ids(Workspace(None, layers)).workspace
    assert ws.layers["compounds"]["village_id"].tolist() == ["V4"]


def test_parent_names_in_registers_become_ids():
    layers = clean_layers()
    layers["villages"] = layers["villages"].assign(township_id=["青山镇", "T1", "城关街道", "城关街道"])
    filled = fill_parent_ids(Workspace(None, layers))
    ws, notes = filled.workspace, filled.notes
    assert ws.layers["villages"]["township_id"].tolist() == ["T1", "T1", "T2", "T2"]
    assert "villages.township_id: 3 townships name(s) replaced by their ids" in notes


def test_gcj02_offset_is_also_found_against_given_paths():
    from servicegrid.geo.chinacoords import wgs84_to_gcj02

    layers = clean_layers()
    lines = [shapely.LineString([(x, -3000), (x, 5000)]) for x in range(-3000, 7600, 1500)]
    lines += [shapely.LineString([(-3000, y), (7500, y)]) for y in range(-3000, 5100, 1500)]
    paths = frame([{"id": i} for i in range(len(lines))], lines).geometry  # e.g. network edges
    on_street = [shapely.Point(1500, 100 * i) for i in range(30)]
    honest = frame([{"id": f"F{i}", "tier": "compound_station"} for i in range(30)], on_street)
    lon, lat = wgs84_to_gcj02(honest.geometry.x.to_numpy(), honest.geometry.y.to_numpy())
    shifted = honest.set_geometry(gpd.GeoSeries(shapely.points(lon, lat), crs=4326))
    report = validate_layers(Workspace(None, {**layers, "facilities": shifted}), paths=paths)
    assert checks(report, "looks_like_gcj02")["layer"].tolist() == ["facilities"]
    assert checks(
        validate_layers(Workspace(None, {**layers, "facilities": shifted})), "looks_like_gcj02"
    ).empty


def test_point_compound_inside_another_compound_is_warned():
    """Compound registers as points (issue 10, item 9): accepted, and a point inside a polygon warned."""
    layers = clean_layers()
    layers["compounds"] = frame(
        [
            {"id": "C1", "name": "幸福小区", "village_id": "V3", "households": 400},
            {"id": "C2", "name": "幸福小区二期", "households": 120},  # inside C1: counted twice?
            {"id": "C3", "name": "和平小区", "households": 300},  # a point on its own
        ],
        [box(2100, 100, 2400, 400), shapely.Point(2250, 250), shapely.Point(3500, 1500)],
    )
    report = validate_layers(Workspace(None, layers))
    assert report.errors == 0, report.findings.to_string()
    found = checks(report, "point_inside_compound")
    assert found[["layer", "id", "row", "severity"]].values.tolist() == [["compounds", "C2", 2, "warning"]]
    assert "lies inside compound 'C1' (幸福小区)" in found["message"].iloc[0]
    compounds = report.workspace.layer("compounds")
    assert compounds.geometry.geom_type.tolist() == ["Polygon", "Point", "Point"]
    assert compounds["village_id"].tolist() == ["V3", "V3", "V4"]  # filled from the point


def test_blank_households_are_a_warning_with_the_count_and_the_units():
    """Issue 10, item 6: a compound without households is named, not weighed 0 in silence; a value
    that cannot be read is its own error, not also a blank."""
    layers = clean_layers()
    layers["compounds"] = frame(
        [
            {"id": "C1", "name": "幸福小区", "households": "400"},
            {"id": "C2", "name": "和平小区", "households": None},
            {"id": "C3", "name": "东村小区", "households": "很多"},
        ],
        [box(2100, 100, 2400, 400), box(3500, 1500, 3800, 1800), box(200, 1500, 400, 1700)],
    )
    report = validate_layers(Workspace(None, layers))
    blank = checks(report, "blank_households")
    assert blank[["severity", "layer", "field"]].values.tolist() == [["warning", "compounds", "households"]]
    assert blank["message"].iloc[0] == (
        "1 of 3 compounds have blank households (C2): coverage by households leaves them out, and a plan "
        "weighs each as the median of the units that have a figure (as 1 when none has)"
    )
    assert checks(report, "wrong_type")["id"].tolist() == ["C3"]
    layers["compounds"] = layers["compounds"].assign(households=None)
    blank = checks(validate_layers(Workspace(None, layers)), "blank_households")
    assert blank["message"].iloc[0].startswith("3 of 3 compounds have no households recorded (C1, C2, C3):")
