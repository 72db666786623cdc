"""The pipeline: every stage reads the same checked workspace and gives the same, explained answer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shapely

from servicegrid.errors import WorkspaceErrors
from servicegrid.geo.workspace import Workspace, WorkspaceSettings
from servicegrid.pipeline import (
    audit_workspace,
    load_network,
    measure_coverage,
    open_workspace,
    plan_sites,
    validate_workspace,
)
from tests.builders import clean_layers, frame, lattice


def county(**facility_columns) -> dict:
    """The clean county with a lattice of paths, a station in compound C1 and a third centre."""
    layers = clean_layers()
    layers["facilities"] = frame(
        [
            {"id": "F1", "name": "青山镇党群服务中心", "tier": "town_center"},
            {"id": "F2", "name": "新华社区党群服务中心", "tier": "社区党群服务中心"},
            {"id": "F3", "name": "和平社区党群服务中心", "tier": "community_center"},
            {"id": "F4", "name": "幸福小区党群服务站", "tier": "小区党群服务站"},
        ],
        [
            shapely.Point(500, 500),
            shapely.Point(2500, 500),
            shapely.Point(3500, 1500),
            shapely.Point(2250, 250),
        ],
    ).assign(**facility_columns)
    layers["roads"] = lattice(step=250, size=4000)
    return layers


def test_real_register_status_words_mean_what_they_say():
    project = open_workspace(Workspace(None, county(status=["正常", "operating", "暂停使用", "暂停使用"])))
    assert project.errors == 0
    assert project.workspace.layer("facilities")["status"].tolist() == [
        "existing",
        "existing",
        "suspended",
        "suspended",
    ]
    network = load_network(project)
    coverage = measure_coverage(project, network=network)
    assert coverage.notes[0] == (
        "coverage: 2 facilities counted as serving (existing); left out: 2 suspended"
    )
    serving = set(coverage.units["facility_id"].dropna())
    assert serving <= {"F1", "F2"}
    assert "F2" in serving
    audit = audit_workspace(project)
    assert "audit: 2 facilities counted as serving (existing); left out: 2 suspended" in audit.messages
    county_row = audit.grades_by_tier().set_index("tier").loc["total"]
    assert (county_row["n"], county_row["n_suspended"]) == (2, 2)
    plan = plan_sites(project, tier="compound_station", network=network)
    assert plan.notes[0] == "plan: 2 facilities counted as serving (existing); left out: 2 suspended"
    # the suspended station in C1 does not serve it today: the plan starts from nothing there
    assert plan.summary["standing_sites"].iloc[0] == 0
    assert plan.summary["rate_before"].iloc[0] == 0


def test_an_unknown_word_is_a_validate_error_and_every_stage_refuses_it():
    layers = county()
    layers["villages"] = layers["villages"].assign(kind=["village", "village", "comunity", "community"])
    project = open_workspace(Workspace(None, layers))
    report = validate_workspace(project)
    bad = report.findings[report.findings["severity"] == "error"]
    assert bad[["layer", "id", "field", "check"]].values.tolist() == [
        ["villages", "V3", "kind", "unknown_kind"]
    ]
    assert "(closest: community)" in bad["message"].iloc[0]
    for stage in (audit_workspace, measure_coverage, lambda p: plan_sites(p, tier="compound_station")):
        with pytest.raises(WorkspaceErrors) as info:
            stage(project)
        assert info.value.findings is project.findings


def test_non_numbers_missing_tiers_and_broken_settings_are_findings():
    layers = county()
    layers["compounds"] = layers["compounds"].assign(households=["约400"])
    layers["villages"] = layers["villages"].assign(households=["300", "250户", "九百", "800"])
    layers["facilities"] = layers["facilities"].drop(columns="tier")
    ws = Workspace(
        None,
        layers,
        WorkspaceSettings(),
        settings_problems=(("snap_limit_m", "'{' is not a readable value (JSON text expected)"),),
    )
    project = open_workspace(ws)
    found = project.findings
    assert found[found["severity"] == "error"][["layer", "field", "check"]].values.tolist() == [
        ["facilities", "tier", "missing_column"],
        ["servicegrid_settings", "snap_limit_m", "invalid_setting"],
        ["villages", "households", "wrong_type"],
    ]
    warned = found[found["check"] == "approximate_value"]
    assert warned[["layer", "id"]].values.tolist() == [["compounds", "C1"]]
    assert project.workspace.layer("compounds")["households"].tolist() == [400]


@pytest.mark.parametrize("planning_area", [True, False])
def test_one_facility_far_away_does_not_move_the_metric_crs(planning_area):
    layers = county()
    if not planning_area:  # no townships or villages: the bulk of the demand units decides
        layers = {k: v for k, v in layers.items() if k not in ("townships", "villages", "grids")}
    base = open_workspace(Workspace(None, layers))
    stray = layers["facilities"].iloc[:1].assign(id="F9", name="坐标错误", tier="town_center")
    stray = stray.set_geometry([shapely.Point(0, 0)], crs=4326)
    far = open_workspace(Workspace(None, {**layers, "facilities": pd.concat([layers["facilities"], stray])}))
    assert far.workspace.metric_crs == base.workspace.metric_crs
    a = measure_coverage(base, network=load_network(base)).units
    b = measure_coverage(far, network=load_network(far)).units
    shared = ["unit_id", "tier", "walk_m"]
    merged = a[shared].merge(b[shared], on=["unit_id", "tier"], suffixes=("", "_far"))
    assert len(merged) == len(a)
    assert np.allclose(merged["walk_m"].fillna(-1), merged["walk_m_far"].fillna(-1))
    if planning_area:
        outside = far.findings[far.findings["check"] == "outside_planning_area"]
        assert outside["id"].tolist() == ["F9"]


def test_a_facility_no_path_reaches_is_named():
    """Issue 10, smaller things: the unreachable facility is named, not only counted."""
    layers = county()
    stray = layers["facilities"].iloc[:1].assign(id="F9", name="坐标错误", tier="town_center")
    stray = stray.set_geometry([shapely.Point(0, 0)], crs=4326)
    project = open_workspace(
        Workspace(None, {**layers, "facilities": pd.concat([layers["facilities"], stray])})
    )
    notes = measure_coverage(project, network=load_network(project)).notes
    assert "1 facilities are farther than 300 m from every path and cannot be reached: F9 (坐标错误)" in notes


@pytest.mark.parametrize(
    ("word", "closest"),
    [
        ("镇政府", "镇级 → town_center, 乡镇 → town_center, 乡镇级 → town_center"),
        ("town_centre", "town_center, county_center, community_center"),
    ],
)
def test_validate_suggests_the_tiers_the_audit_suggests(word, closest):
    """Issue 10, smaller things: one unknown tier, the same closest tiers from validate and audit."""
    from servicegrid.errors import StandardsError
    from servicegrid.standards.audit import audit_facilities
    from servicegrid.standards.loader import load_preset

    layers = county()
    facilities = layers["facilities"].assign(
        tier=[word, "town_center", "community_center", "compound_station"]
    )
    found = open_workspace(Workspace(None, {**layers, "facilities": facilities})).findings
    validate = found.loc[found["check"] == "unknown_tier", "message"].tolist()
    with pytest.raises(StandardsError) as info:
        audit_facilities(facilities, load_preset("cn-default"))
    audit = re.search(r"\(closest: (.*?)\)\. Valid tiers", str(info.value))
    assert audit is not None
    assert audit.group(1) == closest
    assert len(validate) == 1
    assert validate[0].startswith(f"tier '{word}' is not a known value (closest: {closest});")


def test_units_without_parent_ids_are_named_by_the_township_they_lie_in():
    """Issue 10, smaller things: township labels are names found by position, else the id; never
    'nan' or '(no township)' where the township is known."""
    layers = county()
    layers["townships"] = layers["townships"].assign(name=[None, "城关街道"])  # T1 has no name
    layers["villages"] = layers["villages"].drop(columns="township_id")
    layers["compounds"] = layers["compounds"].drop(columns="village_id")
    project = open_workspace(Workspace(None, layers))
    network = load_network(project)
    units = measure_coverage(project, network=network).units.drop_duplicates("unit_id").set_index("unit_id")
    assert units.loc[["C1", "V3", "V4"], "township_name"].tolist() == ["城关街道"] * 3
    assert units.loc[["V1", "V2"], "township_id"].tolist() == ["T1", "T1"]
    assert units.loc[["V1", "V2"], "township_name"].isna().all()  # blank, never the text 'nan'
    towns = {
        tier: plan_sites(project, tier=tier, network=network).before_after[["township_id", "township_name"]]
        for tier in ("village_center", "compound_station")
    }
    assert towns["village_center"].values.tolist() == [["T1", "T1"]]  # no name: its id
    assert towns["compound_station"].values.tolist() == [["T2", "城关街道"]]
