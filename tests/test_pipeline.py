"""The pipeline: every stage reads the same checked workspace and gives the same, explained answer."""

from __future__ import annotations

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
