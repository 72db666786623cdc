"""Compound registers as points (issue 10, item 9): import, validate and the audit take them."""

from __future__ import annotations

import shapely

from servicegrid.geo.workspace import Workspace
from servicegrid.pipeline import audit_workspace, open_workspace
from servicegrid.standards.export import write_audit
from tests.builders import clean_layers, frame


def test_a_workspace_of_point_compounds_audits_and_writes_its_workbooks(tmp_path):
    layers = clean_layers()
    layers["compounds"] = frame(
        [
            {"id": "C1", "name": "幸福小区", "households": 400},
            {"id": "C2", "name": "和平小区", "households": 300},
        ],
        [shapely.Point(2250, 250), shapely.Point(3500, 1500)],
    )
    layers["facilities"] = frame(
        [
            {"id": "F1", "name": "青山镇党群服务中心", "tier": "town_center"},
            {"id": "F2", "name": "幸福小区党群服务站", "tier": "compound_station", "compound_id": "C1"},
        ],
        [shapely.Point(500, 500), shapely.Point(2251, 251)],
    )
    project = open_workspace(Workspace(None, layers))
    assert project.errors == 0, project.findings.to_string()
    assert project.workspace.layer("compounds")["village_id"].tolist() == ["V3", "V4"]
    audit = audit_workspace(project)
    assert audit.facilities["id"].tolist() == ["F1", "F2"]
    written = write_audit(tmp_path / "audit", audit)
    assert any(p.name == "county_summary.xlsx" for p in written)
